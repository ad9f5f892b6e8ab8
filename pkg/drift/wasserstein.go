package drift

import (
	"math"

	"github.com/mldata-io/mldata/pkg/profile/tally"
)

// WassersteinNormFloor is the smallest baseline standard deviation
// wasserstein_normed divides by, so that a constant baseline gives a finite
// distance (Evidently's choice).
const WassersteinNormFloor = 0.001

// infiniteValues is why the Wasserstein distances of a column are null.
const infiniteValues = "a side holds ±Inf: the distance between the CDFs is infinite or undefined"

// Wasserstein returns the first Wasserstein (earth mover's) distance of two
// ascending samples, the area between their empirical CDFs,
//
//	W = Σ |F_baseline(x_k) − F_current(x_k)| · (x_{k+1} − x_k)
//
// over the ascending distinct values x_k of both samples together, as
// scipy.stats.wasserstein_distance(baseline, current) computes it (CDF as
// count ≤ x divided by the sample size). The sum is compensated
// (Neumaier), so it agrees with scipy's pairwise sum to about 1e-15,
// relative, without holding the n+m terms. ok is false when either sample
// is empty or holds ±Inf, where the area is infinite or undefined.
func Wasserstein(baseline, current []float64) (w float64, ok bool) {
	if len(baseline) == 0 || len(current) == 0 {
		return math.NaN(), false
	}
	_, w, ok = ksWasserstein(baseline, current)
	return w, ok
}

// ksWassersteinDense is the KS statistic and the Wasserstein distance of
// the integer samples a and b hold, in one walk over their ranges.
//
// KS: between two observed values both CDFs are flat, so evaluating them
// at every integer of the ranges finds the same maximum as evaluating them
// at the observed values. Wasserstein: between consecutive integers the
// CDFs are constant, so the area is Σ_v |F_a(v) − F_b(v)| over every
// integer v below the largest value (a gap between disjoint ranges adds
// its width times the constant difference, 1).
func ksWassersteinDense(a, b *tally.Dense) (d, w float64) {
	n, m := a.Len(), b.Len()
	var s neumaier
	each2(a, b, func(v, ca, cb int64, width int64) {
		diff := math.Abs(float64(ca)/float64(n) - float64(cb)/float64(m))
		d = max(d, diff)
		s.add(diff * float64(width))
	})
	return d, s.sum()
}

// each2 walks a and b as tally.Walk does and calls fn with each integer v
// it visits, the counts of a and b at most v, and the distance to the next
// visited integer (0 after the last), so that gaps between the ranges are
// accounted for.
func each2(a, b *tally.Dense, fn func(v, ca, cb, width int64)) {
	v := min(a.Min, b.Min)
	in := func(v int64) bool { return (v >= a.Min && v <= a.Max) || (v >= b.Min && v <= b.Max) }
	var pv, pa, pb int64
	first := true
	tally.Walk(a, b, func(ca, cb int64) {
		if !in(v) { // tally.Walk jumped over the gap between the ranges
			v = max(a.Min, b.Min)
		}
		if !first {
			fn(pv, pa, pb, v-pv)
		}
		first = false
		pv, pa, pb = v, ca, cb
		v++
	})
	if !first {
		fn(pv, pa, pb, 0)
	}
}

// stdDense returns the population standard deviation (ddof = 0) of the
// values d holds: two passes over the counts, compensated sums.
func stdDense(d *tally.Dense) float64 {
	n := float64(d.Len())
	var sum neumaier
	eachValue(d, func(v, c int64) { sum.add(float64(c) * float64(v)) })
	mean := sum.sum() / n
	var sq neumaier
	eachValue(d, func(v, c int64) {
		x := float64(v) - mean
		sq.add(float64(c) * (x * x))
	})
	return math.Sqrt(sq.sum() / n)
}

// eachValue calls fn with every value d holds and its count.
func eachValue(d *tally.Dense, fn func(v, count int64)) {
	var prev int64
	each2(d, d, func(v, ca, _, _ int64) {
		if c := ca - prev; c > 0 {
			fn(v, c)
		}
		prev = ca
	})
}

// std returns the population standard deviation (ddof = 0) of xs, as
// np.std(xs): the mean, then the mean squared deviation from it.
func std(xs []float64) float64 {
	var sum neumaier
	for _, x := range xs {
		sum.add(x)
	}
	mean := sum.sum() / float64(len(xs))
	var sq neumaier
	for _, x := range xs {
		d := x - mean
		sq.add(d * d)
	}
	return math.Sqrt(sq.sum() / float64(len(xs)))
}

// neumaier is a compensated (Kahan–Babuška–Neumaier) running sum.
type neumaier struct{ s, c float64 }

func (n *neumaier) add(x float64) {
	t := n.s + x
	if math.Abs(n.s) >= math.Abs(x) {
		n.c += (n.s - t) + x
	} else {
		n.c += (x - t) + n.s
	}
	n.s = t
}

func (n *neumaier) sum() float64 { return n.s + n.c }

// ksWasserstein is KS's statistic and Wasserstein of two ascending
// samples, both non-empty, in one walk over them: the same values, the
// same operations in the same order. wOK is false when a sample holds ±Inf.
func ksWasserstein(baseline, current []float64) (d, w float64, wOK bool) {
	n, m := len(baseline), len(current)
	wOK = !math.IsInf(baseline[0], 0) && !math.IsInf(baseline[n-1], 0) &&
		!math.IsInf(current[0], 0) && !math.IsInf(current[m-1], 0)
	var s neumaier
	i, j := 0, 0
	for i < n || j < m {
		var v float64
		switch {
		case j >= m || (i < n && baseline[i] <= current[j]):
			v = baseline[i]
		default:
			v = current[j]
		}
		for i < n && baseline[i] <= v {
			i++
		}
		for j < m && current[j] <= v {
			j++
		}
		diff := math.Abs(float64(i)/float64(n) - float64(j)/float64(m))
		if diff > d {
			d = diff
		}
		if !wOK || (i == n && j == m) {
			continue
		}
		next := math.Inf(1)
		if i < n {
			next = baseline[i]
		}
		if j < m {
			next = math.Min(next, current[j])
		}
		s.add(diff * (next - v))
	}
	if !wOK {
		return d, math.NaN(), false
	}
	return d, s.sum(), true
}

// setWasserstein sets the Wasserstein distances of a numeric result: w,
// unless ok is false, normed by the baseline's standard deviation.
func (r *NumericDrift) setWasserstein(w float64, ok bool, baseStd func() float64) {
	if !ok {
		r.unavailable(infiniteValues, "wasserstein_distance", "wasserstein_normed")
		return
	}
	normed := w / math.Max(baseStd(), WassersteinNormFloor)
	r.WassersteinDistance, r.WassersteinNormed = &w, &normed
}

// unavailable records why the named metrics are null.
func (r *NumericDrift) unavailable(reason string, metrics ...string) {
	if r.Unavailable == nil {
		r.Unavailable = map[string]string{}
	}
	for _, m := range metrics {
		r.Unavailable[m] = reason
	}
}
