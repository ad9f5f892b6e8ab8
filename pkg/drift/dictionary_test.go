package drift_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/mldata-io/mldata/pkg/dataset"
	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/profile"
)

// Parquet string columns handed over as dictionaries (dataset.Columns) give
// the report that reading every column as plain strings gives, with the
// category limit passed on either side, not passed, and lifted.
func TestParquetDictionariesGiveTheSameReport(t *testing.T) {
	dir := t.TempDir()
	basePath := writeParquet(t, dir, "base.parquet", benchSide(30_000, 1, 0))
	curPath := writeParquet(t, dir, "cur.parquet", benchSide(30_000, 2, 0.3))
	open := func(p string) *dataset.Dataset {
		ds, err := dataset.Open(context.Background(), p, dataset.Options{SkipHash: true, Read: format.Options{ChunkRows: 4000}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ds.Close() })
		return ds
	}
	base, cur := open(basePath), open(curPath)
	dictBatches := 0
	withDicts := func(ds *dataset.Dataset) drift.Input {
		return drift.Input{Name: "x", Schema: ds.Schema, Scan: ds.Scan, Columns: func(cols []int) profile.ScanFunc {
			scan := ds.Columns(cols)
			return func(ctx context.Context, workers int, fn func(int, arrow.RecordBatch) error) error {
				return scan(ctx, workers, func(w int, rec arrow.RecordBatch) error {
					for _, c := range rec.Columns() {
						if _, ok := c.(*array.Dictionary); ok {
							dictBatches++ // one worker at a time below
						}
					}
					return fn(w, rec)
				})
			}
		}}
	}
	plain := func(ds *dataset.Dataset) drift.Input {
		return drift.Input{Name: "x", Schema: ds.Schema, Scan: ds.Scan}
	}
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	for _, limit := range []int{0, 150, 250, -1} {
		opt := drift.Options{MaxCategories: limit, Workers: 1, Now: now}
		want, err := drift.Compare(context.Background(), plain(base), plain(cur), opt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := drift.Compare(context.Background(), withDicts(base), withDicts(cur), opt)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("limit %d: report from dictionaries\n%s\nwant\n%s", limit, g, w)
		}
		if _, ok := want.CategoricalDrift.Get("category"); !ok && limit != 150 {
			t.Errorf("limit %d: category was not compared: %v", limit, want.Skipped)
		}
	}
	if dictBatches == 0 {
		t.Error("no string column came as a dictionary")
	}
}
