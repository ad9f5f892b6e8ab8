// Package drift compares a current dataset with a baseline, column by
// column, with the exact definitions of docs/statistics.md: PSI, KL divergence and
// Jensen–Shannon distance over binned numeric values, the two-sample
// Kolmogorov–Smirnov test on the raw values, and PSI, JS and Pearson's
// chi-square over categories.
//
// Decisions, also stated in each report's conventions:
//
//   - Nulls (and NaN, which profiles count as null) are dropped first. ±Inf
//     are values: they fall in the open outer bins and count in KS, but
//     uniform bin edges span the finite baseline values only (an infinite
//     range has no equal-width bins), and quantile edges are quantiles of the
//     finite baseline values.
//   - Uniform binning keeps all bins−1 interior edges even when they
//     coincide (a constant baseline): a value goes to bin #{edges ≤ value},
//     so coinciding edges only add empty bins, which add nothing to PSI, KL
//     or JS. Quantile levels are i/bins (0.1, 0.2 … 0.9 exactly as decimals),
//     and coinciding quantiles are merged, giving fewer bins.
//   - drift_detected is PSI ≥ the PSI threshold, or any optional threshold
//     crossed: KS p-value < ks_pvalue, JS ≥ js, chi-square p-value <
//     chi2_pvalue; unless Options.Methods choose another method for the
//     column (methods.go). has_drift is true when any column's
//     drift_detected is and, with Thresholds.DriftShare, when drift_share
//     reaches it. Options.MaxMemory bounds numeric values (sketch.go).
//   - Integers and floats are both numeric, so an int64 column may be
//     compared with a float64 one; a numeric column against a non-numeric
//     one is skipped with the reason, as is a column present on one side
//     only or without non-null values on a side.
//   - A stored profile as baseline pins the bins: the interior edges of its
//     histogram, its counts as baseline counts. KS needs raw values and is
//     null, with the reason under "unavailable". Its categories are its top
//     values; when the profile lists fewer values than the column has, the
//     rest of the baseline and every current value outside that list are
//     pooled in one category, OtherCategory.
//   - Categorical reports list at most MaxListedCategories categories
//     (the most frequent on both sides together) with their counts, so a
//     100k-category column does not bloat the report; the metrics use all.
//   - A non-numeric column with more than Options.MaxCategories distinct
//     values on a side (DefaultMaxCategories; for a stored profile, its
//     unique_count) is skipped, with the reason: an identifier column
//     (session ids, timestamps as text) has a new category in almost every
//     row, its PSI only measures that the ids are new, and counting them
//     would hold every id of both sides in memory. Counting stops as soon
//     as a side passes the limit, and so does reading the column where the
//     side can leave it out (Parquet). MaxCategories < 0 lifts the limit.
//   - Sums over categories (PSI, JS, chi-square) add the terms of
//     categories with the same pair of counts as one term times their
//     number, in ascending order of the pair: the result does not depend
//     on the order categories were seen in, needs no sort of the values,
//     and is as exact as numpy's pairwise sum over value-sorted categories
//     (the two agree to about 1e-15, relative).
//   - The timestamp is the comparison time in RFC 3339 UTC, from
//     Options.Now so that tests can fix it.
//
// Cost: each side is scanned once, and a side that can project
// (Input.Columns) decodes the compared columns only; the current side also
// leaves out the columns the baseline alone decides (no values there, or
// more categories than the limit). A side's numeric values are kept (8
// bytes each) for KS, as radix sort keys in one buffer per column that the
// scan workers fill together (made once at the side's size when
// Input.Rows gives it) and that is sorted in place; a column a Parquet
// file stores dictionary-encoded comes as dictionary indices, and each
// row's key is made from its dictionary value as it is gathered straight
// into that buffer (a dictionary is checked for NaN once, not per batch);
// the sort's second buffer passes from one column's sort to the next. The
// baseline is sorted, one column at a time, while the current side is
// read, each current column by the task that then compares it, and KS and
// Wasserstein share one walk over the two sorted samples. Integer columns
// whose range is at most twice their count (identifiers, codes) are kept
// as counts per value instead, which give the same edges, bins and KS
// statistic without a sort; with Input.Rows, the scan workers count them
// so from the start (numSide.count), in memory of their range rather than
// 8 bytes a row. Categories are
// counted in package tally's tables (no per-value allocation, nothing for
// the garbage collector to scan), at most MaxCategories of them per side:
// strings that a Parquet file stores dictionary-encoded by dictionary index
// (each dictionary value looked up once per batch), timestamps and dates as
// integers (each distinct value rendered once). The scan workers share the
// keys of the categories they count (distinct.go), so that an identifier
// column is given up after about MaxCategories of its rows, however many
// workers read it (the limit is checked every few thousand rows, not only
// between batches). Columns are compared in parallel.
package drift

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/profile"
	"github.com/mldata-io/mldata/pkg/profile/tally"
)

// Binning is how numeric values are binned.
type Binning string

const (
	// Uniform bins have equal width over the baseline's [min, max].
	Uniform Binning = "uniform"
	// Quantile bins have baseline deciles (for 10 bins) as edges.
	Quantile Binning = "quantile"
	// Pinned bins come from a stored baseline profile's histogram.
	Pinned Binning = "pinned"
)

// OtherCategory pools the categories a stored baseline profile does not list.
const OtherCategory = "(other values)"

// MaxListedCategories bounds the categories a categorical result lists.
const MaxListedCategories = 20

// DefaultMaxCategories is the default Options.MaxCategories.
const DefaultMaxCategories = 100_000

// Thresholds decide drift_detected. PSI always applies; the others only
// when set.
type Thresholds struct {
	PSI        float64  `json:"psi"`
	KSPValue   *float64 `json:"ks_pvalue,omitempty"`
	JS         *float64 `json:"js,omitempty"`
	Chi2PValue *float64 `json:"chi2_pvalue,omitempty"`
	// DriftShare, when set, makes has_drift need at least this share of
	// the compared columns to drift (default: any one column).
	DriftShare *float64 `json:"drift_share,omitempty"`
}

