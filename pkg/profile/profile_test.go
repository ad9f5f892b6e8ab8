package profile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/google/go-cmp/cmp"
)

var (
	inf  = math.Inf(1)
	nan  = math.NaN()
	t0   = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	t0h  = t0.Add(500 * time.Millisecond)
	cmpF = cmp.Comparer(func(a, b Float) bool { return relClose(float64(a), float64(b), 1e-12) })
)

// mixed is a batch with every kind of column and the awkward values:
// nulls, NaN (a null), ±Inf, ties in top values, an all-null column.
func mixed(t testing.TB) arrow.RecordBatch {
	return batch(t,
		ints("x", 1, 2, 3, 4, nil),
		fl("f", 0.5, nan, inf, -1.5, nil),
		strs("s", "b", "a", "b", nil, "c"),
		bools("b", true, false, true, nil, true),
		fl("n", nil, nil, nil, nil, nil),
		stamps("ts", t0, t0, t0h, nil, nil),
	)
}

func TestComputeKnownValues(t *testing.T) {
	p := compute(t, Options{Workers: 1}, mixed(t))

	wantCols := []Column{
		{Name: "x", DType: "int64", Nullable: true, UniqueCount: 4, NullCount: 1},
		{Name: "f", DType: "float64", Nullable: true, UniqueCount: 3, NullCount: 2},
		{Name: "s", DType: "object", Nullable: true, UniqueCount: 3, NullCount: 1},
		{Name: "b", DType: "bool", Nullable: true, UniqueCount: 2, NullCount: 1},
		{Name: "n", DType: "float64", Nullable: true, UniqueCount: 0, NullCount: 5},
		{Name: "ts", DType: "datetime64[ns, UTC]", Nullable: true, UniqueCount: 2, NullCount: 2},
	}
	if diff := cmp.Diff(wantCols, p.Schema.Columns); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	if p.NumRows != 5 || p.NumColumns != 6 {
		t.Errorf("num_rows, num_columns = %d, %d; want 5, 6", p.NumRows, p.NumColumns)
	}

	// x = 1,2,3,4: mean 2.5, std = √(5/3), numpy quartiles at h = 0.75, 1.5, 2.25.
	// f = 0.5, +Inf, −1.5 (NaN is null): the quartiles follow numpy's lerp,
	// where Inf·0 and Inf−Inf give NaN.
	wantStats := Object[*Statistics]{
		{"x", &Statistics{Count: 4, Mean: F(2.5), Std: F(math.Sqrt(5.0 / 3)), Min: F(1), Max: F(4),
			Percentiles: Percentiles{F(1.75), F(2.5), F(3.25)}}},
		{"f", &Statistics{Count: 3, Mean: F(inf), Std: F(nan), Min: F(-1.5), Max: F(inf),
			Percentiles: Percentiles{F(-0.5), F(nan), F(nan)}}},
		{"n", &Statistics{Count: 0}},
	}
	if diff := cmp.Diff(wantStats, p.Statistics, cmpF); diff != "" {
		t.Errorf("statistics (-want +got):\n%s", diff)
	}

	wantDist := Object[Object[int64]]{
		{"s", Object[int64]{{"b", 2}, {"a", 1}, {"c", 1}}},
		{"b", Object[int64]{{"True", 3}, {"False", 1}}},
		{"ts", Object[int64]{{"2024-01-02T03:04:05Z", 2}, {"2024-01-02T03:04:05.5Z", 1}}},
	}
	if diff := cmp.Diff(wantDist, p.Distributions); diff != "" {
		t.Errorf("distributions (-want +got):\n%s", diff)
	}

	// x spans [1, 4]: step 0.3, and 2 lands in [1.9, 2.2), 3 in [2.8, 3.1).
	hx, _ := p.Histograms.Get("x")
	if diff := cmp.Diff([]int64{1, 0, 0, 1, 0, 0, 1, 0, 0, 1}, hx.Counts); diff != "" {
		t.Errorf("x histogram counts (-want +got):\n%s", diff)
	}
	wantEdges := []Float{1, 1.3, 1.6, 1.9, 2.2, 2.5, 2.8, 3.1, 3.4, 3.7, 4}
	if diff := cmp.Diff(wantEdges, hx.Edges, cmpF); diff != "" {
		t.Errorf("x histogram edges (-want +got):\n%s", diff)
	}
	// f's histogram covers the finite values only, and says so.
	hf, _ := p.Histograms.Get("f")
	if diff := cmp.Diff([]int64{1, 0, 0, 0, 0, 0, 0, 0, 0, 1}, hf.Counts); diff != "" {
		t.Errorf("f histogram counts (-want +got):\n%s", diff)
	}
	if hn, ok := p.Histograms.Get("n"); !ok || hn != nil {
		t.Errorf("all-null histogram = %v, %v; want present and nil", hn, ok)
	}
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], `"f": 1 infinite`) {
		t.Errorf("notes = %q; want one about f's infinite value", p.Notes)
	}
	if len(p.Approximate) != 0 {
		t.Errorf("exact profile has approximate entries: %v", p.Approximate)
	}
}

