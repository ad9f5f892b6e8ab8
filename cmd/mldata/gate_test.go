package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/pipeline"
)

// writeFees writes customers id lo…hi−1 whose fee is base + id mod 50.
func writeFees(t *testing.T, path string, lo, hi, base int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,fee,plan\n")
	for id := lo; id < hi; id++ {
		fmt.Fprintf(&b, "%d,%d,%s\n", id, base+id%50, []string{"basic", "pro"}[id%2])
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func publishedID(t *testing.T, out string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, manifest.PointerKey))
	if err != nil {
		t.Fatal(err)
	}
	p, err := manifest.DecodePointer(data)
	if err != nil {
		t.Fatal(err)
	}
	return p.BuildID
}

func TestBuildGateRefusesDriftedBuild(t *testing.T) {
	dir := t.TempDir()
	src, out := filepath.Join(dir, "src"), filepath.Join(dir, "out")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	gate := filepath.Join(dir, "gate.yaml")
	if err := os.WriteFile(gate, []byte("columns: {exclude: [id]}\nmetrics: {thresholds: {psi: 0.2}}\nonDrift: Fail\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build := func(extra ...string) (string, string, int) {
		return pdRun(t, append([]string{"build", "--source", src, "--output", out, "--split-key", "id", "--gate", gate}, extra...)...)
	}

	writeFees(t, filepath.Join(src, "jan.csv"), 0, 1000, 10)
	stdout, stderr, code := build("--build-id", "jan")
	if code != exitOK || !strings.Contains(stdout, "gate:     passed (no published build to compare with)") {
		t.Fatalf("first build: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// February's fees are 100 higher: the gate refuses the build, exit 3.
	writeFees(t, filepath.Join(src, "feb.csv"), 1000, 2000, 110)
	_, stderr, code = build("--build-id", "feb")
	if code != exitDrift {
		t.Fatalf("drifted build: exit %d, want %d\n%s", code, exitDrift, stderr)
	}
	for _, s := range []string{"publish gate: build feb drifted from published build jan in 1 column(s): fee: psi ", "nothing was published", "build jan stays the published one"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr)
		}
	}
	if id := publishedID(t, out); id != "jan" {
		t.Errorf("published build %s, want jan", id)
	}
	if _, err := os.Stat(filepath.Join(out, "builds", "feb", "manifest.json")); !os.IsNotExist(err) {
		t.Errorf("the refused build has a manifest: %v", err)
	}

	// March adds customers like January's: the gate passes.
	if err := os.Remove(filepath.Join(src, "feb.csv")); err != nil {
		t.Fatal(err)
	}
	writeFees(t, filepath.Join(src, "mar.csv"), 2000, 3000, 10)
	stdout, stderr, code = build("--build-id", "mar")
	if code != exitOK || !strings.Contains(stdout, "gate:     passed against published build jan: 2 column(s)") {
		t.Fatalf("undrifted build: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if id := publishedID(t, out); id != "mar" {
		t.Errorf("published build %s, want mar", id)
	}

	// A gate file with a typo is a usage error naming the file.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("onDirft: Fail\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := pdRun(t, "build", "--source", src, "--output", out, "--gate", bad); code != exitUsage || !strings.Contains(stderr, "--gate "+bad) {
		t.Errorf("bad gate file: exit %d\n%s", code, stderr)
	}
}

// The gate's baseline can be a stored profile, and the comparison one
// split of the candidate.
func TestBuildGateAgainstProfile(t *testing.T) {
	dir := t.TempDir()
	src, out := filepath.Join(dir, "src"), filepath.Join(dir, "out")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFees(t, filepath.Join(src, "jan.csv"), 0, 1000, 10)
	if _, stderr, code := pdRun(t, "build", "--source", src, "--output", out, "--split-key", "id", "--build-id", "jan"); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	prof := filepath.Join(dir, "jan-train.json")
	if _, stderr, code := pdRun(t, "profile", out, "--split", "train", "--output", prof); code != exitOK {
		t.Fatalf("profile: exit %d\n%s", code, stderr)
	}
	gate := filepath.Join(dir, "gate.yaml")
	if err := os.WriteFile(gate, []byte(fmt.Sprintf("against: {profileURI: %q}\nsplit: train\ncolumns: {include: [fee]}\n", prof)), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFees(t, filepath.Join(src, "feb.csv"), 1000, 2000, 110)
	_, stderr, code := pdRun(t, "build", "--source", src, "--output", out, "--split-key", "id", "--build-id", "feb", "--gate", gate)
	if code != exitDrift || !strings.Contains(stderr, "build feb drifted from profile "+prof+" in 1 column(s): fee: psi ") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if id := publishedID(t, out); id != "jan" {
		t.Errorf("published %s, want jan", id)
	}
	// Against a profile, changed files cannot be told from kept ones.
	if err := os.WriteFile(gate, []byte(fmt.Sprintf("against: {profileURI: %q}\ncompare: ChangedFiles\n", prof)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := pdRun(t, "build", "--source", src, "--output", out, "--gate", gate); code != exitUsage || !strings.Contains(stderr, "ChangedFiles") {
		t.Errorf("changedFiles against a profile: exit %d\n%s", code, stderr)
	}
}

// A changed-files gate decided by Wasserstein, with its JSON and HTML
// reports: the refused build's reports name the method that decided and
// the file that moved the column most.
func TestBuildGateReports(t *testing.T) {
	dir := t.TempDir()
	src, out := filepath.Join(dir, "src"), filepath.Join(dir, "out")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	gate := filepath.Join(dir, "gate.yaml")
	spec := "compare: ChangedFiles\ncolumns: {exclude: [id]}\nmetrics: {methods: [{columns: [fee], method: wasserstein, threshold: 0.5}]}\n"
	if err := os.WriteFile(gate, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	jsonOut, htmlOut := filepath.Join(dir, "reports", "gate.json"), filepath.Join(dir, "reports", "gate.html")
	build := func(id string) (string, int) {
		_, stderr, code := pdRun(t, "build", "--source", src, "--output", out, "--split-key", "id", "--build-id", id,
			"--gate", gate, "--gate-report", jsonOut, "--gate-html", htmlOut)
		return stderr, code
	}
	writeFees(t, filepath.Join(src, "jan.csv"), 0, 1000, 10)
	if stderr, code := build("jan"); code != exitOK {
		t.Fatalf("first build: exit %d\n%s", code, stderr)
	}
	var first pipeline.GateReport
	readJSON(t, jsonOut, &first)
	if g := first.PublishGate; g == nil || !g.Passed || g.Against != "none" || first.Drift != nil {
		t.Fatalf("first build's gate report %+v", first)
	}

	// feb.csv moves fee by 100, mar.csv by 5: feb moved it most.
	writeFees(t, filepath.Join(src, "feb.csv"), 1000, 2000, 110)
	writeFees(t, filepath.Join(src, "mar.csv"), 2000, 2500, 15)
	stderr, code := build("feb")
	if code != exitDrift {
		t.Fatalf("drifted build: exit %d, want %d\n%s", code, exitDrift, stderr)
	}
	if !strings.Contains(stderr, "in 1 column(s): fee: wasserstein_normed ") || !strings.Contains(stderr, "fee moved most by feb.csv") {
		t.Errorf("stderr:\n%s", stderr)
	}
	var rep pipeline.GateReport
	readJSON(t, jsonOut, &rep)
	g := rep.PublishGate
	if g == nil || g.Passed || len(g.Drifted) != 1 || g.ChangedFiles == nil || rep.Drift == nil {
		t.Fatalf("refused build's gate report %+v", rep)
	}
	d := g.Drifted[0]
	fee, _ := rep.Drift.NumericDrift.Get("fee")
	if d.Column != "fee" || d.Method != "wasserstein" || d.Metric != "wasserstein_normed" || d.Threshold != 0.5 || fee == nil || d.Value != *fee.WassersteinNormed {
		t.Errorf("drifted %+v; drift report's fee %+v", d, fee)
	}
	if rep.Drift.Baseline != "unchanged files" || rep.Drift.Current != "changed files" {
		t.Errorf("drift report compares %s with %s", rep.Drift.Baseline, rep.Drift.Current)
	}
	b := g.ChangedFiles.Breakdown
	if len(b) != 1 || len(b[0].Files) != 2 || b[0].Files[0].File != "feb.csv" || b[0].Files[1].File != "mar.csv" {
		t.Fatalf("breakdown %+v", b)
	}
	page, err := os.ReadFile(htmlOut)
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	feb, mar := strings.Index(html, `<td title="feb.csv">`), strings.Index(html, `<td title="mar.csv">`)
	if !strings.Contains(html, "refused: drifted") || !strings.Contains(html, "wasserstein_normed") || feb < 0 || mar < feb {
		t.Errorf("gate page: refused %v, feb.csv at %d, mar.csv at %d", strings.Contains(html, "refused: drifted"), feb, mar)
	}

	// The reports need a gate.
	if _, stderr, code := pdRun(t, "build", "--source", src, "--output", out, "--gate-html", htmlOut); code != exitUsage || !strings.Contains(stderr, "--gate-html need --gate") {
		t.Errorf("--gate-html without --gate: exit %d\n%s", code, stderr)
	}
}

// The commit of a sharded build goes through the gate too: refused, it
// exits 3 and writes the gate's report.
func TestBuildGateShardedCommit(t *testing.T) {
	dir := t.TempDir()
	src, out := filepath.Join(dir, "src"), filepath.Join(dir, "out")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	gate := filepath.Join(dir, "gate.yaml")
	if err := os.WriteFile(gate, []byte("columns: {exclude: [id]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFees(t, filepath.Join(src, "jan.csv"), 0, 1000, 10)
	if _, stderr, code := pdRun(t, "build", "--source", src, "--output", out, "--split-key", "id", "--build-id", "jan", "--gate", gate); code != exitOK {
		t.Fatalf("first build: exit %d\n%s", code, stderr)
	}
	writeFees(t, filepath.Join(src, "feb.csv"), 1000, 2000, 110)
	args := []string{"build", "--source", src, "--output", out, "--split-key", "id", "--build-id", "feb", "--gate", gate}
	if _, stderr, code := pdRun(t, append(args, "--plan-only", "--shards", "2")...); code != exitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	for _, s := range []string{"0/2", "1/2"} {
		if _, stderr, code := pdRun(t, append(args, "--shard", s)...); code != exitOK {
			t.Fatalf("shard %s: exit %d\n%s", s, code, stderr)
		}
	}
	jsonOut := filepath.Join(dir, "gate.json")
	_, stderr, code := pdRun(t, append(args, "--commit", "--gate-report", jsonOut)...)
	if code != exitDrift || !strings.Contains(stderr, "in 1 column(s): fee: psi ") {
		t.Fatalf("commit of a drifted build: exit %d, want %d\n%s", code, exitDrift, stderr)
	}
	var rep pipeline.GateReport
	readJSON(t, jsonOut, &rep)
	if rep.PublishGate == nil || rep.PublishGate.Passed || rep.Drift == nil || !rep.Drift.HasDrift {
		t.Errorf("commit's gate report %+v", rep)
	}
	if id := publishedID(t, out); id != "jan" {
		t.Errorf("published %s, want jan", id)
	}
}

func TestGateLine(t *testing.T) {
	drifted := []manifest.GateColumn{{Column: "fee", PSI: 0.4, Method: "wasserstein", Metric: "wasserstein_normed", Value: 0.31, Threshold: 0.1}}
	cases := []struct {
		g    manifest.PublishGate
		want string
	}{
		{manifest.PublishGate{Against: "none", Passed: true}, "passed (no published build to compare with)"},
		{manifest.PublishGate{Against: "published build jan", Passed: true, ColumnsCompared: 3, MaxPSI: 0.02}, "passed against published build jan: 3 column(s), max PSI 0.02"},
		{manifest.PublishGate{Against: "published build jan", Passed: true, ColumnsCompared: 4, MaxPSI: 0.4, DriftShare: 0.25, Drifted: drifted},
			"passed against published build jan: 4 column(s), max PSI 0.4; fee: wasserstein_normed 0.31 >= 0.1 drifted, a share of 0.25, below the drift share"},
		{manifest.PublishGate{Against: "the unchanged files of build jan", OnDrift: "Warn", Drifted: drifted,
			ChangedFiles: &manifest.ChangedFiles{Breakdown: []manifest.ColumnBreakdown{{Column: "fee", Files: []manifest.FileDrift{{File: "feb.csv"}, {File: "mar.csv"}}}}}},
			"drifted from the unchanged files of build jan in fee: wasserstein_normed 0.31 >= 0.1; fee moved most by feb.csv; published anyway (onDrift Warn)"},
	}
	// A manifest written before gates kept each column's method.
	cases = append(cases, struct {
		g    manifest.PublishGate
		want string
	}{manifest.PublishGate{Against: "published build jan", OnDrift: "Warn", Drifted: []manifest.GateColumn{{Column: "fee", PSI: 0.4}}},
		"drifted from published build jan in fee (PSI 0.4); published anyway (onDrift Warn)"})
	for _, c := range cases {
		if got := gateLine(&c.g); got != c.want {
			t.Errorf("gateLine:\n got %q\nwant %q", got, c.want)
		}
	}
}
