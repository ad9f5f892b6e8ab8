package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"

	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/split"
	"github.com/mldata-io/mldata/pkg/storage"
	"github.com/mldata-io/mldata/pkg/validate"
)

// shardSource writes a source of several small CSV files, one CSV file big
// enough to be cut into ranges whose every row has a quoted field with a
// newline and a comma in it (so every range boundary falls between records
// that a naive line split would cut), a JSONL file cut into ranges, and a
// Parquet file of 13 row groups.
// Ids are unique except 100007 (in a.csv and big.csv) and 2005 (twice in
// big.csv, far apart), so that unique finds duplicates across ranges.
func shardSource(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	row := func(b *strings.Builder, id int, note string) {
		fmt.Fprintf(b, "%d,%d.25,l%d,%s\n", id, id%89, id%3, note)
	}
	for i, name := range []string{"a.csv", "b.csv", "c.csv", "d.csv", "e.csv"} {
		var b strings.Builder
		b.WriteString("id,v,label,note\n")
		for k := 0; k < 20+37*i; k++ {
			note := fmt.Sprintf("n%d", k)
			if k%11 == 0 {
				note = "" // null
			}
			row(&b, 100000+i*1000+k, note)
		}
		writeFile(t, dir, name, b.String())
	}
	var b strings.Builder
	b.WriteString("id,v,label,note\n")
	for k := 0; k < 1000; k++ {
		id := 2000 + k
		switch k {
		case 0:
			id = 100007 // also in a.csv
		case 900:
			id = 2005
		}
		row(&b, id, fmt.Sprintf("\"line %d\nsecond, \"\"quoted\"\"\nthird\"", k))
	}
	writeFile(t, dir, "big.csv", b.String())
	// A JSONL file, also cut into ranges; its notes hold escaped newlines.
	b.Reset()
	for k := 0; k < 600; k++ {
		fmt.Fprintf(&b, `{"id": %d, "v": %d.25, "label": "l%d", "note": "j%d\nx, \"y\""}`+"\n", 7000+k, k%89, k%3, k)
	}
	writeFile(t, dir, "g.jsonl", b.String())

	// The Parquet file: same columns, row groups of 50 rows.
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "v", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer rb.Release()
	for k := 0; k < 640; k++ {
		id := 5000 + k
		rb.Field(0).(*array.Int64Builder).Append(int64(id))
		rb.Field(1).(*array.Float64Builder).Append(float64(id%89) + 0.25)
		rb.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("l%d", id%3))
		if k%7 == 0 {
			rb.Field(3).(*array.StringBuilder).AppendNull()
		} else {
			rb.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("p%d", k))
		}
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	var pq bytes.Buffer
	fw, err := pqarrow.NewFileWriter(sch, &pq, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(50), parquet.WithStats(true)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "f.parquet", pq.String())
	return dir
}

func shardConfig(t *testing.T, src, out, id string) Config {
	t.Helper()
	sp, err := split.Parse("train=0.7,validation=0.2,test=0.1")
	if err != nil {
		t.Fatal(err)
	}
	sp.Seed, sp.Key, sp.StratifyBy = 9, "id", "label"
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return Config{
		Source: src, Output: out, BuildID: id,
		// Groups of 4 stripes × 2 chunks × 16 rows = 128 rows.
		Read:         format.Options{ChunkRows: 16, InferTimestamps: true},
		OutputFormat: format.Parquet, Compression: format.Zstd,
		Split: sp, PartRows: 32, Workers: 3,
		Rules: []validate.Rule{
			{Type: validate.Unique, Column: "id"},
			{Type: validate.MaxNullFraction, Column: "note", Fraction: ptrTo(0.05)},
			{Type: validate.MinRows, Rows: ptrTo(int64(1500))},
			{Type: validate.Max, Column: "v", Max: ptrTo(80.0)},
		},
		OnFailure: OnFailureWarn,
		Now:       func() time.Time { return at },
		Stats:     &Stats{},
	}
}

func ptrTo[T any](v T) *T { return &v }

