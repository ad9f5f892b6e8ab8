package drift

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mldata-io/mldata/pkg/profile/tally"
)

// naiveKSWasserstein evaluates both empirical CDFs (count ≤ x over the
// sample size, by binary search) at every distinct value x_k of the two
// samples together: D is the largest |F_b − F_c|, W the compensated sum of
// |F_b(x_k) − F_c(x_k)| · (x_{k+1} − x_k), in ascending order.
func naiveKSWasserstein(b, c []float64) (d, w float64, ok bool) {
	xs := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(b), c...))))
	cdf := func(s []float64, x float64) float64 {
		i, _ := slices.BinarySearchFunc(s, x, func(v, x float64) int {
			if v <= x {
				return -1
			}
			return 1
		})
		return float64(i) / float64(len(s))
	}
	ok = !slices.ContainsFunc(xs, func(x float64) bool { return math.IsInf(x, 0) })
	var s neumaier
	for k, x := range xs {
		diff := math.Abs(cdf(b, x) - cdf(c, x))
		d = max(d, diff)
		if ok && k+1 < len(xs) {
			s.add(diff * (xs[k+1] - x))
		}
	}
	if !ok {
		return d, math.NaN(), false
	}
	return d, s.sum(), true
}

// ksWasserstein (behind KS and Wasserstein) gives, bit for bit, what
// evaluating the two CDFs at every value gives, with ties, a constant
// sample, disjoint samples and infinities.
func TestKSWassersteinWalk(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	gen := map[string]func() float64{
		"normal":   func() float64 { return r.NormFloat64() },
		"ties":     func() float64 { return float64(r.IntN(7)) },
		"constant": func() float64 { return 2 },
		"shifted":  func() float64 { return 100 + r.ExpFloat64() },
		"inf":      func() float64 { return []float64{math.Inf(1), math.Inf(-1), r.Float64()}[r.IntN(3)] },
	}
	for bn, bg := range gen {
		for cn, cg := range gen {
			for _, size := range [][2]int{{1, 1}, {5, 3}, {1000, 1700}} {
				b, c := make([]float64, size[0]), make([]float64, size[1])
				for i := range b {
					b[i] = bg()
				}
				for i := range c {
					c[i] = cg()
				}
				slices.Sort(b)
				slices.Sort(c)
				wantD, wantW, wantOK := naiveKSWasserstein(b, c)
				d, p := KS(b, c)
				w, ok := Wasserstein(b, c)
				if d != wantD || p != ksPValue(len(b), len(c), wantD) || ok != wantOK || (ok && w != wantW) {
					t.Errorf("%s vs %s, %v: got (%v, %v, %v), want (%v, %v, %v)", bn, cn, size, d, w, ok, wantD, wantW, wantOK)
				}
			}
		}
	}
}

// ksWassersteinDense gives, bit for bit, what KS over tally.Walk and the
// Wasserstein sum over each2 give when walked on their own (the two walks
// it replaces), for overlapping, nested, touching and disjoint ranges.
func TestKSWassersteinDenseIsBothWalks(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	dense := func(lo, hi int64, n int) *tally.Dense {
		d := tally.NewDense(lo, hi)
		xs := []int64{lo, hi}
		for len(xs) < n {
			xs = append(xs, lo+r.Int64N(hi-lo+1))
		}
		d.Add(xs)
		return d
	}
	for _, rg := range [][4]int64{{0, 100, 0, 100}, {0, 100, 50, 300}, {10, 20, 0, 1000}, {0, 9, 10, 19}, {0, 5, 40, 50}, {-30, -1, 5, 9}, {3, 3, 3, 3}} {
		a, b := dense(rg[0], rg[1], 150), dense(rg[2], rg[3], 400)
		var wantD float64
		n, m := a.Len(), b.Len()
		tally.Walk(a, b, func(i, j int64) {
			if diff := math.Abs(float64(i)/float64(n) - float64(j)/float64(m)); diff > wantD {
				wantD = diff
			}
		})
		var s neumaier
		each2(a, b, func(v, ca, cb int64, width int64) {
			s.add(math.Abs(float64(ca)/float64(n)-float64(cb)/float64(m)) * float64(width))
		})
		d, w := ksWassersteinDense(a, b)
		if d != wantD || w != s.sum() {
			t.Errorf("ranges %v: got (%v, %v), want (%v, %v)", rg, d, w, wantD, s.sum())
		}
	}
}
