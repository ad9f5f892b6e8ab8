package profile

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"
	"github.com/mldata-io/mldata/pkg/sketch"
)

func fromJSON(t *testing.T, dt arrow.DataType, js string) arrow.Array {
	t.Helper()
	arr, _, err := array.FromJSON(memory.DefaultAllocator, dt, strings.NewReader(js))
	if err != nil {
		t.Fatalf("%s %s: %v", dt, js, err)
	}
	return arr
}

func oneColumn(t *testing.T, arrs ...arrow.Array) []arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrs[0].DataType(), Nullable: true}}, nil)
	var recs []arrow.RecordBatch
	for _, a := range arrs {
		recs = append(recs, array.NewRecordBatch(schema, []arrow.Array{a}, int64(a.Len())))
	}
	return recs
}

// Every numeric Arrow type gives the same statistics for 1, 2, null, 4,
// whether profiled or read by AppendFloats.
func TestNumericTypes(t *testing.T) {
	for _, dt := range []arrow.DataType{
		arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
		arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Uint64,
		arrow.FixedWidthTypes.Float16, arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float64,
	} {
		t.Run(dt.String(), func(t *testing.T) {
			a := fromJSON(t, dt, "[1, 2, null, 4]")
			b := fromJSON(t, dt, "[4]")
			p := compute(t, Options{Workers: 2}, oneColumn(t, a, b)...)
			st, _ := p.Statistics.Get("v")
			// 1, 2, 4, 4: mean 2.75, std √(6.75/3) = 1.5, quartiles 1.75, 3, 4.
			want := &Statistics{Count: 4, Mean: F(2.75), Std: F(1.5), Min: F(1), Max: F(4), Percentiles: Percentiles{F(1.75), F(3), F(4)}}
			if diff := cmp.Diff(want, st, cmpF); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			if c := p.Schema.Columns[0]; c.NullCount != 1 || c.UniqueCount != 3 || c.DType != dt.Name() {
				t.Errorf("column = %+v", c)
			}
			got, nulls, err := AppendFloats(nil, a)
			if err != nil || nulls != 1 || !cmp.Equal(got, []float64{1, 2, 4}) {
				t.Errorf("AppendFloats = %v, %d, %v", got, nulls, err)
			}
		})
	}
	if _, _, err := AppendFloats(nil, fromJSON(t, arrow.BinaryTypes.String, `["x"]`)); err == nil {
		t.Error("AppendFloats of strings: no error")
	}
	if _, err := newNumAcc(false, 1).add(fromJSON(t, arrow.BinaryTypes.String, `["x"]`)); err == nil {
		t.Error("numeric accumulator took strings")
	}
	if _, err := (&boolAcc{}).add(fromJSON(t, arrow.BinaryTypes.String, `["x"]`)); err == nil {
		t.Error("bool accumulator took strings")
	}
	if _, err := newIntKeyAcc(date32Render, date32Coarse).add(fromJSON(t, arrow.BinaryTypes.String, `["x"]`)); err == nil {
		t.Error("temporal accumulator took strings")
	}
}

func TestValueRenderer(t *testing.T) {
	for _, tc := range []struct {
		dt   arrow.DataType
		js   string
		want []string
	}{
		{arrow.BinaryTypes.String, `["a", "é"]`, []string{"a", "é"}},
		{arrow.BinaryTypes.LargeString, `["a", "b"]`, []string{"a", "b"}},
		{arrow.FixedWidthTypes.Boolean, `[true, false]`, []string{"True", "False"}},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, `["2024-01-02T03:04:05.25Z", "2024-01-02T03:04:05Z"]`, []string{"2024-01-02T03:04:05.25Z", "2024-01-02T03:04:05Z"}},
		{arrow.FixedWidthTypes.Date32, `["2023-05-06", "1970-01-01"]`, []string{"2023-05-06", "1970-01-01"}},
		{arrow.PrimitiveTypes.Int64, `[7, -1]`, []string{"7", "-1"}},
	} {
		arr := fromJSON(t, tc.dt, tc.js)
		render := ValueRenderer(tc.dt)
		var got []string
		for i := 0; i < arr.Len(); i++ {
			got = append(got, render(arr, i))
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.dt, diff)
		}
	}
}

