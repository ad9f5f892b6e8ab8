package profile

import (
	"math"
	"sort"
)

// This file reproduces the few numpy routines whose exact results the
// profile promises (docs/statistics.md): np.percentile with the default "linear"
// method, np.linspace and np.histogram with equal-width bins. Arithmetic is
// written operation by operation, with explicit float64 conversions, because
// Go may otherwise fuse x*y+z into one FMA on some CPUs and round
// differently from numpy.

// Percentile returns np.percentile(sorted, 100*q) for ascending values:
// h = (n−1)·q, and numpy's _lerp between the neighbours of h, including its
// quirks (an infinite neighbour at a zero weight gives NaN, as in numpy).
// It returns NaN for no values.
func Percentile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	lo, hi, t := virtualIndex(n, q)
	return Lerp(sorted[lo], sorted[hi], t)
}

// PercentileInt is Percentile for integers: numpy subtracts the neighbours
// as integers and interpolates in float64.
func PercentileInt(sorted []int64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	lo, hi, t := virtualIndex(n, q)
	return LerpInt(sorted[lo], sorted[hi], t)
}

// LerpInt interpolates between the integers a and b as numpy does for an
// integer array: the difference is taken in integers.
func LerpInt(a, b int64, t float64) float64 {
	diff := float64(b - a)
	if t >= 0.5 {
		return float64(b) - float64(diff*(1-t))
	}
	return float64(a) + float64(diff*t)
}

// PercentileIndex returns where np.percentile(…, 100*q) of n ascending
// values falls: between the values at 0-based ranks lo and hi, at weight t
// (Lerp or LerpInt of the two gives the percentile). It lets callers that
// hold values in another form than a sorted slice fetch just those two.
func PercentileIndex(n int, q float64) (lo, hi int, t float64) { return virtualIndex(n, q) }

// virtualIndex is numpy's _get_indexes and _get_gamma for method="linear".
func virtualIndex(n int, q float64) (lo, hi int, t float64) {
	h := float64(n-1) * q
	if h >= float64(n-1) {
		return n - 1, n - 1, 0
	}
	if h < 0 {
		return 0, 0, 0
	}
	f := math.Floor(h)
	lo = int(f)
	return lo, lo + 1, h - f
}

// Lerp is numpy's _lerp: a + (b−a)·t, computed from the nearer end.
func Lerp(a, b, t float64) float64 {
	diff := b - a
	if t >= 0.5 {
		return b - float64(diff*(1-t))
	}
	return a + float64(diff*t)
}

// Linspace returns np.linspace(start, stop, num): start + i·step with the
// last value set to stop exactly.
func Linspace(start, stop float64, num int) []float64 {
	if num <= 0 {
		return nil
	}
	out := make([]float64, num)
	if num == 1 {
		out[0] = start
		return out
	}
	div := float64(num - 1)
	delta := stop - start
	step := delta / div
	for i := range out {
		if step == 0 {
			out[i] = float64(float64(i)/div)*delta + start
		} else {
			out[i] = float64(float64(i)*step) + start
		}
	}
	out[num-1] = stop
	return out
}

// HistogramEdges returns np.histogram's bin edges for values spanning
// [min, max]: a constant column is widened to [v−0.5, v+0.5] as numpy does.
func HistogramEdges(min, max float64, bins int) []float64 {
	if min == max {
		min -= 0.5
		max += 0.5
	}
	return Linspace(min, max, bins+1)
}

// HistogramCounts counts ascending values into the bins given by edges with
// np.histogram's rule: bins are [e(i), e(i+1)), and the last one is closed.
// Values outside [e0, eN] are not counted.
func HistogramCounts[T int64 | float64](sorted []T, edges []float64) []int64 {
	if len(edges) < 2 {
		return nil
	}
	counts := make([]int64, len(edges)-1)
	below := func(x float64) int {
		return sort.Search(len(sorted), func(i int) bool { return float64(sorted[i]) >= x })
	}
	atMost := func(x float64) int {
		return sort.Search(len(sorted), func(i int) bool { return float64(sorted[i]) > x })
	}
	last := len(counts) - 1
	for i := range counts {
		lo := below(edges[i])
		var hi int
		if i == last {
			hi = atMost(edges[i+1])
		} else {
			hi = below(edges[i+1])
		}
		if hi > lo {
			counts[i] = int64(hi - lo)
		}
	}
	return counts
}

// Sum is a compensated (Kahan–Babuška–Neumaier) running sum: it keeps the
// low-order bits that a plain float64 sum loses, so means of long columns
// stay exact to the last digit or two.
type Sum struct {
	s, c float64
}

// Add adds x.
func (k *Sum) Add(x float64) {
	t := k.s + x
	if math.Abs(k.s) >= math.Abs(x) {
		k.c += (k.s - t) + x
	} else {
		k.c += (x - t) + k.s
	}
	k.s = t
}

// Merge adds another running sum.
func (k *Sum) Merge(o Sum) {
	k.Add(o.s)
	k.Add(o.c)
}

// Value returns the sum.
func (k Sum) Value() float64 { return k.s + k.c }
