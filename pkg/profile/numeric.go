package profile

import (
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/mldata-io/mldata/pkg/profile/tally"
	"github.com/mldata-io/mldata/pkg/sketch"
)

// numAcc accumulates one numeric column on one worker. Integers are kept as
// int64 so that large identifiers keep their distinct values and exact
// min/max; everything else is float64.
type numAcc struct {
	isInt bool
	seed  uint64

	nulls int64
	count int64 // non-null values, infinities included

	// Moments of the finite values, merged with Chan et al.'s parallel
	// formulas; the mean itself comes from the compensated sum. mean is the
	// mean of x − shift, shift being the first finite value seen: values
	// like 1e9 + small spread then keep the spread's full precision in the
	// merge, where differences of raw means would lose it to rounding.
	nf       int64
	sum      Sum
	shift    float64
	mean, m2 float64

	posInf, negInf int64
	// min and max over all non-null values; finMin and finMax over the
	// finite ones (the histogram's range).
	min, max       float64
	finMin, finMax float64
	minI, maxI     int64

	sketched bool
	floats   tally.Values[float64]
	ints     tally.Values[int64]
	// fbuf and ibuf hold one batch's non-null values.
	fbuf []float64
	ibuf []int64
	kll  *sketch.KLL
	hll  *hll
}

func newNumAcc(isInt bool, seed uint64) *numAcc {
	return &numAcc{
		isInt: isInt, seed: seed,
		min: math.Inf(1), max: math.Inf(-1), finMin: math.Inf(1), finMax: math.Inf(-1),
		minI: math.MaxInt64, maxI: math.MinInt64,
	}
}

// exactBytes is the memory the exact state holds.
func (a *numAcc) exactBytes() int64 { return a.floats.Bytes() + a.ints.Bytes() }

// add ingests one array and returns how many bytes of exact state it added.
func (a *numAcc) add(arr arrow.Array) (int64, error) {
	before := a.exactBytes()
	switch arr := arr.(type) {
	case *array.Int64:
		addInts(a, arr.Int64Values(), arr)
	case *array.Int32:
		addInts(a, arr.Int32Values(), arr)
	case *array.Int16:
		addInts(a, arr.Int16Values(), arr)
	case *array.Int8:
		addInts(a, arr.Int8Values(), arr)
	case *array.Uint32:
		addInts(a, arr.Uint32Values(), arr)
	case *array.Uint16:
		addInts(a, arr.Uint16Values(), arr)
	case *array.Uint8:
		addInts(a, arr.Uint8Values(), arr)
	case *array.Float64:
		addFloats(a, arr.Float64Values(), arr)
	case *array.Float32:
		addFloats(a, arr.Float32Values(), arr)
	case *array.Uint64:
		addFloats(a, arr.Uint64Values(), arr)
	case *array.Float16:
		vals := make([]float32, arr.Len())
		for i := range vals {
			vals[i] = arr.Value(i).Float32()
		}
		addFloats(a, vals, arr)
	default:
		return 0, fmt.Errorf("numeric column has unsupported type %s", arr.DataType())
	}
	return a.exactBytes() - before, nil
}

func addInts[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32](a *numAcc, vals []T, arr arrow.Array) {
	var xs []int64
	if arr.NullN() == 0 {
		// An int64 array without nulls is already what is kept.
		xs, _ = any(vals).([]int64)
	}
	if xs == nil {
		xs = a.ibuf[:0]
		hasNulls := arr.NullN() > 0
		for i, v := range vals {
			if hasNulls && arr.IsNull(i) {
				a.nulls++
				continue
			}
			xs = append(xs, int64(v))
		}
		a.ibuf = xs
	}
	a.ingestInts(xs)
	if !a.sketched {
		a.ints.Append(xs...)
	}
}

// addFloats treats NaN as null, as pandas does: a Parquet float column may
// carry NaN in valid slots.
func addFloats[T float32 | float64 | uint64](a *numAcc, vals []T, arr arrow.Array) {
	xs := a.fbuf[:0]
	hasNulls := arr.NullN() > 0
	for i, v := range vals {
		f := float64(v)
		if (hasNulls && arr.IsNull(i)) || f != f {
			a.nulls++
			continue
		}
		xs = append(xs, f)
	}
	a.fbuf = xs
	a.ingestFloats(xs)
	if !a.sketched {
		a.floats.Append(xs...)
	}
}

