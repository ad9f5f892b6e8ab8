package drift_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/mldata-io/mldata/pkg/dataset"
	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/profile"
)

// numericDictFile writes rows rows in row groups of 1,500 with small
// dictionary pages: "f" floats with nulls, NaN, −0 and ±Inf from a set of
// values that changes with the row group, "wide" floats whose dictionary
// falls back to plain pages in every third row group, "n" int64 with nulls
// and "code" int32.
func numericDictFile(t *testing.T, dir, name string, rows int, shift float64) string {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "wide", Type: arrow.PrimitiveTypes.Float64},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "code", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for row := range rows {
		rg := row / 1500
		f, w := b.Field(0).(*array.Float64Builder), b.Field(1).(*array.Float64Builder)
		switch {
		case row%7 == 3:
			f.AppendNull()
		case row%11 == 5:
			f.Append(math.NaN())
		case row%13 == 0:
			f.Append(math.Copysign(0, -1))
		case row%401 == 7:
			f.Append(math.Inf(1))
		default:
			f.Append(float64((row*row)%53)*0.5 - 9 + float64(rg%4) + shift)
		}
		if rg%3 == 1 {
			w.Append(float64(row)*0.001 + shift)
		} else {
			w.Append(float64(row%40) + shift)
		}
		if row%5 == 1 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Int64Builder).Append(int64(row%29)*int64(1+rg%2) + int64(shift*10))
		}
		b.Field(3).(*array.Int32Builder).Append(int32(row % 9))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithDictionaryDefault(true), parquet.WithDictionaryPageSizeLimit(2048),
		parquet.WithMaxRowGroupLength(1500), parquet.WithDataPageSize(1024))
	var out bytes.Buffer
	fw, err := pqarrow.NewFileWriter(schema, &out, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Numeric columns read as dictionaries (dataset.Columns) give the report,
// byte for byte, that reading them as plain values gives, whatever the
// number of workers and the binning, with and without the row count hint.
func TestParquetNumericDictionariesGiveTheSameReport(t *testing.T) {
	dir := t.TempDir()
	basePath := numericDictFile(t, dir, "base.parquet", 9000, 0)
	curPath := numericDictFile(t, dir, "cur.parquet", 8000, 0.75)
	open := func(p string) *dataset.Dataset {
		ds, err := dataset.Open(context.Background(), p, dataset.Options{SkipHash: true, Read: format.Options{ChunkRows: 700}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ds.Close() })
		return ds
	}
	base, cur := open(basePath), open(curPath)
	dictCols := map[string]bool{}
	withDicts := func(ds *dataset.Dataset, rows int64) drift.Input {
		return drift.Input{Name: "x", Schema: ds.Schema, Scan: ds.Scan, Rows: rows, Columns: func(cols []int) profile.ScanFunc {
			scan := ds.Columns(cols)
			return func(ctx context.Context, workers int, fn func(int, arrow.RecordBatch) error) error {
				return scan(ctx, workers, func(w int, rec arrow.RecordBatch) error {
					for j, c := range rec.Columns() {
						if _, ok := c.(*array.Dictionary); ok && w == 0 {
							dictCols[rec.ColumnName(j)] = true
						}
					}
					return fn(w, rec)
				})
			}
		}}
	}
	plain := func(ds *dataset.Dataset) drift.Input {
		return drift.Input{Name: "x", Schema: ds.Schema, Scan: ds.Scan}
	}
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	for _, binning := range []drift.Binning{drift.Uniform, drift.Quantile} {
		want, err := drift.Compare(context.Background(), plain(base), plain(cur), drift.Options{Binning: binning, Workers: 1, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		w, _ := json.Marshal(want)
		if len(want.NumericDrift) != 4 {
			t.Fatalf("compared %d numeric columns: %s", len(want.NumericDrift), w)
		}
		for _, workers := range []int{1, 2, 3} {
			for _, rows := range []int64{0, 5000, 9000} {
				got, err := drift.Compare(context.Background(), withDicts(base, rows), withDicts(cur, rows*8/9), drift.Options{Binning: binning, Workers: workers, Now: now})
				if err != nil {
					t.Fatal(err)
				}
				if g, _ := json.Marshal(got); string(g) != string(w) {
					t.Errorf("%s, %d workers, rows hint %d: report from dictionaries\n%s\nwant\n%s", binning, workers, rows, g, w)
				}
			}
		}
	}
	for _, c := range []string{"f", "wide", "n", "code"} {
		if !dictCols[c] {
			t.Errorf("column %s never came as a dictionary (%v)", c, dictCols)
		}
	}
}
