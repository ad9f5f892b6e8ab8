package profile

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// benchBatches builds rows rows of an int64, a float64, a 1000-category
// string, a bool column (5% nulls each) and a uuid-like string column whose
// every value is distinct (an identifier), in batches of 65 536 rows.
func benchBatches(rows int, seed uint64) []arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "category", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "session", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	r := rand.New(rand.NewPCG(seed, 99))
	cats := make([]string, 1000)
	for i := range cats {
		cats[i] = fmt.Sprintf("category-%04d", i)
	}
	var out []arrow.RecordBatch
	for start := 0; start < rows; start += 65536 {
		n := min(65536, rows-start)
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		ib, fb := b.Field(0).(*array.Int64Builder), b.Field(1).(*array.Float64Builder)
		sb, bb := b.Field(2).(*array.StringBuilder), b.Field(3).(*array.BooleanBuilder)
		ub := b.Field(4).(*array.StringBuilder)
		for i := 0; i < n; i++ {
			ub.Append(uuidLike(r))
			if r.IntN(20) == 0 {
				ib.AppendNull()
				fb.AppendNull()
				sb.AppendNull()
				bb.AppendNull()
				continue
			}
			ib.Append(int64(start + i))
			fb.Append(r.NormFloat64()*10 + 100)
			sb.Append(cats[int(r.ExpFloat64()*100)%1000])
			bb.Append(r.IntN(3) == 0)
		}
		out = append(out, b.NewRecordBatch())
		b.Release()
	}
	return out
}

// uuidLike returns a random 36-character identifier in the uuid layout.
func uuidLike(r *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint64()&0xffffffffffff)
}

// BenchmarkProfile profiles 1M rows × 5 columns held in memory, exact and
// with sketches.
func BenchmarkProfile(b *testing.B) {
	recs := benchBatches(1_000_000, 1)
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"exact", Options{}},
		{"sketched", Options{MaxMemory: 1 << 20}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Compute(context.Background(), recs[0].Schema(), Records(recs...), tc.opt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(1_000_000*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
