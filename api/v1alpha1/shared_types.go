package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Condition types. Ready, Reconciling and Stalled follow kstatus, so that
// Argo CD, Flux and kubectl wait read a resource's health without knowing
// mldata; the others are domain verdicts that alerts can select on.
const (
	// ConditionReady is True when the resource's last run succeeded and its
	// result is published (or nothing changed since it was).
	ConditionReady = "Ready"
	// ConditionReconciling is True while a Job is pending or running.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when progress needs a change from the user:
	// a spec the API server could not fully check, a missing Secret or
	// reference, or a Job that exhausted its retries.
	ConditionStalled = "Stalled"
	// ConditionValidated reports the DatasetBuild's validation rules.
	ConditionValidated = "Validated"
	// ConditionSchemaCompatible reports whether the DatasetBuild's schema
	// change is allowed by its schemaPolicy.
	ConditionSchemaCompatible = "SchemaCompatible"
	// ConditionDriftDetected is True when the DriftCheck's last run found
	// drift in at least one column.
	ConditionDriftDetected = "DriftDetected"
)

// Condition reasons. Reasons are CamelCase identifiers (metav1.Condition
// requires it); the message carries the details.
const (
	// ReasonSucceeded: the last run finished and published its result.
	ReasonSucceeded = "Succeeded"
	// ReasonUpToDate: the sources are unchanged since the published build,
	// so no Job was started.
	ReasonUpToDate = "UpToDate"
	// ReasonProgressing: a Job is pending or running.
	ReasonProgressing = "Progressing"
	// ReasonJobFailed: the Job failed; the message has its termination
	// message.
	ReasonJobFailed = "JobFailed"
	// ReasonSuspended: spec.suspend is true; nothing new is started.
	ReasonSuspended = "Suspended"
	// ReasonScheduled: the resource waits for its next scheduled run.
	ReasonScheduled = "Scheduled"
	// ReasonInvalidSpec: the spec passed admission but cannot run, e.g. an
	// unknown time zone, which CEL cannot check.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonSecretNotFound: a secretRef names a Secret that does not exist.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonReferenceNotFound: a datasetBuildRef or datasetProfileRef names
	// a resource that does not exist.
	ReasonReferenceNotFound = "ReferenceNotFound"
	// ReasonReferenceNotReady: the referenced resource has not published a
	// result yet.
	ReasonReferenceNotReady = "ReferenceNotReady"
	// ReasonValidationPassed: every validation rule passed.
	ReasonValidationPassed = "ValidationPassed"
	// ReasonValidationFailed: a rule failed with onFailure Fail; nothing
	// was published.
	ReasonValidationFailed = "ValidationFailed"
	// ReasonValidationWarning: a rule failed with onFailure Warn; the build
	// was published anyway.
	ReasonValidationWarning = "ValidationWarning"
	// ReasonSchemaCompatible: the schema is unchanged or changed in a way
	// the schemaPolicy allows.
	ReasonSchemaCompatible = "Compatible"
	// ReasonBreakingSchemaChange: the schemaPolicy forbids the change;
	// nothing was published.
	ReasonBreakingSchemaChange = "BreakingSchemaChange"
	// ReasonDriftFound: at least one column's metric crossed its threshold.
	ReasonDriftFound = "DriftFound"
	// ReasonNoDrift: no column crossed a threshold.
	ReasonNoDrift = "NoDrift"
	// ReasonInvalidInput: a source file cannot be read as data; the
	// message names the file, line and column. Not retried.
	ReasonInvalidInput = "InvalidInput"
	// ReasonRetryScheduled: the last run failed for a transient reason and
	// the next attempt is scheduled (Reconciling stays True).
	ReasonRetryScheduled = "RetryScheduled"
	// ReasonRetriesExhausted: every attempt allowed by spec.retry failed;
	// the message has the last failure.
	ReasonRetriesExhausted = "RetriesExhausted"
	// ReasonJobNameTaken: a Job of the run's name exists and is not
	// controlled by this resource.
	ReasonJobNameTaken = "JobNameTaken"
	// ReasonReconcileError: the controller could not finish a step (an
	// API error, an unreachable store); it tries again with backoff.
	ReasonReconcileError = "ReconcileError"
	// ReasonWaitingForJob: a Job of the previous spec is still running and
	// the new spec's run starts when it ends.
	ReasonWaitingForJob = "WaitingForJob"
)

