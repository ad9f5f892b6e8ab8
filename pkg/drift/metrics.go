package drift

import (
	"math"
)

// The metric functions take counts per bin (or category), baseline first,
// aligned index by index. They follow docs/statistics.md and the numpy/scipy routines
// it names, operation by operation, so that results agree with them to the
// last bits; sums use numpy's pairwise summation for the same reason.

// DefaultEpsilon replaces zero shares in PSI.
const DefaultEpsilon = 0.001

// klClip is the range KL clips shares to, so that empty bins stay finite.
const klClip = 1e-10

func shares(counts []int64) []float64 {
	var n int64
	for _, c := range counts {
		n += c
	}
	out := make([]float64, len(counts))
	if n == 0 {
		return out
	}
	for i, c := range counts {
		out[i] = float64(c) / float64(n)
	}
	return out
}

// PSI is the population stability index Σ (q′−p′)·ln(q′/p′) over shares
// p (baseline) and q (current), where a share of exactly zero is replaced by
// eps and the shares are not renormalised afterwards.
func PSI(baseline, current []int64, eps float64) float64 {
	p, q := shares(baseline), shares(current)
	terms := make([]float64, len(p))
	for i := range p {
		pi, qi := p[i], q[i]
		if pi == 0 {
			pi = eps
		}
		if qi == 0 {
			qi = eps
		}
		terms[i] = (qi - pi) * math.Log(qi/pi)
	}
	return pairwiseSum(terms)
}

// KL is the Kullback–Leibler divergence D(P‖Q) with P the baseline, on the
// normalised shares clipped to [1e-10, 1] (not renormalised), natural log.
func KL(baseline, current []int64) float64 {
	p, q := shares(baseline), shares(current)
	terms := make([]float64, len(p))
	for i := range p {
		pi, qi := clip(p[i]), clip(q[i])
		terms[i] = pi * math.Log(pi/qi)
	}
	return pairwiseSum(terms)
}

func clip(x float64) float64 { return math.Min(math.Max(x, klClip), 1) }

// JSDistance is the Jensen–Shannon distance with base-2 logarithms, as
// scipy.spatial.distance.jensenshannon(p, q, base=2): in [0, 1], 0 for
// identical distributions and 1 for disjoint supports.
func JSDistance(baseline, current []int64) float64 {
	p, q := shares(baseline), shares(current)
	left := make([]float64, len(p))
	right := make([]float64, len(p))
	for i := range p {
		m := (p[i] + q[i]) / 2
		left[i] = relEntr(p[i], m)
		right[i] = relEntr(q[i], m)
	}
	js := pairwiseSum(left) + pairwiseSum(right)
	js /= math.Ln2
	return math.Sqrt(math.Max(js/2, 0))
}

// relEntr is scipy.special.rel_entr.
func relEntr(x, y float64) float64 {
	switch {
	case x > 0 && y > 0:
		return x * math.Log(x/y)
	case x == 0 && y >= 0:
		return 0
	}
	return math.Inf(1)
}

// KS returns the two-sample Kolmogorov–Smirnov statistic of two ascending
// samples, D = max |F_baseline − F_current|, and its two-sided p-value from
// the limiting Kolmogorov distribution, Q(√(n·m/(n+m))·D) (scipy's
// kstwobign.sf), clamped to [0, 1]. The CDFs are compared at every observed
// value, as scipy.stats.ks_2samp does.
func KS(baseline, current []float64) (d, p float64) {
	n, m := len(baseline), len(current)
	if n == 0 || m == 0 {
		return math.NaN(), math.NaN()
	}
	d, _, _ = ksWasserstein(baseline, current)
	return d, ksPValue(n, m, d)
}

// ksPValue is KS's p-value of statistic d for samples of n and m values.
func ksPValue(n, m int, d float64) float64 {
	en := float64(n) * float64(m) / float64(n+m)
	p := KolmogorovSF(math.Sqrt(en) * d)
	return math.Min(math.Max(p, 0), 1)
}

