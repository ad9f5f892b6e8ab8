package controllers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/jobs"
)

// forbidden is the API server's answer to a request RBAC denies.
func forbidden(resource string) error {
	return apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "x", errors.New("RBAC: access denied"))
}

// TestBuildReconcileFaults injects API failures (a fake client is used only
// for that; behaviour is tested against envtest) and checks that each is
// returned with what failed (so that the reconcile is retried with
// backoff), that status says Reconciling with the error, and that nothing
// is claimed that did not happen (no Ready verdict, no event).
func TestBuildReconcileFaults(t *testing.T) {
	src, _ := copySample(t, "sample")
	newObjs := func() []client.Object {
		b := newBuild("ns", "b", src, "file://"+t.TempDir())
		b.UID = "uid-1"
		b.Generation = 1
		b.Spec.Output.SecretRef = &v1alpha1.SecretRef{Name: "out-creds"}
		return []client.Object{b, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "out-creds"}}}
	}
	isSecret := func(obj client.Object) bool {
		if _, ok := obj.(*corev1.Secret); ok {
			return true
		}
		m, ok := obj.(*metav1.PartialObjectMetadata)
		return ok && m.Kind == "Secret"
	}
	for _, tc := range []struct {
		name     string
		funcs    interceptor.Funcs
		settings jobs.Settings
		source   *v1alpha1.SecretRef
		wantErr  string
		ready    string
	}{
		{
			name: "Job creation denied",
			funcs: interceptor.Funcs{Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
				if _, ok := obj.(*batchv1.Job); ok {
					return forbidden("jobs")
				}
				return c.Create(ctx, obj, opts...)
			}},
			wantErr: "creating Job b-", ready: "Unknown/" + v1alpha1.ReasonReconcileError,
		},
		{
			name: "Secret lookup denied",
			funcs: interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
				if isSecret(obj) {
					return forbidden("secrets")
				}
				return c.Get(ctx, key, obj, opts...)
			}},
			wantErr: "reading Secret out-creds", ready: "Unknown/" + v1alpha1.ReasonReconcileError,
		},
		{
			name: "Secret data unreadable",
			funcs: interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
				if _, ok := obj.(*corev1.Secret); ok {
					return forbidden("secrets")
				}
				return c.Get(ctx, key, obj, opts...)
			}},
			source:  &v1alpha1.SecretRef{Name: "out-creds"},
			wantErr: "reading Secret out-creds", ready: "Unknown/" + ReasonSourceUnavailable,
		},
		{
			name: "status write denied",
			funcs: interceptor.Funcs{SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
				return forbidden("datasetbuilds/status")
			}},
			wantErr: "writing status",
		},
		{
			name: "listing Jobs fails",
			funcs: interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
				if _, ok := list.(*batchv1.JobList); ok {
					return errors.New("cache not started")
				}
				return c.List(ctx, list, opts...)
			}},
			wantErr: "listing Jobs: cache not started", ready: "Unknown/" + v1alpha1.ReasonReconcileError,
		},
		{
			name:     "no worker image",
			settings: jobs.Settings{},
			wantErr:  "no worker image configured", ready: "Unknown/" + v1alpha1.ReasonReconcileError,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := newObjs()
			if tc.source != nil {
				objs[0].(*v1alpha1.DatasetBuild).Spec.Source.SecretRef = tc.source
			}
			c := fake.NewClientBuilder().WithScheme(scheme).
				WithStatusSubresource(&v1alpha1.DatasetBuild{}).
				WithIndex(&batchv1.Job{}, OwnerIndex, jobOwnerKey).
				WithObjects(objs...).
				WithInterceptorFuncs(tc.funcs).Build()
			settings := testSettings
			if tc.name == "no worker image" {
				settings = tc.settings
			}
			rec := events.NewFakeRecorder(10)
			r := &DatasetBuildReconciler{Client: c, APIReader: c, Recorder: rec, Clock: clocktesting.NewFakeClock(time.Now()), Jobs: settings, Lister: StorageLister{Reach: testReach}, Reach: testReach}
			_, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: "ns", Name: "b"}})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			var got v1alpha1.DatasetBuild
			if err := c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "b"}, &got); err != nil {
				t.Fatal(err)
			}
			if tc.ready != "" {
				if r := condition(got.Status.Conditions, v1alpha1.ConditionReady); r != tc.ready {
					t.Errorf("Ready %s, want %s", r, tc.ready)
				}
			}
			if c := apimeta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReconciling); tc.ready != "" &&
				(c == nil || c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, tc.wantErr) || got.Status.ObservedGeneration != 1) {
				t.Errorf("Reconciling %+v, observedGeneration %d: want True with the error", c, got.Status.ObservedGeneration)
			}
			if got.Status.JobName != "" || got.Status.Retry != nil {
				t.Errorf("status names a run that did not start: job %q, retry %+v", got.Status.JobName, got.Status.Retry)
			}
			if len(rec.Events) != 0 {
				t.Errorf("event %s", <-rec.Events)
			}
		})
	}
}

