package controllers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/jobs"
)

// TestDatasetBuildIdleReconciles: once a build is recorded, reconciling
// again with nothing changed writes nothing (the resourceVersion stays) and
// asks to come back at the next interval boundary.
func TestDatasetBuildIdleReconciles(t *testing.T) {
	needEnv(t)
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tm := startManager(t, start)
	ns := newNamespace(t)
	src, _ := copySample(t, "sample")
	b := newBuild(ns, "idle", src, "file://"+t.TempDir())
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	j := waitJobs(t, ns, 1)[0]
	finishJob(t, &j, true, runWorker(t, &j), start, start.Add(time.Second))
	eventually(t, "Ready", func() error {
		if c := condition(getBuild(t, b).Status.Conditions, v1alpha1.ConditionReady); c != "True/Succeeded" {
			return errors.New(c)
		}
		return nil
	})
	// Let the manager's own reconciles settle, then take over the clock.
	var rv string
	eventually(t, "a stable resourceVersion", func() error {
		before := getBuild(t, b).ResourceVersion
		time.Sleep(300 * time.Millisecond)
		if rv = getBuild(t, b).ResourceVersion; rv != before {
			return errors.New("still changing")
		}
		return nil
	})
	r := &DatasetBuildReconciler{Client: tm.build.Client, Clock: tm.clock, Jobs: testSettings, Lister: StorageLister{Reach: testReach}, Reach: testReach}
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(b)}
	for i := range 3 {
		res, err := r.Reconcile(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		// intervalSeconds 600 from 12:00:00.
		if res.RequeueAfter != 10*time.Minute {
			t.Errorf("reconcile %d: requeue after %v, want 10m", i, res.RequeueAfter)
		}
	}
	if got := getBuild(t, b).ResourceVersion; got != rv {
		t.Errorf("idle reconciles wrote the build: resourceVersion %s → %s", rv, got)
	}
	// Later in the period: the requeue shrinks to the next boundary
	// (12:10:00), and still no Job; the tick writes nothing (lastCheckTime
	// stays at the listing that started the build), so the resources that
	// reference this build are not woken.
	lastCheck := getBuild(t, b).Status.LastCheckTime
	tm.clock.SetTime(start.Add(3*time.Minute + 20*time.Second))
	res, err := r.Reconcile(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.RequeueAfter != 6*time.Minute+40*time.Second {
		t.Errorf("requeue after %v, want 6m40s", res.RequeueAfter)
	}
	if got := getBuild(t, b); got.ResourceVersion != rv || !got.Status.LastCheckTime.Equal(lastCheck) {
		t.Errorf("an interval tick wrote the build: resourceVersion %s → %s, lastCheckTime %v → %v", rv, got.ResourceVersion, lastCheck, got.Status.LastCheckTime)
	}
	if n := len(listJobs(t, ns)); n != 1 {
		t.Errorf("%d Jobs", n)
	}
}

// TestJobResultsWithoutSummary: what status says when a Job ends without
// the worker's summary: a crash leaves its log tail (FallbackToLogsOnError),
// a Job that succeeded without a summary is a failure.
func TestJobResultsWithoutSummary(t *testing.T) {
	needEnv(t)
	tm := startManager(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	ns := newNamespace(t)
	src, _ := copySample(t, "sample")
	b := newBuild(ns, "crash", src, "file://"+t.TempDir())
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	j := waitJobs(t, ns, 1)[0]
	finishJob(t, &j, false, "panic: runtime error: index out of range [3] with length 3\ngoroutine 1 [running]:", time.Now(), time.Now())
	eventually(t, "crash recorded", func() error {
		c := apimeta.FindStatusCondition(getBuild(t, b).Status.Conditions, v1alpha1.ConditionReady)
		if c == nil || c.Reason != v1alpha1.ReasonJobFailed || !strings.Contains(c.Message, "index out of range") {
			return fmt.Errorf("Ready %+v", c)
		}
		return nil
	})
	eventually(t, "warning event with the log tail", func() error {
		for _, e := range drainEvents(tm) {
			if strings.Contains(e, "Warning") && strings.Contains(e, "index out of range") {
				return nil
			}
		}
		return errors.New("no event")
	})

	touch(t, b, v1alpha1.AnnotationRequestedAt, "again")
	j2 := *newestJob(waitJobs(t, ns, 2), j.Name)
	finishJob(t, &j2, true, "", time.Now(), time.Now())
	eventually(t, "missing summary recorded", func() error {
		c := apimeta.FindStatusCondition(getBuild(t, b).Status.Conditions, v1alpha1.ConditionReady)
		if c == nil || c.Reason != v1alpha1.ReasonJobFailed || !strings.Contains(c.Message, "completed without a result summary") {
			return fmt.Errorf("Ready %+v", c)
		}
		return nil
	})
}

// TestDriftCheckWaitsForSecret: a DriftCheck whose input Secret is missing
// stalls naming it, and runs as soon as the Secret exists.
func TestDriftCheckWaitsForSecret(t *testing.T) {
	needEnv(t)
	startManager(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	ns := newNamespace(t)
	base, _ := copySample(t, "sample")
	d := &v1alpha1.DriftCheck{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "locked"},
		Spec: v1alpha1.DriftCheckSpec{
			Baseline: v1alpha1.DriftInput{URI: v1alpha1.BucketURI(base)},
			Current:  v1alpha1.DriftInput{URI: "s3://bucket/current", SecretRef: &v1alpha1.SecretRef{Name: "current-creds"}},
			Output:   v1alpha1.ReportOutputSpec{URI: v1alpha1.BucketURI("file://" + t.TempDir())},
		},
	}
	if err := k8s.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "SecretNotFound", func() error {
		c := apimeta.FindStatusCondition(getDrift(t, d).Status.Conditions, v1alpha1.ConditionStalled)
		if c == nil || c.Reason != v1alpha1.ReasonSecretNotFound || !strings.Contains(c.Message, "Secret current-creds does not exist in namespace "+ns) {
			return fmt.Errorf("Stalled %+v", c)
		}
		return nil
	})
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "current-creds"}, StringData: map[string]string{"AWS_ROLE_ARN": "arn:aws:iam::1:role/r"}}
	if err := k8s.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	j := waitJobs(t, ns, 1)[0]
	if ef := j.Spec.Template.Spec.Containers[0].EnvFrom; len(ef) != 1 || ef[0].SecretRef.Name != "current-creds" {
		t.Errorf("envFrom %+v", ef)
	}
	eventually(t, "Stalled cleared", func() error {
		if c := condition(getDrift(t, d).Status.Conditions, v1alpha1.ConditionStalled); c != "False/Progressing" {
			return errors.New(c)
		}
		return nil
	})
}

