package controllers

import (
	"sort"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	crevent "sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// A DatasetBuild's status writes wake its referrers only when the build
// id changes, and only the resources that name it, found by index.
func TestReferrersWokenByResultChangesOnly(t *testing.T) {
	b := func(id string, conds ...metav1.Condition) *v1alpha1.DatasetBuild {
		return &v1alpha1.DatasetBuild{ObjectMeta: metav1.ObjectMeta{Name: "sales", Namespace: "ml"}, Status: v1alpha1.DatasetBuildStatus{BuildID: id, Conditions: conds}}
	}
	running := metav1.Condition{Type: v1alpha1.ConditionReconciling, Status: metav1.ConditionTrue}
	if buildIDChanged.Update(crevent.UpdateEvent{ObjectOld: b("b1"), ObjectNew: b("b1", running)}) {
		t.Error("a status write without a new build id wakes referrers")
	}
	if !buildIDChanged.Update(crevent.UpdateEvent{ObjectOld: b("b1"), ObjectNew: b("b2")}) {
		t.Error("a new build id does not wake referrers")
	}
	if !buildIDChanged.Create(crevent.CreateEvent{Object: b("")}) || !buildIDChanged.Delete(crevent.DeleteEvent{Object: b("b1")}) {
		t.Error("creation and deletion must wake referrers")
	}
	p := func(uri string, at *metav1.Time) *v1alpha1.DatasetProfile {
		return &v1alpha1.DatasetProfile{Status: v1alpha1.DatasetProfileStatus{ReportURI: uri, LastProfileTime: at}}
	}
	t1, t2 := metav1.Unix(100, 0), metav1.Unix(200, 0)
	if reportChanged.Update(crevent.UpdateEvent{ObjectOld: p("r", &t1), ObjectNew: p("r", &t1)}) ||
		!reportChanged.Update(crevent.UpdateEvent{ObjectOld: p("r", &t1), ObjectNew: p("r", &t2)}) {
		t.Error("reportChanged")
	}

	ref := func(n string) *v1alpha1.DatasetBuildRef {
		return &v1alpha1.DatasetBuildRef{Name: v1alpha1.ObjectName(n)}
	}
	objs := []client.Object{
		&v1alpha1.DriftCheck{ObjectMeta: metav1.ObjectMeta{Name: "both", Namespace: "ml"}, Spec: v1alpha1.DriftCheckSpec{
			Baseline: v1alpha1.DriftInput{DatasetBuildRef: ref("sales")}, Current: v1alpha1.DriftInput{DatasetBuildRef: ref("sales")}}},
		&v1alpha1.DriftCheck{ObjectMeta: metav1.ObjectMeta{Name: "profile-baseline", Namespace: "ml"}, Spec: v1alpha1.DriftCheckSpec{
			Baseline: v1alpha1.DriftInput{DatasetProfileRef: &v1alpha1.DatasetProfileRef{Name: "sales"}}, Current: v1alpha1.DriftInput{URI: "s3://b/x"}}},
		&v1alpha1.DriftCheck{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "ml"}, Spec: v1alpha1.DriftCheckSpec{
			Baseline: v1alpha1.DriftInput{DatasetBuildRef: ref("orders")}, Current: v1alpha1.DriftInput{DatasetBuildRef: ref("orders")}}},
		&v1alpha1.DriftCheck{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "prod"}, Spec: v1alpha1.DriftCheckSpec{
			Baseline: v1alpha1.DriftInput{DatasetBuildRef: ref("sales")}, Current: v1alpha1.DriftInput{DatasetBuildRef: ref("sales")}}},
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithIndex(&v1alpha1.DriftCheck{}, BuildRefIndex, driftBuildRefs).
		WithIndex(&v1alpha1.DriftCheck{}, ProfileRefIndex, driftProfileRefs).Build()
	reqs := indexReferrers(c, BuildRefIndex, func() client.ObjectList { return &v1alpha1.DriftCheckList{} })(ctx, b("b1"))
	var names []string
	for _, r := range reqs {
		names = append(names, r.String())
	}
	sort.Strings(names)
	if len(names) != 1 || names[0] != "ml/both" {
		t.Errorf("referrers of DatasetBuild ml/sales: %v", names)
	}
	profile := &v1alpha1.DatasetProfile{ObjectMeta: metav1.ObjectMeta{Name: "sales", Namespace: "ml"}}
	reqs = indexReferrers(c, ProfileRefIndex, func() client.ObjectList { return &v1alpha1.DriftCheckList{} })(ctx, profile)
	if len(reqs) != 1 || reqs[0].String() != "ml/profile-baseline" {
		t.Errorf("referrers of DatasetProfile ml/sales: %v", reqs)
	}
}
