package dataset

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/mldata-io/mldata/pkg/format"
)

// fileRows scans f's columns cols in file order and renders the rows.
func fileRows(t *testing.T, d *Dataset, cols []int, workers int) []string {
	t.Helper()
	var rows []string
	for i, f := range d.Files {
		err := ScanFileColumns(context.Background(), d.Schema, cols, f, i, d.opts.Read, workers,
			func(_ int, b Batch) (arrow.RecordBatch, error) { return b.Record, nil },
			func(rec arrow.RecordBatch) error {
				defer rec.Release()
				want, _ := format.Project(d.Schema, cols)
				if !rec.Schema().Equal(want) {
					return fmt.Errorf("batch schema %s, want %s", rec.Schema(), want)
				}
				for r := 0; r < int(rec.NumRows()); r++ {
					var cells []string
					for _, col := range rec.Columns() {
						cells = append(cells, col.ValueStr(r))
					}
					rows = append(rows, strings.Join(cells, "|"))
				}
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
	}
	return rows
}

// ScanColumns gives the asked columns of every row, in file order whatever
// the worker count, from text files (decoded whole, then projected) and
// Parquet files (which read those columns only).
func TestScanColumns(t *testing.T) {
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("id,name,score,flag\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&csv, "%d,n%d,%d.5,%v\n", i, i%7, i*3, i%3 == 0)
	}
	write(t, dir, "src/a.csv", csv.String())
	ropt := format.Options{ChunkRows: 7}
	src, err := Open(context.Background(), filepath.Join(dir, "src"), Options{Read: ropt})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	// The same rows as Parquet.
	fh, err := os.Create(filepath.Join(dir, "a.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := format.NewWriter(fh, src.Schema, format.Parquet, format.Snappy)
	if err != nil {
		t.Fatal(err)
	}
	err = ScanFile(context.Background(), src.Schema, src.Files[0], 0, ropt, 3,
		func(_ int, b Batch) (arrow.RecordBatch, error) { return b.Record, nil },
		func(rec arrow.RecordBatch) error { defer rec.Release(); return w.Write(rec) })
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	pq, err := Open(context.Background(), filepath.Join(dir, "a.parquet"), Options{Read: ropt})
	if err != nil {
		t.Fatal(err)
	}
	defer pq.Close()

	for _, d := range []*Dataset{src, pq} {
		all := fileRows(t, d, nil, 1)
		if len(all) != 100 || all[9] != "9|n2|27.5|true" {
			t.Fatalf("%s: %d rows, row 9 %q", d.URI, len(all), all[9])
		}
		for _, cols := range [][]int{{2, 0}, {1}, {0, 1, 2, 3}} {
			var want []string
			for _, row := range all {
				cells := strings.Split(row, "|")
				var picked []string
				for _, c := range cols {
					picked = append(picked, cells[c])
				}
				want = append(want, strings.Join(picked, "|"))
			}
			for _, workers := range []int{1, 2, 5} {
				got := fileRows(t, d, cols, workers)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s: columns %v with %d workers: got %d rows %q…, want %q…", d.URI, cols, workers, len(got), got[:3], want[:3])
				}
			}
		}
		if err := d.ScanColumns(context.Background(), 2, []int{4}, func(int, arrow.RecordBatch) error { return nil }); err == nil {
			t.Errorf("%s: column index 4 of 4 columns did not fail", d.URI)
		}
	}
}
