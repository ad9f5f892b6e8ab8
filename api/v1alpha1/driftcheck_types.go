package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Binning is how numeric columns are cut into bins.
// +kubebuilder:validation:Enum=uniform;quantile
type Binning string

// Binnings, as in `mldata drift --binning`.
const (
	// BinningUniform cuts [min, max] of the baseline into equal-width bins;
	// the outer bins are open so out-of-range current values count.
	BinningUniform Binning = "uniform"
	// BinningQuantile cuts at the baseline's deciles; fewer bins when
	// quantiles coincide.
	BinningQuantile Binning = "quantile"
)

// ConcurrencyPolicy says what a scheduled run does while the previous one
// is still running.
// +kubebuilder:validation:Enum=Allow;Forbid;Replace
type ConcurrencyPolicy string

// Concurrency policies, as for CronJobs.
const (
	// ConcurrencyAllow runs concurrently.
	ConcurrencyAllow ConcurrencyPolicy = "Allow"
	// ConcurrencyForbid skips the new run.
	ConcurrencyForbid ConcurrencyPolicy = "Forbid"
	// ConcurrencyReplace stops the running one and starts the new one.
	ConcurrencyReplace ConcurrencyPolicy = "Replace"
)

// Severity of a column's drift, from its PSI: low below 0.05, medium below
// 0.1, high otherwise.
// +kubebuilder:validation:Enum=low;medium;high
type Severity string

// Severities.
const (
	SeverityLow    Severity = "low"
	SeverityMedium Severity = "medium"
	SeverityHigh   Severity = "high"
)

// DriftInput is one side of a drift check: files under a uri, the dataset a
// DatasetBuild publishes, or (baseline only) a DatasetProfile's report.
// +kubebuilder:validation:XValidation:rule="[has(self.uri), has(self.datasetBuildRef), has(self.datasetProfileRef)].filter(x, x).size() == 1",message="set exactly one of uri, datasetBuildRef or datasetProfileRef"
// +kubebuilder:validation:XValidation:rule="has(self.uri) || !(has(self.format) || has(self.include) || has(self.split))",message="format, include and split apply to uri only: with datasetBuildRef, set datasetBuildRef.split"
type DriftInput struct {
	// uri of a file, a prefix of files, or a published dataset (a prefix
	// with latest.json), or of a profile.json to use as the baseline.
	// +optional
	URI BucketURI `json:"uri,omitempty"`

	// format of the files under uri; omit to detect it from each file's
	// extension.
	// +optional
	Format SourceFormat `json:"format,omitempty"`

	// include keeps only files under uri matching one of these globs.
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +optional
	Include []string `json:"include,omitempty"`

	// split to read when uri is a published dataset; omit for all splits.
	// +optional
	Split SplitName `json:"split,omitempty"`

	// datasetBuildRef reads the dataset a DatasetBuild publishes. For a
	// baseline, pin datasetBuildRef.buildID, or the baseline moves with
	// every rebuild.
	// +optional
	DatasetBuildRef *DatasetBuildRef `json:"datasetBuildRef,omitempty"`

	// datasetProfileRef uses a DatasetProfile's latest report as the
	// baseline: its histogram edges and value counts are the baseline's
	// bins, and the Kolmogorov–Smirnov test is unavailable (it needs the
	// raw values). Baseline only.
	// +optional
	DatasetProfileRef *DatasetProfileRef `json:"datasetProfileRef,omitempty"`

	// secretRef names the Secret with the credentials for the data's
	// bucket. With a reference, omit it to use the referenced resource's.
	// +optional
	SecretRef *SecretRef `json:"secretRef,omitempty"`
}

// ColumnSelector chooses the columns a drift check compares.
// +kubebuilder:validation:XValidation:rule="!has(self.include) || !has(self.exclude) || !self.include.exists(c, c in self.exclude)",message="a column is both included and excluded: remove it from one list"
type ColumnSelector struct {
	// include compares only these columns (--columns). Omit for all
	// columns present on both sides.
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +optional
	Include []string `json:"include,omitempty"`

	// exclude leaves these columns out (--exclude), e.g. ids and
	// timestamps, which always drift.
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +optional
	Exclude []string `json:"exclude,omitempty"`
}

