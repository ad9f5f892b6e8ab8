package drift

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/mldata-io/mldata/pkg/profile"
	"github.com/mldata-io/mldata/pkg/profile/tally"
	"github.com/mldata-io/mldata/pkg/sketch"
)

// Memory-bounded drift (Options.MaxMemory). A data side holds its numeric
// values exactly, as without the bound, while they take at most MaxMemory
// bytes (8 per value, all numeric columns and workers together). Past
// that, every worker moves that side's numeric values into KLL sketches
// (package sketch, K = 400: about 10 KiB per column and worker) and the
// side's numeric columns are compared through them:
//
//   - bin edges: uniform edges from the exact finite min and max; quantile
//     edges are the baseline sketch's quantiles (no interpolation), or the
//     exact ones when only the current side was sketched;
//   - bin counts: the sketch's estimate of the values in each bin, each
//     share within the side's rank error of the exact share;
//   - KS: D over the sketches' CDFs; with ε the sum of both sides' rank
//     errors (AllRanksError for a sketched side, 0 for an exact one) the
//     exact D lies in [D − ε, D + ε], and the p-value between the p-values
//     of those ends, both reported;
//   - Wasserstein: the area between the sketches' CDFs, within ε·(max −
//     min) of the exact distance (max and min over both sides, exact); the
//     baseline standard deviation it is normed by is exact.
//
// A side that stays within the bound keeps exact values; a column whose
// two sides are exact gives exactly the numbers of an unbounded run. The
// bound covers numeric values only: categories are bounded by
// MaxCategories. A stored profile baseline keeps the current values exact.

// SketchK is the accuracy parameter of the KLL sketches of bounded drift.
const SketchK = sketch.K

// Approximation states how far a sketched column's numbers may be from the
// exact ones (with 99% confidence, the sketches being randomised).
type Approximation struct {
	Sketch string `json:"sketch"`
	// RankError is each side's normalised rank error (0 for a side that
	// kept exact values): the error of every bin share and CDF value.
	RankError [2]float64 `json:"rank_error"`
	// KSStatistic and KSPValue are the intervals the exact values lie in.
	KSStatistic [2]float64 `json:"ks_statistic"`
	KSPValue    [2]float64 `json:"ks_pvalue"`
	// WassersteinDistance bounds |reported − exact| (null with ±Inf).
	WassersteinDistance *float64 `json:"wasserstein_distance"`
}

// bounded is one side's numeric column collected under the bound: exact
// ascending values, or a sketch; with exact finite extremes and moments.
type bounded struct {
	exact    []float64 // ascending, when not sketched
	kll      *sketch.KLL
	n        int64
	lo, hi   float64 // finite min and max (+Inf, −Inf when none)
	hasInf   bool
	mean, m2 float64 // of the finite values (Chan et al.)
	nf       int64   // finite values
}

func newBounded() *bounded { return &bounded{lo: math.Inf(1), hi: math.Inf(-1)} }

func (b *bounded) addStats(xs []float64) {
	for _, x := range xs {
		if math.IsInf(x, 0) {
			b.hasInf = true
			continue
		}
		b.lo, b.hi = math.Min(b.lo, x), math.Max(b.hi, x)
		b.nf++
		d := x - b.mean
		b.mean += d / float64(b.nf)
		b.m2 += d * (x - b.mean)
	}
	b.n += int64(len(xs))
}

func (b *bounded) mergeStats(o *bounded) {
	b.lo, b.hi, b.hasInf = math.Min(b.lo, o.lo), math.Max(b.hi, o.hi), b.hasInf || o.hasInf
	b.n += o.n
	if o.nf == 0 {
		return
	}
	n := b.nf + o.nf
	d := o.mean - b.mean
	b.mean += d * float64(o.nf) / float64(n)
	b.m2 += o.m2 + d*d*float64(b.nf)*float64(o.nf)/float64(n)
	b.nf = n
}

// std is the population standard deviation of the finite values.
func (b *bounded) std() float64 { return math.Sqrt(b.m2 / float64(b.nf)) }

// items returns the values as weighted items, ascending, and the rank
// error of the side.
func (b *bounded) items() ([]sketch.Weighted, float64) {
	if b.kll == nil {
		out := make([]sketch.Weighted, len(b.exact))
		for i, x := range b.exact {
			out[i] = sketch.Weighted{V: x, W: 1}
		}
		return out, 0
	}
	return b.kll.Sorted(), sketch.AllRanksError
}

// numLen is the number of non-null values of planned column i.
func (d *sideData) numLen(i int) int {
	if d.bounded != nil && d.bounded[i] != nil {
		return int(d.bounded[i].n)
	}
	return d.nums[i].len()
}

// boundedAt returns planned column i when it was collected under the
// bound and sketched, nil otherwise.
func (d *sideData) boundedAt(i int) *bounded {
	if d == nil || d.bounded == nil {
		return nil
	}
	return d.bounded[i]
}