// Timestamps, dates and large strings are counted per worker, merged, and
// sketched like strings.
func TestTemporalAndLargeStrings(t *testing.T) {
	ts := &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	for _, tc := range []struct {
		dt     arrow.DataType
		a, b   string
		top    string
		unique int64
	}{
		{ts, `["2024-01-01T00:00:00Z", null, "2024-01-01T00:00:00Z"]`, `["2024-01-01T00:00:00Z", "2025-01-01T00:00:00.5Z"]`, "2024-01-01T00:00:00Z", 2},
		{arrow.FixedWidthTypes.Date32, `["2024-01-01", null]`, `["2024-01-01", "2024-01-02"]`, "2024-01-01", 2},
		{arrow.BinaryTypes.LargeString, `["x", null]`, `["x", "y"]`, "x", 2},
		{arrow.BinaryTypes.Binary, `["eA==", null]`, `["eA==", "eQ=="]`, "eA==", 2}, // base64 of x, y
	} {
		for _, mem := range []int64{0, 1} {
			p := compute(t, Options{Workers: 2, MaxMemory: mem}, oneColumn(t, fromJSON(t, tc.dt, tc.a), fromJSON(t, tc.dt, tc.b))...)
			d, _ := p.Distributions.Get("v")
			c := p.Schema.Columns[0]
			if len(d) == 0 || d[0].Key != tc.top || c.UniqueCount != tc.unique || c.NullCount != 1 {
				t.Errorf("%s (max memory %d): top %v, column %+v", tc.dt, mem, d, c)
			}
			if (mem > 0) != (len(p.Approximate) == 1) {
				t.Errorf("%s (max memory %d): approximate = %v", tc.dt, mem, p.Approximate)
			}
		}
	}
}

func TestNumpyHelpers(t *testing.T) {
	if !math.IsNaN(Percentile(nil, 0.5)) || !math.IsNaN(PercentileInt(nil, 0.5)) {
		t.Error("percentile of nothing is not NaN")
	}
	if Percentile([]float64{1, 2}, 1.5) != 2 || Percentile([]float64{1, 2}, -1) != 1 {
		t.Error("out-of-range quantiles are not clamped")
	}
	// Integers interpolate as numpy does: 10 + (20−10)·0.25.
	if got := PercentileInt([]int64{10, 20}, 0.25); got != 12.5 {
		t.Errorf("PercentileInt = %v", got)
	}
	if got := PercentileInt([]int64{10, 20}, 0.75); got != 17.5 {
		t.Errorf("PercentileInt = %v", got)
	}
	if Linspace(0, 1, 0) != nil || !cmp.Equal(Linspace(3, 9, 1), []float64{3}) || !cmp.Equal(Linspace(2, 2, 3), []float64{2, 2, 2}) {
		t.Error("Linspace edge cases")
	}
	if HistogramCounts([]float64{1}, []float64{0}) != nil {
		t.Error("one edge makes no bins")
	}
	var s Sum
	for _, x := range []float64{1e16, 1, -1e16, 1} {
		s.Add(x)
	}
	if s.Value() != 2 {
		t.Errorf("compensated sum = %v, want 2", s.Value())
	}
	if sketch.Quantile(nil, 0, 0.5) == sketch.Quantile(nil, 0, 0.5) {
		t.Error("quantile of an empty sketch is not NaN")
	}
}

func TestLoadReadError(t *testing.T) {
	if _, err := Load(errReader{}); err == nil || !strings.Contains(err.Error(), "reading profile") {
		t.Errorf("err = %v", err)
	}
	if _, err := Compute(context.Background(), schemaOf(ints("x")), Records(), Options{MaxMemory: -1}); err != nil {
		t.Errorf("negative MaxMemory means unlimited: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errTest }

var errTest = &testError{}

type testError struct{}

func (*testError) Error() string { return "broken reader" }
