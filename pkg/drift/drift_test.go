package drift_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/google/go-cmp/cmp"

	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/profile"
	"github.com/mldata-io/mldata/pkg/profile/profiletest"
)

var fixedNow = func() time.Time { return time.Date(2025, 6, 7, 8, 9, 10, 0, time.FixedZone("X", 3600)) }

func num(name string, vs ...any) profiletest.Col {
	return profiletest.Col{Name: name, Type: arrow.PrimitiveTypes.Float64, Values: vs}
}
func ints(name string, vs ...any) profiletest.Col {
	return profiletest.Col{Name: name, Type: arrow.PrimitiveTypes.Int64, Values: vs}
}
func strs(name string, vs ...any) profiletest.Col {
	return profiletest.Col{Name: name, Type: arrow.BinaryTypes.String, Values: vs}
}
func bools(name string, vs ...any) profiletest.Col {
	return profiletest.Col{Name: name, Type: arrow.FixedWidthTypes.Boolean, Values: vs}
}

func data(t testing.TB, name string, cols ...profiletest.Col) drift.Input {
	t.Helper()
	rec, err := profiletest.Batch(cols...)
	if err != nil {
		t.Fatal(err)
	}
	return drift.Input{Name: name, Schema: rec.Schema(), Scan: profile.Records(rec)}
}

