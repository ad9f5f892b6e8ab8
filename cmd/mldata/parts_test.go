package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mldata-io/mldata/internal/testservers"
	"github.com/mldata-io/mldata/pkg/manifest"
)

// buildSample builds testdata/sample into a new folder with the CLI and
// returns the folder and the published manifest as stored on disk.
func buildSample(t *testing.T, extra ...string) (string, *manifest.Manifest) {
	t.Helper()
	out := t.TempDir()
	args := append([]string{"build", "--source", sample, "--output", out, "--split-key", "customer_id"}, extra...)
	if _, stderr, code := pdRun(t, args...); code != exitOK {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	return out, latestManifest(t, out)
}

func latestManifest(t *testing.T, out string) *manifest.Manifest {
	t.Helper()
	var p manifest.Pointer
	readJSON(t, filepath.Join(out, "latest.json"), &p)
	data, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(p.Manifest)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func fileSHA256(t *testing.T, path string) (string, int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), int64(len(data))
}

func TestPartsCommand(t *testing.T) {
	out, m := buildSample(t)

	// Every split: the manifest's parts in split order, as local paths.
	stdout, stderr, code := pdRun(t, "parts", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var want []string
	for _, s := range m.Splits {
		for _, p := range s.Parts {
			want = append(want, filepath.Join(out, filepath.FromSlash(p.Path)))
		}
	}
	if got := strings.Fields(stdout); strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) != 6 {
		t.Errorf("parts =\n%s\nwant the manifest's 6 parts (2 source files × 3 splits):\n%s", stdout, strings.Join(want, "\n"))
	}

	// --split train --format json: rows and bytes of the train split, each
	// part's SHA-256 equal to the file's, and the dataset digest.
	stdout, stderr, code = pdRun(t, "parts", out, "--split", "train", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got partsOutput
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if got.BuildID != m.BuildID || !got.Published || got.Format != "parquet" || got.Split != "train" ||
		got.ManifestURI != filepath.Join(out, "builds", m.BuildID, "manifest.json") {
		t.Errorf("header %+v", got)
	}
	if got.Rows != 792 || len(got.Parts) != 2 || got.Parts[0].Rows+got.Parts[1].Rows != 792 || got.Parts[1].Split != "train" {
		t.Errorf("train split: %d rows in %d part(s), want 792 in 2: %+v", got.Rows, len(got.Parts), got.Parts)
	}
	for _, p := range got.Parts {
		sum, size := fileSHA256(t, p.URI)
		if p.SHA256 != sum || p.Bytes != size {
			t.Errorf("%s: manifest says %d bytes sha256 %s; the file has %d bytes sha256 %s", p.URI, p.Bytes, p.SHA256, size, sum)
		}
	}
	if got.Digest != manifest.Digest(m) || !strings.HasPrefix(got.Digest, "sha256:") || len(got.Digest) != 7+64 {
		t.Errorf("digest %q, want %q", got.Digest, manifest.Digest(m))
	}

	// The same settings again with --full: a new build of byte-identical
	// parts in a new folder, so a new digest; the first stays listable by id.
	if _, stderr, code := pdRun(t, "build", "--source", sample, "--output", out, "--split-key", "customer_id", "--full"); code != exitOK {
		t.Fatalf("rebuild: exit %d: %s", code, stderr)
	}
	m2 := latestManifest(t, out)
	stdout, _, code = pdRun(t, "parts", out, "--build", m.BuildID, "--format", "json")
	var old partsOutput
	if err := json.Unmarshal([]byte(stdout), &old); err != nil || code != exitOK {
		t.Fatalf("exit %d: %v\n%s", code, err, stdout)
	}
	if old.BuildID != m.BuildID || old.Published || old.Digest != got.Digest || old.Rows != 1000 || len(old.Parts) != 6 {
		t.Errorf("--build %s: %+v", m.BuildID, old)
	}
	if d2 := manifest.Digest(m2); d2 == got.Digest {
		t.Errorf("rebuild has the first build's digest %s", d2)
	}
	for i, s := range m.Splits {
		for j, p := range s.Parts {
			if q := m2.Splits[i].Parts[j]; q.SHA256 != p.SHA256 || q.Path == p.Path {
				t.Errorf("split %s: rebuilt part %s (sha256 %s) vs %s (sha256 %s); want the same bytes in a new folder", s.Name, q.Path, q.SHA256, p.Path, p.SHA256)
			}
		}
	}

	// --verify passes on intact parts and names a changed one.
	if _, stderr, code := pdRun(t, "parts", out, "--build", m.BuildID, "--verify"); code != exitOK {
		t.Fatalf("--verify on intact parts: exit %d: %s", code, stderr)
	}
	victim := filepath.Join(out, filepath.FromSlash(m.Splits[2].Parts[0].Path))
	data, _ := os.ReadFile(victim)
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(victim, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = pdRun(t, "parts", out, "--build", m.BuildID, "--verify")
	if code != exitFailure || !strings.Contains(stderr, "verify "+victim+": SHA-256 ") || !strings.Contains(stderr, "the part changed after the build") {
		t.Errorf("--verify on a changed part: exit %d: %s", code, stderr)
	}
}

func TestPartsCommandErrors(t *testing.T) {
	out, _ := buildSample(t, "--output-format", "csv")
	tests := map[string]struct {
		args []string
		code int
		want string
	}{
		"unknown split":  {[]string{"parts", out, "--split", "holdout"}, exitUsage, `has no split "holdout"; its splits are train, validation, test`},
		"unknown format": {[]string{"parts", out, "--format", "yaml"}, exitUsage, `--format "yaml": use uris or json`},
		"unknown build":  {[]string{"parts", out, "--build", "20200101T000000000Z-abcdef"}, exitFailure, "build 20200101T000000000Z-abcdef has no manifest (builds/20200101T000000000Z-abcdef/manifest.json)"},
		"no build":       {[]string{"parts", t.TempDir()}, exitFailure, "no dataset to list"},
		"no argument":    {[]string{"parts"}, exitUsage, "takes 1 argument(s), got 0"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, stderr, code := pdRun(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}
	// A CSV build lists .csv parts.
	stdout, _, _ := pdRun(t, "parts", out, "--split", "test")
	if !strings.HasSuffix(strings.TrimSpace(stdout), ".csv") {
		t.Errorf("csv build parts: %q", stdout)
	}
}

// On S3 (versitygw): part URIs are bucket URIs that keep the output's query
// (endpoint, region), and --verify reads every part back from the bucket.
func TestPartsCommandS3(t *testing.T) {
	srv := testservers.S3(t)
	testservers.SetEnv(t, srv)
	if err := srv.CreateBucket(context.Background(), "datasets"); err != nil {
		t.Fatal(err)
	}
	out := srv.URI("datasets", "churn/")
	if _, stderr, code := pdRun(t, "build", "--source", sample, "--output", out, "--split-key", "customer_id"); code != exitOK {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	stdout, stderr, code := pdRun(t, "parts", out, "--format", "json", "--verify")
	if code != exitOK {
		t.Fatalf("parts: exit %d: %s", code, stderr)
	}
	var got partsOutput
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	query := out[strings.Index(out, "?"):]
	if got.Rows != 1000 || len(got.Parts) != 6 || !got.Published {
		t.Fatalf("parts on S3: %+v", got)
	}
	for _, p := range got.Parts {
		prefix := "s3://datasets/churn/builds/" + got.BuildID + "/" + p.Split + "/part-"
		if !strings.HasPrefix(p.URI, prefix) || !strings.HasSuffix(p.URI, ".parquet"+query) || len(p.SHA256) != 64 {
			t.Errorf("part %+v: want %s….parquet%s with a sha256", p, prefix, query)
		}
	}
	if want := "s3://datasets/churn/builds/" + got.BuildID + "/manifest.json" + query; got.ManifestURI != want {
		t.Errorf("manifest_uri %s, want %s", got.ManifestURI, want)
	}
}
