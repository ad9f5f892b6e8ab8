package drift_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/mldata-io/mldata/pkg/drift"
)

// PSIOnly leaves KS and Wasserstein out and gives every other number of
// the report — PSI, KL, JS, Hellinger, edges, counts, verdicts, skipped
// columns, categories — as the full comparison does, to the bit: on floats
// with nulls, NaN, ±Inf and both zeros, integers counted per value and
// integers too spread for that, categories, flags, a constant column and
// one with no finite baseline value; by Compare and by CompareMany.
func TestPSIOnlyIsTheFullComparisonsBins(t *testing.T) {
	negZero := math.Copysign(0, -1)
	side := func(name string, shift float64, k int) drift.Input {
		return data(t, name,
			num("x", seq(4000, func(i int) any {
				switch {
				case i%17 == 0:
					return nil
				case i%101 == 0:
					return math.NaN()
				case i%211 == 0:
					return math.Inf(1 - 2*(i%2))
				case i%7 == 0:
					return negZero
				case i%9 == 0:
					return 0.0
				}
				return math.Sin(float64(i*k))*3 + shift
			})...),
			num("zeros", seq(4000, func(i int) any { return []any{negZero, 0.0, nil}[(i+k)%3] })...),
			num("const", seq(4000, func(i int) any { return 2.5 })...),
			num("inf", seq(4000, func(i int) any {
				if name == "train" {
					return math.Inf(1 - 2*(i%2))
				}
				return float64(i)
			})...),
			ints("dense", seq(4000, func(i int) any { return i*k%37 + int(shift*10) })...),
			ints("wide", seq(4000, func(i int) any {
				if i%13 == 0 {
					return nil
				}
				return (i * k * 7919) << 20
			})...),
			strs("s", seq(4000, func(i int) any {
				if i%23 == 0 {
					return nil
				}
				return string(rune('a' + i*k%(7+k)))
			})...),
			bools("b", seq(4000, func(i int) any { return i%(k+1) == 0 })...))
	}
	base := side("train", 0, 1)
	currents := []drift.Input{side("validation", 0.3, 2), side("test", 0, 3)}
	full := drift.Options{Now: fixedNow, Workers: 2, MaxCategories: 20}
	only := full
	only.PSIOnly = true
	wantReports, err := drift.CompareMany(context.Background(), base, currents, full)
	if err != nil {
		t.Fatal(err)
	}
	many, err := drift.CompareMany(context.Background(), base, currents, only)
	if err != nil {
		t.Fatal(err)
	}
	for i, cur := range currents {
		want := wantReports[i]
		if len(want.NumericDrift) != 5 || len(want.CategoricalDrift) != 2 || len(want.Skipped) != 1 {
			t.Fatalf("%s: the full comparison compared %v and %v, skipped %v", cur.Name, want.NumericDrift.Keys(), want.CategoricalDrift.Keys(), want.Skipped)
		}
		// The full report less what PSIOnly leaves out, with its reason.
		for _, f := range want.NumericDrift {
			v := f.Value
			v.KSStatistic, v.KSPValue, v.WassersteinDistance, v.WassersteinNormed = nil, nil, nil, nil
			if v.Unavailable == nil {
				v.Unavailable = map[string]string{}
			}
			for _, m := range []string{"ks_statistic", "ks_pvalue", "wasserstein_distance", "wasserstein_normed"} {
				v.Unavailable[m] = "not computed: the comparison was asked for the binned metrics only"
			}
		}
		wj, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		for how, got := range map[string]*drift.Report{"Compare": compare(t, base, cur, only), "CompareMany": many[i]} {
			gj, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if string(gj) != string(wj) {
				t.Errorf("%s of %s with PSIOnly:\n%s\nwant the full report's bins:\n%s", how, cur.Name, gj, wj)
			}
		}
	}
	// The comparison differs from split to split, so the check above
	// compares numbers that matter.
	x0, _ := wantReports[0].NumericDrift.Get("x")
	x1, _ := wantReports[1].NumericDrift.Get("x")
	if x0.PSI == x1.PSI || x0.PSI <= 0 {
		t.Errorf("x PSI %v and %v: want two different positive values", x0.PSI, x1.PSI)
	}
}

func TestPSIOnlyRefusesWhatItDoesNotCompute(t *testing.T) {
	p := 0.05
	in := data(t, "a", num("x", 1.0, 2.0))
	for want, opt := range map[string]drift.Options{
		"needs uniform binning": {PSIOnly: true, Binning: drift.Quantile},
		"no KS p-value":         {PSIOnly: true, Thresholds: drift.Thresholds{KSPValue: &p}},
		"not by methods":        {PSIOnly: true, Methods: []drift.MethodRule{{Method: drift.MethodThresholds, Type: drift.Numeric}}},
		"does not sketch":       {PSIOnly: true, MaxMemory: 1 << 20},
	} {
		_, err := drift.Compare(context.Background(), in, in, opt)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one saying %q", err, want)
		}
	}
}
