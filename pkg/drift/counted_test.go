package drift

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/mldata-io/mldata/pkg/profile/tally"
)

// countedSides feeds batches to workers scan workers in turn, as a scan
// does, each counting per value within countMax, and returns their merge
// and whether every worker was still counting before it.
func countedSides(batches [][]int64, workers int, countMax int64) (merged *numSide, counting bool) {
	per := make([]*numSide, workers)
	for w := range per {
		per[w] = &numSide{isInt: true, minI: math.MaxInt64, maxI: math.MinInt64, countMax: countMax}
	}
	for i, b := range batches {
		per[i%workers].addInts(slices.Clone(b))
	}
	counting = true
	for _, s := range per {
		counting = counting && s.counted.c != nil
	}
	merged = &numSide{isInt: true, minI: math.MaxInt64, maxI: math.MinInt64}
	for _, s := range per {
		merged.merge(s)
	}
	return merged, counting
}

// Counting integers per value as they come, giving it up part way or
// merging counted and uncounted workers, leaves a side with the integers
// that keeping every value gives: the same dense counts, or the same
// sorted values, or (unsorted) the same bins.
func TestCountedIntegersMatchValues(t *testing.T) {
	batch := func(from, n, step int64) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = from + int64(i)*step
		}
		return out
	}
	cut := func(xs []int64, size int) [][]int64 {
		var out [][]int64
		for len(xs) > 0 {
			k := min(size, len(xs))
			out, xs = append(out, xs[:k]), xs[k:]
		}
		return out
	}
	ascending := batch(1, 4000, 1)
	descending := batch(4000, 4000, -1)
	codes := make([]int64, 4000)
	for i := range codes {
		codes[i] = int64((i*7919)%50) - 20
	}
	sparse := batch(-3000, 1000, 6) // range 6,000 for 1,000 values: sorted, not dense
	for _, tc := range []struct {
		name     string
		batches  [][]int64
		workers  int
		countMax int64
		// counting says whether every worker still counts at the end,
		// dense whether the side ends up dense.
		counting, dense bool
	}{
		{"ascending ids, one worker", cut(ascending, 256), 1, 8000, true, true},
		{"ascending ids, two workers", cut(ascending, 256), 2, 4000, true, true},
		{"descending ids grow the counts downwards", cut(descending, 100), 2, 4000, true, true},
		{"small codes", cut(codes, 300), 3, 2666, true, true},
		{"three workers give up: range above 2·4000/3", cut(ascending, 256), 3, 2666, false, true},
		{"one batch past the range: some workers give up", append(cut(codes, 300), []int64{1 << 20}), 2, 4000, false, false},
		{"counted, yet too sparse to be dense", cut(sparse, 64), 2, 7000, true, false},
		{"beyond exact floats: never counted", [][]int64{{1 << 53, 3}, {5, 6}}, 2, 1 << 20, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, sort := range []bool{true, false} {
				got, counting := countedSides(tc.batches, tc.workers, tc.countMax)
				if counting != tc.counting {
					t.Fatalf("every worker counting: %v, want %v", counting, tc.counting)
				}
				want, _ := countedSides(tc.batches, tc.workers, 0)
				got.finish(sort, true, nil)
				want.finish(sort, true, nil)
				if (got.dense != nil) != tc.dense || (want.dense != nil) != tc.dense {
					t.Fatalf("dense: %v, values: %v, want %v", got.dense != nil, want.dense != nil, tc.dense)
				}
				if got.n != want.n || got.minI != want.minI || got.maxI != want.maxI {
					t.Fatalf("n %d [%d, %d], want %d [%d, %d]", got.n, got.minI, got.maxI, want.n, want.minI, want.maxI)
				}
				switch {
				case tc.dense:
					g, w := got.dense.AppendSorted(nil), want.dense.AppendSorted(nil)
					if got.dense.Min != want.dense.Min || got.dense.Max != want.dense.Max || !slices.Equal(g, w) || got.std != want.std {
						t.Errorf("dense [%d, %d] std %v, want [%d, %d] std %v", got.dense.Min, got.dense.Max, got.std, want.dense.Min, want.dense.Max, want.std)
					}
				case sort:
					if !slices.Equal(got.sorted, want.sorted) || len(got.sorted) != got.n || got.std != want.std {
						t.Errorf("sorted %d values, want %d; std %v, want %v", len(got.sorted), len(want.sorted), got.std, want.std)
					}
				default:
					edges := UniformEdges(float64(want.minI), float64(want.maxI), 10)
					if g, w := got.binCounts(edges), want.binCounts(edges); !slices.Equal(g, w) {
						t.Errorf("bins %v, want %v", g, w)
					}
					if g, w := got.ints.Collect(), want.ints.Collect(); !slices.Equal(sorted(g), sorted(w)) {
						t.Errorf("unsorted: %d values, want %d", len(g), len(w))
					}
				}
			}
		})
	}
}

