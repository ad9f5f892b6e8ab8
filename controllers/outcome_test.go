package controllers

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/jobs"
	"github.com/mldata-io/mldata/internal/worker"
)

func TestNextRun(t *testing.T) {
	created := time.Date(2026, 12, 1, 9, 40, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return time.Date(2026, 12, 1, h, m, 0, 0, time.UTC) }
	mt := func(t time.Time) *metav1.Time { return &metav1.Time{Time: t} }
	job := func(runID string, sched time.Time) batchv1.Job {
		return batchv1.Job{ObjectMeta: metav1.ObjectMeta{
			Labels:      map[string]string{v1alpha1.LabelRunID: runID},
			Annotations: map[string]string{v1alpha1.AnnotationScheduledTime: sched.Format(time.RFC3339)}}}
	}
	hourly := scheduleSpec{Schedule: "0 * * * *", Created: created}
	withDeadline := hourly
	withDeadline.StartingDeadlineSeconds = ptr.To[int64](600)
	tests := []struct {
		name string
		spec scheduleSpec
		last *metav1.Time
		jobs []batchv1.Job
		now  time.Time
		want schedulePlan
	}{
		{"before the first time", hourly, nil, nil, at(9, 50),
			schedulePlan{Next: at(10, 0)}},
		{"first time due", hourly, nil, nil, at(10, 0),
			schedulePlan{Due: at(10, 0), Next: at(11, 0)}},
		{"handled", hourly, mt(at(10, 0)), nil, at(10, 30),
			schedulePlan{Next: at(11, 0), LastScheduleTime: mt(at(10, 0))}},
		{"several missed: only the latest runs", hourly, mt(at(10, 0)), nil, at(13, 20),
			schedulePlan{Due: at(13, 0), Next: at(14, 0), LastScheduleTime: mt(at(10, 0))}},
		{"status lost: rebuilt from the Jobs, requested runs ignored", hourly, nil,
			[]batchv1.Job{job("1764583200", at(10, 0)), job("run-abc", at(10, 40))}, at(10, 45),
			schedulePlan{Next: at(11, 0), LastScheduleTime: mt(at(10, 0))}},
		{"Job of the due time exists", hourly, mt(at(10, 0)), []batchv1.Job{job("1764586800", at(11, 0))}, at(11, 0),
			schedulePlan{Due: at(11, 0), Exists: true, Next: at(12, 0), LastScheduleTime: mt(at(10, 0))}},
		{"within the starting deadline", withDeadline, mt(at(10, 0)), nil, at(11, 9),
			schedulePlan{Due: at(11, 0), Next: at(12, 0), LastScheduleTime: mt(at(10, 0))}},
		{"past the starting deadline: nothing due", withDeadline, mt(at(10, 0)), nil, at(11, 11),
			schedulePlan{Next: at(12, 0), LastScheduleTime: mt(at(10, 0))}},
		{"time zone", scheduleSpec{Schedule: "0 12 * * *", TimeZone: "Europe/Berlin", Created: created}, nil, nil, at(11, 0),
			schedulePlan{Due: at(11, 0), Next: time.Date(2026, 12, 2, 11, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nextRun(tt.spec, tt.last, tt.jobs, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			// Schedules with a time zone answer in it; compare in UTC.
			if !got.Due.IsZero() {
				got.Due = got.Due.UTC()
			}
			got.Next = got.Next.UTC()
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	if _, err := nextRun(scheduleSpec{Schedule: "0 * * * *", TimeZone: "Mars/Olympus"}, nil, nil, created); err == nil || !strings.Contains(err.Error(), "Mars/Olympus") {
		t.Errorf("unknown time zone: %v", err)
	}
}

func TestAttemptGate(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	next := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(d)} }
	ready := &metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonJobFailed, Message: "503 SlowDown"}
	tests := []struct {
		name       string
		retry      *v1alpha1.RetryStatus
		key        string
		wantFailed int32
		wantDone   bool
		wantErr    string // "stalling:<reason>", "waiting:<reason>" or ""
	}{
		{"never ran", nil, "k1", 0, false, ""},
		{"new inputs start again", &v1alpha1.RetryStatus{Inputs: "k0", FailedAttempts: 4}, "k1", 0, false, ""},
		{"succeeded", &v1alpha1.RetryStatus{Inputs: "k1"}, "k1", 0, true, ""},
		{"retry not due", &v1alpha1.RetryStatus{Inputs: "k1", FailedAttempts: 1, NextAttemptTime: next(time.Minute)}, "k1", 0, false, "waiting:" + v1alpha1.ReasonRetryScheduled},
		{"retry due", &v1alpha1.RetryStatus{Inputs: "k1", FailedAttempts: 2, NextAttemptTime: next(-time.Second)}, "k1", 2, false, ""},
		{"permanent failure", &v1alpha1.RetryStatus{Inputs: "k1", FailedAttempts: 1}, "k1", 0, false, "stalling:" + v1alpha1.ReasonJobFailed},
		{"attempts exhausted", &v1alpha1.RetryStatus{Inputs: "k1", FailedAttempts: 3, NextAttemptTime: next(-time.Second)}, "k1", 0, false, "stalling:" + v1alpha1.ReasonRetriesExhausted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failed, done, err := attemptGate(tt.retry, tt.key, 3, ready, now)
			var st *stallingError
			var w *waitingError
			got := ""
			switch {
			case errors.As(err, &st):
				got = "stalling:" + st.reason
			case errors.As(err, &w):
				got = "waiting:" + w.reason
				if w.after != time.Minute {
					t.Errorf("requeue after %v", w.after)
				}
			case err != nil:
				t.Fatal(err)
			}
			if failed != tt.wantFailed || done != tt.wantDone || got != tt.wantErr {
				t.Errorf("got %d %v %q, want %d %v %q", failed, done, got, tt.wantFailed, tt.wantDone, tt.wantErr)
			}
		})
	}
	// Backoff doubles from the base and stops at an hour.
	for failed, want := range map[int32]time.Duration{1: 30 * time.Second, 2: time.Minute, 4: 4 * time.Minute, 20: time.Hour} {
		if got := retryDelay(0, failed); got != want {
			t.Errorf("retryDelay(%d) = %v, want %v", failed, got, want)
		}
	}
	// recordAttempt: a transient failure schedules the next attempt, a
	// permanent one and the last attempt do not, a success clears.
	end := now
	var r *v1alpha1.RetryStatus
	recordAttempt(&r, "k1", &worker.Summary{Reason: v1alpha1.ReasonJobFailed}, 3, time.Second, end)
	if r.FailedAttempts != 1 || r.NextAttemptTime == nil || !r.NextAttemptTime.Time.Equal(end.Add(time.Second)) {
		t.Errorf("after a transient failure: %+v", r)
	}
	recordAttempt(&r, "k1", &worker.Summary{Reason: v1alpha1.ReasonInvalidInput, Permanent: true}, 3, time.Second, end)
	if r.FailedAttempts != 2 || r.NextAttemptTime != nil {
		t.Errorf("after a permanent failure: %+v", r)
	}
	recordAttempt(&r, "k1", &worker.Summary{OK: true}, 3, time.Second, end)
	if r.FailedAttempts != 0 || r.NextAttemptTime != nil || r.Inputs != "k1" {
		t.Errorf("after a success: %+v", r)
	}
}

// A Job of the run's name is adopted only when this resource controls it.
func TestStartJobAdoptsOnlyItsOwn(t *testing.T) {
	owner := &v1alpha1.DatasetBuild{ObjectMeta: metav1.ObjectMeta{Name: "sales.v1", Namespace: "ml", UID: "uid-1"}}
	other := &v1alpha1.DatasetBuild{ObjectMeta: metav1.ObjectMeta{Name: "sales-v1", Namespace: "ml", UID: "uid-2"}}
	gvk := v1alpha1.GroupVersion.WithKind("DatasetBuild")
	job := func(o *v1alpha1.DatasetBuild) *batchv1.Job {
		return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "taken", Namespace: "ml",
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(o, gvk)}}}
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(owner, other).Build()
	for _, o := range []*v1alpha1.DatasetBuild{owner, other} {
		if err := c.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			t.Fatal(err)
		}
	}
	if created, err := startJob(ctx, c, c, owner, job(owner)); !created || err != nil {
		t.Fatalf("first create: %v %v", created, err)
	}
	if created, err := startJob(ctx, c, c, owner, job(owner)); created || err != nil {
		t.Errorf("own Job not adopted: %v %v", created, err)
	}
	_, err := startJob(ctx, c, c, other, job(other))
	var st *stallingError
	if !errors.As(err, &st) || st.reason != v1alpha1.ReasonJobNameTaken || !strings.Contains(err.Error(), "Job taken exists and is not controlled by this resource") {
		t.Errorf("another owner's Job: %v", err)
	}
}

