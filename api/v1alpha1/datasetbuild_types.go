package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SchemaPolicy decides which schema changes a build may publish.
// +kubebuilder:validation:Enum=AllowAll;AllowAdditive;Strict
type SchemaPolicy string

// Schema policies, as in `mldata build --schema-policy`.
const (
	// SchemaPolicyAllowAll publishes every change, breaking or not.
	SchemaPolicyAllowAll SchemaPolicy = "AllowAll"
	// SchemaPolicyAllowAdditive publishes added columns, safe widenings
	// (int32→int64, int→float64) and non-null→nullable; it fails the build
	// on removals, narrowings and incompatible type changes.
	SchemaPolicyAllowAdditive SchemaPolicy = "AllowAdditive"
	// SchemaPolicyStrict fails the build on any schema change.
	SchemaPolicyStrict SchemaPolicy = "Strict"
)

// OnFailure says what a failed validation rule does to a build.
// +kubebuilder:validation:Enum=Fail;Warn
type OnFailure string

// Validation failure modes.
const (
	// OnFailureFail publishes nothing; the previous build stays current.
	OnFailureFail OnFailure = "Fail"
	// OnFailureWarn publishes the build and reports the failures in the
	// manifest and the Validated condition.
	OnFailureWarn OnFailure = "Warn"
)

// RuleType is the kind of a validation rule.
// +kubebuilder:validation:Enum=required;type;notNull;unique;min;max;allowedValues;maxNullFraction;minRows
type RuleType string

// Validation rule types; each names the fields it needs.
const (
	// RuleRequired: column exists.
	RuleRequired RuleType = "required"
	// RuleHasType: column has type dtype.
	RuleHasType RuleType = "type"
	// RuleNotNull: column has no nulls.
	RuleNotNull RuleType = "notNull"
	// RuleUnique: column's non-null values are distinct across the dataset.
	RuleUnique RuleType = "unique"
	// RuleMin: column's values are ≥ min.
	RuleMin RuleType = "min"
	// RuleMax: column's values are ≤ max.
	RuleMax RuleType = "max"
	// RuleAllowedValues: column's values (as text) are among values.
	RuleAllowedValues RuleType = "allowedValues"
	// RuleMaxNullFraction: column's share of nulls is ≤ fraction.
	RuleMaxNullFraction RuleType = "maxNullFraction"
	// RuleMinRows: the dataset has at least rows rows.
	RuleMinRows RuleType = "minRows"
)

// DType is a column type a `type` rule can require.
// +kubebuilder:validation:Enum=int64;float64;bool;string;timestamp;numeric
type DType string

// Column types for type rules; numeric accepts any integer or float type.
const (
	DTypeInt64     DType = "int64"
	DTypeFloat64   DType = "float64"
	DTypeBool      DType = "bool"
	DTypeString    DType = "string"
	DTypeTimestamp DType = "timestamp"
	DTypeNumeric   DType = "numeric"
)

// SplitSpec says how rows are assigned to splits. A row's split depends only
// on its key (or, without a key, its content) and the seed — never on its
// position — so adding files never moves existing rows between splits.
// +kubebuilder:validation:XValidation:rule="self.ratios.map(r, r.ratio).sum() >= 0.999999999 && self.ratios.map(r, r.ratio).sum() <= 1.000000001",message="split.ratios must sum to 1: adjust the ratios so that they add up to 1 (e.g. 0.8, 0.1, 0.1)",fieldPath=".ratios"
type SplitSpec struct {
	// ratios lists the splits and the fraction of rows each receives
	// (--split train=0.8,validation=0.1,test=0.1). The fractions must sum
	// to 1 (within 1e-9). Order matters: a row goes to the first split
	// whose cumulative fraction exceeds the row's hash, so reordering the
	// list moves rows. It is a list, not a map, for that reason.
	//
	// Decision: fractions are float64 (the CRD is generated with
	// allowDangerousTypes). Users write them as plain numbers as in the
	// CLI (a string decimal would have to be quoted in YAML), the pipeline
	// computes with float64 anyway, and both this CRD's CEL rule and the
	// pipeline accept a sum within the same 1e-9 of 1, so admission and
	// the worker never disagree.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=255
	// +required
	Ratios []SplitRatio `json:"ratios"`

	// seed of the split hash (--seed). Changing it reassigns every row.
	// +kubebuilder:default=42
	// +kubebuilder:validation:Minimum=0
	// +optional
	Seed *int64 `json:"seed,omitempty"`

	// key is a column whose value alone decides a row's split
	// (--split-key), e.g. customer_id, so that all rows of one entity land
	// in the same split. Omit to hash each row's whole content.
	// +optional
	Key ColumnName `json:"key,omitempty"`

	// stratifyBy is a column whose value is mixed into the hash
	// (--stratify-by), so each of its values is split in the ratios on its
	// own; the manifest reports the rows per (value, split). Use a column
	// that is constant per key.
	// +optional
	StratifyBy ColumnName `json:"stratifyBy,omitempty"`
}

