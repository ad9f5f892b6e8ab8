package controllers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/testservers"
	"github.com/mldata-io/mldata/internal/worker"
	"github.com/mldata-io/mldata/pkg/storage"
)

// liveState is what the API server holds of a resource, read as GitOps
// tools read it: kstatus' verdict and the conditions behind it.
type liveState struct {
	kstatus            status.Status
	msg                string
	conds              []metav1.Condition
	observed, gen      int64
	retry              *v1alpha1.RetryStatus
	totalRows, sources int64
}

// live reads obj's stored state: kstatus Compute over the object as the
// API server returns it (unstructured, as Argo CD and Flux read it), and
// the typed status.
func live(t *testing.T, obj client.Object, gvk schema.GroupVersionKind) liveState {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), u); err != nil {
		t.Fatal(err)
	}
	res, err := status.Compute(u)
	if err != nil {
		t.Fatal(err)
	}
	st := liveState{kstatus: res.Status, msg: res.Message, gen: u.GetGeneration()}
	typed := obj.DeepCopyObject().(client.Object)
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), typed); err != nil {
		t.Fatal(err)
	}
	switch o := typed.(type) {
	case *v1alpha1.DatasetBuild:
		st.conds, st.observed, st.retry, st.totalRows, st.sources = o.Status.Conditions, o.Status.ObservedGeneration, o.Status.Retry, o.Status.TotalRows, o.Status.SourceCount
	case *v1alpha1.DatasetProfile:
		st.conds, st.observed, st.retry = o.Status.Conditions, o.Status.ObservedGeneration, o.Status.Retry
	case *v1alpha1.DriftCheck:
		st.conds, st.observed, st.retry = o.Status.Conditions, o.Status.ObservedGeneration, o.Status.Retry
	}
	return st
}

// is checks the state against kstatus want and "Type=Status/Reason"
// conditions; observedGeneration must be current.
func (s liveState) is(want status.Status, conds ...string) error {
	if s.kstatus != want {
		return fmt.Errorf("kstatus %s (%s), want %s; conditions %s", s.kstatus, s.msg, want, condSummary(s.conds))
	}
	if s.observed != s.gen {
		return fmt.Errorf("observedGeneration %d, generation %d", s.observed, s.gen)
	}
	for _, c := range conds {
		typ, v, _ := strings.Cut(c, "=")
		if got := condition(s.conds, typ); got != v {
			return fmt.Errorf("%s %s, want %s; conditions %s", typ, got, v, condSummary(s.conds))
		}
	}
	return nil
}

func condSummary(conds []metav1.Condition) string {
	var parts []string
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%s=%s/%s %q", c.Type, c.Status, c.Reason, c.Message))
	}
	return strings.Join(parts, "; ")
}

var buildGVK = v1alpha1.GroupVersion.WithKind(worker.KindDatasetBuild)

