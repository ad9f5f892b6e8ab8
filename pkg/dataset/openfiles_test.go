package dataset

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
)

// manyFilesDir names, in the environment of the subprocess that
// TestManyFilesFewOpenFiles starts, the folder of files the parent wrote.
const manyFilesDir = "MLDATA_TEST_MANY_FILES_DIR"

const (
	manyCSV     = 2000 // CSV files under csv/
	manyParts   = 1200 // Parquet parts of split "train" under out/
	manyWorkers = 4
	// fdLimit is the subprocess's limit of open files above those it has
	// open before opening the datasets: far below the 3,200 files.
	fdLimit = 48
)

// manyCSVRows is the number of rows of CSV file i; its rows have v = i.
func manyCSVRows(i int) int { return 1 + i%3 }

// manyPartRows is the number of rows of part i; its ids are i·10+k.
func manyPartRows(i int) int { return 1 + i%4 }

// A dataset of thousands of files is opened and scanned with a limit of
// open files far below its number of files: it holds about one open file
// per worker at any time (counted in /proc/self/fd), inspecting as
// scanning, for text files and Parquet parts of a build alike, and reads
// every row. The limit is set in a subprocess (the test binary run again)
// so that the other tests keep theirs.
func TestManyFilesFewOpenFiles(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts open files in /proc/self/fd")
	}
	if dir := os.Getenv(manyFilesDir); dir != "" {
		manyFilesChild(t, dir)
		return
	}
	dir := t.TempDir()
	writeManyFiles(t, dir)
	cmd := exec.Command(os.Args[0], "-test.run=^TestManyFilesFewOpenFiles$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), manyFilesDir+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestManyFilesFewOpenFiles") {
		t.Fatalf("subprocess with %d open files allowed: %v\n%s", fdLimit, err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "open files") {
			t.Log(strings.TrimSpace(l))
		}
	}
}

