package v1alpha1

// DriftMethod is the metric whose threshold decides whether a column
// drifted (its verdict); every metric is reported whatever the method.
// +kubebuilder:validation:Enum=psi;ks;js;wasserstein;linf;hellinger;chisquare
type DriftMethod string

// Drift methods, as in `mldata drift --method`.
const (
	// DriftMethodPSI: PSI ≥ threshold (default: thresholds.psi, 0.1).
	DriftMethodPSI DriftMethod = "psi"
	// DriftMethodKS: Kolmogorov–Smirnov p-value < threshold (default
	// 0.05); numeric columns, needs a data baseline.
	DriftMethodKS DriftMethod = "ks"
	// DriftMethodJS: Jensen–Shannon distance (base 2) ≥ threshold
	// (default 0.1).
	DriftMethodJS DriftMethod = "js"
	// DriftMethodWasserstein: Wasserstein distance divided by the
	// baseline's standard deviation ≥ threshold (default 0.1); numeric
	// columns, needs a data baseline.
	DriftMethodWasserstein DriftMethod = "wasserstein"
	// DriftMethodLInf: L-infinity distance, the largest change of one
	// category's share, ≥ threshold (default 0.1); categorical columns.
	DriftMethodLInf DriftMethod = "linf"
	// DriftMethodHellinger: Hellinger distance ≥ threshold (default 0.1).
	DriftMethodHellinger DriftMethod = "hellinger"
	// DriftMethodChiSquare: chi-square p-value < threshold (default
	// 0.05); categorical columns.
	DriftMethodChiSquare DriftMethod = "chisquare"
)

// DriftColumnType selects columns by kind: numeric (integers and floats)
// or categorical (every other column).
// +kubebuilder:validation:Enum=numeric;categorical
type DriftColumnType string

// Drift column types.
const (
	DriftColumnNumeric     DriftColumnType = "numeric"
	DriftColumnCategorical DriftColumnType = "categorical"
)

// DriftMethodRule chooses the verdict method of some columns: those named
// in columns, or every column of a type. A rule naming a column wins over
// its type's rule.
// +kubebuilder:validation:XValidation:rule="has(self.columns) != has(self.type)",message="set either columns or type"
// +kubebuilder:validation:XValidation:rule="!has(self.type) || self.type != 'numeric' || !(self.method in ['linf', 'chisquare'])",message="linf and chisquare apply to categorical columns only"
// +kubebuilder:validation:XValidation:rule="!has(self.type) || self.type != 'categorical' || !(self.method in ['ks', 'wasserstein'])",message="ks and wasserstein apply to numeric columns only"
// +kubebuilder:validation:XValidation:rule="!has(self.threshold) || !(self.method in ['ks', 'chisquare']) || self.threshold < 1.0",message="the ks and chisquare thresholds are p-values: set one below 1, e.g. 0.05"
// +kubebuilder:validation:XValidation:rule="!has(self.threshold) || !(self.method in ['js', 'linf', 'hellinger']) || self.threshold <= 1.0",message="js, linf and hellinger distances are at most 1: set a threshold of at most 1"
type DriftMethodRule struct {
	// columns this rule decides.
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +optional
	Columns []string `json:"columns,omitempty"`

	// type of the columns this rule decides, when no rule names them.
	// +optional
	Type DriftColumnType `json:"type,omitempty"`

	// method whose threshold decides.
	// +required
	Method DriftMethod `json:"method,omitempty"`

	// threshold of the method; omit for its default (see method).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:ExclusiveMinimum=true
	// +optional
	Threshold *float64 `json:"threshold,omitempty"`
}

// DriftVerdict decides when columns, and the dataset, have drifted. It is
// shared by every resource that compares two datasets.
type DriftVerdict struct {
	// methods choose the verdict method of columns by name or by type
	// (--method, --methods-file). Columns no rule selects keep the
	// thresholds rule. Each column and each type at most once.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:XValidation:rule="self.filter(r, has(r.type) && r.type == 'numeric').size() <= 1 && self.filter(r, has(r.type) && r.type == 'categorical').size() <= 1",message="give each type (numeric, categorical) at most one rule"
	// +optional
	Methods []DriftMethodRule `json:"methods,omitempty"`

	// driftShare makes the dataset drift when at least this share of the
	// compared columns drift (--drift-share), e.g. 0.5. Omit to say the
	// dataset drifts when any column does.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:ExclusiveMinimum=true
	// +kubebuilder:validation:Maximum=1
	// +optional
	DriftShare *float64 `json:"driftShare,omitempty"`
}
