package sketch

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestKLLRankError(t *testing.T) {
	dists := map[string]func(r *rand.Rand) float64{
		"uniform": func(r *rand.Rand) float64 { return r.Float64() },
		"normal":  func(r *rand.Rand) float64 { return r.NormFloat64() },
		"heavy":   func(r *rand.Rand) float64 { return math.Exp(3 * r.NormFloat64()) },
		"few":     func(r *rand.Rand) float64 { return float64(r.IntN(5)) },
	}
	for name, gen := range dists {
		for seed := uint64(1); seed <= 3; seed++ {
			r := rand.New(rand.NewPCG(seed, 7))
			const n = 200_000
			xs := make([]float64, n)
			parts := []*KLL{NewKLL(seed), NewKLL(seed + 100), NewKLL(seed + 200)}
			for i := range xs {
				xs[i] = gen(r)
				parts[i%3].Add(xs[i])
			}
			s := parts[0]
			s.Merge(parts[1])
			s.Merge(parts[2])
			if s.n != n {
				t.Fatalf("n = %d", s.n)
			}
			if s.size > 4*K {
				t.Errorf("%s: sketch keeps %d items, want ≤ %d", name, s.size, 4*K)
			}
			slices.Sort(xs)
			items := s.Sorted()
			var total int64
			for _, it := range items {
				total += it.W
			}
			if total != n {
				t.Errorf("%s: weights sum to %d, want %d", name, total, n)
			}
			for _, q := range []float64{0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99} {
				v := Quantile(items, s.n, q)
				// The true normalised rank interval of v: [#<v, #≤v]/n.
				lo := float64(countBelow(xs, v)) / n
				hi := float64(countAtMost(xs, v)) / n
				if q < lo-RankError || q > hi+RankError {
					t.Errorf("%s seed %d q=%v: value %v has rank [%.4f, %.4f], outside ±%.4f", name, seed, q, v, lo, hi, RankError)
				}
			}
		}
	}
}

func countBelow(xs []float64, v float64) int {
	i, _ := slices.BinarySearch(xs, v)
	return i
}

func countAtMost(xs []float64, v float64) int {
	i := countBelow(xs, v)
	for i < len(xs) && xs[i] == v {
		i++
	}
	return i
}

// TestKLLAllRanksError: the sketch's CDF is within AllRanksError of the
// exact CDF at every value at once, which is what a two-sample statistic
// over the whole CDF needs.
func TestKLLAllRanksError(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		r := rand.New(rand.NewPCG(seed, 11))
		const n = 300_000
		xs := make([]float64, n)
		parts := []*KLL{NewKLL(seed), NewKLL(seed + 50)}
		for i := range xs {
			xs[i] = math.Exp(r.NormFloat64())
			parts[i%2].Add(xs[i])
		}
		s := parts[0]
		s.Merge(parts[1])
		slices.Sort(xs)
		items := s.Sorted()
		worst := 0.0
		var cum int64
		for k, it := range items {
			cum += it.W
			if k+1 < len(items) && items[k+1].V == it.V {
				continue
			}
			exact := float64(countAtMost(xs, it.V)) / n
			worst = math.Max(worst, math.Abs(float64(cum)/n-exact))
		}
		if worst > AllRanksError {
			t.Errorf("seed %d: CDF off by %.5f somewhere, bound %.5f", seed, worst, AllRanksError)
		}
		t.Logf("seed %d: worst CDF error %.5f (bound %.5f)", seed, worst, AllRanksError)
	}
}
