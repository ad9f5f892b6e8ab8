package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProfileSource is the data a DatasetProfile profiles: files under a uri, or
// the dataset a DatasetBuild publishes.
// +kubebuilder:validation:XValidation:rule="has(self.uri) != has(self.datasetBuildRef)",message="set exactly one of uri or datasetBuildRef"
// +kubebuilder:validation:XValidation:rule="has(self.uri) || !(has(self.format) || has(self.include) || has(self.split))",message="format, include and split apply to uri only: with datasetBuildRef, set datasetBuildRef.split"
type ProfileSource struct {
	// uri of a file, a prefix of files, or a published dataset (a prefix
	// with latest.json, as a DatasetBuild or `mldata build` writes).
	// +optional
	URI BucketURI `json:"uri,omitempty"`

	// format of the files under uri (--format); omit to detect it from
	// each file's extension.
	// +optional
	Format SourceFormat `json:"format,omitempty"`

	// include keeps only files under uri matching one of these globs.
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +optional
	Include []string `json:"include,omitempty"`

	// split to read when uri is a published dataset (--split); omit for
	// all splits.
	// +optional
	Split SplitName `json:"split,omitempty"`

	// datasetBuildRef profiles the dataset a DatasetBuild publishes; the
	// profile is re-run when it publishes a new build, unless buildID pins
	// one.
	// +optional
	DatasetBuildRef *DatasetBuildRef `json:"datasetBuildRef,omitempty"`

	// secretRef names the Secret with the credentials for the data's
	// bucket. With datasetBuildRef, omit it to use the DatasetBuild's
	// output.secretRef.
	// +optional
	SecretRef *SecretRef `json:"secretRef,omitempty"`
}

// ProfileOptions tune the statistics.
type ProfileOptions struct {
	// topK is the number of most frequent values kept per string or bool
	// column.
	// +kubebuilder:default=20
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	TopK *int32 `json:"topK,omitempty"`

	// histogramBins is the number of equal-width bins of each numeric
	// column's histogram.
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=1000
	// +optional
	HistogramBins *int32 `json:"histogramBins,omitempty"`

	// maxMemory bounds the memory of exact statistics (--max-memory), e.g.
	// 2Gi. When the data needs more, distinct counts and percentiles of
	// the largest columns switch to mergeable sketches and the report
	// states their error bounds. Omit for exact statistics whatever the
	// memory; then size resources.limits.memory for the data.
	// +optional
	MaxMemory *resource.Quantity `json:"maxMemory,omitempty"`

	// workers is the number of goroutines (--workers); omit to use the
	// CPUs the pod may use.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1024
	// +optional
	Workers *int32 `json:"workers,omitempty"`
}