// Options control Compare. The zero value means 10 uniform bins, epsilon
// 0.001 and a PSI threshold of 0.1.
type Options struct {
	Bins       int
	Binning    Binning
	Epsilon    float64
	Thresholds Thresholds
	// Methods choose the verdict method of some columns (methods.go).
	Methods []MethodRule
	// Columns, when set, restricts the comparison to these columns; each
	// must exist on at least one side.
	Columns []string
	// Exclude drops columns from the comparison.
	Exclude []string
	// MaxCategories skips a non-numeric column that has more distinct
	// values than this on either side; 0 means DefaultMaxCategories and a
	// negative value means no limit.
	MaxCategories int
	// MaxMemory, when > 0, bounds the bytes of numeric values a data side
	// holds; past it the side's numeric columns are sketched (sketch.go).
	MaxMemory int64
	// Workers is the scan parallelism; 0 means GOMAXPROCS.
	Workers int
	// PSIOnly computes what the bins need and nothing more (psionly.go):
	// numeric values are binned without being sorted, and the KS and
	// Wasserstein metrics are null, listed as unavailable. PSI, KL, JS,
	// Hellinger, the edges and the counts are those of a full comparison,
	// to the bit. It needs uniform binning and no KS threshold or methods.
	PSIOnly bool
	// Now gives the report's timestamp; nil means time.Now.
	Now func() time.Time
}

// Input is one side of a comparison: data to scan (Schema and Scan), or, for
// the baseline only, a stored profile.
type Input struct {
	// Name identifies the input in the report (its URI).
	Name   string
	Schema *arrow.Schema
	Scan   profile.ScanFunc
	// Columns, when set, scans some of Schema's columns only: the batches
	// of Columns(cols) hold the fields at the indices cols, in that order.
	// Compare then reads only the columns it compares (Parquet files never
	// decode the others).
	Columns func(cols []int) profile.ScanFunc
	Profile *profile.Profile
	// Rows, when known, is the number of rows Scan gives: the buffers of
	// numeric values are then made once, at their size. It changes no
	// result.
	Rows int64
	// collected is the baseline already read by CompareMany (many.go).
	collected *sideData
}

// Report is the v0.3.0 drift report.
type Report struct {
	Timestamp        string                            `json:"timestamp"`
	Baseline         string                            `json:"baseline"`
	Current          string                            `json:"current"`
	NumericDrift     profile.Object[*NumericDrift]     `json:"numeric_drift"`
	CategoricalDrift profile.Object[*CategoricalDrift] `json:"categorical_drift"`
	Skipped          []Skipped                         `json:"skipped"`
	HasDrift         bool                              `json:"has_drift"`
	DriftShare       float64                           `json:"drift_share"`
	Conventions      Conventions                       `json:"conventions"`
}

// NumericDrift is the result for one numeric column.
type NumericDrift struct {
	PSI           float64 `json:"psi"`
	DriftDetected bool    `json:"drift_detected"`
	Severity      string  `json:"severity"`
	KLDivergence  float64 `json:"kl_divergence"`
	JSDistance    float64 `json:"js_distance"`
	// KSStatistic and KSPValue are nil when the baseline is a stored profile.
	KSStatistic *float64 `json:"ks_statistic"`
	KSPValue    *float64 `json:"ks_pvalue"`
	// WassersteinDistance and WassersteinNormed are nil when the baseline
	// is a stored profile or a side holds ±Inf.
	WassersteinDistance *float64 `json:"wasserstein_distance"`
	WassersteinNormed   *float64 `json:"wasserstein_normed"`
	HellingerDistance   float64  `json:"hellinger_distance"`
	// Method decided drift_detected, against Threshold (nil for
	// MethodThresholds, whose thresholds are in the conventions).
	Method    Method   `json:"method"`
	Threshold *float64 `json:"threshold"`
	// Edges are the interior bin edges; bin i is [Edges[i−1], Edges[i]) with
	// the outer bins open.
	Edges          []float64 `json:"edges"`
	BaselineCounts []int64   `json:"baseline_counts"`
	CurrentCounts  []int64   `json:"current_counts"`
	// Approximate is set when a side was sketched (Options.MaxMemory).
	Approximate *Approximation `json:"approximate,omitempty"`
	// Unavailable names metrics that could not be computed, with the reason.
	Unavailable map[string]string `json:"unavailable,omitempty"`
}

// CategoricalDrift is the result for one non-numeric column.
type CategoricalDrift struct {
	PSI           float64 `json:"psi"`
	DriftDetected bool    `json:"drift_detected"`
	Severity      string  `json:"severity"`
	JSDistance    float64 `json:"js_distance"`
	Chi2          float64 `json:"chi2"`
	Chi2PValue    float64 `json:"chi2_pvalue"`
	// HellingerDistance and LInfDistance use the raw shares, as JSDistance.
	HellingerDistance float64  `json:"hellinger_distance"`
	LInfDistance      float64  `json:"linf_distance"`
	Method            Method   `json:"method"`
	Threshold         *float64 `json:"threshold"`
	// NumCategories is the size of the union of categories.
	NumCategories int `json:"num_categories"`
	// BaselineTotal and CurrentTotal are the non-null counts of each side,
	// of which the listed counts are shares.
	BaselineTotal int64 `json:"baseline_total"`
	CurrentTotal  int64 `json:"current_total"`
	// Categories are the most frequent categories (both sides together,
	// then by value), at most MaxListedCategories, with their counts.
	Categories     []string `json:"categories"`
	BaselineCounts []int64  `json:"baseline_counts"`
	CurrentCounts  []int64  `json:"current_counts"`
}

