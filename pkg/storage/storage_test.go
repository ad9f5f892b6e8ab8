package storage

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var shapeFiles = map[string]string{
	"top.csv":        "t\n1\n",
	"data/a.csv":     "a\n1\n",
	"data/sub/b.csv": "b\n2\n",
	"data2/c.csv":    "c\n3\n",
}

func TestOpenShapes(t *testing.T) {
	forEachStore(t, func(t *testing.T, s testStore, root string) {
		seed(t, root, shapeFiles)
		tests := []struct {
			rel      string
			object   string
			wantKeys []string
		}{
			{rel: "", wantKeys: []string{"data/a.csv", "data/sub/b.csv", "data2/c.csv", "top.csv"}},
			// "data" must not pick up "data2/": a prefix is a directory.
			{rel: "data", wantKeys: []string{"a.csv", "sub/b.csv"}},
			{rel: "data/", wantKeys: []string{"a.csv", "sub/b.csv"}},
			{rel: "data/sub", wantKeys: []string{"b.csv"}},
			{rel: "data/a.csv", object: "a.csv", wantKeys: []string{"a.csv"}},
			{rel: "top.csv", object: "top.csv", wantKeys: []string{"top.csv"}},
		}
		for _, tc := range tests {
			uri := root
			if tc.rel != "" {
				uri = joinURI(root, tc.rel)
			}
			l := mustOpen(t, uri)
			if l.Object != tc.object {
				t.Errorf("Open(%s).Object = %q, want %q", tc.rel, l.Object, tc.object)
			}
			if l.Prefix != "" && !strings.HasSuffix(l.Prefix, "/") {
				t.Errorf("Open(%s).Prefix = %q, want \"\" or ending in /", tc.rel, l.Prefix)
			}
			objs, err := l.List(context.Background(), nil)
			if err != nil {
				t.Fatalf("List(%s): %v", tc.rel, err)
			}
			if d := cmp.Diff(tc.wantKeys, keys(objs)); d != "" {
				t.Errorf("List(%s) keys (-want +got):\n%s", tc.rel, d)
			}
			// The keys List returns are the keys the other methods take.
			for _, o := range objs {
				got, err := l.ReadFile(context.Background(), o.Key)
				if err != nil {
					t.Fatalf("ReadFile(%s, %s): %v", tc.rel, o.Key, err)
				}
				dir := strings.TrimSuffix(tc.rel, tc.object)
				if dir != "" && !strings.HasSuffix(dir, "/") {
					dir += "/"
				}
				full := dir + o.Key
				if string(got) != shapeFiles[full] {
					t.Errorf("ReadFile(%s, %s) = %q, want %q (file %s)", tc.rel, o.Key, got, shapeFiles[full], full)
				}
				if o.Size != int64(len(shapeFiles[full])) {
					t.Errorf("List(%s) size of %s = %d, want %d", tc.rel, o.Key, o.Size, len(shapeFiles[full]))
				}
			}
		}
	})
}

func TestOpenRelativeLocalPaths(t *testing.T) {
	dir := t.TempDir()
	seed(t, dir, shapeFiles)
	t.Chdir(dir)
	tests := []struct {
		uri      string
		object   string
		wantKeys []string
	}{
		{uri: "data", wantKeys: []string{"a.csv", "sub/b.csv"}},
		{uri: "./data/", wantKeys: []string{"a.csv", "sub/b.csv"}},
		{uri: "data/a.csv", object: "a.csv", wantKeys: []string{"a.csv"}},
		{uri: "file://./data", wantKeys: []string{"a.csv", "sub/b.csv"}},
		{uri: "file://./data/sub/b.csv", object: "b.csv", wantKeys: []string{"b.csv"}},
		{uri: "file://.", wantKeys: []string{"data/a.csv", "data/sub/b.csv", "data2/c.csv", "top.csv"}},
		{uri: "file://localhost" + filepath.ToSlash(dir) + "/data2", wantKeys: []string{"c.csv"}},
		{uri: "file://" + filepath.ToSlash(dir) + "/data2?metadata=skip", wantKeys: []string{"c.csv"}},
	}
	for _, tc := range tests {
		l := mustOpen(t, tc.uri)
		if l.Object != tc.object {
			t.Errorf("Open(%s).Object = %q, want %q", tc.uri, l.Object, tc.object)
		}
		objs, err := l.List(context.Background(), nil)
		if err != nil {
			t.Fatalf("List(%s): %v", tc.uri, err)
		}
		if d := cmp.Diff(tc.wantKeys, keys(objs)); d != "" {
			t.Errorf("List(%s) (-want +got):\n%s", tc.uri, d)
		}
		if l.String() != tc.uri {
			t.Errorf("String() = %q, want the URI as given %q", l.String(), tc.uri)
		}
	}
}