// DriftThresholds decide when a column has drifted, unless metrics.methods
// chooses its method. A column drifts when any metric crosses its
// threshold; psi always applies, the others only when set.
type DriftThresholds struct {
	// psi is a threshold: a column drifts when its population stability index is at
	// least this (--threshold).
	// +kubebuilder:default=0.1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:ExclusiveMinimum=true
	// +optional
	PSI *float64 `json:"psi,omitempty"`

	// ksPValue is a threshold: a numeric column drifts when the Kolmogorov–Smirnov
	// p-value is below this, e.g. 0.05.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:ExclusiveMinimum=true
	// +kubebuilder:validation:Maximum=1
	// +kubebuilder:validation:ExclusiveMaximum=true
	// +optional
	KSPValue *float64 `json:"ksPValue,omitempty"`

	// jsDistance is a threshold: a column drifts when its Jensen–Shannon distance (base
	// 2, from 0 to 1) is at least this.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:ExclusiveMinimum=true
	// +kubebuilder:validation:Maximum=1
	// +optional
	JSDistance *float64 `json:"jsDistance,omitempty"`

	// chi2PValue is a threshold: a categorical column drifts when the chi-square test's
	// p-value is below this, e.g. 0.05.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:ExclusiveMinimum=true
	// +kubebuilder:validation:Maximum=1
	// +kubebuilder:validation:ExclusiveMaximum=true
	// +optional
	Chi2PValue *float64 `json:"chi2PValue,omitempty"`
}

// DriftMetrics configure the drift metrics.
type DriftMetrics struct {
	// bins is the number of bins for numeric columns (--bins).
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Bins *int32 `json:"bins,omitempty"`

	// binning is uniform (equal width over the baseline's range) or
	// quantile (at the baseline's quantiles) (--binning).
	// +kubebuilder:default=uniform
	// +optional
	Binning Binning `json:"binning,omitempty"`

	// epsilon replaces empty bins' shares in PSI, which would otherwise be
	// infinite; shares are not renormalised. At most 0.1.
	// +kubebuilder:default=0.001
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:ExclusiveMinimum=true
	// +kubebuilder:validation:Maximum=0.1
	// +optional
	Epsilon *float64 `json:"epsilon,omitempty"`

	// thresholds decide when a column has drifted.
	// +kubebuilder:default={psi: 0.1}
	// +optional
	Thresholds *DriftThresholds `json:"thresholds,omitempty"`

	DriftVerdict `json:",inline"`
}

// DriftCheckSpec is the desired drift check: what is compared with what,
// how, and when.
// +kubebuilder:validation:XValidation:rule="!has(self.current.datasetProfileRef)",message="current must be data (uri or datasetBuildRef): a profile can only be the baseline",fieldPath=".current"
// +kubebuilder:validation:XValidation:rule="!has(self.timeZone) || has(self.schedule)",message="timeZone applies to schedule: set schedule or remove timeZone",fieldPath=".timeZone"
// +kubebuilder:validation:XValidation:rule="!has(self.timeZone) || !has(self.schedule) || !self.schedule.matches('^(CRON_)?TZ=')",message="give the time zone once: either timeZone or a CRON_TZ= prefix in schedule",fieldPath=".timeZone"
// +kubebuilder:validation:XValidation:rule="!has(self.startingDeadlineSeconds) || has(self.schedule)",message="startingDeadlineSeconds applies to schedule: set schedule or remove it",fieldPath=".startingDeadlineSeconds"
type DriftCheckSpec struct {
	// baseline is the reference data, e.g. the training split.
	// +required
	Baseline DriftInput `json:"baseline"`

	// current is the data compared with the baseline, e.g. recent
	// production traffic.
	// +required
	Current DriftInput `json:"current"`

	// columns chooses the columns compared; omit for all columns present
	// on both sides. Columns that are numeric on one side and text on the
	// other are reported as skipped.
	// +optional
	Columns *ColumnSelector `json:"columns,omitempty"`

	// metrics configure binning and thresholds.
	// +kubebuilder:default={}
	// +optional
	Metrics *DriftMetrics `json:"metrics,omitempty"`

	// maxMemory bounds the memory the numeric values of each side take
	// (--max-memory), e.g. 1Gi. Past it, that side's numeric columns are
	// compared through KLL sketches, and the report states the error bounds
	// of the KS statistic, its p-value and the Wasserstein distance. Omit
	// for exact results whatever the memory.
	// +optional
	MaxMemory *resource.Quantity `json:"maxMemory,omitempty"`

	// output is where drift.json (and drift.html) are written.
	// +required
	Output ReportOutputSpec `json:"output"`

	// schedule runs the check at these times (cron). Omit to run once per
	// spec change (and when a referenced DatasetBuild publishes, or the
	// mldata.io/requested-at annotation changes).
	// +optional
	Schedule CronSchedule `json:"schedule,omitempty"`

	// timeZone of schedule; omit for the controller's (UTC).
	// +optional
	TimeZone TimeZone `json:"timeZone,omitempty"`

	// concurrencyPolicy says what a scheduled run does while the previous
	// one still runs.
	// +kubebuilder:default=Forbid
	// +optional
	ConcurrencyPolicy ConcurrencyPolicy `json:"concurrencyPolicy,omitempty"`

	// startingDeadlineSeconds skips a scheduled run that could not start
	// within this many seconds of its time (e.g. the controller was down);
	// omit to never skip, though at most one missed run is started.
	// +kubebuilder:validation:Minimum=0
	// +optional
	StartingDeadlineSeconds *int64 `json:"startingDeadlineSeconds,omitempty"`

	// suspend stops new runs; a running one finishes.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	HistoryLimits `json:",inline"`

	RunPolicy `json:",inline"`

	// resources of the drift container.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// serviceAccountName runs the Job's pods under this service account.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// limits bound what reading one input file may take in memory; omitted
	// fields take the operator's values, which are also their ceilings.
	// +optional
	Limits *InputLimits `json:"limits,omitempty"`
}

