package controllers

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/metrics"
	"github.com/mldata-io/mldata/internal/worker"
)

// seriesOf returns the series of the operator's metrics whose namespace
// label is ns, as "name{label=value,...} value" lines, sorted as the
// registry gathers them; the gauges set from status conditions and
// schedules are left to statusSeriesOf.
func seriesOf(t *testing.T, ns string) []string {
	t.Helper()
	return gatherSeries(t, ns, func(name string) bool { return !statusFamilies[name] })
}

// statusFamilies are the gauges set from status for alerting.
var statusFamilies = map[string]bool{
	"mldata_condition": true,
	"mldata_condition_last_transition_timestamp_seconds": true,
	"mldata_schedule_interval_seconds":                   true,
	"mldata_driftcheck_last_schedule_timestamp_seconds":  true,
}

// statusSeriesOf is seriesOf for the gauges set from status.
func statusSeriesOf(t *testing.T, ns string) []string {
	t.Helper()
	return gatherSeries(t, ns, func(name string) bool { return statusFamilies[name] })
}

func gatherSeries(t *testing.T, ns string, family func(string) bool) []string {
	t.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "mldata_") || !family(f.GetName()) {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			mine := false
			for _, l := range m.GetLabel() {
				if l.GetName() == metrics.LabelNamespace {
					mine = l.GetValue() == ns
					continue
				}
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			if mine {
				out = append(out, fmt.Sprintf("%s{%s} %s", f.GetName(), strings.Join(labels, ","), value(m)))
			}
		}
	}
	return out
}

func value(m *dto.Metric) string {
	switch {
	case m.Counter != nil:
		return fmt.Sprint(m.Counter.GetValue())
	case m.Gauge != nil:
		return fmt.Sprint(m.Gauge.GetValue())
	case m.Histogram != nil:
		return fmt.Sprintf("count=%d sum=%g", m.Histogram.GetSampleCount(), m.Histogram.GetSampleSum())
	}
	return "?"
}

func TestBuildMetrics(t *testing.T) {
	needEnv(t)
	addr := freeAddr(t)
	startManagerWith(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), addr)
	ns := newNamespace(t)
	src, _ := copySample(t, "sample")
	b := newBuild(ns, "churn", src, "file://"+t.TempDir())
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	j := &waitJobs(t, ns, 1)[0]
	start := time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC)
	finishJob(t, j, true, runWorker(t, j), start, start.Add(3*time.Second))
	var st v1alpha1.DatasetBuildStatus
	eventually(t, "build recorded", func() error {
		st = getBuild(t, b).Status
		if condition(st.Conditions, v1alpha1.ConditionReady) != "True/Succeeded" {
			return errors.New("not Ready")
		}
		return nil
	})
	if len(st.Rows) != 2 || st.TotalRows != 1000 {
		t.Fatalf("rows %v", st.Rows)
	}
	rows := map[string]int64{}
	for _, r := range st.Rows {
		rows[string(r.Name)] = r.Rows
	}
	if rows["train"]+rows["test"] != 1000 || rows["train"] < 700 || rows["train"] > 900 {
		t.Fatalf("split rows %v", rows)
	}
	want := []string{
		"mldata_datasetbuild_builds_total{name=churn,result=succeeded} 1",
		"mldata_datasetbuild_duration_seconds{name=churn,result=succeeded} count=1 sum=3",
		"mldata_datasetbuild_files_processed_total{name=churn} 2",
		"mldata_datasetbuild_files_reused_total{name=churn} 0",
		fmt.Sprintf("mldata_datasetbuild_rows{name=churn,split=test} %d", rows["test"]),
		fmt.Sprintf("mldata_datasetbuild_rows{name=churn,split=train} %d", rows["train"]),
	}
	eventually(t, "build series", func() error { return sameSeries(want, seriesOf(t, ns)) })
	eventually(t, "condition series", func() error {
		for _, w := range []string{"mldata_condition{kind=DatasetBuild,name=churn,type=Ready} 1", "mldata_condition{kind=DatasetBuild,name=churn,type=Stalled} 0"} {
			if !slices.Contains(statusSeriesOf(t, ns), w) {
				return fmt.Errorf("no %s in %v", w, statusSeriesOf(t, ns))
			}
		}
		return nil
	})

	// The endpoint serves them.
	body := scrape(t, addr)
	for _, w := range []string{
		fmt.Sprintf(`mldata_datasetbuild_builds_total{name="churn",namespace=%q,result="succeeded"} 1`, ns),
		fmt.Sprintf(`mldata_datasetbuild_rows{name="churn",namespace=%q,split="train"} %d`, ns, rows["train"]),
		fmt.Sprintf(`mldata_datasetbuild_duration_seconds_count{name="churn",namespace=%q,result="succeeded"} 1`, ns),
	} {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}

	// A failed build: counted, its run time taken from the Failed
	// condition; the rows of the published build stay.
	touch(t, b, v1alpha1.AnnotationRequestedAt, "1")
	js := waitJobs(t, ns, 2)
	j2 := newestJob(js, j.Name)
	failure, _ := worker.FailureSummary(worker.KindDatasetBuild, &worker.Failure{Reason: v1alpha1.ReasonValidationFailed, Err: errors.New("rule minRows")}).Encode()
	finishJob(t, j2, false, string(failure), start.Add(time.Minute), start.Add(time.Minute+7*time.Second))
	want = append(want,
		"mldata_datasetbuild_builds_total{name=churn,result=failed} 1",
		"mldata_datasetbuild_duration_seconds{name=churn,result=failed} count=1 sum=7",
	)
	eventually(t, "failure series", func() error { return sameSeries(want, seriesOf(t, ns)) })

	// Deleting the build deletes its series.
	if err := k8s.Delete(ctx, getBuild(t, b)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "series deleted", func() error { return sameSeries(nil, seriesOf(t, ns)) })
	eventually(t, "status series deleted", func() error { return sameSeries(nil, statusSeriesOf(t, ns)) })
}

