package tally

import (
	"math"
	"slices"
	"unsafe"
)

// radixMin is the number of values from which the float sorts sort by
// radix; fewer are sorted by comparison.
const radixMin = 1 << 12

// radixBits is the width of a radix digit: 2,048 counters per pass fit in
// the first-level cache, and six passes cover 64 bits.
const (
	radixBits   = 11
	radixPasses = (64 + radixBits - 1) / radixBits
)

// FloatKey maps x to an integer that orders as the floats do: negative
// floats with every bit flipped, others with the sign bit set. NaN must not
// occur; −0 orders before +0.
func FloatKey(x float64) uint64 {
	u := math.Float64bits(x)
	// Without a branch: the sign bit spread over the word flips every bit
	// of a negative float, and the sign bit alone those of the others.
	return u ^ (uint64(int64(u)>>63) | 1<<63)
}

// KeyFloat is the float of a FloatKey.
func KeyFloat(u uint64) float64 { return math.Float64frombits(keyBits(u)) }

// SortedFloats returns v's values ascending and empties v (SortFloatKeys
// over their keys).
func SortedFloats(v *Values[float64]) []float64 {
	keys := make([]uint64, v.Len())
	k := 0
	for c := range v.Chunks() {
		for _, x := range c {
			keys[k] = FloatKey(x)
			k++
		}
	}
	*v = Values[float64]{}
	sorted, _ := SortFloatKeys(keys, nil)
	return sorted
}

// SortFloatKeys sorts keys (FloatKey values) ascending and turns them into
// their floats, in the memory of keys or of scratch, and returns those
// floats and the other buffer, free for reuse (nil if there was none).
// scratch is the second buffer the radix passes need when its capacity is
// at least len(keys); otherwise one is made.
//
// Fewer than radixMin keys are sorted as floats, by comparison (−0 and +0
// compare equal there). From radixMin keys on it sorts by
// least-significant-digit radix: a fixed number of linear passes, whatever
// the distribution (long tails, outliers, repeats), and a pass is skipped
// when every key has the same digit in it (the upper digits of values of
// one sign and a narrow range of magnitudes, the lower ones of integers).
// The last pass that runs places each key's float instead of the key, so
// no pass over the sorted keys turns them into floats afterwards (only
// when every key is equal and no pass runs).
func SortFloatKeys(keys, scratch []uint64) (sorted []float64, spare []uint64) {
	n := len(keys)
	if n < radixMin {
		out := keysToFloats(keys)
		slices.Sort(out)
		return out, scratch
	}
	var counts [radixPasses][1 << radixBits]int
	for _, u := range keys {
		for p := range radixPasses {
			counts[p][(u>>(p*radixBits))&(1<<radixBits-1)]++
		}
	}
	// The passes to run: a digit shared by every key leaves the order as
	// it is. The last pass to run writes floats instead of keys.
	var run [radixPasses]bool
	last := -1
	for p := range radixPasses {
		if counts[p][(keys[0]>>(p*radixBits))&(1<<radixBits-1)] != n {
			run[p], last = true, p
		}
	}
	if last < 0 {
		return keysToFloats(keys), scratch // all keys equal
	}
	if cap(scratch) < n {
		scratch = make([]uint64, n)
	}
	src, dst := keys, scratch[:n]
	for p := range radixPasses {
		if !run[p] {
			continue
		}
		c := &counts[p]
		shift := p * radixBits
		sum := 0
		for d, m := range c {
			c[d], sum = sum, sum+m
		}
		if p == last {
			for _, u := range src {
				d := (u >> shift) & (1<<radixBits - 1)
				dst[c[d]] = keyBits(u)
				c[d]++
			}
		} else {
			for _, u := range src {
				d := (u >> shift) & (1<<radixBits - 1)
				dst[c[d]] = u
				c[d]++
			}
		}
		src, dst = dst, src
	}
	return asFloats(src), dst
}

// keyBits is the bits of the float of key u (KeyFloat), without a branch:
// a key with the sign bit set loses it, the others have every bit flipped.
func keyBits(u uint64) uint64 {
	return u ^ (uint64(int64(^u)>>63) | 1<<63)
}

// asFloats reads words as floats: the same memory.
func asFloats(words []uint64) []float64 {
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(words))), len(words))
}

// keysToFloats turns keys into their floats in place: the same memory,
// read as floats.
func keysToFloats(keys []uint64) []float64 {
	for i, u := range keys {
		keys[i] = keyBits(u)
	}
	return asFloats(keys)
}
