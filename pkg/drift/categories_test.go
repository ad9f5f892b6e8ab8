package drift_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/profile"
	"github.com/mldata-io/mldata/pkg/profile/profiletest"
)

// batches builds one column cut into batches of at most size rows, so that
// several scan workers share it.
func batches(t testing.TB, name string, dt arrow.DataType, vals []any, size int) drift.Input {
	t.Helper()
	var recs []arrow.RecordBatch
	for start := 0; start < len(vals); start += size {
		rec, err := profiletest.Batch(profiletest.Col{Name: name, Type: dt, Values: vals[start:min(start+size, len(vals))]})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	t.Cleanup(func() { profiletest.Release(recs) })
	return drift.Input{Name: name, Schema: recs[0].Schema(), Scan: profile.Records(recs...)}
}

func distinct(n int, prefix string) []any {
	return seq(n, func(i int) any { return fmt.Sprint(prefix, i) })
}

func TestMaxCategories(t *testing.T) {
	few := distinct(50, "v")
	many := distinct(101, "v")
	str := arrow.BinaryTypes.String
	reason := func(side string) string {
		return "more than 100 distinct values in " + side + ": categorical drift of identifier-like columns is not meaningful; raise max-categories to compute it"
	}
	for _, tc := range []struct {
		name      string
		base, cur []any
		limit     int
		skip      string
	}{
		{"baseline over the limit", many, few, 100, reason("baseline")},
		{"current over the limit", few, many, 100, reason("current")},
		{"at the limit", distinct(100, "v"), distinct(100, "w"), 100, ""},
		{"no limit", many, many, -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, workers := range []int{1, 3} {
				r := compare(t, batches(t, "s", str, tc.base, 7), batches(t, "s", str, tc.cur, 7),
					drift.Options{MaxCategories: tc.limit, Workers: workers})
				if tc.skip == "" {
					if s, ok := r.CategoricalDrift.Get("s"); !ok || len(r.Skipped) != 0 || s.NumCategories == 0 {
						t.Errorf("workers %d: skipped %v", workers, r.Skipped)
					}
					continue
				}
				if diff := gocmp.Diff([]drift.Skipped{{Column: "s", Reason: tc.skip}}, r.Skipped); diff != "" || len(r.CategoricalDrift) != 0 {
					t.Errorf("workers %d: skipped (-want +got):\n%s", workers, diff)
				}
			}
		})
	}
	// Identifiers in batches far longer than the limit: counting stops
	// within a batch, and the report is the one of short batches.
	ids, codes := distinct(6_000, "id"), seq(6_000, func(i int) any { return fmt.Sprint("c", i%90) })
	for _, workers := range []int{1, 2, 4} {
		for _, size := range []int{7, 6_000} {
			r := compare(t, batches(t, "s", str, ids, size), batches(t, "s", str, codes, size), drift.Options{MaxCategories: 100, Workers: workers})
			if diff := gocmp.Diff([]drift.Skipped{{Column: "s", Reason: reason("baseline")}}, r.Skipped); diff != "" {
				t.Errorf("workers %d, batches of %d: skipped (-want +got):\n%s", workers, size, diff)
			}
			r = compare(t, batches(t, "s", str, codes, size), batches(t, "s", str, codes, size), drift.Options{MaxCategories: 100, Workers: workers})
			if s, ok := r.CategoricalDrift.Get("s"); !ok || s.NumCategories != 90 || s.BaselineTotal != 6_000 || s.BaselineCounts[0] != 67 {
				t.Errorf("workers %d, batches of %d: 90 codes not counted whole: %+v %v", workers, size, s, r.Skipped)
			}
		}
	}

	// The default limit is stated in the report; numeric columns have none.
	r := compare(t, batches(t, "s", str, many, 50), batches(t, "s", str, many, 50), drift.Options{})
	out, _ := json.Marshal(r.Conventions)
	if !strings.Contains(string(out), fmt.Sprintf(`"max_categories":%d`, drift.DefaultMaxCategories)) || len(r.Skipped) != 0 {
		t.Errorf("conventions %s, skipped %v", out, r.Skipped)
	}
	r = compare(t, batches(t, "s", str, many, 50), batches(t, "s", str, many, 50), drift.Options{MaxCategories: -1})
	if out, _ := json.Marshal(r.Conventions); strings.Contains(string(out), "max_categories") {
		t.Errorf("no limit, yet conventions say %s", out)
	}
	nums := seq(500, func(i int) any { return float64(i) })
	if r := compare(t, batches(t, "x", arrow.PrimitiveTypes.Float64, nums, 64), batches(t, "x", arrow.PrimitiveTypes.Float64, nums, 64), drift.Options{MaxCategories: 10}); len(r.NumericDrift) != 1 {
		t.Errorf("numeric column skipped by the category limit: %v", r.Skipped)
	}

	// A stored profile's unique_count counts for its side.
	rec, err := profiletest.Batch(strs("s", many...))
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Compute(context.Background(), rec.Schema(), profile.Records(rec), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r = compare(t, drift.Input{Name: "p.json", Profile: p}, batches(t, "s", str, few, 10), drift.Options{MaxCategories: 100})
	if diff := gocmp.Diff([]drift.Skipped{{Column: "s", Reason: reason("baseline")}}, r.Skipped); diff != "" {
		t.Errorf("profile baseline: skipped (-want +got):\n%s", diff)
	}
}

// refCategorical is the categorical comparison as defined, computed the
// straightforward way: every category of the union as a row, rows sorted by
// value, each metric summed over the rows in that order.
func refCategorical(base, cur map[string]int64) (psi, js, chi2, p float64, top []string) {
	keys := map[string]bool{}
	for k := range base {
		keys[k] = true
	}
	for k := range cur {
		keys[k] = true
	}
	vals := make([]string, 0, len(keys))
	for k := range keys {
		vals = append(vals, k)
	}
	slices.Sort(vals)
	bc, cc := make([]int64, len(vals)), make([]int64, len(vals))
	for i, v := range vals {
		bc[i], cc[i] = base[v], cur[v]
	}
	chi2, p = drift.ChiSquare(bc, cc)
	order := slices.Clone(vals)
	slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(base[b]+cur[b], base[a]+cur[a]) })
	return drift.PSI(bc, cc, drift.DefaultEpsilon), drift.JSDistance(bc, cc), chi2, p, order[:min(len(order), drift.MaxListedCategories)]
}

