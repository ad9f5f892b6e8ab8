package profile

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cespare/xxhash/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/mldata-io/mldata/pkg/sketch"
)

func TestHLL(t *testing.T) {
	for _, n := range []int{0, 1, 10, 1000, 20000, 300000} {
		var h hll
		for i := 0; i < n; i++ {
			h.add(xxhash.Sum64String("v" + strconv.Itoa(i)))
			h.add(xxhash.Sum64String("v" + strconv.Itoa(i/2))) // duplicates must not count
		}
		got := h.estimate()
		if n == 0 {
			if got != 0 {
				t.Errorf("empty estimate = %v", got)
			}
			continue
		}
		if rel := math.Abs(got-float64(n)) / float64(n); rel > hllErrorBound {
			t.Errorf("n=%d: estimate %.1f, relative error %.4f > %.4f", n, got, rel, hllErrorBound)
		}
	}
	// Merging two halves equals one sketch of the whole: registers are maxima.
	var a, b, all hll
	for i := 0; i < 5000; i++ {
		x := mix64(uint64(i))
		all.add(x)
		if i%2 == 0 {
			a.add(x)
		} else {
			b.add(x)
		}
	}
	a.merge(&b)
	if a.reg != all.reg {
		t.Error("merged registers differ from a single sketch's")
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

func TestMisraGries(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	truth := map[string]int64{}
	a, b := newMisraGries[string](50), newMisraGries[string](50)
	id := func(s string) string { return s }
	const n = 100_000
	for i := 0; i < n; i++ {
		// Zipf-like: key k with probability ∝ 1/(k+1).
		k := int(math.Exp(r.Float64()*math.Log(5000))) - 1
		key := fmt.Sprint(k)
		truth[key]++
		if i%2 == 0 {
			a.add(key, 1, id)
		} else {
			b.add(key, 1, id)
		}
	}
	a.merge(b)
	if a.offset > n/51 {
		t.Errorf("offset %d exceeds n/(capacity+1) = %d", a.offset, n/51)
	}
	if len(a.counts) > 50 {
		t.Errorf("%d counters kept, capacity 50", len(a.counts))
	}
	for k, est := range a.counts {
		if est > truth[k] || est < truth[k]-a.offset {
			t.Errorf("key %s: estimate %d, true %d, offset %d", k, est, truth[k], a.offset)
		}
	}
	// Every key more frequent than the offset must be kept.
	for k, c := range truth {
		if _, ok := a.counts[k]; !ok && c > a.offset {
			t.Errorf("key %s (count %d > offset %d) was dropped", k, c, a.offset)
		}
	}
}

// With a tiny memory budget every eligible column is sketched, and the
// results stay within the bounds the profile reports.
func TestApproximateMode(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const nb, per = 20, 5000
	var recs []arrow.RecordBatch
	var xs []float64
	truth := map[string]int64{}
	for b := 0; b < nb; b++ {
		vs, ss, bs := make([]any, per), make([]any, per), make([]any, per)
		for i := range vs {
			x := r.NormFloat64()
			xs = append(xs, x)
			vs[i] = x
			s := fmt.Sprintf("k%d", int(math.Exp(r.Float64()*math.Log(20000))))
			truth[s]++
			ss[i] = s
			bs[i] = i%3 == 0
		}
		recs = append(recs, batch(t, fl("x", vs...), strs("s", ss...), bools("b", bs...)))
	}
	exact := compute(t, Options{Workers: 3}, recs...)
	p := compute(t, Options{Workers: 3, MaxMemory: 64 << 10}, recs...)

	if diff := cmp.Diff([]string{"x", "s"}, p.Approximate.Keys()); diff != "" {
		t.Fatalf("approximate columns (-want +got):\n%s", diff)
	}
	ax, _ := p.Approximate.Get("x")
	if ax.Percentiles == nil || *ax.Percentiles != sketch.RankError || ax.UniqueCount != hllErrorBound {
		t.Errorf("x bounds = %+v", ax)
	}
	n := float64(len(xs))
	slices.Sort(xs)
	// Exact parts stay exact: count, mean, std, min, max.
	se, _ := exact.Statistics.Get("x")
	sa, _ := p.Statistics.Get("x")
	for _, pair := range [][2]*Float{{se.Mean, sa.Mean}, {se.Std, sa.Std}, {se.Min, sa.Min}, {se.Max, sa.Max}} {
		if !relClose(fv(pair[0]), fv(pair[1]), 1e-12) {
			t.Errorf("moment %v != exact %v", fv(pair[1]), fv(pair[0]))
		}
	}
	for q, got := range map[float64]*Float{0.25: sa.Percentiles.P25, 0.5: sa.Percentiles.P50, 0.75: sa.Percentiles.P75} {
		lo, hi := float64(countBelow(xs, fv(got)))/n, float64(countAtMost(xs, fv(got)))/n
		if q < lo-sketch.RankError || q > hi+sketch.RankError {
			t.Errorf("p%v = %v has rank [%.4f, %.4f]", q*100, fv(got), lo, hi)
		}
	}
	he, _ := exact.Histograms.Get("x")
	ha, _ := p.Histograms.Get("x")
	if diff := cmp.Diff(he.Edges, ha.Edges); diff != "" {
		t.Errorf("edges differ (-exact +approx):\n%s", diff)
	}
	var sum int64
	for i := range ha.Counts {
		sum += ha.Counts[i]
		if d := math.Abs(float64(ha.Counts[i] - he.Counts[i])); d > 2*sketch.RankError*n {
			t.Errorf("bin %d: %d vs exact %d", i, ha.Counts[i], he.Counts[i])
		}
	}
	if sum != int64(n) {
		t.Errorf("histogram counts sum to %d, want %d", sum, int64(n))
	}

	for c := range p.Schema.Columns {
		e, a := exact.Schema.Columns[c], p.Schema.Columns[c]
		if rel := math.Abs(float64(a.UniqueCount-e.UniqueCount)) / float64(e.UniqueCount); rel > hllErrorBound {
			t.Errorf("%s: unique %d vs exact %d", e.Name, a.UniqueCount, e.UniqueCount)
		}
		if a.NullCount != e.NullCount {
			t.Errorf("%s: null_count %d vs exact %d", e.Name, a.NullCount, e.NullCount)
		}
	}
	as, _ := p.Approximate.Get("s")
	ds, _ := p.Distributions.Get("s")
	if as.Distributions == nil || len(ds) != 20 {
		t.Fatalf("s: approx %+v, %d top values", as, len(ds))
	}
	for _, f := range ds {
		if f.Value > truth[f.Key] || f.Value < truth[f.Key]-*as.Distributions {
			t.Errorf("s[%s] = %d, true %d, bound %d", f.Key, f.Value, truth[f.Key], *as.Distributions)
		}
	}
	// The approximate profile still serialises.
	if _, err := json.Marshal(p); err != nil {
		t.Fatal(err)
	}
}

// Integer columns switch to sketches too (the distinct count hashes int64s).
func TestApproximateInts(t *testing.T) {
	vals := make([]any, 50000)
	for i := range vals {
		vals[i] = i % 7000
	}
	p := compute(t, Options{Workers: 2, MaxMemory: 1024}, batch(t, ints("i", vals...)), batch(t, ints("i", vals...)))
	if len(p.Approximate) != 1 {
		t.Fatalf("approximate = %v", p.Approximate)
	}
	u := p.Schema.Columns[0].UniqueCount
	if math.Abs(float64(u)-7000)/7000 > hllErrorBound {
		t.Errorf("unique_count = %d, want ≈7000", u)
	}
	st, _ := p.Statistics.Get("i")
	if fv(st.Min) != 0 || fv(st.Max) != 6999 || st.Count != 100000 {
		t.Errorf("stats = %+v", st)
	}
}