func (a *numAcc) ingestInts(xs []int64) {
	if len(xs) == 0 {
		return
	}
	a.count += int64(len(xs))
	if a.nf == 0 {
		a.shift = float64(xs[0])
	}
	var s, ds Sum
	for _, x := range xs {
		a.minI = min(a.minI, x)
		a.maxI = max(a.maxI, x)
		s.Add(float64(x))
		ds.Add(float64(x) - a.shift)
	}
	n := float64(len(xs))
	mean := ds.Value() / n
	var d1, d2 float64
	for _, x := range xs {
		d := (float64(x) - a.shift) - mean
		d1 += d
		d2 += d * d
	}
	a.mergeMoments(int64(len(xs)), s, a.shift, mean, d2-d1*d1/n)
	if a.sketched {
		for _, x := range xs {
			a.kll.Add(float64(x))
			a.hll.add(mix64(uint64(x)))
		}
	}
}

func (a *numAcc) ingestFloats(xs []float64) {
	if len(xs) == 0 {
		return
	}
	a.count += int64(len(xs))
	if a.nf == 0 {
		for _, x := range xs {
			if !math.IsInf(x, 0) {
				a.shift = x
				break
			}
		}
	}
	var s, ds Sum
	var nf int64
	for _, x := range xs {
		a.min = min(a.min, x)
		a.max = max(a.max, x)
		switch {
		case math.IsInf(x, 1):
			a.posInf++
		case math.IsInf(x, -1):
			a.negInf++
		default:
			a.finMin = min(a.finMin, x)
			a.finMax = max(a.finMax, x)
			s.Add(x)
			ds.Add(x - a.shift)
			nf++
		}
	}
	if nf > 0 {
		n := float64(nf)
		mean := ds.Value() / n
		var d1, d2 float64
		for _, x := range xs {
			if math.IsInf(x, 0) {
				continue
			}
			d := (x - a.shift) - mean
			d1 += d
			d2 += d * d
		}
		a.mergeMoments(nf, s, a.shift, mean, d2-d1*d1/n)
	}
	if a.sketched {
		for _, x := range xs {
			a.kll.Add(x)
			a.hll.add(mix64(floatKey(x)))
		}
	}
}

// floatKey maps equal floats to equal keys (−0 and +0 are one value).
func floatKey(x float64) uint64 {
	if x == 0 {
		return 0
	}
	return math.Float64bits(x)
}

// mergeMoments merges nb finite values with sum sb, mean meanB of x − shiftB
// and centred sum of squares m2B.
func (a *numAcc) mergeMoments(nb int64, sb Sum, shiftB, meanB, m2B float64) {
	a.sum.Merge(sb)
	if a.nf == 0 {
		a.nf, a.shift, a.mean, a.m2 = nb, shiftB, meanB, m2B
		return
	}
	n := a.nf + nb
	// Shifts are nearby values, so their difference is exact (Sterbenz).
	delta := (meanB + (shiftB - a.shift)) - a.mean
	a.mean += delta * float64(nb) / float64(n)
	a.m2 += m2B + delta*delta*(float64(a.nf)*float64(nb)/float64(n))
	a.nf = n
}

// toSketch moves the exact state into sketches and returns the bytes freed.
func (a *numAcc) toSketch() int64 {
	if a.sketched {
		return 0
	}
	freed := a.exactBytes()
	a.sketched = true
	a.kll = sketch.NewKLL(a.seed)
	a.hll = new(hll)
	for xs := range a.ints.Chunks() {
		for _, x := range xs {
			a.kll.Add(float64(x))
			a.hll.add(mix64(uint64(x)))
		}
	}
	for xs := range a.floats.Chunks() {
		for _, x := range xs {
			a.kll.Add(x)
			a.hll.add(mix64(floatKey(x)))
		}
	}
	a.ints, a.floats = tally.Values[int64]{}, tally.Values[float64]{}
	return freed
}

