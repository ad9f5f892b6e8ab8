package split

import (
	"context"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Partition returns one batch per split (index = split index; a split with no
// rows gets a 0-row batch), rows in their original relative order. Callers
// release the returned batches. The common column types are gathered by hand
// (one pass, no kernel dispatch); others go through Arrow's Take. A
// dictionary column (int32 indices) keeps its dictionary: only the indices
// are gathered.
func (a *Assigner) Partition(rec arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	n := rec.NumRows()
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("split: batch of %d rows is too large: read the input in chunks of at most %d rows", n, math.MaxInt32)
	}
	k := len(a.spec.Names)
	out := make([]arrow.RecordBatch, k)
	assigned := make([]uint8, n)
	a.Assign(rec, assigned)

	sizes := make([]int, k)
	for _, s := range assigned {
		sizes[s]++
	}
	for s, size := range sizes {
		if size == int(n) {
			// Everything in one split: share the batch instead of copying.
			for j := range out {
				if j == s {
					rec.Retain()
					out[j] = rec
				} else {
					out[j] = rec.NewSlice(0, 0)
				}
			}
			return out, nil
		}
	}
	// One backing array holds every split's indexes, in order.
	all := make([]int32, n)
	idx := make([][]int32, k)
	start := 0
	for s, size := range sizes {
		idx[s] = all[start : start : start+size]
		start += size
	}
	for i, s := range assigned {
		idx[s] = append(idx[s], int32(i))
	}

	release := func() {
		for _, r := range out {
			if r != nil {
				r.Release()
			}
		}
	}
	cols := make([]arrow.Array, rec.NumCols())
	for s := range k {
		for c := range cols {
			g, err := gather(rec.Column(c), idx[s])
			if err != nil {
				for _, done := range cols[:c] {
					done.Release()
				}
				release()
				return nil, fmt.Errorf("split: gathering column %q: %w", rec.Schema().Field(c).Name, err)
			}
			cols[c] = g
		}
		out[s] = array.NewRecordBatch(rec.Schema(), cols, int64(len(idx[s])))
		for _, col := range cols {
			col.Release()
		}
	}
	return out, nil
}

// gather returns the rows idx of arr, in that order.
func gather(arr arrow.Array, idx []int32) (arrow.Array, error) {
	data := arr.Data()
	off := data.Offset()
	bufs := data.Buffers()
	dt := arr.DataType()
	if len(bufs) < 2 || bufs[1] == nil || !handByHand[dt.ID()] {
		return take(arr, idx)
	}
	if d, ok := dt.(*arrow.DictionaryType); ok && d.IndexType.ID() != arrow.INT32 {
		return take(arr, idx)
	}
	validity, nulls := gatherValidity(arr, idx)

	var out arrow.ArrayData
	switch dt.ID() {
	case arrow.INT8, arrow.UINT8:
		out = fixedData(dt, validity, nulls, gatherFixed(arrow.Uint8Traits.CastFromBytes(bufs[1].Bytes()), off, idx), len(idx))
	case arrow.INT16, arrow.UINT16, arrow.FLOAT16:
		out = fixedData(dt, validity, nulls, arrow.Uint16Traits.CastToBytes(gatherFixed(arrow.Uint16Traits.CastFromBytes(bufs[1].Bytes()), off, idx)), len(idx))
	case arrow.INT32, arrow.UINT32, arrow.FLOAT32, arrow.DATE32, arrow.TIME32, arrow.INTERVAL_MONTHS:
		out = fixedData(dt, validity, nulls, arrow.Uint32Traits.CastToBytes(gatherFixed(arrow.Uint32Traits.CastFromBytes(bufs[1].Bytes()), off, idx)), len(idx))
	case arrow.INT64, arrow.UINT64, arrow.FLOAT64, arrow.DATE64, arrow.TIME64, arrow.TIMESTAMP, arrow.DURATION:
		out = fixedData(dt, validity, nulls, arrow.Uint64Traits.CastToBytes(gatherFixed(arrow.Uint64Traits.CastFromBytes(bufs[1].Bytes()), off, idx)), len(idx))
	case arrow.BOOL:
		vals := make([]byte, bitutil.BytesForBits(int64(len(idx))))
		src := bufs[1].Bytes()
		for j, i := range idx {
			if bitutil.BitIsSet(src, off+int(i)) {
				bitutil.SetBit(vals, j)
			}
		}
		out = fixedData(dt, validity, nulls, vals, len(idx))
	case arrow.DICTIONARY:
		// Indices are gathered; the dictionary is shared, not copied.
		vals := arrow.Uint32Traits.CastToBytes(gatherFixed(arrow.Uint32Traits.CastFromBytes(bufs[1].Bytes()), off, idx))
		out = array.NewDataWithDictionary(dt, len(idx), []*memory.Buffer{bufOrNil(validity), memory.NewBufferBytes(vals)}, nulls, 0, data.Dictionary().(*array.Data))
	case arrow.STRING, arrow.BINARY:
		offs, vals := gatherVar(arrow.Int32Traits.CastFromBytes(bufs[1].Bytes()), varBytes(bufs), off, idx)
		out = array.NewData(dt, len(idx), []*memory.Buffer{bufOrNil(validity), memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)), memory.NewBufferBytes(vals)}, nil, nulls, 0)
	case arrow.LARGE_STRING, arrow.LARGE_BINARY:
		offs, vals := gatherVar(arrow.Int64Traits.CastFromBytes(bufs[1].Bytes()), varBytes(bufs), off, idx)
		out = array.NewData(dt, len(idx), []*memory.Buffer{bufOrNil(validity), memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(offs)), memory.NewBufferBytes(vals)}, nil, nulls, 0)
	}
	defer out.Release()
	return array.MakeFromData(out), nil
}