// KolmogorovSF is the survival function of the Kolmogorov distribution,
// Q(x) = 2 Σ_{k≥1} (−1)^(k−1) e^(−2k²x²), computed as scipy's
// special.kolmogorov does: for x ≤ 0.82 through the Jacobi-transformed series
// 1 − √(2π)/x Σ e^(−(2k−1)²π²/(8x²)), which converges where the alternating
// series does not, and otherwise four terms of the alternating series.
func KolmogorovSF(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return math.NaN()
	case x <= 0:
		return 1
	}
	const cutover = 0.82
	if x <= cutover {
		w := math.Sqrt(2*math.Pi) / x
		logu8 := -math.Pi * math.Pi / (x * x)
		u8 := math.Exp(logu8)
		var cdf float64
		if u8 == 0 {
			cdf = math.Exp(logu8/8 + math.Log(w))
		} else {
			u8cub := math.Pow(u8, 3)
			p := 1.0
			p = 1 + u8cub*p
			p = 1 + u8*u8*p
			p = 1 + u8*p
			cdf = w * math.Exp(logu8/8) * p
		}
		return clamp01(1 - cdf)
	}
	v := math.Exp(-2 * x * x)
	vsq := v * v
	v3 := math.Pow(v, 3)
	p := 1.0
	p = 1 - v3*v3*v*p
	p = 1 - v3*vsq*p
	p = 1 - v3*p
	return clamp01(2 * v * p)
}

func clamp01(x float64) float64 { return math.Min(math.Max(x, 0), 1) }

// ChiSquare returns Pearson's chi-square statistic of the 2×k contingency
// table whose rows are baseline and current, and its p-value with k−1
// degrees of freedom, without continuity correction — as
// scipy.stats.chi2_contingency(table, correction=False). A table with one
// column has no degrees of freedom: statistic 0, p-value 1. Every column
// must have a non-zero total and both rows a non-zero sum.
func ChiSquare(baseline, current []int64) (stat, p float64) {
	k := len(baseline)
	if k <= 1 {
		return 0, 1
	}
	var rb, rc int64
	for i := range baseline {
		rb += baseline[i]
		rc += current[i]
	}
	total := float64(rb + rc)
	terms := make([]float64, 0, 2*k)
	for r, row := range [][]int64{baseline, current} {
		rowSum := rb
		if r == 1 {
			rowSum = rc
		}
		for i, obs := range row {
			e := expected(rowSum, baseline[i]+current[i], total)
			d := float64(obs) - e
			terms = append(terms, d*d/e)
		}
	}
	stat = pairwiseSum(terms)
	return stat, ChiSquareSF(stat, float64(k-1))
}

// expected is scipy's expected frequency row·col/N: the integer product is
// exact where it fits, as numpy's int64 margins are.
func expected(row, col int64, total float64) float64 {
	if row < 1<<31 && col < 1<<31 {
		return float64(row*col) / total
	}
	return float64(row) * float64(col) / total
}

// ChiSquareSF is the chi-square survival function with dof degrees of
// freedom: the regularised upper incomplete gamma Q(dof/2, x/2).
func ChiSquareSF(x, dof float64) float64 {
	if x <= 0 {
		return 1
	}
	return GammaQ(dof/2, x/2)
}

// GammaQ is the regularised upper incomplete gamma function Q(a, x) for
// a > 0, x ≥ 0: the series for P when x < a+1, Lentz's continued fraction
// for Q otherwise. The common factor x^a e^(−x)/Γ(a) is computed in a form
// that keeps its relative accuracy for large a (many categories), where the
// naive a·ln x − x − lnΓ(a) cancels catastrophically.
func GammaQ(a, x float64) float64 {
	switch {
	case math.IsNaN(a) || math.IsNaN(x) || a <= 0 || x < 0:
		return math.NaN()
	case x == 0:
		return 1
	case math.IsInf(x, 1):
		return 0
	}
	if x < a+1 {
		return clamp01(1 - gammaPSeries(a, x))
	}
	return clamp01(gammaQFraction(a, x))
}

// logGammaFactor returns ln(x^a e^(−x) / Γ(a)).
func logGammaFactor(a, x float64) float64 {
	if a < 10 {
		lg, _ := math.Lgamma(a)
		return a*math.Log(x) - x - lg
	}
	return 0.5*math.Log(a/(2*math.Pi)) - stirlingError(a) + a*log1pmx((x-a)/a)
}

