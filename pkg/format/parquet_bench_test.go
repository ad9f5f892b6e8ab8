package format

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/mldata-io/mldata/pkg/parallel"
)

var (
	benchParquetOnce sync.Once
	benchParquet     []byte
)

// BenchmarkParquetRead reads a 1M-row, 12-column snappy Parquet file (see
// wideParquet: ints, floats with nulls, strings of 20 / 1,000 / ~1M
// distinct values, bool, timestamp; row groups of 128 Ki rows) as a
// profile or drift check does: chunks of 16 Ki rows decoded on GOMAXPROCS
// goroutines and consumed in order. "all" decodes every column, "3-columns"
// a projection of a float, a float with nulls and a 1,000-value string.
func BenchmarkParquetRead(b *testing.B) {
	const rows = 1_000_000
	benchParquetOnce.Do(func() { benchParquet = wideParquet(b, rows, 128*1024, 1<<20) })
	data := benchParquet
	for _, tc := range []struct {
		name string
		cols []int
	}{{"all", nil}, {"3-columns", []int{3, 4, 7}}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				d, err := NewDecoder(plainInput("bench.parquet", data), Options{ChunkRows: DefaultChunkRows / 4})
				if err != nil {
					b.Fatal(err)
				}
				var ev Evidence
				var chunks []*Chunk
				err = d.Chunks(context.Background(), func(c *Chunk) error {
					chunks = append(chunks, c)
					e, err := d.Infer(c)
					if err != nil {
						return err
					}
					return ev.Merge(e)
				})
				if err != nil {
					b.Fatal(err)
				}
				schema := Finalize(ev.Schema())
				got := 0
				err = parallel.Ordered(context.Background(), runtime.GOMAXPROCS(0),
					func(_ context.Context, emit func(*Chunk) error) error {
						for _, c := range chunks {
							if err := emit(c); err != nil {
								return err
							}
						}
						return nil
					},
					func(_ int, c *Chunk) (int, error) {
						rec, err := d.(ColumnDecoder).DecodeColumns(c, schema, tc.cols)
						if err != nil {
							return 0, err
						}
						defer rec.Release()
						return int(rec.NumRows()), nil
					},
					func(n int) error { got += n; return nil })
				if err != nil {
					b.Fatal(err)
				}
				if got != rows {
					b.Fatalf("read %d rows, want %d", got, rows)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
