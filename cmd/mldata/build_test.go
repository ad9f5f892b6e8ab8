package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/pipeline"
)

const sample = "../../testdata/sample"

func TestBuildCommand(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, code := pdRun(t, "build", "--source", sample, "--output", out, "--split-key", "customer_id", "--compression", "zstd")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"published build ", "1000 rows", "2 source file(s)", "schema v1 (10 columns)", "manifest: " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "plan: full build of 2 source file(s): no published build") {
		t.Errorf("stderr lacks the plan:\n%s", stderr)
	}

	// Again: up to date, and --json prints the published manifest.
	stdout, _, code = pdRun(t, "build", "--source", sample, "--output", out, "--split-key", "customer_id", "--compression", "zstd", "--json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var m manifest.Manifest
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("--json output is not a manifest: %v\n%s", err, stdout)
	}
	if m.Rows() != 1000 || m.Output.Compression != "zstd" || len(m.Source.Files) != 2 {
		t.Errorf("manifest rows %d compression %q files %d", m.Rows(), m.Output.Compression, len(m.Source.Files))
	}

	// --dry-run --json prints the plan.
	stdout, _, code = pdRun(t, "build", "--source", sample, "--output", out, "--split-key", "customer_id", "--compression", "zstd", "--dry-run", "--json")
	var p pipeline.Plan
	if err := json.Unmarshal([]byte(stdout), &p); err != nil || code != exitOK {
		t.Fatalf("exit %d, plan %q: %v", code, stdout, err)
	}
	if !p.UpToDate || len(p.Unchanged) != 2 {
		t.Errorf("plan %+v, want up to date with 2 unchanged", p)
	}

	manifests := func() int {
		entries, _ := os.ReadDir(filepath.Join(out, "builds"))
		n := 0
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(out, "builds", e.Name(), "manifest.json")); err == nil {
				n++
			}
		}
		return n
	}
	// --full rebuilds; --history-limit 1 keeps the build just replaced for
	// the grace period (an hour by default)…
	stdout, stderr, code = pdRun(t, "build", "--source", sample, "--output", out, "--split-key", "customer_id", "--compression", "zstd", "--full", "--history-limit", "1")
	if code != exitOK || strings.Contains(stdout, "pruned:") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if n := manifests(); n != 2 {
		t.Errorf("%d builds with a manifest after --history-limit 1 within the grace period, want 2", n)
	}
	// …and with --history-grace 0 prunes both earlier builds.
	stdout, stderr, code = pdRun(t, "build", "--source", sample, "--output", out, "--split-key", "customer_id", "--compression", "zstd", "--full", "--history-limit", "1", "--history-grace", "0")
	if code != exitOK || !strings.Contains(stdout, "pruned:   2 old build(s)") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if n := manifests(); n != 1 {
		t.Errorf("%d builds with a manifest after --history-limit 1 --history-grace 0, want 1", n)
	}
}

func TestBuildCommandErrors(t *testing.T) {
	bad := t.TempDir()
	pdWrite(t, bad, "x.csv", "a,b,c\n1,2,3\n4,5\n")
	tests := map[string]struct {
		args []string
		code int
		want string
	}{
		"missing output":    {[]string{"build", "--source", sample}, exitUsage, "--source and --output are required"},
		"bad ratios":        {[]string{"build", "--source", sample, "--output", t.TempDir(), "--split", "train=0.5,test=0.4"}, exitUsage, "sum to 0.9"},
		"bad format":        {[]string{"build", "--source", sample, "--output", t.TempDir(), "--format", "xls"}, exitUsage, `--format "xls"`},
		"snappy csv":        {[]string{"build", "--source", sample, "--output", t.TempDir(), "--output-format", "csv", "--compression", "snappy"}, exitUsage, "snappy is for parquet"},
		"bad policy":        {[]string{"build", "--source", sample, "--output", t.TempDir(), "--schema-policy", "Loose"}, exitUsage, "--schema-policy"},
		"bad on-failure":    {[]string{"build", "--source", sample, "--output", t.TempDir(), "--on-failure", "maybe"}, exitUsage, "--on-failure"},
		"unknown flag":      {[]string{"build", "--source", sample, "--output", t.TempDir(), "--colour"}, exitUsage, "unknown flag"},
		"missing rules":     {[]string{"build", "--source", sample, "--output", t.TempDir(), "--rules", "/nonexistent.yaml"}, exitUsage, "--rules"},
		"bad row":           {[]string{"build", "--source", bad, "--output", t.TempDir()}, exitFailure, "x.csv: line 3 (row 2): expected 3 fields"},
		"missing source":    {[]string{"build", "--source", filepath.Join(bad, "nope"), "--output", t.TempDir()}, exitFailure, "nope"},
		"bad delimiter":     {[]string{"build", "--source", sample, "--output", t.TempDir(), "--delimiter", ";;"}, exitUsage, "--delimiter"},
		"unknown split key": {[]string{"build", "--source", sample, "--output", t.TempDir(), "--split-key", "nope"}, exitFailure, "nope"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, stderr, code := pdRun(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tc.code, stderr, tc.want)
			}
		})
	}
}

func TestBuildValidationRulesFromFile(t *testing.T) {
	rules := pdWrite(t, t.TempDir(), "rules.yaml", "- {type: notNull, column: nps}\n- {type: minRows, rows: 10}\n")
	out := t.TempDir()
	_, stderr, code := pdRun(t, "build", "--source", sample, "--output", out, "--rules", rules)
	if code != exitFailure || !strings.Contains(stderr, "validation failed (1 rule(s))") || !strings.Contains(stderr, "nps") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, manifest.PointerKey)); !os.IsNotExist(err) {
		t.Error("a failed validation published a build")
	}
	stdout, stderr, code := pdRun(t, "build", "--source", sample, "--output", out, "--rules", rules, "--on-failure", "warn")
	if code != exitOK || !strings.Contains(stderr, "warning: ") || !strings.Contains(stdout, "published build") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}

func TestSchemaDiffCommand(t *testing.T) {
	dir := t.TempDir()
	old := pdWrite(t, dir, "old.csv", "id,x\n1,2\n")
	cur := pdWrite(t, dir, "new.csv", "id,x,y\n1,2.5,a\n")
	stdout, _, code := pdRun(t, "schema", "diff", old, cur)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{`column "x": type int64 → float64 (not breaking`, `column "y": added as string`, "2 change(s), 0 breaking"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	_, stderr, code := pdRun(t, "schema", "diff", cur, old, "--policy", "AllowAdditive")
	if code != exitFailure || !strings.Contains(stderr, `"y"`) {
		t.Errorf("exit %d: %s; want a policy failure naming y", code, stderr)
	}
	// A build output compares by its published manifest.
	out := t.TempDir()
	if _, stderr, code := pdRun(t, "build", "--source", old, "--output", out); code != exitOK {
		t.Fatal(stderr)
	}
	stdout, _, code = pdRun(t, "schema", "diff", out, old)
	if code != exitOK || !strings.Contains(stdout, "no schema changes") {
		t.Errorf("exit %d: %s", code, stdout)
	}
}

func TestVersionCommand(t *testing.T) {
	stdout, _, code := pdRun(t, "version")
	if code != exitOK || !strings.HasPrefix(stdout, "mldata ") {
		t.Errorf("exit %d: %q", code, stdout)
	}
}