// Summing equal terms per pair of counts, in the order of the pairs, gives
// the value-ordered sums to within 1e-12 (relative), on tables from a
// handful of categories to thousands, with many ties.
func TestCategoricalSumsAgreeWithSortedRows(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	rel := func(a, b float64) float64 {
		if a == b {
			return 0
		}
		return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b))
	}
	for trial := range 40 {
		k := 2 + r.IntN(1+trial*trial*5)
		var bv, cv []any
		base, cur := map[string]int64{}, map[string]int64{}
		for range 5 * k {
			v := fmt.Sprintf("c%d", int(r.ExpFloat64()*float64(k)/3)%k)
			bv = append(bv, v)
			base[v]++
			w := fmt.Sprintf("c%d", int(r.ExpFloat64()*float64(k)/2)%(k+k/3+1))
			cv = append(cv, w)
			cur[w]++
		}
		rep := compare(t, batches(t, "s", arrow.BinaryTypes.String, bv, 97), batches(t, "s", arrow.BinaryTypes.String, cv, 89), drift.Options{Workers: 3})
		got, _ := rep.CategoricalDrift.Get("s")
		psi, js, chi2, p, top := refCategorical(base, cur)
		for _, m := range []struct {
			name      string
			got, want float64
		}{{"psi", got.PSI, psi}, {"js", got.JSDistance, js}, {"chi2", got.Chi2, chi2}, {"chi2 p", got.Chi2PValue, p}} {
			if d := rel(m.got, m.want); d > 1e-12 {
				t.Errorf("trial %d (%d categories): %s = %.17g, row by row %.17g (rel %.2g)", trial, k, m.name, m.got, m.want, d)
			}
		}
		if diff := gocmp.Diff(top, got.Categories); diff != "" {
			t.Errorf("trial %d: listed categories (-sorted rows +got):\n%s", trial, diff)
		}
		for i, c := range got.Categories {
			if got.BaselineCounts[i] != base[c] || got.CurrentCounts[i] != cur[c] {
				t.Errorf("trial %d: %s counts %d, %d; want %d, %d", trial, c, got.BaselineCounts[i], got.CurrentCounts[i], base[c], cur[c])
			}
		}
	}
}