func writeManyFiles(t *testing.T, dir string) {
	for i := 0; i < manyCSV; i++ {
		var b strings.Builder
		b.WriteString("id,v\n")
		for k := 0; k < manyCSVRows(i); k++ {
			fmt.Fprintf(&b, "%d,%d\n", i*10+k, i)
		}
		write(t, dir, fmt.Sprintf("csv/f%04d.csv", i), b.String())
	}
	if err := os.MkdirAll(filepath.Join(dir, "out/parts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < manyParts; i++ {
		p := filepath.Join(dir, fmt.Sprintf("out/parts/part-%04d.parquet", i))
		if err := os.WriteFile(p, partBytes(t, i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// partBytes is Parquet part i: manyPartRows(i) rows (id i·10+k, name nk).
func partBytes(t testing.TB, i int) []byte {
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "name", Type: arrow.BinaryTypes.String}}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	for k := 0; k < manyPartRows(i); k++ {
		rb.Field(0).(*array.Int64Builder).Append(int64(i*10 + k))
		rb.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("n%d", k))
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := format.NewWriter(&buf, schema, format.Parquet, format.Snappy)
	if err == nil {
		err = w.Write(rec)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// openFiles is the number of open files of the process.
func openFiles(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Error(err)
	}
	return len(ents)
}

func manyFilesChild(t *testing.T, dir string) {
	ctx := context.Background()
	// Open and close a file first, so that the baseline counts what the
	// runtime opens on the first use of a file (its poller).
	if fh, err := os.Open(filepath.Join(dir, "csv/f0000.csv")); err == nil {
		fh.Close()
	}
	base := openFiles(t)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = uint64(base + fdLimit)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}

	// A sampler watches the count of open files throughout; scans also
	// count them in every batch.
	// One count at a time: each holds /proc/self/fd open.
	var peak atomic.Int64
	var counting sync.Mutex
	see := func() {
		counting.Lock()
		defer counting.Unlock()
		if n := int64(openFiles(t)); n > peak.Load() {
			peak.Store(n)
		}
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Microsecond):
				see()
			}
		}
	}()
	defer func() {
		close(stop)
		<-stopped
	}()

	start := time.Now()
	csv, err := Open(ctx, filepath.Join(dir, "csv"), Options{Workers: manyWorkers, Read: format.Options{ChunkRows: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer csv.Close()
	var mu sync.Mutex
	var rows, sum int64
	err = csv.Scan(ctx, manyWorkers, func(_ int, rec arrow.RecordBatch) error {
		see()
		v := rec.Column(1).(*array.Int64)
		mu.Lock()
		defer mu.Unlock()
		rows += rec.NumRows()
		for r := 0; r < v.Len(); r++ {
			sum += v.Value(r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var wantRows, wantSum int64
	for i := 0; i < manyCSV; i++ {
		wantRows += int64(manyCSVRows(i))
		wantSum += int64(manyCSVRows(i) * i)
	}
	if len(csv.Files) != manyCSV || csv.Rows != wantRows || rows != wantRows || sum != wantSum {
		t.Errorf("csv: %d files, %d rows inspected, %d scanned with sum(v) %d; want %d files, %d rows, sum %d",
			len(csv.Files), csv.Rows, rows, sum, manyCSV, wantRows, wantSum)
	}
	if len(csv.Files[0].SHA256) != 64 {
		t.Errorf("csv: file 0 has SHA-256 %q", csv.Files[0].SHA256)
	}
	csvTime := time.Since(start)

	// The parts of a build, read back as the split check does.
	m := &manifest.Manifest{BuildID: "b1", Splits: []manifest.Split{{Name: "train"}}}
	wantRows, wantSum = 0, 0
	for i := 0; i < manyParts; i++ {
		p := fmt.Sprintf("parts/part-%04d.parquet", i)
		st, err := os.Stat(filepath.Join(dir, "out", p))
		if err != nil {
			t.Fatal(err)
		}
		n := manyPartRows(i)
		m.Splits[0].Parts = append(m.Splits[0].Parts, manifest.Part{Path: p, Split: "train", Rows: int64(n), Bytes: st.Size()})
		wantRows += int64(n)
		for k := 0; k < n; k++ {
			wantSum += int64(i*10 + k)
		}
	}
	start = time.Now()
	pq, err := OpenBuild(ctx, filepath.Join(dir, "out"), m, "train", Options{Format: format.Parquet, Workers: manyWorkers, SkipHash: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pq.Close()
	rows, sum = 0, 0
	names := map[string]int64{}
	// Columns reads as profiles and drift checks do (dictionaries kept).
	err = pq.Columns([]int{1, 0})(ctx, manyWorkers, func(_ int, rec arrow.RecordBatch) error {
		see()
		id := rec.Column(1).(*array.Int64)
		mu.Lock()
		defer mu.Unlock()
		rows += rec.NumRows()
		for r := 0; r < id.Len(); r++ {
			sum += id.Value(r)
			names[rec.Column(0).ValueStr(r)]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pq.Rows != wantRows || rows != wantRows || sum != wantSum || names["n0"] != manyParts || names["n3"] != manyParts/4 {
		t.Errorf("parts: %d rows inspected, %d scanned with sum(id) %d, names %v; want %d rows, sum %d, n0 %d times, n3 %d times",
			pq.Rows, rows, sum, names, wantRows, wantSum, manyParts, manyParts/4)
	}
	pqTime := time.Since(start)

	// Each worker holds at most one file open (a stream of a text file, or
	// random access to a Parquet file); the rest is the reading of
	// /proc/self/fd and slack for the runtime.
	if got, max := peak.Load()-int64(base), int64(manyWorkers+2); got > max {
		t.Errorf("at most %d open files beside the %d from before, want at most %d (workers %d)", got, base, max, manyWorkers)
	}
	t.Logf("open files: at most %d beside the %d from before, with %d workers and a limit of %d; open and scan of %d CSV files %v, of %d Parquet parts %v",
		peak.Load()-int64(base), base, manyWorkers, lim.Cur, manyCSV, csvTime.Round(time.Millisecond), manyParts, pqTime.Round(time.Millisecond))
}

// BenchmarkManyParts opens and scans the parts of a build of
// MLDATA_BENCH_PARTS small Parquet parts (3,000 unless set) with two
// workers, as the split check reads a build back, and reports the most
// files the process had open (counted after opening and now and then
// during the scan).
func BenchmarkManyParts(b *testing.B) {
	n := 3000
	if s := os.Getenv("MLDATA_BENCH_PARTS"); s != "" {
		if _, err := fmt.Sscan(s, &n); err != nil {
			b.Fatalf("MLDATA_BENCH_PARTS=%q: %v", s, err)
		}
	}
	dir := b.TempDir()
	m := &manifest.Manifest{BuildID: "b1", Splits: []manifest.Split{{Name: "train"}}}
	var want int64
	for i := 0; i < n; i++ {
		p := fmt.Sprintf("part-%05d.parquet", i)
		data := partBytes(b, i)
		if err := os.WriteFile(filepath.Join(dir, p), data, 0o644); err != nil {
			b.Fatal(err)
		}
		m.Splits[0].Parts = append(m.Splits[0].Parts, manifest.Part{Path: p, Split: "train", Bytes: int64(len(data))})
		want += int64(manyPartRows(i))
	}
	var peak atomic.Int64
	see := func() { // one count at a time: each opens /proc/self/fd
		if n := int64(len(procFDs(b))); n > peak.Load() {
			peak.Store(n)
		}
	}
	var counting sync.Mutex
	b.ResetTimer()
	for b.Loop() {
		d, err := OpenBuild(context.Background(), dir, m, "train", Options{Format: format.Parquet, Workers: 2, SkipHash: true})
		if err != nil {
			b.Fatal(err)
		}
		see()
		var rows atomic.Int64
		err = d.Scan(context.Background(), 2, func(_ int, rec arrow.RecordBatch) error {
			if rows.Add(rec.NumRows())%64 == 0 && counting.TryLock() {
				see()
				counting.Unlock()
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		d.Close()
		if rows.Load() != want {
			b.Fatalf("%d rows, want %d", rows.Load(), want)
		}
	}
	b.ReportMetric(float64(peak.Load()), "open-files")
}

func procFDs(b *testing.B) []os.DirEntry {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		b.Fatal(err)
	}
	return ents
}

// A dataset keeps no file open between passes, so a local Parquet file
// replaced after it was inspected is refused by the scan rather than read
// as if it were the file inspected.
func TestReplacedFileIsRefused(t *testing.T) {
	replacedIsRefused(t, partBytes(t, 1), partBytes(t, 3))
}

// A file replaced by another of the same size after a pass parsed its
// footer is refused by the next pass (its modification time differs),
// not decoded with the footer the first pass kept.
func TestReplacedFileOfTheSameSizeIsRefused(t *testing.T) {
	first := partBytes(t, 1)
	var second []byte
	for i := 2; i < 100 && second == nil; i++ {
		if b := partBytes(t, i); len(b) == len(first) && !bytes.Equal(b, first) {
			second = b
		}
	}
	if second == nil {
		t.Fatal("no other part of the same size")
	}
	replacedIsRefused(t, first, second)
}

// replacedIsRefused opens a dataset of one Parquet file holding first (2
// rows, modified an hour ago), scans it, writes second in its place and
// checks that the next scan is refused, naming the file.
func replacedIsRefused(t *testing.T, first, second []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.parquet")
	if err := os.WriteFile(p, first, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	d, err := Open(context.Background(), p, Options{SkipHash: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := scanRows(t, d); got != 2 {
		t.Fatalf("%d rows, want 2", got)
	}
	if err := os.WriteFile(p, second, 0o644); err != nil {
		t.Fatal(err)
	}
	err = d.Scan(context.Background(), 2, func(int, arrow.RecordBatch) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "a.parquet") || !strings.Contains(err.Error(), "changed since it was first read") {
		t.Fatalf("scan of a replaced file: %v, want it refused as changed", err)
	}
}