// Labels and annotations the operator puts on the Jobs (and their pods) it
// creates, so that Jobs can be listed per resource without owner lookups
// and a resource's history survives a controller restart.
const (
	// LabelKind is the owning resource's kind: DatasetBuild,
	// DatasetProfile or DriftCheck.
	LabelKind = "mldata.io/kind"
	// LabelName is the owning resource's name.
	LabelName = "mldata.io/name"
	// LabelUID is the owning resource's UID: a name can be reused by a new
	// resource, a UID cannot.
	LabelUID = "mldata.io/uid"
	// LabelRunID is the build id or scheduled run id the Job runs.
	LabelRunID = "mldata.io/run-id"
	// AnnotationScheduledTime is the RFC 3339 time a scheduled Job was
	// created for; lastScheduleTime is rebuilt from it after a restart.
	AnnotationScheduledTime = "mldata.io/scheduled-time"
	// AnnotationRequestedAt, set on a resource to any new value, asks for
	// a run now (e.g. after the sources changed in a way listing cannot
	// see). The value last acted on is kept in status.lastHandledRequest.
	AnnotationRequestedAt = "mldata.io/requested-at"
)

// Bounds of status lists. Status is stored in etcd with the resource, whose
// size is limited (1.5 MiB by default), and many tools read it in full, so
// every list is capped; the full details are in the manifest or report in
// object storage, which status links to. The CRD's maxItems use the same
// numbers (a test keeps them equal).
const (
	// MaxConditions bounds status.conditions.
	MaxConditions = 8
	// MaxSplits bounds spec.split.ratios (split indexes are one byte).
	MaxSplits = 255
	// MaxStatusSources is the number of source files whose hashes status
	// keeps; beyond it only sourceDigest and sourceCount are kept.
	MaxStatusSources = 256
	// MaxSchemaColumns bounds the columns kept in status.schema.
	MaxSchemaColumns = 256
	// MaxSchemaHistory bounds status.schemaHistory (newest kept).
	MaxSchemaHistory = 32
	// MaxSchemaChanges bounds each list of status.schemaChanges.
	MaxSchemaChanges = 64
	// MaxProfileColumns bounds status.columnSummaries of a DatasetProfile.
	MaxProfileColumns = 64
	// MaxDriftedColumns bounds status.lastRun.driftedColumns.
	MaxDriftedColumns = 32
	// MaxRecentRuns bounds status.recentRuns and status.activeJobs.
	MaxRecentRuns = 10
	// MaxWarnings bounds status.warnings of a DatasetBuild, and
	// MaxWarningLength each of its items.
	MaxWarnings      = 8
	MaxWarningLength = 1024
)

// BucketURI is the URL of an object or a prefix in object storage:
// s3://bucket/prefix, gs://bucket/prefix, azblob://container/prefix, or
// file:///path on a volume that every Job pod mounts. Query parameters
// configure the bucket (e.g. s3://b/p?region=eu-west-1&endpoint=...);
// credentials never go in the URI: use secretRef. mem:// is refused because
// a memory bucket lives in one process and cannot carry data between Jobs.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=2048
// +kubebuilder:validation:XValidation:rule="self.matches('^(s3|gs|azblob|file)://[^[:space:]]+$')",message="must be a bucket URL: s3://bucket/prefix, gs://bucket/prefix, azblob://container/prefix or file:///path (mem:// cannot carry data between Jobs)"
type BucketURI string

// ColumnName is the name of a column of the data.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=256
type ColumnName string

// SplitName is the name of a split; it becomes a folder of the output, so it
// is restricted to what every object store accepts.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9][A-Za-z0-9_-]*$')",message="split names use letters, digits, '-' and '_', starting with a letter or digit (they become folder names)"
type SplitName string