// Integer columns whose range is narrow for their size are counted per
// value instead of sorted; every number must be what the sorted float path
// gives for the same values.
func TestDenseIntegersMatchSortedFloats(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	gen := func(n, lo, span int, nulls bool) (ints, floats []any) {
		for range n {
			if nulls && r.IntN(10) == 0 {
				ints, floats = append(ints, nil), append(floats, nil)
				continue
			}
			v := lo + int(float64(span)*r.Float64()*r.Float64())
			ints, floats = append(ints, v), append(floats, float64(v))
		}
		return ints, floats
	}
	i64, f64 := arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64
	for _, tc := range []struct {
		name                 string
		bLo, bSpan, cLo, cSp int
	}{
		{"same range", 0, 500, 0, 500},
		{"shifted", -100, 300, 50, 400},
		{"constant baseline", 7, 0, 0, 20},
		{"sparse: sorted path", 0, 1 << 40, 0, 1 << 40},
		{"dense baseline, sparse current", 0, 500, 0, 1 << 40},
		{"far apart: the gap is skipped", 0, 300, 1 << 50, 300},
	} {
		bi, bf := gen(3000, tc.bLo, tc.bSpan, true)
		ci, cf := gen(2000, tc.cLo, tc.cSp, false)
		for _, binning := range []drift.Binning{drift.Uniform, drift.Quantile} {
			opt := drift.Options{Binning: binning, Workers: 2}
			want := compare(t, batches(t, "x", f64, bf, 256), batches(t, "x", f64, cf, 256), opt)
			got := compare(t, batches(t, "x", i64, bi, 256), batches(t, "x", i64, ci, 256), opt)
			if diff := gocmp.Diff(want.NumericDrift, got.NumericDrift); diff != "" {
				t.Errorf("%s, %s binning (-floats +ints):\n%s", tc.name, binning, diff)
			}
			mixed := compare(t, batches(t, "x", i64, bi, 256), batches(t, "x", f64, cf, 256), opt)
			if diff := gocmp.Diff(want.NumericDrift, mixed.NumericDrift); diff != "" {
				t.Errorf("%s, %s binning, int baseline vs float current (-floats +mixed):\n%s", tc.name, binning, diff)
			}
		}
	}
}

// Against a stored profile, current values are binned without sorting; an
// integer column bins as its float64 values would.
func TestPinnedBinsIntegers(t *testing.T) {
	fvals := seq(400, func(i int) any { return float64(i % 37) })
	rec, err := profiletest.Batch(num("x", fvals...))
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Compute(context.Background(), rec.Schema(), profile.Records(rec), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cur := seq(300, func(i int) any { return i%50 - 5 })
	fcur := seq(300, func(i int) any { return float64(i%50 - 5) })
	a := compare(t, drift.Input{Profile: p}, batches(t, "x", arrow.PrimitiveTypes.Int64, cur, 64), drift.Options{})
	b := compare(t, drift.Input{Profile: p}, batches(t, "x", arrow.PrimitiveTypes.Float64, fcur, 64), drift.Options{})
	if diff := gocmp.Diff(b.NumericDrift, a.NumericDrift); diff != "" {
		t.Errorf("(-floats +ints):\n%s", diff)
	}
	x, _ := a.NumericDrift.Get("x")
	// Interior edges 3.6, 7.2, … 32.4 over the baseline 0…36; current
	// values −5…44, six of each: −5…3 fall below 3.6, 33…44 from 32.4 on.
	var n int64
	for _, c := range x.CurrentCounts {
		n += c
	}
	if n != 300 || x.CurrentCounts[0] != 9*6 || x.CurrentCounts[9] != 12*6 {
		t.Errorf("current counts %v", x.CurrentCounts)
	}
}

func fromJSON(t *testing.T, dt arrow.DataType, js string) arrow.Array {
	t.Helper()
	arr, _, err := array.FromJSON(memory.DefaultAllocator, dt, strings.NewReader(js))
	if err != nil {
		t.Fatalf("%s %s: %v", dt, js, err)
	}
	return arr
}

func oneColumn(t *testing.T, arrs ...arrow.Array) drift.Input {
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrs[0].DataType(), Nullable: true}}, nil)
	var recs []arrow.RecordBatch
	for _, a := range arrs {
		recs = append(recs, array.NewRecordBatch(schema, []arrow.Array{a}, int64(a.Len())))
	}
	return drift.Input{Name: "v", Schema: schema, Scan: profile.Records(recs...)}
}

