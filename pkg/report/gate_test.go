package report

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/profile/profiletest"
)

func ptrTo(x float64) *float64 { return &x }

// gateSample is a refused changed-files gate over a real comparison: x
// moved (decided by Wasserstein), c did not. The breakdown lists the files
// out of order; the page must rank them by contribution.
func gateSample(t *testing.T) (*manifest.PublishGate, *drift.Report) {
	t.Helper()
	n := 200
	kept := []profiletest.Col{
		f64("x", seq(n, func(i int) any { return float64(i % 10) })),
		str("c", seq(n, func(i int) any { return []string{"a", "b"}[i%2] })),
	}
	changed := []profiletest.Col{
		f64("x", seq(n, func(i int) any { return float64(i%10) + 5 })),
		str("c", seq(n, func(i int) any { return []string{"a", "b"}[i%2] })),
	}
	r, err := drift.Compare(context.Background(), input(t, "unchanged files", kept...), input(t, "changed files", changed...), drift.Options{
		Methods: []drift.MethodRule{{Type: drift.Numeric, Method: drift.MethodWasserstein, Threshold: 0.25}}})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := r.NumericDrift.Get("x")
	d := x.Decision(r.Conventions.Thresholds)
	g := &manifest.PublishGate{Against: "the unchanged files of build b1", BaselineBuild: "b1", OnDrift: "Fail",
		ColumnsCompared: 2, MaxPSI: r.MaxPSI(),
		Drifted: []manifest.GateColumn{{Column: "x", PSI: x.PSI, Severity: x.Severity,
			Method: string(d.Method), Metric: d.Metric, Value: d.Value, Threshold: d.Threshold}},
		ChangedFiles: &manifest.ChangedFiles{
			Changed: []string{"2026/small.csv", "2026/big.csv", "2026/back.csv"}, ChangedRows: 200, Unchanged: 4, UnchangedRows: 200,
			Breakdown: []manifest.ColumnBreakdown{{Column: "x", PSI: x.PSI, Files: []manifest.FileDrift{
				{File: "2026/small.csv", Rows: 20, PSI: 0.9, Contribution: ptrTo(0.4)},
				{File: "2026/back.csv", Rows: 30, PSI: 0.02, Contribution: ptrTo(-0.05)},
				{File: "2026/big.csv", Rows: 150, PSI: 7.5, Contribution: ptrTo(x.PSI - 0.35)},
			}}},
		},
	}
	return g, r
}

func TestGatePageChangedFiles(t *testing.T) {
	g, r := gateSample(t)
	var buf bytes.Buffer
	if err := Gate(&buf, g, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"<h1>Publish gate</h1>",
		"refused: drifted, nothing was published (onDrift Fail)",
		"against the unchanged files of build b1",
		// x shifts by 5 with a baseline std of √8.25: normed W = 1.74078.
		"<td>wasserstein_normed 1.741 &gt;= 0.25</td>",
		`id="changed-files"`,
		"3 new or changed source file(s), 200 rows, compared with the 4 file(s) kept from the baseline build, 200 rows.",
		"<code>2026/big.csv</code>",
		// The drift report the gate decided on follows.
		"Columns by severity", "wasserstein (0.25)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("gate page lacks %q", want)
		}
	}
	// The breakdown ranks files by contribution: big, small, then back,
	// whose negative contribution is drawn apart.
	rows := regexp.MustCompile(`<td title="([^"]+)">`).FindAllStringSubmatch(page, -1)
	var order []string
	for _, m := range rows {
		order = append(order, m[1])
	}
	if got := strings.Join(order, " "); got != "2026/big.csv 2026/small.csv 2026/back.csv" {
		t.Errorf("breakdown order %q, want big, small, back", got)
	}
	// Bars scale to the largest contribution (big's) over 160 px.
	big := g.ChangedFiles.Breakdown[0].Files[2].Contribution
	for _, want := range []string{
		`<i class="" style="width:160px">`,
		fmt.Sprintf(`<i class="" style="width:%vpx">`, round1(0.4 / *big * fileBarW)),
		fmt.Sprintf(`<i class="neg" style="width:%vpx">`, round1(0.05 / *big * fileBarW)),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("gate page lacks bar %q", want)
		}
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Error("gate page is not self-contained")
	}
}

// A gate with many changed files lists the first ones by name, and a gate
// without a comparison (the first build) still renders.
func TestGatePageBounds(t *testing.T) {
	g, r := gateSample(t)
	g.ChangedFiles.Changed = nil
	for i := range maxListedFiles + 7 {
		g.ChangedFiles.Changed = append(g.ChangedFiles.Changed, fmt.Sprintf("f%03d.csv", i))
	}
	var buf bytes.Buffer
	if err := Gate(&buf, g, r); err != nil {
		t.Fatal(err)
	}
	if page := buf.String(); !strings.Contains(page, "<code>f049.csv</code> and 7 more") || strings.Contains(page, "f050.csv") {
		t.Errorf("changed files not bounded to %d", maxListedFiles)
	}

	buf.Reset()
	first := &manifest.PublishGate{Against: "none", OnDrift: "Fail", Passed: true}
	if err := Gate(&buf, first, nil); err != nil {
		t.Fatal(err)
	}
	if page := buf.String(); !strings.Contains(page, "passed: no published build to compare with") || strings.Contains(page, "changed-files") || strings.Contains(page, "Conventions") {
		t.Errorf("first build's gate page:\n%s", page)
	}
	if err := Gate(&buf, nil, r); err == nil {
		t.Error("nil gate: want an error")
	}
}

// A sketched column states the bounds of its KS statistic and p-value.
func TestDriftPageApproximation(t *testing.T) {
	n := 400
	base := []profiletest.Col{f64("x", seq(n, func(i int) any { return float64(i % 97) }))}
	cur := []profiletest.Col{f64("x", seq(n, func(i int) any { return float64(i%97) + 3 }))}
	r, err := drift.Compare(context.Background(), input(t, "base", base...), input(t, "cur", cur...), drift.Options{MaxMemory: 64, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := r.NumericDrift.Get("x")
	a := x.Approximate
	if a == nil {
		t.Fatal("x was not sketched under a 64-byte bound")
	}
	var buf bytes.Buffer
	if err := Drift(&buf, r); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("KS D in [%s, %s], KS p in [%s, %s]", formatNumber(a.KSStatistic[0]), formatNumber(a.KSStatistic[1]),
		formatNumber(a.KSPValue[0]), formatNumber(a.KSPValue[1]))
	if page := buf.String(); !strings.Contains(page, want) || !strings.Contains(page, `<span class="tag approx">approximate</span>`) {
		t.Errorf("drift page lacks %q", want)
	}
}
