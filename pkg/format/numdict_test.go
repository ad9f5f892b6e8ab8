package format

import (
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// numDictParquet writes three row groups of 2,000 rows: "f", floats with
// nulls and NaN from a different set of values in each row group; "g",
// floats whose dictionary falls back to plain pages in the middle row group
// only (one value per row there); "i", int64 with nulls; "i32", int32.
func numDictParquet(t *testing.T) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "g", Type: arrow.PrimitiveTypes.Float64},
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for row := 0; row < 6000; row++ {
		rg := row / 2000
		f, g := b.Field(0).(*array.Float64Builder), b.Field(1).(*array.Float64Builder)
		i, i32 := b.Field(2).(*array.Int64Builder), b.Field(3).(*array.Int32Builder)
		switch {
		case row%7 == 3:
			f.AppendNull()
		case row%11 == 5:
			f.Append(math.NaN())
		case row%13 == 0:
			f.Append(math.Copysign(0, -1))
		default:
			f.Append(float64(row%37)*0.25 + float64(rg)*100)
		}
		if rg == 1 {
			g.Append(float64(row) * 1.5)
		} else {
			g.Append(float64(row % 50))
		}
		if row%5 == 1 {
			i.AppendNull()
		} else {
			i.Append(int64(row%23) - 11 + int64(rg)*1000)
		}
		i32.Append(int32(row%17) - 8)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithDictionaryDefault(true), parquet.WithDictionaryPageSizeLimit(4096),
		parquet.WithMaxRowGroupLength(2000), parquet.WithDataPageSize(2048))
	return parquetBytes(t, rec, props)
}

// Asked for, numeric column chunks stored dictionary-encoded come as
// dictionaries of their target type (int32 read as int64), with the values
// and nulls DecodeColumns gives, bit for bit (NaN, −0); a chunk that falls
// back to plain pages comes as plain values; not asked for, no numeric
// column comes as a dictionary.
func TestParquetNumericDictionaries(t *testing.T) {
	data := numDictParquet(t)
	for _, ask := range []bool{true, false} {
		d, err := NewDecoder(memInput("n.parquet", data), Options{ChunkRows: 700})
		if err != nil {
			t.Fatal(err)
		}
		chunks, schema := parquetChunks(t, d)
		plain, err := NewDecoder(memInput("n.parquet", data), Options{ChunkRows: 700})
		if err != nil {
			t.Fatal(err)
		}
		plainChunks, _ := parquetChunks(t, plain)
		drops := NewColumnDrops(4)
		if ask {
			drops.KeepNumericDictionaries()
		}
		dicts := map[string]int{}
		for k, c := range chunks {
			got, err := d.(DictionaryDecoder).DecodeDictionaries(c, schema, nil, drops)
			if err != nil {
				t.Fatal(err)
			}
			want, err := plain.(ColumnDecoder).DecodeColumns(plainChunks[k], schema, nil)
			if err != nil {
				t.Fatal(err)
			}
			rg := int(c.FirstRow) / 2000
			for j := 0; j < int(got.NumCols()); j++ {
				name, g, w := got.ColumnName(j), got.Column(j), want.Column(j)
				if !arrow.TypeEqual(got.Schema().Field(j).Type, g.DataType()) {
					t.Fatalf("chunk %d: schema says %s for %s, which is %s", k, got.Schema().Field(j).Type, name, g.DataType())
				}
				da, isDict := g.(*array.Dictionary)
				wantDict := ask && !(name == "g" && rg == 1)
				if isDict != wantDict {
					t.Errorf("chunk %d (row group %d), asked %v: column %s is %s", k, rg, ask, name, g.DataType())
				}
				if !isDict {
					if !array.Equal(g, w) && name != "f" {
						t.Errorf("chunk %d column %s: plain values differ", k, name)
					}
					continue
				}
				dicts[name]++
				if vt := da.Dictionary().DataType(); !arrow.TypeEqual(vt, w.DataType()) {
					t.Errorf("chunk %d column %s: a dictionary of %s, want %s", k, name, vt, w.DataType())
				}
				for r := 0; r < g.Len(); r++ {
					if da.IsNull(r) != w.IsNull(r) {
						t.Fatalf("chunk %d column %s row %d: null %v, want %v", k, name, r, da.IsNull(r), w.IsNull(r))
					}
					if da.IsNull(r) {
						continue
					}
					x := da.GetValueIndex(r)
					switch v := da.Dictionary().(type) {
					case *array.Float64:
						if math.Float64bits(v.Value(x)) != math.Float64bits(w.(*array.Float64).Value(r)) {
							t.Fatalf("chunk %d column %s row %d: %v, want %v", k, name, r, v.Value(x), w.(*array.Float64).Value(r))
						}
					case *array.Int64:
						if v.Value(x) != w.(*array.Int64).Value(r) {
							t.Fatalf("chunk %d column %s row %d: %v, want %v", k, name, r, v.Value(x), w.(*array.Int64).Value(r))
						}
					default:
						t.Fatalf("column %s: a dictionary of %s", name, v.DataType())
					}
				}
			}
			got.Release()
			want.Release()
		}
		if ask && (dicts["f"] != len(chunks) || dicts["i"] != len(chunks) || dicts["i32"] != len(chunks) || dicts["g"] == 0) {
			t.Errorf("dictionary columns per name %v in %d chunks", dicts, len(chunks))
		}
	}
}