// SplitRatio is one split and its share of the rows.
type SplitRatio struct {
	// name of the split, e.g. train; it becomes a folder of the output.
	// +required
	Name SplitName `json:"name"`

	// ratio is the fraction of rows, greater than 0 and at most 1. Leave
	// a split out instead of giving it 0.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:ExclusiveMinimum=true
	// +kubebuilder:validation:Maximum=1
	// +required
	Ratio float64 `json:"ratio"`
}

// ValidationSpec lists the rules the rows must pass before a build is
// published.
type ValidationSpec struct {
	// rules are checked over the whole dataset (--rules file). The list
	// has the shape of the CLI's rules file.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=128
	// +optional
	Rules []ValidationRule `json:"rules,omitempty"`

	// onFailure decides what a failed rule does (--on-failure): Fail
	// publishes nothing, Warn publishes and reports.
	// +kubebuilder:default=Fail
	// +optional
	OnFailure OnFailure `json:"onFailure,omitempty"`

	// splits configures the split check: no key in two splits, splits
	// alike. It runs on every build with two or more splits unless
	// turned off.
	// +optional
	Splits *SplitCheckSpec `json:"splits,omitempty"`
}

// ValidationRule is one check on the data.
// +kubebuilder:validation:XValidation:rule="self.type == 'minRows' || has(self.column)",messageExpression="'a ' + self.type + ' rule needs column'",fieldPath=".column"
// +kubebuilder:validation:XValidation:rule="self.type != 'type' || has(self.dtype)",message="a type rule needs dtype (int64, float64, bool, string, timestamp or numeric)",fieldPath=".dtype"
// +kubebuilder:validation:XValidation:rule="self.type != 'min' || has(self.min)",message="a min rule needs min, the smallest allowed value",fieldPath=".min"
// +kubebuilder:validation:XValidation:rule="self.type != 'max' || has(self.max)",message="a max rule needs max, the largest allowed value",fieldPath=".max"
// +kubebuilder:validation:XValidation:rule="self.type != 'allowedValues' || (has(self.values) && size(self.values) > 0)",message="an allowedValues rule needs values, the list of allowed values",fieldPath=".values"
// +kubebuilder:validation:XValidation:rule="self.type != 'maxNullFraction' || has(self.fraction)",message="a maxNullFraction rule needs fraction, between 0 and 1",fieldPath=".fraction"
// +kubebuilder:validation:XValidation:rule="self.type != 'minRows' || has(self.rows)",message="a minRows rule needs rows, the smallest allowed row count",fieldPath=".rows"
type ValidationRule struct {
	// type of the rule: required (column exists), type (column has
	// dtype), notNull, unique, min, max, allowedValues, maxNullFraction,
	// minRows.
	// +required
	Type RuleType `json:"type"`

	// column the rule checks; every type but minRows needs one.
	// +optional
	Column ColumnName `json:"column,omitempty"`

	// dtype the column must have (type rules).
	// +optional
	DType DType `json:"dtype,omitempty"`

	// min is the smallest allowed value (min rules).
	// +optional
	Min *float64 `json:"min,omitempty"`

	// max is the largest allowed value (max rules).
	// +optional
	Max *float64 `json:"max,omitempty"`

	// values are the allowed values, compared with each value's text form
	// (allowedValues rules).
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=256
	// +optional
	Values []string `json:"values,omitempty"`

	// fraction is the largest allowed share of nulls, from 0 to 1
	// (maxNullFraction rules).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1
	// +optional
	Fraction *float64 `json:"fraction,omitempty"`

	// rows is the smallest allowed row count (minRows rules).
	// +kubebuilder:validation:Minimum=0
	// +optional
	Rows *int64 `json:"rows,omitempty"`
}