func TestComputeJSON(t *testing.T) {
	p := compute(t, Options{Workers: 1}, batch(t,
		ints("x", 1, 1, 3, 3),
		strs("s", "b", nil, "a", "b"),
	))
	p.Path, p.FileSize = "file:///data/x.csv", 123
	got, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	// 1,1,3,3: mean 2, std √(4/3); numpy gives these edges (note 2.4000000000000004).
	want := `{"path":"file:///data/x.csv","num_rows":4,"num_columns":2,"file_size":123,` +
		`"schema":{"columns":[{"name":"x","dtype":"int64","nullable":false,"unique_count":2,"null_count":0},` +
		`{"name":"s","dtype":"object","nullable":true,"unique_count":2,"null_count":1}]},` +
		`"statistics":{"x":{"count":4,"mean":2,"std":1.1547005383792515,"min":1,"max":3,` +
		`"percentiles":{"25":1,"50":2,"75":3}}},` +
		`"distributions":{"s":{"b":2,"a":1}},` +
		`"histograms":{"x":{"edges":[1,1.2,1.4,1.6,1.8,2,2.2,2.4000000000000004,2.6,2.8,3],"counts":[2,0,0,0,0,0,0,0,0,2]}}}`
	if string(got) != want {
		t.Errorf("JSON:\n got %s\nwant %s", got, want)
	}
	back, err := Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, back, cmpF); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestNonFiniteJSON(t *testing.T) {
	in := []Float{Float(nan), Float(inf), Float(-inf), 0.1, -2}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `["NaN","Infinity","-Infinity",0.1,-2]` {
		t.Errorf("got %s", b)
	}
	var out []Float
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out, cmpF); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`"nope"`, `{}`, `1e999`} {
		var f Float
		if err := json.Unmarshal([]byte(bad), &f); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", bad, f)
		}
	}
}

