package tally

import (
	"math"
	"slices"
)

// maxExactInt bounds the integers Dense holds: every one of them converts
// to float64 exactly, so comparisons with float bin edges and quantiles
// computed in float64 agree with those on the sorted values.
const maxExactInt = 1 << 53

// Dense is a sample of integers held as a count per value over [Min, Max]:
// for identifiers, small codes and other integers whose range is not much
// wider than their number, it answers what a sorted copy would (order
// statistics, ranks, distinct count) in one pass over the range, without
// an O(n log n) sort.
type Dense struct {
	Min, Max int64
	counts   []uint32
	n        int64
}

// DenseFits reports whether n integers in [lo, hi] should be held as a
// Dense: the range is at most twice their number (so the counts take no
// more memory than the values), every count fits in 32 bits and every
// value converts to float64 exactly.
func DenseFits(lo, hi, n int64) bool {
	if n <= 0 || n > math.MaxUint32 || lo > hi || lo <= -maxExactInt || hi >= maxExactInt {
		return false
	}
	return uint64(hi-lo) < 2*uint64(n)
}

// NewDense returns an empty Dense over [lo, hi]; DenseFits must hold for
// the values it will hold.
func NewDense(lo, hi int64) *Dense {
	return &Dense{Min: lo, Max: hi, counts: make([]uint32, hi-lo+1)}
}

// DenseOf returns the Dense whose count of value lo+i is counts[i], n
// values in all; it takes counts over. DenseFits must hold for the range
// and n, and the first and last counts should be non-zero (the range is
// then the values' range, as NewDense's is).
func DenseOf(lo int64, counts []uint32, n int64) *Dense {
	return &Dense{Min: lo, Max: lo + int64(len(counts)) - 1, counts: counts, n: n}
}

// Add counts the values of xs, which must lie in [Min, Max].
func (d *Dense) Add(xs []int64) {
	for _, x := range xs {
		d.counts[x-d.Min]++
	}
	d.n += int64(len(xs))
}

// Len returns the number of values held.
func (d *Dense) Len() int64 { return d.n }

// Bytes returns the memory d takes.
func (d *Dense) Bytes() int64 { return 4 * int64(len(d.counts)) }

// Distinct returns the number of distinct values.
func (d *Dense) Distinct() int64 {
	var k int64
	for _, c := range d.counts {
		if c != 0 {
			k++
		}
	}
	return k
}

// ValuesAt returns the values at the given 0-based ranks of the ascending
// order (order statistics); ranks must be ascending and below Len.
func (d *Dense) ValuesAt(ranks []int64) []int64 {
	out := make([]int64, len(ranks))
	q := 0
	var seen int64
	for i, c := range d.counts {
		seen += int64(c)
		for q < len(ranks) && ranks[q] < seen {
			out[q] = d.Min + int64(i)
			q++
		}
		if q == len(ranks) {
			break
		}
	}
	return out
}

// CountsAtMost returns, for each k of ks (ascending), the number of values
// ≤ k.
func (d *Dense) CountsAtMost(ks []int64) []int64 {
	out := make([]int64, len(ks))
	q := 0
	for q < len(ks) && ks[q] < d.Min {
		q++ // nothing is below the range
	}
	var seen int64
	for i, c := range d.counts {
		seen += int64(c)
		for q < len(ks) && ks[q] <= d.Min+int64(i) {
			out[q] = seen
			q++
		}
		if q == len(ks) {
			return out
		}
	}
	for ; q < len(ks); q++ {
		out[q] = d.n // above the range
	}
	return out
}

// Below returns, for each x of xs (ascending, not NaN), the number of
// values < x.
func (d *Dense) Below(xs []float64) []int64 {
	// v < x ⟺ v ≤ ⌈x⌉ − 1 for an integer v.
	ks := make([]int64, len(xs))
	for i, x := range xs {
		ks[i] = d.clamp(math.Ceil(x)) - 1
	}
	return d.CountsAtMost(ks)
}

// AtMost returns, for each x of xs (ascending, not NaN), the number of
// values ≤ x.
func (d *Dense) AtMost(xs []float64) []int64 {
	ks := make([]int64, len(xs))
	for i, x := range xs {
		ks[i] = d.clamp(math.Floor(x))
	}
	return d.CountsAtMost(ks)
}

// clamp maps an integral float to an int64 in [Min−1, Max+1], which
// compares with every value held as x does.
func (d *Dense) clamp(x float64) int64 {
	switch {
	case x < float64(d.Min):
		return d.Min - 1
	case x > float64(d.Max):
		return d.Max + 1
	}
	return int64(x)
}

// AppendSorted appends the values held, ascending, to dst: a sorted copy
// for a caller that needs one, in time linear in the range.
func (d *Dense) AppendSorted(dst []float64) []float64 {
	dst = slices.Grow(dst, int(d.n))
	for i, c := range d.counts {
		v := float64(d.Min + int64(i))
		for range c {
			dst = append(dst, v)
		}
	}
	return dst
}

// Walk calls fn for each integer in a's or b's range in ascending order,
// with the number of values of a and of b that are ≤ it. Between the two
// ranges both counts are constant, so a gap between them is skipped: the
// walk is linear in the two ranges. It is how a two-sample statistic over
// the empirical CDFs is computed without sorting either sample.
func Walk(a, b *Dense, fn func(atMostA, atMostB int64)) {
	hi := max(a.Max, b.Max)
	var ca, cb int64
	for v := min(a.Min, b.Min); ; v++ {
		inA, inB := v >= a.Min && v <= a.Max, v >= b.Min && v <= b.Max
		if !inA && !inB {
			if a.Min > v {
				v = a.Min
			} else {
				v = b.Min
			}
			inA, inB = v >= a.Min && v <= a.Max, v >= b.Min && v <= b.Max
		}
		if inA {
			ca += int64(a.counts[v-a.Min])
		}
		if inB {
			cb += int64(b.counts[v-b.Min])
		}
		fn(ca, cb)
		if v == hi {
			return
		}
	}
}