// DriftedColumn is a column that drifted.
type DriftedColumn struct {
	// name of the column.
	// +kubebuilder:validation:MaxLength=256
	// +required
	Name string `json:"name"`
	// categorical is true for text and bool columns, false for numeric.
	// +optional
	Categorical bool `json:"categorical,omitempty"`
	// psi of the column.
	// +required
	PSI float64 `json:"psi"`
	// severity from psi.
	// +required
	Severity Severity `json:"severity"`
	// method is the column's verdict method: psi, ks, js, wasserstein,
	// linf, hellinger or chisquare, or thresholds for the default rule
	// with optional thresholds set.
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Method string `json:"method,omitempty"`
	// metric is the drift report field the method compared (psi,
	// ks_pvalue, js_distance, wasserstein_normed, linf_distance,
	// hellinger_distance, chi2_pvalue).
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Metric string `json:"metric,omitempty"`
	// value of the metric.
	// +optional
	Value *float64 `json:"value,omitempty"`
	// threshold the value crossed: at or above it, or below it for a
	// p-value (ks_pvalue, chi2_pvalue).
	// +optional
	Threshold *float64 `json:"threshold,omitempty"`
}

// ColumnPSI is one column's population stability index in a run.
type ColumnPSI struct {
	// name of the column.
	// +kubebuilder:validation:MaxLength=256
	// +required
	Name string `json:"name"`
	// psi of the column.
	// +required
	PSI float64 `json:"psi"`
}

// DriftRun is the result of one drift check run.
type DriftRun struct {
	// jobName is the run's Job.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	JobName string `json:"jobName,omitempty"`
	// scheduledTime is the run's scheduled time (creation time when not
	// scheduled).
	// +optional
	ScheduledTime *metav1.Time `json:"scheduledTime,omitempty"`
	// completionTime is when the run finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// succeeded is false when the run failed; the metrics are then empty.
	// +optional
	Succeeded bool `json:"succeeded,omitempty"`
	// driftDetected is true when any column drifted.
	// +optional
	DriftDetected bool `json:"driftDetected,omitempty"`
	// maxPSI is the largest PSI over the columns.
	// +optional
	MaxPSI *float64 `json:"maxPSI,omitempty"`
	// columnsChecked is the number of columns compared.
	// +optional
	ColumnsChecked int32 `json:"columnsChecked,omitempty"`
	// driftedColumnCount is the number of drifted columns, which may
	// exceed the columns listed.
	// +optional
	DriftedColumnCount int32 `json:"driftedColumnCount,omitempty"`
	// driftShare is driftedColumnCount ÷ columnsChecked (0 to 1).
	// +optional
	DriftShare *float64 `json:"driftShare,omitempty"`
	// driftedColumns are the drifted columns with the largest PSI first,
	// at most 32; the report has all of them.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +optional
	DriftedColumns []DriftedColumn `json:"driftedColumns,omitempty"`
	// columnPSI is the PSI of every column compared, drifted or not, the
	// largest first, at most 32 (the report has all of them); the manager's
	// per-column PSI gauges follow it.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +optional
	ColumnPSI []ColumnPSI `json:"columnPSI,omitempty"`
	// reportURI is the run's drift.json.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	ReportURI string `json:"reportURI,omitempty"`
	// baselineBuildID is the build read as the baseline, with
	// datasetBuildRef.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	BaselineBuildID string `json:"baselineBuildID,omitempty"`
	// currentBuildID is the build read as current, with datasetBuildRef.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	CurrentBuildID string `json:"currentBuildID,omitempty"`
}