// TestDriftReconcileFaults: failures to delete Jobs (Replace, history
// limits) are returned with the Job's name.
func TestDriftReconcileFaults(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 30, 0, time.UTC)
	d := &v1alpha1.DriftCheck{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "d", UID: "uid-d", Generation: 1, CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))},
		Spec: v1alpha1.DriftCheckSpec{
			Baseline: v1alpha1.DriftInput{URI: "file:///a"}, Current: v1alpha1.DriftInput{URI: "file:///b"},
			Output:            v1alpha1.ReportOutputSpec{URI: "file:///out"},
			Schedule:          "* * * * *",
			ConcurrencyPolicy: v1alpha1.ConcurrencyReplace,
		},
	}
	running := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "d-1795780740",
		Annotations:     map[string]string{v1alpha1.AnnotationScheduledTime: now.Add(-90 * time.Second).Truncate(time.Minute).Format(time.RFC3339)},
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, v1alpha1.GroupVersion.WithKind("DriftCheck"))}}}
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithStatusSubresource(&v1alpha1.DriftCheck{}).
		WithIndex(&batchv1.Job{}, OwnerIndex, jobOwnerKey).
		WithObjects(d, running).
		WithInterceptorFuncs(interceptor.Funcs{Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			return forbidden("jobs")
		}}).Build()
	r := &DriftCheckReconciler{Client: c, APIReader: c, Clock: clocktesting.NewFakeClock(now), Jobs: testSettings, Lister: &fakeLister{err: errors.New("not listed")}, Reach: testReach}
	_, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(d)})
	if err == nil || !strings.Contains(err.Error(), "deleting Job d-1795780740") {
		t.Fatalf("error %v", err)
	}
	var jl batchv1.JobList
	if err := c.List(context.Background(), &jl); err != nil || len(jl.Items) != 1 {
		t.Fatalf("Jobs %d %v: a new run started although the old one could not be replaced", len(jl.Items), err)
	}
}

func TestJobDuration(t *testing.T) {
	at := func(s int) *metav1.Time { v := metav1.NewTime(time.Unix(1_800_000_000+int64(s), 0)); return &v }
	failed := func(s int) []batchv1.JobCondition {
		return []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, LastTransitionTime: *at(s)}}
	}
	for _, tc := range []struct {
		name string
		st   batchv1.JobStatus
		want time.Duration
	}{
		{"completed", batchv1.JobStatus{StartTime: at(0), CompletionTime: at(42)}, 42 * time.Second},
		{"failed", batchv1.JobStatus{StartTime: at(0), Conditions: failed(7)}, 7 * time.Second},
		{"not started", batchv1.JobStatus{CompletionTime: at(3)}, 0},
		{"no end", batchv1.JobStatus{StartTime: at(0)}, 0},
		{"end before start (clock skew)", batchv1.JobStatus{StartTime: at(10), CompletionTime: at(5)}, 0},
	} {
		if got := jobDuration(&batchv1.Job{Status: tc.st}); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
