package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mldata-io/mldata/pkg/profile"
	"github.com/mldata-io/mldata/pkg/storage"
)

// pdRun runs the CLI in-process and returns its output and exit code, as
// main's run would compute it.
func pdRun(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := newRootCmd()
	var o, e bytes.Buffer
	root.SetOut(&o)
	root.SetErr(&e)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	var ee *exitError
	switch {
	case err == nil:
		code = exitOK
	case errors.As(err, &ee):
		code = ee.code
	case isUsageError(err):
		code = exitUsage
	default:
		code = exitFailure
	}
	if err != nil {
		e.WriteString(err.Error())
	}
	return o.String(), e.String(), code
}

func pdWrite(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const pdBaseCSV = `id,price,country
1,10.5,FR
2,11.0,DE
3,,FR
4,13.25,US
5,9.75,FR
`

func TestProfileCommand(t *testing.T) {
	dir := t.TempDir()
	src := pdWrite(t, dir, "a.csv", pdBaseCSV)
	out, errOut, code := pdRun(t, "profile", src)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	p, err := profile.Parse([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	// price: 10.5, 11, 13.25, 9.75 → mean 11.125; country FR×3.
	st, _ := p.Statistics.Get("price")
	if p.NumRows != 5 || st.Count != 4 || float64(*st.Mean) != 11.125 || p.FileSize != int64(len(pdBaseCSV)) {
		t.Errorf("profile = rows %d, price %+v, size %d", p.NumRows, st, p.FileSize)
	}
	d, _ := p.Distributions.Get("country")
	if len(d) != 3 || d[0].Key != "FR" || d[0].Value != 3 {
		t.Errorf("country = %v", d)
	}

	// --output and --html to files, with folders created.
	_, errOut, code = pdRun(t, "profile", src, "--output", filepath.Join(dir, "r", "p.json"), "--html", filepath.Join(dir, "r", "p.html"), "--max-memory", "1KiB", "--workers", "2")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "profiled") {
		t.Errorf("no summary on stderr: %q", errOut)
	}
	page, err := os.ReadFile(filepath.Join(dir, "r", "p.html"))
	if err != nil || !strings.Contains(string(page), "country") {
		t.Errorf("html: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "r", "p.json"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err = profile.Parse(data); err != nil || p.NumRows != 5 {
		t.Errorf("written profile: %v", err)
	}

	// A bucket URL as output.
	if _, errOut, code = pdRun(t, "profile", src, "--output", "mem://pdtest/reports/p.json"); code != exitOK {
		t.Fatalf("mem output: exit %d: %s", code, errOut)
	}
	loc, err := storage.Open(context.Background(), "mem://pdtest/reports/")
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	data, err = loc.ReadFile(context.Background(), "p.json")
	if err != nil || !json.Valid(data) {
		t.Errorf("mem://pdtest/reports/p.json: %v", err)
	}
}

func TestProfileUsageErrors(t *testing.T) {
	dir := t.TempDir()
	src := pdWrite(t, dir, "a.csv", pdBaseCSV)
	for _, args := range [][]string{
		{"profile"},
		{"profile", src, src},
		{"profile", src, "--format", "xml"},
		{"profile", src, "--max-memory", "lots"},
		{"profile", src, "--workers", "-1"},
		{"profile", src, "--output", dir + "/"},
		{"profile", src, "--output", "mem://bucket/"},
		{"profile", src, "--bogus"},
	} {
		if _, errOut, code := pdRun(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d (%s), want %d", args, code, errOut, exitUsage)
		}
	}
	if _, _, code := pdRun(t, "profile", filepath.Join(dir, "missing.csv")); code != exitFailure {
		t.Errorf("missing input: exit %d, want %d", code, exitFailure)
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "123": 123, "2GiB": 2 << 30, "2G": 2 << 30, "512 MiB": 512 << 20, "1.5KiB": 1536,
		"1KB": 1000, "3mb": 3e6, "7B": 7, "1TiB": 1 << 40,
	} {
		got, err := parseBytes(in)
		if err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "GiB", "-1", "2XB", "1e400", "99999999999TiB"} {
		if _, err := parseBytes(bad); err == nil {
			t.Errorf("parseBytes(%q) succeeded", bad)
		}
	}
}

func TestSplitDest(t *testing.T) {
	for _, tc := range []struct{ in, dir, key string }{
		{"profile.json", ".", "profile.json"},
		{"out/r/p.json", "out/r", "p.json"},
		{"s3://bucket/reports/p.json?region=eu-west-1", "s3://bucket/reports?region=eu-west-1", "p.json"},
		{"s3://bucket/p.json", "s3://bucket/", "p.json"},
		{"file:///tmp/x/p.json", "file:///tmp/x", "p.json"},
		{"mem://b/a/b/c.html", "mem://b/a/b", "c.html"},
	} {
		dir, key, err := splitDest(tc.in)
		if err != nil || dir != tc.dir || key != tc.key {
			t.Errorf("splitDest(%q) = %q, %q, %v; want %q, %q", tc.in, dir, key, err, tc.dir, tc.key)
		}
	}
}

// Non-finite text in a CSV: NaN is a null token, inf/-inf are values; the
// JSON stays valid, with the non-finite results spelled as strings.
func TestProfileNonFiniteText(t *testing.T) {
	dir := t.TempDir()
	src := pdWrite(t, dir, "inf.csv", "v,s\n1,a\ninf,b\n-inf,NaN\nNaN,\n2,Infinity\n")
	out, errOut, code := pdRun(t, "profile", src)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !json.Valid([]byte(out)) {
		t.Fatalf("invalid JSON:\n%s", out)
	}
	p, err := profile.Parse([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := p.Statistics.Get("v")
	// −inf, 1, 2, +inf: numpy's quartiles are −inf, 1.5, +inf; the mean of
	// +inf and −inf is NaN.
	if st.Count != 4 || !math.IsNaN(float64(*st.Mean)) || !math.IsInf(float64(*st.Percentiles.P25), -1) ||
		float64(*st.Percentiles.P50) != 1.5 || !math.IsInf(float64(*st.Max), 1) {
		t.Errorf("stats = %+v", st)
	}
	if !strings.Contains(out, `"mean": "NaN"`) || !strings.Contains(out, `"max": "Infinity"`) {
		t.Errorf("non-finite values not spelled as strings:\n%s", out)
	}
}
