package controllers

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/jobs"
	"github.com/mldata-io/mldata/internal/worker"
)

// The outcome model read as GitOps tools read it: each kind is driven
// through every path of its life, with the real reconciler on a client
// that keeps objects as the API server does, and after each step kstatus
// itself (cli-utils' Compute, which Argo CD's and Flux's health checks
// follow) must say Current, InProgress, Failed or Terminating exactly as
// the table says. The Job controller and the kubelet are played by the
// test: a Job finishes when the test writes its pod's termination message
// and the Job's terminal condition.

// kind is one of the three resource kinds under test.
type kind struct {
	name string
	// new returns a valid resource in ns, unscheduled, with at most two
	// attempts per inputs.
	new func(ns, src, out string) client.Object
	// reconciler builds the kind's reconciler on c.
	reconciler func(c client.Client, clk *clocktesting.FakeClock) reconcile.Reconciler
	// spec mutates the spec of obj: suspend, a secretRef, a schedule.
	suspend   func(obj client.Object, v bool)
	secretRef func(obj client.Object, name string)
	schedule  func(obj client.Object, cron string)
	// ok is the summary of a successful run.
	ok worker.Summary
}

var kinds = []kind{
	{
		name: worker.KindDatasetBuild,
		new: func(ns, src, out string) client.Object {
			return &v1alpha1.DatasetBuild{
				TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: worker.KindDatasetBuild},
				ObjectMeta: metav1.ObjectMeta{Name: "sales.v1", Namespace: ns, Generation: 1, UID: types.UID("uid-" + ns)},
				Spec: v1alpha1.DatasetBuildSpec{
					Source:    v1alpha1.SourceSpec{URI: v1alpha1.BucketURI(src)},
					Output:    v1alpha1.OutputSpec{URI: v1alpha1.BucketURI(out)},
					RunPolicy: v1alpha1.RunPolicy{Retry: &v1alpha1.RetrySpec{MaxAttempts: ptr.To[int32](2)}},
				},
			}
		},
		reconciler: func(c client.Client, clk *clocktesting.FakeClock) reconcile.Reconciler {
			return &DatasetBuildReconciler{Client: c, Clock: clk, Jobs: testSettings, APIReader: c, Reach: testReach}
		},
		suspend: func(o client.Object, v bool) { o.(*v1alpha1.DatasetBuild).Spec.Suspend = v },
		secretRef: func(o client.Object, n string) {
			o.(*v1alpha1.DatasetBuild).Spec.Output.SecretRef = &v1alpha1.SecretRef{Name: v1alpha1.ObjectName(n)}
		},
		schedule: func(o client.Object, s string) { o.(*v1alpha1.DatasetBuild).Spec.Schedule = v1alpha1.CronSchedule(s) },
		ok:       worker.Summary{Kind: worker.KindDatasetBuild, OK: true, BuildID: "b1", Rows: []v1alpha1.SplitRows{{Name: "train", Rows: 8}}},
	},
	{
		name: worker.KindDatasetProfile,
		new: func(ns, src, out string) client.Object {
			return &v1alpha1.DatasetProfile{
				TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: worker.KindDatasetProfile},
				ObjectMeta: metav1.ObjectMeta{Name: "sales.v1", Namespace: ns, Generation: 1, UID: types.UID("uid-" + ns)},
				Spec: v1alpha1.DatasetProfileSpec{
					Source:    v1alpha1.ProfileSource{URI: v1alpha1.BucketURI(src)},
					Output:    v1alpha1.ReportOutputSpec{URI: v1alpha1.BucketURI(out)},
					RunPolicy: v1alpha1.RunPolicy{Retry: &v1alpha1.RetrySpec{MaxAttempts: ptr.To[int32](2)}},
				},
			}
		},
		reconciler: func(c client.Client, clk *clocktesting.FakeClock) reconcile.Reconciler {
			return &DatasetProfileReconciler{Client: c, Clock: clk, Jobs: testSettings, APIReader: c, Reach: testReach}
		},
		suspend: func(o client.Object, v bool) { o.(*v1alpha1.DatasetProfile).Spec.Suspend = v },
		secretRef: func(o client.Object, n string) {
			o.(*v1alpha1.DatasetProfile).Spec.Output.SecretRef = &v1alpha1.SecretRef{Name: v1alpha1.ObjectName(n)}
		},
		schedule: func(o client.Object, s string) { o.(*v1alpha1.DatasetProfile).Spec.Schedule = v1alpha1.CronSchedule(s) },
		ok:       worker.Summary{Kind: worker.KindDatasetProfile, OK: true, ReportURI: "file:///r/profile.json", ProfileRows: 8, Columns: 2},
	},
	{
		name: worker.KindDriftCheck,
		new: func(ns, src, out string) client.Object {
			return &v1alpha1.DriftCheck{
				TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: worker.KindDriftCheck},
				ObjectMeta: metav1.ObjectMeta{Name: "sales.v1", Namespace: ns, Generation: 1, UID: types.UID("uid-" + ns)},
				Spec: v1alpha1.DriftCheckSpec{
					Baseline: v1alpha1.DriftInput{URI: v1alpha1.BucketURI(src)}, Current: v1alpha1.DriftInput{URI: v1alpha1.BucketURI(src)},
					Output:            v1alpha1.ReportOutputSpec{URI: v1alpha1.BucketURI(out)},
					ConcurrencyPolicy: v1alpha1.ConcurrencyReplace,
					HistoryLimits:     v1alpha1.HistoryLimits{FailedRunsHistoryLimit: ptr.To[int32](3)},
					RunPolicy:         v1alpha1.RunPolicy{Retry: &v1alpha1.RetrySpec{MaxAttempts: ptr.To[int32](2)}},
				},
			}
		},
		reconciler: func(c client.Client, clk *clocktesting.FakeClock) reconcile.Reconciler {
			return &DriftCheckReconciler{Client: c, Clock: clk, Jobs: testSettings, APIReader: c, Reach: testReach}
		},
		suspend: func(o client.Object, v bool) { o.(*v1alpha1.DriftCheck).Spec.Suspend = v },
		secretRef: func(o client.Object, n string) {
			o.(*v1alpha1.DriftCheck).Spec.Output.SecretRef = &v1alpha1.SecretRef{Name: v1alpha1.ObjectName(n)}
		},
		schedule: func(o client.Object, s string) { o.(*v1alpha1.DriftCheck).Spec.Schedule = v1alpha1.CronSchedule(s) },
		ok:       worker.Summary{Kind: worker.KindDriftCheck, OK: true, ReportURI: "file:///r/drift.json", ColumnsChecked: 2},
	},
}

