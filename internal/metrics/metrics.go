// Package metrics defines the operator's Prometheus metrics and registers
// them with controller-runtime's registry, which the manager serves on its
// metrics endpoint beside the controller-runtime and Go runtime metrics.
//
// Series are labelled by the resource's namespace and name. That is the
// point of these metrics (alerts per dataset and per drift check), and it
// stays bounded: the series of a resource are deleted when the resource
// is, splits are bounded by the spec (at most 255), and per-column PSI
// series by the columns the check's last run reported as drifted (at most
// MaxPSIColumns), replaced on every run.
//
// Counters and the duration histogram count the Job results the
// controllers record, so they start from zero when the manager restarts;
// gauges are set from the resources' status and are therefore complete
// after a restart once each resource has been reconciled.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/worker"
)

// Label names.
const (
	LabelNamespace = "namespace"
	LabelName      = "name"
	LabelResult    = "result"
	LabelSplit     = "split"
	LabelColumn    = "column"
)

// Result label values.
const (
	// ResultSucceeded: a build or profile Job published its result.
	ResultSucceeded = "succeeded"
	// ResultUpToDate: a build Job found nothing changed and published
	// nothing.
	ResultUpToDate = "up_to_date"
	// ResultFailed: the Job failed (validation, schema policy, errors).
	ResultFailed = "failed"
	// ResultDrift and ResultNoDrift: a drift run succeeded with the verdict.
	ResultDrift   = "drift"
	ResultNoDrift = "no_drift"
)

// MaxPSIColumns bounds the per-column PSI series of one drift check: the
// drifted columns that status keeps.
const MaxPSIColumns = v1alpha1.MaxDriftedColumns

var (
	// BuildsTotal counts finished DatasetBuild Jobs by result.
	BuildsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mldata_datasetbuild_builds_total",
		Help: "Finished DatasetBuild Jobs, by result (succeeded, up_to_date, failed).",
	}, []string{LabelNamespace, LabelName, LabelResult})

	// BuildDuration observes the run time of finished build Jobs, from
	// the Job's start to its completion.
	BuildDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "mldata_datasetbuild_duration_seconds",
		Help: "Run time of finished DatasetBuild Jobs (Job start to completion), by result.",
		// 1 s to about 4.5 h.
		Buckets: prometheus.ExponentialBuckets(1, 2, 15),
	}, []string{LabelNamespace, LabelName, LabelResult})

	// BuildRows is the row count per split of the published build.
	BuildRows = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mldata_datasetbuild_rows",
		Help: "Rows per split of the DatasetBuild's published build.",
	}, []string{LabelNamespace, LabelName, LabelSplit})

	// FilesProcessed counts source files read by build Jobs.
	FilesProcessed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mldata_datasetbuild_files_processed_total",
		Help: "Source files read and converted by DatasetBuild Jobs.",
	}, []string{LabelNamespace, LabelName})

	// FilesReused counts source files whose earlier output build Jobs
	// reused without reading them.
	FilesReused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mldata_datasetbuild_files_reused_total",
		Help: "Source files whose earlier output DatasetBuild Jobs reused (unchanged content and settings).",
	}, []string{LabelNamespace, LabelName})

	// DriftRunsTotal counts finished DriftCheck Jobs by result.
	DriftRunsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mldata_driftcheck_runs_total",
		Help: "Finished DriftCheck Jobs, by result (drift, no_drift, failed).",
	}, []string{LabelNamespace, LabelName, LabelResult})

	// DriftMaxPSI is the highest PSI of the last successful run.
	DriftMaxPSI = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mldata_driftcheck_last_max_psi",
		Help: "Highest population stability index over all columns in the DriftCheck's last successful run.",
	}, []string{LabelNamespace, LabelName})

	// DriftPSI is the PSI of each column of the last successful run.
	DriftPSI = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mldata_driftcheck_last_psi",
		Help: "Population stability index of each column the DriftCheck's last successful run compared, drifted or not (the 32 largest).",
	}, []string{LabelNamespace, LabelName, LabelColumn})

	// ProfileRunsTotal counts finished DatasetProfile Jobs by result.
	ProfileRunsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mldata_datasetprofile_runs_total",
		Help: "Finished DatasetProfile Jobs, by result (succeeded, failed).",
	}, []string{LabelNamespace, LabelName, LabelResult})
)

// Collectors are all the operator's collectors.
var Collectors = []prometheus.Collector{
	BuildsTotal, BuildDuration, BuildRows, FilesProcessed, FilesReused,
	DriftRunsTotal, DriftMaxPSI, DriftPSI, ProfileRunsTotal,
}

func init() {
	crmetrics.Registry.MustRegister(Collectors...)
}

// tracked remembers the split and column label values set per resource,
// so that values a new status no longer has are deleted, not left stale.
var tracked = struct {
	sync.Mutex
	splits  map[key][]string
	columns map[key][]string
}{splits: map[key][]string{}, columns: map[key][]string{}}

type key struct{ namespace, name string }

// BuildResult is the result label of a build summary.
func BuildResult(s *worker.Summary) string {
	switch {
	case !s.OK:
		return ResultFailed
	case s.UpToDate:
		return ResultUpToDate
	}
	return ResultSucceeded
}

