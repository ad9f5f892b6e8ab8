package format

import (
	"bytes"
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
			got, err := dd.DecodeDictionaries(c, schema, cols, nil)
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

// A column dropped during a scan comes as nulls of its type from then on,
// and its column chunks are not read; the other columns are unchanged.
func TestParquetColumnDrops(t *testing.T) {
	data := dictParquet(t, 6000, 2000)
	ranges := columnChunkRanges(t, data)
	log := &readLog{ReaderAt: bytes.NewReader(data)}
	d, err := NewDecoder(Input{Name: "d.parquet", ReaderAt: log, Size: int64(len(data))}, Options{ChunkRows: 700})
	if err != nil {
		t.Fatal(err)
	}
	chunks, schema := parquetChunks(t, d)
	want := mustRead(t, memInput("d.parquet", data), Options{ChunkRows: 700})
	drops := NewColumnDrops(2)
	cols := []int{0, 1} // small, id
	var rows [][]any
	for k, c := range chunks {
		if k == 3 {
			drops.Drop(1)
			log.take()
		}
		rec, err := d.(DictionaryDecoder).DecodeDictionaries(c, schema, cols, drops)
		if err != nil {
			t.Fatal(err)
		}
		if k >= 3 && (rec.Column(1).NullN() != c.Rows || rec.Column(1).DataType().ID() != arrow.STRING) {
			t.Errorf("chunk %d: dropped column is %s with %d nulls of %d", k, rec.Column(1).DataType(), rec.Column(1).NullN(), c.Rows)
		}
		small, err := castColumn(rec.Column(0), arrow.BinaryTypes.String)
		if err != nil {
			t.Fatal(err)
		}
		for r := 0; r < c.Rows; r++ {
			rows = append(rows, []any{cell(t, small, r)})
		}
		small.Release()
		rec.Release()
	}
	var wantRows [][]any
	for _, row := range want.rows {
		wantRows = append(wantRows, []any{row[0]})
	}
	diff(t, "column small", wantRows, rows)
	for _, rd := range log.take() {
		for _, cr := range ranges["id"][1:] { // chunk 3 is in the second row group
			if overlaps(rd, cr) {
				t.Errorf("read %v touches column chunk %v of the dropped column", rd, cr)
			}
		}
	}
}