// world is one resource on a fake API server with its reconciler.
type world struct {
	t     *testing.T
	c     client.WithWatch
	clk   *clocktesting.FakeClock
	r     reconcile.Reconciler
	obj   client.Object
	fail  *error // injected into the next List of Jobs
	lastE error
}

func newWorld(t *testing.T, k kind, mutate func(client.Object)) *world {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.csv"), []byte("id,x\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ns := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	ns = strings.NewReplacer("_", "-", "(", "", ")", "").Replace(ns)
	obj := k.new(ns, "file://"+filepath.Join(dir, "a.csv"), "file://"+filepath.Join(dir, "out"))
	if mutate != nil {
		mutate(obj)
	}
	w := &world{t: t, clk: clocktesting.NewFakeClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)), fail: new(error)}
	obj.SetCreationTimestamp(metav1.NewTime(w.clk.Now()))
	w.c = fake.NewClientBuilder().WithScheme(scheme).
		WithObjects(obj).
		WithStatusSubresource(&v1alpha1.DatasetBuild{}, &v1alpha1.DatasetProfile{}, &v1alpha1.DriftCheck{}, &batchv1.Job{}, &corev1.Pod{}).
		WithIndex(&batchv1.Job{}, OwnerIndex, jobOwnerKey).
		WithInterceptorFuncs(interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, l client.ObjectList, opts ...client.ListOption) error {
			if _, ok := l.(*batchv1.JobList); ok && *w.fail != nil {
				err := *w.fail
				*w.fail = nil
				return err
			}
			return c.List(ctx, l, opts...)
		}}).Build()
	w.r = k.reconciler(w.c, w.clk)
	w.obj = obj
	return w
}

// reconcile runs one reconcile of the resource.
func (w *world) reconcile() {
	w.t.Helper()
	_, w.lastE = w.r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(w.obj)})
}

// kstatus is what cli-utils' kstatus says of the stored resource.
func (w *world) kstatus() (status.Status, string) {
	w.t.Helper()
	obj := w.obj.DeepCopyObject().(client.Object)
	if err := w.c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		w.t.Fatal(err)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		w.t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(w.obj.GetObjectKind().GroupVersionKind())
	res, err := status.Compute(u)
	if err != nil {
		w.t.Fatal(err)
	}
	return res.Status, res.Message
}

