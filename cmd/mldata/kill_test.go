package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/storage"
)

// TestMain lets a test run the real CLI in a child process: the test binary
// re-executes itself with MLDATA_TEST_MAIN set, and main runs as usual.
func TestMain(m *testing.M) {
	if os.Getenv("MLDATA_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func cliCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MLDATA_TEST_MAIN=1")
	return cmd
}

// publishedBigBuild writes a 300,000-row CSV source, big enough that a
// second build runs for a while, and publishes a first build of it by
// running the CLI; it returns the source and output folders.
func publishedBigBuild(t *testing.T) (src, out string) {
	t.Helper()
	src, out = t.TempDir(), t.TempDir()
	var b strings.Builder
	b.WriteString("id,v,name\n")
	for i := 0; i < 300000; i++ {
		fmt.Fprintf(&b, "%d,%d.25,name-%d\n", i, i%1000, i%77)
	}
	pdWrite(t, src, "big.csv", b.String())
	if o, err := cliCommand("build", "--source", src, "--output", out, "--split-key", "id").CombinedOutput(); err != nil {
		t.Fatalf("first build: %v\n%s", err, o)
	}
	return src, out
}

// A build process killed with SIGKILL mid-way leaves the published build
// intact and no new build visible through latest.json.
func TestKilledBuildLeavesPublishedBuildIntact(t *testing.T) {
	src, out := publishedBigBuild(t)
	before, err := os.ReadFile(filepath.Join(out, manifest.PointerKey))
	if err != nil {
		t.Fatal(err)
	}

	// Kill a full rebuild as soon as it has started writing parts.
	cmd := cliCommand("build", "--source", src, "--output", out, "--split-key", "id", "--full", "--chunk-rows", "1000", "--workers", "1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(filepath.Join(out, "builds"))
		if len(entries) > 1 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("the build was not killed mid-way (it finished first: %v); make the input bigger", err)
	}

	after, err := os.ReadFile(filepath.Join(out, manifest.PointerKey))
	if err != nil || string(after) != string(before) {
		t.Fatalf("latest.json changed after a killed build:\nbefore %s\nafter  %s", before, after)
	}
	// The published build reads back whole through the pointer.
	var p manifest.Pointer
	if err := json.Unmarshal(after, &p); err != nil {
		t.Fatal(err)
	}
	loc, err := storage.Open(t.Context(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	m, err := manifest.Read(t.Context(), loc, p.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := pdRun(t, "profile", out)
	if code != exitOK || !strings.Contains(stdout, `"num_rows": 300000`) {
		t.Fatalf("profile of the published build: exit %d, %s\n%.300s", code, stderr, stdout)
	}
	if m.Rows() != 300000 {
		t.Errorf("published build has %d rows", m.Rows())
	}
	// And the next build recovers: it publishes normally.
	if out, err := cliCommand("build", "--source", src, "--output", out, "--split-key", "id", "--full").CombinedOutput(); err != nil {
		t.Fatalf("build after the kill: %v\n%s", err, out)
	}
}