// The manager caches the Jobs and pods of its own runs only.
func TestCacheSelectsOwnJobsOnly(t *testing.T) {
	sel := OwnJobsSelector()
	for _, kind := range []string{worker.KindDatasetBuild, worker.KindDatasetProfile, worker.KindDriftCheck} {
		owner := &v1alpha1.DatasetBuild{ObjectMeta: metav1.ObjectMeta{Name: "sales", Namespace: "ml", UID: "u"}}
		job, err := jobs.Build(testSettings, jobs.Run{Owner: owner, GVK: v1alpha1.GroupVersion.WithKind(kind), ID: "r1", Task: &worker.Task{Kind: kind}})
		if err != nil {
			t.Fatal(err)
		}
		if !sel.Matches(labels.Set(job.Labels)) || !sel.Matches(labels.Set(job.Spec.Template.Labels)) {
			t.Errorf("%s: the cache would not see the operator's own Job or its pods (labels %v)", kind, job.Labels)
		}
	}
	for _, l := range []map[string]string{nil, {"app": "web"}, {v1alpha1.LabelKind: "Deployment"}} {
		if sel.Matches(labels.Set(l)) {
			t.Errorf("the cache would hold an unrelated object labelled %v", l)
		}
	}
	if by := CacheByObject(); len(by) != 2 {
		t.Errorf("CacheByObject: %d entries", len(by))
	}
}