func (a *numAcc) merge(o *numAcc) {
	a.nulls += o.nulls
	a.count += o.count
	if o.nf > 0 {
		a.mergeMoments(o.nf, o.sum, o.shift, o.mean, o.m2)
	}
	a.posInf += o.posInf
	a.negInf += o.negInf
	a.min, a.max = min(a.min, o.min), max(a.max, o.max)
	a.finMin, a.finMax = min(a.finMin, o.finMin), max(a.finMax, o.finMax)
	a.minI, a.maxI = min(a.minI, o.minI), max(a.maxI, o.maxI)
	if a.sketched || o.sketched {
		a.toSketch()
		o.toSketch()
		a.kll.Merge(o.kll)
		a.hll.merge(o.hll)
		return
	}
	a.ints.Merge(&o.ints)
	a.floats.Merge(&o.floats)
}

func (a *numAcc) mergeFrom(o accumulator) { a.merge(o.(*numAcc)) }

func (a *numAcc) finish(name string, opt Options) colResult {
	bins := opt.Bins
	r := colResult{nulls: a.nulls, stats: &Statistics{Count: a.count}}
	if a.count == 0 {
		return r
	}
	st := r.stats
	mn, mx := a.min, a.max
	finMin, finMax := a.finMin, a.finMax
	if a.isInt {
		mn, mx = float64(a.minI), float64(a.maxI)
		finMin, finMax = mn, mx
	}
	st.Min, st.Max = F(mn), F(mx)
	switch {
	case a.posInf > 0 && a.negInf > 0:
		st.Mean = F(math.NaN())
	case a.posInf > 0:
		st.Mean = F(math.Inf(1))
	case a.negInf > 0:
		st.Mean = F(math.Inf(-1))
	default:
		st.Mean = F(a.sum.Value() / float64(a.nf))
	}
	if a.count >= 2 {
		if a.posInf+a.negInf > 0 {
			st.Std = F(math.NaN()) // inf − inf, as numpy gets
		} else {
			st.Std = F(math.Sqrt(max(a.m2, 0) / float64(a.nf-1)))
		}
	}
	nonFinite := a.posInf + a.negInf
	var edges []float64
	if a.nf > 0 {
		edges = HistogramEdges(finMin, finMax, bins)
	}
	if nonFinite > 0 {
		r.notes = append(r.notes, fmt.Sprintf("column %q: %d infinite value(s) are counted in statistics but left out of the histogram (numpy.histogram rejects an infinite range)", name, nonFinite))
	}

	if a.sketched {
		items := a.kll.Sorted()
		st.Percentiles = Percentiles{
			P25: F(sketch.Quantile(items, a.kll.N(), 0.25)),
			P50: F(sketch.Quantile(items, a.kll.N(), 0.5)),
			P75: F(sketch.Quantile(items, a.kll.N(), 0.75)),
		}
		if edges != nil {
			r.hist = sketchHistogram(items, edges)
		}
		r.unique = min(int64(math.Round(a.hll.estimate())), a.count)
		pe := sketch.RankError
		r.approx = &Approximation{UniqueCount: hllErrorBound, Percentiles: &pe}
		return r
	}

	if a.isInt && tally.DenseFits(a.minI, a.maxI, int64(a.ints.Len())) {
		a.finishDense(&r, edges)
		return r
	}
	if a.isInt {
		xs := a.ints.Collect()
		slices.Sort(xs)
		st.Percentiles = Percentiles{P25: F(PercentileInt(xs, 0.25)), P50: F(PercentileInt(xs, 0.5)), P75: F(PercentileInt(xs, 0.75))}
		r.unique = distinct(xs)
		r.hist = &Histogram{Edges: floats(edges), Counts: HistogramCounts(xs, edges)}
		return r
	}
	xs := tally.SortedFloats(&a.floats)
	st.Percentiles = Percentiles{P25: F(Percentile(xs, 0.25)), P50: F(Percentile(xs, 0.5)), P75: F(Percentile(xs, 0.75))}
	r.unique = distinct(xs)
	if edges != nil {
		lo, hi := int(a.negInf), len(xs)-int(a.posInf)
		r.hist = &Histogram{Edges: floats(edges), Counts: HistogramCounts(xs[lo:hi], edges)}
	}
	return r
}

