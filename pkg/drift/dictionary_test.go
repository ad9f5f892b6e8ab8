package drift_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	gocmp "github.com/google/go-cmp/cmp"

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
	var dictBatches atomic.Int64
	withDicts := func(ds *dataset.Dataset) drift.Input {
		return drift.Input{Name: "x", Schema: ds.Schema, Scan: ds.Scan, Columns: func(cols []int) profile.ScanFunc {
			scan := ds.Columns(cols)
			return func(ctx context.Context, workers int, fn func(int, arrow.RecordBatch) error) error {
				return scan(ctx, workers, func(w int, rec arrow.RecordBatch) error {
					for _, c := range rec.Columns() {
						if _, ok := c.(*array.Dictionary); ok {
							dictBatches.Add(1)
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
	for _, tc := range []struct{ limit, workers int }{{0, 1}, {150, 2}, {250, 1}, {-1, 2}} {
		limit := tc.limit
		opt := drift.Options{MaxCategories: limit, Workers: tc.workers, Now: now}
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
	if dictBatches.Load() == 0 {
		t.Error("no string column came as a dictionary")
	}
}

// Timestamps and dates are counted as integers and rendered once per
// distinct value: the categories, counts and metrics are those of the same
// values as rendered text, and the category limit falls at the same count.
func TestTemporalCategoriesAsText(t *testing.T) {
	usec := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	side := func(seed int64, n int) (stamps, days, texts, dayTexts []arrow.Array) {
		for start := 0; start < n; start += 70 {
			var ts, ds, tx, dx []string
			for i := start; i < min(start+70, n); i++ {
				if i%13 == 5 {
					ts, ds, tx, dx = append(ts, "null"), append(ds, "null"), append(tx, "null"), append(dx, "null")
					continue
				}
				v := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration((int64(i)*seed)%97) * 1500 * time.Microsecond)
				d := time.Date(1999, 12, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int((int64(i)*seed)%61))
				q := func(s string) string { return `"` + s + `"` }
				ts = append(ts, q(v.Format(time.RFC3339Nano)))
				tx = append(tx, q(v.Format(time.RFC3339Nano)))
				ds = append(ds, q(d.Format("2006-01-02")))
				dx = append(dx, q(d.Format("2006-01-02")))
			}
			j := func(xs []string) string { return "[" + strings.Join(xs, ",") + "]" }
			stamps = append(stamps, fromJSON(t, usec, j(ts)))
			days = append(days, fromJSON(t, arrow.FixedWidthTypes.Date32, j(ds)))
			texts = append(texts, fromJSON(t, arrow.BinaryTypes.String, j(tx)))
			dayTexts = append(dayTexts, fromJSON(t, arrow.BinaryTypes.String, j(dx)))
		}
		return
	}
	bs, bd, bt, bdt := side(7, 1000)
	cs, cd, ct, cdt := side(11, 800)
	for _, limit := range []int{0, 60, 96, 97, -1} {
		for _, workers := range []int{1, 3} {
			opt := drift.Options{MaxCategories: limit, Workers: workers}
			for name, pair := range map[string][4][]arrow.Array{"timestamps": {bs, cs, bt, ct}, "dates": {bd, cd, bdt, cdt}} {
				got := compare(t, oneColumn(t, pair[0]...), oneColumn(t, pair[1]...), opt)
				want := compare(t, oneColumn(t, pair[2]...), oneColumn(t, pair[3]...), opt)
				if diff := gocmp.Diff(want.CategoricalDrift, got.CategoricalDrift); diff != "" {
					t.Errorf("%s, limit %d, %d workers (-text +got):\n%s", name, limit, workers, diff)
				}
				if diff := gocmp.Diff(want.Skipped, got.Skipped); diff != "" {
					t.Errorf("%s, limit %d, %d workers: skipped (-text +got):\n%s", name, limit, workers, diff)
				}
			}
		}
	}
}
