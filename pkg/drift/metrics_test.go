package drift_test

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mldata-io/mldata/pkg/drift"
)

func close(a, b, rel float64) bool {
	if a == b {
		return true
	}
	if b == 0 || a == 0 {
		return math.Abs(a-b) <= 1e-300
	}
	return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))
}

func TestBinnedMetricsKnownValues(t *testing.T) {
	ln := math.Log
	for _, tc := range []struct {
		name        string
		base, cur   []int64
		psi, kl, js float64
	}{
		{
			// p = (½, ½), q = (¼, ¾): PSI = ¼·ln 3, KL = ½·ln(4/3).
			name: "halves vs quarters", base: []int64{50, 50}, cur: []int64{25, 75},
			psi: 0.25 * ln(3), kl: 0.5 * ln(4.0/3),
			// m = (3/8, 5/8): JS² = ½[½ln(4/3)+½ln(4/5) + ¼ln(2/3)+¾ln(6/5)]/ln 2.
			js: math.Sqrt(0.5 * (0.5*ln(4.0/3) + 0.5*ln(4.0/5) + 0.25*ln(2.0/3) + 0.75*ln(6.0/5)) / ln(2)),
		},
		{
			// A zero baseline share becomes ε = 0.001 (no renormalisation); KL
			// clips it to 1e-10.
			name: "empty baseline bin", base: []int64{100, 0}, cur: []int64{50, 50},
			psi: (0.5-1)*ln(0.5/1) + (0.5-0.001)*ln(0.5/0.001),
			kl:  1*ln(1/0.5) + 1e-10*ln(1e-10/0.5),
			// m = (¾, ¼): JS² = ½[ln(4/3) + ½ln(2/3) + ½ln 2]/ln 2.
			js: math.Sqrt(0.5 * (ln(4.0/3) + 0.5*ln(2.0/3) + 0.5*ln(2)) / ln(2)),
		},
		{
			name: "identical", base: []int64{3, 7, 0, 5}, cur: []int64{6, 14, 0, 10},
			psi: 0, kl: 0, js: 0,
		},
		{
			// Disjoint supports: JS distance is exactly 1.
			name: "disjoint", base: []int64{10, 0}, cur: []int64{0, 10},
			psi: 2 * (1 - 0.001) * ln(1/0.001),
			kl:  1*ln(1/1e-10) + 1e-10*ln(1e-10/1),
			js:  1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := drift.PSI(tc.base, tc.cur, drift.DefaultEpsilon); !close(got, tc.psi, 1e-13) {
				t.Errorf("PSI = %.17g, want %.17g", got, tc.psi)
			}
			if got := drift.KL(tc.base, tc.cur); !close(got, tc.kl, 1e-13) {
				t.Errorf("KL = %.17g, want %.17g", got, tc.kl)
			}
			if got := drift.JSDistance(tc.base, tc.cur); !close(got, tc.js, 1e-13) {
				t.Errorf("JS = %.17g, want %.17g", got, tc.js)
			}
		})
	}
}

func TestSeverity(t *testing.T) {
	for psi, want := range map[float64]string{0: "low", 0.0499: "low", 0.05: "medium", 0.0999: "medium", 0.1: "high", 3: "high"} {
		if got := drift.Severity(psi); got != want {
			t.Errorf("Severity(%v) = %s, want %s", psi, got, want)
		}
	}
}

func TestKS(t *testing.T) {
	for _, tc := range []struct {
		name      string
		base, cur []float64
		d         float64
	}{
		{"disjoint", []float64{1, 2, 3}, []float64{4, 5, 6}, 1},
		{"identical", []float64{1, 2, 2, 3}, []float64{1, 2, 2, 3}, 0},
		// At 2: F_base = ½, F_cur = 0.
		{"overlap", []float64{1, 2, 3, 4}, []float64{3, 4, 5, 6}, 0.5},
		// Ties are evaluated after both CDFs step: ⅓ vs ½ at 1, ⅔ vs ¾ at 2,
		// 1 vs ¾ at 3.
		{"ties", []float64{1, 2, 3}, []float64{1, 1, 2, 9}, 0.25},
		{"infinities", []float64{math.Inf(-1), 0}, []float64{0, math.Inf(1)}, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, p := drift.KS(tc.base, tc.cur)
			if !close(d, tc.d, 1e-12) {
				t.Errorf("D = %.17g, want %.17g", d, tc.d)
			}
			n, m := float64(len(tc.base)), float64(len(tc.cur))
			if want := drift.KolmogorovSF(math.Sqrt(n*m/(n+m)) * d); p != want || p < 0 || p > 1 {
				t.Errorf("p = %v, want Q(√n_e·D) = %v", p, want)
			}
		})
	}
	if d, p := drift.KS(nil, []float64{1}); !math.IsNaN(d) || !math.IsNaN(p) {
		t.Errorf("KS of an empty sample = %v, %v; want NaN", d, p)
	}
}

