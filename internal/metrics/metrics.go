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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	LabelKind      = "kind"
	LabelType      = "type"
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

// Gauges set from status for alerting (config/prometheus/alerts.yaml): a
// condition, how long it has held, and the schedule a resource should keep.
var (
	// Condition is 1 for a True and 0 for a False status condition of a
	// resource (Ready, Reconciling, Stalled, Validated, SchemaCompatible,
	// DriftDetected); an Unknown or absent condition has no series.
	Condition = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mldata_condition",
		Help: "Status conditions of mldata resources: 1 when True, 0 when False; Unknown or absent conditions have no series.",
	}, []string{LabelKind, LabelNamespace, LabelName, LabelType})

	// ConditionTransition is the lastTransitionTime of each condition
	// Condition has a series for.
	ConditionTransition = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mldata_condition_last_transition_timestamp_seconds",
		Help: "Time, in seconds since the epoch, a status condition of an mldata resource last changed status.",
	}, []string{LabelKind, LabelNamespace, LabelName, LabelType})

	// ScheduleInterval is the time between two runs a resource asks for:
	// intervalSeconds, or the gap between the next two times of its cron
	// schedule. Resources that run once per inputs have no series.
	ScheduleInterval = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mldata_schedule_interval_seconds",
		Help: "Seconds between two scheduled runs of an mldata resource (intervalSeconds, or the gap between the next two cron times).",
	}, []string{LabelKind, LabelNamespace, LabelName})

	// DriftLastSchedule is the DriftCheck's status.lastScheduleTime: the
	// latest scheduled time the manager handled (ran, or skipped for
	// unchanged inputs or the concurrency policy).
	DriftLastSchedule = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mldata_driftcheck_last_schedule_timestamp_seconds",
		Help: "Latest scheduled time, in seconds since the epoch, the manager handled for a DriftCheck (run, or skipped as unchanged or by concurrencyPolicy).",
	}, []string{LabelNamespace, LabelName})
)

// Collectors are all the operator's collectors.
var Collectors = []prometheus.Collector{
	BuildsTotal, BuildDuration, BuildRows, FilesProcessed, FilesReused,
	DriftRunsTotal, DriftMaxPSI, DriftPSI, ProfileRunsTotal,
	Condition, ConditionTransition, ScheduleInterval, DriftLastSchedule,
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

// conditionTypes remembers the condition types set per resource (kind,
// namespace, name), so that a condition that turns Unknown or goes away
// loses its series.
var conditionTypes = struct {
	sync.Mutex
	m map[[3]string][]string
}{m: map[[3]string][]string{}}

// SetConditions sets the condition gauges of one resource from its status.
func SetConditions(kind, namespace, name string, conds []metav1.Condition) {
	k := [3]string{kind, namespace, name}
	var types []string
	for _, c := range conds {
		if c.Status == metav1.ConditionTrue || c.Status == metav1.ConditionFalse {
			types = append(types, c.Type)
		}
	}
	conditionTypes.Lock()
	defer conditionTypes.Unlock()
	for _, old := range conditionTypes.m[k] {
		if !contains(types, old) {
			Condition.DeleteLabelValues(kind, namespace, name, old)
			ConditionTransition.DeleteLabelValues(kind, namespace, name, old)
		}
	}
	for _, c := range conds {
		if !contains(types, c.Type) {
			continue
		}
		v := 0.0
		if c.Status == metav1.ConditionTrue {
			v = 1
		}
		Condition.WithLabelValues(kind, namespace, name, c.Type).Set(v)
		ConditionTransition.WithLabelValues(kind, namespace, name, c.Type).Set(float64(c.LastTransitionTime.Unix()))
	}
	if len(types) == 0 {
		delete(conditionTypes.m, k)
	} else {
		conditionTypes.m[k] = types
	}
}

// SetScheduleInterval sets the interval gauge of a resource; 0 (no
// interval or schedule) deletes it.
func SetScheduleInterval(kind, namespace, name string, interval time.Duration) {
	if interval <= 0 {
		ScheduleInterval.DeleteLabelValues(kind, namespace, name)
		return
	}
	ScheduleInterval.WithLabelValues(kind, namespace, name).Set(interval.Seconds())
}

// SetDriftLastSchedule sets the DriftCheck's last schedule gauge; nil (no
// scheduled time handled yet) deletes it.
func SetDriftLastSchedule(namespace, name string, t *metav1.Time) {
	if t == nil {
		DriftLastSchedule.DeleteLabelValues(namespace, name)
		return
	}
	DriftLastSchedule.WithLabelValues(namespace, name).Set(float64(t.Unix()))
}

// forgetStatus deletes the status gauges of a deleted resource.
func forgetStatus(kind, namespace, name string) {
	l := prometheus.Labels{LabelKind: kind, LabelNamespace: namespace, LabelName: name}
	for _, v := range []*prometheus.MetricVec{Condition.MetricVec, ConditionTransition.MetricVec, ScheduleInterval.MetricVec} {
		v.DeletePartialMatch(l)
	}
	conditionTypes.Lock()
	delete(conditionTypes.m, [3]string{kind, namespace, name})
	conditionTypes.Unlock()
}

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
	forgetStatus(worker.KindDatasetBuild, namespace, name)
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
	for _, v := range []*prometheus.MetricVec{DriftRunsTotal.MetricVec, DriftMaxPSI.MetricVec, DriftPSI.MetricVec, DriftLastSchedule.MetricVec} {
		v.DeletePartialMatch(l)
	}
	tracked.Lock()
	delete(tracked.columns, key{namespace, name})
	tracked.Unlock()
	forgetStatus(worker.KindDriftCheck, namespace, name)
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
	forgetStatus(worker.KindDatasetProfile, namespace, name)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
