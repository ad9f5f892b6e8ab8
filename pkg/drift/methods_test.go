package drift_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/profile"
	"github.com/mldata-io/mldata/pkg/profile/profiletest"
)

// methodsExpected is methods_expected.json, written by
// testdata/crosscheck/methods.py with numpy and scipy.
type methodsExpected struct {
	Rules map[string]struct {
		Method    drift.Method `json:"method"`
		Threshold float64      `json:"threshold"`
	} `json:"rules"`
	Cases map[string]map[string]json.RawMessage `json:"cases"`
}

// crossRules are the rules of methods.py as drift.Options.Methods.
func crossRules(t *testing.T, e methodsExpected) []drift.MethodRule {
	t.Helper()
	var rules []drift.MethodRule
	for key, r := range e.Rules {
		rule := drift.MethodRule{Method: r.Method, Threshold: r.Threshold}
		switch drift.ColumnType(key) {
		case drift.Numeric, drift.Categorical:
			rule.Type = drift.ColumnType(key)
		default:
			rule.Columns = []string{key}
		}
		rules = append(rules, rule)
	}
	slices.SortFunc(rules, func(a, b drift.MethodRule) int { return strings.Compare(string(a.Method), string(b.Method)) })
	return rules
}

// TestMethodsCrossCheck compares the Wasserstein, Hellinger and L-infinity
// distances, verdicts by chosen methods and drift share with numpy/scipy
// (scipy.stats.wasserstein_distance, np.std) on the cross-check data.
func TestMethodsCrossCheck(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(dataDir, "methods_expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e methodsExpected
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC) }
	share := func(s float64) *float64 { return &s }
	cases := []struct {
		name, base, cur string
		binning         drift.Binning
		methods         bool
		share           *float64
	}{
		{"shifted", "shifted_baseline.json", "shifted_current.json", drift.Uniform, false, nil},
		{"shifted", "shifted_baseline.json", "shifted_current.json", drift.Quantile, false, nil},
		{"same", "same_baseline.json", "same_baseline.json", drift.Uniform, false, nil},
		{"same", "same_baseline.json", "same_baseline.json", drift.Quantile, false, nil},
		{"methods", "methods_baseline.json", "methods_current.json", drift.Uniform, false, nil},
		{"shifted_rules", "shifted_baseline.json", "shifted_current.json", drift.Uniform, true, share(0.5)},
		{"shifted_rules_share", "shifted_baseline.json", "shifted_current.json", drift.Uniform, true, share(0.9)},
	}
	for _, c := range cases {
		opt := drift.Options{Binning: c.binning, Workers: 2, Now: now}
		if c.methods {
			opt.Methods = crossRules(t, e)
		}
		opt.Thresholds.DriftShare = c.share
		r, err := drift.Compare(context.Background(), input(t, c.base, 97), input(t, c.cur, 61), opt)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want := e.Cases[c.name][string(c.binning)]
		if want == nil {
			t.Fatalf("%s/%s: no expected values", c.name, c.binning)
		}
		// 1e-12 relative: the sums are compensated here and pairwise in
		// numpy, which agree far closer than that.
		compareJSONTol(t, c.name+"/"+string(c.binning), want, r, 1e-12)
	}
}

func compareJSONTol(t *testing.T, name string, want json.RawMessage, r *drift.Report, rel float64) {
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
	if d := profiletest.Diff(w, g, rel); d != "" {
		t.Errorf("%s differs from numpy/scipy:\n%s", name, d)
	}
}

// TestDistancesKnownValues states each value with its derivation.
func TestDistancesKnownValues(t *testing.T) {
	// A shift by 5 moves every unit of mass 5: W = 5.
	if w, ok := drift.Wasserstein([]float64{0, 1, 3}, []float64{5, 6, 8}); !ok || w != 5 {
		t.Errorf("Wasserstein of a shift by 5 = %v, %v; want 5", w, ok)
	}
	// F_b − F_c is 1/2 on [0, 1) and 0 elsewhere: W = 1/2.
	if w, _ := drift.Wasserstein([]float64{0, 1}, []float64{1, 1}); w != 0.5 {
		t.Errorf("Wasserstein([0 1], [1 1]) = %v, want 0.5", w)
	}
	if _, ok := drift.Wasserstein([]float64{0, math.Inf(1)}, []float64{1}); ok {
		t.Error("Wasserstein with +Inf on a side: want not ok")
	}
	// Disjoint supports: Hellinger 1, L-infinity the largest share, 1/2.
	if h := drift.Hellinger([]int64{1, 1, 0}, []int64{0, 0, 4}); h != 1 {
		t.Errorf("Hellinger of disjoint supports = %v, want 1", h)
	}
	if h := drift.Hellinger([]int64{3, 5}, []int64{6, 10}); h != 0 {
		t.Errorf("Hellinger of equal shares = %v, want 0", h)
	}
	// p = (1/2, 1/2), q = (1/4, 3/4): Σ√(pq) = (√(1/8) + √(3/8)) ≈ 0.9659258,
	// H = √(1 − 0.9659258) ≈ 0.18459191.
	if h := drift.Hellinger([]int64{2, 2}, []int64{1, 3}); !close(h, 0.18459191128251016, 1e-12) {
		t.Errorf("Hellinger((1/2,1/2), (1/4,3/4)) = %.17g", h)
	}
	if d := drift.LInf([]int64{2, 2, 0}, []int64{1, 2, 1}); d != 0.25 {
		t.Errorf("LInf = %v, want 0.25", d)
	}
}