// handByHand lists the types gather copies itself.
var handByHand = map[arrow.Type]bool{
	arrow.INT8: true, arrow.UINT8: true, arrow.INT16: true, arrow.UINT16: true, arrow.FLOAT16: true,
	arrow.INT32: true, arrow.UINT32: true, arrow.FLOAT32: true, arrow.DATE32: true, arrow.TIME32: true,
	arrow.INTERVAL_MONTHS: true, arrow.INT64: true, arrow.UINT64: true, arrow.FLOAT64: true,
	arrow.DATE64: true, arrow.TIME64: true, arrow.TIMESTAMP: true, arrow.DURATION: true,
	arrow.BOOL: true, arrow.STRING: true, arrow.BINARY: true, arrow.LARGE_STRING: true, arrow.LARGE_BINARY: true,
	arrow.DICTIONARY: true, // with int32 indices
}

// take gathers with Arrow's Take kernel, for every other type.
func take(arr arrow.Array, idx []int32) (arrow.Array, error) {
	ib := array.NewInt32Builder(memory.DefaultAllocator)
	defer ib.Release()
	ib.AppendValues(idx, nil)
	indices := ib.NewArray()
	defer indices.Release()
	return compute.TakeArray(context.Background(), arr, indices)
}

func varBytes(bufs []*memory.Buffer) []byte {
	if len(bufs) < 3 || bufs[2] == nil {
		return nil
	}
	return bufs[2].Bytes()
}

func bufOrNil(b []byte) *memory.Buffer {
	if b == nil {
		return nil
	}
	return memory.NewBufferBytes(b)
}

func fixedData(dt arrow.DataType, validity []byte, nulls int, vals []byte, n int) arrow.ArrayData {
	return array.NewData(dt, n, []*memory.Buffer{bufOrNil(validity), memory.NewBufferBytes(vals)}, nil, nulls, 0)
}

// gatherValidity returns the validity bitmap of the gathered rows and their
// null count; nil when there are no nulls.
func gatherValidity(arr arrow.Array, idx []int32) ([]byte, int) {
	if arr.NullN() == 0 {
		return nil, 0
	}
	src := arr.NullBitmapBytes()
	if len(src) == 0 {
		return nil, 0
	}
	off := arr.Data().Offset()
	dst := make([]byte, bitutil.BytesForBits(int64(len(idx))))
	nulls := 0
	for j, i := range idx {
		if bitutil.BitIsSet(src, off+int(i)) {
			bitutil.SetBit(dst, j)
		} else {
			nulls++
		}
	}
	return dst, nulls
}

func gatherFixed[T uint8 | uint16 | uint32 | uint64](src []T, off int, idx []int32) []T {
	src = src[off:]
	dst := make([]T, len(idx))
	for j, i := range idx {
		dst[j] = src[i]
	}
	return dst
}

func gatherVar[O int32 | int64](offs []O, vals []byte, off int, idx []int32) ([]O, []byte) {
	offs = offs[off:]
	total := 0
	for _, i := range idx {
		total += int(offs[i+1] - offs[i])
	}
	outOffs := make([]O, len(idx)+1)
	outVals := make([]byte, 0, total)
	for j, i := range idx {
		outVals = append(outVals, vals[offs[i]:offs[i+1]]...)
		outOffs[j+1] = O(len(outVals))
	}
	return outOffs, outVals
}
