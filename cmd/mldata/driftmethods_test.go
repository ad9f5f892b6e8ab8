package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mldata-io/mldata/pkg/drift"
)

// price moves wholly above the baseline (Wasserstein normed ≈ 7.8, KS
// p-value ≈ 0.023 with n = 4, m = 5, D = 1); country's shares move by at
// most 0.6 (L-infinity), and its chi-square p-value is ≈ 0.17.
func TestDriftMethodFlags(t *testing.T) {
	dir := t.TempDir()
	base := pdWrite(t, dir, "a.csv", pdBaseCSV)
	cur := pdWrite(t, dir, "b.csv", pdCurCSV)
	report := func(args ...string) (*drift.Report, int, string) {
		t.Helper()
		out, errOut, code := pdRun(t, append([]string{"drift", base, cur, "--exclude", "id"}, args...)...)
		if code != exitOK && code != exitDrift {
			return nil, code, errOut
		}
		var r drift.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return &r, code, errOut
	}

	r, _, errOut := report("--method", "numeric=wasserstein", "--method", "country=linf:0.7")
	if r == nil {
		t.Fatal(errOut)
	}
	price, _ := r.NumericDrift.Get("price")
	country, _ := r.CategoricalDrift.Get("country")
	if price.Method != drift.MethodWasserstein || *price.Threshold != 0.1 || !price.DriftDetected {
		t.Errorf("price: %s %v drifted %v", price.Method, *price.Threshold, price.DriftDetected)
	}
	if country.Method != drift.MethodLInf || *country.Threshold != 0.7 || country.DriftDetected || country.LInfDistance != 0.6 {
		t.Errorf("country: %s %v drifted %v linf %v", country.Method, *country.Threshold, country.DriftDetected, country.LInfDistance)
	}
	if r.DriftShare != 0.5 || !r.HasDrift {
		t.Errorf("drift share %v, has_drift %v", r.DriftShare, r.HasDrift)
	}

	// Half the columns drift: --drift-share 0.6 says the dataset does not,
	// so --fail-on-drift exits 0; 0.5 says it does.
	if r, code, errOut := report("--method", "country=linf:0.7", "--drift-share", "0.6", "--fail-on-drift"); r == nil || code != exitOK || r.HasDrift {
		t.Errorf("drift share 0.6: exit %d, %s", code, errOut)
	}
	// The message names what decided each drifted column, and the share.
	if _, code, errOut := report("--method", "numeric=wasserstein", "--method", "country=linf:0.7", "--drift-share", "0.5", "--fail-on-drift"); code != exitDrift ||
		!strings.Contains(errOut, "drift detected in 1 column(s) (drift share 0.5): price: wasserstein_normed 7.797 >= 0.1") {
		t.Errorf("drift share 0.5: exit %d, %s", code, errOut)
	}

	// The same rules from a file.
	file := pdWrite(t, dir, "methods.yaml", "driftShare: 0.6\nmethods:\n- {type: numeric, method: ks, threshold: 0.001}\n- {columns: [country], method: chisquare}\n")
	r, _, errOut = report("--methods-file", file)
	if r == nil {
		t.Fatal(errOut)
	}
	price, _ = r.NumericDrift.Get("price")
	country, _ = r.CategoricalDrift.Get("country")
	if price.Method != drift.MethodKS || price.DriftDetected || country.Method != drift.MethodChiSquare || *country.Threshold != 0.05 || country.DriftDetected || r.DriftShare != 0 || r.HasDrift {
		t.Errorf("from file: price %s %v, country %s %v, share %v", price.Method, price.DriftDetected, country.Method, country.DriftDetected, r.DriftShare)
	}
}

func TestDriftMethodUsageErrors(t *testing.T) {
	dir := t.TempDir()
	base := pdWrite(t, dir, "a.csv", pdBaseCSV)
	badFile := pdWrite(t, dir, "bad.yaml", "methods:\n- {type: numeric, metod: ks}\n")
	wrongFile := pdWrite(t, dir, "wrong.yaml", "methods:\n- {type: numeric, method: ks}\n- {columns: [country], method: wasserstein}\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--method", "price"}, "use COLUMN=METHOD[:THRESHOLD]"},
		{[]string{"--method", "price=emd"}, `unknown method "emd"`},
		{[]string{"--method", "price=ks:x"}, `threshold "x" must be a number > 0`},
		{[]string{"--method", "price=ks:1"}, "--method price=ks:1: threshold is a p-value and must be in (0, 1)"},
		{[]string{"--method", "country=wasserstein"}, `--method country=wasserstein: column "country" is categorical; wasserstein applies to numeric columns only`},
		{[]string{"--method", "categorical=ks"}, "--method categorical=ks: ks does not apply to categorical columns"},
		{[]string{"--method", "nope=psi"}, `column "nope" is in neither dataset`},
		{[]string{"--method", "price=ks", "--method", "price=js"}, `--method price=js: --method price=ks already sets the method of column "price"`},
		{[]string{"--drift-share", "0"}, "--drift-share must be in (0, 1]"},
		{[]string{"--methods-file", badFile}, `unknown field "metod"`},
		{[]string{"--methods-file", wrongFile}, wrongFile + `: methods[1]: column "country" is categorical; wasserstein applies to numeric columns only`},
		{[]string{"--methods-file", dir + "/none.yaml"}, "--methods-file"},
	} {
		_, errOut, code := pdRun(t, append([]string{"drift", base, base}, c.args...)...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want usage error containing %q", c.args, code, errOut, c.want)
		}
	}
}

// --max-memory below what the numeric values take sketches them, and the
// report says so with the bounds; a bad size is a usage error.
func TestDriftMaxMemory(t *testing.T) {
	dir := t.TempDir()
	base := pdWrite(t, dir, "a.csv", pdBaseCSV)
	cur := pdWrite(t, dir, "b.csv", pdCurCSV)
	out, errOut, code := pdRun(t, "drift", base, cur, "--columns", "price", "--max-memory", "16B")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r drift.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	// 4 and 5 values fit in any sketch exactly: D stays 1, within [1−ε, 1].
	price, _ := r.NumericDrift.Get("price")
	if a := price.Approximate; a == nil || *price.KSStatistic != 1 || a.KSStatistic[1] != 1 || a.KSStatistic[0] >= 1 {
		t.Errorf("price %+v, approximate %+v", price, price.Approximate)
	}
	if _, errOut, code := pdRun(t, "drift", base, cur, "--max-memory", "lots"); code != exitUsage || !strings.Contains(errOut, "--max-memory") {
		t.Errorf("bad size: exit %d, %s", code, errOut)
	}
}