func pair(t *testing.T) (drift.Input, drift.Input) {
	return input(t, "shifted_baseline.json", 0), input(t, "shifted_current.json", 0)
}

// TestMethodErrors: bad rules fail with an error naming the rule, the
// column and what to change.
func TestMethodErrors(t *testing.T) {
	one := func(s float64) *float64 { return &s }
	cases := []struct {
		name string
		opt  drift.Options
		want string
	}{
		{"unknown method", drift.Options{Methods: []drift.MethodRule{{Type: drift.Numeric, Method: "emd"}}}, `unknown method "emd": use one of psi, ks, js, wasserstein, linf, hellinger, chisquare`},
		{"both selectors", drift.Options{Methods: []drift.MethodRule{{Type: drift.Numeric, Columns: []string{"x"}, Method: "ks"}}}, "set columns or type, not both"},
		{"no selector", drift.Options{Methods: []drift.MethodRule{{Method: "ks"}}}, "set the columns or the type"},
		{"wrong type", drift.Options{Methods: []drift.MethodRule{{Type: drift.Categorical, Method: "wasserstein"}}}, "wasserstein does not apply to categorical columns; it applies to numeric columns only"},
		{"named column of the wrong type", drift.Options{Methods: []drift.MethodRule{{Columns: []string{"cat"}, Method: "ks"}}}, `column "cat" is categorical; ks applies to numeric columns only`},
		{"unknown column", drift.Options{Methods: []drift.MethodRule{{Columns: []string{"nope"}, Method: "ks"}}}, `column "nope" is in neither dataset`},
		{"column twice", drift.Options{Methods: []drift.MethodRule{{Columns: []string{"normal"}, Method: "ks"}, {Columns: []string{"normal"}, Method: "js"}}}, `methods[0] already sets the method of column "normal"`},
		{"type twice", drift.Options{Methods: []drift.MethodRule{{Type: drift.Numeric, Method: "ks"}, {Type: drift.Numeric, Method: "js"}}}, "methods[0] already sets the method of numeric columns"},
		{"p-value of 1", drift.Options{Methods: []drift.MethodRule{{Type: drift.Numeric, Method: "ks", Threshold: 1}}}, "threshold is a p-value and must be in (0, 1)"},
		{"negative", drift.Options{Methods: []drift.MethodRule{{Type: drift.Numeric, Method: "psi", Threshold: -1}}}, "threshold must be > 0"},
		{"js above 1", drift.Options{Methods: []drift.MethodRule{{Type: drift.Numeric, Method: "js", Threshold: 1.5}}}, "js is at most 1, so threshold 1.5 never flags a column"},
		{"share", drift.Options{Thresholds: drift.Thresholds{DriftShare: one(0)}}, "drift share must be in (0, 1]"},
	}
	for _, c := range cases {
		b, cur := pair(t)
		_, err := drift.Compare(context.Background(), b, cur, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

// TestMethodsAgainstProfile: methods that need the baseline's raw values
// are refused against a stored profile; the others decide as usual.
func TestMethodsAgainstProfile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(dataDir, "shifted_baseline_profile.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	base := drift.Input{Name: "profile", Profile: p}
	_, err = drift.Compare(context.Background(), base, input(t, "shifted_current.json", 0),
		drift.Options{Methods: []drift.MethodRule{{Type: drift.Numeric, Method: drift.MethodWasserstein}}})
	if err == nil || !strings.Contains(err.Error(), "wasserstein needs the baseline's raw values, and the baseline is a stored profile") {
		t.Fatalf("wasserstein against a profile: %v", err)
	}
	r, err := drift.Compare(context.Background(), base, input(t, "shifted_current.json", 0),
		drift.Options{Methods: []drift.MethodRule{{Type: drift.Numeric, Method: drift.MethodHellinger, Threshold: 0.3}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.NumericDrift {
		n := f.Value
		if n.Method != drift.MethodHellinger || *n.Threshold != 0.3 || n.DriftDetected != (n.HellingerDistance >= 0.3) {
			t.Errorf("%s: method %s threshold %v drifted %v with hellinger %v", f.Key, n.Method, *n.Threshold, n.DriftDetected, n.HellingerDistance)
		}
		if n.WassersteinDistance != nil || n.Unavailable["wasserstein_normed"] == "" {
			t.Errorf("%s: wasserstein %v against a profile, unavailable %v", f.Key, n.WassersteinDistance, n.Unavailable)
		}
	}
	for _, f := range r.CategoricalDrift {
		if f.Value.Method != drift.MethodPSI || *f.Value.Threshold != 0.1 {
			t.Errorf("%s: default rule reported as %s %v", f.Key, f.Value.Method, f.Value.Threshold)
		}
	}
}

// TestDecision: a column's decision names the metric its method compares,
// its value and threshold, and agrees with drift_detected.
func TestDecision(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	ks, js, chi := 0.05, 0.2, 0.01
	th := drift.Thresholds{PSI: 0.1, KSPValue: &ks, JS: &js, Chi2PValue: &chi}
	cases := []struct {
		name  string
		got   drift.Decision
		want  string
		drift bool
	}{
		{"wasserstein decides though PSI is low",
			(&drift.NumericDrift{PSI: 0.01, WassersteinNormed: f(0.31), Method: drift.MethodWasserstein, Threshold: f(0.1)}).Decision(th),
			"wasserstein_normed 0.31 >= 0.1", true},
		{"KS p-value below", (&drift.NumericDrift{PSI: 0.5, KSPValue: f(0.001), Method: drift.MethodKS, Threshold: f(0.05)}).Decision(th),
			"ks_pvalue 0.001 < 0.05", true},
		{"KS p-value above", (&drift.NumericDrift{KSPValue: f(0.2), Method: drift.MethodKS, Threshold: f(0.05)}).Decision(th),
			"ks_pvalue 0.2 >= 0.05", false},
		{"KS p-value unavailable", (&drift.NumericDrift{Method: drift.MethodKS, Threshold: f(0.05)}).Decision(th),
			"ks_pvalue unavailable (threshold 0.05)", false},
		{"linf", (&drift.CategoricalDrift{LInfDistance: 0.25, Method: drift.MethodLInf, Threshold: f(0.1)}).Decision(th),
			"linf_distance 0.25 >= 0.1", true},
		{"chi-square", (&drift.CategoricalDrift{Chi2PValue: 0.5, Method: drift.MethodChiSquare, Threshold: f(0.05)}).Decision(th),
			"chi2_pvalue 0.5 >= 0.05", false},
		{"default rule, PSI", (&drift.NumericDrift{PSI: 0.12, Method: drift.MethodPSI, Threshold: f(0.1)}).Decision(th),
			"psi 0.12 >= 0.1", true},
		// The default rule with optional thresholds: the first crossed.
		{"thresholds, JS crossed", (&drift.NumericDrift{PSI: 0.05, KSPValue: f(0.5), JSDistance: 0.3, Method: drift.MethodThresholds}).Decision(th),
			"js_distance 0.3 >= 0.2", true},
		{"thresholds, chi-square crossed", (&drift.CategoricalDrift{PSI: 0.05, Chi2PValue: 0.001, Method: drift.MethodThresholds}).Decision(th),
			"chi2_pvalue 0.001 < 0.01", true},
		{"thresholds, none crossed", (&drift.CategoricalDrift{PSI: 0.05, Chi2PValue: 0.5, Method: drift.MethodThresholds}).Decision(th),
			"psi 0.05 < 0.1", false},
	}
	for _, c := range cases {
		if s := c.got.String(); s != c.want {
			t.Errorf("%s: %q, want %q", c.name, s, c.want)
		}
		if c.got.Crossed() != c.drift {
			t.Errorf("%s: crossed %v, want %v", c.name, c.got.Crossed(), c.drift)
		}
	}

	// On a real comparison the decision agrees with drift_detected.
	b, cur := pair(t)
	r, err := drift.Compare(context.Background(), b, cur, drift.Options{
		Methods: []drift.MethodRule{{Type: drift.Numeric, Method: drift.MethodWasserstein}, {Type: drift.Categorical, Method: drift.MethodLInf}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range r.NumericDrift {
		d := kv.Value.Decision(r.Conventions.Thresholds)
		if d.Metric != "wasserstein_normed" || d.Value != *kv.Value.WassersteinNormed || d.Crossed() != kv.Value.DriftDetected {
			t.Errorf("%s: decision %+v, result drift_detected %v", kv.Key, d, kv.Value.DriftDetected)
		}
	}
	for _, kv := range r.CategoricalDrift {
		d := kv.Value.Decision(r.Conventions.Thresholds)
		if d.Metric != "linf_distance" || d.Value != kv.Value.LInfDistance || d.Crossed() != kv.Value.DriftDetected {
			t.Errorf("%s: decision %+v, result drift_detected %v", kv.Key, d, kv.Value.DriftDetected)
		}
	}
}
