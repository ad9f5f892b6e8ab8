package drift_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/profile"
	"github.com/mldata-io/mldata/pkg/profile/profiletest"
)

var dataDir = filepath.Join("testdata", "crosscheck")

type expectedFile struct {
	Cases   map[string]map[string]json.RawMessage `json:"cases"`
	Special struct {
		Kolmogorov []struct{ X, SF float64 }     `json:"kolmogorov_sf"`
		Chi2       []struct{ X, DF, SF float64 } `json:"chi2_sf"`
	} `json:"special"`
}

func loadExpected(t *testing.T) expectedFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dataDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expectedFile
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func input(t *testing.T, file string, chunk int) drift.Input {
	t.Helper()
	recs, err := profiletest.Load(filepath.Join(dataDir, file), chunk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { profiletest.Release(recs) })
	return drift.Input{Name: file, Schema: recs[0].Schema(), Scan: profile.Records(recs...)}
}

func compareJSON(t *testing.T, name string, want json.RawMessage, r *drift.Report) {
	t.Helper()
	got, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if d := profiletest.Diff(w, g, 1e-9); d != "" {
		t.Errorf("%s differs from numpy/scipy:\n%s", name, d)
	}
}

// TestCrossCheck compares every metric with numpy/scipy on the same data
// (hack/crosscheck/crosscheck.py computed them from the definitions in docs/statistics.md).
func TestCrossCheck(t *testing.T) {
	exp := loadExpected(t)
	now := func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }
	for _, name := range []string{"shifted", "same"} {
		for _, binning := range []drift.Binning{drift.Uniform, drift.Quantile} {
			cur := name + "_current.json"
			if name == "same" {
				cur = name + "_baseline.json"
			}
			r, err := drift.Compare(context.Background(), input(t, name+"_baseline.json", 101), input(t, cur, 64),
				drift.Options{Binning: binning, Workers: 3, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			compareJSON(t, name+"/"+string(binning), exp.Cases[name][string(binning)], r)
			if name == "same" && (r.HasDrift || r.MaxPSI() != 0) {
				t.Errorf("identical data: has_drift %v, max PSI %v", r.HasDrift, r.MaxPSI())
			}
		}
	}

	raw, err := os.ReadFile(filepath.Join(dataDir, "shifted_baseline_profile.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	r, err := drift.Compare(context.Background(), drift.Input{Name: "profile", Profile: p}, input(t, "shifted_current.json", 0), drift.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	compareJSON(t, "shifted_pinned", exp.Cases["shifted_pinned"]["uniform"], r)
}

func TestSpecialFunctionsMatchScipy(t *testing.T) {
	exp := loadExpected(t)
	for _, c := range exp.Special.Kolmogorov {
		if got := drift.KolmogorovSF(c.X); !close(got, c.SF, 1e-12) {
			t.Errorf("KolmogorovSF(%v) = %.17g, scipy %.17g", c.X, got, c.SF)
		}
	}
	for _, c := range exp.Special.Chi2 {
		if got := drift.ChiSquareSF(c.X, c.DF); !close(got, c.SF, 1e-10) {
			t.Errorf("ChiSquareSF(%v, %v) = %.17g, scipy %.17g", c.X, c.DF, got, c.SF)
		}
	}
}