// ParallelismSpec sizes a build's work.
type ParallelismSpec struct {
	// workers is the number of goroutines per pod (--workers). Omit to use
	// the CPUs the pod may use.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1024
	// +optional
	Workers *int32 `json:"workers,omitempty"`

	// chunkRows is the number of rows per chunk of work (--chunk-rows);
	// memory is about chunkRows × workers rows. Omit for 65536.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=16777216
	// +optional
	ChunkRows *int32 `json:"chunkRows,omitempty"`

	// partRows bounds the source rows per output part file
	// (--part-rows). Omit for 1048576.
	// +kubebuilder:validation:Minimum=1
	// +optional
	PartRows *int64 `json:"partRows,omitempty"`

	// shards runs the build as shards: a plan Job, an Indexed Job of
	// this many pods, each processing the part of the changed source
	// files the plan gives it (big files cut into ranges), and a commit
	// Job that validates across shards and publishes. The published
	// dataset is the same whatever the number of shards. Omit or 1 to
	// build in one pod.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1024
	// +optional
	Shards *int32 `json:"shards,omitempty"`

	// maxParallel bounds how many shards run at once. Omit to run them
	// all at once.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1024
	// +optional
	MaxParallel *int32 `json:"maxParallel,omitempty"`
}

// DatasetBuildSpec is the desired dataset: where its raw files are, how they
// are split and validated, and where the result is published.
// +kubebuilder:validation:XValidation:rule="!(has(self.intervalSeconds) && has(self.schedule))",message="set either intervalSeconds or schedule, not both"
// +kubebuilder:validation:XValidation:rule="!has(self.timeZone) || has(self.schedule)",message="timeZone applies to schedule: set schedule or remove timeZone",fieldPath=".timeZone"
// +kubebuilder:validation:XValidation:rule="!has(self.timeZone) || !has(self.schedule) || !self.schedule.matches('^(CRON_)?TZ=')",message="give the time zone once: either timeZone or a CRON_TZ= prefix in schedule",fieldPath=".timeZone"
type DatasetBuildSpec struct {
	// source is where the raw files are.
	// +required
	Source SourceSpec `json:"source"`

	// output is where the dataset is published. output.uri cannot change:
	// the published builds, their schema history and the incremental
	// cache live there.
	// +kubebuilder:validation:XValidation:rule="self.uri == oldSelf.uri",message="output.uri is immutable: create a new DatasetBuild to publish elsewhere",fieldPath=".uri"
	// +required
	Output OutputSpec `json:"output"`

	// split says how rows are assigned to splits. It cannot change, since
	// a new ratio, seed, key or stratifyBy would move rows between the
	// splits of a published dataset (leaking test rows into train);
	// create a new DatasetBuild instead. Omit for train 0.8, validation
	// 0.1, test 0.1, seed 42, hashing whole rows.
	// +kubebuilder:default={ratios: {{name: train, ratio: 0.8}, {name: validation, ratio: 0.1}, {name: test, ratio: 0.1}}, seed: 42}
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="split is immutable: changing it would move rows between published splits; create a new DatasetBuild instead"
	// +optional
	Split *SplitSpec `json:"split,omitempty"`

	// validation lists the rules rows must pass before publishing.
	// +optional
	Validation *ValidationSpec `json:"validation,omitempty"`

	// schemaPolicy decides which schema changes against the published
	// build may be published (--schema-policy). A refused change fails
	// the build before anything is published.
	// +kubebuilder:default=AllowAdditive
	// +optional
	SchemaPolicy SchemaPolicy `json:"schemaPolicy,omitempty"`

	// incremental reuses the published build's outputs for source files
	// whose content is unchanged, so a rebuild reads only changed files;
	// a rebuild in which nothing changed starts no Job. false reprocesses
	// every file (--full).
	// +kubebuilder:default=true
	// +optional
	Incremental *bool `json:"incremental,omitempty"`

	// parallelism sizes the work.
	// +optional
	Parallelism *ParallelismSpec `json:"parallelism,omitempty"`

	// intervalSeconds re-lists the sources this often and rebuilds when
	// they changed. Omit (and omit schedule) to build only when the spec
	// changes or the mldata.io/requested-at annotation does.
	// +kubebuilder:validation:Minimum=60
	// +kubebuilder:validation:Maximum=31536000
	// +optional
	IntervalSeconds *int32 `json:"intervalSeconds,omitempty"`

	// schedule re-lists the sources at these times (cron) and rebuilds
	// when they changed. Mutually exclusive with intervalSeconds.
	// +optional
	Schedule CronSchedule `json:"schedule,omitempty"`

	// timeZone of schedule; omit for the controller's (UTC).
	// +optional
	TimeZone TimeZone `json:"timeZone,omitempty"`

	// suspend stops new builds; a running one finishes.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	RunPolicy `json:",inline"`

	// resources of the build container. Size memory for about chunkRows ×
	// workers rows.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// serviceAccountName runs the Job's pods under this service account,
	// e.g. one bound to a cloud identity that may read the buckets.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// limits bound what reading one input file may take in memory; omitted
	// fields take the operator's values, which are also their ceilings.
	// +optional
	Limits *InputLimits `json:"limits,omitempty"`

	// historyLimit is the number of published builds kept under
	// output.uri; older ones are deleted after a successful build
	// (--history-limit). 0 keeps all.
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	HistoryLimit *int32 `json:"historyLimit,omitempty"`

	// historyGraceSeconds keeps a replaced build readable for this long
	// after a newer build replaced it, beyond historyLimit, so that jobs
	// that resolved the previous build a moment ago can finish reading it
	// (--history-grace). 0 keeps replaced builds by historyLimit alone.
	// +kubebuilder:default=3600
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=2592000
	// +optional
	HistoryGraceSeconds *int64 `json:"historyGraceSeconds,omitempty"`

	// publishGate compares each candidate build with a baseline (the
	// published build by default) before publishing it; a drifted
	// candidate is not published under onDrift Fail.
	// +optional
	PublishGate *PublishGateSpec `json:"publishGate,omitempty"`
}