func TestKolmogorovSF(t *testing.T) {
	// Q(x) = 2Σ(−1)^(k−1)e^(−2k²x²) converges fast for x ≥ 0.5; compare both
	// of the implementation's branches with 100 terms of the plain series.
	series := func(x float64) float64 {
		s := 0.0
		for k := 1; k <= 100; k++ {
			s += math.Pow(-1, float64(k-1)) * math.Exp(-2*float64(k*k)*x*x)
		}
		return 2 * s
	}
	for _, x := range []float64{0.5, 0.6, 0.75, 0.82, 0.83, 1, 1.36, 2, 3} {
		if got, want := drift.KolmogorovSF(x), series(x); !close(got, want, 1e-13) {
			t.Errorf("Q(%v) = %.17g, series %.17g", x, got, want)
		}
	}
	for x, want := range map[float64]float64{-1: 1, 0: 1, 0.01: 1, 40: 0} {
		if got := drift.KolmogorovSF(x); got != want {
			t.Errorf("Q(%v) = %v, want %v", x, got, want)
		}
	}
	if !math.IsNaN(drift.KolmogorovSF(math.NaN())) {
		t.Error("Q(NaN) is not NaN")
	}
}

func TestChiSquare(t *testing.T) {
	// Expected 15 in every cell: χ² = 4·25/15; with 1 dof, sf(x) = erfc(√(x/2)).
	stat, p := drift.ChiSquare([]int64{10, 20}, []int64{20, 10})
	if want := 100.0 / 15; !close(stat, want, 1e-14) {
		t.Errorf("χ² = %v, want %v", stat, want)
	}
	if want := math.Erfc(math.Sqrt(100.0 / 15 / 2)); !close(p, want, 1e-12) {
		t.Errorf("p = %v, want %v", p, want)
	}
	// Three categories, 2 dof: sf(x) = e^(−x/2). Rows 40/60, columns 20/30/50.
	stat, p = drift.ChiSquare([]int64{10, 10, 20}, []int64{10, 20, 30})
	e := [][]float64{{8, 12, 20}, {12, 18, 30}}
	o := [][]float64{{10, 10, 20}, {10, 20, 30}}
	want := 0.0
	for r := range e {
		for c := range e[r] {
			want += (o[r][c] - e[r][c]) * (o[r][c] - e[r][c]) / e[r][c]
		}
	}
	if !close(stat, want, 1e-14) || !close(p, math.Exp(-want/2), 1e-12) {
		t.Errorf("χ² = %v, p = %v; want %v, %v", stat, p, want, math.Exp(-want/2))
	}
	if stat, p := drift.ChiSquare([]int64{5}, []int64{7}); stat != 0 || p != 1 {
		t.Errorf("one category: %v, %v; want 0, 1", stat, p)
	}
	if stat, p := drift.ChiSquare([]int64{5, 5}, []int64{50, 50}); stat != 0 || p != 1 {
		t.Errorf("proportional rows: %v, %v; want 0, 1", stat, p)
	}
}

func TestGammaQ(t *testing.T) {
	for _, x := range []float64{1e-3, 0.5, 1, 2, 5, 10, 30, 100, 700} {
		// a = 1: Q = e^(−x); a = ½: Q = erfc(√x).
		if got, want := drift.GammaQ(1, x), math.Exp(-x); !close(got, want, 1e-13) {
			t.Errorf("Q(1, %v) = %.17g, want %.17g", x, got, want)
		}
		if got, want := drift.GammaQ(0.5, x), math.Erfc(math.Sqrt(x)); !close(got, want, 1e-12) {
			t.Errorf("Q(½, %v) = %.17g, want %.17g", x, got, want)
		}
		// a = 3: Q = e^(−x)(1 + x + x²/2).
		if got, want := drift.GammaQ(3, x), math.Exp(-x)*(1+x+x*x/2); !close(got, want, 1e-12) {
			t.Errorf("Q(3, %v) = %.17g, want %.17g", x, got, want)
		}
	}
	// Large a (50 000 categories): a Poisson identity, Q(a, x) = P(N ≤ a−1)
	// for N ~ Poisson(x), summed in log space.
	poissonCDF := func(k int, x float64) float64 {
		s := 0.0
		for i := 0; i <= k; i++ {
			lg, _ := math.Lgamma(float64(i + 1))
			s += math.Exp(float64(i)*math.Log(x) - x - lg)
		}
		return s
	}
	for _, x := range []float64{49000, 50000, 50500} {
		got, want := drift.GammaQ(50000, x), poissonCDF(49999, x)
		if !close(got, want, 1e-8) {
			t.Errorf("Q(50000, %v) = %.17g, Poisson sum %.17g", x, got, want)
		}
	}
	for _, bad := range [][2]float64{{0, 1}, {-1, 1}, {1, -1}, {math.NaN(), 1}} {
		if !math.IsNaN(drift.GammaQ(bad[0], bad[1])) {
			t.Errorf("GammaQ%v is not NaN", bad)
		}
	}
	if drift.GammaQ(2, 0) != 1 || drift.GammaQ(2, math.Inf(1)) != 0 || drift.ChiSquareSF(0, 3) != 1 {
		t.Error("GammaQ boundaries wrong")
	}
}

