package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/split"
)

// writeAmounts writes ids lo…hi−1 with amount = shift + id mod 100 and a
// category alternating x, y.
func writeAmounts(t *testing.T, dir, name string, lo, hi, shift int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,amount,cat\n")
	for id := lo; id < hi; id++ {
		fmt.Fprintf(&b, "%d,%d,%s\n", id, shift+id%100, []string{"x", "y"}[id%2])
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gateConfig(t *testing.T, src, out, id string, g *Gate) Config {
	t.Helper()
	spec, err := split.Parse("train=0.8,test=0.2")
	if err != nil {
		t.Fatal(err)
	}
	spec.Key = "id"
	return Config{Source: src, Output: out, Read: format.Options{ChunkRows: 256}, OutputFormat: format.Parquet,
		Split: spec, Workers: 2, BuildID: id, Gate: g, SplitCheck: SplitCheck{Disabled: true}}
}

func TestPublishGate(t *testing.T) {
	ctx := context.Background()
	src, out := t.TempDir(), t.TempDir()
	writeAmounts(t, src, "a.csv", 0, 1000, 0)
	gate := &Gate{Drift: drift.Options{Exclude: []string{"id"}}, OnDrift: OnDriftFail}

	// The first build has nothing to compare with, and passes.
	res, err := Build(ctx, gateConfig(t, src, out, "b1", gate))
	if err != nil {
		t.Fatal(err)
	}
	if g := res.Manifest.PublishGate; g == nil || !g.Passed || g.Against != "none" {
		t.Fatalf("first build's gate %+v", g)
	}

	// A second file moves amount from 0…99 to half of it at 500…599.
	writeAmounts(t, src, "b.csv", 1000, 2000, 500)
	_, err = Build(ctx, gateConfig(t, src, out, "b2", gate))
	var ge *GateError
	if !errors.As(err, &ge) {
		t.Fatalf("drifted build: %v, want a GateError", err)
	}
	// Uniform bins over the published 0…99: 100 rows in each of 10 bins;
	// the candidate has 100 of 2000 in bins 0–8 and 1100 in bin 9.
	want := 9*(0.05-0.1)*math.Log(0.05/0.1) + (0.55-0.1)*math.Log(0.55/0.1)
	g := ge.Gate
	if g.Passed || len(g.Drifted) != 1 || g.Drifted[0].Column != "amount" || math.Abs(g.Drifted[0].PSI-want) > 1e-12 || g.Drifted[0].Severity != "high" {
		t.Fatalf("gate %+v, want amount alone drifted with PSI %v", g, want)
	}
	if g.DriftShare != 0.5 {
		t.Errorf("drift share %v, want 1 of 2 columns", g.DriftShare)
	}
	if d := g.Drifted[0]; d.Method != "psi" || d.Metric != "psi" || d.Value != d.PSI || d.Threshold != 0.1 {
		t.Errorf("amount's decision %+v, want psi %v >= 0.1", d, want)
	}
	if ge.Report == nil || !ge.Report.HasDrift || ge.Report.Current != "build b2" {
		t.Errorf("the refused build's gate report: %+v", ge.Report)
	}
	// id would drift too (its range moved); the gate excludes it.
	if g.ColumnsCompared != 2 || g.Against != "published build b1" || g.BaselineBuild != "b1" {
		t.Errorf("gate %+v", g)
	}
	for _, s := range []string{"build b2 drifted from published build b1", "amount: psi 1.079 >= 0.1", "nothing was published", "build b1 stays the published one"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
	if p := readPointer(t, out); p.BuildID != "b1" {
		t.Errorf("latest.json names %s after a refused build, want b1", p.BuildID)
	}
	if n := countFiles(t, filepath.Join(out, "builds", "b2")); n != 0 {
		t.Errorf("the refused build left %d files", n)
	}

	// Pinned to b1 by id: the same verdict.
	pinned := *gate
	pinned.BuildID = "b1"
	if _, err := Build(ctx, gateConfig(t, src, out, "b3", &pinned)); !errors.As(err, &ge) || ge.Gate.Against != "build b1" {
		t.Fatalf("pinned gate: %v", err)
	}

	// Warn publishes, with the verdict in the manifest and a warning.
	warn := *gate
	warn.OnDrift = OnDriftWarn
	res, err = Build(ctx, gateConfig(t, src, out, "b4", &warn))
	if err != nil {
		t.Fatal(err)
	}
	if g := res.Manifest.PublishGate; g == nil || g.Passed || g.OnDrift != OnDriftWarn || len(g.Drifted) != 1 {
		t.Errorf("warned gate %+v", g)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "amount: psi 1.079 >= 0.1") {
		t.Errorf("warnings %q", res.Warnings)
	}
	if p := readPointer(t, out); p.BuildID != "b4" {
		t.Errorf("latest.json names %s, want b4", p.BuildID)
	}

	// Rebuilding the same data against b4 passes.
	res, err = Build(ctx, func() Config { c := gateConfig(t, src, out, "b5", gate); c.Full = true; return c }())
	if err != nil {
		t.Fatal(err)
	}
	if g := res.Manifest.PublishGate; !g.Passed || g.MaxPSI != 0 || g.Against != "published build b4" {
		t.Errorf("unchanged data: gate %+v", g)
	}

	if _, err := Build(ctx, gateConfig(t, src, out, "b6", &Gate{OnDrift: "Maybe"})); err == nil || !strings.Contains(err.Error(), `onDrift "Maybe"`) {
		t.Errorf("bad onDrift: %v", err)
	}
}

// countFiles counts the regular files under dir (0 when it is missing).
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestPublishGateChangedFiles(t *testing.T) {
	ctx := context.Background()
	src, out := t.TempDir(), t.TempDir()
	writeAmounts(t, src, "a.csv", 0, 1000, 0)
	gate := &Gate{Drift: drift.Options{Exclude: []string{"id"}}, ChangedFiles: true}
	if _, err := Build(ctx, gateConfig(t, src, out, "b1", gate)); err != nil {
		t.Fatal(err)
	}
	// b.csv moves every amount to 500…599, c.csv to 50…149.
	writeAmounts(t, src, "b.csv", 1000, 2000, 500)
	writeAmounts(t, src, "c.csv", 2000, 3000, 50)
	_, err := Build(ctx, gateConfig(t, src, out, "b2", gate))
	var ge *GateError
	if !errors.As(err, &ge) {
		t.Fatalf("drifted build: %v, want a GateError", err)
	}
	g := ge.Gate
	cf := g.ChangedFiles
	if cf == nil || len(cf.Changed) != 2 || cf.Changed[0] != "b.csv" || cf.Changed[1] != "c.csv" || cf.Unchanged != 1 || cf.ChangedRows != 2000 || cf.UnchangedRows != 1000 {
		t.Fatalf("changed files %+v", cf)
	}
	if g.Against != "the unchanged files of build b1" || !strings.Contains(err.Error(), "drifted from the unchanged files of build b1") || !strings.Contains(err.Error(), "amount moved most by b.csv") {
		t.Errorf("against %q, error %v", g.Against, err)
	}
	// PSI over a.csv's 10 bins of 100 rows (share 0.1 each), with empty
	// shares replaced by 0.001.
	psi := func(q []float64) float64 {
		s := 0.0
		for _, qi := range q {
			if qi == 0 {
				qi = 0.001
			}
			s += (qi - 0.1) * math.Log(qi/0.1)
		}
		return s
	}
	wantAll := psi([]float64{0, 0, 0, 0, 0, 0.05, 0.05, 0.05, 0.05, 0.8})
	wantB := psi([]float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	wantC := psi([]float64{0, 0, 0, 0, 0, 0.1, 0.1, 0.1, 0.1, 0.6})
	if len(g.Drifted) != 1 || g.Drifted[0].Column != "amount" || math.Abs(g.Drifted[0].PSI-wantAll) > 1e-12 {
		t.Fatalf("drifted %+v, want amount with PSI %v", g.Drifted, wantAll)
	}
	if len(cf.Breakdown) != 1 || cf.Breakdown[0].Column != "amount" || len(cf.Breakdown[0].Files) != 2 {
		t.Fatalf("breakdown %+v", cf.Breakdown)
	}
	files := cf.Breakdown[0].Files
	// b.csv moved amount most: it comes first.
	if files[0].File != "b.csv" || math.Abs(files[0].PSI-wantB) > 1e-12 || files[1].File != "c.csv" || math.Abs(files[1].PSI-wantC) > 1e-12 {
		t.Errorf("files %+v, want b.csv PSI %v then c.csv PSI %v", files, wantB, wantC)
	}
	if files[0].Contribution == nil || files[1].Contribution == nil {
		t.Fatalf("contributions missing: %+v", files)
	}
	if sum := *files[0].Contribution + *files[1].Contribution; math.Abs(sum-wantAll) > 1e-12 {
		t.Errorf("contributions %v + %v = %v, want the column's PSI %v", *files[0].Contribution, *files[1].Contribution, sum, wantAll)
	}
	if !(*files[0].Contribution > *files[1].Contribution && *files[1].Contribution > 0) {
		t.Errorf("contributions %v, %v: want b.csv's larger, both positive", *files[0].Contribution, *files[1].Contribution)
	}
	if p := readPointer(t, out); p.BuildID != "b1" {
		t.Errorf("published %s, want b1", p.BuildID)
	}
}

func TestPSIContributionsSumToPSI(t *testing.T) {
	base := []int64{30, 0, 50, 20, 7}
	files := [][]int64{{0, 0, 10, 40, 1}, {5, 0, 0, 3, 0}, {12, 0, 9, 0, 2}}
	cur := make([]int64, len(base))
	for _, f := range files {
		for i, c := range f {
			cur[i] += c
		}
	}
	sum := 0.0
	for _, f := range files {
		sum += psiContribution(base, cur, f, 0.001)
	}
	if want := drift.PSI(base, cur, 0.001); math.Abs(sum-want) > 1e-12 {
		t.Errorf("contributions sum to %v, PSI is %v", sum, want)
	}
	// One file is all the changed rows: its contribution is the PSI.
	if c, want := psiContribution(base, files[0], files[0], 0.001), drift.PSI(base, files[0], 0.001); math.Abs(c-want) > 1e-12 {
		t.Errorf("single file: %v, want %v", c, want)
	}
}

// TestShardedCommitIsGated: the commit of a sharded build publishes through
// the same gate as a one-process build: a drifted candidate is refused and
// the published build stays.
func TestShardedCommitIsGated(t *testing.T) {
	ctx := context.Background()
	src, out := t.TempDir(), t.TempDir()
	writeAmounts(t, src, "a.csv", 0, 1000, 0)
	gate := &Gate{Drift: drift.Options{Exclude: []string{"id"}}, OnDrift: OnDriftFail}
	if _, err := Build(ctx, gateConfig(t, src, out, "b1", gate)); err != nil {
		t.Fatal(err)
	}
	writeAmounts(t, src, "b.csv", 1000, 2000, 500)
	cfg := gateConfig(t, src, out, "b2", gate)
	if _, err := PlanShards(ctx, cfg, ShardOptions{Shards: 2}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := RunShard(ctx, cfg, i, 2); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Commit(ctx, cfg)
	var ge *GateError
	if !errors.As(err, &ge) || len(ge.Gate.Drifted) != 1 || ge.Gate.Drifted[0].Column != "amount" {
		t.Fatalf("commit of a drifted sharded build: %v, want a GateError naming amount", err)
	}
	if p := readPointer(t, out); p.BuildID != "b1" {
		t.Errorf("latest.json names %s after a refused commit, want b1", p.BuildID)
	}
	if n := countFiles(t, filepath.Join(out, "builds", "b2")); n != 0 {
		t.Errorf("the refused build left %d part files", n)
	}
}

// TestPublishGateMethods: the gate decides by each column's method, and
// its verdict and messages name that method's metric, value and threshold,
// not the PSI.
func TestPublishGateMethods(t *testing.T) {
	ctx := context.Background()
	src, out := t.TempDir(), t.TempDir()
	writeAmounts(t, src, "a.csv", 0, 1000, 0)
	base := drift.Options{Exclude: []string{"id"}}
	if _, err := Build(ctx, gateConfig(t, src, out, "b1", &Gate{Drift: base})); err != nil {
		t.Fatal(err)
	}
	writeAmounts(t, src, "b.csv", 1000, 2000, 500)

	// Half the rows move by 500: W = 250; the baseline 0…99 has population
	// standard deviation √((100² − 1)/12).
	wantW := 250 / math.Sqrt((100*100-1)/12.0)
	opt := base
	opt.Methods = []drift.MethodRule{{Columns: []string{"amount"}, Method: drift.MethodWasserstein, Threshold: 0.1}}
	_, err := Build(ctx, gateConfig(t, src, out, "b2", &Gate{Drift: opt}))
	var ge *GateError
	if !errors.As(err, &ge) || len(ge.Gate.Drifted) != 1 {
		t.Fatalf("drifted build: %v, want a GateError naming amount", err)
	}
	d := ge.Gate.Drifted[0]
	if d.Column != "amount" || d.Method != "wasserstein" || d.Metric != "wasserstein_normed" || math.Abs(d.Value-wantW) > 1e-9 || d.Threshold != 0.1 {
		t.Fatalf("decision %+v, want wasserstein_normed %v >= 0.1", d, wantW)
	}
	if want := "amount: wasserstein_normed 8.661 >= 0.1"; !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "PSI") {
		t.Errorf("error %q: want %q and no PSI", err, want)
	}

	// The same shift under a threshold above it passes, though its PSI
	// (1.079) is far above the PSI threshold: the method decides.
	opt.Methods[0].Threshold = 10
	res, err := Build(ctx, gateConfig(t, src, out, "b3", &Gate{Drift: opt}))
	if err != nil {
		t.Fatal(err)
	}
	if g := res.Manifest.PublishGate; !g.Passed || len(g.Drifted) != 0 || g.MaxPSI < 1 {
		t.Errorf("gate %+v: want passed with a max PSI above 1", g)
	}
	if r := res.GateReport; r == nil || r.HasDrift {
		t.Errorf("passed gate's report %+v", r)
	}

	// Against b1, a drift share above the drifted share (1 of 2 columns)
	// passes a drifted column, which the verdict still lists.
	opt.Methods = nil
	share := 0.75
	opt.Thresholds.DriftShare = &share
	res, err = Build(ctx, func() Config {
		c := gateConfig(t, src, out, "b4", &Gate{Drift: opt, BuildID: "b1"})
		c.Full = true
		return c
	}())
	if err != nil {
		t.Fatal(err)
	}
	if g := res.Manifest.PublishGate; !g.Passed || g.DriftShare != 0.5 || len(g.Drifted) != 1 || g.Drifted[0].Column != "amount" {
		t.Errorf("gate %+v: want passed, amount drifted, share 0.5", g)
	}
}