// SplitRows is the row count of one split.
type SplitRows struct {
	// name of the split.
	// +required
	Name SplitName `json:"name"`
	// rows in the split.
	// +required
	Rows int64 `json:"rows"`
}

// SourceFile is one source file of a build.
type SourceFile struct {
	// key of the file, relative to source.uri.
	// +kubebuilder:validation:MaxLength=1024
	// +required
	Key string `json:"key"`
	// size in bytes.
	// +required
	Size int64 `json:"size"`
	// sha256 of the file's bytes, hex.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	SHA256 string `json:"sha256,omitempty"`
}

// ColumnSchema is one column of a schema.
type ColumnSchema struct {
	// name of the column.
	// +kubebuilder:validation:MaxLength=256
	// +required
	Name string `json:"name"`
	// type of the column, e.g. int64, float64, string, bool, timestamp.
	// +kubebuilder:validation:MaxLength=128
	// +required
	Type string `json:"type"`
	// nullable is true when the column has nulls.
	// +optional
	Nullable bool `json:"nullable,omitempty"`
}

// SchemaStatus is the schema of the published build.
type SchemaStatus struct {
	// version is 1 for the first schema and grows by one with each new
	// fingerprint.
	// +required
	Version int32 `json:"version"`
	// fingerprint is the sha256 over the ordered (name, type, nullable)
	// list, hex.
	// +kubebuilder:validation:MaxLength=64
	// +required
	Fingerprint string `json:"fingerprint"`
	// columnCount is the number of columns, which may exceed the columns
	// listed.
	// +optional
	ColumnCount int32 `json:"columnCount,omitempty"`
	// columns in order, the first 256; the manifest has all of them.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	// +optional
	Columns []ColumnSchema `json:"columns,omitempty"`
}

// SchemaVersion is one entry of the schema history.
type SchemaVersion struct {
	// version number.
	// +required
	Version int32 `json:"version"`
	// fingerprint of the schema, hex.
	// +kubebuilder:validation:MaxLength=64
	// +required
	Fingerprint string `json:"fingerprint"`
	// buildID of the first build with this schema.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	BuildID string `json:"buildID,omitempty"`
	// time the first build with this schema was published.
	// +optional
	Time *metav1.Time `json:"time,omitempty"`
	// columnCount is the number of columns.
	// +optional
	ColumnCount int32 `json:"columnCount,omitempty"`
}

// TypeChange is a column whose type changed.
type TypeChange struct {
	// column that changed.
	// +kubebuilder:validation:MaxLength=256
	// +required
	Column string `json:"column"`
	// from is the old type.
	// +kubebuilder:validation:MaxLength=128
	// +required
	From string `json:"from"`
	// to is the new type.
	// +kubebuilder:validation:MaxLength=128
	// +required
	To string `json:"to"`
	// breaking is true for narrowings and incompatible changes.
	// +optional
	Breaking bool `json:"breaking,omitempty"`
}