// stirlingError is lnΓ(a) − ((a−½)ln a − a + ½ln 2π), by its asymptotic
// series; accurate to ~1e-17 for a ≥ 10.
func stirlingError(a float64) float64 {
	a2 := a * a
	return (1.0/12 - (1.0/360-(1.0/1260-(1.0/1680-(1.0/1188-(691.0/360360-1.0/156/a2)/a2)/a2)/a2)/a2)/a2) / a
}

// log1pmx is ln(1+d) − d without cancellation for small d.
func log1pmx(d float64) float64 {
	if math.Abs(d) >= 0.5 {
		return math.Log1p(d) - d
	}
	// ln(1+d) = 2 atanh(r) with r = d/(2+d), and d − 2r = r·d.
	r := d / (2 + d)
	r2 := r * r
	sum, term := 0.0, r
	for k := 3.0; ; k += 2 {
		term *= r2
		next := sum + term/k
		if next == sum {
			break
		}
		sum = next
	}
	return -r*d + 2*sum
}

func gammaPSeries(a, x float64) float64 {
	ap := a
	del := 1 / a
	sum := del
	for i := 0; i < 1_000_000; i++ {
		ap++
		del *= x / ap
		sum += del
		if math.Abs(del) < math.Abs(sum)*1e-17 {
			break
		}
	}
	return sum * math.Exp(logGammaFactor(a, x))
}

func gammaQFraction(a, x float64) float64 {
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i < 1_000_000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-16 {
			break
		}
	}
	return math.Exp(logGammaFactor(a, x)) * h
}

// catGroup is n categories that share the counts b (baseline) and c
// (current): in every categorical metric they contribute n equal terms.
type catGroup struct{ b, c, n int64 }

func share(c, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(c) / float64(total)
}

// groupedPSI is PSI over categories given as groups, with tb and tc the
// totals of each side.
func groupedPSI(gs []catGroup, tb, tc int64, eps float64) float64 {
	terms := make([]float64, len(gs))
	for i, g := range gs {
		pi, qi := share(g.b, tb), share(g.c, tc)
		if pi == 0 {
			pi = eps
		}
		if qi == 0 {
			qi = eps
		}
		terms[i] = float64(g.n) * ((qi - pi) * math.Log(qi/pi))
	}
	return pairwiseSum(terms)
}

// groupedJS is JSDistance over categories given as groups.
func groupedJS(gs []catGroup, tb, tc int64) float64 {
	left := make([]float64, len(gs))
	right := make([]float64, len(gs))
	for i, g := range gs {
		p, q := share(g.b, tb), share(g.c, tc)
		m := (p + q) / 2
		left[i] = float64(g.n) * relEntr(p, m)
		right[i] = float64(g.n) * relEntr(q, m)
	}
	js := pairwiseSum(left) + pairwiseSum(right)
	js /= math.Ln2
	return math.Sqrt(math.Max(js/2, 0))
}

// groupedChiSquare is ChiSquare over k categories given as groups.
func groupedChiSquare(gs []catGroup, k, tb, tc int64) (stat, p float64) {
	if k <= 1 {
		return 0, 1
	}
	total := float64(tb + tc)
	terms := make([]float64, 0, 2*len(gs))
	for r, rowSum := range []int64{tb, tc} {
		for _, g := range gs {
			obs := g.b
			if r == 1 {
				obs = g.c
			}
			e := expected(rowSum, g.b+g.c, total)
			d := float64(obs) - e
			terms = append(terms, float64(g.n)*(d*d/e))
		}
	}
	stat = pairwiseSum(terms)
	return stat, ChiSquareSF(stat, float64(k-1))
}

// pairwiseSum is numpy's pairwise summation of a contiguous float64 array
// (blocks of up to 128 summed with eight accumulators, halves recursively),
// so that sums agree with numpy's np.sum bit for bit.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		res := 0.0
		for _, v := range a {
			res += v
		}
		return res
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := 0; j < 8; j++ {
				r[j] += a[i+j]
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	}
	n2 := n / 2
	n2 -= n2 % 8
	return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
}
