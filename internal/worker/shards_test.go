package worker

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/pipeline"
	"github.com/mldata-io/mldata/pkg/storage"
)

// TestRunLocalSharded runs a sharded DatasetBuild with its shards in this
// process (no RunShard), and a breaking schema change refused by the
// commit: the reasons are a one-pod build's.
func TestRunLocalSharded(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,x\n")
	for i := 0; i < 500; i++ {
		b.WriteString(strconv.Itoa(i) + "," + strconv.Itoa(i%7) + "\n")
	}
	src := writeFile(t, dir, "src/a.csv", b.String())
	writeFile(t, dir, "src/b.csv", "id,x\n1000,1\n1001,2\n")
	out := filepath.Join(dir, "out")
	build := &v1alpha1.DatasetBuild{}
	build.Name = "sharded"
	build.Spec = v1alpha1.DatasetBuildSpec{
		Source: v1alpha1.SourceSpec{URI: v1alpha1.BucketURI(filepath.Dir(src))}, Output: v1alpha1.OutputSpec{URI: v1alpha1.BucketURI(out)},
		Parallelism:  &v1alpha1.ParallelismSpec{Shards: ptr.To[int32](4), ChunkRows: ptr.To[int32](16), PartRows: ptr.To[int64](32)},
		SchemaPolicy: v1alpha1.SchemaPolicyStrict,
	}
	ran := RunLocal(ctx, []Resource{{Build: build}}, Options{})
	if ran[0].Err != nil {
		t.Fatal(ran[0].Err)
	}
	st := build.Status
	if st.TotalRows != 502 || st.FilesProcessed != 2 || !strings.HasSuffix(st.BuildID, "-s4") {
		t.Fatalf("status %+v", st)
	}
	loc, err := storage.OpenOutput(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	ptrv, m, err := manifest.ReadLatest(ctx, loc)
	if err != nil || ptrv.BuildID != st.BuildID || len(m.Splits) == 0 {
		t.Fatalf("published %+v: %v", ptrv, err)
	}

	// A column removed under Strict: the commit refuses, as a build does.
	writeFile(t, dir, "src/a.csv", "id\n1\n2\n")
	writeFile(t, dir, "src/b.csv", "id\n1000\n")
	build.Status = v1alpha1.DatasetBuildStatus{}
	ran = RunLocal(ctx, []Resource{{Build: build}}, Options{})
	if ran[0].Err == nil || ReasonOf(ran[0].Err) != v1alpha1.ReasonBreakingSchemaChange {
		t.Fatalf("sharded build with a breaking change: %v (reason %s)", ran[0].Err, ReasonOf(ran[0].Err))
	}
}

// TestPlanRangeBytes: a plan task's RangeBytes (the manager's
// --shard-range-bytes) decides which files are cut into ranges. A file of
// 500 rows in part groups of 128 rows (4 parts of 2 chunks of 16 rows) is
// 4 groups: one unit under the default threshold, 4 ranges under 100 bytes.
func TestPlanRangeBytes(t *testing.T) {
	for _, c := range []struct {
		rangeBytes int64
		units      []int // units of a.csv, b.csv
	}{{0, []int{1, 1}}, {100, []int{4, 1}}} {
		dir := t.TempDir()
		var b strings.Builder
		b.WriteString("id,x\n")
		for i := 0; i < 500; i++ {
			b.WriteString(strconv.Itoa(i) + "," + strconv.Itoa(i%7) + "\n")
		}
		src := writeFile(t, dir, "src/a.csv", b.String())
		writeFile(t, dir, "src/b.csv", "id,x\n1000,1\n1001,2\n")
		out := filepath.Join(dir, "out")
		spec := &v1alpha1.DatasetBuildSpec{
			Source: v1alpha1.SourceSpec{URI: v1alpha1.BucketURI(filepath.Dir(src))}, Output: v1alpha1.OutputSpec{URI: v1alpha1.BucketURI(out)},
			Parallelism: &v1alpha1.ParallelismSpec{Shards: ptr.To[int32](3), ChunkRows: ptr.To[int32](16), PartRows: ptr.To[int64](32)},
		}
		task := &Task{Kind: KindDatasetBuild, Name: "ranges", Build: spec, Phase: PhasePlan, BuildID: "b1", Shards: 3, RangeBytes: c.rangeBytes}
		if _, err := RunBuildPhase(ctx, task, Options{}); err != nil {
			t.Fatal(err)
		}
		loc, err := storage.OpenOutput(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		sp, err := pipeline.ReadPlan(ctx, loc, "b1")
		loc.Close()
		if err != nil {
			t.Fatal(err)
		}
		got := make([]int, len(sp.Files))
		for _, u := range sp.Units {
			got[u.File]++
		}
		if fmt.Sprint(got) != fmt.Sprint(c.units) {
			t.Errorf("rangeBytes %d: units per file %v, want %v", c.rangeBytes, got, c.units)
		}
	}
}