func TestOpenMissingSource(t *testing.T) {
	forEachStore(t, func(t *testing.T, s testStore, root string) {
		seed(t, root, map[string]string{"data/a.csv": "x"})
		uri := joinURI(root, "nope")
		_, err := Open(context.Background(), uri)
		if err == nil {
			t.Fatalf("Open(%s) succeeded for a missing source", uri)
		}
		if !IsNotExist(err) {
			t.Errorf("IsNotExist(%v) = false", err)
		}
		var want string
		if s.local {
			want = "source " + uri + ": no such file or directory ("
		} else {
			want = "source " + uri + ": no such object or prefix; check the URI and credentials"
		}
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error = %q, want it to start with %q", err, want)
		}
	})
}

func TestOpenEmptyBucketIsMissing(t *testing.T) {
	_, err := Open(context.Background(), "mem://never-written")
	want := "source mem://never-written: no such object or prefix; check the URI and credentials"
	if err == nil || err.Error() != want {
		t.Fatalf("Open(empty mem) error = %v, want %q", err, want)
	}
	// A directory marker alone does not make a prefix exist.
	seed(t, "mem://only-marker", map[string]string{"d/": ""})
	if _, err := Open(context.Background(), "mem://only-marker/d"); !IsNotExist(err) {
		t.Errorf("Open(prefix with only a marker) error = %v, want a not-exist error", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.csv")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		open    func(context.Context, string) (*Location, error)
		uri     string
		wantSub string
	}{
		{"empty", Open, "  ", "empty URI"},
		{"scheme", Open, "ftp://host/x", `unsupported scheme "ftp"`},
		{"bad url", Open, "s3://b/%zz", "not a valid URI"},
		{"remote file host", Open, "file://otherhost/x", "cannot name a remote host"},
		{"file without path", Open, "file://", "without a path"},
		{"file query", Open, "file:///tmp?nope=1", `unsupported query parameter "nope"`},
		{"mem query", Open, "mem://x?nope=1", `unsupported query parameter "nope"`},
		{"no bucket", OpenOutput, "s3:///prefix", "no bucket name"},
		{"output is a file", OpenOutput, file, "is a file, not a directory"},
		{"output under a file", OpenOutput, filepath.Join(file, "sub"), "not a directory"},
		{"s3 bad param", OpenOutput, "s3://b/p?nope=1", "open bucket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := tc.open(context.Background(), tc.uri)
			if err == nil {
				l.Close()
				t.Fatalf("open(%q) succeeded, want error containing %q", tc.uri, tc.wantSub)
			}
			if !strings.Contains(err.Error(), tc.wantSub) {
				t.Errorf("open(%q) error = %q, want it to contain %q", tc.uri, err, tc.wantSub)
			}
		})
	}
}

