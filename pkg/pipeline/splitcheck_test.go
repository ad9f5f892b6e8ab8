package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/mldata-io/mldata/pkg/dataset"
	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/split"
)

// writeLeakySource writes users that appear under several segments: with
// the split stratified by segment and keyed by user, a user's rows land in
// different splits.
func writeLeakySource(t *testing.T, dir string, users, perUser int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("user,segment,amount\n")
	for u := range users {
		for k := range perUser {
			fmt.Fprintf(&b, "%d,seg%d,%d\n", u, k, (u*7+k*13)%100)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "events.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func leakyConfig(t *testing.T, src, out string) Config {
	t.Helper()
	spec, err := split.Parse("train=0.6,validation=0.2,test=0.2")
	if err != nil {
		t.Fatal(err)
	}
	spec.Seed, spec.Key, spec.StratifyBy = 42, "user", "segment"
	return Config{Source: src, Output: out, Read: format.Options{ChunkRows: 128}, OutputFormat: format.Parquet,
		Split: spec, PartRows: 512, Workers: 2}
}

// usersPerSplit reads a build's splits back and returns, per user value,
// the set of splits it is in: the ground truth the check must match.
func usersPerSplit(t *testing.T, out string, m *manifest.Manifest) map[int64]map[string]bool {
	t.Helper()
	got := map[int64]map[string]bool{}
	for _, s := range m.Splits {
		if s.Rows == 0 {
			continue
		}
		d, err := dataset.OpenBuild(context.Background(), out, m, s.Name, dataset.Options{})
		if err != nil {
			t.Fatal(err)
		}
		col := d.Schema.FieldIndices("user")[0]
		err = d.Scan(context.Background(), 1, func(_ int, rec arrow.RecordBatch) error {
			users := rec.Column(col).(*array.Int64)
			for i := range users.Len() {
				u := users.Value(i)
				if got[u] == nil {
					got[u] = map[string]bool{}
				}
				got[u][s.Name] = true
			}
			return nil
		})
		d.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return got
}

func TestSplitCheckFindsLeakedKeys(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	writeLeakySource(t, src, 300, 4)

	// Fail: nothing is published.
	cfg := leakyConfig(t, src, out)
	_, err := Build(context.Background(), cfg)
	var le *SplitLeakError
	if !errors.As(err, &le) {
		t.Fatalf("build error %v, want a SplitLeakError", err)
	}
	if _, err := os.Stat(filepath.Join(out, manifest.PointerKey)); !os.IsNotExist(err) {
		t.Fatalf("latest.json after a leaking build under onFailure Fail: %v", err)
	}
	if !strings.Contains(err.Error(), "column user") || !strings.Contains(err.Error(), "nothing was published") {
		t.Errorf("error %q does not name the key column or say nothing was published", err)
	}

	// Warn: published, with the leaks in the manifest and a warning.
	cfg.OnFailure = OnFailureWarn
	res, err := Build(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	s := m.SplitIntegrity
	if s == nil || s.Consistent {
		t.Fatalf("split_integrity %+v, want inconsistent", s)
	}
	truth := usersPerSplit(t, out, m)
	var leaked int64
	pairs := map[string]int64{}
	names := []string{"train", "validation", "test"}
	for _, in := range truth {
		if len(in) > 1 {
			leaked++
		}
		for i, a := range names {
			for _, b := range names[i+1:] {
				if in[a] && in[b] {
					pairs[a+"/"+b]++
				}
			}
		}
	}
	if leaked == 0 {
		t.Fatal("the test data leaks no user; make it leak")
	}
	if s.LeakedKeys != leaked {
		t.Errorf("leaked_keys %d, want %d", s.LeakedKeys, leaked)
	}
	for _, l := range s.Leaks {
		if want := pairs[l.A+"/"+l.B]; l.Keys != want {
			t.Errorf("leak %s/%s: %d keys, want %d", l.A, l.B, l.Keys, want)
		}
		delete(pairs, l.A+"/"+l.B)
	}
	for p, n := range pairs {
		if n > 0 {
			t.Errorf("leak %s (%d keys) missing from %+v", p, n, s.Leaks)
		}
	}
	if len(s.Examples) != maxLeakExamples {
		t.Errorf("examples %q, want %d", s.Examples, maxLeakExamples)
	}
	for _, e := range s.Examples {
		var u int64
		if _, err := fmt.Sscan(e, &u); err != nil || len(truth[u]) < 2 {
			t.Errorf("example %q is not a leaked user", e)
		}
	}
	for i, k := range s.Keys {
		distinct := int64(0)
		for _, in := range truth {
			if in[k.Split] {
				distinct++
			}
		}
		if k.Split != names[i] || k.Keys != distinct || k.Rows != m.Splits[i].Rows {
			t.Errorf("keys[%d] = %+v, want split %s with %d keys and %d rows", i, k, names[i], distinct, m.Splits[i].Rows)
		}
	}
	if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "splits leak") {
		t.Errorf("warnings %q, want the leak", res.Warnings)
	}
}

func TestSplitCheckPassesKeyedSplit(t *testing.T) {
	out := t.TempDir()
	m, err := buildManifest(sampleConfig(t, sampleDir, out))
	if err != nil {
		t.Fatal(err)
	}
	s := m.SplitIntegrity
	if s == nil || !s.Consistent || s.LeakedKeys != 0 || len(s.Leaks) != 0 {
		t.Fatalf("split_integrity %+v, want consistent", s)
	}
	// customer_id is unique: as many keys as rows in each split.
	for i, k := range s.Keys {
		if k.Keys != m.Splits[i].Rows || k.Rows != m.Splits[i].Rows {
			t.Errorf("keys %+v, split rows %d", k, m.Splits[i].Rows)
		}
	}
	// 1000 rows: every split is below the default 1000 rows to judge.
	sim := s.Similarity
	if sim == nil || sim.Baseline != "train" || len(sim.Dissimilar) != 0 || len(sim.Columns) == 0 {
		t.Fatalf("similarity %+v", sim)
	}
	for _, c := range sim.Columns {
		if c.Column == "customer_id" {
			t.Errorf("the split key was compared: %+v", c)
		}
		if c.Judged {
			t.Errorf("%+v judged with fewer than %d rows", c, DefaultSplitMinRows)
		}
	}
}

// writeParts writes CSV parts for a hand-made build and returns its
// manifest: each split gets the rows given for it.
func writeParts(t *testing.T, out string, rows map[string][]string, header string) *manifest.Manifest {
	t.Helper()
	m := &manifest.Manifest{FormatVersion: manifest.FormatVersion, BuildID: "b1", Output: manifest.Output{Format: "csv"}}
	for _, name := range []string{"train", "test"} {
		p := manifest.PartKey("b1", name, 0, ".csv")
		if err := os.MkdirAll(filepath.Dir(filepath.Join(out, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		data := header + "\n" + strings.Join(rows[name], "\n") + "\n"
		if err := os.WriteFile(filepath.Join(out, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		m.Splits = append(m.Splits, manifest.Split{Name: name, Rows: int64(len(rows[name])),
			Parts: []manifest.Part{{Path: p, Split: name, Rows: int64(len(rows[name])), Bytes: int64(len(data))}}})
	}
	return m
}

func TestCheckSplitsRowContentAndSimilarity(t *testing.T) {
	// train holds x = 0…1999; test either the same values or 1000…2999.
	seq := func(lo, hi int, tag string) []string {
		var out []string
		for x := lo; x < hi; x++ {
			out = append(out, fmt.Sprintf("%d,%s", x, tag))
		}
		return out
	}
	ctx := context.Background()

	t.Run("alike and no shared rows", func(t *testing.T) {
		out := t.TempDir()
		m := writeParts(t, out, map[string][]string{"train": seq(0, 2000, "a"), "test": seq(0, 2000, "b")}, "x,tag")
		s, err := CheckSplits(ctx, out, m, SplitCheck{Exclude: []string{"tag"}}, 2, format.Options{}, "")
		if err != nil {
			t.Fatal(err)
		}
		if !s.Consistent || s.LeakedKeys != 0 || s.Key != "row content" {
			t.Fatalf("%+v, want consistent", s)
		}
		if c := s.Similarity.Columns; len(c) != 1 || c[0].Column != "x" || c[0].PSI != 0 || !c[0].Judged {
			t.Errorf("columns %+v, want x with PSI 0, judged", c)
		}
	})

	t.Run("shifted and three shared rows", func(t *testing.T) {
		out := t.TempDir()
		test := append(seq(1000, 2997, "b"), "5,a", "6,a", "7,a")
		m := writeParts(t, out, map[string][]string{"train": seq(0, 2000, "a"), "test": test}, "x,tag")
		s, err := CheckSplits(ctx, out, m, SplitCheck{Exclude: []string{"tag"}}, 2, format.Options{}, "")
		if err != nil {
			t.Fatal(err)
		}
		if s.Consistent || s.LeakedKeys != 3 || len(s.Leaks) != 1 || s.Leaks[0] != (manifest.SplitLeak{A: "train", B: "test", Keys: 3}) {
			t.Fatalf("leaks %d %+v, want 3 rows shared by train and test", s.LeakedKeys, s.Leaks)
		}
		for _, e := range s.Examples {
			if e != "x=5, tag=a" && e != "x=6, tag=a" && e != "x=7, tag=a" {
				t.Errorf("example %q is not a shared row", e)
			}
		}
		// Uniform bins over train's [0, 1999]: train has 200 rows in each
		// of the 10 bins; test has 0 in bins 0–4 but 3 (x 5, 6, 7) in
		// bin 0, 200 in bins 5–8 and the rest, 1200 − 3, in bin 9.
		p := 0.1
		q := []float64{3.0 / 2000, 0, 0, 0, 0, 0.1, 0.1, 0.1, 0.1, 1197.0 / 2000}
		want := 0.0
		for _, qi := range q {
			if qi == 0 {
				qi = 0.001
			}
			want += (qi - p) * math.Log(qi/p)
		}
		c := s.Similarity.Columns
		if len(c) != 1 || math.Abs(c[0].PSI-want) > 1e-12 || !c[0].Dissimilar {
			t.Fatalf("columns %+v, want x dissimilar with PSI %v", c, want)
		}
		if d := s.Similarity.Dissimilar; len(d) != 1 || d[0] != "test/x" {
			t.Errorf("dissimilar %q", d)
		}
	})
}

func TestSplitCheckSkipped(t *testing.T) {
	src := t.TempDir()
	writeLeakySource(t, src, 50, 4)
	// One split: nothing to check.
	cfg := leakyConfig(t, src, t.TempDir())
	cfg.Split.Names, cfg.Split.Ratios = []string{"all"}, []float64{1}
	m, err := buildManifest(cfg)
	if err != nil || m.SplitIntegrity != nil {
		t.Fatalf("one split: %v, split_integrity %+v", err, m)
	}
	// Turned off: the leaking split is published unchecked.
	cfg = leakyConfig(t, src, t.TempDir())
	cfg.SplitCheck.Disabled = true
	if m, err = buildManifest(cfg); err != nil || m.SplitIntegrity != nil {
		t.Fatalf("check off: %v", err)
	}
}

// A split key is hashed while the similarity check reads the splits, with
// columns to compare or none: the keys are those a plain read of each split
// gives, for a string key that Parquet stores dictionary-encoded as for an
// integer one. Without a baseline to compare with, they are read apart.
func TestSplitCheckKeysWhileComparing(t *testing.T) {
	ctx := context.Background()
	for _, stringKey := range []bool{false, true} {
		src, out := t.TempDir(), t.TempDir()
		var b strings.Builder
		b.WriteString("user,segment,amount\n")
		for u := range 400 {
			for k := range 3 {
				user := fmt.Sprint(u)
				if stringKey {
					user = fmt.Sprintf("u%03d", u)
				}
				fmt.Fprintf(&b, "%s,seg%d,%d\n", user, k, (u*7+k*13)%100)
			}
		}
		if err := os.WriteFile(filepath.Join(src, "events.csv"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := leakyConfig(t, src, out)
		cfg.OnFailure = OnFailureWarn
		res, err := Build(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		m := res.Manifest
		var want []manifest.SplitKeys
		for _, s := range m.Splits {
			d, err := dataset.OpenBuild(ctx, out, m, s.Name, dataset.Options{})
			if err != nil {
				t.Fatal(err)
			}
			keys, err := splitKeys(ctx, d, "user", 1)
			d.Close()
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, manifest.SplitKeys{Split: s.Name, Rows: s.Rows, Keys: int64(len(keys))})
		}
		tapped, err := CheckSplits(ctx, out, m, SplitCheck{}, 2, format.Options{ChunkRows: 100}, "")
		if err != nil {
			t.Fatal(err)
		}
		bare, err := CheckSplits(ctx, out, m, SplitCheck{Exclude: []string{"segment", "amount"}}, 2, format.Options{}, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(tapped.Similarity.Columns) != 4 || len(bare.Similarity.Columns) != 0 {
			t.Fatalf("compared %+v and %+v, want segment and amount in two splits, then nothing", tapped.Similarity.Columns, bare.Similarity.Columns)
		}
		for _, s := range []*manifest.SplitIntegrity{tapped, bare} {
			if fmt.Sprint(s.Keys) != fmt.Sprint(want) {
				t.Errorf("string key %v: keys %+v, want %+v", stringKey, s.Keys, want)
			}
		}
		if tapped.LeakedKeys == 0 || tapped.LeakedKeys != bare.LeakedKeys || fmt.Sprint(tapped.Leaks) != fmt.Sprint(bare.Leaks) ||
			fmt.Sprint(tapped.Examples) != fmt.Sprint(bare.Examples) {
			t.Errorf("string key %v: leaks %d %+v %q, nothing compared %d %+v %q", stringKey,
				tapped.LeakedKeys, tapped.Leaks, tapped.Examples, bare.LeakedKeys, bare.Leaks, bare.Examples)
		}
	}

	// An empty baseline: nothing is compared, test's keys are read apart.
	out := t.TempDir()
	m := writeParts(t, out, map[string][]string{"test": {"1,a", "2,a", "1,b", "3,c", "2,c"}}, "x,tag")
	m.Split.Key = "x"
	s, err := CheckSplits(ctx, out, m, SplitCheck{}, 2, format.Options{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []manifest.SplitKeys{{Split: "train"}, {Split: "test", Rows: 5, Keys: 3}}; fmt.Sprint(s.Keys) != fmt.Sprint(want) || !s.Consistent {
		t.Errorf("keys %+v, want %+v, consistent", s.Keys, want)
	}
}

// TestSortHashes checks the byte-wise bucket sort of key hashes against
// slices.Sort: spread hashes, many equal hashes (a key in many rows),
// hashes that all share their leading bits (one bucket), and sizes around
// the point where it switches to a comparison sort.
func TestSortHashes(t *testing.T) {
	x := uint64(0x9E3779B97F4A7C15)
	next := func() uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
	cases := map[string][]uint64{}
	for _, n := range []int{0, 1, hashSortMin - 1, hashSortMin, 300_001} {
		hs := make([]uint64, n)
		for i := range hs {
			hs[i] = next()
		}
		cases[fmt.Sprintf("spread %d", n)] = hs
	}
	rep := make([]uint64, 200_000)
	for i := range rep {
		rep[i] = next() % 1000 * 0x0123456789ABCDEF // 1000 values, each ~200 times
	}
	cases["repeated"] = rep
	narrow := make([]uint64, 100_000)
	for i := range narrow {
		narrow[i] = 0xABCD<<48 | next()>>16
	}
	cases["one bucket"] = narrow
	same := make([]uint64, 5000)
	for i := range same {
		same[i] = 0x8000_0000_0000_0001
	}
	same[len(same)-1] = 7
	cases["equal but one"] = same // distributed byte after byte down to the last
	for name, hs := range cases {
		want := slices.Clone(hs)
		slices.Sort(want)
		sortHashes(hs)
		if !slices.Equal(hs, want) {
			t.Errorf("%s: sortHashes differs from slices.Sort", name)
		}
	}
}

// The check's PSI per split and column is the full drift comparison's, to
// the bit, though the check computes PSI alone (drift's PSIOnly): on a
// build with floats with nulls, spread and narrow integers, categories
// with nulls, a flag and a column past the category limit.
func TestSplitCheckPSIIsFullDrifts(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	var b strings.Builder
	b.WriteString("id,f,fnull,wide,small,cat,flag,ident\n")
	x := uint64(88172645463325252)
	next := func() uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
	for i := range 6000 {
		r := next()
		fnull, cat := "", ""
		if r%7 != 0 {
			fnull = fmt.Sprint(float64(r>>20%100000) / 7)
		}
		if r%11 != 0 {
			cat = fmt.Sprintf("c%d", r>>8%13)
		}
		fmt.Fprintf(&b, "%d,%g,%s,%d,%d,%s,%t,id%d\n", i, float64(int64(next()>>11))/(1<<53)*6-3, fnull,
			int64(next()>>24)-1<<39, r>>30%40, cat, r&1 == 1, i)
	}
	if err := os.WriteFile(filepath.Join(src, "data.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := split.Parse("train=0.6,validation=0.2,test=0.2")
	if err != nil {
		t.Fatal(err)
	}
	spec.Key = "id"
	res, err := Build(context.Background(), Config{Source: src, Output: out, OutputFormat: format.Parquet, Split: spec,
		Read: format.Options{ChunkRows: 500}, PartRows: 2000, Workers: 2, SplitCheck: SplitCheck{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	c := SplitCheck{MaxCategories: 100}
	s, err := CheckSplits(context.Background(), out, m, c, 2, format.Options{}, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, e := range s.Similarity.Columns {
		got[e.Split+"/"+e.Column] = e.PSI
	}
	open := func(name string) drift.Input {
		d, err := dataset.OpenBuild(context.Background(), out, m, name, dataset.Options{Format: format.Parquet, SkipHash: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return drift.Input{Name: name, Schema: d.Schema, Scan: d.Scan}
	}
	base := open("train")
	want := 0
	for _, name := range []string{"validation", "test"} {
		r, err := drift.Compare(context.Background(), base, open(name), drift.Options{Exclude: []string{"id"}, MaxCategories: 100, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.NumericDrift) != 4 || len(r.CategoricalDrift) != 2 || len(r.Skipped) != 1 || r.Skipped[0].Column != "ident" {
			t.Fatalf("%s: full drift compared %v and %v, skipped %v", name, r.NumericDrift.Keys(), r.CategoricalDrift.Keys(), r.Skipped)
		}
		for _, f := range r.NumericDrift {
			want++
			if p, ok := got[name+"/"+f.Key]; !ok || p != f.Value.PSI || p <= 0 {
				t.Errorf("%s/%s: check PSI %v (reported %v), full drift %v", name, f.Key, p, ok, f.Value.PSI)
			}
		}
		for _, f := range r.CategoricalDrift {
			want++
			if p, ok := got[name+"/"+f.Key]; !ok || p != f.Value.PSI {
				t.Errorf("%s/%s: check PSI %v (reported %v), full drift %v", name, f.Key, p, ok, f.Value.PSI)
			}
		}
	}
	if len(got) != want {
		t.Errorf("check reported %d columns, full drift %d", len(got), want)
	}
}
