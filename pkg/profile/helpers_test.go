package profile

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// col is a test column: values are nil for null, else of the column's Go type.
type col struct {
	name string
	dt   arrow.DataType
	vals []any
}

func ints(name string, vs ...any) col  { return col{name, arrow.PrimitiveTypes.Int64, vs} }
func fl(name string, vs ...any) col    { return col{name, arrow.PrimitiveTypes.Float64, vs} }
func strs(name string, vs ...any) col  { return col{name, arrow.BinaryTypes.String, vs} }
func bools(name string, vs ...any) col { return col{name, arrow.FixedWidthTypes.Boolean, vs} }
func stamps(name string, vs ...any) col {
	return col{name, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, vs}
}
func schemaOf(cols ...col) *arrow.Schema { return arrow.NewSchema(fieldsOf(cols), nil) }

func fieldsOf(cols []col) []arrow.Field {
	fs := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fs[i] = arrow.Field{Name: c.name, Type: c.dt, Nullable: true}
	}
	return fs
}

// batch builds one record batch; every column must have the same length.
func batch(t testing.TB, cols ...col) arrow.RecordBatch {
	t.Helper()
	schema := schemaOf(cols...)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	n := -1
	for i, c := range cols {
		if n >= 0 && len(c.vals) != n {
			t.Fatalf("column %s has %d values, want %d", c.name, len(c.vals), n)
		}
		n = len(c.vals)
		fb := b.Field(i)
		for _, v := range c.vals {
			if v == nil {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.Int64Builder:
				fb.Append(int64(v.(int)))
			case *array.Int32Builder:
				fb.Append(int32(v.(int)))
			case *array.Float64Builder:
				fb.Append(v.(float64))
			case *array.Float32Builder:
				fb.Append(float32(v.(float64)))
			case *array.StringBuilder:
				fb.Append(v.(string))
			case *array.BooleanBuilder:
				fb.Append(v.(bool))
			case *array.TimestampBuilder:
				ts, err := arrow.TimestampFromTime(v.(time.Time), fb.Type().(*arrow.TimestampType).Unit)
				if err != nil {
					t.Fatal(err)
				}
				fb.Append(ts)
			case *array.Date32Builder:
				fb.Append(arrow.Date32FromTime(v.(time.Time)))
			case *array.Uint64Builder:
				fb.Append(uint64(v.(int)))
			default:
				t.Fatalf("unsupported builder %T", fb)
			}
		}
	}
	return b.NewRecordBatch()
}

func compute(t testing.TB, opt Options, recs ...arrow.RecordBatch) *Profile {
	t.Helper()
	p, err := Compute(context.Background(), recs[0].Schema(), Records(recs...), opt)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func fv(f *Float) float64 {
	if f == nil {
		return math.NaN()
	}
	return float64(*f)
}

func relClose(a, b, tol float64) bool {
	if a == b || (math.IsNaN(a) && math.IsNaN(b)) {
		return true
	}
	return math.Abs(a-b) <= tol*math.Max(math.Abs(a), math.Abs(b))
}
