package worker

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/report"
)

// DriftResult is what a DriftCheck run produced.
type DriftResult struct {
	Report          *drift.Report
	ReportURI       string
	HTMLReportURI   string
	BaselineBuildID string
	CurrentBuildID  string
}

// DriftOptions converts a DriftCheck spec's columns and metrics into the
// options of drift.Compare.
func DriftOptions(spec *v1alpha1.DriftCheckSpec) (drift.Options, error) {
	opt := drift.Options{Bins: 10, Binning: drift.Uniform, Thresholds: drift.Thresholds{PSI: 0.1}}
	if c := spec.Columns; c != nil {
		opt.Columns, opt.Exclude = c.Include, c.Exclude
	}
	if spec.MaxMemory != nil {
		opt.MaxMemory = spec.MaxMemory.Value()
	}
	m := spec.Metrics
	if m == nil {
		return opt, nil
	}
	if m.Bins != nil {
		if *m.Bins < 2 {
			return opt, fmt.Errorf("metrics.bins %d: must be at least 2", *m.Bins)
		}
		opt.Bins = int(*m.Bins)
	}
	switch m.Binning {
	case "", v1alpha1.BinningUniform:
	case v1alpha1.BinningQuantile:
		opt.Binning = drift.Quantile
	default:
		return opt, fmt.Errorf("metrics.binning %q: use uniform or quantile", m.Binning)
	}
	if m.Epsilon != nil {
		opt.Epsilon = *m.Epsilon
	}
	if t := m.Thresholds; t != nil {
		if t.PSI != nil {
			opt.Thresholds.PSI = *t.PSI
		}
		opt.Thresholds.KSPValue, opt.Thresholds.JS, opt.Thresholds.Chi2PValue = t.KSPValue, t.JSDistance, t.Chi2PValue
	}
	DriftVerdictOptions(&m.DriftVerdict, &opt)
	return opt, nil
}

// RunDrift compares the task's current input with its baseline and writes
// the reports.
func RunDrift(ctx context.Context, t *Task, opt Options) (*DriftResult, error) {
	opt, err := limitOptions(t.Drift.Limits, opt)
	if err != nil {
		return nil, err
	}
	dopt, err := DriftOptions(t.Drift)
	if err != nil {
		return nil, &Failure{Reason: v1alpha1.ReasonInvalidSpec, Err: err}
	}
	dopt.Now = opt.Now
	res, err := CompareInputs(ctx, t.Baseline, t.Current, dopt, opt)
	if err != nil {
		return nil, err
	}
	r := res.Report
	res.ReportURI, res.HTMLReportURI, err = writeReport(ctx, t.Drift.Output, runID(t, opt), DriftJSON, DriftHTML, r,
		func(b *bytes.Buffer) error { return report.Drift(b, r) })
	if err != nil {
		return nil, err
	}
	return res, nil
}

// DriftedColumns lists the columns whose drift_detected is set, highest PSI
// first (ties by name), at most MaxDriftedColumns of them, and how many
// columns drifted in all.
func DriftedColumns(r *drift.Report) ([]v1alpha1.DriftedColumn, int) {
	var cols []v1alpha1.DriftedColumn
	th := r.Conventions.Thresholds
	col := func(name string, categorical bool, psi float64, severity string, d drift.Decision) v1alpha1.DriftedColumn {
		c := v1alpha1.DriftedColumn{Name: name, Categorical: categorical, PSI: psi, Severity: v1alpha1.Severity(severity),
			Method: string(d.Method), Metric: d.Metric, Threshold: &d.Threshold}
		if !math.IsNaN(d.Value) {
			c.Value = &d.Value
		}
		return c
	}
	for _, f := range r.NumericDrift {
		if f.Value != nil && f.Value.DriftDetected {
			cols = append(cols, col(f.Key, false, f.Value.PSI, f.Value.Severity, f.Value.Decision(th)))
		}
	}
	for _, f := range r.CategoricalDrift {
		if f.Value != nil && f.Value.DriftDetected {
			cols = append(cols, col(f.Key, true, f.Value.PSI, f.Value.Severity, f.Value.Decision(th)))
		}
	}
	sort.SliceStable(cols, func(i, j int) bool {
		if cols[i].PSI != cols[j].PSI {
			return cols[i].PSI > cols[j].PSI
		}
		return cols[i].Name < cols[j].Name
	})
	n := len(cols)
	if n > v1alpha1.MaxDriftedColumns {
		cols = cols[:v1alpha1.MaxDriftedColumns]
	}
	return cols, n
}

// ColumnPSI lists every compared column's PSI, largest first (ties by
// name), at most MaxDriftedColumns of them.
func ColumnPSI(r *drift.Report) []v1alpha1.ColumnPSI {
	var cols []v1alpha1.ColumnPSI
	for _, f := range r.NumericDrift {
		if f.Value != nil {
			cols = append(cols, v1alpha1.ColumnPSI{Name: f.Key, PSI: f.Value.PSI})
		}
	}
	for _, f := range r.CategoricalDrift {
		if f.Value != nil {
			cols = append(cols, v1alpha1.ColumnPSI{Name: f.Key, PSI: f.Value.PSI})
		}
	}
	sort.SliceStable(cols, func(i, j int) bool {
		if cols[i].PSI != cols[j].PSI {
			return cols[i].PSI > cols[j].PSI
		}
		return cols[i].Name < cols[j].Name
	})
	if len(cols) > v1alpha1.MaxDriftedColumns {
		cols = cols[:v1alpha1.MaxDriftedColumns]
	}
	return cols
}