func TestOpenOutput(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a", "b")
	out, err := OpenOutput(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Fatalf("OpenOutput did not create %s: %v", dir, err)
	}
	if err := out.WriteFile(ctx, "builds/1/manifest.json", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "builds", "1", "manifest.json"))
	if err != nil || string(got) != "{}" {
		t.Fatalf("written file = %q, %v", got, err)
	}
	// No metadata sidecars next to the data.
	if _, err := os.Stat(filepath.Join(dir, "builds", "1", "manifest.json.attrs")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("sidecar written: %v", err)
	}

	// Outputs are prefixes even when an object of that name exists.
	seed(t, "mem://out-shapes", map[string]string{"out": "x"})
	for _, uri := range []string{"mem://out-shapes/out", "mem://out-shapes/out/"} {
		l, err := OpenOutput(ctx, uri)
		if err != nil {
			t.Fatal(err)
		}
		if l.Prefix != "out/" || l.Object != "" {
			t.Errorf("OpenOutput(%s) = prefix %q object %q, want prefix \"out/\"", uri, l.Prefix, l.Object)
		}
	}

	// No store is contacted to open an output prefix.
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	s3, err := OpenOutput(ctx, "s3://bucket/out?region=us-east-1&endpoint=http://127.0.0.1:1&use_path_style=true")
	if err != nil {
		t.Fatal(err)
	}
	if s3.Prefix != "out/" || s3.Object != "" {
		t.Errorf("s3 output prefix %q object %q", s3.Prefix, s3.Object)
	}
	if _, ok := s3.LocalPath("x"); ok {
		t.Error("LocalPath ok for s3")
	}
	if err := s3.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestMemBucketsAreSharedByName(t *testing.T) {
	ctx := context.Background()
	a, err := OpenOutput(ctx, "mem://shared/x")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.WriteFile(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	// Closing one Location must not discard the store others use.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := mustOpen(t, "mem://shared/x/k")
	got, err := b.ReadFile(ctx, b.Object)
	if err != nil || string(got) != "v" {
		t.Fatalf("second open reads %q, %v; want \"v\"", got, err)
	}
	if _, err := Open(ctx, "mem://other-name/x/k"); !IsNotExist(err) {
		t.Errorf("another name sees the object: %v", err)
	}
}

func TestListSkipsAndSorts(t *testing.T) {
	forEachStore(t, func(t *testing.T, s testStore, root string) {
		files := map[string]string{
			"a.csv":             "1",
			"a-b.csv":           "2",
			"a/x.csv":           "3",
			"B.csv":             "4",
			".hidden.csv":       "h",
			".git/config":       "h",
			"sub/.DS_Store":     "h",
			"sub/.tmp/part.csv": "h",
			"sub/ok.json":       "5",
		}
		if !s.local {
			files["sub/"] = "" // a directory marker, as consoles create
		}
		seed(t, root, files)
		if s.local {
			dir := strings.TrimPrefix(root, "file://")
			// Left by another tool or by a write in progress.
			for _, name := range []string{"a.csv.attrs", "a.csv.18b2f9c1d2e3a4f5.tmp"} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte("junk"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		l := mustOpen(t, root)
		objs, err := l.List(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		// Byte order: upper case before lower case, and '-' < '.' < '/'.
		want := []string{"B.csv", "a-b.csv", "a.csv", "a/x.csv", "sub/ok.json"}
		if d := cmp.Diff(want, keys(objs)); d != "" {
			t.Errorf("List (-want +got):\n%s", d)
		}
	})
}

func TestListInclude(t *testing.T) {
	forEachStore(t, func(t *testing.T, s testStore, root string) {
		seed(t, root, map[string]string{
			"a.csv":            "1",
			"b.jsonl":          "2",
			"2024/c.csv":       "3",
			"2024/01/d.csv.gz": "4",
			"raw/x/y/e.csv":    "5",
		})
		l := mustOpen(t, root)
		tests := []struct {
			include []string
			want    []string
		}{
			{nil, []string{"2024/01/d.csv.gz", "2024/c.csv", "a.csv", "b.jsonl", "raw/x/y/e.csv"}},
			{[]string{"*.csv"}, []string{"2024/c.csv", "a.csv", "raw/x/y/e.csv"}},
			{[]string{"2024/*.csv"}, []string{"2024/c.csv"}},
			{[]string{"**/*.csv"}, []string{"2024/c.csv", "a.csv", "raw/x/y/e.csv"}},
			{[]string{"raw/**/*.csv"}, []string{"raw/x/y/e.csv"}},
			{[]string{"*.jsonl", "*.gz"}, []string{"2024/01/d.csv.gz", "b.jsonl"}},
			{[]string{"nothing"}, nil},
		}
		for _, tc := range tests {
			objs, err := l.List(context.Background(), tc.include)
			if err != nil {
				t.Fatalf("List(%v): %v", tc.include, err)
			}
			if d := cmp.Diff(tc.want, keys(objs), cmpEmpty); d != "" {
				t.Errorf("List(%v) (-want +got):\n%s", tc.include, d)
			}
		}
		if _, err := l.List(context.Background(), []string{"[a-"}); err == nil || !strings.Contains(err.Error(), `include pattern "[a-"`) {
			t.Errorf("List with a bad pattern: error = %v", err)
		}
	})
}

// "**" is matched without backtracking: the 60-level key against twelve
// "**/a/" steps answers at once (a backtracking matcher tries about
// C(60,12) splits), and the result is right both when the name differs and
// when it matches.
func TestMatchKeyDeepGlob(t *testing.T) {
	pattern, key := deepGlob()
	start := time.Now()
	ok, err := MatchKey([]string{pattern}, key)
	if err != nil || ok {
		t.Fatalf("MatchKey(%q, 60 levels + c.csv) = %v, %v; want false", pattern, ok, err)
	}
	match := strings.Repeat("a/", 60) + "b.csv"
	if ok, err := MatchKey([]string{pattern}, match); err != nil || !ok {
		t.Fatalf("MatchKey(%q, 60 levels + b.csv) = %v, %v; want true", pattern, ok, err)
	}
	// Eleven "a" levels are one too few for twelve "**/a/" steps.
	short := strings.Repeat("a/", 11) + "b.csv"
	if ok, err := MatchKey([]string{pattern}, short); err != nil || ok {
		t.Fatalf("MatchKey(%q, 11 levels + b.csv) = %v, %v; want false", pattern, ok, err)
	}
	t.Logf("three deep matches took %v", time.Since(start))
}

func TestValidatePatternsLength(t *testing.T) {
	long := strings.Repeat("a/", MaxPatternBytes/2) + "x"
	err := ValidatePatterns([]string{long})
	if err == nil || !strings.Contains(err.Error(), "limited to 256 bytes") {
		t.Fatalf("ValidatePatterns(%d bytes) = %v", len(long), err)
	}
	if _, err := MatchKey([]string{long}, "a"); err == nil {
		t.Fatal("MatchKey accepted an over-long pattern")
	}
	if err := ValidatePatterns([]string{strings.Repeat("*", MaxPatternBytes)}); err != nil {
		t.Fatalf("a pattern of exactly %d bytes: %v", MaxPatternBytes, err)
	}
}

// cmpEmpty treats nil and empty slices as equal.
var cmpEmpty = cmp.Comparer(func(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
})

func TestListSingleObjectIgnoresInclude(t *testing.T) {
	forEachStore(t, func(t *testing.T, s testStore, root string) {
		seed(t, root, map[string]string{"d/x.jsonl": "{}\n"})
		l := mustOpen(t, joinURI(root, "d/x.jsonl"))
		objs, err := l.List(context.Background(), []string{"*.csv"})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{"x.jsonl"}, keys(objs)); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
		if objs[0].Size != 3 {
			t.Errorf("size = %d, want 3", objs[0].Size)
		}
	})
}

func TestMatchKey(t *testing.T) {
	tests := []struct {
		patterns []string
		key      string
		want     bool
	}{
		{nil, "anything/at/all", true},
		{[]string{"*.csv"}, "a.csv", true},
		{[]string{"*.csv"}, "x/y/a.csv", true}, // base name
		{[]string{"*.csv"}, "a.csv.gz", false},
		{[]string{"x/*.csv"}, "x/a.csv", true},
		{[]string{"x/*.csv"}, "x/y/a.csv", false}, // * stops at /
		{[]string{"x/*.csv"}, "y/x/a.csv", false},
		{[]string{"**/a.csv"}, "a.csv", true},
		{[]string{"**/a.csv"}, "p/q/r/a.csv", true},
		{[]string{"**/q/*.csv"}, "p/q/a.csv", true},
		{[]string{"**/q/*.csv"}, "p/r/a.csv", false},
		{[]string{"p/**/a.csv"}, "p/a.csv", true},
		{[]string{"p/**/a.csv"}, "p/1/2/a.csv", true},
		{[]string{"p/**/a.csv"}, "z/p/a.csv", false},
		{[]string{"p/**"}, "p/1/2/a.csv", true},
		{[]string{"p/**/**/a.csv"}, "p/x/a.csv", true},
		{[]string{"p/**/a.csv"}, "p/1/2/b.csv", false},
		{[]string{"data-??.csv"}, "data-01.csv", true},
		{[]string{"data-[0-9]*.csv"}, "d/data-7x.csv", true},
		{[]string{"data-[0-9]*.csv"}, "data-x.csv", false},
		{[]string{"a.csv", "b.csv"}, "b.csv", true},
	}
	for _, tc := range tests {
		got, err := MatchKey(tc.patterns, tc.key)
		if err != nil {
			t.Fatalf("MatchKey(%q, %q): %v", tc.patterns, tc.key, err)
		}
		if got != tc.want {
			t.Errorf("MatchKey(%q, %q) = %v, want %v", tc.patterns, tc.key, got, tc.want)
		}
	}
	if _, err := MatchKey([]string{"[x"}, "a"); err == nil {
		t.Error("MatchKey accepted a bad pattern")
	}
	if _, err := MatchKey([]string{"**/[x"}, "a"); err == nil {
		t.Error("MatchKey accepted a bad ** pattern")
	}
	for _, p := range [][]string{{""}, {"ok", "\\"}, {"a/**/[b"}} {
		if err := ValidatePatterns(p); err == nil {
			t.Errorf("ValidatePatterns(%q) = nil", p)
		}
	}
}

func TestHashingReaderKnownValues(t *testing.T) {
	tests := []struct {
		in   string
		want string // from `printf %s IN | sha256sum`
	}{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"The quick brown fox jumps over the lazy dog", "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"},
	}
	forEachStore(t, func(t *testing.T, s testStore, root string) {
		ctx := context.Background()
		files := map[string]string{}
		for i, tc := range tests {
			files[string(rune('a'+i))+".txt"] = tc.in
		}
		seed(t, root, files)
		l := mustOpen(t, root)
		for i, tc := range tests {
			hr, err := l.NewHashingReader(ctx, string(rune('a'+i))+".txt")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(hr)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.in {
				t.Errorf("content %q, want %q", got, tc.in)
			}
			if hr.Sum() != tc.want || hr.N() != int64(len(tc.in)) {
				t.Errorf("hash of %q = %s, %d bytes; want %s, %d", tc.in, hr.Sum(), hr.N(), tc.want, len(tc.in))
			}
			if err := hr.Close(); err != nil {
				t.Error(err)
			}
		}
	})
}

func TestHashingReaderPartialReads(t *testing.T) {
	const fox = "The quick brown fox jumps over the lazy dog"
	const foxSum = "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"
	ctx := context.Background()
	seed(t, "mem://partial", map[string]string{"f": fox})
	l := mustOpen(t, "mem://partial")

	// Stopped early: no hash, rather than the hash of a prefix.
	hr, err := l.NewHashingReader(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(hr, buf); err != nil {
		t.Fatal(err)
	}
	if hr.Complete() || hr.Sum() != "" || hr.N() != 10 {
		t.Errorf("after 10 bytes: complete %v sum %q n %d; want false, \"\", 10", hr.Complete(), hr.Sum(), hr.N())
	}
	if err := hr.Drain(); err != nil {
		t.Fatal(err)
	}
	if hr.Sum() != foxSum || hr.N() != int64(len(fox)) {
		t.Errorf("after Drain: %s %d", hr.Sum(), hr.N())
	}
	if err := hr.Drain(); err != nil { // idempotent
		t.Fatal(err)
	}
	hr.Close()

	// Read exactly the object's size without asking for EOF (as gzip does):
	// the size from the store tells the hash is complete.
	hr, err = l.NewHashingReader(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	buf = make([]byte, len(fox))
	if _, err := io.ReadFull(hr, buf); err != nil {
		t.Fatal(err)
	}
	if !hr.Complete() || hr.Sum() != foxSum {
		t.Errorf("full read without EOF: complete %v sum %q", hr.Complete(), hr.Sum())
	}
	hr.Close()

	// A plain reader of unknown size needs EOF.
	h := NewHashing(strings.NewReader("abc"))
	b3 := make([]byte, 3)
	if _, err := io.ReadFull(h, b3); err != nil {
		t.Fatal(err)
	}
	if h.Sum() != "" {
		t.Errorf("Sum before EOF = %q", h.Sum())
	}
	if n, err := h.Read(b3); n != 0 || err != io.EOF {
		t.Fatalf("Read at end = %d, %v", n, err)
	}
	if h.Sum() != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("Sum(abc) = %s", h.Sum())
	}
	if err := h.Close(); err != nil { // not a Closer: no-op
		t.Error(err)
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestNewHashingCloseAndErrors(t *testing.T) {
	c := &closeRecorder{Reader: strings.NewReader("x")}
	h := NewHashing(c)
	if err := h.Close(); err != nil || !c.closed {
		t.Errorf("Close did not close the wrapped reader (err %v)", err)
	}
	h = NewHashing(failingReader{})
	if err := h.Drain(); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Drain error = %v", err)
	}
	if h.Sum() != "" {
		t.Errorf("Sum after failed read = %q", h.Sum())
	}
}

func TestSpool(t *testing.T) {
	forEachStore(t, func(t *testing.T, s testStore, root string) {
		ctx := context.Background()
		seed(t, root, map[string]string{"in/data.parquet": "abc"})
		l := mustOpen(t, joinURI(root, "in"))
		dir := t.TempDir()
		f, sum, size, err := l.Spool(ctx, "data.parquet", dir)
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if sum != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" || size != 3 {
			t.Errorf("Spool = %s, %d", sum, size)
		}
		if filepath.Dir(f.Name()) != dir || !strings.HasSuffix(f.Name(), ".parquet") {
			t.Errorf("spool file %s, want it in %s with the key's extension", f.Name(), dir)
		}
		// At offset 0, and usable with ReadAt.
		got, err := io.ReadAll(f)
		if err != nil || string(got) != "abc" {
			t.Errorf("spooled content %q, %v", got, err)
		}
		b := make([]byte, 1)
		if _, err := f.ReadAt(b, 1); err != nil || b[0] != 'b' {
			t.Errorf("ReadAt = %q, %v", b, err)
		}

		// A missing key leaves nothing behind.
		if _, _, _, err := l.Spool(ctx, "missing.parquet", dir); !IsNotExist(err) {
			t.Errorf("Spool(missing) error = %v, want not-exist", err)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("spool dir has %d entries, want 1", len(entries))
		}
		if _, _, _, err := l.Spool(ctx, "data.parquet", filepath.Join(dir, "no", "such")); err == nil {
			t.Error("Spool into a missing directory succeeded")
		}
	})
}

func TestSpoolExt(t *testing.T) {
	tests := map[string]string{
		"a/b.csv.gz":                   ".csv.gz",
		"noext":                        "",
		".hidden":                      "",
		"x." + strings.Repeat("e", 40): "",
	}
	for key, want := range tests {
		if got := spoolExt(key); got != want {
			t.Errorf("spoolExt(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestWriteFileIfAbsentRace(t *testing.T) {
	forEachStore(t, func(t *testing.T, s testStore, root string) {
		ctx := context.Background()
		out, err := OpenOutput(ctx, root)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				errs[i] = out.WriteFileIfAbsent(ctx, "claims/build.json", []byte{byte('0' + i)})
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("writers %d and %d both won", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, ErrExists):
				t.Errorf("writer %d: %v, want ErrExists", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no writer won")
		}
		got, err := out.ReadFile(ctx, "claims/build.json")
		if err != nil || string(got) != string(rune('0'+winner)) {
			t.Errorf("content %q, %v; want the winner's %q", got, err, string(rune('0'+winner)))
		}
		err = out.WriteFileIfAbsent(ctx, "claims/build.json", []byte("late"))
		if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), `"claims/build.json"`) {
			t.Errorf("late writer error = %v", err)
		}
		// Nothing but the claim is visible.
		objs, err := out.List(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{"claims/build.json"}, keys(objs)); d != "" {
			t.Errorf("List after race (-want +got):\n%s", d)
		}
	})
}

func TestWriteFileIfAbsentEscapedKey(t *testing.T) {
	// Keys that fileblob must escape take the driver's conditional write.
	ctx := context.Background()
	out, err := OpenOutput(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	key := "odd\x01key"
	if err := out.WriteFileIfAbsent(ctx, key, []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := out.WriteFileIfAbsent(ctx, key, []byte("2")); !errors.Is(err, ErrExists) {
		t.Errorf("second write: %v, want ErrExists", err)
	}
}

func TestWriterAbort(t *testing.T) {
	forEachStore(t, func(t *testing.T, s testStore, root string) {
		out, err := OpenOutput(context.Background(), root)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		payload := []byte(strings.Repeat("row,1\n", 1000))

		// Cancelled before Close: Close fails, nothing is published.
		ctx, cancel := context.WithCancel(context.Background())
		w, err := out.NewWriter(ctx, "part-00000.csv", "text/csv")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(payload); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := w.Close(); err == nil {
			t.Error("Close after cancel succeeded")
		}

		// Close never reached: nothing is published either.
		ctx2, cancel2 := context.WithCancel(context.Background())
		defer cancel2()
		w2, err := out.NewWriter(ctx2, "part-00001.csv", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w2.Write(payload); err != nil {
			t.Fatal(err)
		}

		for _, k := range []string{"part-00000.csv", "part-00001.csv"} {
			if ok, err := out.Exists(context.Background(), k); ok || err != nil {
				t.Errorf("Exists(%s) = %v, %v after an aborted write", k, ok, err)
			}
		}
		objs, err := out.List(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 0 {
			t.Errorf("List after aborted writes = %v, want nothing", keys(objs))
		}
		cancel2()
		if err := w2.Close(); err == nil {
			t.Error("Close after cancel succeeded")
		}
		if ok, _ := out.Exists(context.Background(), "part-00001.csv"); ok {
			t.Error("cancelled writer published")
		}

		// A completed write is visible, with its content.
		w3, err := out.NewWriter(context.Background(), "done.csv", "")
		if err != nil {
			t.Fatal(err)
		}
		// Not an io.WriterTo, so io.Copy goes through the writer's ReadFrom.
		if _, err := io.Copy(w3, io.LimitReader(strings.NewReader("a\n1\n"), 100)); err != nil {
			t.Fatal(err)
		}
		if ok, _ := out.Exists(context.Background(), "done.csv"); ok {
			t.Error("object visible before Close")
		}
		if err := w3.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := out.ReadFile(context.Background(), "done.csv")
		if err != nil || string(got) != "a\n1\n" {
			t.Errorf("done.csv = %q, %v", got, err)
		}
	})
}

func TestReadExistsDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, s testStore, root string) {
		ctx := context.Background()
		seed(t, root, map[string]string{"x/y.json": `{"a":1}`})
		l := mustOpen(t, root)
		r, err := l.NewReader(ctx, "x/y.json")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if string(got) != `{"a":1}` {
			t.Errorf("NewReader content %q", got)
		}
		for _, k := range []string{"x/y.json", "x/none.json", "x"} {
			want := k == "x/y.json"
			if ok, err := l.Exists(ctx, k); ok != want || err != nil {
				t.Errorf("Exists(%s) = %v, %v; want %v", k, ok, err, want)
			}
		}
		if err := l.Delete(ctx, "x/y.json"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := l.Exists(ctx, "x/y.json"); ok {
			t.Error("exists after Delete")
		}
		err = l.Delete(ctx, "x/y.json")
		if !IsNotExist(err) {
			t.Errorf("Delete(missing) = %v, want not-exist", err)
		}
		if _, err := l.ReadFile(ctx, "x/y.json"); !IsNotExist(err) || !strings.Contains(err.Error(), `read "x/y.json"`) {
			t.Errorf("ReadFile(missing) = %v", err)
		}
		if _, err := l.NewReader(ctx, "nope"); !IsNotExist(err) {
			t.Errorf("NewReader(missing) = %v", err)
		}
		if _, err := l.NewHashingReader(ctx, "nope"); !IsNotExist(err) {
			t.Errorf("NewHashingReader(missing) = %v", err)
		}
		if _, err := l.Attributes(ctx, "nope"); !IsNotExist(err) {
			t.Errorf("Attributes(missing) = %v", err)
		}
	})
}

func TestObjectMetadata(t *testing.T) {
	ctx := context.Background()
	const md5abc = "900150983cd24fb0d6963f7d28e17f72" // printf abc | md5sum

	// memblob reports the MD5 in listings and attributes alike.
	seed(t, "mem://meta", map[string]string{"abc.txt": "abc"})
	m := mustOpen(t, "mem://meta")
	objs, err := m.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	attr, err := m.Attributes(ctx, "abc.txt")
	if err != nil {
		t.Fatal(err)
	}
	if objs[0].MD5 != md5abc || attr.MD5 != md5abc || objs[0].ETag != "" || attr.ETag != "" {
		t.Errorf("mem metadata: list %+v attrs %+v", objs[0], attr)
	}
	if objs[0].Version() != "md5:"+md5abc || attr.Version() != objs[0].Version() {
		t.Errorf("mem versions: list %s attrs %s", objs[0].Version(), attr.Version())
	}

	// A local file has neither: the version is size and mtime.
	dir := t.TempDir()
	p := filepath.Join(dir, "abc.txt")
	if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
	f := mustOpen(t, dir)
	objs, err = f.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	attr, err = f.Attributes(ctx, "abc.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := "size:3,mtime:1714979289123456789" // date -d 2024-05-06T07:08:09Z +%s → 1714979289
	if objs[0].Version() != want || attr.Version() != want {
		t.Errorf("file versions: list %s attrs %s, want %s", objs[0].Version(), attr.Version(), want)
	}
	if !objs[0].ModTime.Equal(mt) || objs[0].Size != 3 {
		t.Errorf("file object %+v", objs[0])
	}
}

func TestVersion(t *testing.T) {
	mt := time.Unix(1, 5)
	tests := []struct {
		o    Object
		want string
	}{
		{Object{ETag: `"e1"`, MD5: "aa", Size: 1, ModTime: mt}, `etag:"e1"`},
		{Object{MD5: "aa", Size: 1, ModTime: mt}, "md5:aa"},
		{Object{Size: 1, ModTime: mt}, "size:1,mtime:1000000005"},
	}
	for _, tc := range tests {
		if got := tc.o.Version(); got != tc.want {
			t.Errorf("%+v.Version() = %q, want %q", tc.o, got, tc.want)
		}
	}
	if got := quoteETag("abc"); got != `"abc"` {
		t.Errorf("quoteETag(abc) = %s", got)
	}
	for _, s := range []string{"", `"q"`, `W/"w"`} {
		if got := quoteETag(s); got != s {
			t.Errorf("quoteETag(%s) = %s", s, got)
		}
	}
}

func TestLocalPath(t *testing.T) {
	dir := t.TempDir()
	seed(t, dir, map[string]string{"a/b.csv": "x"})
	l := mustOpen(t, dir)
	p, ok := l.LocalPath("a/b.csv")
	if !ok || p != filepath.Join(dir, "a", "b.csv") {
		t.Errorf("LocalPath = %q, %v", p, ok)
	}
	for _, k := range []string{"", "../x", "..", "/etc/passwd", "a//b", "a/./b", "a/", "x\x01y"} {
		if p, ok := l.LocalPath(k); ok {
			t.Errorf("LocalPath(%q) = %q, want not ok", k, p)
		}
	}
	single := mustOpen(t, filepath.Join(dir, "a", "b.csv"))
	if p, ok := single.LocalPath(single.Object); !ok || p != filepath.Join(dir, "a", "b.csv") {
		t.Errorf("single LocalPath = %q, %v", p, ok)
	}
	m := mustOpen(t, "mem://meta")
	if _, ok := m.LocalPath("abc.txt"); ok {
		t.Error("LocalPath ok for mem")
	}
}

func TestURIOf(t *testing.T) {
	dir := t.TempDir()
	seed(t, dir, map[string]string{"in/a.csv": "x"})
	seed(t, "mem://urif", map[string]string{"p/a.csv": "x"})
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	s3, err := OpenOutput(context.Background(), "s3://bkt/out?endpoint=http://127.0.0.1:1&region=us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	tests := []struct {
		l    *Location
		key  string
		want string
	}{
		{mustOpen(t, filepath.Join(dir, "in")), "a.csv", filepath.Join(dir, "in", "a.csv")},
		{mustOpen(t, "file://"+dir+"/in"), "a.csv", "file://" + dir + "/in/a.csv"},
		{mustOpen(t, "mem://urif/p"), "a.csv", "mem://urif/p/a.csv"},
		{mustOpen(t, "mem://urif/p/a.csv"), "a.csv", "mem://urif/p/a.csv"},
		{s3, "builds/1/manifest.json", "s3://bkt/out/builds/1/manifest.json?endpoint=http://127.0.0.1:1&region=us-east-1"},
	}
	for _, tc := range tests {
		if got := tc.l.URIOf(tc.key); got != tc.want {
			t.Errorf("%s.URIOf(%s) = %q, want %q", tc.l, tc.key, got, tc.want)
		}
	}
	// The URI it returns opens the object.
	l := mustOpen(t, tests[2].l.URIOf("a.csv"))
	if l.Object != "a.csv" {
		t.Errorf("reopened Object = %q", l.Object)
	}
}

func TestIsNotExist(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("x"), false},
		{fs.ErrNotExist, true},
		{&notExistError{"m"}, true},
		{ErrExists, false},
	}
	for _, tc := range tests {
		if got := IsNotExist(tc.err); got != tc.want {
			t.Errorf("IsNotExist(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestCloseNil(t *testing.T) {
	var l *Location
	if err := l.Close(); err != nil || l.String() != "<nil>" {
		t.Errorf("nil Location: Close %v String %q", err, l.String())
	}
}

func TestS3ChecksumDefault(t *testing.T) {
	for _, tc := range []struct{ uri, want string }{
		{"s3://b/p?region=us-east-1", "region=us-east-1&response_checksum_validation=when_required"},
		{"s3://b/p?response_checksum_validation=when_supported", "response_checksum_validation=when_supported"},
		{"gs://b/p?x=1", "x=1"},
	} {
		u, err := url.Parse(tc.uri)
		if err != nil {
			t.Fatal(err)
		}
		if got := s3ChecksumDefault(u); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.uri, got, tc.want)
		}
	}
}