func seq(n int, f func(i int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func compare(t *testing.T, b, c drift.Input, opt drift.Options) *drift.Report {
	t.Helper()
	if opt.Now == nil {
		opt.Now = fixedNow
	}
	r, err := drift.Compare(context.Background(), b, c, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestIdenticalDataHasNoDrift(t *testing.T) {
	cols := []profiletest.Col{
		num("x", seq(500, func(i int) any { return math.Sin(float64(i)) })...),
		strs("s", seq(500, func(i int) any { return fmt.Sprint("k", i%7) })...),
		bools("b", seq(500, func(i int) any { return i%3 == 0 })...),
	}
	r := compare(t, data(t, "a", cols...), data(t, "b", cols...), drift.Options{})
	if r.HasDrift || len(r.Skipped) != 0 {
		t.Fatalf("has_drift %v, skipped %v", r.HasDrift, r.Skipped)
	}
	x, _ := r.NumericDrift.Get("x")
	if x.PSI != 0 || x.KLDivergence != 0 || x.JSDistance != 0 || *x.KSStatistic != 0 || *x.KSPValue != 1 || x.Severity != "low" {
		t.Errorf("x = %+v", x)
	}
	for _, name := range []string{"s", "b"} {
		c, _ := r.CategoricalDrift.Get(name)
		if c.PSI != 0 || c.JSDistance != 0 || c.Chi2 != 0 || c.Chi2PValue != 1 {
			t.Errorf("%s = %+v", name, c)
		}
	}
	b, _ := r.CategoricalDrift.Get("b")
	if diff := cmp.Diff([]string{"False", "True"}, b.Categories); diff != "" {
		t.Errorf("bool categories (-want +got):\n%s", diff)
	}
	if r.Timestamp != "2025-06-07T07:09:10Z" {
		t.Errorf("timestamp = %s", r.Timestamp)
	}
}

func TestDisjointSupports(t *testing.T) {
	r := compare(t,
		data(t, "a", num("x", 1.0, 2.0, 3.0, 4.0), strs("s", "a", "a", "b", "b")),
		data(t, "b", num("x", 10.0, 11.0, 12.0, 13.0), strs("s", "c", "c", "d", "d")),
		drift.Options{})
	x, _ := r.NumericDrift.Get("x")
	// Baseline 1…4: edges 1.3 … 3.7; everything current is in the open last bin.
	if diff := cmp.Diff([]int64{1, 0, 0, 1, 0, 0, 1, 0, 0, 1}, x.BaselineCounts); diff != "" {
		t.Errorf("baseline counts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{0, 0, 0, 0, 0, 0, 0, 0, 0, 4}, x.CurrentCounts); diff != "" {
		t.Errorf("current counts (-want +got):\n%s", diff)
	}
	// Binned supports overlap in the open last bin, so JS < 1: with
	// p = (¼,0,0,¼,0,0,¼,0,0,¼), q = (0,…,0,1), m = (⅛,…,⅝):
	// JS² = ½[¾ln 2 + ¼ln(0.4) + ln(1.6)]/ln 2. The raw values are disjoint: D = 1.
	wantJS := math.Sqrt(0.5 * (0.75*math.Ln2 + 0.25*math.Log(0.4) + math.Log(1.6)) / math.Ln2)
	if !close(x.JSDistance, wantJS, 1e-13) || *x.KSStatistic != 1 || !x.DriftDetected || x.Severity != "high" {
		t.Errorf("x = %+v, want JS %v", x, wantJS)
	}
	s, _ := r.CategoricalDrift.Get("s")
	if s.JSDistance != 1 || s.NumCategories != 4 || !s.DriftDetected {
		t.Errorf("s = %+v", s)
	}
	// χ² of a 2×4 table with disjoint rows: every cell (o−e)²/e sums to N = 8.
	if math.Abs(s.Chi2-8) > 1e-12 {
		t.Errorf("χ² = %v, want 8", s.Chi2)
	}
	if !r.HasDrift || r.MaxPSI() != math.Max(x.PSI, s.PSI) {
		t.Errorf("has_drift %v, max PSI %v", r.HasDrift, r.MaxPSI())
	}
	if diff := cmp.Diff([]string{"x", "s"}, r.Drifted()); diff != "" {
		t.Errorf("drifted (-want +got):\n%s", diff)
	}
}

func TestSkippedColumns(t *testing.T) {
	r := compare(t,
		data(t, "a", num("x", 1.0, 2.0), strs("mixed", "a", "b"), num("gone", 1.0, 2.0), num("empty", nil, nil), ints("i", 1, 2)),
		data(t, "b", num("x", 1.0, 2.0), num("mixed", 1.0, 2.0), num("new", 1.0, 2.0), num("empty", 1.0, 2.0), num("i", nil, math.NaN())),
		drift.Options{})
	want := []drift.Skipped{
		{Column: "mixed", Reason: "non-numeric in baseline (object) but numeric in current (float64)"},
		{Column: "gone", Reason: "missing in current"},
		{Column: "new", Reason: "missing in baseline"},
		{Column: "empty", Reason: "no non-null values in baseline"},
		{Column: "i", Reason: "no non-null values in current"},
	}
	if diff := cmp.Diff(want, r.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"x"}, r.NumericDrift.Keys()); diff != "" {
		t.Errorf("numeric columns (-want +got):\n%s", diff)
	}
}

func TestColumnSelection(t *testing.T) {
	b := data(t, "a", num("x", 1.0, 2.0), num("y", 1.0, 2.0), strs("s", "a", "b"))
	c := data(t, "b", num("x", 1.0, 2.0), num("y", 5.0, 6.0), strs("s", "a", "b"))
	r := compare(t, b, c, drift.Options{Columns: []string{"x", "y"}, Exclude: []string{"y"}})
	if diff := cmp.Diff([]string{"x"}, r.NumericDrift.Keys()); diff != "" || len(r.CategoricalDrift) != 0 {
		t.Errorf("numeric %v, categorical %v", r.NumericDrift.Keys(), r.CategoricalDrift.Keys())
	}
	_, err := drift.Compare(context.Background(), b, c, drift.Options{Columns: []string{"x", "nope", "zip"}})
	if err == nil || !strings.Contains(err.Error(), "nope, zip") {
		t.Errorf("unknown columns: err = %v", err)
	}
}

func TestThresholds(t *testing.T) {
	// A small, consistent shift: PSI stays low (≈0.055) but KS with 4000
	// values notices it (D = 0.05, p ≈ 1e-4).
	b := data(t, "a", num("x", seq(4000, func(i int) any { return float64(i) / 4000 })...))
	c := data(t, "b", num("x", seq(4000, func(i int) any { return float64(i)/4000 + 0.05 })...))
	r := compare(t, b, c, drift.Options{})
	x, _ := r.NumericDrift.Get("x")
	if x.DriftDetected || x.PSI >= 0.1 || *x.KSPValue >= 0.05 {
		t.Fatalf("without KS threshold: %+v", x)
	}
	ks := 0.05
	r = compare(t, b, c, drift.Options{Thresholds: drift.Thresholds{KSPValue: &ks}})
	if x, _ := r.NumericDrift.Get("x"); !x.DriftDetected || !r.HasDrift {
		t.Errorf("with ks_pvalue 0.05: %+v", x)
	}
	if r.Conventions.Thresholds.KSPValue == nil || *r.Conventions.Thresholds.KSPValue != 0.05 || r.Conventions.Thresholds.PSI != 0.1 {
		t.Errorf("conventions thresholds = %+v", r.Conventions.Thresholds)
	}
	js := 0.01
	r = compare(t, b, c, drift.Options{Thresholds: drift.Thresholds{JS: &js, PSI: 5}})
	if x, _ := r.NumericDrift.Get("x"); !x.DriftDetected {
		t.Errorf("with js 0.01: %+v", x)
	}
	cb := data(t, "a", strs("s", seq(2000, func(i int) any { return fmt.Sprint(i % 2) })...))
	// 55/45 against 50/50: PSI ≈ 0.01, χ² ≈ 10.03 (p ≈ 0.0015).
	cc := data(t, "b", strs("s", seq(2000, func(i int) any {
		if i%20 < 11 {
			return "1"
		}
		return "0"
	})...))
	chi := 0.01
	r = compare(t, cb, cc, drift.Options{Thresholds: drift.Thresholds{Chi2PValue: &chi}})
	if s, _ := r.CategoricalDrift.Get("s"); !s.DriftDetected || s.PSI >= 0.1 {
		t.Errorf("with chi2_pvalue 0.01: %+v", s)
	}
}

func TestNonFiniteValues(t *testing.T) {
	// NaN is dropped like a null; ±Inf land in the open outer bins and the
	// uniform edges span the finite baseline values 0…10.
	r := compare(t,
		data(t, "a", num("x", 0.0, 10.0, math.Inf(1), math.NaN(), 5.0)),
		data(t, "b", num("x", math.Inf(-1), math.Inf(1), math.NaN(), 5.0, nil)),
		drift.Options{})
	x, _ := r.NumericDrift.Get("x")
	if diff := cmp.Diff([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9}, x.Edges); diff != "" {
		t.Errorf("edges (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{1, 0, 0, 0, 0, 1, 0, 0, 0, 2}, x.BaselineCounts); diff != "" {
		t.Errorf("baseline counts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{1, 0, 0, 0, 0, 1, 0, 0, 0, 1}, x.CurrentCounts); diff != "" {
		t.Errorf("current counts (-want +got):\n%s", diff)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
	r = compare(t, data(t, "a", num("x", math.Inf(1), math.Inf(-1))), data(t, "b", num("x", 1.0)), drift.Options{})
	if diff := cmp.Diff([]drift.Skipped{{Column: "x", Reason: "no finite values in baseline to bin"}}, r.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
}

func TestEmptyDatasets(t *testing.T) {
	b := data(t, "a", num("x"), strs("s"))
	r := compare(t, b, b, drift.Options{})
	if len(r.Skipped) != 2 || r.HasDrift || len(r.NumericDrift)+len(r.CategoricalDrift) != 0 {
		t.Errorf("report = %+v", r)
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"numeric_drift":{},"categorical_drift":{}`) {
		t.Errorf("empty report JSON: %s", out)
	}
}

func TestQuantileBinning(t *testing.T) {
	// Baseline 1…100: deciles at 10.9, 20.8, …; a constant tail merges edges.
	vals := seq(100, func(i int) any { return float64(i + 1) })
	r := compare(t, data(t, "a", num("x", vals...)), data(t, "b", num("x", vals...)), drift.Options{Binning: drift.Quantile})
	x, _ := r.NumericDrift.Get("x")
	if len(x.Edges) != 9 || math.Abs(x.Edges[0]-10.9) > 1e-12 || math.Abs(x.Edges[8]-90.1) > 1e-12 {
		t.Errorf("edges = %v", x.Edges)
	}
	if diff := cmp.Diff([]int64{10, 10, 10, 10, 10, 10, 10, 10, 10, 10}, x.BaselineCounts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if r.Conventions.Binning != drift.Quantile || !strings.HasPrefix(r.Conventions.BinEdges, "quantile") {
		t.Errorf("conventions = %+v", r.Conventions)
	}
	consts := seq(100, func(i int) any { return float64(min(i, 50)) })
	r = compare(t, data(t, "a", num("x", consts...)), data(t, "b", num("x", consts...)), drift.Options{Binning: drift.Quantile})
	x, _ = r.NumericDrift.Get("x")
	// 0…49 then fifty 50s: deciles 9.9 … 49.5, then 50 four times, merged.
	if diff := cmp.Diff([]float64{9.9, 19.8, 29.7, 39.6, 49.5, 50}, x.Edges, cmp.Comparer(func(a, b float64) bool { return close(a, b, 1e-12) })); diff != "" {
		t.Errorf("merged edges (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{10, 10, 10, 10, 10, 0, 50}, x.BaselineCounts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

// A stored profile as baseline pins the bins and categories; KS is marked
// unavailable, and what the profile's top values leave out is pooled.
func TestProfileBaseline(t *testing.T) {
	vals := seq(300, func(i int) any { return float64(i % 10) })
	cats := seq(300, func(i int) any { return fmt.Sprintf("c%02d", i%25) }) // 25 values, 12 each
	rec, err := profiletest.Batch(num("x", vals...), strs("s", cats...), bools("b", seq(300, func(i int) any { return i%2 == 0 })...))
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Compute(context.Background(), rec.Schema(), profile.Records(rec), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	blob, _ := json.Marshal(p)
	if p, err = profile.Parse(blob); err != nil {
		t.Fatal(err)
	}
	// Current: same x, but s has a new value and one category grows.
	curCats := seq(300, func(i int) any {
		if i < 30 {
			return "new"
		}
		return fmt.Sprintf("c%02d", i%25)
	})
	cur := data(t, "cur", num("x", vals...), strs("s", curCats...), bools("b", seq(300, func(i int) any { return i%2 == 0 })...))
	r := compare(t, drift.Input{Name: "p.json", Profile: p}, cur, drift.Options{})

	x, _ := r.NumericDrift.Get("x")
	h, _ := p.Histograms.Get("x")
	if diff := cmp.Diff(h.Counts, x.BaselineCounts); diff != "" {
		t.Errorf("pinned baseline counts (-profile +report):\n%s", diff)
	}
	if x.PSI != 0 || x.KSStatistic != nil || x.KSPValue != nil || x.Unavailable["ks_pvalue"] == "" {
		t.Errorf("x = %+v", x)
	}
	if len(x.Edges) != 9 || x.Edges[0] != float64(h.Edges[1]) {
		t.Errorf("edges = %v, profile %v", x.Edges, h.Edges)
	}
	out, _ := json.Marshal(x)
	if !strings.Contains(string(out), `"ks_statistic":null,"ks_pvalue":null`) {
		t.Errorf("KS not null in JSON: %s", out)
	}
	// The profile lists 20 of 25 categories: 5 × 12 = 60 baseline values are
	// pooled, as is the current "new" (30) with the unlisted current ones.
	s, _ := r.CategoricalDrift.Get("s")
	if s.NumCategories != 21 {
		t.Errorf("s has %d categories, want 20 listed + pooled", s.NumCategories)
	}
	var pooledB, pooledC int64 = -1, -1
	for i, c := range s.Categories {
		if c == drift.OtherCategory {
			pooledB, pooledC = s.BaselineCounts[i], s.CurrentCounts[i]
		}
	}
	if pooledB != 60 || pooledC < 30 {
		t.Errorf("pooled counts = %d, %d", pooledB, pooledC)
	}
	b, _ := r.CategoricalDrift.Get("b")
	if b.PSI != 0 || b.NumCategories != 2 {
		t.Errorf("b = %+v", b)
	}
	if r.Conventions.Binning != drift.Pinned {
		t.Errorf("binning = %s", r.Conventions.Binning)
	}
	if _, err := drift.Compare(context.Background(), drift.Input{Profile: p}, cur, drift.Options{Binning: drift.Quantile}); err == nil {
		t.Error("quantile binning with a profile baseline: no error")
	}
}

func TestManyCategories(t *testing.T) {
	const n = 100_000
	b := data(t, "a", strs("s", seq(n, func(i int) any { return fmt.Sprint("v", i) })...))
	c := data(t, "b", strs("s", seq(n, func(i int) any { return fmt.Sprint("v", i+n/2) })...))
	r := compare(t, b, c, drift.Options{Workers: 2})
	s, _ := r.CategoricalDrift.Get("s")
	if s.NumCategories != n+n/2 || len(s.Categories) != drift.MaxListedCategories {
		t.Errorf("%d categories, %d listed", s.NumCategories, len(s.Categories))
	}
	// Half of each side is shared: every shared cell is balanced, every other
	// cell (1 vs 0, expected ½ each) contributes 1: χ² = 100 000, far below
	// its 149 999 degrees of freedom, so p = 1 in double precision.
	if math.Abs(s.Chi2-n) > 1e-6*n || s.Chi2PValue != 1 {
		t.Errorf("χ² = %v, p = %v", s.Chi2, s.Chi2PValue)
	}
	// JS: half the mass is shared, half disjoint: JS² = ½.
	if math.Abs(s.JSDistance-math.Sqrt(0.5)) > 1e-9 {
		t.Errorf("JS = %v, want √½", s.JSDistance)
	}
}

func TestOptionErrors(t *testing.T) {
	d := data(t, "a", num("x", 1.0))
	ctx := context.Background()
	for name, tc := range map[string]struct {
		b, c drift.Input
		opt  drift.Options
	}{
		"bins":               {d, d, drift.Options{Bins: 1}},
		"binning":            {d, d, drift.Options{Binning: "log"}},
		"epsilon":            {d, d, drift.Options{Epsilon: 2}},
		"profile as current": {d, drift.Input{Profile: &profile.Profile{}}, drift.Options{}},
		"empty baseline":     {drift.Input{}, d, drift.Options{}},
	} {
		if _, err := drift.Compare(ctx, tc.b, tc.c, tc.opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	boom := func(ctx context.Context, w int, fn func(int, arrow.RecordBatch) error) error {
		return fmt.Errorf("disk on fire")
	}
	bad := drift.Input{Schema: d.Schema, Scan: boom}
	if _, err := drift.Compare(ctx, bad, d, drift.Options{}); err == nil || !strings.Contains(err.Error(), "reading baseline: disk on fire") {
		t.Errorf("baseline scan error: %v", err)
	}
	if _, err := drift.Compare(ctx, d, bad, drift.Options{}); err == nil || !strings.Contains(err.Error(), "reading current") {
		t.Errorf("current scan error: %v", err)
	}
	// A batch that does not match its declared schema is an error, not a panic.
	other := data(t, "b", num("y", 1.0))
	if _, err := drift.Compare(ctx, d, drift.Input{Schema: d.Schema, Scan: other.Scan}, drift.Options{}); err == nil {
		t.Error("mismatched batch: no error")
	}
}
