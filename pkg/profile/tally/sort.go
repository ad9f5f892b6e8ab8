package tally

import (
	"math"
	"slices"
)

// bucketSize is the average number of values per bucket in SortedFloats:
// small enough that sorting a bucket stays in the first-level cache.
const bucketSize = 32

// SortedFloats returns v's values ascending and empties v. It distributes
// the values into buckets of equal width over their range, in one pass
// from v's blocks into the result, then sorts each bucket: about a third
// faster than sorting a copy, and no more memory. The bucket of a value
// is a monotone function of it, so the buckets are in order; values that
// crowd one bucket (a long tail) only make that bucket's sort larger.
// NaN must not occur (it is a null everywhere here).
func SortedFloats(v *Values[float64]) []float64 {
	n := v.Len()
	lo, hi := math.Inf(1), math.Inf(-1)
	var negInf, posInf int
	for c := range v.Chunks() {
		for _, x := range c {
			switch {
			case math.IsInf(x, 1):
				posInf++
			case math.IsInf(x, -1):
				negInf++
			default:
				lo, hi = min(lo, x), max(hi, x)
			}
		}
	}
	out := make([]float64, n)
	for i := range negInf {
		out[i] = math.Inf(-1)
	}
	for i := n - posInf; i < n; i++ {
		out[i] = math.Inf(1)
	}
	finite := out[negInf : n-posInf]
	nb := len(finite) / bucketSize
	scale := float64(nb) / (hi - lo)
	if nb < 2 || math.IsInf(scale, 0) || math.IsNaN(scale) || math.IsInf(hi-lo, 0) {
		// Few values, one value, or a range too wide or too narrow to
		// divide: sort them as they are.
		k := 0
		for c := range v.Chunks() {
			for _, x := range c {
				if !math.IsInf(x, 0) {
					finite[k] = x
					k++
				}
			}
		}
		*v = Values[float64]{}
		slices.Sort(finite)
		return out
	}
	bucket := func(x float64) int { return min(int((x-lo)*scale), nb-1) }
	next := make([]int, nb+1)
	for c := range v.Chunks() {
		for _, x := range c {
			if !math.IsInf(x, 0) {
				next[bucket(x)+1]++
			}
		}
	}
	for b := 1; b <= nb; b++ {
		next[b] += next[b-1]
	}
	ends := slices.Clone(next[1:])
	for c := range v.Chunks() {
		for _, x := range c {
			if !math.IsInf(x, 0) {
				b := bucket(x)
				finite[next[b]] = x
				next[b]++
			}
		}
	}
	*v = Values[float64]{}
	start := 0
	for _, end := range ends {
		slices.Sort(finite[start:end])
		start = end
	}
	return out
}
