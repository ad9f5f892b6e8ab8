package controllers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/jobs"
)

func getDrift(t *testing.T, d *v1alpha1.DriftCheck) *v1alpha1.DriftCheck {
	t.Helper()
	var got v1alpha1.DriftCheck
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(d), &got); err != nil {
		t.Fatal(err)
	}
	return &got
}

func jobNames(js []batchv1.Job) []string {
	var out []string
	for _, j := range js {
		out = append(out, j.Name)
	}
	return out
}

// drainEvents returns the events recorded so far.
func drainEvents(tm *testManager) []string {
	var out []string
	for {
		select {
		case e := <-tm.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// halfHourlyCheck is DriftCheck "dc" of the sample's plan column against
// the drifted copy (in curDir), every half hour in UTC.
func halfHourlyCheck(t *testing.T, ns string) (d *v1alpha1.DriftCheck, curDir string) {
	base, _ := copySample(t, "sample")
	cur, curDir := copySample(t, "sample-drifted")
	return &v1alpha1.DriftCheck{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dc"},
		Spec: v1alpha1.DriftCheckSpec{
			Baseline: v1alpha1.DriftInput{URI: v1alpha1.BucketURI(base)},
			Current:  v1alpha1.DriftInput{URI: v1alpha1.BucketURI(cur)},
			Columns:  &v1alpha1.ColumnSelector{Include: []string{"plan"}},
			Output:   v1alpha1.ReportOutputSpec{URI: v1alpha1.BucketURI("file://" + t.TempDir())},
			Schedule: "*/30 * * * *", TimeZone: "UTC",
		},
	}, curDir
}

func TestDriftCheckSchedule(t *testing.T) {
	needEnv(t)
	// The first scheduled time after the resource's creation is the next
	// half hour; the fake clock starts just after it.
	b1 := time.Now().UTC().Truncate(30 * time.Minute).Add(30 * time.Minute)
	tm := startManager(t, b1.Add(time.Second))
	ns := newNamespace(t)
	d, curDir := halfHourlyCheck(t, ns)
	d.Spec.ConcurrencyPolicy = v1alpha1.ConcurrencyForbid
	d.Spec.HistoryLimits = v1alpha1.HistoryLimits{SuccessfulRunsHistoryLimit: ptr.To[int32](1), FailedRunsHistoryLimit: ptr.To[int32](1)}
	if err := k8s.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	name := func(at time.Time) string { return jobs.Name("dc", strconv.FormatInt(at.Unix(), 10)) }
	poke := func(v string) { touch(t, d, "example.com/poke", v) }

	// The due run: one Job named after its scheduled time.
	js := waitJobs(t, ns, 1)
	if js[0].Name != name(b1) || js[0].Annotations[v1alpha1.AnnotationScheduledTime] != b1.Format(time.RFC3339) {
		t.Fatalf("Job %s %v, want %s", js[0].Name, js[0].Annotations, name(b1))
	}
	finishJob(t, &js[0], true, runWorker(t, &js[0]), b1, b1.Add(time.Second))
	eventually(t, "drift recorded", func() error {
		st := getDrift(t, d).Status
		if c := condition(st.Conditions, v1alpha1.ConditionDriftDetected); c != "True/DriftFound" {
			return fmt.Errorf("DriftDetected %s", c)
		}
		return nil
	})
	st := getDrift(t, d).Status
	if st.LastRun == nil || st.LastRun.JobName != name(b1) || st.LastRun.ColumnsChecked != 1 || len(st.LastRun.DriftedColumns) != 1 ||
		st.LastRun.DriftedColumns[0].Name != "plan" || !st.LastRun.ScheduledTime.Time.Equal(b1) || st.LastScheduleTime == nil || !st.LastScheduleTime.Time.Equal(b1) {
		t.Errorf("status %s", mustJSON(st))
	}

	// Half an hour later, with the same inputs: skipped, and said so.
	b2 := b1.Add(30 * time.Minute)
	tm.clock.SetTime(b2.Add(time.Second))
	drainEvents(tm)
	poke("1")
	eventually(t, "skip recorded", func() error {
		st := getDrift(t, d).Status
		if st.LastScheduleTime == nil || !st.LastScheduleTime.Time.Equal(b2) {
			return fmt.Errorf("lastScheduleTime %v", st.LastScheduleTime)
		}
		return nil
	})
	// A skipped run counts as handled for MLDataDriftCheckMissedSchedule.
	eventually(t, "schedule gauges", func() error {
		got := statusSeriesOf(t, ns)
		for _, w := range []string{
			"mldata_driftcheck_last_schedule_timestamp_seconds{name=dc} " + fmt.Sprint(float64(b2.Unix())),
			"mldata_schedule_interval_seconds{kind=DriftCheck,name=dc} 1800",
		} {
			if !slices.Contains(got, w) {
				return fmt.Errorf("no %s in %v", w, got)
			}
		}
		return nil
	})
	if n := len(listJobs(t, ns)); n != 1 {
		t.Errorf("%d Jobs after an unchanged run", n)
	}
	if c := condition(getDrift(t, d).Status.Conditions, v1alpha1.ConditionReady); c != "True/UpToDate" {
		t.Errorf("Ready %s", c)
	}
	eventually(t, "skip event", func() error {
		for _, e := range drainEvents(tm) {
			if strings.Contains(e, "Skipped") && strings.Contains(e, "inputs unchanged") {
				return nil
			}
		}
		return errors.New("no Skipped event")
	})

	// New current data: the next run runs; while it runs, Forbid skips
	// the one after.
	data, _ := os.ReadFile(filepath.Join("..", "testdata", "sample", "customers-2024a.csv"))
	if err := os.WriteFile(filepath.Join(curDir, "more.csv"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	b3 := b2.Add(30 * time.Minute)
	tm.clock.SetTime(b3.Add(time.Second))
	poke("2")
	js = waitJobs(t, ns, 2)
	if !containsString(jobNames(js), name(b3)) {
		t.Fatalf("Jobs %v, want %s", jobNames(js), name(b3))
	}
	b4 := b3.Add(30 * time.Minute)
	tm.clock.SetTime(b4.Add(time.Second))
	poke("3")
	eventually(t, "Forbid skip", func() error {
		if st := getDrift(t, d).Status; st.LastScheduleTime == nil || !st.LastScheduleTime.Time.Equal(b4) {
			return fmt.Errorf("lastScheduleTime %v", st.LastScheduleTime)
		}
		return nil
	})
	if got := jobNames(listJobs(t, ns)); len(got) != 2 {
		t.Errorf("Forbid: Jobs %v", got)
	}
	if st := getDrift(t, d).Status; len(st.ActiveJobs) != 1 || st.ActiveJobs[0] != name(b3) {
		t.Errorf("activeJobs %v", st.ActiveJobs)
	}

	// Replace: the running Job gives way to the new run.
	update(t, getDrift(t, d), func(cur *v1alpha1.DriftCheck) { cur.Spec.ConcurrencyPolicy = v1alpha1.ConcurrencyReplace })
	b5 := b4.Add(30 * time.Minute)
	tm.clock.SetTime(b5.Add(time.Second))
	poke("4")
	eventually(t, "Replace", func() error {
		got := jobNames(listJobs(t, ns))
		if len(got) != 2 || !containsString(got, name(b5)) || containsString(got, name(b3)) {
			return fmt.Errorf("Jobs %v", got)
		}
		return nil
	})

	// The replacement succeeds; with successfulRunsHistoryLimit 1 the
	// first run's Job is deleted.
	j5 := jobNamed(t, ns, name(b5))
	finishJob(t, j5, true, runWorker(t, j5), b5, b5.Add(time.Second))
	eventually(t, "history limit", func() error {
		got := jobNames(listJobs(t, ns))
		if len(got) != 1 || got[0] != name(b5) {
			return fmt.Errorf("Jobs %v", got)
		}
		// The old Job goes in the reconcile that records the new run,
		// before its status write.
		if lr := getDrift(t, d).Status.LastRun; lr == nil || lr.JobName != name(b5) {
			return fmt.Errorf("lastRun %s", mustJSON(lr))
		}
		return nil
	})
	st = getDrift(t, d).Status
	if st.LastRun == nil || st.LastRun.JobName != name(b5) || len(st.RecentRuns) != 2 || st.RecentRuns[0].JobName != name(b5) {
		t.Errorf("runs after the replacement: %s", mustJSON(st))
	}

	// Suspended: a due run starts nothing.
	update(t, getDrift(t, d), func(cur *v1alpha1.DriftCheck) { cur.Spec.Suspend = true })
	tm.clock.SetTime(b5.Add(30*time.Minute + time.Second))
	consistently(t, "suspended", func() error {
		if n := len(listJobs(t, ns)); n != 1 {
			return fmt.Errorf("%d Jobs", n)
		}
		return nil
	})
}

func TestDriftCheckOneShotAndReferences(t *testing.T) {
	needEnv(t)
	tm := startManager(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	_ = tm
	ns := newNamespace(t)
	base, _ := copySample(t, "sample")
	d := &v1alpha1.DriftCheck{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "once"},
		Spec: v1alpha1.DriftCheckSpec{
			Baseline: v1alpha1.DriftInput{URI: v1alpha1.BucketURI(base)},
			Current:  v1alpha1.DriftInput{URI: v1alpha1.BucketURI(base)},
			Columns:  &v1alpha1.ColumnSelector{Include: []string{"plan", "monthly_fee"}},
			Output:   v1alpha1.ReportOutputSpec{URI: v1alpha1.BucketURI("file://" + t.TempDir())},
		},
	}
	if err := k8s.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	j := waitJobs(t, ns, 1)[0]
	finishJob(t, &j, true, runWorker(t, &j), time.Now(), time.Now())
	eventually(t, "no drift", func() error {
		st := getDrift(t, d).Status
		// The same data on both sides: DriftDetected=False, which is
		// what `kubectl wait --for=condition=DriftDetected=false` waits for.
		if c := condition(st.Conditions, v1alpha1.ConditionDriftDetected); c != "False/NoDrift" {
			return fmt.Errorf("DriftDetected %s", c)
		}
		if st.LastRun == nil || st.LastRun.MaxPSI == nil || *st.LastRun.MaxPSI != 0 || st.LastRun.ColumnsChecked != 2 {
			return fmt.Errorf("lastRun %s", mustJSON(st.LastRun))
		}
		return nil
	})
	touch(t, d, "example.com/poke", "1")
	consistently(t, "one-shot runs once", func() error {
		if n := len(listJobs(t, ns)); n != 1 {
			return fmt.Errorf("%d Jobs", n)
		}
		return nil
	})

	// A reference to a missing DatasetBuild stalls; to one without a
	// build, waits.
	r := &v1alpha1.DriftCheck{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "refs"},
		Spec: v1alpha1.DriftCheckSpec{
			Baseline: v1alpha1.DriftInput{DatasetBuildRef: &v1alpha1.DatasetBuildRef{Name: "later", Split: "train"}},
			Current:  v1alpha1.DriftInput{URI: v1alpha1.BucketURI(base)},
			Output:   v1alpha1.ReportOutputSpec{URI: "file:///tmp/x"},
		},
	}
	if err := k8s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ReferenceNotFound", func() error {
		if c := condition(getDrift(t, r).Status.Conditions, v1alpha1.ConditionStalled); c != "True/ReferenceNotFound" {
			return fmt.Errorf("Stalled %s", c)
		}
		return nil
	})
	b := newBuild(ns, "later", "file:///nowhere", "file:///nowhere-out")
	b.Spec.Suspend = true
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ReferenceNotReady", func() error {
		// Ready keeps the last outcome (not found) while the controller
		// waits for the build's first result.
		if c := condition(getDrift(t, r).Status.Conditions, v1alpha1.ConditionReconciling); c != "True/ReferenceNotReady" {
			return fmt.Errorf("Reconciling %s", c)
		}
		return nil
	})
	// The build publishes: the check runs against its output.
	got := getBuild(t, b)
	got.Status.BuildID = "20261127T120000000Z-abc"
	if err := k8s.Status().Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Job after the build published", func() error {
		for _, j := range listJobs(t, ns) {
			if strings.HasPrefix(j.Name, "refs-") {
				if task := taskOf(t, &j); task.Baseline.URI != "file:///nowhere-out" || task.Baseline.Split != "train" {
					return fmt.Errorf("baseline %+v", task.Baseline)
				}
				return nil
			}
		}
		return errors.New("no Job")
	})
}