// TestDriftCheckAgainstProfile: a baseline from a DatasetProfile's report
// waits for the report, then runs against it.
func TestDriftCheckAgainstProfile(t *testing.T) {
	needEnv(t)
	startManager(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	ns := newNamespace(t)
	cur, _ := copySample(t, "sample-drifted")
	p := &v1alpha1.DatasetProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "base"},
		Spec: v1alpha1.DatasetProfileSpec{
			Source:  v1alpha1.ProfileSource{URI: "file:///nowhere"},
			Output:  v1alpha1.ReportOutputSpec{URI: "file:///nowhere-out"},
			Suspend: true,
		},
	}
	if err := k8s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	d := &v1alpha1.DriftCheck{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vs-profile"},
		Spec: v1alpha1.DriftCheckSpec{
			Baseline: v1alpha1.DriftInput{DatasetProfileRef: &v1alpha1.DatasetProfileRef{Name: "base"}},
			Current:  v1alpha1.DriftInput{URI: v1alpha1.BucketURI(cur)},
			Output:   v1alpha1.ReportOutputSpec{URI: v1alpha1.BucketURI("file://" + t.TempDir())},
		},
	}
	if err := k8s.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ReferenceNotReady", func() error {
		if c := condition(getDrift(t, d).Status.Conditions, v1alpha1.ConditionReady); c != "Unknown/ReferenceNotReady" {
			return errors.New(c)
		}
		return nil
	})
	var got v1alpha1.DatasetProfile
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(p), &got); err != nil {
		t.Fatal(err)
	}
	got.Status.ReportURI = "file:///reports/base/profile.json"
	if err := k8s.Status().Update(ctx, &got); err != nil {
		t.Fatal(err)
	}
	j := waitJobs(t, ns, 1)[0]
	if task := taskOf(t, &j); task.Baseline == nil || task.Baseline.URI != "file:///reports/base/profile.json" || !task.Baseline.Profile {
		t.Errorf("baseline %+v", task.Baseline)
	}
}