// CronSchedule is a cron expression in the syntax of Kubernetes CronJobs:
// five fields (minute hour day-of-month month day-of-week; names such as
// MON or JAN allowed), or a macro (@hourly, @daily, @weekly, @monthly,
// @yearly, @every 1h30m), optionally prefixed with CRON_TZ=<IANA zone>.
// Times without a zone are in the controller's time zone (UTC in the
// published image).
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=256
// +kubebuilder:validation:XValidation:rule=`self.matches('^((CRON_)?TZ=[A-Za-z0-9_+/-]+ +)?(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|@every ([0-9]+(h|m|s))+|([*]|[0-5]?[0-9](-[0-5]?[0-9])?)(/[1-9][0-9]*)?(,([*]|[0-5]?[0-9](-[0-5]?[0-9])?)(/[1-9][0-9]*)?)* +([*]|(2[0-3]|1[0-9]|0?[0-9])(-(2[0-3]|1[0-9]|0?[0-9]))?)(/[1-9][0-9]*)?(,([*]|(2[0-3]|1[0-9]|0?[0-9])(-(2[0-3]|1[0-9]|0?[0-9]))?)(/[1-9][0-9]*)?)* +([*?]|(3[01]|[12][0-9]|0?[1-9])(-(3[01]|[12][0-9]|0?[1-9]))?)(/[1-9][0-9]*)?(,([*?]|(3[01]|[12][0-9]|0?[1-9])(-(3[01]|[12][0-9]|0?[1-9]))?)(/[1-9][0-9]*)?)* +([*]|(1[0-2]|0?[1-9]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(-(1[0-2]|0?[1-9]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)))?)(/[1-9][0-9]*)?(,([*]|(1[0-2]|0?[1-9]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(-(1[0-2]|0?[1-9]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)))?)(/[1-9][0-9]*)?)* +([*?]|([0-6]|(?i:sun|mon|tue|wed|thu|fri|sat))(-([0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)))?)(/[1-9][0-9]*)?(,([*?]|([0-6]|(?i:sun|mon|tue|wed|thu|fri|sat))(-([0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)))?)(/[1-9][0-9]*)?)*)$')`,message="must be a cron expression: five fields (minute hour day-of-month month day-of-week) such as '0 3 * * *' or '*/15 * * * MON-FRI', or a macro such as @daily, optionally prefixed with CRON_TZ=<zone>"
type CronSchedule string

// TimeZone is an IANA time zone name such as Europe/Berlin or UTC.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=64
// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$')",message="must be an IANA time zone name such as Europe/Berlin or UTC"
type TimeZone string

// ObjectName is the name of a Kubernetes object (a DNS-1123 subdomain).
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="must be a lower-case DNS-1123 name, e.g. churn-train"
type ObjectName string

// SecretRef names a Secret in the resource's namespace. Its keys are passed
// to the Job's container as environment variables (envFrom), and the
// controller lists sources with the same keys: AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (optionally AWS_SESSION_TOKEN, AWS_REGION) for s3://,
// GOOGLE_APPLICATION_CREDENTIALS_JSON (a service-account JSON key) for gs://,
// or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN
// for azblob://. Without one, the Job's service account provides the
// credentials (IRSA, workload identity).
type SecretRef struct {
	// name of the Secret.
	// +required
	Name ObjectName `json:"name"`
}

// SourceFormat is the format of source files.
// +kubebuilder:validation:Enum=auto;csv;jsonl;parquet
type SourceFormat string

// Source formats. Values are lower case, as in the CLI and in file names.
const (
	// SourceFormatAuto detects each file's format from its extension
	// (.csv, .tsv, .jsonl, .ndjson, .parquet, plus .gz or .zst).
	SourceFormatAuto    SourceFormat = "auto"
	SourceFormatCSV     SourceFormat = "csv"
	SourceFormatJSONL   SourceFormat = "jsonl"
	SourceFormatParquet SourceFormat = "parquet"
)

// InputCompression is the compression of text source files.
// +kubebuilder:validation:Enum=auto;none;gzip;zstd
type InputCompression string

// Input compressions.
const (
	// InputCompressionAuto detects it from the file name (.gz, .zst).
	InputCompressionAuto InputCompression = "auto"
	InputCompressionNone InputCompression = "none"
	InputCompressionGzip InputCompression = "gzip"
	InputCompressionZstd InputCompression = "zstd"
)

// OutputFormat is the format of the files a build writes.
// +kubebuilder:validation:Enum=parquet;csv;jsonl
type OutputFormat string

// Output formats.
const (
	OutputFormatParquet OutputFormat = "parquet"
	OutputFormatCSV     OutputFormat = "csv"
	OutputFormatJSONL   OutputFormat = "jsonl"
)

// OutputCompression is the compression of the files a build writes.
// +kubebuilder:validation:Enum=snappy;gzip;zstd;none
type OutputCompression string

// Output compressions. Snappy is a Parquet codec only.
const (
	OutputCompressionSnappy OutputCompression = "snappy"
	OutputCompressionGzip   OutputCompression = "gzip"
	OutputCompressionZstd   OutputCompression = "zstd"
	OutputCompressionNone   OutputCompression = "none"
)

