// Package drift compares a current dataset with a baseline, column by
// column, with the exact definitions of DESIGN §7: PSI, KL divergence and
// Jensen–Shannon distance over binned numeric values, the two-sample
// Kolmogorov–Smirnov test on the raw values, and PSI, JS and Pearson's
// chi-square over categories.
//
// Decisions beyond DESIGN §7, also stated in each report's conventions:
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
//     chi2_pvalue. has_drift is true when any column's drift_detected is.
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
//   - The timestamp is the comparison time in RFC 3339 UTC, from
//     Options.Now so that tests can fix it.
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
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/mldata-io/mldata/pkg/profile"
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

// Thresholds decide drift_detected. PSI always applies; the others only
// when set.
type Thresholds struct {
	PSI        float64  `json:"psi"`
	KSPValue   *float64 `json:"ks_pvalue,omitempty"`
	JS         *float64 `json:"js,omitempty"`
	Chi2PValue *float64 `json:"chi2_pvalue,omitempty"`
}

// Options control Compare. The zero value means 10 uniform bins, epsilon
// 0.001 and a PSI threshold of 0.1.
type Options struct {
	Bins       int
	Binning    Binning
	Epsilon    float64
	Thresholds Thresholds
	// Columns, when set, restricts the comparison to these columns; each
	// must exist on at least one side.
	Columns []string
	// Exclude drops columns from the comparison.
	Exclude []string
	// Workers is the scan parallelism; 0 means GOMAXPROCS.
	Workers int
	// Now gives the report's timestamp; nil means time.Now.
	Now func() time.Time
}

