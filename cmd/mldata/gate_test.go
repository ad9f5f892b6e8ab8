package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mldata-io/mldata/pkg/manifest"
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
