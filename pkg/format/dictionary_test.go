package format

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// dictParquet writes rows rows of a 4-value string column with nulls
// ("small"), a column with one value per row ("id"), whose dictionary falls
// back to plain pages, and an int64, in row groups of rowGroup rows.
func dictParquet(t *testing.T, rows, rowGroup int) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "small", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 0; i < rows; i++ {
		if i%9 == 4 {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.StringBuilder).Append([]string{"red", "green", "blue", "é"}[i*i%4])
		}
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("row-%08d", i))
		b.Field(2).(*array.Int64Builder).Append(int64(i % 5))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithDictionaryDefault(true), parquet.WithDictionaryPageSizeLimit(4096),
		parquet.WithMaxRowGroupLength(int64(rowGroup)), parquet.WithDataPageSize(2048))
	return parquetBytes(t, rec, props)
}

// DecodeDictionaries gives the values DecodeColumns gives, keeping the
// dictionary-encoded string column as a dictionary (with the batch schema
// saying so) and the one whose pages fell back to plain values as strings.
func TestParquetDecodeDictionaries(t *testing.T) {
	data := dictParquet(t, 6000, 2000)
	dictChunks, nchunks := 0, 0
	for _, cols := range [][]int{nil, {2, 0}} {
		d, err := NewDecoder(memInput("d.parquet", data), Options{ChunkRows: 700})
		if err != nil {
			t.Fatal(err)
		}
		chunks, schema := parquetChunks(t, d)
		dd, ok := d.(DictionaryDecoder)
		if !ok {
			t.Fatalf("the Parquet decoder (%T) is not a DictionaryDecoder", d)
		}
		plain, err := NewDecoder(memInput("d.parquet", data), Options{ChunkRows: 700})
		if err != nil {
			t.Fatal(err)
		}
		plainChunks, _ := parquetChunks(t, plain)
		nchunks += len(chunks)
		for k, c := range chunks {
			got, err := dd.DecodeDictionaries(c, schema, cols)
			if err != nil {
				t.Fatal(err)
			}
			want, err := plain.(ColumnDecoder).DecodeColumns(plainChunks[k], schema, cols)
			if err != nil {
				t.Fatal(err)
			}
			if got.NumCols() != want.NumCols() || got.NumRows() != want.NumRows() {
				t.Fatalf("chunk %d cols %v: %d×%d, want %d×%d", k, cols, got.NumRows(), got.NumCols(), want.NumRows(), want.NumCols())
			}
			for j := 0; j < int(got.NumCols()); j++ {
				g, w := got.Column(j), want.Column(j)
				if !arrow.TypeEqual(got.Schema().Field(j).Type, g.DataType()) {
					t.Fatalf("chunk %d: schema says %s for column %d, which is %s", k, got.Schema().Field(j).Type, j, g.DataType())
				}
				if da, ok := g.(*array.Dictionary); ok {
					if got.ColumnName(j) != "small" {
						t.Errorf("chunk %d: column %q came as a dictionary", k, got.ColumnName(j))
					}
					dictChunks++
					g, err = castColumn(da, arrow.BinaryTypes.String) // expands it
					if err != nil {
						t.Fatal(err)
					}
					defer g.Release()
				} else if got.ColumnName(j) == "small" {
					t.Errorf("chunk %d: column small is %s, want a dictionary", k, g.DataType())
				}
				if !array.Equal(g, w) {
					t.Errorf("chunk %d column %q: values differ from DecodeColumns", k, got.ColumnName(j))
				}
			}
			got.Release()
			want.Release()
		}
	}
	if dictChunks != nchunks {
		t.Errorf("%d dictionary columns in %d chunks", dictChunks, nchunks)
	}
}
