package drift_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/profile"
)

// hintSide builds a side of rows rows in batches of 4,096: a float column
// with nulls, NaN and infinities, a float32 column, integers too spread out
// to count per value, and integers that are: codes, ascending ids (which a
// worker of several stops counting with a small hint), and mostly null
// integers, which a worker counts but whose range is too wide for their
// number to be held counted once read.
func hintSide(rows int, seed uint64, shift float64) drift.Input {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "spread", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "code", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "rare", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	r := rand.New(rand.NewPCG(seed, 9))
	var recs []arrow.RecordBatch
	for start := 0; start < rows; start += 4096 {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for range min(4096, rows-start) {
			switch k := r.IntN(50); {
			case k == 0:
				b.Field(0).AppendNull()
			case k == 1:
				b.Field(0).(*array.Float64Builder).Append(math.NaN())
			case k == 2:
				b.Field(0).(*array.Float64Builder).Append(math.Inf(1 - 2*r.IntN(2)))
			default:
				b.Field(0).(*array.Float64Builder).Append(math.Round((r.NormFloat64()+shift)*1000) / 1000)
			}
			b.Field(1).(*array.Float32Builder).Append(float32(r.ExpFloat64() + shift))
			if r.IntN(9) == 0 {
				b.Field(2).AppendNull()
			} else {
				b.Field(2).(*array.Int64Builder).Append(r.Int64N(1e12) - 5e11)
			}
			b.Field(3).(*array.Int32Builder).Append(int32(r.IntN(40)))
			b.Field(4).(*array.Int64Builder).Append(int64(start) + int64(b.Field(4).Len()) + int64(shift*1000))
			if r.IntN(10) == 0 {
				b.Field(5).(*array.Int64Builder).Append(r.Int64N(int64(rows) / 2))
			} else {
				b.Field(5).AppendNull()
			}
		}
		recs = append(recs, b.NewRecordBatch())
		b.Release()
	}
	return drift.Input{Name: "side", Schema: schema, Scan: profile.Records(recs...)}
}

// The row count hint only sizes buffers: exact, too small, too large or
// absent, with one worker or several, the report is the same.
func TestRowsHintChangesNothing(t *testing.T) {
	const rows = 30_000
	b, c := hintSide(rows, 1, 0), hintSide(rows, 2, 0.05)
	want := map[drift.Binning][]byte{}
	const psiOnly = drift.Binning("psi-only") // uniform bins, values not sorted
	for _, hint := range []int64{0, rows, rows / 3, 4 * rows, 1} {
		for _, workers := range []int{1, 2, 3} {
			for _, binning := range []drift.Binning{drift.Uniform, drift.Quantile, psiOnly} {
				b.Rows, c.Rows = hint, hint
				opt := drift.Options{Workers: workers, Binning: binning}
				if binning == psiOnly {
					opt.Binning, opt.PSIOnly = drift.Uniform, true
				}
				r := compare(t, b, c, opt)
				if len(r.NumericDrift) != 6 {
					t.Fatalf("compared %d numeric columns, want 6: %+v", len(r.NumericDrift), r.Skipped)
				}
				got, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				if want[binning] == nil {
					want[binning] = got
				} else if string(got) != string(want[binning]) {
					t.Fatalf("hint %d, %d workers, %s bins: report differs:\n%s\nwant\n%s", hint, workers, binning, got, want[binning])
				}
			}
		}
	}
}