// Every integer type compares as its float64 values do, every text-like
// type as its rendered values do, whichever way each is held.
func TestColumnTypes(t *testing.T) {
	const a, b = "[1, 2, null, 4, 4, 9]", "[2, 3, 3, null, 8]"
	want := compare(t, oneColumn(t, fromJSON(t, arrow.PrimitiveTypes.Float64, a)), oneColumn(t, fromJSON(t, arrow.PrimitiveTypes.Float64, b)), drift.Options{})
	for _, dt := range []arrow.DataType{
		arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
		arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Uint64,
	} {
		got := compare(t, oneColumn(t, fromJSON(t, dt, a)), oneColumn(t, fromJSON(t, dt, b)), drift.Options{})
		if diff := gocmp.Diff(want.NumericDrift, got.NumericDrift); diff != "" {
			t.Errorf("%s (-float64 +got):\n%s", dt, diff)
		}
	}
	// Against a stored profile, integers spread too far to count per value
	// are binned one by one.
	wide := "[1, 1000000000000, 5, null, 7]"
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil),
		[]arrow.Array{fromJSON(t, arrow.PrimitiveTypes.Float64, "[0, 10, 20]")}, 3)
	p, err := profile.Compute(context.Background(), rec.Schema(), profile.Records(rec), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pi := compare(t, drift.Input{Profile: p}, oneColumn(t, fromJSON(t, arrow.PrimitiveTypes.Int64, wide)), drift.Options{})
	pf := compare(t, drift.Input{Profile: p}, oneColumn(t, fromJSON(t, arrow.PrimitiveTypes.Float64, wide)), drift.Options{})
	if diff := gocmp.Diff(pf.NumericDrift, pi.NumericDrift); diff != "" || len(pi.NumericDrift) != 1 {
		t.Errorf("pinned, wide integers (-floats +ints):\n%s", diff)
	}

	s := `["x", "y", null, "x", "z"]`
	wantS := compare(t, oneColumn(t, fromJSON(t, arrow.BinaryTypes.String, s)), oneColumn(t, fromJSON(t, arrow.BinaryTypes.String, `["x", "w"]`)), drift.Options{})
	gotS := compare(t, oneColumn(t, fromJSON(t, arrow.BinaryTypes.LargeString, s)), oneColumn(t, fromJSON(t, arrow.BinaryTypes.LargeString, `["x", "w"]`)), drift.Options{})
	if diff := gocmp.Diff(wantS.CategoricalDrift, gotS.CategoricalDrift); diff != "" {
		t.Errorf("large strings (-strings +got):\n%s", diff)
	}
	ts := &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}
	r := compare(t, oneColumn(t, fromJSON(t, ts, `["2024-01-01T00:00:00Z", null, "2024-01-01T00:00:00Z"]`)),
		oneColumn(t, fromJSON(t, ts, `["2024-01-02T00:00:00Z"]`)), drift.Options{})
	c, _ := r.CategoricalDrift.Get("v")
	if c == nil || !slices.Equal(c.Categories, []string{"2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"}) || c.JSDistance != 1 {
		t.Errorf("timestamps = %+v", c)
	}

	// A batch whose column is not of the schema's type is an error.
	bad := drift.Input{Schema: arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil),
		Scan: oneColumn(t, fromJSON(t, arrow.PrimitiveTypes.Float64, a)).Scan}
	if _, err := drift.Compare(context.Background(), bad, bad, drift.Options{}); err == nil || !strings.Contains(err.Error(), "not an integer type") {
		t.Errorf("mismatched batch: %v", err)
	}
}