// RecordBuild counts one finished build Job. duration 0 (unknown start or
// completion) is not observed.
func RecordBuild(namespace, name string, s *worker.Summary, duration time.Duration) {
	result := BuildResult(s)
	BuildsTotal.WithLabelValues(namespace, name, result).Inc()
	if duration > 0 {
		BuildDuration.WithLabelValues(namespace, name, result).Observe(duration.Seconds())
	}
	if s.OK {
		FilesProcessed.WithLabelValues(namespace, name).Add(float64(s.FilesProcessed))
		FilesReused.WithLabelValues(namespace, name).Add(float64(s.FilesReused))
	}
}

// SetBuildRows sets the rows gauges of a build from its status, deleting
// splits that are gone.
func SetBuildRows(namespace, name string, rows []v1alpha1.SplitRows) {
	k := key{namespace, name}
	splits := make([]string, 0, len(rows))
	for _, r := range rows {
		splits = append(splits, string(r.Name))
	}
	tracked.Lock()
	defer tracked.Unlock()
	for _, old := range tracked.splits[k] {
		if !contains(splits, old) {
			BuildRows.DeleteLabelValues(namespace, name, old)
		}
	}
	for _, r := range rows {
		BuildRows.WithLabelValues(namespace, name, string(r.Name)).Set(float64(r.Rows))
	}
	if len(splits) == 0 {
		delete(tracked.splits, k)
	} else {
		tracked.splits[k] = splits
	}
}

// ForgetBuild deletes every series of a deleted DatasetBuild.
func ForgetBuild(namespace, name string) {
	l := prometheus.Labels{LabelNamespace: namespace, LabelName: name}
	for _, v := range []*prometheus.MetricVec{BuildsTotal.MetricVec, BuildDuration.MetricVec, BuildRows.MetricVec, FilesProcessed.MetricVec, FilesReused.MetricVec} {
		v.DeletePartialMatch(l)
	}
	tracked.Lock()
	delete(tracked.splits, key{namespace, name})
	tracked.Unlock()
}

// DriftResult is the result label of a drift summary.
func DriftResult(s *worker.Summary) string {
	switch {
	case !s.OK:
		return ResultFailed
	case s.DriftDetected:
		return ResultDrift
	}
	return ResultNoDrift
}

// RecordDriftRun counts one finished drift Job.
func RecordDriftRun(namespace, name string, s *worker.Summary) {
	DriftRunsTotal.WithLabelValues(namespace, name, DriftResult(s)).Inc()
}

// SetDriftPSI sets the PSI gauges of a check from its last run. A failed
// run has no metrics and leaves the gauges of the last successful run.
func SetDriftPSI(namespace, name string, last *v1alpha1.DriftRun) {
	if last == nil || !last.Succeeded {
		return
	}
	k := key{namespace, name}
	// Runs recorded before status had columnPSI list the drifted columns
	// only.
	cols := last.ColumnPSI
	if len(cols) == 0 {
		for _, c := range last.DriftedColumns {
			cols = append(cols, v1alpha1.ColumnPSI{Name: c.Name, PSI: c.PSI})
		}
	}
	if len(cols) > MaxPSIColumns {
		cols = cols[:MaxPSIColumns]
	}
	names := make([]string, 0, len(cols))
	for _, c := range cols {
		names = append(names, c.Name)
	}
	tracked.Lock()
	defer tracked.Unlock()
	for _, old := range tracked.columns[k] {
		if !contains(names, old) {
			DriftPSI.DeleteLabelValues(namespace, name, old)
		}
	}
	for _, c := range cols {
		DriftPSI.WithLabelValues(namespace, name, c.Name).Set(c.PSI)
	}
	if len(names) == 0 {
		delete(tracked.columns, k)
	} else {
		tracked.columns[k] = names
	}
	if last.MaxPSI != nil {
		DriftMaxPSI.WithLabelValues(namespace, name).Set(*last.MaxPSI)
	} else {
		DriftMaxPSI.DeleteLabelValues(namespace, name)
	}
}

// ForgetDriftCheck deletes every series of a deleted DriftCheck.
func ForgetDriftCheck(namespace, name string) {
	l := prometheus.Labels{LabelNamespace: namespace, LabelName: name}
	for _, v := range []*prometheus.MetricVec{DriftRunsTotal.MetricVec, DriftMaxPSI.MetricVec, DriftPSI.MetricVec} {
		v.DeletePartialMatch(l)
	}
	tracked.Lock()
	delete(tracked.columns, key{namespace, name})
	tracked.Unlock()
}

// RecordProfileRun counts one finished profile Job.
func RecordProfileRun(namespace, name string, s *worker.Summary) {
	result := ResultSucceeded
	if !s.OK {
		result = ResultFailed
	}
	ProfileRunsTotal.WithLabelValues(namespace, name, result).Inc()
}

// ForgetProfile deletes every series of a deleted DatasetProfile.
func ForgetProfile(namespace, name string) {
	ProfileRunsTotal.DeletePartialMatch(prometheus.Labels{LabelNamespace: namespace, LabelName: name})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
