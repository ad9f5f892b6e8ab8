package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The include pattern that made a backtracking matcher run for minutes at
// full CPU: a source holding one 60-level key, and twelve "**/a/" steps
// before a name the key does not have. mldata build answers at once that no
// file matches, and builds the file once one of that name is there. The
// test fails only if a build is still running after a minute; the time is
// logged for people to read.
func TestDeepGlobBuild(t *testing.T) {
	src := t.TempDir()
	deep := filepath.Join(append([]string{src}, strings.Split(strings.Repeat("a/", 60), "/")...)...)
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	pdWrite(t, deep, "c.csv", "id\n1\n")
	pattern := strings.Repeat("**/a/", 12) + "b.csv"
	build := func() (string, int, time.Duration) {
		type res struct {
			stdout, stderr string
			code           int
		}
		done := make(chan res, 1)
		start := time.Now()
		go func() {
			o, e, c := pdRun(t, "build", "--source", src, "--output", filepath.Join(t.TempDir(), "out"), "--include", pattern)
			done <- res{o, e, c}
		}()
		select {
		case r := <-done:
			return r.stdout + r.stderr, r.code, time.Since(start)
		case <-time.After(time.Minute):
			t.Fatal("build with a deep ** pattern still running after a minute")
		}
		return "", 0, 0
	}
	out, code, took := build()
	t.Logf("no match: exit %d after %v: %s", code, took.Round(time.Microsecond), strings.TrimSpace(out))
	if code == exitOK || !strings.Contains(out, "no files match") {
		t.Errorf("build without a matching file: exit %d, %s", code, out)
	}
	pdWrite(t, deep, "b.csv", "id\n1\n2\n")
	out, code, took = build()
	t.Logf("match: exit %d after %v: %s", code, took.Round(time.Microsecond), strings.TrimSpace(out))
	if code != exitOK || !strings.Contains(out, "2 rows") {
		t.Errorf("build of the matching file: exit %d, %s", code, out)
	}
}