func sorted(xs []int64) []int64 {
	slices.Sort(xs)
	return xs
}

// A worker that gives counting up keeps what it had counted, as values.
func TestCountingGivenUpKeepsValues(t *testing.T) {
	s := &numSide{isInt: true, minI: math.MaxInt64, maxI: math.MinInt64, countMax: 100}
	s.addInts([]int64{5, 5, 7, 9})
	s.addInts([]int64{50, 5})
	if s.counted.c == nil || s.ints.Len() != 0 {
		t.Fatalf("not counting: %d values", s.ints.Len())
	}
	s.addInts([]int64{200}) // range 5…200: 196 values, above 100
	if s.counted.c != nil || !s.counted.off {
		t.Fatal("still counting")
	}
	s.addInts([]int64{6})
	if got, want := sorted(s.ints.Collect()), []int64{5, 5, 5, 6, 7, 9, 50, 200}; !slices.Equal(got, want) || s.n != 8 {
		t.Errorf("values %v (n %d), want %v", got, s.n, want)
	}
	var d tally.Values[int64]
	o := &numSide{counted: countedInts{lo: 10, c: []uint32{2, 0, 1}}}
	o.appendCounted(&d)
	if got := d.Collect(); !slices.Equal(got, []int64{10, 10, 12}) {
		t.Errorf("counts [2 0 1] from 10 give %v", got)
	}
}

// The category limit is checked every limitCheckRows rows of a batch:
// counting an identifier column stops within that many rows of passing
// it, and a column below the limit is counted whole, with its counts.
func TestCategoryLimitWithinBatch(t *testing.T) {
	const rows, limit = 10_000, 3_000
	b := array.NewStringBuilder(memory.DefaultAllocator)
	for i := range rows {
		b.Append(fmt.Sprint("id-", i))
	}
	ids := b.NewArray()
	defer ids.Release()
	var tab tally.Strings
	full := func() bool { return tab.Len() > limit }
	_, stopped := countCategories(&tab, ids, nil, nil, full)
	if !stopped || tab.Len() <= limit || tab.Len() > limit+limitCheckRows {
		t.Errorf("stopped %v after %d values, want stopped within %d rows of %d", stopped, tab.Len(), limitCheckRows, limit)
	}

	for i := range rows {
		b.Append(fmt.Sprint("v", i%2_500))
	}
	pairs := b.NewArray()
	defer pairs.Release()
	tab = tally.Strings{}
	if _, stopped := countCategories(&tab, pairs, nil, nil, full); stopped || tab.Len() != 2_500 || tab.Total() != rows {
		t.Errorf("below the limit: stopped %v with %d values (%d counted), want 2500 values, %d counted", stopped, tab.Len(), tab.Total(), rows)
	}
	if j, ok := tab.Find(tally.Hash("v17"), "v17"); !ok || tab.Count(j) != 4 {
		t.Errorf("v17 found %v, want counted 4 times", ok)
	}

	tb := array.NewTimestampBuilder(memory.DefaultAllocator, &arrow.TimestampType{Unit: arrow.Microsecond})
	for i := range rows {
		tb.Append(arrow.Timestamp(int64(i) * 1e6))
	}
	ts := tb.NewArray()
	defer ts.Release()
	var ints tally.Ints
	var fresh []int64
	stopped, err := countIntKeys(&ints, ts, &fresh, func() bool { return ints.Len() > limit })
	if err != nil || !stopped || ints.Len() <= limit || ints.Len() > limit+limitCheckRows || len(fresh) != ints.Len() {
		t.Errorf("timestamps: stopped %v (%v) after %d values, %d fresh", stopped, err, ints.Len(), len(fresh))
	}
}