func TestBinning(t *testing.T) {
	edges := drift.UniformEdges(0, 10, 10)
	if diff := cmp.Diff([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9}, edges); diff != "" {
		t.Errorf("uniform edges (-want +got):\n%s", diff)
	}
	// Left-closed: a value on an edge goes to the higher bin; outer bins are open.
	got := drift.BinCounts([]float64{-5, 0, 1, 1, 5, 8.999, 9, 10, 11}, edges)
	if diff := cmp.Diff([]int64{2, 2, 0, 0, 0, 1, 0, 0, 1, 3}, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	// A constant baseline gives nine equal edges: everything below goes to the
	// first bin, the value itself and above to the last.
	edges = drift.UniformEdges(2, 2, 10)
	got = drift.BinCounts([]float64{1, 2, 2, 3}, edges)
	if diff := cmp.Diff([]int64{1, 0, 0, 0, 0, 0, 0, 0, 0, 3}, got); diff != "" {
		t.Errorf("constant counts (-want +got):\n%s", diff)
	}
	// Quantiles that coincide merge: 1,1,1,1,2 has quartiles 1, 1, 1.
	if diff := cmp.Diff([]float64{1}, drift.QuantileEdges([]float64{1, 1, 1, 1, 2}, 4)); diff != "" {
		t.Errorf("quantile edges (-want +got):\n%s", diff)
	}
	// Deciles of 0…10 at i/10 by linear interpolation.
	xs := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if diff := cmp.Diff([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9}, drift.QuantileEdges(xs, 10)); diff != "" {
		t.Errorf("deciles (-want +got):\n%s", diff)
	}
	if len(drift.QuantileEdges(nil, 10)) != 0 || len(drift.UniformEdges(0, 1, 1)) != 0 {
		t.Error("degenerate edges not empty")
	}
}

// FuzzMetrics: for any counts, the metrics stay in their ranges and finite.
func FuzzMetrics(f *testing.F) {
	f.Add([]byte{1, 2, 3, 0}, []byte{0, 5, 1, 1})
	f.Add([]byte{0, 0, 9}, []byte{9, 0, 0})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		n := min(len(a), len(b))
		if n == 0 {
			return
		}
		base, cur := make([]int64, n), make([]int64, n)
		var sb, sc int64
		for i := 0; i < n; i++ {
			base[i], cur[i] = int64(a[i]), int64(b[i])
			sb += base[i]
			sc += cur[i]
		}
		if sb == 0 || sc == 0 {
			return
		}
		psi := drift.PSI(base, cur, drift.DefaultEpsilon)
		js := drift.JSDistance(base, cur)
		kl := drift.KL(base, cur)
		if !(psi >= -1e-12) || math.IsInf(psi, 0) || !(js >= 0 && js <= 1+1e-12) || math.IsNaN(kl) || math.IsInf(kl, 0) {
			t.Fatalf("PSI %v, JS %v, KL %v for %v vs %v", psi, js, kl, base, cur)
		}
		// Categories with zero counts on both sides are not categories.
		var bb, cc []int64
		for i := range base {
			if base[i]+cur[i] > 0 {
				bb, cc = append(bb, base[i]), append(cc, cur[i])
			}
		}
		stat, p := drift.ChiSquare(bb, cc)
		if !(stat >= -1e-9) || !(p >= 0 && p <= 1) {
			t.Fatalf("χ² %v, p %v for %v vs %v", stat, p, bb, cc)
		}
	})
}
