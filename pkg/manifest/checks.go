package manifest

// SplitIntegrity is the manifest's record of a build's split check: whether
// a key (or, without a split key, a row's content) appears in more than one
// split, and how far apart the splits' distributions are.
type SplitIntegrity struct {
	// Consistent is true when no key leaks and no compared column is
	// dissimilar.
	Consistent bool `json:"consistent"`
	// Key is what identifies a row: "column <name>" for a split key,
	// "row content" without one.
	Key string `json:"key"`
	// Hash names how keys are compared (64-bit hashes of their canonical
	// encoding).
	Hash string `json:"hash"`
	// Keys is the number of distinct keys per split, in split order.
	Keys []SplitKeys `json:"keys"`
	// LeakedKeys counts the distinct keys found in more than one split.
	LeakedKeys int64 `json:"leaked_keys"`
	// Leaks lists, per pair of splits sharing keys, how many they share.
	Leaks []SplitLeak `json:"leaks,omitempty"`
	// Examples are a few leaked keys, as text.
	Examples []string `json:"examples,omitempty"`
	// Similarity compares every other split with the first.
	Similarity *SplitSimilarity `json:"similarity,omitempty"`
}

// SplitKeys is the row and distinct key count of one split.
type SplitKeys struct {
	Split string `json:"split"`
	Rows  int64  `json:"rows"`
	Keys  int64  `json:"keys"`
}

// SplitLeak is the number of distinct keys two splits share.
type SplitLeak struct {
	A    string `json:"a"`
	B    string `json:"b"`
	Keys int64  `json:"keys"`
}

// SplitSimilarity is the PSI of each compared column between the first
// split (the baseline) and each other split.
type SplitSimilarity struct {
	Baseline  string  `json:"baseline"`
	Threshold float64 `json:"psi_threshold"`
	// MinRows is the row count below which a split is compared but not
	// judged: the PSI of a small sample is mostly sampling noise.
	MinRows int64            `json:"min_rows"`
	Columns []SplitColumnPSI `json:"columns"`
	Skipped []SplitSkipped   `json:"skipped,omitempty"`
	// Dissimilar lists "split/column" pairs whose PSI reached the threshold.
	Dissimilar []string `json:"dissimilar,omitempty"`
}

// SplitColumnPSI is one column's PSI between the baseline split and Split.
type SplitColumnPSI struct {
	Split      string  `json:"split"`
	Column     string  `json:"column"`
	PSI        float64 `json:"psi"`
	Dissimilar bool    `json:"dissimilar"`
	// Judged is false when the split has fewer than MinRows rows.
	Judged bool `json:"judged"`
}

// SplitSkipped is a column (or a whole split) left out of the similarity
// check, with why.
type SplitSkipped struct {
	Split  string `json:"split,omitempty"`
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
}

// PublishGate is the verdict of a build's publish gate: the drift of the
// build against a baseline, checked before the build was published.
type PublishGate struct {
	// Against names the baseline: "published build <id>", "build <id>" or
	// "profile <uri>"; "none" when there was nothing to compare with (the
	// first build of an output).
	Against string `json:"against"`
	// BaselineBuild is the id of the baseline build, if it is one.
	BaselineBuild string `json:"baseline_build,omitempty"`
	OnDrift       string `json:"on_drift"`
	// Passed is false when the comparison found drift: a column drifted
	// and, with a drift share threshold, DriftShare reached it.
	Passed          bool    `json:"passed"`
	ColumnsCompared int     `json:"columns_compared"`
	MaxPSI          float64 `json:"max_psi"`
	// DriftShare is the drifted share of the compared columns; with a
	// drift share threshold, a gate passes below it even though some
	// columns drifted.
	DriftShare float64        `json:"drift_share"`
	Drifted    []GateColumn   `json:"drifted,omitempty"`
	Skipped    []SplitSkipped `json:"skipped,omitempty"`

	// ChangedFiles is set when the gate compared the rows of the source
	// files the build added or changed (against the baseline build) with
	// the rows of the files it kept: how many of each, and, per drifted
	// column, which changed file moved the distribution.
	ChangedFiles *ChangedFiles `json:"changed_files,omitempty"`
}

// ChangedFiles is the changed-files comparison of a publish gate.
type ChangedFiles struct {
	Changed       []string `json:"changed"`
	ChangedRows   int64    `json:"changed_rows"`
	Unchanged     int      `json:"unchanged"`
	UnchangedRows int64    `json:"unchanged_rows"`
	// Breakdown gives, per drifted column, each changed file's share of
	// the drift.
	Breakdown []ColumnBreakdown `json:"breakdown,omitempty"`
	// Note says what was left out (files beyond the limit) or why nothing
	// was compared.
	Note string `json:"note,omitempty"`
}

// ColumnBreakdown splits one drifted column's PSI by changed file.
type ColumnBreakdown struct {
	Column string      `json:"column"`
	PSI    float64     `json:"psi"`
	Files  []FileDrift `json:"files"`
}

// FileDrift is one changed file's part in a column's drift: its own PSI
// against the unchanged rows, and its contribution to the column's PSI —
// Σᵢ (c_f,i/N − w·pᵢ)·ln(qᵢ/pᵢ) with c_f the file's counts per bin or
// category, N the changed rows' total, w the file's share of it, q the
// changed rows' shares and p the unchanged rows' — which sum over the
// files to the column's PSI. The contribution is absent when it cannot be
// computed exactly (more categories than a report lists).
type FileDrift struct {
	File         string   `json:"file"`
	Rows         int64    `json:"rows"`
	PSI          float64  `json:"psi"`
	Contribution *float64 `json:"contribution,omitempty"`
}

// GateColumn is one drifted column of a publish gate: its PSI and
// severity, and what decided it drifted — the column's method, the metric
// that method compares (a field of the drift report, e.g.
// wasserstein_normed), the metric's value and the threshold it crossed
// (at or above it; below it for a p-value).
type GateColumn struct {
	Column    string  `json:"column"`
	PSI       float64 `json:"psi"`
	Severity  string  `json:"severity"`
	Method    string  `json:"method"`
	Metric    string  `json:"metric"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
}