// DriftRunSummary is a past run in brief.
type DriftRunSummary struct {
	// jobName is the run's Job.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	JobName string `json:"jobName,omitempty"`
	// scheduledTime is the run's scheduled time.
	// +optional
	ScheduledTime *metav1.Time `json:"scheduledTime,omitempty"`
	// completionTime is when the run finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// succeeded is false when the run failed.
	// +optional
	Succeeded bool `json:"succeeded,omitempty"`
	// driftDetected is true when any column drifted.
	// +optional
	DriftDetected bool `json:"driftDetected,omitempty"`
	// maxPSI is the largest PSI over the columns.
	// +optional
	MaxPSI *float64 `json:"maxPSI,omitempty"`
	// driftedColumnCount is the number of drifted columns.
	// +optional
	DriftedColumnCount int32 `json:"driftedColumnCount,omitempty"`
	// reportURI is the run's drift.json.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	ReportURI string `json:"reportURI,omitempty"`
}

// DriftCheckStatus is the latest verdict and the recent history.
type DriftCheckStatus struct {
	// conditions of the resource: Ready, Reconciling, Stalled, DriftDetected.
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=8
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// observedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// retry records the attempts at the current inputs.
	// +optional
	Retry *RetryStatus `json:"retry,omitempty"`

	// lastScheduleTime is the time of the latest scheduled run.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`

	// lastSuccessfulTime is when a run last succeeded.
	// +optional
	LastSuccessfulTime *metav1.Time `json:"lastSuccessfulTime,omitempty"`

	// lastHandledRequest is the last mldata.io/requested-at annotation
	// value acted on.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	LastHandledRequest string `json:"lastHandledRequest,omitempty"`

	// activeJobs are the running Jobs.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	// +kubebuilder:validation:items:MaxLength=63
	// +optional
	ActiveJobs []string `json:"activeJobs,omitempty"`

	// lastRun is the latest finished run.
	// +optional
	LastRun *DriftRun `json:"lastRun,omitempty"`

	// recentRuns are the latest finished runs, newest first, at most 10.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	// +optional
	RecentRuns []DriftRunSummary `json:"recentRuns,omitempty"`
}

// DriftCheck compares a current dataset with a baseline, column by column
// (PSI, KL, Jensen–Shannon, Kolmogorov–Smirnov, chi-square), once or on a
// cron schedule, in Jobs running `mldata worker drift`. The DriftDetected
// condition is the verdict to alert on.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=dc,categories=mldata
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Drift",type=string,JSONPath=`.status.conditions[?(@.type=="DriftDetected")].status`
// +kubebuilder:printcolumn:name="Max PSI",type=number,JSONPath=`.status.lastRun.maxPSI`
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Last Run",type=date,JSONPath=`.status.lastRun.completionTime`
// +kubebuilder:printcolumn:name="Report",type=string,JSONPath=`.status.lastRun.reportURI`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DriftCheck struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's name, namespace, labels and annotations.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired drift check.
	// +required
	Spec DriftCheckSpec `json:"spec"`

	// status is the latest verdict.
	// +optional
	Status DriftCheckStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *DriftCheck) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces the status conditions.
func (in *DriftCheck) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// DriftCheckList is a list of DriftChecks.
// +kubebuilder:object:root=true
type DriftCheckList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DriftCheck `json:"items"`
}
