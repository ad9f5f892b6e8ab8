package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mldata-io/mldata/pkg/manifest"
)

// writeLeakyEvents writes users seen under three segments: a split keyed by
// user and stratified by segment puts some users in two splits.
func writeLeakyEvents(t *testing.T, dir string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("user,segment,amount\n")
	for u := range 300 {
		for k := range 3 {
			fmt.Fprintf(&b, "%d,s%d,%d\n", u, k, (u*3+k)%40)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "events.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSplitsCheckCommand(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	writeLeakyEvents(t, src)
	build := func(extra ...string) (string, string, int) {
		return pdRun(t, append([]string{"build", "--source", src, "--output", out, "--split", "train=0.5,test=0.5", "--split-key", "user", "--stratify-by", "segment"}, extra...)...)
	}

	// A leaking build fails under --on-failure fail and publishes nothing.
	_, stderr, code := build()
	if code != exitFailure || !strings.Contains(stderr, "splits leak") || !strings.Contains(stderr, "nothing was published") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, manifest.PointerKey)); !os.IsNotExist(err) {
		t.Fatalf("latest.json exists after a refused build: %v", err)
	}
	// Nothing published: splits check has nothing to read.
	if _, stderr, code := pdRun(t, "splits", "check", out); code != exitFailure || !strings.Contains(stderr, "no published build") {
		t.Fatalf("splits check without a build: exit %d\n%s", code, stderr)
	}

	// Under warn it is published with a warning, and splits check finds
	// the same leaks (exit 3).
	_, stderr, code = build("--on-failure", "warn", "--json")
	if code != exitOK || !strings.Contains(stderr, "warning: splits leak") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	stdout, stderr, code := pdRun(t, "splits", "check", out, "--json")
	if code != exitDrift || !strings.Contains(stderr, "splits leak") {
		t.Fatalf("splits check: exit %d\n%s", code, stderr)
	}
	var s manifest.SplitIntegrity
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	data, err := os.ReadFile(filepath.Join(out, manifest.PointerKey))
	if err != nil {
		t.Fatal(err)
	}
	ptr, err := manifest.DecodePointer(data)
	if err != nil {
		t.Fatal(err)
	}
	data, err = os.ReadFile(filepath.Join(out, ptr.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	// The build's own check and the command's agree, and the published
	// manifest records them.
	if m.SplitIntegrity == nil || s.LeakedKeys == 0 || s.LeakedKeys != m.SplitIntegrity.LeakedKeys || s.Consistent {
		t.Fatalf("command leaked %d, manifest %+v", s.LeakedKeys, m.SplitIntegrity)
	}
	if len(s.Leaks) != 1 || s.Leaks[0].A != "train" || s.Leaks[0].B != "test" || s.Leaks[0].Keys != s.LeakedKeys {
		t.Errorf("leaks %+v", s.Leaks)
	}
	stdout, _, code = pdRun(t, "splits", "check", out, "--build", m.BuildID)
	if code != exitDrift || !strings.Contains(stdout, fmt.Sprintf("leaks:      %d key(s) in more than one split", s.LeakedKeys)) || !strings.Contains(stdout, "splits NOT consistent (key: column user)") {
		t.Errorf("exit %d, stdout:\n%s", code, stdout)
	}

	// Keyed by user alone, no user is in two splits.
	out2 := t.TempDir()
	if _, stderr, code := pdRun(t, "build", "--source", src, "--output", out2, "--split", "train=0.5,test=0.5", "--split-key", "user"); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	stdout, stderr, code = pdRun(t, "splits", "check", out2)
	if code != exitOK || !strings.Contains(stdout, "splits consistent (key: column user)") || !strings.Contains(stdout, "leaks:      none") {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, stderr, code := pdRun(t, "splits", "check", out2, "--build", "nope"); code != exitFailure || !strings.Contains(stderr, "build nope") {
		t.Errorf("unknown build: exit %d\n%s", code, stderr)
	}
}
