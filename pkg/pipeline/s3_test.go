package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mldata-io/mldata/internal/testservers"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/storage"
)

// s3Rows returns a CSV of n rows with ids from (7 digits, so that the
// size depends on n only) and values that depend on salt, so that two
// salts give two files of the same size and different content.
func s3Rows(from, n, salt int) string {
	var b strings.Builder
	b.WriteString("id,v,label,note\n")
	for id := from; id < from+n; id++ {
		h := uint64(id) * uint64(salt) * 0x9E3779B97F4A7C15
		note := fmt.Sprintf("%016x%016x%016x%016x", h, h^1, h^2, h^3)
		// A long note makes a big file out of few rows, which keeps the
		// test quick under the race detector.
		fmt.Fprintf(&b, "%07d,%03d.5,l%d,%s\n", id, s3Value(id, salt), id%3, strings.Repeat(note, 4))
	}
	return b.String()
}

func s3Value(id, salt int) int { return 100 + (id*salt)%900 }

// bigRows makes the big file larger than 16 MiB (274 bytes a row), which
// gocloud's S3 driver uploads in parts: its ETag is then not an MD5.
const bigRows = 63_000

// An incremental build from S3 to S3 against a real server (versitygw):
// versions come from listings (a multipart ETag for the big file), a
// rebuild with no change reads nothing, a same-size overwrite of the big
// file is detected and only that file is fetched again, and the published
// Parquet reads back from the bucket.
func TestS3IncrementalBuild(t *testing.T) {
	srv := testservers.S3(t)
	testservers.SetEnv(t, srv)
	ctx := context.Background()
	for _, b := range []string{"raw", "datasets"} {
		if err := srv.CreateBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	srcURI, outURI := srv.URI("raw", "events/"), srv.URI("datasets", "events/")
	src, err := storage.OpenOutput(ctx, srcURI)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	files := map[string]string{
		"a.csv":       s3Rows(1_000_000, 50, 1),
		"b.csv":       s3Rows(1_100_000, 60, 1),
		"c.csv":       s3Rows(1_200_000, 70, 1),
		"big/big.csv": s3Rows(2_000_000, bigRows, 1),
	}
	for k, v := range files {
		if err := src.WriteFile(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	bigSize := int64(len(files["big/big.csv"]))
	if bigSize < 16<<20 {
		t.Fatalf("big file is %d bytes, want at least 16 MiB", bigSize)
	}
	const rows = 50 + 60 + 70 + bigRows

	config := func() Config {
		cfg := incConfig(t, srcURI, outURI)
		cfg.ScratchDir = t.TempDir()
		cfg.Read.ChunkRows = 4096
		cfg.PartRows = 1 << 17
		return cfg
	}
	// sourceGets counts the GetObject calls on source objects since the
	// previous call, by key: what the build fetched from the source bucket.
	seen := 0
	sourceGets := func() map[string]int {
		t.Helper()
		reqs, err := srv.Requests()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, r := range reqs[seen:] {
			if r.Operation == "s3_GetObject" && r.Bucket == "raw" {
				got[strings.TrimPrefix(r.Key, "events/")]++
			}
		}
		seen = len(reqs)
		return got
	}
	sourceGets()

	cfg := config()
	first := mustBuild(t, cfg)
	if !first.Plan.Full || len(first.Reuse.Processed) != 4 || first.Manifest.Rows() != rows {
		t.Fatalf("first build: plan %v, processed %v, rows %d", first.Plan, first.Reuse.Processed, first.Manifest.Rows())
	}
	// Each source object is fetched once: spooled, then read from scratch.
	if d := cmp.Diff(map[string]int{"a.csv": 1, "b.csv": 1, "c.csv": 1, "big/big.csv": 1}, sourceGets()); d != "" {
		t.Errorf("first build's GetObject calls (-want +got):\n%s", d)
	}
	multipart := regexp.MustCompile(`^etag:"[0-9a-f]{32}-[0-9]+"$`)
	for _, f := range first.Manifest.Source.Files {
		sum := sha256.Sum256([]byte(files[f.Key]))
		if f.SHA256 != hex.EncodeToString(sum[:]) || f.Size != int64(len(files[f.Key])) {
			t.Errorf("%s: sha256 %s size %d; want the content's", f.Key, f.SHA256, f.Size)
		}
		md5tag := regexp.MustCompile(`^etag:"[0-9a-f]{32}"$`) // single-part: the ETag is the MD5
		if f.Key == "big/big.csv" && !multipart.MatchString(f.Version) || f.Key != "big/big.csv" && !md5tag.MatchString(f.Version) {
			t.Errorf("%s: version %s", f.Key, f.Version)
		}
	}

	// Nothing changed: nothing read, nothing published.
	cfg = config()
	same := mustBuild(t, cfg)
	if !same.UpToDate || same.Manifest.BuildID != first.Manifest.BuildID || cfg.Stats.BytesRead.Load() != 0 {
		t.Fatalf("no-change rebuild: up to date %v, build %s, bytes read %d", same.UpToDate, same.Manifest.BuildID, cfg.Stats.BytesRead.Load())
	}
	if got := sourceGets(); len(got) != 0 {
		t.Errorf("no-change rebuild fetched %v", got)
	}

	// The big file rewritten with other content of the same size: only the
	// listing's ETag can tell, and it does.
	files["big/big.csv"] = s3Rows(2_000_000, bigRows, 7)
	if int64(len(files["big/big.csv"])) != bigSize {
		t.Fatalf("rewritten big file has %d bytes, want %d", len(files["big/big.csv"]), bigSize)
	}
	if err := src.WriteFile(ctx, "big/big.csv", []byte(files["big/big.csv"])); err != nil {
		t.Fatal(err)
	}
	cfg = config()
	changed := mustBuild(t, cfg)
	if d := cmp.Diff([]string{"big/big.csv"}, changed.Plan.Changed); d != "" || len(changed.Plan.Unchanged) != 3 {
		t.Fatalf("plan %+v", changed.Plan)
	}
	if d := cmp.Diff([]string{"big/big.csv"}, changed.Reuse.Processed); d != "" || len(changed.Reuse.Reused) != 3 {
		t.Fatalf("reuse %+v", changed.Reuse)
	}
	// BytesRead counts the inspection and the processing pass; both read
	// the one spooled copy, fetched once.
	if got, want := cfg.Stats.BytesRead.Load(), 2*bigSize; got != want {
		t.Errorf("bytes read = %d, want %d (two passes over the changed file only)", got, want)
	}
	if d := cmp.Diff(map[string]int{"big/big.csv": 1}, sourceGets()); d != "" {
		t.Errorf("rebuild's GetObject calls (-want +got):\n%s", d)
	}
	versionOf := func(m *manifest.Manifest, key string) string {
		for _, f := range m.Source.Files {
			if f.Key == key {
				return f.Version
			}
		}
		return ""
	}
	if v, v0 := versionOf(changed.Manifest, "big/big.csv"), versionOf(first.Manifest, "big/big.csv"); v == v0 || !multipart.MatchString(v) {
		t.Errorf("big file's version %s after the rewrite (before: %s)", v, v0)
	}

	// Read the published dataset back from the bucket.
	out := mustOpenLoc(t, outURI)
	p, m, err := manifest.ReadLatest(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if p.BuildID != changed.Manifest.BuildID || m.Rows() != rows {
		t.Fatalf("latest.json names %s with %d rows; want %s with %d", p.BuildID, m.Rows(), changed.Manifest.BuildID, rows)
	}
	dir := t.TempDir()
	values := map[string]string{}
	for _, s := range m.Splits {
		for i, part := range s.Parts {
			data, err := out.ReadFile(ctx, part.Path)
			if err != nil {
				t.Fatal(err)
			}
			local := filepath.Join(dir, fmt.Sprintf("%s-%d.parquet", s.Name, i))
			if err := os.WriteFile(local, data, 0o644); err != nil {
				t.Fatal(err)
			}
			cols, got := readParquet(t, local)
			if d := cmp.Diff([]string{"id", "v", "label", "note"}, cols); d != "" {
				t.Fatalf("%s columns (-want +got):\n%s", part.Path, d)
			}
			if int64(len(got)) != part.Rows {
				t.Errorf("%s: %d rows, manifest says %d", part.Path, len(got), part.Rows)
			}
			for _, r := range got {
				if _, dup := values[r[0]]; dup {
					t.Fatalf("id %s twice", r[0])
				}
				values[r[0]] = r[1]
			}
		}
	}
	if len(values) != rows {
		t.Fatalf("%d distinct ids in the parts, want %d", len(values), rows)
	}
	// The big file's rows carry the rewritten values, the others the first.
	for _, id := range []int{2_000_000, 2_000_001, 2_012_345, 2_000_000 + bigRows - 1, 1_000_000, 1_200_069} {
		salt := 1
		if id >= 2_000_000 {
			salt = 7
		}
		want := float64(s3Value(id, salt)) + 0.5
		if got, err := strconv.ParseFloat(values[strconv.Itoa(id)], 64); err != nil || got != want {
			t.Errorf("id %d: v = %q, want %v", id, values[strconv.Itoa(id)], want)
		}
	}
}

func mustOpenLoc(t *testing.T, uri string) *storage.Location {
	t.Helper()
	l, err := storage.Open(context.Background(), uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