// conds are the stored resource's conditions and observedGeneration.
func (w *world) conds() ([]metav1.Condition, int64, int64) {
	obj := w.obj.DeepCopyObject().(client.Object)
	if err := w.c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		w.t.Fatal(err)
	}
	switch o := obj.(type) {
	case *v1alpha1.DatasetBuild:
		return o.Status.Conditions, o.Status.ObservedGeneration, o.Generation
	case *v1alpha1.DatasetProfile:
		return o.Status.Conditions, o.Status.ObservedGeneration, o.Generation
	case *v1alpha1.DriftCheck:
		return o.Status.Conditions, o.Status.ObservedGeneration, o.Generation
	}
	return nil, 0, 0
}

func (w *world) jobs() (all, active []batchv1.Job) {
	var l batchv1.JobList
	if err := w.c.List(ctx, &l, client.InNamespace(w.obj.GetNamespace())); err != nil {
		w.t.Fatal(err)
	}
	for _, j := range l.Items {
		if done, _ := jobs.Finished(&j); !done {
			active = append(active, j)
		}
	}
	return l.Items, active
}

// finish ends the one active Job with summary s, as the kubelet and the
// Job controller would.
func (w *world) finish(s worker.Summary) {
	w.t.Helper()
	_, active := w.jobs()
	if len(active) != 1 {
		w.t.Fatalf("%d active Jobs, want 1", len(active))
	}
	j := active[0]
	msg, err := s.Encode()
	if err != nil {
		w.t.Fatal(err)
	}
	now := metav1.NewTime(w.clk.Now())
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: j.Name + "-pod", Namespace: j.Namespace, Labels: j.Spec.Template.Labels},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: jobs.ContainerName,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Message: string(msg), FinishedAt: now}}}}}}
	if err := w.c.Create(ctx, pod); err != nil {
		w.t.Fatal(err)
	}
	cond := batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now}
	if !s.OK {
		cond = batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: now}
	} else {
		j.Status.CompletionTime = &now
	}
	j.Status.StartTime = &now
	j.Status.Conditions = []batchv1.JobCondition{cond}
	if err := w.c.Status().Update(ctx, &j); err != nil {
		w.t.Fatal(err)
	}
}

// edit changes the stored spec as a user would: the generation goes up.
func (w *world) edit(mutate func(client.Object)) {
	w.t.Helper()
	obj := w.obj.DeepCopyObject().(client.Object)
	if err := w.c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		w.t.Fatal(err)
	}
	mutate(obj)
	obj.SetGeneration(obj.GetGeneration() + 1)
	if err := w.c.Update(ctx, obj); err != nil {
		w.t.Fatal(err)
	}
}

func failed(kind string, permanent bool) worker.Summary {
	if permanent {
		return worker.Summary{Kind: kind, Reason: v1alpha1.ReasonInvalidInput, Message: "a.csv: line 3 (row 2): 3 fields, the header has 2", Permanent: true}
	}
	return worker.Summary{Kind: kind, Reason: v1alpha1.ReasonJobFailed, Message: "writing part-00000.parquet: 503 SlowDown"}
}

// step is one action and what kstatus must say after it.
type step struct {
	do   string
	want status.Status
	// jobs is the number of Jobs that must exist after the step; -1 for
	// any.
	jobs int
}