// createSampleProfile creates DatasetProfile "prof" of testdata/sample with
// reports in a temporary folder.
func createSampleProfile(t *testing.T, ns string) *v1alpha1.DatasetProfile {
	t.Helper()
	src, _ := copySample(t, "sample")
	p := &v1alpha1.DatasetProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "prof"},
		Spec: v1alpha1.DatasetProfileSpec{
			Source: v1alpha1.ProfileSource{URI: v1alpha1.BucketURI(src)},
			Output: v1alpha1.ReportOutputSpec{URI: v1alpha1.BucketURI("file://" + t.TempDir())},
		},
	}
	if err := k8s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDatasetProfile(t *testing.T) {
	needEnv(t)
	startManager(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	ns := newNamespace(t)
	p := createSampleProfile(t, ns)
	j := waitJobs(t, ns, 1)[0]
	if j.Spec.Template.Spec.Containers[0].Args[1] != "datasetprofile" {
		t.Errorf("args %v", j.Spec.Template.Spec.Containers[0].Args)
	}
	finishJob(t, &j, true, runWorker(t, &j), time.Now(), time.Now())
	eventually(t, "profile recorded", func() error {
		var got v1alpha1.DatasetProfile
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(p), &got); err != nil {
			return err
		}
		st := got.Status
		if condition(st.Conditions, v1alpha1.ConditionReady) != "True/Succeeded" || st.Rows != 1000 || st.Columns != 10 ||
			!strings.HasSuffix(st.ReportURI, "/profile.json") || st.HTMLReportURI == "" {
			return fmt.Errorf("status %s", mustJSON(st))
		}
		return nil
	})
	// A failed profile Job without a termination message surfaces the
	// Job's own reason.
	update(t, p, func(cur *v1alpha1.DatasetProfile) {
		cur.Spec.Options = &v1alpha1.ProfileOptions{TopK: ptr.To[int32](5)}
	})
	js := waitJobs(t, ns, 2)
	j2 := js[0]
	if j2.Name == j.Name {
		j2 = js[1]
	}
	finishJob(t, &j2, false, "", time.Now(), time.Now())
	eventually(t, "failure recorded", func() error {
		var got v1alpha1.DatasetProfile
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(p), &got); err != nil {
			return err
		}
		c := condition(got.Status.Conditions, v1alpha1.ConditionReady)
		msg := ""
		for _, x := range got.Status.Conditions {
			if x.Type == v1alpha1.ConditionReady {
				msg = x.Message
			}
		}
		if c != "False/JobFailed" || !strings.Contains(msg, "BackoffLimitExceeded") {
			return fmt.Errorf("Ready %s %q", c, msg)
		}
		return nil
	})
}