func TestEdgeCases(t *testing.T) {
	t.Run("single row", func(t *testing.T) {
		p := compute(t, Options{}, batch(t, fl("v", 7.5), strs("s", "x")))
		st, _ := p.Statistics.Get("v")
		want := &Statistics{Count: 1, Mean: F(7.5), Min: F(7.5), Max: F(7.5), Percentiles: Percentiles{F(7.5), F(7.5), F(7.5)}}
		if diff := cmp.Diff(want, st, cmpF); diff != "" {
			t.Errorf("stats (-want +got):\n%s", diff)
		}
		h, _ := p.Histograms.Get("v")
		// numpy widens a zero range to [v−0.5, v+0.5]; 7.5 lands in bin 5.
		if h.Edges[0] != 7 || h.Edges[10] != 8 || h.Counts[5] != 1 {
			t.Errorf("histogram = %+v", h)
		}
	})
	t.Run("constant", func(t *testing.T) {
		p := compute(t, Options{}, batch(t, ints("v", 3, 3, 3, 3)))
		st, _ := p.Statistics.Get("v")
		if *st.Std != 0 || *st.Mean != 3 || p.Schema.Columns[0].UniqueCount != 1 {
			t.Errorf("stats = %+v", st)
		}
	})
	t.Run("empty dataset", func(t *testing.T) {
		s := schemaOf(ints("v"), strs("s"))
		p, err := Compute(context.Background(), s, Records(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(p)
		want := `{"path":"","num_rows":0,"num_columns":2,"file_size":0,"schema":{"columns":[` +
			`{"name":"v","dtype":"int64","nullable":false,"unique_count":0,"null_count":0},` +
			`{"name":"s","dtype":"object","nullable":false,"unique_count":0,"null_count":0}]},` +
			`"statistics":{"v":{"count":0,"mean":null,"std":null,"min":null,"max":null,"percentiles":{"25":null,"50":null,"75":null}}},` +
			`"distributions":{"s":{}},"histograms":{"v":null}}`
		if string(b) != want {
			t.Errorf("JSON:\n got %s\nwant %s", b, want)
		}
	})
	t.Run("no columns", func(t *testing.T) {
		p, err := Compute(context.Background(), arrow.NewSchema(nil, nil), Records(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(p)
		if _, err := Parse(b); err != nil {
			t.Errorf("a profile without columns does not load back: %v", err)
		}
	})
	t.Run("negative zero is zero", func(t *testing.T) {
		p := compute(t, Options{}, batch(t, fl("v", 0.0, math.Copysign(0, -1), 1.0)))
		if u := p.Schema.Columns[0].UniqueCount; u != 2 {
			t.Errorf("unique_count = %d, want 2", u)
		}
	})
}

// Values near 1e9 with a spread of a few units in the last digits lose
// everything in a naive Σx² − (Σx)²/n; the result must equal the std of the
// offsets alone.
func TestLargeOffsetPrecision(t *testing.T) {
	const base = 1e9
	offsets := []float64{0.25, 0.5, 0.75, 1, 0.125}
	var recs []arrow.RecordBatch
	var all []float64
	for b := 0; b < 40; b++ {
		vals := make([]any, 0, 250)
		for i := 0; i < 250; i++ {
			v := base + offsets[(b*7+i)%len(offsets)]
			vals = append(vals, v)
			all = append(all, v-base)
		}
		recs = append(recs, batch(t, fl("v", vals...)))
	}
	var mean float64
	for _, x := range all {
		mean += x
	}
	mean /= float64(len(all))
	var ss float64
	for _, x := range all {
		ss += (x - mean) * (x - mean)
	}
	wantStd := math.Sqrt(ss / float64(len(all)-1))
	for _, w := range []int{1, 3} {
		p := compute(t, Options{Workers: w}, recs...)
		st, _ := p.Statistics.Get("v")
		if !relClose(fv(st.Std), wantStd, 1e-9) {
			t.Errorf("workers=%d: std = %.17g, want %.17g", w, fv(st.Std), wantStd)
		}
		if !relClose(fv(st.Mean), base+mean, 1e-15) {
			t.Errorf("workers=%d: mean = %.17g, want %.17g", w, fv(st.Mean), base+mean)
		}
	}
}

// Splitting the data across batches and workers must not change an exact
// profile.
func TestWorkersAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var recs []arrow.RecordBatch
	var one []any
	var oneS []any
	var oneI []any
	for b := 0; b < 30; b++ {
		n := 1 + rng.IntN(200)
		var vs, ss, is []any
		for i := 0; i < n; i++ {
			var v, s, iv any
			if rng.IntN(10) > 0 {
				v = rng.NormFloat64()*100 + 5
			}
			if rng.IntN(10) > 0 {
				s = fmt.Sprintf("k%d", rng.IntN(30))
			}
			if rng.IntN(10) > 0 {
				iv = rng.IntN(1000) - 500
			}
			vs, ss, is = append(vs, v), append(ss, s), append(is, iv)
		}
		one, oneS, oneI = append(one, vs...), append(oneS, ss...), append(oneI, is...)
		recs = append(recs, batch(t, fl("v", vs...), strs("s", ss...), ints("i", is...)))
	}
	want := compute(t, Options{Workers: 1}, batch(t, fl("v", one...), strs("s", oneS...), ints("i", oneI...)))
	for _, w := range []int{1, 2, 5} {
		got := compute(t, Options{Workers: w}, recs...)
		if diff := cmp.Diff(want, got, cmpF); diff != "" {
			t.Errorf("workers=%d (-single +split):\n%s", w, diff)
		}
	}
}

func TestManyDistinctCategories(t *testing.T) {
	const n = 100_000
	vals := make([]any, n)
	for i := range vals {
		vals[i] = fmt.Sprintf("c%06d", n-1-i)
	}
	p := compute(t, Options{Workers: 2}, batch(t, strs("s", vals...)))
	if u := p.Schema.Columns[0].UniqueCount; u != n {
		t.Errorf("unique_count = %d, want %d", u, n)
	}
	d, _ := p.Distributions.Get("s")
	if len(d) != 20 || d[0].Key != "c000000" || d[19].Key != "c000019" || d[0].Value != 1 {
		t.Errorf("top values = %v; want c000000 … c000019 with count 1", d)
	}
}

func TestOtherTypes(t *testing.T) {
	day := time.Date(2023, 5, 6, 0, 0, 0, 0, time.UTC)
	p := compute(t, Options{}, batch(t,
		col{"i32", arrow.PrimitiveTypes.Int32, []any{1, 2, nil}},
		col{"f32", arrow.PrimitiveTypes.Float32, []any{0.5, nil, 1.5}},
		col{"u64", arrow.PrimitiveTypes.Uint64, []any{10, 20, 30}},
		col{"d", arrow.FixedWidthTypes.Date32, []any{day, day, nil}},
		col{"naive", &arrow.TimestampType{Unit: arrow.Second}, []any{day, nil, nil}},
	))
	wantDT := []string{"int32", "float32", "uint64", "object", "datetime64[ns]"}
	for i, c := range p.Schema.Columns {
		if c.DType != wantDT[i] {
			t.Errorf("%s dtype = %q, want %q", c.Name, c.DType, wantDT[i])
		}
	}
	st, _ := p.Statistics.Get("u64")
	if fv(st.Mean) != 20 || fv(st.Std) != 10 {
		t.Errorf("u64 stats = %+v", st)
	}
	st, _ = p.Statistics.Get("f32")
	if fv(st.Mean) != 1 {
		t.Errorf("f32 mean = %v", fv(st.Mean))
	}
	d, _ := p.Distributions.Get("d")
	if diff := cmp.Diff(Object[int64]{{"2023-05-06", 2}}, d); diff != "" {
		t.Errorf("date distribution (-want +got):\n%s", diff)
	}
	d, _ = p.Distributions.Get("naive")
	if diff := cmp.Diff(Object[int64]{{"2023-05-06T00:00:00Z", 1}}, d); diff != "" {
		t.Errorf("timestamp distribution (-want +got):\n%s", diff)
	}
}

func TestDType(t *testing.T) {
	for _, tc := range []struct {
		dt   arrow.DataType
		want string
		kind Kind
	}{
		{arrow.PrimitiveTypes.Int64, "int64", Numeric},
		{arrow.PrimitiveTypes.Uint8, "uint8", Numeric},
		{arrow.PrimitiveTypes.Float64, "float64", Numeric},
		{arrow.FixedWidthTypes.Float16, "float16", Numeric},
		{arrow.FixedWidthTypes.Boolean, "bool", Bool},
		{arrow.BinaryTypes.String, "object", Categorical},
		{arrow.BinaryTypes.LargeString, "object", Categorical},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, "datetime64[ns, UTC]", Categorical},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Etc/UTC"}, "datetime64[ns, UTC]", Categorical},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/Paris"}, "datetime64[ns, Europe/Paris]", Categorical},
		{&arrow.TimestampType{Unit: arrow.Nanosecond}, "datetime64[ns]", Categorical},
		{arrow.FixedWidthTypes.Date32, "object", Categorical},
		{arrow.Null, "object", Categorical},
	} {
		if got := DType(tc.dt); got != tc.want {
			t.Errorf("DType(%s) = %q, want %q", tc.dt, got, tc.want)
		}
		if got := KindOf(tc.dt); got != tc.kind {
			t.Errorf("KindOf(%s) = %v, want %v", tc.dt, got, tc.kind)
		}
	}
}

