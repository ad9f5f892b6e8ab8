package report

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/profile"
	"github.com/mldata-io/mldata/pkg/profile/profiletest"
)

func seq(n int, f func(i int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func f64(name string, vs []any) profiletest.Col {
	return profiletest.Col{Name: name, Type: arrow.PrimitiveTypes.Float64, Values: vs}
}
func str(name string, vs []any) profiletest.Col {
	return profiletest.Col{Name: name, Type: arrow.BinaryTypes.String, Values: vs}
}

func input(t testing.TB, name string, cols ...profiletest.Col) drift.Input {
	t.Helper()
	rec, err := profiletest.Batch(cols...)
	if err != nil {
		t.Fatal(err)
	}
	return drift.Input{Name: name, Schema: rec.Schema(), Scan: profile.Records(rec)}
}

// sample returns a profile and a drift report over columns whose names the
// tests look for in the rendered pages.
func sample(t testing.TB) (*profile.Profile, *drift.Report) {
	t.Helper()
	n := 400
	base := []profiletest.Col{
		f64("price_usd", seq(n, func(i int) any { return math.Exp(float64(i%40) / 10) })),
		f64("all_missing", seq(n, func(int) any { return nil })),
		f64("weird", seq(n, func(i int) any {
			if i == 3 {
				return math.Inf(1)
			}
			return float64(i % 3)
		})),
		str("country_code", seq(n, func(i int) any { return []string{"FR", "DE", "US", "JP"}[i%4] })),
		str("<b>html</b> & \"quotes\"", seq(n, func(i int) any { return strings.Repeat("long value ", 1+i%9) })),
	}
	in := input(t, "file:///data/base.csv", base...)
	p, err := profile.Compute(context.Background(), in.Schema, in.Scan, profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.Path, p.FileSize = "file:///data/base.csv", 123456
	cur := []profiletest.Col{
		f64("price_usd", seq(n, func(i int) any { return math.Exp(float64(i%40)/10) * 1.3 })),
		f64("all_missing", seq(n, func(int) any { return nil })),
		f64("weird", seq(n, func(i int) any { return float64(i % 3) })),
		str("country_code", seq(n, func(i int) any { return []string{"FR", "DE", "US", "BR", "BR"}[i%5] })),
		str("<b>html</b> & \"quotes\"", seq(n, func(i int) any { return strings.Repeat("long value ", 1+i%9) })),
	}
	r, err := drift.Compare(context.Background(), in, input(t, "s3://bucket/current/", cur...),
		drift.Options{Now: func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return p, r
}

func TestProfilePage(t *testing.T) {
	p, _ := sample(t)
	var buf bytes.Buffer
	if err := Profile(&buf, p); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"<!DOCTYPE html>", "file:///data/base.csv", ">price_usd<", ">country_code<", ">all_missing<",
		"No finite values to draw.",                      // the all-null column
		"&lt;b&gt;html&lt;/b&gt; &amp; &#34;quotes&#34;", // escaped, never markup
		"120.6 KiB",                   // file size
		"infinite value",              // the note about weird's +Inf
		`<rect class="h"`,             // a histogram
		`<i style="width:220px"></i>`, // the top value's bar
		"long value long value long value long v…", // a cut label
	} {
		if !strings.Contains(page, want) {
			t.Errorf("profile page lacks %q", want)
		}
	}
	for _, banned := range []string{"<script", "http://", "https://", "<b>html"} {
		if strings.Contains(page, banned) {
			t.Errorf("profile page contains %q", banned)
		}
	}
}

func TestDriftPage(t *testing.T) {
	_, r := sample(t)
	var buf bytes.Buffer
	if err := Drift(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"drift detected", "s3://bucket/current/", "2025-01-01T00:00:00Z",
		`<rect class="b"`, `<rect class="c"`, "D(baseline || current)",
		"no non-null values in baseline", // all_missing is skipped
	} {
		if !strings.Contains(page, want) {
			t.Errorf("drift page lacks %q", want)
		}
	}
	// The table lists high severity first: country_code (new BR, lost JP)
	// before weird (unchanged but for one +Inf).
	hi, lo := strings.Index(page, `href="#d0">`), strings.Index(page, `>weird</a>`)
	if hi < 0 || lo < 0 || !strings.HasPrefix(page[hi+len(`href="#d0">`):], "country_code") && !strings.HasPrefix(page[hi+len(`href="#d0">`):], "price_usd") {
		t.Errorf("first row is not a high-severity column: %q", page[hi:min(len(page), hi+60)])
	}
	if strings.Contains(page, "<script") {
		t.Error("drift page has a script")
	}
}

func TestDriftOrdering(t *testing.T) {
	r := &drift.Report{
		NumericDrift: profile.Object[*drift.NumericDrift]{
			{Key: "low1", Value: &drift.NumericDrift{PSI: 0.01, Severity: "low"}},
			{Key: "high1", Value: &drift.NumericDrift{PSI: 0.5, Severity: "high", DriftDetected: true}},
			{Key: "high2", Value: &drift.NumericDrift{PSI: 2, Severity: "high", DriftDetected: true}},
		},
		CategoricalDrift: profile.Object[*drift.CategoricalDrift]{
			{Key: "med", Value: &drift.CategoricalDrift{PSI: 0.07, Severity: "medium"}},
		},
	}
	v := driftView(r)
	var got []string
	for _, row := range v.Rows {
		got = append(got, row.Name)
	}
	if strings.Join(got, ",") != "high2,high1,med,low1" {
		t.Errorf("order = %v", got)
	}
	if v.Drifted != 2 || v.Counts["high"] != 2 {
		t.Errorf("drifted %d, counts %v", v.Drifted, v.Counts)
	}
}

// Wide datasets: 500 columns with long top values stay under 2 MB per page.
func TestSizeFor500Columns(t *testing.T) {
	const ncol, n = 500, 60
	var base, cur []profiletest.Col
	for c := 0; c < ncol; c++ {
		name := fmt.Sprintf("column_with_a_rather_long_name_%03d", c)
		if c%2 == 0 {
			base = append(base, f64(name, seq(n, func(i int) any { return float64(i*c%97) / 7 })))
			cur = append(cur, f64(name, seq(n, func(i int) any { return float64(i*c%89) / 5 })))
		} else {
			val := func(i int) any { return fmt.Sprintf("%s value number %d of the column", strings.Repeat("x", 40), i%25) }
			base = append(base, str(name, seq(n, val)))
			cur = append(cur, str(name, seq(n, func(i int) any { return val(i + 3) })))
		}
	}
	b := input(t, "base", base...)
	p, err := profile.Compute(context.Background(), b.Schema, b.Scan, profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := drift.Compare(context.Background(), b, input(t, "cur", cur...), drift.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var pb, db bytes.Buffer
	if err := Profile(&pb, p); err != nil {
		t.Fatal(err)
	}
	if err := Drift(&db, r); err != nil {
		t.Fatal(err)
	}
	t.Logf("500 columns: profile page %d bytes, drift page %d bytes", pb.Len(), db.Len())
	for name, size := range map[string]int{"profile": pb.Len(), "drift": db.Len()} {
		if size > 2<<20 {
			t.Errorf("%s page is %d bytes, over 2 MB", name, size)
		}
	}
	if !strings.Contains(pb.String(), "column_with_a_rather_long_name_499") || !strings.Contains(db.String(), "column_with_a_rather_long_name_499") {
		t.Error("last column missing from a page")
	}
}

func TestNilInputs(t *testing.T) {
	if err := Profile(&bytes.Buffer{}, nil); err == nil {
		t.Error("nil profile: no error")
	}
	if err := Drift(&bytes.Buffer{}, nil); err == nil {
		t.Error("nil report: no error")
	}
	if err := Profile(failingWriter{}, &profile.Profile{}); err == nil {
		t.Error("failing writer: no error")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

func TestFormatting(t *testing.T) {
	pf := profile.F
	var nilF *profile.Float
	var nilD *float64
	x := 0.25
	for _, tc := range []struct {
		in   any
		want string
	}{
		{1234567.0, "1\u2009234\u2009567"}, {-1234.0, "−1\u2009234"}, {0.000123456789, "0.000123457"},
		{math.NaN(), "NaN"}, {math.Inf(1), "+∞"}, {math.Inf(-1), "−∞"}, {pf(2.5), "2.5"}, {nilF, "—"},
		{nilD, "—"}, {&x, "0.25"}, {profile.Float(3), "3"}, {int64(12), "12"}, {7, "7"}, {"s", "s"},
		{1e20, "1e+20"},
	} {
		if got := formatNumber(tc.in); got != tc.want {
			t.Errorf("formatNumber(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for n, want := range map[int64]string{10: "10 B", 2048: "2.0 KiB", 5 << 30: "5.0 GiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
	for x, want := range map[float64]string{0: "0%", 0.0001: "<0.1%", 0.256: "25.6%"} {
		if got := formatPct(x); got != want {
			t.Errorf("formatPct(%v) = %q, want %q", x, got, want)
		}
	}
	if got := shortenTo("héllo wörld", 5); got != "héll…" {
		t.Errorf("shortenTo = %q", got)
	}
}
