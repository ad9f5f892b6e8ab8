package drift_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/mldata-io/mldata/pkg/drift"
)

// TestBoundedMemory: under a bound the values fit in, results are those of
// an unbounded run, to the bit; under a bound they exceed, numeric columns
// are sketched and each exact number lies within the bounds the report
// states.
func TestBoundedMemory(t *testing.T) {
	base, cur := benchSide(200_000, 1, 0), benchSide(150_000, 2, 0.1)
	now := func() time.Time { return time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC) }
	run := func(opt drift.Options) *drift.Report {
		t.Helper()
		opt.Workers, opt.Now = 3, now
		r, err := drift.Compare(context.Background(), base, cur, opt)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, binning := range []drift.Binning{drift.Uniform, drift.Quantile} {
		exact := run(drift.Options{Binning: binning})
		roomy := run(drift.Options{Binning: binning, MaxMemory: 1 << 30})
		ej, _ := json.Marshal(exact)
		rj, _ := json.Marshal(roomy)
		if !bytes.Equal(ej, rj) {
			t.Errorf("%s: a bound the values fit in changed the report", binning)
		}

		sk := run(drift.Options{Binning: binning, MaxMemory: 1 << 20}) // 3.2 MB of values per side
		for _, col := range []string{"value", "count"} {
			e, _ := exact.NumericDrift.Get(col)
			s, _ := sk.NumericDrift.Get(col)
			a := s.Approximate
			if a == nil || a.RankError[0] == 0 || a.RankError[1] == 0 {
				t.Fatalf("%s/%s: not sketched: %+v", binning, col, a)
			}
			if d := *e.KSStatistic; d < a.KSStatistic[0] || d > a.KSStatistic[1] {
				t.Errorf("%s/%s: exact D %v outside [%v, %v]", binning, col, d, a.KSStatistic[0], a.KSStatistic[1])
			}
			if p := *e.KSPValue; p < a.KSPValue[0] || p > a.KSPValue[1] {
				t.Errorf("%s/%s: exact p %v outside [%v, %v]", binning, col, p, a.KSPValue[0], a.KSPValue[1])
			}
			if diff := math.Abs(*s.WassersteinDistance - *e.WassersteinDistance); diff > *a.WassersteinDistance {
				t.Errorf("%s/%s: Wasserstein %v vs exact %v, beyond ±%v", binning, col, *s.WassersteinDistance, *e.WassersteinDistance, *a.WassersteinDistance)
			}
			if binning == drift.Uniform {
				// Same edges (exact min and max), shares within the rank errors.
				for side, counts := range [][2][]int64{{e.BaselineCounts, s.BaselineCounts}, {e.CurrentCounts, s.CurrentCounts}} {
					var n int64
					for _, c := range counts[0] {
						n += c
					}
					for k := range counts[0] {
						if d := math.Abs(float64(counts[0][k]-counts[1][k])) / float64(n); d > 2*a.RankError[side] {
							t.Errorf("%s side %d bin %d: share off by %v, bound %v", col, side, k, d, 2*a.RankError[side])
						}
					}
				}
			}
		}
		ec, _ := exact.CategoricalDrift.Get("category")
		sc, _ := sk.CategoricalDrift.Get("category")
		if ec.PSI != sc.PSI || ec.Chi2 != sc.Chi2 {
			t.Errorf("%s: categories are exact under the bound too: PSI %v vs %v", binning, sc.PSI, ec.PSI)
		}
	}
}

// A baseline within the bound stays exact while a larger current side is
// sketched: exact quantile edges and baseline counts, a rank error for the
// current side only.
func TestBoundedMemoryOneSide(t *testing.T) {
	base, cur := benchSide(100_000, 3, 0), benchSide(300_000, 4, 0.2) // 1.6 MB and 4.8 MB of values
	opt := drift.Options{Binning: drift.Quantile, Workers: 2}
	exact, err := drift.Compare(context.Background(), base, cur, opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxMemory = 2 << 20
	sk, err := drift.Compare(context.Background(), base, cur, opt)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := exact.NumericDrift.Get("value")
	s, _ := sk.NumericDrift.Get("value")
	if a := s.Approximate; a == nil || a.RankError[0] != 0 || a.RankError[1] == 0 {
		t.Fatalf("approximate %+v", a)
	}
	ej, _ := json.Marshal([]any{e.Edges, e.BaselineCounts})
	sj, _ := json.Marshal([]any{s.Edges, s.BaselineCounts})
	if !bytes.Equal(ej, sj) {
		t.Errorf("exact baseline: edges and counts %s, want %s", sj, ej)
	}
	if d := *e.KSStatistic; d < s.Approximate.KSStatistic[0] || d > s.Approximate.KSStatistic[1] {
		t.Errorf("exact D %v outside %v", d, s.Approximate.KSStatistic)
	}
}