// TestKstatusPaths is the table of paths × kstatus results.
func TestKstatusPaths(t *testing.T) {
	const (
		current    = status.CurrentStatus
		inProgress = status.InProgressStatus
		failedS    = status.FailedStatus
		terminate  = status.TerminatingStatus
	)
	paths := []struct {
		name      string
		scheduled bool // for DatasetProfile and DriftCheck only
		setup     func(k kind, o client.Object)
		steps     []step
	}{
		{name: "created", steps: []step{{"reconcile", inProgress, 1}}},
		{name: "running", steps: []step{{"reconcile", inProgress, 1}, {"reconcile", inProgress, 1}}},
		{name: "succeeded", steps: []step{{"reconcile", inProgress, 1}, {"succeed", current, 1}, {"wait 1h", current, 1}}},
		{name: "failed transient, retried, succeeded", steps: []step{
			{"reconcile", inProgress, 1}, {"fail transient", inProgress, 1}, {"wait 31s", inProgress, 2}, {"succeed", current, 2}}},
		{name: "failed transient, attempts exhausted", steps: []step{
			{"reconcile", inProgress, 1}, {"fail transient", inProgress, 1}, {"wait 10s", inProgress, 1},
			{"wait 31s", inProgress, 2}, {"fail transient", failedS, 2}, {"wait 1h", failedS, 2}}},
		{name: "failed permanent", steps: []step{{"reconcile", inProgress, 1}, {"fail permanent", failedS, 1}, {"wait 1h", failedS, 1}}},
		{name: "failed permanent, spec fixed", steps: []step{{"reconcile", inProgress, 1}, {"fail permanent", failedS, 1}, {"edit", inProgress, 1}, {"reconcile", inProgress, 2}, {"succeed", current, 2}}},
		{name: "missing Secret", setup: func(k kind, o client.Object) { k.secretRef(o, "s3-creds") }, steps: []step{{"reconcile", failedS, 0}}},
		{name: "missing Secret created", setup: func(k kind, o client.Object) { k.secretRef(o, "s3-creds") },
			steps: []step{{"reconcile", failedS, 0}, {"create Secret", inProgress, 1}}},
		{name: "suspended", setup: func(k kind, o client.Object) { k.suspend(o, true) }, steps: []step{{"reconcile", current, 0}, {"wait 1h", current, 0}}},
		{name: "suspended after success", steps: []step{{"reconcile", inProgress, 1}, {"succeed", current, 1}, {"suspend", current, 1}}},
		{name: "suspended after a permanent failure", steps: []step{{"reconcile", inProgress, 1}, {"fail permanent", failedS, 1}, {"suspend", failedS, 1}}},
		{name: "suspended while running", steps: []step{{"reconcile", inProgress, 1}, {"suspend", inProgress, 1}, {"succeed", current, 1}}},
		{name: "spec changed while running", steps: []step{{"reconcile", inProgress, 1}, {"edit", inProgress, 1}, {"reconcile", inProgress, 1}, {"succeed", current, 1}}},
		{name: "API error", steps: []step{{"API error", inProgress, 0}, {"reconcile", inProgress, 1}}},
		{name: "scheduled, before the first run", scheduled: true, steps: []step{{"reconcile", current, 0}, {"wait 1h", inProgress, 1}, {"succeed", current, 1}}},
		{name: "unknown time zone", setup: func(k kind, o client.Object) { k.schedule(o, "CRON_TZ=Mars/Olympus 0 * * * *") },
			steps: []step{{"reconcile", failedS, 0}, {"wait 1h", failedS, 0}}},
		{name: "deleted", steps: []step{{"reconcile", inProgress, 1}, {"delete", terminate, 1}}},
	}
	for _, k := range kinds {
		for _, p := range paths {
			// A DatasetBuild's schedule says when to re-list its sources;
			// its first build does not wait for it.
			if p.scheduled && k.name == worker.KindDatasetBuild {
				continue
			}
			t.Run(k.name+"/"+p.name, func(t *testing.T) {
				w := newWorld(t, k, func(o client.Object) {
					if p.setup != nil {
						p.setup(k, o)
					}
					if p.scheduled {
						k.schedule(o, "0 * * * *")
					}
				})
				// Before the controller has seen it, kstatus has nothing
				// to go by (no observedGeneration, no conditions).
				if got, _ := w.kstatus(); got != current {
					t.Fatalf("before any reconcile: %s", got)
				}
				for i, s := range p.steps {
					w.do(k, s.do)
					got, msg := w.kstatus()
					all, _ := w.jobs()
					conds, observed, gen := w.conds()
					if got != s.want || (s.jobs >= 0 && len(all) != s.jobs) {
						t.Fatalf("step %d %q: kstatus %s (%s), %d Jobs; want %s, %d Jobs\nconditions %+v", i, s.do, got, msg, len(all), s.want, s.jobs, conds)
					}
					if s.do != "delete" && s.do != "edit" && observed != gen {
						t.Errorf("step %d %q: observedGeneration %d, generation %d", i, s.do, observed, gen)
					}
					checkConsistent(t, conds, got)
				}
			})
		}
	}
}

// checkConsistent checks the three kstatus conditions against each
// other: never both Reconciling and Stalled, and Ready True only when
// neither.
func checkConsistent(t *testing.T, conds []metav1.Condition, got status.Status) {
	t.Helper()
	rec := apimeta.IsStatusConditionTrue(conds, v1alpha1.ConditionReconciling)
	st := apimeta.IsStatusConditionTrue(conds, v1alpha1.ConditionStalled)
	if rec && st {
		t.Errorf("Reconciling and Stalled both True: %+v", conds)
	}
	if apimeta.IsStatusConditionTrue(conds, v1alpha1.ConditionReady) && st {
		t.Errorf("Ready and Stalled both True: %+v", conds)
	}
	if got == status.CurrentStatus && apimeta.IsStatusConditionFalse(conds, v1alpha1.ConditionReady) {
		t.Errorf("Current with Ready False: %+v", conds)
	}
}