func TestDriftMetrics(t *testing.T) {
	needEnv(t)
	startManager(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	ns := newNamespace(t)
	base, _ := copySample(t, "sample")
	cur, _ := copySample(t, "sample-drifted")
	d := &v1alpha1.DriftCheck{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dc"},
		Spec: v1alpha1.DriftCheckSpec{
			Baseline: v1alpha1.DriftInput{URI: v1alpha1.BucketURI(base)},
			Current:  v1alpha1.DriftInput{URI: v1alpha1.BucketURI(cur)},
			Columns:  &v1alpha1.ColumnSelector{Include: []string{"plan", "nps"}},
			Output:   v1alpha1.ReportOutputSpec{URI: v1alpha1.BucketURI("file://" + t.TempDir())},
		},
	}
	if err := k8s.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	j := waitJobs(t, ns, 1)[0]
	finishJob(t, &j, true, runWorker(t, &j), time.Now(), time.Now())

	// The sample's known drift (`mldata drift testdata/sample
	// testdata/sample-drifted`): plan drifts with PSI 0.2828…, nps does
	// not (0.0341) and has a series too.
	const planPSI, supportCallsPSI, npsPSI = 0.28282251592406416, 0.6511380251182057, 0.03409975002905436
	eventually(t, "drift series", func() error {
		got := seriesOf(t, ns)
		if len(got) != 4 {
			return fmt.Errorf("series %v", got)
		}
		return nil
	})
	// The condition the MLDataDriftDetected alert reads.
	eventually(t, "DriftDetected series", func() error {
		if got := statusSeriesOf(t, ns); !slices.Contains(got, "mldata_condition{kind=DriftCheck,name=dc,type=DriftDetected} 1") {
			return fmt.Errorf("status series %v", got)
		}
		return nil
	})
	checkGauge(t, metrics.DriftPSI.WithLabelValues(ns, "dc", "plan"), planPSI)
	checkGauge(t, metrics.DriftPSI.WithLabelValues(ns, "dc", "nps"), npsPSI)
	checkGauge(t, metrics.DriftMaxPSI.WithLabelValues(ns, "dc"), planPSI)
	if got := testutil.ToFloat64(metrics.DriftRunsTotal.WithLabelValues(ns, "dc", metrics.ResultDrift)); got != 1 {
		t.Errorf("runs_total{result=drift} = %g", got)
	}

	// Other columns: the next run replaces the column series.
	update(t, getDrift(t, d), func(cur *v1alpha1.DriftCheck) { cur.Spec.Columns.Include = []string{"support_calls", "nps"} })
	j2 := *newestJob(waitJobs(t, ns, 2), j.Name)
	finishJob(t, &j2, true, runWorker(t, &j2), time.Now(), time.Now())
	eventually(t, "replaced series", func() error {
		got := seriesOf(t, ns)
		want := []string{
			"mldata_driftcheck_last_max_psi{name=dc} " + fmt.Sprint(supportCallsPSI),
			"mldata_driftcheck_last_psi{column=support_calls,name=dc} " + fmt.Sprint(supportCallsPSI),
			"mldata_driftcheck_last_psi{column=nps,name=dc} " + fmt.Sprint(npsPSI),
			"mldata_driftcheck_runs_total{name=dc,result=drift} 2",
		}
		return sameSeriesApprox(want, got)
	})

	// A failed run is counted and keeps the last successful run's gauges.
	touch(t, d, v1alpha1.AnnotationRequestedAt, "1")
	js := waitJobs(t, ns, 3)
	j3 := newestJob(js, j.Name, j2.Name)
	finishJob(t, j3, false, "", time.Now(), time.Now())
	eventually(t, "failed run counted", func() error {
		if got := testutil.ToFloat64(metrics.DriftRunsTotal.WithLabelValues(ns, "dc", metrics.ResultFailed)); got != 1 {
			return fmt.Errorf("runs_total{result=failed} = %g", got)
		}
		return nil
	})
	checkGauge(t, metrics.DriftPSI.WithLabelValues(ns, "dc", "support_calls"), supportCallsPSI)

	if err := k8s.Delete(ctx, getDrift(t, d)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "series deleted", func() error { return sameSeries(nil, seriesOf(t, ns)) })
	eventually(t, "status series deleted", func() error { return sameSeries(nil, statusSeriesOf(t, ns)) })
}

// TestMetricsBounded: a run that reports more drifted columns than status
// keeps makes at most MaxPSIColumns series, and a check whose columns
// shrink leaves no stale series.
func TestMetricsBounded(t *testing.T) {
	ns := "bounded"
	psi := 1.0
	run := &v1alpha1.DriftRun{Succeeded: true, MaxPSI: &psi}
	for i := range 40 {
		run.DriftedColumns = append(run.DriftedColumns, v1alpha1.DriftedColumn{Name: fmt.Sprintf("c%02d", i), PSI: 1 - float64(i)/100})
	}
	metrics.SetDriftPSI(ns, "x", run)
	if n := len(seriesOf(t, ns)); n != metrics.MaxPSIColumns+1 {
		t.Errorf("%d series, want %d columns and the max", n, metrics.MaxPSIColumns+1)
	}
	run.DriftedColumns = run.DriftedColumns[:1]
	metrics.SetDriftPSI(ns, "x", run)
	if err := sameSeries([]string{"mldata_driftcheck_last_max_psi{name=x} 1", "mldata_driftcheck_last_psi{column=c00,name=x} 1"}, seriesOf(t, ns)); err != nil {
		t.Error(err)
	}
	metrics.SetBuildRows(ns, "b", []v1alpha1.SplitRows{{Name: "train", Rows: 8}, {Name: "test", Rows: 2}})
	metrics.SetBuildRows(ns, "b", []v1alpha1.SplitRows{{Name: "all", Rows: 10}})
	if got := testutil.CollectAndCount(metrics.BuildRows); got < 1 || testutil.ToFloat64(metrics.BuildRows.WithLabelValues(ns, "b", "all")) != 10 {
		t.Errorf("rows gauges: %d series", got)
	}
	for _, s := range seriesOf(t, ns) {
		if strings.Contains(s, "split=train") || strings.Contains(s, "split=test") {
			t.Errorf("stale series %s", s)
		}
	}
	metrics.ForgetDriftCheck(ns, "x")
	metrics.ForgetBuild(ns, "b")
	if err := sameSeries(nil, seriesOf(t, ns)); err != nil {
		t.Error(err)
	}
}

// TestStatusMetrics: the gauges alerts read are set from status, follow
// it (a condition turning Unknown loses its series) and go with the
// resource.
func TestStatusMetrics(t *testing.T) {
	ns := "status-gauges"
	t0 := metav1.NewTime(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	metrics.SetConditions(worker.KindDatasetBuild, ns, "b", []metav1.Condition{
		{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, LastTransitionTime: t0},
		{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, LastTransitionTime: t0},
		{Type: v1alpha1.ConditionReconciling, Status: metav1.ConditionUnknown, LastTransitionTime: t0},
	})
	metrics.SetScheduleInterval(worker.KindDatasetBuild, ns, "b", time.Hour)
	metrics.SetDriftLastSchedule(ns, "d", &t0)
	if err := sameSeries([]string{
		"mldata_condition{kind=DatasetBuild,name=b,type=Ready} 0",
		"mldata_condition{kind=DatasetBuild,name=b,type=Stalled} 1",
		"mldata_condition_last_transition_timestamp_seconds{kind=DatasetBuild,name=b,type=Ready} 1.7957808e+09",
		"mldata_condition_last_transition_timestamp_seconds{kind=DatasetBuild,name=b,type=Stalled} 1.7957808e+09",
		"mldata_driftcheck_last_schedule_timestamp_seconds{name=d} 1.7957808e+09",
		"mldata_schedule_interval_seconds{kind=DatasetBuild,name=b} 3600",
	}, statusSeriesOf(t, ns)); err != nil {
		t.Error(err)
	}
	// Stalled goes Unknown, Ready turns True; the interval goes.
	t1 := metav1.NewTime(t0.Add(time.Minute))
	metrics.SetConditions(worker.KindDatasetBuild, ns, "b", []metav1.Condition{
		{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, LastTransitionTime: t1},
		{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionUnknown, LastTransitionTime: t1},
	})
	metrics.SetScheduleInterval(worker.KindDatasetBuild, ns, "b", 0)
	if err := sameSeries([]string{
		"mldata_condition{kind=DatasetBuild,name=b,type=Ready} 1",
		"mldata_condition_last_transition_timestamp_seconds{kind=DatasetBuild,name=b,type=Ready} 1.79578086e+09",
		"mldata_driftcheck_last_schedule_timestamp_seconds{name=d} 1.7957808e+09",
	}, statusSeriesOf(t, ns)); err != nil {
		t.Error(err)
	}
	metrics.ForgetBuild(ns, "b")
	metrics.ForgetDriftCheck(ns, "d")
	if err := sameSeries(nil, statusSeriesOf(t, ns)); err != nil {
		t.Error(err)
	}
}

func TestScheduleInterval(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		schedule v1alpha1.CronSchedule
		tz       v1alpha1.TimeZone
		interval *int32
		want     time.Duration
	}{
		{"", "", nil, 0},
		{"", "", ptrTo[int32](0), 0},
		{"", "", ptrTo[int32](900), 15 * time.Minute},
		{"0 * * * *", "", nil, time.Hour},
		{"*/10 * * * *", "", ptrTo[int32](900), 10 * time.Minute}, // the schedule wins, as cadence does
		{"0 6 * * *", "Europe/Paris", nil, 24 * time.Hour},
		{"0 6 * * *", "Nowhere/Atlantis", nil, 0},
	} {
		if got := scheduleInterval(c.schedule, c.tz, c.interval, now); got != c.want {
			t.Errorf("scheduleInterval(%q, %q, %v) = %v, want %v", c.schedule, c.tz, c.interval, got, c.want)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

// checkGauge compares a gauge that exists with want.
func checkGauge(t *testing.T, g prometheus.Gauge, want float64) {
	t.Helper()
	if got := testutil.ToFloat64(g); math.Abs(got-want) > 1e-12 {
		t.Errorf("%s = %v, want %v", g.Desc(), got, want)
	}
}

// sameSeries compares two sets of series lines, in any order.
func sameSeries(want, got []string) error {
	want, got = slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(got))
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		return fmt.Errorf("series:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	return nil
}

// sameSeriesApprox compares series whose values may differ in the last
// bits of a float.
func sameSeriesApprox(want, got []string) error {
	want, got = slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(got))
	if len(want) != len(got) {
		return sameSeries(want, got)
	}
	for i := range want {
		wn, wv, _ := strings.Cut(want[i], "} ")
		gn, gv, _ := strings.Cut(got[i], "} ")
		var w, g float64
		fmt.Sscan(wv, &w)
		fmt.Sscan(gv, &g)
		if wn != gn || math.Abs(w-g) > 1e-12 {
			return sameSeries(want, got)
		}
	}
	return nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	var body string
	eventually(t, "scrape /metrics", func() error {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		body = string(data)
		return nil
	})
	return body
}

func TestProfileMetrics(t *testing.T) {
	needEnv(t)
	startManager(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	ns := newNamespace(t)
	p := createSampleProfile(t, ns)
	j := waitJobs(t, ns, 1)[0]
	finishJob(t, &j, true, runWorker(t, &j), time.Now(), time.Now())
	eventually(t, "succeeded run", func() error {
		return sameSeries([]string{"mldata_datasetprofile_runs_total{name=prof,result=succeeded} 1"}, seriesOf(t, ns))
	})
	touch(t, p, v1alpha1.AnnotationRequestedAt, "1")
	j2 := newestJob(waitJobs(t, ns, 2), j.Name)
	finishJob(t, j2, false, "", time.Now(), time.Now())
	eventually(t, "failed run", func() error {
		return sameSeries([]string{
			"mldata_datasetprofile_runs_total{name=prof,result=failed} 1",
			"mldata_datasetprofile_runs_total{name=prof,result=succeeded} 1",
		}, seriesOf(t, ns))
	})
	if err := k8s.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "series deleted", func() error { return sameSeries(nil, seriesOf(t, ns)) })
}
