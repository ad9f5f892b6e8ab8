package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mldata-io/mldata/pkg/drift"
)

const pdCurCSV = `id,price,country
1,20.5,BR
2,21.0,BR
3,22,FR
4,23.25,US
5,19.75,BR
`

func TestDriftCommand(t *testing.T) {
	dir := t.TempDir()
	base := pdWrite(t, dir, "a.csv", pdBaseCSV)
	cur := pdWrite(t, dir, "b.csv", pdCurCSV)

	out, errOut, code := pdRun(t, "drift", base, cur, "--exclude", "id")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r drift.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	price, ok := r.NumericDrift.Get("price")
	if !ok || !price.DriftDetected || !r.HasDrift || price.KSStatistic == nil || *price.KSStatistic != 1 {
		t.Errorf("price = %+v", price)
	}
	if _, ok := r.NumericDrift.Get("id"); ok {
		t.Error("excluded column id was compared")
	}

	// --fail-on-drift: exit 3, with the drifted columns named.
	_, errOut, code = pdRun(t, "drift", base, cur, "--fail-on-drift", "--output", filepath.Join(dir, "d.json"), "--html", filepath.Join(dir, "d.html"))
	if code != exitDrift || !strings.Contains(errOut, "price") {
		t.Errorf("fail-on-drift: exit %d, stderr %q", code, errOut)
	}
	if page, err := os.ReadFile(filepath.Join(dir, "d.html")); err != nil || !strings.Contains(string(page), "Drift report") {
		t.Errorf("html report: %v", err)
	}
	// No drift against itself: exit 0 even with --fail-on-drift.
	if _, errOut, code = pdRun(t, "drift", base, base, "--fail-on-drift", "--binning", "quantile", "--ks-pvalue", "0.05", "--js", "0.2", "--chi2-pvalue", "0.01"); code != exitOK {
		t.Errorf("identical: exit %d: %s", code, errOut)
	}
}

func TestDriftAgainstStoredProfile(t *testing.T) {
	dir := t.TempDir()
	base := pdWrite(t, dir, "a.csv", pdBaseCSV)
	cur := pdWrite(t, dir, "b.csv", pdCurCSV)
	prof := filepath.Join(dir, "baseline.json")
	if _, errOut, code := pdRun(t, "profile", base, "--output", prof); code != exitOK {
		t.Fatalf("profile: exit %d: %s", code, errOut)
	}
	out, errOut, code := pdRun(t, "drift", prof, cur, "--columns", "price,country")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r drift.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	price, _ := r.NumericDrift.Get("price")
	if price == nil || price.KSStatistic != nil || price.Unavailable["ks_statistic"] == "" || r.Conventions.Binning != drift.Pinned {
		t.Errorf("price = %+v, binning %s", price, r.Conventions.Binning)
	}
	if c, _ := r.CategoricalDrift.Get("country"); c == nil || !c.DriftDetected {
		t.Errorf("country = %+v", c)
	}
	if _, _, code := pdRun(t, "drift", prof, cur, "--binning", "quantile"); code != exitUsage {
		t.Errorf("quantile with a profile: exit %d, want %d", code, exitUsage)
	}
	// A JSON file that is not a profile is read as data (and fails as such).
	other := pdWrite(t, dir, "x.json", `{"hello": 1}`)
	if _, _, code := pdRun(t, "drift", other, cur); code != exitFailure {
		t.Errorf("non-profile JSON: exit %d, want %d", code, exitFailure)
	}
	broken := pdWrite(t, dir, "broken.json", `{"schema":{"columns":[{"name":"a"},{"name":"a"}]}}`)
	if _, errOut, code := pdRun(t, "drift", broken, cur); code != exitFailure || !strings.Contains(errOut, "listed twice") {
		t.Errorf("damaged profile: exit %d, %s", code, errOut)
	}
}

func TestDriftUsageErrors(t *testing.T) {
	dir := t.TempDir()
	base := pdWrite(t, dir, "a.csv", pdBaseCSV)
	for _, args := range [][]string{
		{"drift", base},
		{"drift", base, base, "--bins", "1"},
		{"drift", base, base, "--binning", "log"},
		{"drift", base, base, "--threshold", "0"},
		{"drift", base, base, "--ks-pvalue", "2"},
		{"drift", base, base, "--workers", "-3"},
		{"drift", base, base, "--format", "xls"},
		{"drift", base, base, "--columns", "nope"},
		{"drift", base, base, "--max-categories", "-1"},
	} {
		if _, errOut, code := pdRun(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d (%s), want %d", args, code, errOut, exitUsage)
		}
	}
	if _, _, code := pdRun(t, "drift", filepath.Join(dir, "none.csv"), base); code != exitFailure {
		t.Errorf("missing baseline: exit %d", code)
	}
	if _, _, code := pdRun(t, "drift", base, filepath.Join(dir, "none.csv")); code != exitFailure {
		t.Errorf("missing current: exit %d", code)
	}
}

// country has 3 distinct values in the baseline and 3 in the current file:
// above --max-categories 2 it is skipped with the reason, and 0 lifts the
// limit.
func TestDriftMaxCategories(t *testing.T) {
	dir := t.TempDir()
	base := pdWrite(t, dir, "a.csv", pdBaseCSV)
	cur := pdWrite(t, dir, "b.csv", pdCurCSV)
	for _, tc := range []struct {
		limit   string
		skipped bool
	}{{"2", true}, {"3", false}, {"0", false}} {
		out, errOut, code := pdRun(t, "drift", base, cur, "--columns", "country", "--max-categories", tc.limit)
		if code != exitOK {
			t.Fatalf("--max-categories %s: exit %d: %s", tc.limit, code, errOut)
		}
		var r drift.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		_, compared := r.CategoricalDrift.Get("country")
		if tc.skipped {
			if compared || len(r.Skipped) != 1 || !strings.Contains(r.Skipped[0].Reason, "more than 2 distinct values in baseline") {
				t.Errorf("--max-categories %s: skipped %v", tc.limit, r.Skipped)
			}
		} else if !compared || len(r.Skipped) != 0 {
			t.Errorf("--max-categories %s: compared %v, skipped %v", tc.limit, compared, r.Skipped)
		}
	}
}