// Summary is the termination message of the drift check.
func (d *DriftResult) Summary() *Summary {
	r := d.Report
	cols, n := DriftedColumns(r)
	maxPSI, share := r.MaxPSI(), r.DriftShare
	s := &Summary{
		Kind: KindDriftCheck, OK: true, ReportURI: d.ReportURI, HTMLReportURI: d.HTMLReportURI,
		DriftDetected: r.HasDrift, MaxPSI: &maxPSI, ColumnsChecked: int32(len(r.NumericDrift) + len(r.CategoricalDrift)),
		DriftedColumnCount: int32(n), DriftShare: &share, DriftedColumns: cols, ColumnPSI: ColumnPSI(r),
		BaselineBuildID: d.BaselineBuildID, CurrentBuildID: d.CurrentBuildID,
	}
	switch {
	case r.HasDrift:
		s.Message = fmt.Sprintf("drift in %d of %d column(s), max PSI %.4g", n, s.ColumnsChecked, maxPSI)
	case n > 0: // fewer than the drift share
		s.Message = fmt.Sprintf("no dataset drift: %d of %d column(s) drifted, below the drift share; max PSI %.4g", n, s.ColumnsChecked, maxPSI)
	default:
		s.Message = fmt.Sprintf("no drift in %d column(s), max PSI %.4g", s.ColumnsChecked, maxPSI)
	}
	return s
}

// DriftedColumnText names a drifted column and what decided it, e.g.
// "amount: wasserstein_normed 0.3102 >= 0.1"; a column recorded without
// its method, by its PSI.
func DriftedColumnText(c v1alpha1.DriftedColumn) string {
	if c.Metric == "" || c.Value == nil || c.Threshold == nil {
		return fmt.Sprintf("%s: psi %.4g", c.Name, c.PSI)
	}
	return c.Name + ": " + drift.RecordedDecision(c.Method, c.Metric, *c.Value, *c.Threshold).String()
}

// DriftRun converts a summary into status.lastRun.
// The lists are cut to the API's bounds whatever the summary holds (the
// worker never writes longer ones; a summary is still input to the
// controller).
func DriftRun(s *Summary, jobName string, scheduled *metav1.Time, now time.Time) *v1alpha1.DriftRun {
	t := metav1.NewTime(now)
	drifted := s.DriftedColumns[:min(len(s.DriftedColumns), v1alpha1.MaxDriftedColumns)]
	psi := s.ColumnPSI[:min(len(s.ColumnPSI), v1alpha1.MaxDriftedColumns)] // columnPSI has the same bound
	return &v1alpha1.DriftRun{
		JobName: jobName, ScheduledTime: scheduled, CompletionTime: &t, Succeeded: s.OK,
		DriftDetected: s.DriftDetected, MaxPSI: s.MaxPSI, ColumnsChecked: s.ColumnsChecked, DriftShare: s.DriftShare,
		DriftedColumnCount: max(s.DriftedColumnCount, int32(len(drifted))), DriftedColumns: drifted, ColumnPSI: psi, ReportURI: s.ReportURI,
		BaselineBuildID: s.BaselineBuildID, CurrentBuildID: s.CurrentBuildID,
	}
}

// ApplyDrift records a finished drift run in status: lastRun, the bounded
// recentRuns (newest first), and the Ready and DriftDetected conditions. A
// failed run leaves DriftDetected as the last successful run set it.
func ApplyDrift(st *v1alpha1.DriftCheckStatus, gen int64, s *Summary, jobName string, scheduled *metav1.Time, now time.Time) {
	set := conditionSetter(&st.Conditions, gen)
	st.ObservedGeneration = gen
	run := DriftRun(s, jobName, scheduled, now)
	st.LastRun = run
	sum := v1alpha1.DriftRunSummary{JobName: jobName, ScheduledTime: scheduled, CompletionTime: run.CompletionTime,
		Succeeded: s.OK, DriftDetected: s.DriftDetected, MaxPSI: s.MaxPSI, DriftedColumnCount: s.DriftedColumnCount, ReportURI: s.ReportURI}
	recent := []v1alpha1.DriftRunSummary{sum}
	for _, r := range st.RecentRuns {
		if r.JobName != jobName && len(recent) < v1alpha1.MaxRecentRuns {
			recent = append(recent, r)
		}
	}
	st.RecentRuns = recent
	set(v1alpha1.ConditionReconciling, false, v1alpha1.ReasonSucceeded, "no run is active")
	if !s.OK {
		set(v1alpha1.ConditionReady, false, s.Reason, s.Message)
		set(v1alpha1.ConditionStalled, true, s.Reason, s.Message)
		return
	}
	st.LastSuccessfulTime = run.CompletionTime
	set(v1alpha1.ConditionReady, true, v1alpha1.ReasonSucceeded, s.Message)
	set(v1alpha1.ConditionStalled, false, v1alpha1.ReasonSucceeded, "")
	if s.DriftDetected {
		names := ""
		for i, c := range s.DriftedColumns {
			if i > 0 {
				names += ", "
			}
			names += DriftedColumnText(c)
		}
		set(v1alpha1.ConditionDriftDetected, true, v1alpha1.ReasonDriftFound, s.Message+": "+names)
	} else {
		set(v1alpha1.ConditionDriftDetected, false, v1alpha1.ReasonNoDrift, s.Message)
	}
}