// SchemaChanges is the difference between two schema versions.
type SchemaChanges struct {
	// fromVersion is the previous schema version.
	// +optional
	FromVersion int32 `json:"fromVersion,omitempty"`
	// toVersion is the new schema version.
	// +optional
	ToVersion int32 `json:"toVersion,omitempty"`
	// breaking is true when any change is breaking (a removal, a
	// narrowing or an incompatible type change).
	// +optional
	Breaking bool `json:"breaking,omitempty"`
	// added columns.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=256
	// +optional
	Added []string `json:"added,omitempty"`
	// removed columns.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=256
	// +optional
	Removed []string `json:"removed,omitempty"`
	// typeChanges are columns whose type or nullability changed.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +optional
	TypeChanges []TypeChange `json:"typeChanges,omitempty"`
	// truncated is true when a list was cut at 64 entries; the manifest
	// has the full diff.
	// +optional
	Truncated bool `json:"truncated,omitempty"`
}

// DatasetBuildStatus records what was built from what.
type DatasetBuildStatus struct {
	// conditions of the resource: Ready, Reconciling, Stalled, Validated, SchemaCompatible.
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

	// buildID of the published build.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	BuildID string `json:"buildID,omitempty"`

	// lastBuildTime is when the published build was published.
	// +optional
	LastBuildTime *metav1.Time `json:"lastBuildTime,omitempty"`

	// lastCheckTime is when a listing of the sources last found them
	// changed and started a build (or the build was recorded). Interval
	// checks that find nothing new write no status, so that resources
	// reading this build are not woken every interval.
	// +optional
	LastCheckTime *metav1.Time `json:"lastCheckTime,omitempty"`

	// lastHandledRequest is the last mldata.io/requested-at annotation
	// value acted on.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	LastHandledRequest string `json:"lastHandledRequest,omitempty"`

	// manifestURI is the published build's manifest, with every detail
	// status leaves out.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	ManifestURI string `json:"manifestURI,omitempty"`

	// gateReportURI is the published build's publish gate page (gate.html
	// beside its manifest; gate.json holds the verdict with its drift
	// report). A refused build's page is named in the Ready message.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	GateReportURI string `json:"gateReportURI,omitempty"`

	// totalRows is the number of rows over all splits.
	// +optional
	TotalRows int64 `json:"totalRows,omitempty"`

	// rows per split, in spec order.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=255
	// +optional
	Rows []SplitRows `json:"rows,omitempty"`

	// filesProcessed is the number of source files read by the last build.
	// +optional
	FilesProcessed int64 `json:"filesProcessed,omitempty"`

	// filesReused is the number of source files whose earlier outputs the
	// last build reused without reading them.
	// +optional
	FilesReused int64 `json:"filesReused,omitempty"`

	// sourceCount is the number of source files of the published build.
	// +optional
	SourceCount int64 `json:"sourceCount,omitempty"`

	// sourceDigest is the sha256 over the sorted "key:sha256" lines of all
	// source files, hex: equal digests mean equal sources.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	SourceDigest string `json:"sourceDigest,omitempty"`

	// sources are the source files with their hashes when there are at
	// most 256 of them; beyond that only sourceDigest and sourceCount are
	// kept, and the manifest lists them all.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	// +optional
	Sources []SourceFile `json:"sources,omitempty"`

	// schema of the published build.
	// +optional
	Schema *SchemaStatus `json:"schema,omitempty"`

	// schemaHistory lists the schema versions, oldest first, the last 32.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +optional
	SchemaHistory []SchemaVersion `json:"schemaHistory,omitempty"`

	// schemaChanges is the difference between the last two schema
	// versions.
	// +optional
	SchemaChanges *SchemaChanges `json:"schemaChanges,omitempty"`

	// jobName is the Job of the current or last build.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	JobName string `json:"jobName,omitempty"`

	// warnings are problems of the last successful build that did not
	// stop it from being published: the pointer latest.json left behind
	// the published build, pruning of old builds failed. Each is also
	// reported as a Warning event (reason BuildWarning). At most 8, each
	// cut to 1024 characters; the next successful build replaces them.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=1024
	// +optional
	Warnings []string `json:"warnings,omitempty"`
	// artifact pins the published build exactly, for a training Job to
	// record what it read and check it later.
	// +optional
	Artifact *ArtifactStatus `json:"artifact,omitempty"`
	// shards is the progress of the current or last sharded build.
	// +optional
	Shards *ShardStatus `json:"shards,omitempty"`
}