// A DatasetBuild re-lists its sources at each interval boundary or
// scheduled time.
func TestBuildCadence(t *testing.T) {
	day := func(d, h, m, s int) time.Time { return time.Date(2026, 12, d, h, m, s, 0, time.UTC) }
	build := func(iv *int32, sched v1alpha1.CronSchedule, tz v1alpha1.TimeZone) *v1alpha1.DatasetBuild {
		return &v1alpha1.DatasetBuild{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(day(1, 0, 0, 0))},
			Spec: v1alpha1.DatasetBuildSpec{IntervalSeconds: iv, Schedule: sched, TimeZone: tz}}
	}
	for _, tc := range []struct {
		name       string
		b          *v1alpha1.DatasetBuild
		now        time.Time
		wantPeriod int64
		wantAfter  time.Duration
	}{
		{"neither", build(nil, "", ""), day(1, 12, 0, 0), 0, 0},
		{"interval", build(ptr.To[int32](600), "", ""), day(1, 12, 3, 20), day(1, 12, 0, 0).Unix() / 600, 6*time.Minute + 40*time.Second},
		{"schedule, before the first time", build(nil, "0 3 * * *", ""), day(1, 2, 0, 0), 0, time.Hour},
		{"schedule", build(nil, "0 3 * * *", ""), day(2, 4, 0, 0), day(2, 3, 0, 0).Unix(), 23 * time.Hour},
		{"schedule in a time zone", build(nil, "0 4 * * *", "Europe/Berlin"), day(2, 4, 0, 0), day(2, 3, 0, 0).Unix(), 23 * time.Hour},
	} {
		period, after, err := cadence(tc.b, tc.now)
		if err != nil || period != tc.wantPeriod || after != tc.wantAfter {
			t.Errorf("%s: period %d after %v (%v), want %d %v", tc.name, period, after, err, tc.wantPeriod, tc.wantAfter)
		}
	}
	if _, _, err := cadence(build(nil, "0 3 * * *", "Mars/Olympus"), day(1, 0, 0, 0)); err == nil {
		t.Error("unknown time zone accepted")
	}
}

