package drift_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/mldata-io/mldata/pkg/dataset"
	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/profile"
)

func benchSide(rows int, seed uint64, shift float64) drift.Input {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "count", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "category", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "session", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	r := rand.New(rand.NewPCG(seed, 7))
	var recs []arrow.RecordBatch
	for start := 0; start < rows; start += 65536 {
		n := min(65536, rows-start)
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		fb, ib, sb := b.Field(0).(*array.Float64Builder), b.Field(1).(*array.Int64Builder), b.Field(2).(*array.StringBuilder)
		ub := b.Field(3).(*array.StringBuilder)
		for i := 0; i < n; i++ {
			fb.Append(r.NormFloat64() + shift)
			ib.Append(int64(r.IntN(50)))
			sb.Append(fmt.Sprintf("c%d", int(r.ExpFloat64()*(20+shift*10))%200))
			ub.Append(fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint64()&0xffffffffffff))
		}
		recs = append(recs, b.NewRecordBatch())
		b.Release()
	}
	return drift.Input{Schema: schema, Scan: profile.Records(recs...)}
}

// BenchmarkDrift compares two in-memory datasets of 1M rows × 4 columns, one
// of them an identifier-like string column (every value distinct). By
// default that column is skipped once a side passes the category limit;
// all-categories compares it too (MaxCategories −1), as the code before the
// limit did. The parquet cases read the same data from Parquet files.
func BenchmarkDrift(b *testing.B) {
	base, cur := benchSide(1_000_000, 1, 0), benchSide(1_000_000, 2, 0.1)
	for _, tc := range []struct {
		name string
		opt  drift.Options
	}{
		{"uniform", drift.Options{Binning: drift.Uniform}},
		{"quantile", drift.Options{Binning: drift.Quantile}},
		{"uniform/all-categories", drift.Options{Binning: drift.Uniform, MaxCategories: -1}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := drift.Compare(context.Background(), base, cur, tc.opt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(2_000_000*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	b.Run("parquet", benchDriftParquet)
}

// writeParquet writes a side's batches to a Parquet file (snappy, as
// builds write them) in dir.
func writeParquet(b testing.TB, dir, name string, in drift.Input) string {
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w, err := format.NewWriter(f, in.Schema, format.Parquet, format.Snappy)
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	err = in.Scan(context.Background(), 1, func(_ int, rec arrow.RecordBatch) error {
		mu.Lock()
		defer mu.Unlock()
		return w.Write(rec)
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

// benchDriftParquet compares the two sides written as Parquet files, as
// `mldata drift` does: each side read once, only the compared columns
// decoded. "all" compares the four columns, "3-columns" leaves out the
// identifier column, whose column chunks are then never read.
func benchDriftParquet(b *testing.B) {
	dir := b.TempDir()
	basePath := writeParquet(b, dir, "base.parquet", benchSide(1_000_000, 1, 0))
	curPath := writeParquet(b, dir, "cur.parquet", benchSide(1_000_000, 2, 0.1))
	open := func(p string) drift.Input {
		ds, err := dataset.Open(context.Background(), p, dataset.Options{SkipHash: true, Read: format.Options{ChunkRows: format.DefaultChunkRows / 4}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ds.Close() })
		return drift.Input{Name: p, Schema: ds.Schema, Scan: ds.Scan, Rows: ds.Rows,
			Columns: func(cols []int) profile.ScanFunc { return ds.Columns(cols) }}
	}
	base, cur := open(basePath), open(curPath)
	for _, tc := range []struct {
		name string
		opt  drift.Options
	}{
		{"all", drift.Options{}},
		{"3-columns", drift.Options{Columns: []string{"value", "count", "category"}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := drift.Compare(context.Background(), base, cur, tc.opt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(2_000_000*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