// buildSharded runs the three phases as separate calls, as separate
// processes would: the plan, the shards in reverse order, the commit.
func buildSharded(t *testing.T, cfg Config, n int) (*PlanResult, *Result) {
	t.Helper()
	ctx := context.Background()
	pr, err := PlanShards(ctx, cfg, ShardOptions{Shards: n, RangeBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := n - 1; i >= 0; i-- {
		if _, err := RunShard(ctx, cfg, i, n); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Commit(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return pr, res
}

// comparableManifest drops what may differ between builds of the same
// data: timings (and the test's output folder).
func comparableManifest(t *testing.T, m *manifest.Manifest) string {
	t.Helper()
	c := *m
	c.Timings = manifest.Timings{}
	c.Output.URI = "" // each build of a test has its own folder
	data, err := json.MarshalIndent(&c, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestShardedBuildIsByteIdentical(t *testing.T) {
	src := shardSource(t)
	plainOut := t.TempDir()
	plain := mustBuild(t, shardConfig(t, src, plainOut, "b1"))
	wantParts := buildFiles(t, plainOut, "b1")
	wantManifest := comparableManifest(t, plain.Manifest)
	if len(wantParts) < 20 {
		t.Fatalf("only %d parts; the test wants many", len(wantParts))
	}
	// Cross-range checks are real: the duplicate ids are found, with samples.
	res := plain.Manifest.Validation.Results
	if res[0].Passed || res[0].Failures != 2 || len(res[0].Samples) != 2 {
		t.Fatalf("unique id: %+v; want 2 duplicates (100007 and 2005)", res[0])
	}
	if got, want := plain.Manifest.Rows(), int64(5*20+37*10+1000+600+640); got != want {
		t.Fatalf("rows %d, want %d", got, want)
	}

	for _, n := range []int{1, 2, 7} {
		t.Run(fmt.Sprint("shards=", n), func(t *testing.T) {
			out := t.TempDir()
			pr, res := buildSharded(t, shardConfig(t, src, out, "b1"), n)
			// The big files really were cut: big.csv and f.parquet in
			// several units, spread over several shards when n > 1.
			cuts := map[string]int{}
			for _, u := range pr.Shard.Units {
				cuts[pr.Shard.Files[u.File].Key]++
			}
			if cuts["big.csv"] < 3 || cuts["f.parquet"] < 2 || cuts["g.jsonl"] < 2 || cuts["a.csv"] != 1 {
				t.Fatalf("units per file %v; want big.csv, g.jsonl and f.parquet cut into ranges", cuts)
			}
			checkRanges(t, pr.Shard, src)
			if n == 7 {
				shardsOf := map[int]bool{}
				for s, units := range Assign(pr.Shard.Units, n) {
					for _, u := range units {
						if pr.Shard.Files[pr.Shard.Units[u].File].Key == "big.csv" {
							shardsOf[s] = true
						}
					}
				}
				if len(shardsOf) < 3 {
					t.Errorf("big.csv's ranges went to %d shard(s); want them spread", len(shardsOf))
				}
			}
			if d := cmp.Diff(wantParts, buildFiles(t, out, "b1")); d != "" {
				t.Errorf("parts differ from the one-process build's")
			}
			if d := cmp.Diff(wantManifest, comparableManifest(t, res.Manifest)); d != "" {
				t.Errorf("manifest differs from the one-process build's (-want +got):\n%s", d)
			}
			ptr := readPointer(t, out)
			if ptr.BuildID != "b1" || ptr.Generation != 1 {
				t.Errorf("latest.json: %+v", ptr)
			}
			left := 0
			filepath.Walk(filepath.Join(out, "staging"), func(p string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() {
					left++
				}
				return nil
			})
			if left > 0 {
				t.Errorf("%d staging file(s) left after the commit", left)
			}
		})
	}
}

// TestShardedIncremental changes one file and adds one: the plan
// distributes only those, the commit reuses the other parts, and the result
// is the one-process incremental build's.
func TestShardedIncremental(t *testing.T) {
	src := shardSource(t)
	plainOut, shardOut := t.TempDir(), t.TempDir()
	mustBuild(t, shardConfig(t, src, plainOut, "b1"))
	buildSharded(t, shardConfig(t, src, shardOut, "b1"), 2)

	writeFile(t, src, "b.csv", "id,v,label,note\n101000,1.25,l1,changed\n101001,2.25,l2,\n")
	writeFile(t, src, "c2.csv", "id,v,label,note\n9000,3.25,l0,new\n")
	future := time.Now().Add(time.Minute)
	for _, f := range []string{"b.csv", "c2.csv"} {
		if err := os.Chtimes(filepath.Join(src, f), future, future); err != nil {
			t.Fatal(err)
		}
	}
	plain := mustBuild(t, shardConfig(t, src, plainOut, "b2"))
	pr, res := buildSharded(t, shardConfig(t, src, shardOut, "b2"), 3)
	var units []string
	for _, u := range pr.Shard.Units {
		units = append(units, pr.Shard.Files[u.File].Key)
	}
	if d := cmp.Diff([]string{"b.csv", "c2.csv"}, units); d != "" {
		t.Errorf("units of the incremental plan (-want +got):\n%s", d)
	}
	if len(res.Reuse.Reused) != 7 {
		t.Errorf("reused %v; want the 7 unchanged files", res.Reuse.Reused)
	}
	if d := cmp.Diff(comparableManifest(t, plain.Manifest), comparableManifest(t, res.Manifest)); d != "" {
		t.Errorf("incremental manifest differs from the one-process build's (-want +got):\n%s", d)
	}
	if d := cmp.Diff(buildFiles(t, plainOut, "b2"), buildFiles(t, shardOut, "b2")); d != "" {
		t.Errorf("incremental parts differ from the one-process build's")
	}
}

// TestShardFailuresPublishNothing: a shard that never ran, and a shard
// whose file changed after planning, each stop the commit with an error
// naming the shard and the file; the published build stays.
func TestShardFailuresPublishNothing(t *testing.T) {
	ctx := context.Background()
	src := shardSource(t)
	out := t.TempDir()
	buildSharded(t, shardConfig(t, src, out, "b1"), 2)

	writeFile(t, src, "z.csv", "id,v,label,note\n9100,3.25,l0,new\n")
	cfg := shardConfig(t, src, out, "b2")
	pr, err := PlanShards(ctx, cfg, ShardOptions{Shards: 3, RangeBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(pr.Shard.Units) != 1 {
		t.Fatalf("units %+v; want z.csv alone", pr.Shard.Units)
	}
	zShard := -1
	for s, us := range Assign(pr.Shard.Units, 3) {
		if len(us) > 0 {
			zShard = s
		}
	}
	_, err = Commit(ctx, cfg)
	var se *ShardError
	if !errors.As(err, &se) || len(se.Failed) != 3 || !strings.Contains(se.Failed[zShard], "z.csv") {
		t.Fatalf("commit with no shard run: %v; want all 3 shards named, shard %d with z.csv", err, zShard)
	}
	// Shard zShard finds its file changed since the plan.
	writeFile(t, src, "z.csv", "id,v,label,note\n9100,3.25,l0,rewritten\n")
	future := time.Now().Add(time.Minute)
	if err := os.Chtimes(filepath.Join(src, "z.csv"), future, future); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		_, err := RunShard(ctx, cfg, i, 3)
		if (err != nil) != (i == zShard) || (err != nil && !strings.Contains(err.Error(), "z.csv changed since the build was planned")) {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
	_, err = Commit(ctx, cfg)
	if !errors.As(err, &se) || len(se.Failed) != 1 || !strings.Contains(se.Failed[zShard], "z.csv changed") {
		t.Fatalf("commit after a failed shard: %v", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("shard %d: ", zShard)) || !strings.Contains(err.Error(), "nothing was published") {
		t.Errorf("message: %v", err)
	}
	if p := readPointer(t, out); p.BuildID != "b1" {
		t.Errorf("published %s; b1 should stay", p.BuildID)
	}
	// Settings other than the plan's are refused.
	other := shardConfig(t, src, out, "b2")
	other.PartRows = 64
	if _, err := RunShard(ctx, other, 0, 3); err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Errorf("shard with other settings: %v", err)
	}
	if _, err := RunShard(ctx, cfg, 0, 4); err == nil || !strings.Contains(err.Error(), "planned for 3 shards") {
		t.Errorf("shard of another count: %v", err)
	}
}

// TestCommitRefusesResultsOfAnotherPlan: a build planned again under the
// same id (here after a source changed) does not take the old plan's shard
// results, even where the units line up.
func TestCommitRefusesResultsOfAnotherPlan(t *testing.T) {
	ctx := context.Background()
	src := shardSource(t)
	out := t.TempDir()
	cfg := shardConfig(t, src, out, "b1")
	if _, err := PlanShards(ctx, cfg, ShardOptions{Shards: 2, RangeBytes: 8 << 10}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := RunShard(ctx, cfg, i, 2); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, src, "a.csv", "id,v,label,note\n100000,1.25,l1,changed\n")
	future := time.Now().Add(time.Minute)
	if err := os.Chtimes(filepath.Join(src, "a.csv"), future, future); err != nil {
		t.Fatal(err)
	}
	if _, err := PlanShards(ctx, cfg, ShardOptions{Shards: 2, RangeBytes: 8 << 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := RunShard(ctx, cfg, 0, 2); err != nil {
		t.Fatal(err)
	}
	_, err := Commit(ctx, cfg)
	var se *ShardError
	if !errors.As(err, &se) || len(se.Failed) != 1 || !strings.Contains(se.Failed[1], "another plan") {
		t.Fatalf("commit: %v; want shard 1 refused as of another plan", err)
	}
	if _, err := os.Stat(filepath.Join(out, manifest.PointerKey)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("something was published: %v", err)
	}
}

func TestAssignBalances(t *testing.T) {
	units := []Unit{{Bytes: 10}, {Bytes: 70}, {Bytes: 30}, {Bytes: 30}, {Bytes: 20}, {Bytes: 40}}
	got := Assign(units, 3)
	// Largest first, each to the least loaded shard, by hand: 70 → s0,
	// 40 → s1, 30 → s2, 30 → s2, 20 → s1, 10 → s1 (tied with s2 at 60).
	want := [][]int{{1}, {0, 4, 5}, {2, 3}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Assign (-want +got):\n%s", d)
	}
	if d := cmp.Diff([][]int{{0, 1, 2, 3, 4, 5}}, Assign(units, 1)); d != "" {
		t.Errorf("one shard (-want +got):\n%s", d)
	}
}

func TestCutUnits(t *testing.T) {
	// 10 groups of 100 bytes: ranges of 3 groups when the threshold is 350.
	got := cutUnits(4, 1000, 1000, 100, 350)
	want := []Unit{{File: 4, FirstGroup: 0, EndGroup: 3, Bytes: 300}, {File: 4, FirstGroup: 3, EndGroup: 6, Bytes: 300}, {File: 4, FirstGroup: 6, EndGroup: 9, Bytes: 300}, {File: 4, FirstGroup: 9, EndGroup: 10, Bytes: 100}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("cutUnits (-want +got):\n%s", d)
	}
	if got := cutUnits(1, 300, 1000, 100, 350); len(got) != 1 || got[0].EndGroup != 10 {
		t.Errorf("a file under the threshold: %+v", got)
	}
	if got := cutUnits(1, 0, 0, 100, 350); len(got) != 1 || got[0].EndGroup != 1 {
		t.Errorf("an empty file: %+v", got)
	}
}

// TestPruneStaging: pruning deletes the staging files of a published build
// and of an old abandoned plan, and keeps a young one (a build in progress).
func TestPruneStaging(t *testing.T) {
	ctx := context.Background()
	loc, err := storage.OpenOutput(ctx, "mem://prune-staging/")
	if err != nil {
		t.Fatal(err)
	}
	p := publishAt(t, loc, "pub", nil, time.Now().Add(-time.Minute), "")
	for _, k := range []string{PlanKey("pub"), PlanKey("running"), ShardResultKey("running", 0, 2)} {
		if err := loc.WriteFile(ctx, k, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Prune(ctx, loc, PruneOptions{Keep: 1, Grace: time.Hour}); err != nil {
		t.Fatal(err)
	}
	want := []string{"builds/pub/all/part-00000.csv", "builds/pub/manifest.json", manifest.GenerationKey(p.Generation), "latest.json",
		PlanKey("running"), ShardResultKey("running", 0, 2)}
	sort.Strings(want)
	if d := cmp.Diff(want, keysUnder(t, loc)); d != "" {
		t.Errorf("after pruning (-want +got):\n%s", d)
	}
	// Hours later, the plan that never committed is abandoned.
	if _, err := Prune(ctx, loc, PruneOptions{Keep: 1, Grace: time.Hour, Now: time.Now().Add(3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, k := range keysUnder(t, loc) {
		if strings.HasPrefix(k, "staging/") {
			t.Errorf("%s left after its grace period", k)
		}
	}
}

// checkRanges checks the byte ranges of a plan against the files: the
// units of a text file cut into ranges tile it from its header's end to
// its end, each starting at the first record of its first part group (the
// record after Row records, at Line); Parquet files and whole files have
// none.
func checkRanges(t *testing.T, sp *ShardPlan, dir string) {
	t.Helper()
	next := map[int]int64{} // file → where its next range must start
	for _, u := range sp.Units {
		pf := sp.Files[u.File]
		whole := u.FirstGroup == 0 && u.EndGroup >= (int(pf.Rows)+127)/128
		if strings.HasSuffix(pf.Key, ".parquet") || whole {
			if u.Range != nil {
				t.Errorf("%s: unit %+v has a byte range", pf.Key, u)
			}
			continue
		}
		if u.Range == nil {
			t.Fatalf("%s: unit %+v has no byte range", pf.Key, u)
		}
		data, err := os.ReadFile(filepath.Join(dir, pf.Key))
		if err != nil {
			t.Fatal(err)
		}
		r := u.Range
		if _, ok := next[u.File]; !ok {
			next[u.File] = pf.Head
		}
		if r.From.Offset != next[u.File] || r.End <= r.From.Offset || u.Bytes != r.End-r.From.Offset {
			t.Errorf("%s: unit %+v range [%d, %d), want it to start at %d", pf.Key, u, r.From.Offset, r.End, next[u.File])
		}
		next[u.File] = r.End
		// Groups of 128 rows (4 stripes × 2 chunks × 16 rows).
		if r.From.Row != int64(u.FirstGroup)*128 || r.From.Seq != u.FirstGroup*8 {
			t.Errorf("%s: unit %+v starts at row %d (chunk %d)", pf.Key, u, r.From.Row, r.From.Seq)
		}
		// The record at the offset is the one after Row records: the
		// id after the header's or the JSON key's first field.
		var want string
		if strings.HasSuffix(pf.Key, ".csv") {
			id := map[int64]int64{0: 100007, 900: 2005}[r.From.Row]
			if id == 0 {
				id = 2000 + r.From.Row
			}
			want = fmt.Sprintf("%d,", id)
		} else {
			want = fmt.Sprintf(`{"id": %d,`, 7000+r.From.Row)
		}
		if !bytes.HasPrefix(data[r.From.Offset:], []byte(want)) || r.From.Offset > 0 && data[r.From.Offset-1] != '\n' {
			t.Errorf("%s: range of unit %+v starts with %.20q, want %q after a newline", pf.Key, u, data[r.From.Offset:], want)
		}
		if r.From.Line != int64(bytes.Count(data[:r.From.Offset], []byte("\n")))+1 {
			t.Errorf("%s: range of unit %+v starts at line %d", pf.Key, u, r.From.Line)
		}
	}
	for fi, end := range next {
		if pf := sp.Files[fi]; end != pf.Size {
			t.Errorf("%s: ranges end at %d of %d bytes", pf.Key, end, pf.Size)
		}
	}
	if len(next) != 2 {
		t.Errorf("%d files with byte ranges, want big.csv and g.jsonl", len(next))
	}
}
