package drift_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/mldata-io/mldata/pkg/drift"
)

// counting counts the scans of in.
func counting(in drift.Input, n *atomic.Int32) drift.Input {
	scan := in.Scan
	in.Scan = func(ctx context.Context, workers int, fn func(int, arrow.RecordBatch) error) error {
		n.Add(1)
		return scan(ctx, workers, fn)
	}
	return in
}

// CompareMany gives Compare's reports to the bit, reading the baseline once
// for the currents that pair with it alike and again for one that does not.
func TestCompareManyIsCompare(t *testing.T) {
	side := func(name string, shift float64, k int) drift.Input {
		return data(t, name,
			num("x", seq(3000, func(i int) any {
				if i%17 == 0 {
					return nil
				}
				return math.Sin(float64(i*k))*3 + shift
			})...),
			ints("dense", seq(3000, func(i int) any { return i*k%37 + int(shift*10) })...),
			ints("wide", seq(3000, func(i int) any { return (i * k * 7919) << 20 })...),
			strs("s", seq(3000, func(i int) any { return string(rune('a' + i*k%(7+k))) })...),
			bools("b", seq(3000, func(i int) any { return i%(k+1) == 0 })...),
			strs("id", seq(3000, func(i int) any { return name + strings.Repeat("x", i%5) + string(rune(i)) })...))
	}
	base := side("train", 0, 1)
	currents := []drift.Input{side("validation", 0.2, 2), side("test", 0, 3),
		// Pairs differently: no column s.
		data(t, "other", num("x", 1.0, 2.5, 9.0), ints("dense", 3, 4, 5), ints("wide", 1, 2, 3), bools("b", true, false, true), strs("id", "a", "b", "c"))}
	for _, binning := range []drift.Binning{drift.Uniform, drift.Quantile} {
		opt := drift.Options{Binning: binning, Exclude: []string{"id"}, Now: fixedNow, Workers: 2, MaxCategories: 20}
		var scans atomic.Int32
		got, err := drift.CompareMany(context.Background(), counting(base, &scans), currents, opt)
		if err != nil {
			t.Fatal(err)
		}
		if n := scans.Load(); n != 2 {
			t.Errorf("%s: baseline scanned %d times, want 2 (once for validation and test, once for other)", binning, n)
		}
		if len(got) != len(currents) {
			t.Fatalf("%d reports for %d currents", len(got), len(currents))
		}
		for i, cur := range currents {
			want := compare(t, base, cur, opt)
			wj, _ := json.Marshal(want)
			gj, _ := json.Marshal(got[i])
			if string(wj) != string(gj) {
				t.Errorf("%s: report for %s differs from Compare's:\n%s\nwant\n%s", binning, cur.Name, gj, wj)
			}
		}
		if len(got[0].NumericDrift) != 3 || len(got[0].CategoricalDrift) != 2 || got[0].NumericDrift[0].Value.PSI == 0 {
			t.Errorf("%s: validation compared %v and %v", binning, got[0].NumericDrift.Keys(), got[0].CategoricalDrift.Keys())
		}
	}
}

func TestCompareManyNamesTheCurrent(t *testing.T) {
	base := data(t, "train", num("x", 1.0, 2.0))
	_, err := drift.CompareMany(context.Background(), base, []drift.Input{data(t, "validation", num("x", 1.0)), {Name: "test"}}, drift.Options{})
	if err == nil || !strings.Contains(err.Error(), "comparing test with train: drift: the current side must be data") {
		t.Fatalf("error %v, want one naming test and train", err)
	}
}