// SourceSpec says where a build's raw files are and how to read them. It
// mirrors the source flags of `mldata build`.
// +kubebuilder:validation:XValidation:rule="!has(self.csv) || !has(self.format) || self.format in ['auto', 'csv']",message="csv options apply only to format csv or auto: remove source.csv or change source.format",fieldPath=".csv"
// +kubebuilder:validation:XValidation:rule="!has(self.format) || self.format != 'parquet' || !has(self.compression) || self.compression in ['auto', 'none']",message="parquet files carry their own compression: set source.compression to auto or none, or remove it",fieldPath=".compression"
type SourceSpec struct {
	// uri of one file, or of a prefix (folder) whose files are all sources
	// (--source). Files are read in key order.
	// +required
	URI BucketURI `json:"uri"`

	// format of the source files (--format); auto detects each file's
	// format from its extension.
	// +kubebuilder:default=auto
	// +optional
	Format SourceFormat `json:"format,omitempty"`

	// include keeps only files whose key, relative to uri, matches one of
	// these globs (--include), e.g. '*.csv' or '**/part-*.parquet'. Omit
	// to read every file under uri.
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +optional
	Include []string `json:"include,omitempty"`

	// compression of text files; auto detects it from the name (.gz, .zst).
	// +kubebuilder:default=auto
	// +optional
	Compression InputCompression `json:"compression,omitempty"`

	// csv holds options for CSV files.
	// +optional
	CSV *CSVOptions `json:"csv,omitempty"`

	// nullValues are the text values read as null in CSV and JSONL files
	// (--null-value), replacing the default list: "", "#N/A", "#N/A N/A",
	// "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
	// "<NA>", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null". Omit for
	// the default list.
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=64
	// +optional
	NullValues []string `json:"nullValues,omitempty"`

	// inferTimestamps reads text columns whose every non-null value is an
	// ISO-8601 date-time as timestamps (--infer-timestamps).
	// +kubebuilder:default=true
	// +optional
	InferTimestamps *bool `json:"inferTimestamps,omitempty"`

	// secretRef names the Secret with the credentials for uri's bucket.
	// +optional
	SecretRef *SecretRef `json:"secretRef,omitempty"`
}

// CSVOptions are options for CSV files.
type CSVOptions struct {
	// delimiter is the field separator (--delimiter): one ASCII character
	// other than a quote or a line break. Omit for ',' (a tab for .tsv
	// files).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1
	// +kubebuilder:validation:XValidation:rule="self.matches('^[\\x01-\\x09\\x0b\\x0c\\x0e-\\x21\\x23-\\x7f]$')",message="csv.delimiter must be one ASCII character other than a double quote or a line break, e.g. ',' ';' '|' or a tab"
	// +optional
	Delimiter string `json:"delimiter,omitempty"`
}

// OutputSpec says where and how a build writes its dataset.
// +kubebuilder:validation:XValidation:rule="!has(self.compression) || self.compression != 'snappy' || !has(self.format) || self.format == 'parquet'",message="snappy is a parquet codec: use gzip, zstd or none for csv and jsonl output",fieldPath=".compression"
type OutputSpec struct {
	// uri is the prefix the dataset is published under (--output):
	// builds/<buildID>/<split>/part-NNNNN.<ext>, builds/<buildID>/manifest.json,
	// and latest.json, which names the current build and is written last.
	// +required
	URI BucketURI `json:"uri"`

	// format of the written files (--output-format).
	// +kubebuilder:default=parquet
	// +optional
	Format OutputFormat `json:"format,omitempty"`

	// compression of the written files (--compression). Omit for snappy
	// with parquet and none with csv and jsonl.
	// +optional
	Compression OutputCompression `json:"compression,omitempty"`

	// secretRef names the Secret with the credentials for uri's bucket,
	// when it differs from the source's.
	// +optional
	SecretRef *SecretRef `json:"secretRef,omitempty"`
}

// ReportOutputSpec says where a profile or drift report is written.
type ReportOutputSpec struct {
	// uri is the prefix the reports are written under: the JSON report
	// (profile.json or drift.json) and, with html, a self-contained HTML
	// report beside it. status.reportURI names the latest run's JSON.
	// +required
	URI BucketURI `json:"uri"`

	// html also writes a self-contained HTML report beside the JSON.
	// +kubebuilder:default=true
	// +optional
	HTML *bool `json:"html,omitempty"`

	// secretRef names the Secret with the credentials for uri's bucket.
	// +optional
	SecretRef *SecretRef `json:"secretRef,omitempty"`
}

// DatasetBuildRef points at the dataset a DatasetBuild in the same namespace
// publishes.
type DatasetBuildRef struct {
	// name of the DatasetBuild.
	// +required
	Name ObjectName `json:"name"`

	// split to read, e.g. train. Omit to read every split.
	// +optional
	Split SplitName `json:"split,omitempty"`

	// buildID pins one published build (status.buildID of the
	// DatasetBuild). Omit to follow the latest build: the reader then
	// re-runs whenever the DatasetBuild publishes a new one. Pin a
	// drift baseline, or it moves with every rebuild.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +optional
	BuildID string `json:"buildID,omitempty"`
}

