package format

import (
	"fmt"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Decoded columns are built from plain Go slices wrapped as Arrow buffers:
// one allocation per buffer, sized up front from the chunk's row count, and
// no per-value builder calls on the hot path. The buffers belong to the Go
// heap, so releasing the arrays is cheap and never required for safety.

// validity is an Arrow validity bitmap being filled in row order.
type validity struct {
	bits  []byte
	nulls int
}

func newValidity(n int) validity { return validity{bits: make([]byte, (n+7)/8)} }

func (v *validity) set(i int) { v.bits[i>>3] |= 1 << uint(i&7) }

func (v *validity) buffer() *memory.Buffer {
	if v.nulls == 0 {
		return nil
	}
	return memory.NewBufferBytes(v.bits)
}

func makeArray(t arrow.DataType, n int, v validity, bufs ...*memory.Buffer) arrow.Array {
	d := array.NewData(t, n, append([]*memory.Buffer{v.buffer()}, bufs...), nil, v.nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

func int64Array(t arrow.DataType, vals []int64, v validity) arrow.Array {
	return makeArray(t, len(vals), v, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(vals)))
}

func float64Array(vals []float64, v validity) arrow.Array {
	return makeArray(arrow.PrimitiveTypes.Float64, len(vals), v, memory.NewBufferBytes(arrow.Float64Traits.CastToBytes(vals)))
}

func boolArray(n int, bits []byte, v validity) arrow.Array {
	return makeArray(arrow.FixedWidthTypes.Boolean, n, v, memory.NewBufferBytes(bits))
}

// stringArray wraps offsets (n+1 entries) and the concatenated values.
func stringArray(offsets []int32, data []byte, v validity) arrow.Array {
	return makeArray(arrow.BinaryTypes.String, len(offsets)-1, v,
		memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets)), memory.NewBufferBytes(data))
}

// stringsBuilder fills a string column whose total size is known.
type stringsBuilder struct {
	offsets []int32
	data    []byte
	v       validity
	i       int
}

func newStringsBuilder(n, size int) *stringsBuilder {
	return &stringsBuilder{offsets: make([]int32, n+1), data: make([]byte, 0, size), v: newValidity(n)}
}

func (b *stringsBuilder) append(s []byte) {
	b.data = append(b.data, s...)
	b.v.set(b.i)
	b.i++
	b.offsets[b.i] = int32(len(b.data))
}

func (b *stringsBuilder) appendNull() {
	b.v.nulls++
	b.i++
	b.offsets[b.i] = int32(len(b.data))
}

// validUTF8 reports whether every value appended is UTF-8: the values
// together are, and none starts with a continuation byte (which would
// complete a character begun at the end of the value before).
func (b *stringsBuilder) validUTF8() bool {
	if !utf8.Valid(b.data) {
		return false
	}
	for _, o := range b.offsets[:b.i] {
		if int(o) < len(b.data) && b.data[o]&0xC0 == 0x80 {
			return false
		}
	}
	return true
}

func (b *stringsBuilder) array() (arrow.Array, error) {
	if len(b.data) > 1<<31-1 {
		return nil, fmt.Errorf("string column holds %d bytes in one chunk, more than Arrow's 2 GiB limit; use a smaller chunk size", len(b.data))
	}
	return stringArray(b.offsets, b.data, b.v), nil
}

// timestampScale converts microseconds to the unit of a target timestamp
// type: a multiplier or a divisor.
func timestampScale(t arrow.DataType) (mul, div int64) {
	ts, ok := t.(*arrow.TimestampType)
	if !ok {
		return 1, 1
	}
	switch ts.Unit {
	case arrow.Second:
		return 1, 1e6
	case arrow.Millisecond:
		return 1, 1e3
	case arrow.Nanosecond:
		return 1e3, 1
	}
	return 1, 1
}

func releaseAll(arrs []arrow.Array) {
	for _, a := range arrs {
		if a != nil {
			a.Release()
		}
	}
}