// Skipped is a column that could not be compared.
type Skipped struct {
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// Conventions state how the numbers in a report were computed.
type Conventions struct {
	Binning     Binning           `json:"binning"`
	Bins        int               `json:"bins"`
	BinEdges    string            `json:"bin_edges"`
	Epsilon     float64           `json:"epsilon"`
	LogBase     map[string]string `json:"log_base"`
	KLDirection string            `json:"kl_direction"`
	KLClip      [2]float64        `json:"kl_clip"`
	KS          string            `json:"ks"`
	Chi2        string            `json:"chi2"`
	Severity    map[string]string `json:"severity"`
	Thresholds  Thresholds        `json:"thresholds"`
	Nulls       string            `json:"nulls"`
	// MaxCategories is the distinct-value limit above which a non-numeric
	// column is skipped; 0 when there is none.
	MaxCategories int `json:"max_categories,omitempty"`
	// Methods are the chosen verdict methods with their thresholds;
	// Verdict states each method's rule.
	Methods     []MethodRule      `json:"methods,omitempty"`
	Verdict     map[string]string `json:"verdict"`
	Wasserstein string            `json:"wasserstein"`
	Hellinger   string            `json:"hellinger"`
	LInf        string            `json:"linf"`
	DriftShare  string            `json:"drift_share"`
}

// MaxPSI returns the largest PSI over all compared columns (0 if none).
func (r *Report) MaxPSI() float64 {
	m := 0.0
	for _, f := range r.NumericDrift {
		m = math.Max(m, f.Value.PSI)
	}
	for _, f := range r.CategoricalDrift {
		m = math.Max(m, f.Value.PSI)
	}
	return m
}

// Drifted returns the columns with drift_detected, in report order.
func (r *Report) Drifted() []string {
	var out []string
	for _, f := range r.NumericDrift {
		if f.Value.DriftDetected {
			out = append(out, f.Key)
		}
	}
	for _, f := range r.CategoricalDrift {
		if f.Value.DriftDetected {
			out = append(out, f.Key)
		}
	}
	return out
}

// Severity maps a PSI to low (< 0.05), medium (< 0.1) or high.
func Severity(psi float64) string {
	switch {
	case psi < 0.05:
		return "low"
	case psi < 0.1:
		return "medium"
	}
	return "high"
}

// UniformEdges returns the interior edges i·((max−min)/bins) + min,
// i = 1 … bins−1.
func UniformEdges(min, max float64, bins int) []float64 {
	if bins < 2 {
		return []float64{}
	}
	step := (max - min) / float64(bins)
	edges := make([]float64, bins-1)
	for i := range edges {
		edges[i] = float64(float64(i+1)*step) + min
	}
	return edges
}

// QuantileEdges returns the distinct quantiles of ascending values at
// i/bins, i = 1 … bins−1, by numpy's linear interpolation.
func QuantileEdges(sorted []float64, bins int) []float64 {
	edges := []float64{}
	if len(sorted) == 0 {
		return edges
	}
	for i := 1; i < bins; i++ {
		e := profile.Percentile(sorted, float64(i)/float64(bins))
		if len(edges) == 0 || e != edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	return edges
}

// BinCounts counts ascending values into the len(edges)+1 bins the interior
// edges define: value x goes to bin #{e ∈ edges : e ≤ x}.
func BinCounts(sorted []float64, edges []float64) []int64 {
	counts := make([]int64, len(edges)+1)
	prev := 0
	for i, e := range edges {
		k, _ := slices.BinarySearch(sorted, e) // first index with value ≥ e
		k = max(k, prev)
		counts[i] = int64(k - prev)
		prev = k
	}
	counts[len(edges)] = int64(len(sorted) - prev)
	return counts
}

func (o *Options) defaults() error {
	if o.Bins == 0 {
		o.Bins = 10
	}
	if o.Bins < 2 {
		return fmt.Errorf("drift: bins must be at least 2, got %d", o.Bins)
	}
	switch o.Binning {
	case "":
		o.Binning = Uniform
	case Uniform, Quantile:
	default:
		return fmt.Errorf("drift: binning must be %q or %q, got %q", Uniform, Quantile, o.Binning)
	}
	if o.Epsilon == 0 {
		o.Epsilon = DefaultEpsilon
	}
	if o.Epsilon < 0 || o.Epsilon >= 1 {
		return fmt.Errorf("drift: epsilon must be in (0, 1), got %v", o.Epsilon)
	}
	if o.Thresholds.PSI == 0 {
		o.Thresholds.PSI = 0.1
	}
	if o.MaxCategories == 0 {
		o.MaxCategories = DefaultMaxCategories
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := o.checkPSIOnly(); err != nil {
		return err
	}
	return o.checkMethods()
}

// columnPlan is one column to compare.
type columnPlan struct {
	name     string
	numeric  bool
	baseIdx  int // column index in the baseline schema, −1 for a profile
	curIdx   int
	baseType arrow.DataType
	curType  arrow.DataType
}

// Compare computes the drift of current against baseline.
func Compare(ctx context.Context, baseline, current Input, opt Options) (*Report, error) {
	if err := opt.defaults(); err != nil {
		return nil, err
	}
	if current.Profile != nil || current.Schema == nil || current.Scan == nil {
		return nil, errors.New("drift: the current side must be data (schema and scan), not a profile")
	}
	pinned := baseline.Profile != nil
	if !pinned && (baseline.Schema == nil || baseline.Scan == nil) {
		return nil, errors.New("drift: the baseline needs a schema and a scan, or a profile")
	}
	if pinned && opt.Binning == Quantile {
		return nil, errors.New("drift: quantile binning needs the baseline's raw values; a stored profile pins its histogram's bins (use uniform binning, or the dataset itself as baseline)")
	}
	r := &Report{
		Timestamp:        opt.Now().UTC().Format(time.RFC3339),
		Baseline:         baseline.Name,
		Current:          current.Name,
		NumericDrift:     profile.Object[*NumericDrift]{},
		CategoricalDrift: profile.Object[*CategoricalDrift]{},
		Skipped:          []Skipped{},
		Conventions:      conventions(opt, pinned),
	}

	plans, skipped, err := plan(baseline, current, opt)
	if err != nil {
		return nil, err
	}
	r.Skipped = append(r.Skipped, skipped...)
	verdicts, err := resolveMethods(plans, baseline, current, opt)
	if err != nil {
		return nil, err
	}

	var base *sideData
	scratch := &scratchPool{}
	bounded := opt.MaxMemory > 0 && !pinned
	if !pinned && baseline.collected != nil {
		base = baseline.collected
	} else if !pinned {
		if bounded {
			base, err = collectBounded(ctx, baseline, plans, nil, true, opt, false)
		} else {
			// The baseline's values are sorted while the current side is read.
			base, err = collect(ctx, baseline, plans, nil, true, !opt.PSIOnly, opt, scratch, finishBackground)
		}
		if err != nil {
			return nil, fmt.Errorf("drift: reading baseline: %w", err)
		}
	}
	// Against a stored profile, current values are only binned: no sort.
	var cur *sideData
	if bounded { // a sketched baseline sketches the current side from the start
		cur, err = collectBounded(ctx, current, plans, base.decided(plans), false, opt, base.anySketched())
	} else {
		// Each current column is sorted by the task that compares it,
		// which balances the two kinds of work over the workers.
		cur, err = collect(ctx, current, plans, base.decided(plans), false, !pinned && !opt.PSIOnly, opt, scratch, finishLater)
	}
	base.wait()
	if err != nil {
		return nil, fmt.Errorf("drift: reading current: %w", err)
	}

	type result struct {
		num  *NumericDrift
		cat  *CategoricalDrift
		skip string
	}
	results := make([]result, len(plans))
	parallel(len(plans), opt.Workers, func(i int) {
		pl, res := plans[i], &results[i]
		if cur.finishColumn != nil {
			cur.finishColumn(i)
		}
		switch {
		case pl.numeric && pinned:
			res.num, res.skip = numericPinned(baseline.Profile, pl.name, cur.nums[i], opt)
		case pl.numeric && (base.boundedAt(i) != nil || cur.boundedAt(i) != nil):
			res.num, res.skip = numericBounded(base, cur, i, opt)
		case pl.numeric:
			res.num, res.skip = numericRaw(base.nums[i], cur.nums[i], opt)
		default:
			var bc baseCategories
			if pinned {
				bc, res.skip = pinnedCategories(baseline.Profile, pl.name, opt.MaxCategories)
			} else {
				bc, res.skip = base.cats[i].categories("baseline", opt.MaxCategories)
			}
			if res.skip == "" {
				res.cat, res.skip = categorical(bc, cur.cats[i], opt)
			}
		}
		if res.num != nil {
			verdicts[i].decideNumeric(res.num, opt)
		}
		if res.cat != nil {
			verdicts[i].decideCategorical(res.cat, opt)
		}
		// The values are no longer needed: let the collector have them
		// while other columns are still being compared.
		cur.nums[i], cur.cats[i] = nil, catSide{}
		if base != nil && baseline.collected == nil {
			base.nums[i], base.cats[i] = nil, catSide{}
		}
		cur.dropBounded(i)
		base.dropBounded(i)
	})
	for i, pl := range plans {
		res := results[i]
		if res.num != nil {
			r.NumericDrift = append(r.NumericDrift, profile.Field[*NumericDrift]{Key: pl.name, Value: res.num})
			r.HasDrift = r.HasDrift || res.num.DriftDetected
		}
		if res.cat != nil {
			r.CategoricalDrift = append(r.CategoricalDrift, profile.Field[*CategoricalDrift]{Key: pl.name, Value: res.cat})
			r.HasDrift = r.HasDrift || res.cat.DriftDetected
		}
		if res.skip != "" {
			r.Skipped = append(r.Skipped, Skipped{Column: pl.name, Reason: res.skip})
		}
	}
	r.setDriftShare(opt.Thresholds.DriftShare)
	// Every number in the report must be valid JSON; fail here rather than
	// when the caller writes it.
	if _, err := json.Marshal(r); err != nil {
		return nil, fmt.Errorf("drift: report does not encode: %w", err)
	}
	return r, nil
}

func conventions(opt Options, pinned bool) Conventions {
	c := Conventions{
		Binning:     opt.Binning,
		Bins:        opt.Bins,
		BinEdges:    "interior edges from the baseline; outer bins open to -inf/+inf; bins are left-closed [e(i-1), e(i)): a value equal to an edge goes to the higher bin",
		Epsilon:     opt.Epsilon,
		LogBase:     map[string]string{"psi": "e", "kl_divergence": "e", "js_distance": "2"},
		KLDirection: "D(baseline || current)",
		KLClip:      [2]float64{klClip, 1},
		KS:          "two-sample statistic over the raw values; p-value = kstwobign.sf(sqrt(n*m/(n+m)) * D), clamped to [0, 1]",
		Chi2:        "Pearson's chi-square on the 2 x k table of counts (baseline, current), no continuity correction, k-1 degrees of freedom",
		Severity:    map[string]string{"low": "psi < 0.05", "medium": "0.05 <= psi < 0.1", "high": "psi >= 0.1"},
		Thresholds:  opt.Thresholds,
		Nulls:       "nulls and NaN dropped before comparison",
	}
	if opt.MaxCategories > 0 {
		c.MaxCategories = opt.MaxCategories
	}
	methodConventions(&c, opt)
	switch {
	case pinned:
		c.Binning = Pinned
		c.Bins = 0
		c.BinEdges = "interior edges of the baseline profile's histogram; outer bins open; bins are left-closed [e(i-1), e(i))"
	case opt.Binning == Uniform:
		c.BinEdges = "uniform: i*((max-min)/bins)+min over the finite baseline values, i=1..bins-1; " + c.BinEdges
	default:
		c.BinEdges = "quantile: distinct baseline quantiles at i/bins (numpy linear interpolation) over the finite baseline values; " + c.BinEdges
	}
	return c
}

// plan matches the two sides' columns and applies include/exclude.
func plan(baseline, current Input, opt Options) ([]columnPlan, []Skipped, error) {
	type side struct {
		names   []string
		numeric map[string]bool
		dtype   map[string]string
		index   map[string]int
		types   map[string]arrow.DataType
	}
	fromSchema := func(s *arrow.Schema) side {
		sd := side{numeric: map[string]bool{}, dtype: map[string]string{}, index: map[string]int{}, types: map[string]arrow.DataType{}}
		for i, f := range s.Fields() {
			if _, dup := sd.index[f.Name]; dup {
				continue
			}
			sd.names = append(sd.names, f.Name)
			sd.numeric[f.Name] = profile.KindOf(f.Type) == profile.Numeric
			sd.dtype[f.Name] = profile.DType(f.Type)
			sd.index[f.Name] = i
			sd.types[f.Name] = f.Type
		}
		return sd
	}
	var b side
	if baseline.Profile != nil {
		b = side{numeric: map[string]bool{}, dtype: map[string]string{}, index: map[string]int{}, types: map[string]arrow.DataType{}}
		for _, c := range baseline.Profile.Schema.Columns {
			b.names = append(b.names, c.Name)
			_, hasStats := baseline.Profile.Statistics.Get(c.Name)
			b.numeric[c.Name] = hasStats
			b.dtype[c.Name] = c.DType
			b.index[c.Name] = -1
		}
	} else {
		b = fromSchema(baseline.Schema)
	}
	c := fromSchema(current.Schema)

	names := slices.Clone(b.names)
	for _, n := range c.names {
		if _, ok := b.dtype[n]; !ok {
			names = append(names, n)
		}
	}
	if len(opt.Columns) > 0 {
		var missing []string
		for _, n := range opt.Columns {
			_, inB := b.dtype[n]
			_, inC := c.dtype[n]
			if !inB && !inC {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return nil, nil, fmt.Errorf("drift: column(s) %s are in neither dataset", strings.Join(missing, ", "))
		}
		names = slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(opt.Columns, n) })
	}
	names = slices.DeleteFunc(names, func(n string) bool { return slices.Contains(opt.Exclude, n) })

	var plans []columnPlan
	var skipped []Skipped
	for _, n := range names {
		_, inB := b.dtype[n]
		_, inC := c.dtype[n]
		switch {
		case !inC:
			skipped = append(skipped, Skipped{n, "missing in current"})
		case !inB:
			skipped = append(skipped, Skipped{n, "missing in baseline"})
		case b.numeric[n] != c.numeric[n]:
			kind := func(num bool) string {
				if num {
					return "numeric"
				}
				return "non-numeric"
			}
			skipped = append(skipped, Skipped{n, fmt.Sprintf("%s in baseline (%s) but %s in current (%s)",
				kind(b.numeric[n]), b.dtype[n], kind(c.numeric[n]), c.dtype[n])})
		default:
			plans = append(plans, columnPlan{name: n, numeric: c.numeric[n], baseIdx: b.index[n], curIdx: c.index[n], baseType: b.types[n], curType: c.types[n]})
		}
	}
	return plans, skipped, nil
}

// planColumn is the batch's column at position idx, which must be named
// name; nil when idx < 0 (the column is not read on this side).
func planColumn(rec arrow.RecordBatch, name string, idx int) (arrow.Array, error) {
	if idx < 0 {
		return nil, nil
	}
	if idx >= int(rec.NumCols()) || rec.ColumnName(idx) != name {
		return nil, fmt.Errorf("batch does not have column %q at position %d", name, idx)
	}
	return rec.Column(idx), nil
}

// sideData is what one side's scan collected, per planned column: the
// non-null values of numeric columns, counts per category otherwise.
type sideData struct {
	nums []*numSide
	cats []catSide
	// bounded holds the sketched numeric columns under Options.MaxMemory.
	bounded []*bounded
	// done is closed once nums are finished (finishBackground).
	done chan struct{}
	// finishColumn finishes planned column i (finishLater).
	finishColumn func(i int)
}

// catSide is one side's categories of a column: their counts, or, when
// there were more than the limit, overflow and no counts.
type catSide struct {
	u        *tally.Union
	overflow bool
}

// tooManyCategories is the reason a column with more than limit distinct
// values on side is skipped.
func tooManyCategories(side string, limit int) string {
	return fmt.Sprintf("more than %d distinct values in %s: categorical drift of identifier-like columns is not meaningful; raise max-categories to compute it", limit, side)
}

// categories returns a data baseline's categories.
func (c catSide) categories(side string, limit int) (baseCategories, string) {
	if c.overflow {
		return baseCategories{}, tooManyCategories(side, limit)
	}
	return baseCategories{u: c.u}, ""
}

// workerData is what one scan worker collected.
type workerData struct {
	nums []*numSide
	cats []*tally.Strings
	// ints count the columns whose values are int64 underneath
	// (timestamps, dates) by value; they are rendered once the side is read.
	ints []*tally.Ints
	fbuf []float64
	ibuf []int64
	// dcounts is scratch for counting dictionary indices.
	dcounts []int64
	// published and pubInts are how far the worker has published each
	// column's categories to the side's distinctSet.
	published []int
	pubInts   []intPublisher
	// dkeys is scratch for the sort keys of a dictionary (Parquet).
	dkeys []uint64
}

// decided reports the planned columns whose result the baseline alone
// decides, so that the current side need not read them: a numeric column
// without values in the baseline, and a non-numeric one with more
// categories than the limit there (the reasons they are skipped name the
// baseline, whatever the current side holds). nil for no baseline data.
func (d *sideData) decided(plans []columnPlan) []bool {
	if d == nil {
		return nil
	}
	out := make([]bool, len(plans))
	for i, pl := range plans {
		if pl.numeric {
			out[i] = d.numLen(i) == 0
		} else {
			out[i] = d.cats[i].overflow
		}
	}
	return out
}

// sideScan returns the scan of one side's planned columns, except those
// marked in skip, and the position of each planned column in its batches
// (−1 for a skipped one): only those columns when the side can project,
// the whole schema otherwise.
func sideScan(in Input, plans []columnPlan, skip []bool, isBase bool) (profile.ScanFunc, []int) {
	pos := make([]int, len(plans))
	cols := []int{}
	for i, pl := range plans {
		pos[i] = pl.curIdx
		if isBase {
			pos[i] = pl.baseIdx
		}
		if skip != nil && skip[i] {
			pos[i] = -1
			continue
		}
		cols = append(cols, pos[i])
	}
	if in.Columns == nil {
		return in.Scan, pos
	}
	slices.Sort(cols)
	cols = slices.Compact(cols)
	for i, idx := range pos {
		if idx >= 0 {
			pos[i], _ = slices.BinarySearch(cols, idx)
		}
	}
	return in.Columns(cols), pos
}

// finishMode says when collect finishes a side's numeric columns (sorts
// them, or counts them per value).
type finishMode int

const (
	finishNow        finishMode = iota
	finishBackground            // after collect returns, until the side's wait returns
	finishLater                 // column by column, by the side's finishColumn
)

// collect reads one side, except the planned columns marked in skip;
// sortNums asks for numeric values sorted (for KS), with scratch passing
// sort buffers on; mode says when.
func collect(ctx context.Context, in Input, plans []columnPlan, skip []bool, isBase, sortNums bool, opt Options, scratch *scratchPool, mode finishMode) (*sideData, error) {
	scan, pos := sideScan(in, plans, skip, isBase)
	workers := opt.Workers
	per := make([]*workerData, workers)
	renders := make([]func(arrow.Array, int) string, len(plans))
	intRenders := make([]func(int64) string, len(plans))
	// overflow[i] is set once any worker has seen more than the limit of
	// distinct values in column i: the side as a whole has too, so every
	// worker stops counting it.
	overflow := make([]atomic.Bool, len(plans))
	types := make([]arrow.DataType, len(plans))
	for i, pl := range plans {
		types[i] = pl.curType
		if isBase {
			types[i] = pl.baseType
		}
		if !pl.numeric {
			renders[i] = profile.ValueRenderer(types[i])
			intRenders[i] = profile.IntKeyRenderer(types[i])
		}
	}
	// A column past the category limit is not read any further by scans
	// that can leave columns out (Parquet files).
	ncols := 0
	for _, idx := range pos {
		ncols = max(ncols, idx+1)
	}
	drops := format.NewColumnDrops(ncols)
	// Numeric columns that a Parquet file stores dictionary-encoded come as
	// dictionaries, gathered into the key stores without a copy between.
	drops.KeepNumericDictionaries()
	// The workers share each float column's store of sort keys.
	stores := make([]*keyStore, len(plans))
	for i, pl := range plans {
		if pl.numeric && pos[i] >= 0 && !isIntType(types[i]) {
			stores[i] = newKeyStore(presize(in.Rows))
		}
	}
	// A worker counts an integer column per value while its range is at
	// most countMax values (numSide.count).
	countMax := 2 * presize(in.Rows) / int64(workers)
	// The workers share what they have counted of each non-numeric
	// column, to stop at the limit early (distinct.go).
	seen := make([]*distinctSet, len(plans))
	for i, pl := range plans {
		if !pl.numeric {
			seen[i] = newDistinctSet(opt.MaxCategories, workers)
		}
	}
	stop := func(i int) {
		overflow[i].Store(true)
		drops.Drop(pos[i])
	}
	err := scan(format.WithColumnDrops(ctx, drops), workers, func(w int, rec arrow.RecordBatch) error {
		if w < 0 || w >= workers {
			return fmt.Errorf("scan used worker %d of %d", w, workers)
		}
		wd := per[w]
		if wd == nil {
			wd = &workerData{nums: make([]*numSide, len(plans)), cats: make([]*tally.Strings, len(plans)), ints: make([]*tally.Ints, len(plans)),
				published: make([]int, len(plans)), pubInts: make([]intPublisher, len(plans))}
			for i, pl := range plans {
				if pl.numeric {
					wd.nums[i] = newNumSide(types[i], stores[i], countMax)
				}
			}
			per[w] = wd
		}
		for i, pl := range plans {
			arr, err := planColumn(rec, pl.name, pos[i])
			if err != nil {
				return err
			}
			if arr == nil {
				continue
			}
			if pl.numeric {
				if err := wd.nums[i].add(arr, &wd.fbuf, &wd.ibuf, &wd.dkeys); err != nil {
					return fmt.Errorf("column %q: %w", pl.name, err)
				}
				continue
			}
			if overflow[i].Load() {
				wd.cats[i], wd.ints[i] = nil, nil
				continue
			}
			if intRenders[i] != nil {
				t := wd.ints[i]
				if t == nil {
					t = new(tally.Ints)
					wd.ints[i] = t
				}
				var fresh *[]int64
				if wd.pubInts[i].on {
					fresh = &wd.pubInts[i].fresh
				}
				var full func() bool
				if opt.MaxCategories > 0 {
					full = func() bool { return t.Len() > opt.MaxCategories || seen[i].publishInts(t, &wd.pubInts[i]) }
				}
				stopped, err := countIntKeys(t, arr, fresh, full)
				if err != nil {
					return fmt.Errorf("column %q: %w", pl.name, err)
				}
				if stopped || full != nil && full() {
					stop(i)
					wd.ints[i], wd.pubInts[i] = nil, intPublisher{}
				}
				continue
			}
			t := wd.cats[i]
			if t == nil {
				t = new(tally.Strings)
				wd.cats[i] = t
			}
			var full func() bool
			if opt.MaxCategories > 0 {
				full = func() bool { return t.Len() > opt.MaxCategories || seen[i].publishStrings(t, &wd.published[i]) }
			}
			var stopped bool
			wd.dcounts, stopped = countCategories(t, arr, renders[i], wd.dcounts, full)
			if stopped || full != nil && full() {
				stop(i)
				wd.cats[i] = nil
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &sideData{nums: make([]*numSide, len(plans)), cats: make([]catSide, len(plans))}
	parallel(len(plans), workers, func(i int) {
		if plans[i].numeric {
			all := newNumSide(types[i], stores[i], 0)
			for _, wd := range per {
				if wd != nil {
					all.merge(wd.nums[i])
				}
			}
			out.nums[i] = all
			return
		}
		if overflow[i].Load() {
			out.cats[i] = catSide{overflow: true}
			return
		}
		var ts []*tally.Strings
		for _, wd := range per {
			if wd != nil && wd.cats[i] != nil {
				ts = append(ts, wd.cats[i])
				wd.cats[i] = nil
			}
		}
		if intRenders[i] != nil {
			// Distinct values render as distinct text: the rendered
			// values are as many as the integers, with their counts.
			all := new(tally.Ints)
			for _, wd := range per {
				if wd != nil && wd.ints[i] != nil {
					o := wd.ints[i]
					if o.Len() > all.Len() {
						all, o = o, all
					}
					all.Merge(o)
					wd.ints[i] = nil
				}
			}
			t := new(tally.Strings)
			if opt.MaxCategories < 0 || all.Len() <= opt.MaxCategories {
				t.Reserve(all.Len())
				for v, n := range all.All() {
					s := intRenders[i](v)
					t.AddHash(tally.Hash(s), s, n)
				}
			} else {
				out.cats[i] = catSide{overflow: true}
				return
			}
			ts = []*tally.Strings{t}
		}
		u := tally.NewUnion(ts...)
		if opt.MaxCategories > 0 && u.Len() > opt.MaxCategories {
			out.cats[i] = catSide{overflow: true}
			return
		}
		out.cats[i] = catSide{u: u}
	})
	// Integer columns in a narrow range become counts per value, the others
	// are sorted (if asked); a sort's second buffer goes on to the next.
	finishColumn := func(i int) {
		if plans[i].numeric {
			scratch.put(out.nums[i].finish(sortNums, isBase && sortNums, scratch.get()))
		}
	}
	switch mode {
	case finishNow:
		parallel(len(plans), workers, finishColumn)
	case finishBackground:
		// One column at a time: the scan of the other side keeps the
		// cores busy, and one sort buffer is made instead of one per core.
		out.done = make(chan struct{})
		go func() {
			defer close(out.done)
			parallel(len(plans), 1, finishColumn)
		}()
	case finishLater:
		out.finishColumn = finishColumn
	}
	return out, nil
}

// presize is the size of a side's key stores for a row count hint: the
// hint, unless it is implausible for one process (a store then grows as
// values come).
func presize(rows int64) int64 {
	if rows <= 0 || rows > 1<<28 {
		return 0
	}
	return rows
}

// scratchPool hands the second buffer of one float column's sort on to
// the next sort, so that a comparison makes about one per core.
type scratchPool struct {
	mu   sync.Mutex
	bufs [][]uint64
}

func (p *scratchPool) get() []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.bufs) == 0 {
		return nil
	}
	b := p.bufs[len(p.bufs)-1]
	p.bufs = p.bufs[:len(p.bufs)-1]
	return b
}

func (p *scratchPool) put(b []uint64) {
	if b == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bufs = append(p.bufs, b)
}

// wait returns once the side's numeric columns are finished
// (finishBackground finishes them while the caller goes on).
func (d *sideData) wait() {
	if d != nil && d.done != nil {
		<-d.done
	}
}

// limitCheckRows is how many rows countCategories and countIntKeys count
// between two checks of the category limit: an identifier column is given
// up within a few thousand rows of passing it, not at the end of a batch.
const limitCheckRows = 2048

// countCategories counts the non-null values of arr in t; strings are
// counted as they are, other types as render gives them. A dictionary of
// strings is counted by index, then each value once (scratch holds the
// counts per index and is returned for reuse). full, when set, reports
// whether the column is past the category limit: it is asked every
// limitCheckRows rows, and once it says so counting stops, with stopped
// set (t then holds part of the batch; the caller drops it).
func countCategories(t *tally.Strings, arr arrow.Array, render func(arrow.Array, int) string, scratch []int64, full func() bool) (_ []int64, stopped bool) {
	hasNulls := arr.NullN() > 0
	// each counts the rows of arr with add, asking full between blocks.
	each := func(add func(j int)) bool {
		for lo := 0; lo < arr.Len(); lo += limitCheckRows {
			if lo > 0 && full != nil && full() {
				return true
			}
			for j := lo; j < min(lo+limitCheckRows, arr.Len()); j++ {
				if hasNulls && arr.IsNull(j) {
					continue
				}
				add(j)
			}
		}
		return false
	}
	switch a := arr.(type) {
	case *array.Dictionary:
		scratch, _ = profile.DictionaryCounts(a, scratch)
		dict := a.Dictionary()
		for k, n := range scratch {
			if n == 0 {
				continue
			}
			var s string
			switch d := dict.(type) {
			case *array.String:
				s = d.Value(k)
			default:
				s = render(dict, k)
			}
			t.AddHash(tally.Hash(s), s, n)
		}
	case *array.String:
		stopped = each(func(j int) { t.Add(a.Value(j)) })
	case *array.LargeString:
		stopped = each(func(j int) { t.Add(a.Value(j)) })
	case *array.Boolean:
		// Two values: count them, and render each once, as profiles do.
		var n [2]int64
		for j := 0; j < a.Len(); j++ {
			if hasNulls && a.IsNull(j) {
				continue
			}
			if a.Value(j) {
				n[1]++
			} else {
				n[0]++
			}
		}
		for v, c := range n {
			if c > 0 {
				s := profile.BoolText(v == 1)
				t.AddHash(tally.Hash(s), s, c)
			}
		}
	default:
		stopped = each(func(j int) { t.Add(render(arr, j)) })
	}
	return scratch, stopped
}

// countIntKeys counts the non-null values of a timestamp or date32 array
// as integers, which IntKeyRenderer renders; when fresh is set, the values
// counted for the first time are appended to it. full is as for
// countCategories.
func countIntKeys(t *tally.Ints, arr arrow.Array, fresh *[]int64, full func() bool) (stopped bool, err error) {
	switch a := arr.(type) {
	case *array.Timestamp:
		return countInts(t, a.TimestampValues(), arr, fresh, full), nil
	case *array.Date32:
		return countInts(t, a.Date32Values(), arr, fresh, full), nil
	}
	return false, fmt.Errorf("%s is not a timestamp or date32 column", arr.DataType())
}

func countInts[T ~int32 | ~int64](t *tally.Ints, vals []T, arr arrow.Array, fresh *[]int64, full func() bool) (stopped bool) {
	hasNulls := arr.NullN() > 0
	for lo := 0; lo < len(vals); lo += limitCheckRows {
		if lo > 0 && full != nil && full() {
			return true
		}
		for j := lo; j < min(lo+limitCheckRows, len(vals)); j++ {
			if hasNulls && arr.IsNull(j) {
				continue
			}
			v := vals[j]
			if fresh == nil {
				t.Add(int64(v))
				continue
			}
			n := t.Len()
			t.Add(int64(v))
			if t.Len() > n {
				*fresh = append(*fresh, int64(v))
			}
		}
	}
	return false
}

// parallel runs fn(0) … fn(n−1) on at most workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(max(workers, 1), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func finite(sorted []float64) []float64 {
	lo, hi := 0, len(sorted)
	for lo < hi && math.IsInf(sorted[lo], -1) {
		lo++
	}
	for hi > lo && math.IsInf(sorted[hi-1], 1) {
		hi--
	}
	return sorted[lo:hi]
}

func numericRaw(b, c *numSide, opt Options) (*NumericDrift, string) {
	if b.len() == 0 {
		return nil, "no non-null values in baseline"
	}
	if c.len() == 0 {
		return nil, "no non-null values in current"
	}
	if opt.PSIOnly {
		return numericBinned(b, c, opt)
	}
	if b.dense != nil && c.dense != nil {
		return numericDense(b, c, opt), ""
	}
	base, cur := b.ascending(), c.ascending()
	fb := finite(base)
	if len(fb) == 0 {
		return nil, "no finite values in baseline to bin"
	}
	var edges []float64
	if opt.Binning == Quantile {
		edges = QuantileEdges(fb, opt.Bins)
	} else {
		edges = UniformEdges(fb[0], fb[len(fb)-1], opt.Bins)
	}
	res := binned(edges, BinCounts(base, edges), BinCounts(cur, edges), opt)
	d, w, wOK := ksWasserstein(base, cur)
	p := ksPValue(len(base), len(cur), d)
	res.KSStatistic, res.KSPValue = &d, &p
	res.setWasserstein(w, wOK, func() float64 { return b.stdOf(base) })
	res.DriftDetected = res.DriftDetected || (opt.Thresholds.KSPValue != nil && p < *opt.Thresholds.KSPValue)
	return res, ""
}

// numericDense is numericRaw for two integer samples held as counts per
// value (numSide.compact): they give the same edges, bin counts and KS
// statistic as the sorted samples, in time linear in their ranges instead
// of a sort.
func numericDense(b, c *numSide, opt Options) *NumericDrift {
	db, dc := b.dense, c.dense
	var edges []float64
	if opt.Binning == Quantile {
		edges = quantileEdgesDense(db, opt.Bins)
	} else {
		edges = UniformEdges(float64(b.minI), float64(b.maxI), opt.Bins)
	}
	res := binned(edges, binCountsDense(db, edges), binCountsDense(dc, edges), opt)
	d, w := ksWassersteinDense(db, dc)
	p := ksPValue(int(db.Len()), int(dc.Len()), d)
	res.KSStatistic, res.KSPValue = &d, &p
	res.setWasserstein(w, true, b.stdDense)
	res.DriftDetected = res.DriftDetected || (opt.Thresholds.KSPValue != nil && p < *opt.Thresholds.KSPValue)
	return res
}

// quantileEdgesDense is QuantileEdges of the values d holds.
func quantileEdgesDense(d *tally.Dense, bins int) []float64 {
	n := int(d.Len())
	ranks := make([]int64, 0, 2*(bins-1))
	ts := make([]float64, 0, bins-1)
	for i := 1; i < bins; i++ {
		lo, hi, t := profile.PercentileIndex(n, float64(i)/float64(bins))
		ranks = append(ranks, int64(lo), int64(hi))
		ts = append(ts, t)
	}
	vs := d.ValuesAt(ranks)
	edges := []float64{}
	for i, t := range ts {
		e := profile.Lerp(float64(vs[2*i]), float64(vs[2*i+1]), t)
		if len(edges) == 0 || e != edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	return edges
}

// binCountsDense is BinCounts of the values d holds.
func binCountsDense(d *tally.Dense, edges []float64) []int64 {
	below := d.Below(edges)
	counts := make([]int64, len(edges)+1)
	var prev int64
	for i, k := range below {
		k = max(k, prev)
		counts[i] = k - prev
		prev = k
	}
	counts[len(edges)] = d.Len() - prev
	return counts
}

func numericPinned(p *profile.Profile, name string, cur *numSide, opt Options) (*NumericDrift, string) {
	h, _ := p.Histograms.Get(name)
	if h == nil || len(h.Counts) == 0 {
		return nil, "baseline profile has no histogram for this column (no finite values)"
	}
	var n int64
	for _, c := range h.Counts {
		n += c
	}
	if n == 0 {
		return nil, "no non-null values in baseline"
	}
	if cur.len() == 0 {
		return nil, "no non-null values in current"
	}
	edges := make([]float64, 0, len(h.Edges)-2)
	for _, e := range h.Edges[1 : len(h.Edges)-1] {
		edges = append(edges, float64(e))
	}
	res := binned(edges, slices.Clone(h.Counts), cur.binCounts(edges), opt)
	res.unavailable("the baseline is a stored profile, which keeps no raw values",
		"ks_statistic", "ks_pvalue", "wasserstein_distance", "wasserstein_normed")
	return res, ""
}

func binned(edges []float64, bc, cc []int64, opt Options) *NumericDrift {
	psi := PSI(bc, cc, opt.Epsilon)
	js := JSDistance(bc, cc)
	return &NumericDrift{
		PSI:               psi,
		Severity:          Severity(psi),
		DriftDetected:     psi >= opt.Thresholds.PSI || (opt.Thresholds.JS != nil && js >= *opt.Thresholds.JS),
		KLDivergence:      KL(bc, cc),
		JSDistance:        js,
		HellingerDistance: Hellinger(bc, cc),
		Edges:             edges,
		BaselineCounts:    bc,
		CurrentCounts:     cc,
	}
}

// baseCategories are the baseline's categories: counted values, and for a
// stored profile that does not list every value, the count of the values it
// leaves out (other), with which current values it does not list are pooled.
type baseCategories struct {
	u      *tally.Union
	other  int64
	pooled bool
}

// pinnedCategories reads a stored profile's top values as baseline
// categories, pooling what the list leaves out.
func pinnedCategories(p *profile.Profile, name string, limit int) (baseCategories, string) {
	col, _ := p.Column(name)
	if limit > 0 && col.UniqueCount > int64(limit) {
		return baseCategories{}, tooManyCategories("baseline", limit)
	}
	dist, _ := p.Distributions.Get(name)
	total := p.NumRows - col.NullCount
	var t tally.Strings
	var listed int64
	for _, f := range dist {
		t.AddHash(tally.Hash(f.Key), f.Key, f.Value)
		listed += f.Value
	}
	if total <= 0 || listed == 0 {
		return baseCategories{}, "no non-null values in baseline"
	}
	bc := baseCategories{u: tally.NewUnion(&t)}
	if col.UniqueCount > int64(len(dist)) {
		bc.pooled, bc.other = true, max(total-listed, 0)
	}
	return bc, ""
}

// catRow is one category of the union: its value and counts on each side.
type catRow struct {
	v    string
	b, c int64
}

func categorical(base baseCategories, cur catSide, opt Options) (*CategoricalDrift, string) {
	if cur.overflow {
		return nil, tooManyCategories("current", opt.MaxCategories)
	}
	bt, ct := base.u, cur.u
	if bt.Len() == 0 && base.other == 0 {
		return nil, "no non-null values in baseline"
	}
	if ct == nil || ct.Len() == 0 {
		return nil, "no non-null values in current"
	}
	// Every metric depends on a category only through its pair of counts,
	// so the union is reduced to the number of categories per pair; the
	// listed categories are picked on the way.
	groups := map[[2]int64]int64{}
	top := tally.NewTop(MaxListedCategories, func(x, y catRow) bool {
		if x.b+x.c != y.b+y.c {
			return x.b+x.c > y.b+y.c
		}
		return x.v < y.v
	})
	add := func(r catRow) {
		if r.b == 0 && r.c == 0 {
			return // a pinned pool that is empty on both sides is no category
		}
		groups[[2]int64{r.b, r.c}]++
		top.Offer(r)
	}
	matched := make([]bool, ct.Positions())
	bt.All(func(_ int, v string, h uint64, nb int64) {
		j, nc, ok := ct.Find(h, v)
		if ok {
			matched[j] = true
		}
		add(catRow{v, nb, nc})
	})
	otherC := int64(0)
	ct.All(func(j int, v string, _ uint64, nc int64) {
		switch {
		case matched[j]:
		case base.pooled:
			otherC += nc
		default:
			add(catRow{v: v, c: nc})
		}
	})
	if base.pooled {
		add(catRow{OtherCategory, base.other, otherC})
	}

	pairs := make([]catGroup, 0, len(groups))
	var k, tb, tc int64
	for bc, n := range groups {
		pairs = append(pairs, catGroup{b: bc[0], c: bc[1], n: n})
		k += n
		tb += n * bc[0]
		tc += n * bc[1]
	}
	slices.SortFunc(pairs, func(x, y catGroup) int {
		if x.b != y.b {
			return cmp.Compare(x.b, y.b)
		}
		return cmp.Compare(x.c, y.c)
	})
	psi := groupedPSI(pairs, tb, tc, opt.Epsilon)
	js := groupedJS(pairs, tb, tc)
	chi2, p := groupedChiSquare(pairs, k, tb, tc)
	th := opt.Thresholds
	res := &CategoricalDrift{
		PSI: psi, Severity: Severity(psi), JSDistance: js, Chi2: chi2, Chi2PValue: p,
		DriftDetected: psi >= th.PSI ||
			(th.JS != nil && js >= *th.JS) ||
			(th.Chi2PValue != nil && p < *th.Chi2PValue),
		HellingerDistance: groupedHellinger(pairs, tb, tc),
		LInfDistance:      groupedLInf(pairs, tb, tc),
		NumCategories:     int(k),
		BaselineTotal:     tb,
		CurrentTotal:      tc,
	}
	for _, r := range top.Sorted() {
		res.Categories = append(res.Categories, strings.Clone(r.v))
		res.BaselineCounts = append(res.BaselineCounts, r.b)
		res.CurrentCounts = append(res.CurrentCounts, r.c)
	}
	return res, ""
}