// do runs one step of a path.
func (w *world) do(k kind, action string) {
	w.t.Helper()
	switch {
	case action == "reconcile":
	case action == "succeed":
		w.finish(k.ok)
	case action == "fail transient":
		w.finish(failed(k.name, false))
	case action == "fail permanent":
		w.finish(failed(k.name, true))
	case strings.HasPrefix(action, "wait "):
		d, err := time.ParseDuration(strings.TrimPrefix(action, "wait "))
		if err != nil {
			w.t.Fatal(err)
		}
		w.clk.Step(d)
	case action == "edit":
		// A new spec; kstatus must not trust the old status until the
		// controller has looked at it.
		w.edit(func(o client.Object) { o.SetAnnotations(map[string]string{"edited": "1"}) })
		return
	case action == "suspend":
		w.edit(func(o client.Object) { k.suspend(o, true) })
	case action == "create Secret":
		if err := w.c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s3-creds", Namespace: w.obj.GetNamespace()}}); err != nil {
			w.t.Fatal(err)
		}
	case action == "API error":
		*w.fail = errors.New("the server is currently unable to handle the request")
		w.reconcile()
		if w.lastE == nil {
			w.t.Fatal("an API error was swallowed: the reconcile would not be retried")
		}
		return
	case action == "delete":
		obj := w.obj.DeepCopyObject().(client.Object)
		if err := w.c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			w.t.Fatal(err)
		}
		obj.SetFinalizers([]string{"example.com/hold"})
		if err := w.c.Update(ctx, obj); err != nil {
			w.t.Fatal(err)
		}
		if err := w.c.Delete(ctx, obj); err != nil {
			w.t.Fatal(err)
		}
	default:
		w.t.Fatalf("unknown step %q", action)
	}
	w.reconcile()
	if w.lastE != nil {
		w.t.Fatalf("%s: reconcile: %v", action, w.lastE)
	}
}

// TestDriftCheckSpecChangeFollowsConcurrencyPolicy: a DriftCheck whose
// spec changes while its Job runs replaces that Job under
// concurrencyPolicy Replace; under Forbid and Allow the running Job
// finishes (kstatus InProgress meanwhile) and the new spec's Job starts
// after it.
func TestDriftCheckSpecChangeFollowsConcurrencyPolicy(t *testing.T) {
	k := kinds[2]
	for _, tc := range []struct {
		policy   v1alpha1.ConcurrencyPolicy
		replaced bool
	}{{v1alpha1.ConcurrencyReplace, true}, {v1alpha1.ConcurrencyForbid, false}, {v1alpha1.ConcurrencyAllow, false}} {
		t.Run(string(tc.policy), func(t *testing.T) {
			w := newWorld(t, k, func(o client.Object) { o.(*v1alpha1.DriftCheck).Spec.ConcurrencyPolicy = tc.policy })
			w.do(k, "reconcile")
			_, active := w.jobs()
			if len(active) != 1 {
				t.Fatalf("%d running Jobs", len(active))
			}
			first := active[0].Name
			w.do(k, "edit")
			w.do(k, "reconcile")
			all, active := w.jobs()
			if len(active) != 1 || (active[0].Name != first) == !tc.replaced {
				t.Fatalf("after the edit: running %v (first %s), want replaced=%v", names(active), first, tc.replaced)
			}
			if got, _ := w.kstatus(); got != status.InProgressStatus {
				t.Fatalf("after the edit: kstatus %s", got)
			}
			if tc.replaced {
				if len(all) != 1 {
					t.Errorf("the replaced Job was not deleted: %v", names(all))
				}
				w.do(k, "succeed")
			} else {
				// The Job of the old spec finishes; the new spec's starts.
				w.do(k, "succeed")
				_, active = w.jobs()
				if len(active) != 1 || active[0].Name == first || jobGeneration(&active[0]) != 2 {
					t.Fatalf("after the old Job: running %v", names(active))
				}
				if got, _ := w.kstatus(); got != status.InProgressStatus {
					t.Fatalf("the new spec's Job runs: kstatus %s", got)
				}
				w.do(k, "succeed")
			}
			if got, msg := w.kstatus(); got != status.CurrentStatus {
				t.Fatalf("at the end: kstatus %s (%s)", got, msg)
			}
			if _, observed, gen := w.conds(); observed != gen || gen != 2 {
				t.Errorf("observedGeneration %d, generation %d", observed, gen)
			}
		})
	}
}

func names(js []batchv1.Job) []string {
	var out []string
	for _, j := range js {
		out = append(out, j.Name)
	}
	return out
}