// collectBounded is collect under Options.MaxMemory: numeric values are
// held exactly until they take MaxMemory bytes, then sketched (see the top
// of this file); categories are counted as collect counts them. A sketched
// column is in bounded, an exact one in nums (sorted).
func collectBounded(ctx context.Context, in Input, plans []columnPlan, skip []bool, isBase bool, opt Options, sketchNow bool) (*sideData, error) {
	scan, pos := sideScan(in, plans, skip, isBase)
	workers := opt.Workers
	type wdata struct {
		nums    []*bounded
		cats    []*tally.Strings
		buf     []float64
		dcounts []int64 // countCategories' scratch
	}
	per := make([]*wdata, workers)
	renders := make([]func(arrow.Array, int) string, len(plans))
	overflow := make([]atomic.Bool, len(plans))
	var held atomic.Int64
	var sketched atomic.Bool
	sketched.Store(sketchNow)
	for i, pl := range plans {
		if !pl.numeric {
			t := pl.curType
			if isBase {
				t = pl.baseType
			}
			renders[i] = profile.ValueRenderer(t)
		}
	}
	seed := uint64(1)
	if !isBase {
		seed = 2
	}
	err := scan(ctx, workers, func(w int, rec arrow.RecordBatch) error {
		if w < 0 || w >= workers {
			return fmt.Errorf("scan used worker %d of %d", w, workers)
		}
		wd := per[w]
		if wd == nil {
			wd = &wdata{nums: make([]*bounded, len(plans)), cats: make([]*tally.Strings, len(plans))}
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
				if wd.buf, _, err = profile.AppendFloats(wd.buf[:0], arr); err != nil {
					return fmt.Errorf("column %q: %w", pl.name, err)
				}
				b := wd.nums[i]
				if b == nil {
					b = newBounded()
					wd.nums[i] = b
				}
				b.addStats(wd.buf)
				if !sketched.Load() && held.Add(8*int64(len(wd.buf))) > opt.MaxMemory {
					sketched.Store(true)
				}
				if sketched.Load() && b.kll == nil {
					b.kll = sketch.NewKLL(seed*1_000_003 + uint64(w*len(plans)+i))
					for _, x := range b.exact {
						b.kll.Add(x)
					}
					held.Add(-8 * int64(len(b.exact)))
					b.exact = nil
				}
				if b.kll != nil {
					for _, x := range wd.buf {
						b.kll.Add(x)
					}
				} else {
					b.exact = append(b.exact, wd.buf...)
				}
				continue
			}
			if overflow[i].Load() {
				wd.cats[i] = nil
				continue
			}
			t := wd.cats[i]
			if t == nil {
				t = new(tally.Strings)
				wd.cats[i] = t
			}
			var full func() bool
			if opt.MaxCategories > 0 {
				full = func() bool { return t.Len() > opt.MaxCategories }
			}
			var stopped bool
			wd.dcounts, stopped = countCategories(t, arr, renders[i], wd.dcounts, full)
			if stopped || full != nil && full() {
				overflow[i].Store(true)
				wd.cats[i] = nil
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &sideData{nums: make([]*numSide, len(plans)), cats: make([]catSide, len(plans)), bounded: make([]*bounded, len(plans))}
	parallel(len(plans), workers, func(i int) {
		if plans[i].numeric {
			all := newBounded()
			anySketch := false
			for _, wd := range per {
				if wd != nil && wd.nums[i] != nil {
					anySketch = anySketch || wd.nums[i].kll != nil
				}
			}
			if anySketch {
				all.kll = sketch.NewKLL(seed)
			}
			for _, wd := range per {
				if wd == nil || wd.nums[i] == nil {
					continue
				}
				b := wd.nums[i]
				all.mergeStats(b)
				switch {
				case b.kll != nil:
					all.kll.Merge(b.kll)
				case anySketch:
					for _, x := range b.exact {
						all.kll.Add(x)
					}
				default:
					all.exact = append(all.exact, b.exact...)
				}
				wd.nums[i] = nil
			}
			if anySketch {
				out.bounded[i] = all
				out.nums[i] = &numSide{}
				return
			}
			slices.Sort(all.exact)
			out.nums[i] = &numSide{sorted: all.exact, n: len(all.exact)}
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
		u := tally.NewUnion(ts...)
		if opt.MaxCategories > 0 && u.Len() > opt.MaxCategories {
			out.cats[i] = catSide{overflow: true}
			return
		}
		out.cats[i] = catSide{u: u}
	})
	return out, nil
}

// anySketched reports whether any numeric column of the side was sketched.
func (d *sideData) anySketched() bool {
	if d == nil {
		return false
	}
	for _, b := range d.bounded {
		if b != nil {
			return true
		}
	}
	return false
}

// asBounded returns planned column i of a side as a bounded column: the
// sketch, or the exact values.
func (d *sideData) asBounded(i int) *bounded {
	if b := d.boundedAt(i); b != nil {
		return b
	}
	b := newBounded()
	xs := d.nums[i].ascending()
	b.addStats(xs)
	b.exact = xs
	return b
}

// numericBounded compares a numeric column of which at least one side was
// sketched.
func numericBounded(base, cur *sideData, i int, opt Options) (*NumericDrift, string) {
	b, c := base.asBounded(i), cur.asBounded(i)
	if b.n == 0 {
		return nil, "no non-null values in baseline"
	}
	if c.n == 0 {
		return nil, "no non-null values in current"
	}
	if b.nf == 0 {
		return nil, "no finite values in baseline to bin"
	}
	bi, eb := b.items()
	ci, ec := c.items()
	var edges []float64
	switch {
	case opt.Binning == Quantile && b.kll == nil: // an exact baseline: exact quantiles
		edges = QuantileEdges(finite(b.exact), opt.Bins)
	case opt.Binning == Quantile:
		fin := finiteItems(bi)
		var nfin int64
		for _, it := range fin {
			nfin += it.W
		}
		edges = []float64{}
		for k := 1; k < opt.Bins; k++ {
			e := sketch.Quantile(fin, nfin, float64(k)/float64(opt.Bins))
			if len(edges) == 0 || e != edges[len(edges)-1] {
				edges = append(edges, e)
			}
		}
	default:
		edges = UniformEdges(b.lo, b.hi, opt.Bins)
	}
	res := binned(edges, itemCounts(bi, edges), itemCounts(ci, edges), opt)
	d := ksItems(bi, b.n, ci, c.n)
	en := float64(b.n) * float64(c.n) / float64(b.n+c.n)
	pv := func(d float64) float64 { return math.Min(math.Max(KolmogorovSF(math.Sqrt(en)*d), 0), 1) }
	p := pv(d)
	res.KSStatistic, res.KSPValue = &d, &p
	eps := eb + ec
	dlo, dhi := math.Max(d-eps, 0), math.Min(d+eps, 1)
	res.Approximate = &Approximation{
		Sketch:      fmt.Sprintf("KLL, k = %d; sides over the memory bound sketched", SketchK),
		RankError:   [2]float64{eb, ec},
		KSStatistic: [2]float64{dlo, dhi},
		KSPValue:    [2]float64{pv(dhi), pv(dlo)},
	}
	res.DriftDetected = res.DriftDetected || (opt.Thresholds.KSPValue != nil && p < *opt.Thresholds.KSPValue)
	if b.hasInf || c.hasInf {
		res.unavailable(infiniteValues, "wasserstein_distance", "wasserstein_normed")
		return res, ""
	}
	w := wassersteinItems(bi, b.n, ci, c.n)
	normed := w / math.Max(b.std(), WassersteinNormFloor)
	res.WassersteinDistance, res.WassersteinNormed = &w, &normed
	werr := eps * (math.Max(b.hi, c.hi) - math.Min(b.lo, c.lo))
	res.Approximate.WassersteinDistance = &werr
	return res, ""
}

func finiteItems(items []sketch.Weighted) []sketch.Weighted {
	lo, hi := 0, len(items)
	for lo < hi && math.IsInf(items[lo].V, -1) {
		lo++
	}
	for hi > lo && math.IsInf(items[hi-1].V, 1) {
		hi--
	}
	return items[lo:hi]
}

// itemCounts is BinCounts over weighted ascending items.
func itemCounts(items []sketch.Weighted, edges []float64) []int64 {
	counts := make([]int64, len(edges)+1)
	k := 0
	for _, it := range items {
		for k < len(edges) && edges[k] <= it.V {
			k++
		}
		counts[k] += it.W
	}
	return counts
}

// walkItems calls fn at each distinct value of two ascending weighted
// samples with the weights of each at most that value and the next
// distinct value (+Inf after the last).
func walkItems(a, b []sketch.Weighted, fn func(v float64, wa, wb int64, next float64)) {
	i, j := 0, 0
	var ca, cb int64
	for i < len(a) || j < len(b) {
		var v float64
		switch {
		case j >= len(b) || (i < len(a) && a[i].V <= b[j].V):
			v = a[i].V
		default:
			v = b[j].V
		}
		for i < len(a) && a[i].V <= v {
			ca += a[i].W
			i++
		}
		for j < len(b) && b[j].V <= v {
			cb += b[j].W
			j++
		}
		next := math.Inf(1)
		if i < len(a) {
			next = a[i].V
		}
		if j < len(b) {
			next = math.Min(next, b[j].V)
		}
		fn(v, ca, cb, next)
	}
}

func ksItems(a []sketch.Weighted, n int64, b []sketch.Weighted, m int64) float64 {
	d := 0.0
	walkItems(a, b, func(_ float64, wa, wb int64, _ float64) {
		d = math.Max(d, math.Abs(float64(wa)/float64(n)-float64(wb)/float64(m)))
	})
	return d
}

func wassersteinItems(a []sketch.Weighted, n int64, b []sketch.Weighted, m int64) float64 {
	var s neumaier
	walkItems(a, b, func(v float64, wa, wb int64, next float64) {
		if !math.IsInf(next, 1) {
			s.add(math.Abs(float64(wa)/float64(n)-float64(wb)/float64(m)) * (next - v))
		}
	})
	return s.sum()
}

// dropBounded lets the collector have column i's sketch once compared.
func (d *sideData) dropBounded(i int) {
	if d != nil && d.bounded != nil {
		d.bounded[i] = nil
	}
}
