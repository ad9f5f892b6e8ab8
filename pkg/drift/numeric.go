package drift

import (
	"fmt"
	"math"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/mldata-io/mldata/pkg/profile"
	"github.com/mldata-io/mldata/pkg/profile/tally"
)

// numSide is one side's non-null values of a numeric column, in no order:
// integer columns keep int64s, which may be counted per value instead of
// sorted (numericDense); other columns keep float64s. NaN is a null.
type numSide struct {
	isInt      bool
	floats     tally.Values[float64]
	ints       tally.Values[int64]
	minI, maxI int64
	// Once the side is read (finish), dense holds the integers instead of
	// ints when their range is narrow for their number; otherwise, if
	// asked, sorted holds every value ascending instead of floats and ints.
	dense  *tally.Dense
	sorted []float64
}

// isIntType reports the integer types kept as int64; uint64 is not one of
// them, since it may not fit (it is read as float64, as profiles do).
func isIntType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32:
		return true
	}
	return false
}

func newNumSide(t arrow.DataType) *numSide {
	return &numSide{isInt: t != nil && isIntType(t), minI: math.MaxInt64, maxI: math.MinInt64}
}

func (s *numSide) len() int {
	n := s.floats.Len() + s.ints.Len() + len(s.sorted)
	if s.dense != nil {
		n += int(s.dense.Len())
	}
	return n
}

// finish runs once the side is read, while the other side is not yet:
// integers in a narrow range (identifiers, codes) become counts per value,
// half their memory or less and no sort later; other values are sorted now
// if sort is set, so that the unsorted copy is gone before the other side
// is read.
func (s *numSide) finish(sort bool) {
	if s.isInt && tally.DenseFits(s.minI, s.maxI, int64(s.ints.Len())) {
		s.dense = tally.NewDense(s.minI, s.maxI)
		for chunk := range s.ints.Chunks() {
			s.dense.Add(chunk)
		}
		s.ints = tally.Values[int64]{}
		return
	}
	if !sort {
		return
	}
	// Integers too spread out to count per value are compared as floats.
	for chunk := range s.ints.Chunks() {
		for _, v := range chunk {
			s.floats.Append(float64(v))
		}
	}
	s.ints = tally.Values[int64]{}
	s.sorted = tally.SortedFloats(&s.floats)
}

// add appends arr's non-null values; fbuf and ibuf are the worker's scratch
// buffers.
func (s *numSide) add(arr arrow.Array, fbuf *[]float64, ibuf *[]int64) error {
	if !s.isInt {
		var err error
		if *fbuf, _, err = profile.AppendFloats((*fbuf)[:0], arr); err != nil {
			return err
		}
		s.floats.Append(*fbuf...)
		return nil
	}
	xs, err := appendInts((*ibuf)[:0], arr)
	if err != nil {
		return err
	}
	*ibuf = xs
	for _, x := range xs {
		s.minI = min(s.minI, x)
		s.maxI = max(s.maxI, x)
	}
	s.ints.Append(xs...)
	return nil
}

func (s *numSide) merge(o *numSide) {
	s.floats.Merge(&o.floats)
	s.ints.Merge(&o.ints)
	s.minI, s.maxI = min(s.minI, o.minI), max(s.maxI, o.maxI)
}

// ascending returns every value as float64 (as AppendFloats converts
// them), ascending; finish(true) must have run.
func (s *numSide) ascending() []float64 {
	if s.dense != nil {
		return s.dense.AppendSorted(nil)
	}
	return s.sorted
}

// binCounts is BinCounts of the values, sorted or not: value x goes to
// bin #{e ∈ edges : e ≤ x} (edges ascending).
func (s *numSide) binCounts(edges []float64) []int64 {
	switch {
	case s.dense != nil:
		return binCountsDense(s.dense, edges)
	case s.sorted != nil:
		return BinCounts(s.sorted, edges)
	}
	counts := make([]int64, len(edges)+1)
	bin := func(x float64) int { return sort.Search(len(edges), func(i int) bool { return edges[i] > x }) }
	for chunk := range s.floats.Chunks() {
		for _, x := range chunk {
			counts[bin(x)]++
		}
	}
	for chunk := range s.ints.Chunks() {
		for _, v := range chunk {
			counts[bin(float64(v))]++
		}
	}
	return counts
}

// appendInts appends the non-null values of an integer array to dst.
func appendInts(dst []int64, arr arrow.Array) ([]int64, error) {
	hasNulls := arr.NullN() > 0
	switch a := arr.(type) {
	case *array.Int64:
		return appendIntValues(dst, a.Int64Values(), arr, hasNulls), nil
	case *array.Int32:
		return appendIntValues(dst, a.Int32Values(), arr, hasNulls), nil
	case *array.Int16:
		return appendIntValues(dst, a.Int16Values(), arr, hasNulls), nil
	case *array.Int8:
		return appendIntValues(dst, a.Int8Values(), arr, hasNulls), nil
	case *array.Uint32:
		return appendIntValues(dst, a.Uint32Values(), arr, hasNulls), nil
	case *array.Uint16:
		return appendIntValues(dst, a.Uint16Values(), arr, hasNulls), nil
	case *array.Uint8:
		return appendIntValues(dst, a.Uint8Values(), arr, hasNulls), nil
	}
	return dst, fmt.Errorf("%s is not an integer type", arr.DataType())
}

func appendIntValues[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32](dst []int64, vals []T, arr arrow.Array, hasNulls bool) []int64 {
	for i, v := range vals {
		if hasNulls && arr.IsNull(i) {
			continue
		}
		dst = append(dst, int64(v))
	}
	return dst
}
