package drift_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/google/go-cmp/cmp"

	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/profile"
)

// projecting lets in scan some columns only, and records which it was
// asked for.
func projecting(in drift.Input, asked *[][]string) drift.Input {
	var mu sync.Mutex
	in.Columns = func(cols []int) profile.ScanFunc {
		var names []string
		for _, c := range cols {
			names = append(names, in.Schema.Field(c).Name)
		}
		mu.Lock()
		*asked = append(*asked, names)
		mu.Unlock()
		return func(ctx context.Context, workers int, fn func(int, arrow.RecordBatch) error) error {
			return in.Scan(ctx, workers, func(w int, rec arrow.RecordBatch) error {
				fields := make([]arrow.Field, len(cols))
				arrs := make([]arrow.Array, len(cols))
				for j, c := range cols {
					fields[j], arrs[j] = rec.Schema().Field(c), rec.Column(c)
				}
				return fn(w, array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, rec.NumRows()))
			})
		}
	}
	return in
}

// A side that can project is asked for the compared columns only — not the
// excluded ones, nor those skipped before reading (missing on a side, or of
// different kinds), and the current side not those the baseline alone
// decides (no values, too many categories) — and the report is the one a
// full scan gives.
func TestComparedColumnsOnly(t *testing.T) {
	b := data(t, "a", num("x", 1.0, 2.0, 3.0), strs("s", "a", "b", "b"), num("gone", 1.0, 2.0, 3.0), strs("mixed", "a", "b", "c"), ints("i", 1, 2, 9), num("y", 1.0, 1.0, 1.0),
		num("none", nil, nil, math.NaN()), strs("ids", "u1", "u2", "u3"))
	c := data(t, "b", num("mixed", 1.0, 2.0, 3.0), ints("i", 4, 2, 2), num("y", 1.0, 1.0, 1.0), num("x", 2.0, 2.0, 5.0), strs("s", "a", "c", "c"),
		strs("ids", "u1", "u1", "u1"), num("none", 1.0, 2.0, 3.0))
	opt := drift.Options{Exclude: []string{"y"}, MaxCategories: 2}
	want := compare(t, b, c, opt)
	var askedB, askedC [][]string
	got := compare(t, projecting(b, &askedB), projecting(c, &askedC), opt)
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if string(wj) != string(gj) {
		t.Errorf("projected report differs:\n%s\nwant\n%s", gj, wj)
	}
	// Each side's columns in its own schema order.
	if diff := cmp.Diff([][]string{{"x", "s", "i", "none", "ids"}}, askedB); diff != "" {
		t.Errorf("baseline columns (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"i", "x", "s"}}, askedC); diff != "" {
		t.Errorf("current columns (-want +got):\n%s", diff)
	}
	if len(got.NumericDrift) != 2 || len(got.CategoricalDrift) != 1 {
		t.Errorf("compared %v and %v", got.NumericDrift.Keys(), got.CategoricalDrift.Keys())
	}
	skipped := map[string]string{}
	for _, s := range got.Skipped {
		skipped[s.Column] = s.Reason
	}
	if r := skipped["none"]; r != "no non-null values in baseline" {
		t.Errorf("none: skipped for %q", r)
	}
	if r := skipped["ids"]; !strings.Contains(r, "more than 2 distinct values in baseline") {
		t.Errorf("ids: skipped for %q", r)
	}
}
