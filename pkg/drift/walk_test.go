package drift

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// ksWasserstein gives, bit for bit, the statistic KS gives and the distance
// Wasserstein gives, with ties, a constant sample, disjoint samples and
// infinities.
func TestKSWassersteinIsKSAndWasserstein(t *testing.T) {
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
				wantD, wantP := KS(b, c)
				wantW, wantOK := Wasserstein(b, c)
				d, w, ok := ksWasserstein(b, c)
				p := ksPValue(len(b), len(c), d)
				if d != wantD || p != wantP || ok != wantOK || (ok && w != wantW) {
					t.Errorf("%s vs %s, %v: got (%v, %v, %v, %v), want (%v, %v, %v, %v)", bn, cn, size, d, p, w, ok, wantD, wantP, wantW, wantOK)
				}
			}
		}
	}
}