// DatasetProfileSpec is the desired profile: of what data, where the report
// goes, and how often it is refreshed.
// +kubebuilder:validation:XValidation:rule="!has(self.timeZone) || has(self.schedule)",message="timeZone applies to schedule: set schedule or remove timeZone",fieldPath=".timeZone"
// +kubebuilder:validation:XValidation:rule="!has(self.timeZone) || !has(self.schedule) || !self.schedule.matches('^(CRON_)?TZ=')",message="give the time zone once: either timeZone or a CRON_TZ= prefix in schedule",fieldPath=".timeZone"
type DatasetProfileSpec struct {
	// source is the data to profile.
	// +required
	Source ProfileSource `json:"source"`

	// output is where profile.json (and profile.html) are written.
	// +required
	Output ReportOutputSpec `json:"output"`

	// options tune the statistics.
	// +kubebuilder:default={}
	// +optional
	Options *ProfileOptions `json:"options,omitempty"`

	// schedule re-profiles at these times (cron). Omit to profile when the
	// spec changes, when the referenced DatasetBuild publishes a new
	// build, or when the mldata.io/requested-at annotation changes.
	// +optional
	Schedule CronSchedule `json:"schedule,omitempty"`

	// timeZone of schedule; omit for the controller's (UTC).
	// +optional
	TimeZone TimeZone `json:"timeZone,omitempty"`

	// suspend stops new runs; a running one finishes.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	HistoryLimits `json:",inline"`

	RunPolicy `json:",inline"`

	// resources of the profile container.
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

// ColumnSummary is the headline statistics of one column. Numbers are
// plain JSON numbers, so that `kubectl get -o yaml` shows them as written;
// non-finite ones (NaN, ±Inf) are left out. mean and std are rounded to 8
// significant digits and top to 64 bytes, so that the summaries of many
// columns fit in a Job's termination message; profile.json has them exact.
type ColumnSummary struct {
	// name of the column.
	// +kubebuilder:validation:MaxLength=256
	// +required
	Name string `json:"name"`
	// dtype as in the report: int64, float64, bool, object (strings) or
	// datetime64[ns].
	// +kubebuilder:validation:MaxLength=64
	// +required
	DType string `json:"dtype"`
	// nullCount is the number of nulls.
	// +optional
	NullCount int64 `json:"nullCount,omitempty"`
	// uniqueCount is the number of distinct non-null values (approximate
	// when status.approximate is true).
	// +optional
	UniqueCount int64 `json:"uniqueCount,omitempty"`
	// mean of a numeric column, to 8 significant digits.
	// +optional
	Mean *float64 `json:"mean,omitempty"`
	// std is the sample standard deviation (ddof 1) of a numeric column, to
	// 8 significant digits.
	// +optional
	Std *float64 `json:"std,omitempty"`
	// min of a numeric column, exact.
	// +optional
	Min *float64 `json:"min,omitempty"`
	// max of a numeric column, exact.
	// +optional
	Max *float64 `json:"max,omitempty"`
	// top is the most frequent value of a string, bool or timestamp column
	// (ties: the smallest value), cut to 64 bytes.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Top string `json:"top,omitempty"`
}

// DatasetProfileStatus is the latest profile's summary.
type DatasetProfileStatus struct {
	// conditions of the resource: Ready, Reconciling, Stalled.
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

	// lastProfileTime is when the latest profile was written.
	// +optional
	LastProfileTime *metav1.Time `json:"lastProfileTime,omitempty"`

	// lastScheduleTime is the time of the latest scheduled run.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`

	// lastHandledRequest is the last mldata.io/requested-at annotation
	// value acted on.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	LastHandledRequest string `json:"lastHandledRequest,omitempty"`

	// reportURI is the latest profile.json.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	ReportURI string `json:"reportURI,omitempty"`

	// htmlReportURI is the latest profile.html.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	HTMLReportURI string `json:"htmlReportURI,omitempty"`

	// sourceBuildID is the build profiled, with datasetBuildRef.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	SourceBuildID string `json:"sourceBuildID,omitempty"`

	// rows profiled.
	// +optional
	Rows int64 `json:"rows,omitempty"`

	// columns profiled.
	// +optional
	Columns int32 `json:"columns,omitempty"`

	// approximate is true when sketches replaced exact distinct counts or
	// percentiles (see options.maxMemory); the report states the bounds.
	// +optional
	Approximate bool `json:"approximate,omitempty"`

	// columnSummaries of the first columns, in the report's order: at most
	// 64, and only as many as the profile Job's termination message (4 KiB)
	// holds; the report has them all.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	// +optional
	ColumnSummaries []ColumnSummary `json:"columnSummaries,omitempty"`

	// omittedColumns is the number of profiled columns that
	// columnSummaries leaves out (columns minus the summaries listed).
	// +optional
	OmittedColumns int32 `json:"omittedColumns,omitempty"`

	// jobName is the Job of the current or last run.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	JobName string `json:"jobName,omitempty"`
}

// DatasetProfile profiles a dataset — schema, statistics, distributions,
// histograms — in a Job running `mldata worker profile`, and keeps the
// headline numbers in status.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=dsp,categories=mldata
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Rows",type=integer,JSONPath=`.status.rows`
// +kubebuilder:printcolumn:name="Columns",type=integer,JSONPath=`.status.columns`
// +kubebuilder:printcolumn:name="Build",type=string,JSONPath=`.status.sourceBuildID`,priority=1
// +kubebuilder:printcolumn:name="Report",type=string,JSONPath=`.status.reportURI`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DatasetProfile struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's name, namespace, labels and annotations.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired profile.
	// +required
	Spec DatasetProfileSpec `json:"spec"`

	// status is the latest profile's summary.
	// +optional
	Status DatasetProfileStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *DatasetProfile) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces the status conditions.
func (in *DatasetProfile) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// DatasetProfileList is a list of DatasetProfiles.
// +kubebuilder:object:root=true
type DatasetProfileList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DatasetProfile `json:"items"`
}
