package dataset

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/storage"
)

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func scanRows(t *testing.T, d *Dataset) int64 {
	t.Helper()
	var n atomic.Int64
	if err := d.Scan(context.Background(), 3, func(_ int, rec arrow.RecordBatch) error {
		n.Add(rec.NumRows())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n.Load()
}

func TestOpenFolderUnifiesAndScans(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.csv", "id,x\n1,2\n2,3\n")
	write(t, dir, "b.csv", "id,x\n3,4.5\n")
	write(t, dir, "notes.txt", "ignored by the include glob")
	d, err := Open(context.Background(), dir, Options{Include: []string{"*.csv"}, Read: format.Options{ChunkRows: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Rows != 3 || len(d.Files) != 2 || d.Build != nil {
		t.Fatalf("rows %d files %d build %v", d.Rows, len(d.Files), d.Build)
	}
	if got := d.Schema.Field(1).Type; !arrow.TypeEqual(got, arrow.PrimitiveTypes.Float64) {
		t.Errorf("x unified to %s, want float64 (int in a.csv, float in b.csv)", got)
	}
	if len(d.Files[0].SHA256) != 64 {
		t.Errorf("sha256 %q", d.Files[0].SHA256)
	}
	if n := scanRows(t, d); n != 3 {
		t.Errorf("scanned %d rows, want 3", n)
	}
}

func TestOpenPublishedBuildSplit(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	write(t, out, "builds/b1/train/part-00000.csv", "id\n1\n2\n")
	write(t, out, "builds/b1/test/part-00000.csv", "id\n3\n")
	loc, err := storage.OpenOutput(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	m := &manifest.Manifest{FormatVersion: manifest.FormatVersion, BuildID: "b1", Splits: []manifest.Split{
		{Name: "train", Rows: 2, Parts: []manifest.Part{{Path: "builds/b1/train/part-00000.csv", Split: "train", Rows: 2}}},
		{Name: "test", Rows: 1, Parts: []manifest.Part{{Path: "builds/b1/test/part-00000.csv", Split: "test", Rows: 1}}},
	}}
	if _, err := manifest.Publish(ctx, loc, m, nil, m.CreatedAt); err != nil {
		t.Fatal(err)
	}
	for split, want := range map[string]int64{"train": 2, "test": 1, "": 3} {
		d, err := Open(ctx, out, Options{Split: split})
		if err != nil {
			t.Fatalf("split %q: %v", split, err)
		}
		if d.Build == nil || d.Rows != want || scanRows(t, d) != want {
			t.Errorf("split %q: build %v rows %d, want %d", split, d.Build != nil, d.Rows, want)
		}
		d.Close()
	}
	if _, err := Open(ctx, out, Options{Split: "validation"}); err == nil || !strings.Contains(err.Error(), `no split "validation" (splits: [train test])`) {
		t.Errorf("missing split: %v", err)
	}
	src := t.TempDir()
	write(t, src, "a.csv", "id\n1\n")
	if _, err := Open(ctx, src, Options{Split: "train"}); err == nil || !strings.Contains(err.Error(), "needs a published build") {
		t.Errorf("split of plain files: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	empty := t.TempDir()
	if _, err := Open(ctx, empty, Options{}); err == nil || !strings.Contains(err.Error(), "no files to read") {
		t.Errorf("empty folder: %v", err)
	}
	dir := t.TempDir()
	write(t, dir, "a.csv", "id,x\n1,2\n")
	write(t, dir, "b.csv", "id,y\n1,2\n")
	_, err := Open(ctx, dir, Options{})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "b.csv")) {
		t.Errorf("mismatched columns: %v; want the path of b.csv", err)
	}
	write(t, dir, "c.xls", "?")
	if _, err := Open(ctx, dir, Options{Include: []string{"*.xls"}}); err == nil || !strings.Contains(err.Error(), "c.xls") {
		t.Errorf("unknown format: %v", err)
	}
}

func TestDisplayName(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write(t, dir, "sub/a.csv", "id\n1\n")
	loc, err := storage.Open(ctx, filepath.Join(dir, "sub"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := DisplayName(loc, "a.csv"), filepath.Join(dir, "sub")+"/a.csv"; got != want {
		t.Errorf("folder: %q, want %q", got, want)
	}
	one, err := storage.Open(ctx, "mem://display/one.csv?nomd5=true")
	if err == nil {
		if got := DisplayName(one, one.Object); strings.Contains(got, "?") {
			t.Errorf("query kept: %q", got)
		}
	}
}

// Remote sources are spooled to scratch for random access; the scratch
// copies are gone after Close.
func TestOpenRemoteSpools(t *testing.T) {
	ctx := context.Background()
	loc, err := storage.OpenOutput(ctx, "mem://dataset-remote/raw/")
	if err != nil {
		t.Fatal(err)
	}
	if err := loc.WriteFile(ctx, "a.csv", []byte("id,name\n1,x\n2,y\n")); err != nil {
		t.Fatal(err)
	}
	if err := loc.WriteFile(ctx, "b.jsonl", []byte(`{"id":3,"name":"z"}`+"\n")); err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	d, err := Open(ctx, "mem://dataset-remote/raw/", Options{ScratchDir: scratch, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	// sha256 of "id,name\n1,x\n2,y\n"
	if got := d.Files[0].SHA256; got != "914db57d1d35f0e140c54dd5c02e2752eff979544872785dbd65d1f7b8fe8e15" {
		t.Errorf("sha256 %q", got)
	}
	if d.Rows != 3 || scanRows(t, d) != 3 {
		t.Errorf("rows %d", d.Rows)
	}
	if entries, _ := os.ReadDir(scratch); len(entries) == 0 {
		t.Error("nothing was spooled to scratch")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(scratch); len(entries) != 0 {
		t.Errorf("scratch not cleaned: %d files left", len(entries))
	}
}

func TestSkipHash(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.csv", "id\n1\n")
	d, err := Open(context.Background(), dir, Options{SkipHash: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Files[0].SHA256 != "" || d.Rows != 1 {
		t.Errorf("sha256 %q rows %d; want no hash and 1 row", d.Files[0].SHA256, d.Rows)
	}
}

// Many files are scanned in parallel, and worker indexes stay below the
// worker count, so callers can index per-worker state with them.
func TestScanManyFilesWorkerIndexes(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 7; i++ {
		write(t, dir, fmt.Sprintf("f%d.csv", i), fmt.Sprintf("id\n%d\n%d\n", 2*i, 2*i+1))
	}
	d, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, workers := range []int{1, 2, 3, 5, 16} {
		per := make([]int64, workers)
		var mu sync.Mutex
		err := d.Scan(context.Background(), workers, func(w int, rec arrow.RecordBatch) error {
			if w < 0 || w >= workers {
				return fmt.Errorf("worker index %d out of [0,%d)", w, workers)
			}
			mu.Lock()
			per[w] += rec.NumRows()
			mu.Unlock()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, v := range per {
			n += v
		}
		if n != 14 {
			t.Errorf("workers=%d: scanned %d rows, want 14", workers, n)
		}
	}
}

func TestScanReplaysTheChunksInspectionFound(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.csv", "id,x\n1,a\n2,b\n3,c\n4,d\n5,e\n")
	d, err := Open(context.Background(), filepath.Join(dir, "a.csv"), Options{Read: format.Options{ChunkRows: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := scanRows(t, d); got != 5 {
		t.Fatalf("scanned %d rows, want 5", got)
	}
	// The scan cuts the chunks that inspection recorded; a file that grew
	// in between is reported instead of read with rows the schema never saw.
	write(t, dir, "a.csv", "id,x\n1,a\n2,b\n3,c\n4,d\n5,e\n6,f\n")
	err = d.Scan(context.Background(), 2, func(int, arrow.RecordBatch) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "a.csv: file changed since it was first read (it is now longer)") {
		t.Errorf("scan of a grown file: %v", err)
	}
}
