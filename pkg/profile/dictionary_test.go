package profile

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// asDictionaries returns rec with every string column as a
// dictionary<int32, string> array holding the same values: the dictionary
// lists the column's distinct values last-seen first, then a value no row
// uses, as dataset.Dataset.Columns may hand a Parquet column to readers.
func asDictionaries(t testing.TB, rec arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	fields := rec.Schema().Fields()
	cols := make([]arrow.Array, rec.NumCols())
	for j, c := range rec.Columns() {
		s, ok := c.(*array.String)
		if !ok {
			c.Retain()
			cols[j] = c
			continue
		}
		pos := map[string]int{}
		var order []string
		for i := s.Len() - 1; i >= 0; i-- {
			if s.IsValid(i) {
				if _, ok := pos[s.Value(i)]; !ok {
					pos[s.Value(i)] = len(order)
					order = append(order, s.Value(i))
				}
			}
		}
		order = append(order, "unused-value")
		db := array.NewStringBuilder(memory.DefaultAllocator)
		db.AppendValues(order, nil)
		dict := db.NewArray()
		ib := array.NewInt32Builder(memory.DefaultAllocator)
		for i := 0; i < s.Len(); i++ {
			if s.IsNull(i) {
				ib.AppendNull()
			} else {
				ib.Append(int32(pos[s.Value(i)]))
			}
		}
		idx := ib.NewArray()
		dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
		cols[j] = array.NewDictionaryArray(dt, idx, dict)
		fields[j].Type = dt
		idx.Release()
		dict.Release()
		db.Release()
		ib.Release()
	}
	out := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out
}

// Counting a string column by dictionary index gives the profile that
// counting its strings gives, exact and sketched; a dictionary value no
// row uses is no value of the column.
func TestProfileOfDictionaries(t *testing.T) {
	var vals, ids []any
	for i := 0; i < 3000; i++ {
		switch {
		case i%11 == 3:
			vals = append(vals, nil)
		default:
			vals = append(vals, fmt.Sprintf("v%d", i*i%37))
		}
		ids = append(ids, fmt.Sprintf("id-%d", i))
	}
	var plain, dict []arrow.RecordBatch
	for start := 0; start < len(vals); start += 700 {
		end := min(start+700, len(vals))
		rec := batch(t, strs("cat", vals[start:end]...), strs("id", ids[start:end]...))
		plain = append(plain, rec)
		dict = append(dict, asDictionaries(t, rec))
	}
	schema := plain[0].Schema()
	if _, ok := dict[0].Column(0).(*array.Dictionary); !ok {
		t.Fatalf("test batch column is %s, want a dictionary", dict[0].Column(0).DataType())
	}
	for _, opt := range []Options{{Workers: 2}, {Workers: 1, MaxMemory: 1 << 10}} {
		want, err := Compute(context.Background(), schema, Records(plain...), opt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Compute(context.Background(), schema, Records(dict...), opt)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		if string(g) != string(w) {
			t.Errorf("max memory %d: profile of dictionaries\n%s\nwant\n%s", opt.MaxMemory, g, w)
		}
		if c, _ := got.Column("cat"); opt.MaxMemory == 0 && (c.UniqueCount != 19 || c.NullCount != 273) {
			t.Errorf("cat: %d distinct, %d nulls; want 19 and 273", c.UniqueCount, c.NullCount)
		}
	}
}