// TestListingFailed: failed listings of the sources use the retry budget
// of spec.retry with the backoff of failed runs, and end Stalled with the
// last error; early wakes do not count, a new generation starts again.
func TestListingFailed(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	type step struct {
		at    time.Duration // since t0
		fresh bool
		err   string
		// want: "waiting <after>" or "stalled"; failed is the count after
		// the step.
		want   string
		failed int32
	}
	tests := []struct {
		name  string
		max   int32
		start *v1alpha1.RetryStatus
		steps []step
	}{
		{"backoff doubles, then stalls at maxAttempts", 3, nil, []step{
			{0, false, "503 SlowDown", "waiting 30s", 1},
			{30 * time.Second, false, "503 SlowDown", "waiting 1m0s", 2},
			{90 * time.Second, false, "connection reset by peer", "stalled", 3},
			// Woken again later (a Secret event, the next interval): the
			// listing is tried, fails, and the count stays at the bound.
			{time.Hour, false, "connection reset by peer", "stalled", 3},
		}},
		{"a wake before the next listing is not counted", 3, nil, []step{
			{0, false, "503", "waiting 30s", 1},
			{10 * time.Second, false, "503", "waiting 20s", 1},
			{29 * time.Second, false, "503", "waiting 1s", 1},
			{30 * time.Second, false, "503", "waiting 1m0s", 2},
		}},
		{"a new generation starts again", 2, nil, []step{
			{0, false, "503", "waiting 30s", 1},
			{30 * time.Second, false, "503", "stalled", 2},
			{40 * time.Second, true, "503", "waiting 30s", 1},
		}},
		{"one attempt: the first failure stalls", 1, nil, []step{
			{0, false, "403 AccessDenied", "stalled", 1},
		}},
		{"the runs' record is kept", 3, &v1alpha1.RetryStatus{Inputs: "k1"}, []step{
			{0, false, "503", "waiting 30s", 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			retry := tt.start.DeepCopy()
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				err := listingFailed(&retry, s.fresh, errors.New(s.err), tt.max, 0, now)
				var st *stallingError
				var w *waitingError
				got := ""
				switch {
				case errors.As(err, &st):
					got = "stalled"
					if st.reason != v1alpha1.ReasonRetriesExhausted || !strings.Contains(st.Error(), s.err) ||
						!strings.Contains(st.Error(), fmt.Sprintf("%d of %d listings", retry.FailedListings, tt.max)) {
						t.Errorf("step %d: stalled %s: %q", i, st.reason, st.Error())
					}
					if retry.NextListingTime != nil {
						t.Errorf("step %d: stalled with a next listing at %v", i, retry.NextListingTime)
					}
				case errors.As(err, &w):
					got = "waiting " + w.after.String()
					if w.reason != ReasonSourceUnavailable || !strings.Contains(w.Error(), s.err) || !retry.NextListingTime.Time.Equal(now.Add(w.after)) {
						t.Errorf("step %d: waiting %s %q, next %v", i, w.reason, w.Error(), retry.NextListingTime)
					}
				default:
					t.Fatalf("step %d: outcome %v", i, err)
				}
				if got != s.want || retry.FailedListings != s.failed {
					t.Fatalf("step %d: %s with %d failed, want %s with %d", i, got, retry.FailedListings, s.want, s.failed)
				}
			}
			if tt.start != nil && retry.Inputs != tt.start.Inputs {
				t.Errorf("inputs %q, want %q kept", retry.Inputs, tt.start.Inputs)
			}
			listingSucceeded(retry)
			if retry.FailedListings != 0 || retry.NextListingTime != nil {
				t.Errorf("after a listing that succeeded: %+v", retry)
			}
		})
	}
}

// TestSummarizeReadyFollowsTheGeneration: every path that keeps Ready's
// value (idle, e.g. suspended; waiting; success without a new result)
// still answers for the new generation, as kubectl wait and Argo CD
// require of a condition.
func TestSummarizeReadyFollowsTheGeneration(t *testing.T) {
	for name, err := range map[string]error{
		"idle":    &idleError{reason: v1alpha1.ReasonSuspended, msg: "suspended"},
		"waiting": &waitingError{reason: v1alpha1.ReasonRetryScheduled, err: errors.New("retry"), after: time.Minute},
		"success": nil,
	} {
		conds := []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonUpToDate, ObservedGeneration: 1}}
		var observed int64
		if _, rerr := summarize(&conds, &observed, 2, ctrl.Result{}, err); rerr != nil {
			t.Fatalf("%s: %v", name, rerr)
		}
		for _, c := range conds {
			if c.ObservedGeneration != 2 {
				t.Errorf("%s: condition %s has observedGeneration %d, want 2", name, c.Type, c.ObservedGeneration)
			}
		}
		if c := conds[0]; c.Type != v1alpha1.ConditionReady || c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonUpToDate {
			t.Errorf("%s: Ready changed to %+v", name, c)
		}
	}
}