// Input is one side of a comparison: data to scan (Schema and Scan), or, for
// the baseline only, a stored profile.
type Input struct {
	// Name identifies the input in the report (its URI).
	Name    string
	Schema  *arrow.Schema
	Scan    profile.ScanFunc
	Profile *profile.Profile
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
	// Edges are the interior bin edges; bin i is [Edges[i−1], Edges[i]) with
	// the outer bins open.
	Edges          []float64 `json:"edges"`
	BaselineCounts []int64   `json:"baseline_counts"`
	CurrentCounts  []int64   `json:"current_counts"`
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
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
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

	var base *sideData
	if !pinned {
		if base, err = collect(ctx, baseline.Scan, plans, true, opt.Workers); err != nil {
			return nil, fmt.Errorf("drift: reading baseline: %w", err)
		}
	}
	cur, err := collect(ctx, current.Scan, plans, false, opt.Workers)
	if err != nil {
		return nil, fmt.Errorf("drift: reading current: %w", err)
	}

	for i, pl := range plans {
		var skip string
		if pl.numeric {
			var res *NumericDrift
			if pinned {
				res, skip = numericPinned(baseline.Profile, pl.name, cur.nums[i], opt)
			} else {
				res, skip = numericRaw(base.nums[i], cur.nums[i], opt)
			}
			if res != nil {
				r.NumericDrift = append(r.NumericDrift, profile.Field[*NumericDrift]{Key: pl.name, Value: res})
				r.HasDrift = r.HasDrift || res.DriftDetected
			}
		} else {
			var bc []category
			if pinned {
				bc, skip = pinnedCategories(baseline.Profile, pl.name)
			} else {
				bc = toCategories(base.cats[i])
			}
			var res *CategoricalDrift
			if skip == "" {
				res, skip = categorical(bc, cur.cats[i], opt)
			}
			if res != nil {
				r.CategoricalDrift = append(r.CategoricalDrift, profile.Field[*CategoricalDrift]{Key: pl.name, Value: res})
				r.HasDrift = r.HasDrift || res.DriftDetected
			}
		}
		if skip != "" {
			r.Skipped = append(r.Skipped, Skipped{Column: pl.name, Reason: skip})
		}
	}
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

// sideData is what one side's scan collected, per planned column: ascending
// non-null values of numeric columns, counts per category otherwise.
type sideData struct {
	nums [][]float64
	cats []map[string]int64
}

func collect(ctx context.Context, scan profile.ScanFunc, plans []columnPlan, isBase bool, workers int) (*sideData, error) {
	type workerData struct {
		nums [][]float64
		cats []map[string]int64
	}
	per := make([]*workerData, workers)
	renders := make([]func(arrow.Array, int) string, len(plans))
	for i, pl := range plans {
		t := pl.curType
		if isBase {
			t = pl.baseType
		}
		if !pl.numeric {
			renders[i] = profile.ValueRenderer(t)
		}
	}
	err := scan(ctx, workers, func(w int, rec arrow.RecordBatch) error {
		if w < 0 || w >= workers {
			return fmt.Errorf("scan used worker %d of %d", w, workers)
		}
		wd := per[w]
		if wd == nil {
			wd = &workerData{nums: make([][]float64, len(plans)), cats: make([]map[string]int64, len(plans))}
			per[w] = wd
		}
		for i, pl := range plans {
			idx := pl.curIdx
			if isBase {
				idx = pl.baseIdx
			}
			if idx >= int(rec.NumCols()) || rec.ColumnName(idx) != pl.name {
				return fmt.Errorf("batch does not have column %q at position %d", pl.name, idx)
			}
			arr := rec.Column(idx)
			if pl.numeric {
				var err error
				if wd.nums[i], _, err = profile.AppendFloats(wd.nums[i], arr); err != nil {
					return fmt.Errorf("column %q: %w", pl.name, err)
				}
				continue
			}
			m := wd.cats[i]
			if m == nil {
				m = map[string]int64{}
				wd.cats[i] = m
			}
			render := renders[i]
			for j := 0; j < arr.Len(); j++ {
				if arr.IsNull(j) {
					continue
				}
				v := render(arr, j)
				if c, ok := m[v]; ok {
					m[v] = c + 1
				} else {
					m[strings.Clone(v)] = 1
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &sideData{nums: make([][]float64, len(plans)), cats: make([]map[string]int64, len(plans))}
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i, pl := range plans {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if pl.numeric {
				var all []float64
				for _, wd := range per {
					if wd != nil {
						all = append(all, wd.nums[i]...)
					}
				}
				slices.Sort(all)
				out.nums[i] = all
				return
			}
			all := map[string]int64{}
			for _, wd := range per {
				if wd == nil {
					continue
				}
				for k, v := range wd.cats[i] {
					all[k] += v
				}
			}
			out.cats[i] = all
		}()
	}
	wg.Wait()
	return out, nil
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

func numericRaw(base, cur []float64, opt Options) (*NumericDrift, string) {
	if len(base) == 0 {
		return nil, "no non-null values in baseline"
	}
	if len(cur) == 0 {
		return nil, "no non-null values in current"
	}
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
	d, p := KS(base, cur)
	res.KSStatistic, res.KSPValue = &d, &p
	res.DriftDetected = res.DriftDetected || (opt.Thresholds.KSPValue != nil && p < *opt.Thresholds.KSPValue)
	return res, ""
}

func numericPinned(p *profile.Profile, name string, cur []float64, opt Options) (*NumericDrift, string) {
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
	if len(cur) == 0 {
		return nil, "no non-null values in current"
	}
	edges := make([]float64, 0, len(h.Edges)-2)
	for _, e := range h.Edges[1 : len(h.Edges)-1] {
		edges = append(edges, float64(e))
	}
	res := binned(edges, slices.Clone(h.Counts), BinCounts(cur, edges), opt)
	res.Unavailable = map[string]string{
		"ks_statistic": "the baseline is a stored profile, which keeps no raw values",
		"ks_pvalue":    "the baseline is a stored profile, which keeps no raw values",
	}
	return res, ""
}

func binned(edges []float64, bc, cc []int64, opt Options) *NumericDrift {
	psi := PSI(bc, cc, opt.Epsilon)
	js := JSDistance(bc, cc)
	return &NumericDrift{
		PSI:            psi,
		Severity:       Severity(psi),
		DriftDetected:  psi >= opt.Thresholds.PSI || (opt.Thresholds.JS != nil && js >= *opt.Thresholds.JS),
		KLDivergence:   KL(bc, cc),
		JSDistance:     js,
		Edges:          edges,
		BaselineCounts: bc,
		CurrentCounts:  cc,
	}
}

type category struct {
	v string
	n int64
}

func toCategories(m map[string]int64) []category {
	out := make([]category, 0, len(m))
	for k, v := range m {
		out = append(out, category{k, v})
	}
	return out
}

// pinnedCategories reads a stored profile's top values as baseline
// categories, pooling what the list leaves out.
func pinnedCategories(p *profile.Profile, name string) ([]category, string) {
	col, _ := p.Column(name)
	dist, _ := p.Distributions.Get(name)
	total := p.NumRows - col.NullCount
	var listed int64
	out := make([]category, 0, len(dist)+1)
	for _, f := range dist {
		out = append(out, category{f.Key, f.Value})
		listed += f.Value
	}
	if total <= 0 || listed == 0 {
		return nil, "no non-null values in baseline"
	}
	if col.UniqueCount > int64(len(dist)) {
		out = append(out, category{OtherCategory, max(total-listed, 0)})
	}
	return out, ""
}

func categorical(base []category, cur map[string]int64, opt Options) (*CategoricalDrift, string) {
	if len(base) == 0 {
		return nil, "no non-null values in baseline"
	}
	if len(cur) == 0 {
		return nil, "no non-null values in current"
	}
	index := make(map[string]int, len(base)+len(cur))
	pooled := false
	for i, c := range base {
		index[c.v] = i
		pooled = pooled || c.v == OtherCategory
	}
	type row struct {
		v    string
		b, c int64
	}
	rows := make([]row, len(base))
	for i, c := range base {
		rows[i] = row{v: c.v, b: c.n}
	}
	for v, n := range cur {
		i, ok := index[v]
		if !ok && pooled {
			i, ok = index[OtherCategory], true
		}
		if !ok {
			i = len(rows)
			index[v] = i
			rows = append(rows, row{v: v})
		}
		rows[i].c += n
	}
	// Sort by value so that results do not depend on map order.
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.v, b.v) })
	// A pinned "other" bucket can be empty on both sides; it is no category.
	rows = slices.DeleteFunc(rows, func(r row) bool { return r.b == 0 && r.c == 0 })
	bc := make([]int64, len(rows))
	cc := make([]int64, len(rows))
	var tb, tc int64
	for i, r := range rows {
		bc[i], cc[i] = r.b, r.c
		tb += r.b
		tc += r.c
	}
	psi := PSI(bc, cc, opt.Epsilon)
	js := JSDistance(bc, cc)
	chi2, p := ChiSquare(bc, cc)
	th := opt.Thresholds
	res := &CategoricalDrift{
		PSI: psi, Severity: Severity(psi), JSDistance: js, Chi2: chi2, Chi2PValue: p,
		DriftDetected: psi >= th.PSI ||
			(th.JS != nil && js >= *th.JS) ||
			(th.Chi2PValue != nil && p < *th.Chi2PValue),
		NumCategories: len(rows),
		BaselineTotal: tb,
		CurrentTotal:  tc,
	}
	slices.SortStableFunc(rows, func(a, b row) int { return cmp.Compare(b.b+b.c, a.b+a.c) })
	for _, r := range rows[:min(len(rows), MaxListedCategories)] {
		res.Categories = append(res.Categories, r.v)
		res.BaselineCounts = append(res.BaselineCounts, r.b)
		res.CurrentCounts = append(res.CurrentCounts, r.c)
	}
	return res, ""
}
