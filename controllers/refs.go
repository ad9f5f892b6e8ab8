package controllers

import (
	"context"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// Field indexes of the resources that read another one's result, so that
// an event of a DatasetBuild or DatasetProfile reaches its referrers
// through the cache's index instead of a listing of the namespace.
const (
	// BuildRefIndex indexes DatasetProfiles and DriftChecks by the
	// DatasetBuilds their datasetBuildRefs name.
	BuildRefIndex = ".spec.datasetBuildRefs"
	// ProfileRefIndex indexes DriftChecks by the DatasetProfile their
	// baseline's datasetProfileRef names.
	ProfileRefIndex = ".spec.datasetProfileRefs"
)

// setupRefIndexes registers BuildRefIndex and ProfileRefIndex.
func setupRefIndexes(ctx context.Context, mgr manager.Manager) error {
	fi := mgr.GetFieldIndexer()
	if err := fi.IndexField(ctx, &v1alpha1.DatasetProfile{}, BuildRefIndex, profileBuildRefs); err != nil {
		return err
	}
	if err := fi.IndexField(ctx, &v1alpha1.DriftCheck{}, BuildRefIndex, driftBuildRefs); err != nil {
		return err
	}
	return fi.IndexField(ctx, &v1alpha1.DriftCheck{}, ProfileRefIndex, driftProfileRefs)
}

func profileBuildRefs(o client.Object) []string {
	return buildRefs(o.(*v1alpha1.DatasetProfile).Spec.Source.DatasetBuildRef)
}

func driftBuildRefs(o client.Object) []string {
	d := o.(*v1alpha1.DriftCheck)
	return buildRefs(d.Spec.Baseline.DatasetBuildRef, d.Spec.Current.DatasetBuildRef)
}

func driftProfileRefs(o client.Object) []string {
	d := o.(*v1alpha1.DriftCheck)
	var out []string
	for _, in := range []v1alpha1.DriftInput{d.Spec.Baseline, d.Spec.Current} {
		if in.DatasetProfileRef != nil && !containsString(out, string(in.DatasetProfileRef.Name)) {
			out = append(out, string(in.DatasetProfileRef.Name))
		}
	}
	return out
}

func buildRefs(refs ...*v1alpha1.DatasetBuildRef) []string {
	var out []string
	for _, r := range refs {
		if r != nil && !containsString(out, string(r.Name)) {
			out = append(out, string(r.Name))
		}
	}
	return out
}

// buildIDChanged passes the DatasetBuild events that can change what a
// referrer reads: creation, deletion, and a new published build id.
// Status writes that change nothing else (conditions of a running build,
// retry bookkeeping) do not wake the referrers.
var buildIDChanged = predicate.Funcs{
	UpdateFunc: func(e crevent.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*v1alpha1.DatasetBuild)
		n, ok2 := e.ObjectNew.(*v1alpha1.DatasetBuild)
		return !ok1 || !ok2 || o.Status.BuildID != n.Status.BuildID
	},
	GenericFunc: func(crevent.GenericEvent) bool { return false },
}

// reportChanged passes the DatasetProfile events that can change what a
// referrer reads: creation, deletion, and a new report.
var reportChanged = predicate.Funcs{
	UpdateFunc: func(e crevent.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*v1alpha1.DatasetProfile)
		n, ok2 := e.ObjectNew.(*v1alpha1.DatasetProfile)
		return !ok1 || !ok2 || o.Status.ReportURI != n.Status.ReportURI || !o.Status.LastProfileTime.Equal(n.Status.LastProfileTime)
	},
	GenericFunc: func(crevent.GenericEvent) bool { return false },
}

// indexReferrers maps an event of o to the resources of its namespace
// whose field index names o, listed into list().
func indexReferrers(c client.Reader, index string, list func() client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		l := list()
		if err := c.List(ctx, l, client.InNamespace(o.GetNamespace()), client.MatchingFields{index: o.GetName()}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing referrers", "index", index, "object", klog.KObj(o))
			return nil
		}
		items, err := apimeta.ExtractList(l)
		if err != nil {
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(items))
		for _, it := range items {
			if obj, ok := it.(client.Object); ok {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
			}
		}
		return reqs
	}
}