func TestComputeErrors(t *testing.T) {
	rec := batch(t, ints("x", 1, 2))
	ctx := context.Background()
	if _, err := Compute(ctx, nil, Records(rec), Options{}); err == nil {
		t.Error("nil schema: no error")
	}
	if _, err := Compute(ctx, schemaOf(ints("x"), ints("y")), Records(rec), Options{}); err == nil || !strings.Contains(err.Error(), "1 columns, schema has 2") {
		t.Errorf("column count mismatch: err = %v", err)
	}
	if _, err := Compute(ctx, schemaOf(fl("x")), Records(rec), Options{}); err == nil || !strings.Contains(err.Error(), `column "x" is int64`) {
		t.Errorf("type mismatch: err = %v", err)
	}
	badScan := func(ctx context.Context, workers int, fn func(int, arrow.RecordBatch) error) error {
		return fn(workers, rec)
	}
	if _, err := Compute(ctx, rec.Schema(), badScan, Options{Workers: 2}); err == nil {
		t.Error("worker out of range: no error")
	}
	boom := errors.New("boom")
	failing := func(ctx context.Context, workers int, fn func(int, arrow.RecordBatch) error) error { return boom }
	if _, err := Compute(ctx, rec.Schema(), failing, Options{}); !errors.Is(err, boom) {
		t.Errorf("scan error = %v, want boom", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Compute(cctx, rec.Schema(), Records(rec, rec), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

func TestRecordsStopsOnError(t *testing.T) {
	rec := batch(t, ints("x", 1))
	recs := make([]arrow.RecordBatch, 100)
	for i := range recs {
		recs[i] = rec
	}
	var calls int
	boom := errors.New("boom")
	err := Records(recs...)(context.Background(), 1, func(int, arrow.RecordBatch) error {
		calls++
		if calls == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls != 3 {
		t.Errorf("err = %v after %d calls; want boom after 3", err, calls)
	}
}