// TestDriftCheckScheduleEdges: an unknown time zone stalls; after a long
// outage only the latest missed run starts.
func TestDriftCheckScheduleEdges(t *testing.T) {
	needEnv(t)
	now := time.Now().UTC()
	tm := startManager(t, now)
	ns := newNamespace(t)
	base, _ := copySample(t, "sample")
	spec := v1alpha1.DriftCheckSpec{
		Baseline: v1alpha1.DriftInput{URI: v1alpha1.BucketURI(base)},
		Current:  v1alpha1.DriftInput{URI: v1alpha1.BucketURI(base)},
		Output:   v1alpha1.ReportOutputSpec{URI: v1alpha1.BucketURI("file://" + t.TempDir())},
		Schedule: "* * * * *",
	}
	tz := &v1alpha1.DriftCheck{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mars"}, Spec: spec}
	tz.Spec.TimeZone = "Mars/Olympus_Mons"
	tz.Spec.Suspend = false
	if err := k8s.Create(ctx, tz); err != nil {
		t.Fatal(err)
	}
	eventually(t, "InvalidSpec", func() error {
		c := apimeta.FindStatusCondition(getDrift(t, tz).Status.Conditions, v1alpha1.ConditionStalled)
		if c == nil || c.Reason != v1alpha1.ReasonInvalidSpec || !strings.Contains(c.Message, `timeZone "Mars/Olympus_Mons"`) {
			return fmt.Errorf("Stalled %+v", c)
		}
		return nil
	})

	// Every minute, and the controller was away for five hours: one Job,
	// for the last minute.
	tm.clock.SetTime(now.Add(5 * time.Hour))
	d := &v1alpha1.DriftCheck{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "minutely"}, Spec: spec}
	d.Spec.StartingDeadlineSeconds = ptr.To[int64](24 * 3600)
	if err := k8s.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	last := now.Add(5 * time.Hour).Truncate(time.Minute)
	eventually(t, "one Job for the latest minute", func() error {
		var names []string
		for _, j := range listJobs(t, ns) {
			names = append(names, j.Name)
		}
		if want := jobs.Name("minutely", strconv.FormatInt(last.Unix(), 10)); len(names) != 1 || names[0] != want {
			return fmt.Errorf("Jobs %v, want %s", names, want)
		}
		return nil
	})
}

func TestSmallHelpers(t *testing.T) {
	if got := controllerOptions(0).MaxConcurrentReconciles; got != 1 {
		t.Errorf("concurrency 0 → %d", got)
	}
	if d := time.Since(nowFrom(nil)); d < 0 || d > time.Minute || nowFrom(nil).Location() != time.UTC {
		t.Errorf("nowFrom(nil) = %v", nowFrom(nil))
	}
	// An API error while resolving a reference is neither stalling nor
	// waiting: it is returned, to be retried with backoff.
	var st *stallingError
	var w *waitingError
	if err := referenceOutcome(errors.New("boom")); err == nil || errors.As(err, &st) || errors.As(err, &w) {
		t.Errorf("referenceOutcome(API error) = %v", err)
	}
	if _, err := parseSchedule("not a schedule", ""); err == nil || !strings.Contains(err.Error(), `schedule "not a schedule"`) {
		t.Errorf("parseSchedule: %v", err)
	}
	if got := (&secretNotFoundError{name: "s", namespace: "n"}).Error(); got != "Secret s does not exist in namespace n" {
		t.Errorf("secretNotFoundError: %q", got)
	}
	if got := jobOwnerKey(&corev1.Pod{}); got != nil {
		t.Errorf("jobOwnerKey without owner: %v", got)
	}
	if got := secretNames(nil, &v1alpha1.SecretRef{Name: "a"}, &v1alpha1.SecretRef{Name: "a"}, &v1alpha1.SecretRef{Name: "b"}); strings.Join(got, ",") != "a,b" {
		t.Errorf("secretNames: %v", got)
	}
	bad := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{v1alpha1.AnnotationScheduledTime: "yesterday"}}}
	if _, ok := scheduledTime(bad); ok {
		t.Error("scheduledTime of an unparsable annotation")
	}
}