// ArtifactStatus names one published build and the digest of its contents.
type ArtifactStatus struct {
	// buildID of the build, which `mldata parts --build` takes.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +required
	BuildID string `json:"buildID,omitempty"`

	// digest is "sha256:" and the hex SHA-256 over one line per part file
	// of the build, in manifest order: split, path, rows, bytes and the
	// part's own SHA-256, tab-separated. Equal digests mean the same part
	// files with the same contents (docs/reading.md).
	// +kubebuilder:validation:Pattern=`^sha256:[0-9a-f]{64}$`
	// +kubebuilder:validation:MinLength=71
	// +kubebuilder:validation:MaxLength=71
	// +required
	Digest string `json:"digest,omitempty"`

	// manifestURI is the build's manifest.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +required
	ManifestURI string `json:"manifestURI,omitempty"`
}

// Phases of a sharded build, in ShardStatus.phase.
const (
	ShardPhasePlan   = "Plan"
	ShardPhaseShards = "Shards"
	ShardPhaseCommit = "Commit"
	ShardPhaseDone   = "Done"
)

// ShardStatus is the progress of a sharded build: its phase and, while its
// Indexed Job runs, how many shards succeeded, failed and are running. It
// has the same size whatever the number of source files.
type ShardStatus struct {
	// buildID is the build the phases work on.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	BuildID string `json:"buildID,omitempty"`

	// phase is the step the sharded build is at: Plan, Shards, Commit or
	// Done. It is progress within one run, not the resource's state, which
	// the conditions give.
	// +kubebuilder:validation:Enum=Plan;Shards;Commit;Done
	// +optional
	Phase string `json:"phase,omitempty"`

	// shards is the number of shards.
	// +optional
	Shards int32 `json:"shards,omitempty"`

	// succeeded counts the shards that finished.
	// +optional
	Succeeded int32 `json:"succeeded,omitempty"`
	// failed counts the shards that used up their retries (a failed shard
	// is retried alone, up to the per-shard retry limit).
	// +optional
	Failed int32 `json:"failed,omitempty"`
	// running counts the shards running now.
	// +optional
	Running int32 `json:"running,omitempty"`

	// failedIndexes lists the shards that used up their retries, as the
	// Indexed Job reports them (e.g. "1,3-5").
	// +kubebuilder:validation:MaxLength=256
	// +optional
	FailedIndexes string `json:"failedIndexes,omitempty"`

	// progress is "succeeded/shards", for kubectl get.
	// +kubebuilder:validation:MaxLength=16
	// +optional
	Progress string `json:"progress,omitempty"`
}

// DatasetBuild builds a versioned, split and validated dataset from raw
// tabular files in object storage: fetch → normalize → split → validate →
// export, in a Job running `mldata worker build`. Builds are incremental and
// atomic: a failed build never replaces the published one.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=dsb,categories=mldata
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Rows",type=integer,JSONPath=`.status.totalRows`
// +kubebuilder:printcolumn:name="Schema",type=integer,JSONPath=`.status.schema.version`
// +kubebuilder:printcolumn:name="Shards",type=string,JSONPath=`.status.shards.progress`,priority=1
// +kubebuilder:printcolumn:name="Build",type=string,JSONPath=`.status.buildID`,priority=1
// +kubebuilder:printcolumn:name="Output",type=string,JSONPath=`.spec.output.uri`,priority=1
// +kubebuilder:printcolumn:name="Digest",type=string,JSONPath=`.status.artifact.digest`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DatasetBuild struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's name, namespace, labels and annotations.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired dataset.
	// +required
	Spec DatasetBuildSpec `json:"spec"`

	// status is what was last built.
	// +optional
	Status DatasetBuildStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions, for condition helpers that
// work on any of the kinds.
func (in *DatasetBuild) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces the status conditions.
func (in *DatasetBuild) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// DatasetBuildList is a list of DatasetBuilds.
// +kubebuilder:object:root=true
type DatasetBuildList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DatasetBuild `json:"items"`
}
