package drift

import "math"

// Hellinger is the Hellinger distance of the shares p (baseline) and q
// (current) of aligned counts, the same bins or categories and raw shares
// as JSDistance:
//
//	H = √(1 − Σ √(pᵢ·qᵢ)) = √(Σ (√pᵢ − √qᵢ)² / 2)
//
// computed in the second form, which is the same number for shares that
// sum to 1 but does not cancel when the distributions are close (the first
// form gives about 1e-8 instead of 0 for identical shares). H ∈ [0, 1]: 0
// for identical shares, 1 for disjoint supports.
func Hellinger(baseline, current []int64) float64 {
	p, q := shares(baseline), shares(current)
	terms := make([]float64, len(p))
	for i := range p {
		d := math.Sqrt(p[i]) - math.Sqrt(q[i])
		terms[i] = d * d
	}
	return math.Sqrt(math.Min(pairwiseSum(terms)/2, 1))
}

// LInf is the L-infinity distance of the shares of aligned counts,
// max |pᵢ − qᵢ|: the largest change of any one category's share.
func LInf(baseline, current []int64) float64 {
	p, q := shares(baseline), shares(current)
	d := 0.0
	for i := range p {
		d = math.Max(d, math.Abs(p[i]-q[i]))
	}
	return d
}

// groupedHellinger is Hellinger over categories given as groups.
func groupedHellinger(gs []catGroup, tb, tc int64) float64 {
	terms := make([]float64, len(gs))
	for i, g := range gs {
		d := math.Sqrt(share(g.b, tb)) - math.Sqrt(share(g.c, tc))
		terms[i] = float64(g.n) * (d * d)
	}
	return math.Sqrt(math.Min(pairwiseSum(terms)/2, 1))
}

// groupedLInf is LInf over categories given as groups.
func groupedLInf(gs []catGroup, tb, tc int64) float64 {
	d := 0.0
	for _, g := range gs {
		d = math.Max(d, math.Abs(share(g.b, tb)-share(g.c, tc)))
	}
	return d
}
