package v1alpha1

import "k8s.io/apimachinery/pkg/api/resource"

// Conditions and reasons of the checks a DatasetBuild runs before it
// publishes: the split check and the publish gate.
const (
	// ConditionSplitsConsistent reports the DatasetBuild's split check:
	// True when no key is in two splits and the splits are alike.
	ConditionSplitsConsistent = "SplitsConsistent"

	// ReasonSplitsConsistent: no key is in two splits and every judged
	// column's PSI between splits is below the threshold.
	ReasonSplitsConsistent = "SplitsConsistent"
	// ReasonSplitsLeak: a key (or a row's content) is in two splits. Under
	// validation.onFailure Fail nothing was published.
	ReasonSplitsLeak = "SplitsLeak"
	// ReasonSplitsDissimilar: no key leaks, but a column's PSI between the
	// first split and another reached the threshold; the build is
	// published.
	ReasonSplitsDissimilar = "SplitsDissimilar"
	// ReasonSplitsNotChecked: the build has one split, or the check is
	// turned off.
	ReasonSplitsNotChecked = "NotChecked"
	// ReasonDriftGateFailed: the candidate build drifted from the gate's
	// baseline with onDrift Fail; nothing was published and the last
	// good build stays published. The message names the columns.
	ReasonDriftGateFailed = "DriftGateFailed"
)

// SplitCheckSpec configures the split check a build with two or more splits
// runs after writing its parts and before publishing them. It reads the
// parts back and checks that no key (the split key's value, or a row's
// whole content without one) is in two splits — a leak fails the build
// under validation.onFailure Fail and is reported under Warn — and
// compares every other split with the first by PSI per column: a PSI at or
// above psiThreshold is reported (condition SplitsConsistent, reason
// SplitsDissimilar) but does not stop the build.
type SplitCheckSpec struct {
	// enabled runs the check (--check-splits). The check reads the whole
	// build back, reused parts included.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// psiThreshold is the PSI between the first split and another at or
	// above which a column makes the splits dissimilar.
	// +kubebuilder:default=0.1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:ExclusiveMinimum=true
	// +optional
	PSIThreshold *float64 `json:"psiThreshold,omitempty"`

	// minRows is the size below which splits are compared but not judged, since
	// the PSI of a small sample is mostly sampling noise (about
	// (bins−1)·(1/n1 + 1/n2) between two random samples).
	// +kubebuilder:default=1000
	// +kubebuilder:validation:Minimum=1
	// +optional
	MinRows *int64 `json:"minRows,omitempty"`

	// exclude leaves columns out of the similarity comparison (ids,
	// timestamps). The split key is always left out.
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +optional
	Exclude []string `json:"exclude,omitempty"`
}

// OnDrift says what a drifted candidate build does at the publish gate.
// +kubebuilder:validation:Enum=Fail;Warn
type OnDrift string

// Publish gate actions.
const (
	// OnDriftFail keeps a drifted candidate unpublished: Ready=False with
	// reason DriftGateFailed, the last good build stays published.
	OnDriftFail OnDrift = "Fail"
	// OnDriftWarn publishes the candidate and records the drift in its
	// manifest and in a warning.
	OnDriftWarn OnDrift = "Warn"
)

// GateCompare is what a publish gate compares.
// +kubebuilder:validation:Enum=Build;ChangedFiles
type GateCompare string

// Publish gate comparisons.
const (
	// GateCompareBuild compares the candidate build with the baseline.
	GateCompareBuild GateCompare = "Build"
	// GateCompareChangedFiles compares the rows of the source files the
	// candidate added or changed against the baseline build with the rows
	// of the files it kept, and breaks each drifted column's PSI down by
	// changed file (the manifest's publish_gate.changed_files).
	GateCompareChangedFiles GateCompare = "ChangedFiles"
)

// GateBaseline is what a publish gate compares the candidate build with.
// Set at most one field; omit all for the published build.
// +kubebuilder:validation:XValidation:rule="!(has(self.buildID) && has(self.profileURI))",message="set either buildID or profileURI, not both"
type GateBaseline struct {
	// buildID pins a build of this output (it must still exist: see
	// historyLimit). Omit for the build published when the candidate is
	// built.
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._-]*$`
	// +optional
	BuildID string `json:"buildID,omitempty"`

	// profileURI is a profile JSON written by `mldata profile` or a
	// DatasetProfile: its histograms and top values are the baseline,
	// read with the build's credentials.
	// +optional
	ProfileURI BucketURI `json:"profileURI,omitempty"`
}

// PublishGateSpec compares a candidate build with a baseline before the
// build is published (before latest.json moves), with the metrics and
// thresholds of a DriftCheck. The first build of an output has nothing to
// compare with and passes.
// +kubebuilder:validation:XValidation:rule="!has(self.compare) || self.compare != 'ChangedFiles' || !has(self.against) || !has(self.against.profileURI)",message="compare ChangedFiles needs a build as baseline: remove against.profileURI"
type PublishGateSpec struct {
	// against is the baseline. Omit for the published build.
	// +optional
	Against *GateBaseline `json:"against,omitempty"`

	// compare is what is compared: Build compares the candidate with the baseline;
	// ChangedFiles compares the candidate's new and changed source files
	// with the files it kept from the baseline build, and says which
	// changed file moved each drifted column. ChangedFiles needs a build
	// as baseline, not a profile.
	// +kubebuilder:default=Build
	// +optional
	Compare GateCompare `json:"compare,omitempty"`

	// split compares one split of both sides (e.g. train). Omit for all
	// rows.
	// +optional
	Split SplitName `json:"split,omitempty"`

	// columns chooses the compared columns. Omit for every column on both
	// sides.
	// +optional
	Columns *ColumnSelector `json:"columns,omitempty"`

	// metrics are the drift metrics and thresholds, as a DriftCheck's
	// spec.metrics: per-column verdict methods set there apply here too.
	// +optional
	Metrics *DriftMetrics `json:"metrics,omitempty"`

	// maxMemory bounds the memory the numeric values of each side take, as
	// a DriftCheck's spec.maxMemory: past it, that side's numeric columns
	// are compared through KLL sketches and the gate's drift report states
	// the error bounds. Omit for exact results whatever the memory.
	// +optional
	MaxMemory *resource.Quantity `json:"maxMemory,omitempty"`

	// onDrift is what a drifted candidate gets: Fail keeps it unpublished; Warn publishes
	// it and records the drift.
	// +kubebuilder:default=Fail
	// +optional
	OnDrift OnDrift `json:"onDrift,omitempty"`
}
