package tally

import (
	"math"
	"slices"
	"unsafe"
)

// radixMin is the number of values from which SortedFloats sorts by radix;
// fewer are sorted by comparison.
const radixMin = 1 << 12

// radixBits is the width of a radix digit: 2,048 counters per pass fit in
// the first-level cache, and six passes cover 64 bits.
const (
	radixBits   = 11
	radixPasses = (64 + radixBits - 1) / radixBits
)

// SortedFloats returns v's values ascending and empties v. From radixMin
// values on it sorts by least-significant-digit radix over the bits of
// each float, mapped to integers that order as the floats do (negative
// floats with every bit flipped, others with the sign bit set): a fixed
// number of linear passes, whatever the distribution (long tails, outliers,
// repeats), and a pass is skipped when every value has the same digit in
// it. NaN must not occur (it is a null everywhere here); −0 sorts before
// +0, which compare equal.
func SortedFloats(v *Values[float64]) []float64 {
	n := v.Len()
	if n < radixMin {
		out := v.Collect()
		slices.Sort(out)
		return out
	}
	keys := make([]uint64, n)
	var counts [radixPasses][1 << radixBits]int
	k := 0
	for c := range v.Chunks() {
		for _, x := range c {
			u := math.Float64bits(x)
			if u>>63 == 1 {
				u = ^u
			} else {
				u |= 1 << 63
			}
			keys[k] = u
			k++
			for p := range radixPasses {
				counts[p][(u>>(p*radixBits))&(1<<radixBits-1)]++
			}
		}
	}
	*v = Values[float64]{}
	src, dst := keys, make([]uint64, n)
	for p := range radixPasses {
		c := &counts[p]
		shift := p * radixBits
		if c[(src[0]>>shift)&(1<<radixBits-1)] == n {
			continue // one digit for all: the order stays
		}
		sum := 0
		for d, m := range c {
			c[d], sum = sum, sum+m
		}
		for _, u := range src {
			d := (u >> shift) & (1<<radixBits - 1)
			dst[c[d]] = u
			c[d]++
		}
		src, dst = dst, src
	}
	for i, u := range src {
		if u>>63 == 1 {
			src[i] = u &^ (1 << 63)
		} else {
			src[i] = ^u
		}
	}
	// The keys are float64 bits now: the same memory, read as floats.
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(src))), n)
}