// DatasetProfileRef points at a DatasetProfile in the same namespace; its
// latest report (histogram edges and value counts) serves as a drift
// baseline.
type DatasetProfileRef struct {
	// name of the DatasetProfile.
	// +required
	Name ObjectName `json:"name"`
}

// HistoryLimits bound the finished Jobs a scheduled resource keeps.
type HistoryLimits struct {
	// successfulRunsHistoryLimit is the number of successful Jobs kept.
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	SuccessfulRunsHistoryLimit *int32 `json:"successfulRunsHistoryLimit,omitempty"`

	// failedRunsHistoryLimit is the number of failed Jobs kept.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	FailedRunsHistoryLimit *int32 `json:"failedRunsHistoryLimit,omitempty"`
}

// RunPolicy bounds the Jobs of a resource: how long one may run and how
// often a run whose failure was transient is tried again.
type RunPolicy struct {
	// activeDeadlineSeconds is the longest a run's Job may take, from its
	// start; the Job is then stopped and the run counts as a transient
	// failure (retried under retry). It also frees the resource from a Job
	// that cannot start, e.g. one waiting for a missing service account.
	// +kubebuilder:default=21600
	// +kubebuilder:validation:Minimum=60
	// +kubebuilder:validation:Maximum=604800
	// +optional
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`

	// retry bounds the retries of a run that failed for a transient reason
	// (storage errors or timeouts, a lost node, the deadline). A permanent
	// failure (invalid spec, unreadable input, failed validation, refused
	// schema change) is not retried: it waits for a change of the spec or
	// the inputs.
	// +kubebuilder:default={maxAttempts: 5}
	// +optional
	Retry *RetrySpec `json:"retry,omitempty"`
}

// RetrySpec bounds the retries of a run.
type RetrySpec struct {
	// maxAttempts is the number of runs of the same inputs, the first
	// included, before a transient failure stalls the resource. Retries
	// wait 30 s, 1 min, 2 min, … (doubling, at most 1 h) after the failed
	// run.
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	MaxAttempts *int32 `json:"maxAttempts,omitempty"`
}

// DefaultMaxAttempts and DefaultActiveDeadlineSeconds apply when the fields
// are unset (objects stored before the fields existed).
const (
	DefaultMaxAttempts           = 5
	DefaultActiveDeadlineSeconds = 21600
)

// MaxAttemptsOf is p's maxAttempts, or the default.
func (p *RunPolicy) MaxAttemptsOf() int32 {
	if p.Retry == nil || p.Retry.MaxAttempts == nil || *p.Retry.MaxAttempts < 1 {
		return DefaultMaxAttempts
	}
	return *p.Retry.MaxAttempts
}

// ActiveDeadlineOf is p's activeDeadlineSeconds, or the default.
func (p *RunPolicy) ActiveDeadlineOf() int64 {
	if p.ActiveDeadlineSeconds == nil || *p.ActiveDeadlineSeconds <= 0 {
		return DefaultActiveDeadlineSeconds
	}
	return *p.ActiveDeadlineSeconds
}

// RetryStatus records the attempts at the current inputs.
type RetryStatus struct {
	// inputs is the digest of what the current run depends on (spec
	// generation, source listing or referenced results, requested-at);
	// new inputs start again at attempt 1.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Inputs string `json:"inputs,omitempty"`

	// failedAttempts is the number of failed runs of inputs in a row.
	// +kubebuilder:validation:Minimum=0
	// +optional
	FailedAttempts int32 `json:"failedAttempts,omitempty"`

	// nextAttemptTime is when the next attempt starts, after a transient
	// failure; unset when the last run succeeded, failed permanently or
	// used the last attempt.
	// +optional
	NextAttemptTime *metav1.Time `json:"nextAttemptTime,omitempty"`

	// failedListings is the number of failed listings of the sources by
	// the controller in a row (DatasetBuild: the store did not answer, or
	// answered with an error). They count against retry.maxAttempts as
	// failed runs do, with the same backoff; a successful listing, a new
	// spec generation or a new mldata.io/requested-at starts again at 0.
	// +kubebuilder:validation:Minimum=0
	// +optional
	FailedListings int32 `json:"failedListings,omitempty"`

	// nextListingTime is when the sources are listed again after a failed
	// listing; unset when the last listing succeeded or used the last
	// attempt.
	// +optional
	NextListingTime *metav1.Time `json:"nextListingTime,omitempty"`
}