// A new mldata.io/requested-at runs a scheduled check at once, once, and
// leaves the schedule alone.
func TestDriftCheckRunNow(t *testing.T) {
	needEnv(t)
	// The first scheduled run is half an hour away.
	start := time.Now().UTC().Truncate(30 * time.Minute).Add(time.Minute)
	startManager(t, start)
	ns := newNamespace(t)
	d, _ := halfHourlyCheck(t, ns)
	if err := k8s.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "waiting for the first run", func() error {
		if c := condition(getDrift(t, d).Status.Conditions, v1alpha1.ConditionReconciling); c != "False/Scheduled" {
			return fmt.Errorf("Reconciling %s", c)
		}
		return nil
	})
	if n := len(listJobs(t, ns)); n != 0 {
		t.Fatalf("%d Jobs before the first scheduled time", n)
	}

	touch(t, d, v1alpha1.AnnotationRequestedAt, "2026-11-27T05:00:00Z")
	js := waitJobs(t, ns, 1)
	want := jobs.Name("dc", "run-"+jobs.ShortID("2026-11-27T05:00:00Z"))
	if js[0].Name != want {
		t.Fatalf("Job %s, want %s", js[0].Name, want)
	}
	finishJob(t, &js[0], true, runWorker(t, &js[0]), start, start.Add(time.Second))
	eventually(t, "run recorded", func() error {
		st := getDrift(t, d).Status
		if st.LastRun == nil || st.LastRun.JobName != want || st.LastHandledRequest != "2026-11-27T05:00:00Z" {
			return fmt.Errorf("status %s", mustJSON(st))
		}
		if c := condition(st.Conditions, v1alpha1.ConditionDriftDetected); c != "True/DriftFound" {
			return fmt.Errorf("DriftDetected %s", c)
		}
		return nil
	})
	if st := getDrift(t, d).Status; st.LastScheduleTime != nil {
		t.Errorf("a requested run moved lastScheduleTime to %v", st.LastScheduleTime)
	}
	// The same request again does nothing.
	touch(t, d, "example.com/poke", "1")
	consistently(t, "no second Job for one request", func() error {
		if n := len(listJobs(t, ns)); n != 1 {
			return fmt.Errorf("%d Jobs", n)
		}
		return nil
	})
}
