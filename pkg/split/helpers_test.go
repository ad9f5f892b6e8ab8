package split

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var mem = memory.DefaultAllocator

// col is a named column for newBatch.
type col struct {
	name string
	arr  arrow.Array
}

// newBatch builds a record batch of the given columns; it takes ownership
// of the arrays.
func newBatch(t testing.TB, cols ...col) arrow.RecordBatch {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	n := int64(-1)
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.arr.DataType(), Nullable: true}
		arrs[i] = c.arr
		if n >= 0 && int64(c.arr.Len()) != n {
			t.Fatalf("column %s has %d rows, want %d", c.name, c.arr.Len(), n)
		}
		n = int64(c.arr.Len())
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, n)
	for _, a := range arrs {
		a.Release()
	}
	t.Cleanup(rec.Release)
	return rec
}

// valid returns a validity slice from a list of null positions.
func valid(n int, nulls ...int) []bool {
	v := make([]bool, n)
	for i := range v {
		v[i] = true
	}
	for _, i := range nulls {
		v[i] = false
	}
	return v
}

func ints(vals []int64, v []bool) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(vals, v)
	return b.NewArray()
}

func floats(vals []float64, v []bool) arrow.Array {
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	b.AppendValues(vals, v)
	return b.NewArray()
}

func strs(vals []string, v []bool) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.AppendValues(vals, v)
	return b.NewArray()
}

func bools(vals []bool, v []bool) arrow.Array {
	b := array.NewBooleanBuilder(mem)
	defer b.Release()
	b.AppendValues(vals, v)
	return b.NewArray()
}

// anyArray builds an array of any type from Go values (nil = null) with
// the generic builder.
func anyArray(t testing.TB, dt arrow.DataType, vals ...any) arrow.Array {
	t.Helper()
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
			continue
		}
		var err error
		switch bb := b.(type) {
		case *array.Int8Builder:
			bb.Append(v.(int8))
		case *array.Int16Builder:
			bb.Append(v.(int16))
		case *array.Int32Builder:
			bb.Append(v.(int32))
		case *array.Int64Builder:
			bb.Append(v.(int64))
		case *array.Uint8Builder:
			bb.Append(v.(uint8))
		case *array.Uint16Builder:
			bb.Append(v.(uint16))
		case *array.Uint32Builder:
			bb.Append(v.(uint32))
		case *array.Uint64Builder:
			bb.Append(v.(uint64))
		case *array.Float32Builder:
			bb.Append(v.(float32))
		case *array.Float64Builder:
			bb.Append(v.(float64))
		case *array.StringBuilder:
			bb.Append(v.(string))
		case *array.LargeStringBuilder:
			bb.Append(v.(string))
		case *array.BinaryBuilder:
			if raw, ok := v.([]byte); ok {
				bb.Append(raw)
			} else {
				err = bb.AppendValueFromString(v.(string))
			}
		case *array.TimestampBuilder:
			bb.Append(arrow.Timestamp(v.(int64)))
		case *array.Date32Builder:
			bb.Append(arrow.Date32(v.(int32)))
		case *array.Date64Builder:
			bb.Append(arrow.Date64(v.(int64)))
		case *array.BinaryDictionaryBuilder:
			err = bb.AppendString(v.(string))
		default:
			err = bb.AppendValueFromString(v.(string))
		}
		if err != nil {
			t.Fatalf("appending %v to %s: %v", v, dt, err)
		}
	}
	return b.NewArray()
}

// texts returns every value of every column of rec as text, row by row.
func texts(rec arrow.RecordBatch) [][]string {
	out := make([][]string, rec.NumRows())
	for i := range out {
		for c := range int(rec.NumCols()) {
			out[i] = append(out[i], rec.Column(c).ValueStr(i))
		}
	}
	return out
}