// TestStoreFailsThenRecovers drives a DatasetBuild on the envtest API
// server against a real S3 server behind the fault-injecting proxy. The
// store fails twice when the controller lists the sources (503 on every
// LIST), then recovers; then the build Job fails twice because the store
// refuses its writes (503 on every PUT), then recovers. At each step the
// resource is Reconciling, never Stalled, kstatus says InProgress, and it
// becomes Ready (kstatus Current) with the right rows without a human.
// A store that keeps failing stalls after retry.maxAttempts listings,
// with the last error.
func TestStoreFailsThenRecovers(t *testing.T) {
	needEnv(t)
	s := testservers.S3(t)
	testservers.SetEnv(t, s) // the worker runs in this process, with the pod's environment
	if err := s.CreateBucket(ctx, "lake"); err != nil {
		t.Fatal(err)
	}
	faults := testservers.NewInjector(12)
	proxy := testservers.NewFaultProxy(t, s.Endpoint, faults)
	src, out := proxy.URI(s, "lake", "raw/"), proxy.URI(s, "lake", "curated/")
	putObjects(t, s.URI("lake", "raw/"), map[string]string{
		"customers-2024a.csv": sampleFile(t, "sample", "customers-2024a.csv"),
		"customers-2024b.csv": sampleFile(t, "sample", "customers-2024b.csv"),
	})

	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	// Retries wait 1 s, 2 s, … on the fake clock; the test steps it.
	tm := startManagerOpts(t, t0, managerOpts{retryBase: time.Second})
	ns := newNamespace(t)
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "s3-creds"}, StringData: map[string]string{
		storage.AWSAccessKeyID: s.AccessKey, storage.AWSSecretAccessKey: s.SecretKey}}
	if err := k8s.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}

	// Phase 1: every listing gets a 503 (the SDK's own retries included).
	faults.SetRules(testservers.Rule{Op: testservers.OpList, Fault: testservers.FaultError, P: 1})
	b := newBuild(ns, "lake", src, out)
	b.Spec.IntervalSeconds = nil
	b.Spec.Source.SecretRef = &v1alpha1.SecretRef{Name: "s3-creds"}
	b.Spec.Output.SecretRef = &v1alpha1.SecretRef{Name: "s3-creds"}
	b.Spec.RunPolicy.Retry = &v1alpha1.RetrySpec{MaxAttempts: ptr.To[int32](4)}
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	for n := int32(1); n <= 2; n++ {
		eventually(t, fmt.Sprintf("failed listing %d", n), func() error {
			st := live(t, b, buildGVK)
			if st.retry == nil || st.retry.FailedListings != n {
				return fmt.Errorf("retry %+v", st.retry)
			}
			if c := apimeta.FindStatusCondition(st.conds, v1alpha1.ConditionReconciling); c == nil || !strings.Contains(c.Message, "ServiceUnavailable") ||
				!strings.Contains(c.Message, fmt.Sprintf("listing %d of 4", n)) {
				return fmt.Errorf("Reconciling %+v", c)
			}
			return st.is(status.InProgressStatus, "Reconciling=True/"+ReasonSourceUnavailable, "Stalled=False/"+ReasonSourceUnavailable)
		})
		if n := len(listJobs(t, ns)); n != 0 {
			t.Fatalf("%d Jobs while the sources could not be listed", n)
		}
		// The next listing is due after the backoff (1 s, then 2 s).
		tm.clock.Step(time.Duration(n) * time.Second)
	}
	if faults.Count(testservers.OpList, testservers.FaultError) < 2 {
		t.Fatalf("faults injected: %s", faults)
	}

	// The store recovers: the next listing succeeds and the build starts.
	faults.SetRules()
	// Phase 2: the build Job's writes get a 503: the Job fails with a
	// transient reason, twice.
	faults.SetRules(testservers.Rule{Op: testservers.OpPut, Fault: testservers.FaultError, P: 1},
		testservers.Rule{Op: testservers.OpPutIfAbsent, Fault: testservers.FaultError, P: 1})
	for attempt := 1; attempt <= 3; attempt++ {
		active := activeJobs(waitJobs(t, ns, attempt))
		if len(active) != 1 {
			t.Fatalf("attempt %d: %d running Jobs", attempt, len(active))
		}
		j := &active[0]
		eventually(t, fmt.Sprintf("attempt %d running", attempt), func() error {
			st := live(t, b, buildGVK)
			if st.retry != nil && st.retry.FailedListings != 0 {
				return fmt.Errorf("failed listings %d after a listing that succeeded", st.retry.FailedListings)
			}
			return st.is(status.InProgressStatus, "Reconciling=True/"+v1alpha1.ReasonProgressing, "Stalled=False/"+v1alpha1.ReasonProgressing)
		})
		if attempt == 3 {
			faults.SetRules()
		}
		msg := runWorker(t, j)
		sum, err := worker.DecodeSummary([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		if sum.OK != (attempt == 3) || (!sum.OK && sum.Permanent) {
			t.Fatalf("attempt %d: summary %+v", attempt, sum)
		}
		now := tm.clock.Now()
		finishJob(t, j, sum.OK, msg, now, now)
		if attempt == 3 {
			break
		}
		eventually(t, fmt.Sprintf("attempt %d failed, retry scheduled", attempt), func() error {
			st := live(t, b, buildGVK)
			if st.retry == nil || st.retry.FailedAttempts != int32(attempt) || st.retry.NextAttemptTime == nil {
				return fmt.Errorf("retry %+v", st.retry)
			}
			return st.is(status.InProgressStatus, "Reconciling=True/"+v1alpha1.ReasonRetryScheduled, "Stalled=False/"+v1alpha1.ReasonRetryScheduled)
		})
		tm.clock.Step(time.Duration(attempt) * time.Second)
	}
	if faults.Count(testservers.OpPut, testservers.FaultError)+faults.Count(testservers.OpPutIfAbsent, testservers.FaultError) < 2 {
		t.Fatalf("faults injected: %s", faults)
	}
	eventually(t, "Ready without a human", func() error {
		st := live(t, b, buildGVK)
		if st.totalRows != 1000 || st.sources != 2 {
			return fmt.Errorf("%d rows from %d sources", st.totalRows, st.sources)
		}
		if st.retry == nil || st.retry.FailedAttempts != 0 || st.retry.FailedListings != 0 {
			return fmt.Errorf("retry %+v", st.retry)
		}
		return st.is(status.CurrentStatus, "Ready=True/"+v1alpha1.ReasonSucceeded, "Reconciling=False/"+v1alpha1.ReasonSucceeded, "Stalled=False/"+v1alpha1.ReasonSucceeded)
	})
	t.Logf("faults injected: %s", faults)

	// A store that keeps failing: the listings of a second build use
	// their budget and the build stalls with the last error (kstatus
	// Failed); the store's recovery and a wake bring it back.
	// (Listings name their prefix in the query: the rule takes them all;
	// the first build, Ready, lists only when woken.)
	faults.SetRules(testservers.Rule{Op: testservers.OpList, Fault: testservers.FaultError, P: 1})
	putObjects(t, s.URI("lake", "raw2/"), map[string]string{"customers-2024a.csv": sampleFile(t, "sample", "customers-2024a.csv")})
	b2 := newBuild(ns, "lake2", proxy.URI(s, "lake", "raw2/"), proxy.URI(s, "lake", "curated2/"))
	b2.Spec.IntervalSeconds = nil
	b2.Spec.Source.SecretRef = &v1alpha1.SecretRef{Name: "s3-creds"}
	b2.Spec.RunPolicy.Retry = &v1alpha1.RetrySpec{MaxAttempts: ptr.To[int32](2)}
	if err := k8s.Create(ctx, b2); err != nil {
		t.Fatal(err)
	}
	eventually(t, "first failed listing", func() error {
		st := live(t, b2, buildGVK)
		if st.retry == nil || st.retry.FailedListings != 1 {
			return fmt.Errorf("retry %+v", st.retry)
		}
		return st.is(status.InProgressStatus, "Reconciling=True/"+ReasonSourceUnavailable)
	})
	tm.clock.Step(time.Second)
	eventually(t, "stalled after maxAttempts listings", func() error {
		st := live(t, b2, buildGVK)
		c := apimeta.FindStatusCondition(st.conds, v1alpha1.ConditionStalled)
		if c == nil || !strings.Contains(c.Message, "2 of 2 listings of the sources failed") || !strings.Contains(c.Message, "ServiceUnavailable") {
			return fmt.Errorf("Stalled %+v", c)
		}
		return st.is(status.FailedStatus, "Stalled=True/"+v1alpha1.ReasonRetriesExhausted, "Reconciling=False/"+v1alpha1.ReasonRetriesExhausted,
			"Ready=False/"+v1alpha1.ReasonRetriesExhausted)
	})
	// Stalled means no retries of its own: the count stays at the bound.
	consistently(t, "no more listings counted", func() error {
		if st := live(t, b2, buildGVK); st.retry.FailedListings != 2 || st.kstatus != status.FailedStatus {
			return fmt.Errorf("retry %+v, kstatus %s", st.retry, st.kstatus)
		}
		return nil
	})
	faults.SetRules()
	touch(t, b2, "example.com/poke", "1") // a wake, as a Secret change would be
	waitJobs(t, ns, 4)
	eventually(t, "listing recovered", func() error {
		st := live(t, b2, buildGVK)
		if st.retry == nil || st.retry.FailedListings != 0 {
			return fmt.Errorf("retry %+v", st.retry)
		}
		return st.is(status.InProgressStatus, "Reconciling=True/"+v1alpha1.ReasonProgressing, "Stalled=False/"+v1alpha1.ReasonProgressing)
	})
	drainEvents(tm)
}

// TestBuildWarningsSurfaced: a build published with warnings (its
// termination summary lists them) shows them in status.warnings and
// Ready's message, stays Ready (kstatus Current), and reports them in a
// Warning event; the next clean build clears them.
func TestBuildWarningsSurfaced(t *testing.T) {
	k := kinds[0]
	w := newWorld(t, k, nil)
	rec := events.NewFakeRecorder(10)
	r := w.r.(*DatasetBuildReconciler)
	r.Recorder = rec
	w.do(k, "reconcile")
	published := k.ok
	published.Warnings = []string{"build b1 is published (claim generations/00000000000000000001.json) but latest.json could not be updated: 503 SlowDown"}
	w.do(k, "succeed")
	var b v1alpha1.DatasetBuild
	get := func() {
		if err := w.c.Get(ctx, client.ObjectKeyFromObject(w.obj), &b); err != nil {
			t.Fatal(err)
		}
	}
	get()
	if len(b.Status.Warnings) != 0 {
		t.Fatalf("warnings of a clean build: %q", b.Status.Warnings)
	}
	drain := func() []string {
		var out []string
		for {
			select {
			case e := <-rec.Events:
				out = append(out, e)
			default:
				return out
			}
		}
	}
	drain()
	// A new build (requested), published with a warning.
	w.edit(func(o client.Object) {
		o.SetAnnotations(map[string]string{v1alpha1.AnnotationRequestedAt: "2026-12-06T08:00:00Z"})
	})
	w.do(k, "reconcile")
	w.finish(published)
	w.reconcile()
	if w.lastE != nil {
		t.Fatal(w.lastE)
	}
	get()
	if len(b.Status.Warnings) != 1 || b.Status.Warnings[0] != published.Warnings[0] {
		t.Fatalf("status.warnings %q", b.Status.Warnings)
	}
	ready := apimeta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue || !strings.Contains(ready.Message, "1 warning(s)") || !strings.Contains(ready.Message, "latest.json could not be updated") {
		t.Errorf("Ready %+v", ready)
	}
	if got, _ := w.kstatus(); got != status.CurrentStatus {
		t.Errorf("kstatus %s: a build published with warnings is Current", got)
	}
	evs := drain()
	found := false
	for _, e := range evs {
		if strings.HasPrefix(e, "Warning "+EventBuildWarning+" ") && strings.Contains(e, "latest.json could not be updated") && strings.Contains(e, "1 warning(s)") {
			found = true
		}
	}
	if !found {
		t.Errorf("no %s event in %q", EventBuildWarning, evs)
	}
	// The next build, clean: the warnings go, and no warning event.
	w.edit(func(o client.Object) {
		o.SetAnnotations(map[string]string{v1alpha1.AnnotationRequestedAt: "2026-12-06T09:00:00Z"})
	})
	w.do(k, "reconcile")
	w.do(k, "succeed")
	get()
	if len(b.Status.Warnings) != 0 {
		t.Errorf("status.warnings after a clean build: %q", b.Status.Warnings)
	}
	for _, e := range drain() {
		if strings.Contains(e, EventBuildWarning) {
			t.Errorf("warning event after a clean build: %s", e)
		}
	}
}

// TestJobFailureNamesTheServiceAccount: a Job that hit its deadline
// without ever running a pod (its pods could not be created, e.g. for a
// missing service account) is reported with its deadline and the service
// account to check; other failures keep the Job's own words.
func TestJobFailureNamesTheServiceAccount(t *testing.T) {
	failedJob := func(reason string, failedPods int32, sa string) *batchv1.Job {
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "sales-v1-ab12cd34", Namespace: "ml"}}
		j.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
		j.Spec.Template.Spec.ServiceAccountName = sa
		j.Status.Failed = failedPods
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: reason, Message: "Job was active longer than specified deadline"}}
		return j
	}
	for _, tc := range []struct {
		name string
		job  *batchv1.Job
		pods int
		want []string
		not  string
	}{
		{"deadline, no pod ever", failedJob(batchv1.JobReasonDeadlineExceeded, 0, "mldata-worker"), 0,
			[]string{"Job sales-v1-ab12cd34: DeadlineExceeded", "activeDeadlineSeconds 60", "ServiceAccount mldata-worker exists in namespace ml"}, ""},
		{"deadline, default account", failedJob(batchv1.JobReasonDeadlineExceeded, 0, ""), 0,
			[]string{"ServiceAccount default exists"}, ""},
		{"deadline while a pod ran", failedJob(batchv1.JobReasonDeadlineExceeded, 0, "mldata-worker"), 1,
			[]string{"DeadlineExceeded"}, "ServiceAccount"},
		{"pods failed", failedJob(batchv1.JobReasonBackoffLimitExceeded, 3, "mldata-worker"), 0,
			[]string{"BackoffLimitExceeded"}, "ServiceAccount"},
	} {
		got := jobFailure(tc.job, tc.pods)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, got, w)
			}
		}
		if tc.not != "" && strings.Contains(got, tc.not) {
			t.Errorf("%s: %q names %q", tc.name, got, tc.not)
		}
	}
}