// finishDense computes the percentiles, distinct count and histogram of an
// integer column whose range is narrow for its size (identifiers, codes)
// from a count per value, in time linear in the range, where sorting would
// take O(n log n). The results are those of the sorted path exactly.
func (a *numAcc) finishDense(r *colResult, edges []float64) {
	d := tally.NewDense(a.minI, a.maxI)
	for xs := range a.ints.Chunks() {
		d.Add(xs)
	}
	a.ints = tally.Values[int64]{}
	n := int(d.Len())
	qs := [3]float64{0.25, 0.5, 0.75}
	var ranks []int64
	var ts [3]float64
	for i, q := range qs {
		lo, hi, t := PercentileIndex(n, q)
		ranks = append(ranks, int64(lo), int64(hi))
		ts[i] = t
	}
	v := d.ValuesAt(ranks)
	r.stats.Percentiles = Percentiles{
		P25: F(LerpInt(v[0], v[1], ts[0])),
		P50: F(LerpInt(v[2], v[3], ts[1])),
		P75: F(LerpInt(v[4], v[5], ts[2])),
	}
	r.unique = d.Distinct()
	// As HistogramCounts: bins [e(i), e(i+1)), the last one closed.
	below := d.Below(edges)
	last := len(edges) - 1
	atMostLast := d.AtMost(edges[last:])[0]
	counts := make([]int64, last)
	for i := range counts {
		hi := below[i+1]
		if i == last-1 {
			hi = atMostLast
		}
		counts[i] = max(hi-below[i], 0)
	}
	r.hist = &Histogram{Edges: floats(edges), Counts: counts}
}

func sketchHistogram(items []sketch.Weighted, edges []float64) *Histogram {
	finite := items[:0:0]
	for _, it := range items {
		if !math.IsInf(it.V, 0) {
			finite = append(finite, it)
		}
	}
	var total int64
	for _, it := range finite {
		total += it.W
	}
	counts := make([]int64, len(edges)-1)
	prev := sketch.RankBelow(finite, edges[0])
	for i := range counts {
		var upTo int64
		if i == len(counts)-1 {
			upTo = total
		} else {
			upTo = sketch.RankBelow(finite, edges[i+1])
		}
		counts[i] = upTo - prev
		prev = upTo
	}
	return &Histogram{Edges: floats(edges), Counts: counts}
}

func distinct[T int64 | float64](sorted []T) int64 {
	if len(sorted) == 0 {
		return 0
	}
	n := int64(1)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] != sorted[i-1] {
			n++
		}
	}
	return n
}

func floats(xs []float64) []Float {
	out := make([]Float, len(xs))
	for i, x := range xs {
		out[i] = Float(x)
	}
	return out
}

// AppendFloats appends the non-null values of a numeric array to dst as
// float64 and returns dst and the number of nulls. NaN counts as null, as
// everywhere in profiles. It is the value view drift checks use.
func AppendFloats(dst []float64, arr arrow.Array) ([]float64, int64, error) {
	var nulls int64
	hasNulls := arr.NullN() > 0
	app := func(i int, f float64) {
		if (hasNulls && arr.IsNull(i)) || f != f {
			nulls++
			return
		}
		dst = append(dst, f)
	}
	switch a := arr.(type) {
	case *array.Int64:
		for i, v := range a.Int64Values() {
			app(i, float64(v))
		}
	case *array.Int32:
		for i, v := range a.Int32Values() {
			app(i, float64(v))
		}
	case *array.Int16:
		for i, v := range a.Int16Values() {
			app(i, float64(v))
		}
	case *array.Int8:
		for i, v := range a.Int8Values() {
			app(i, float64(v))
		}
	case *array.Uint64:
		for i, v := range a.Uint64Values() {
			app(i, float64(v))
		}
	case *array.Uint32:
		for i, v := range a.Uint32Values() {
			app(i, float64(v))
		}
	case *array.Uint16:
		for i, v := range a.Uint16Values() {
			app(i, float64(v))
		}
	case *array.Uint8:
		for i, v := range a.Uint8Values() {
			app(i, float64(v))
		}
	case *array.Float64:
		for i, v := range a.Float64Values() {
			app(i, v)
		}
	case *array.Float32:
		for i, v := range a.Float32Values() {
			app(i, float64(v))
		}
	case *array.Float16:
		for i := 0; i < a.Len(); i++ {
			app(i, float64(a.Value(i).Float32()))
		}
	default:
		return dst, 0, fmt.Errorf("%s is not a numeric type", arr.DataType())
	}
	return dst, nulls, nil
}
