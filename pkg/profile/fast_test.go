package profile

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/mldata-io/mldata/pkg/profile/tally"
)

// Integer columns with a narrow range are summarised from counts per value;
// the percentiles, distinct count and histogram must be those of the
// definitions on the sorted values.
func TestDenseIntegersMatchSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct {
		name    string
		n, span int
		lo      int64
	}{
		{"identifiers", 5000, 5000, 1},
		{"skewed codes", 20000, 300, -40},
		{"constant", 100, 0, 9},
		{"two values", 7, 1, 0},
	} {
		xs := make([]int64, tc.n)
		vals := make([]any, tc.n)
		for i := range xs {
			xs[i] = tc.lo + int64(float64(tc.span)*r.Float64()*r.Float64())
			vals[i] = int(xs[i])
		}
		p := compute(t, Options{Workers: 3}, batch(t, ints("v", vals[:tc.n/2]...)), batch(t, ints("v", vals[tc.n/2:]...)))
		sorted := slices.Clone(xs)
		slices.Sort(sorted)
		edges := HistogramEdges(float64(sorted[0]), float64(sorted[len(sorted)-1]), 10)
		wantStats := Percentiles{F(PercentileInt(sorted, 0.25)), F(PercentileInt(sorted, 0.5)), F(PercentileInt(sorted, 0.75))}
		st, _ := p.Statistics.Get("v")
		if diff := gocmp.Diff(wantStats, st.Percentiles); diff != "" {
			t.Errorf("%s: percentiles (-sorted +dense):\n%s", tc.name, diff)
		}
		if u := p.Schema.Columns[0].UniqueCount; u != distinct(sorted) {
			t.Errorf("%s: unique_count %d, want %d", tc.name, u, distinct(sorted))
		}
		h, _ := p.Histograms.Get("v")
		if diff := gocmp.Diff(HistogramCounts(sorted, edges), h.Counts); diff != "" {
			t.Errorf("%s: histogram (-sorted +dense):\n%s", tc.name, diff)
		}
	}
	// A wide range is sorted instead, with the same definitions.
	p := compute(t, Options{}, batch(t, ints("v", 1, 1<<40, 5, 5)))
	st, _ := p.Statistics.Get("v")
	if fv(st.Percentiles.P50) != 5 || p.Schema.Columns[0].UniqueCount != 3 {
		t.Errorf("sparse integers: %+v, unique %d", st.Percentiles, p.Schema.Columns[0].UniqueCount)
	}
}

// Top values of timestamps are ordered by their RFC 3339 text on ties, which
// is not the instants' order within a second (".55Z" < ".5Z"), nor beyond
// year 9999; only some values are rendered, and the result must be that of
// rendering them all.
func TestTimestampTopValuesOrder(t *testing.T) {
	ms := &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	render, coarse := timestampRenderer(ms), timestampCoarse(ms)
	base := time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC).UnixMilli()
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	before := time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	brute := func(t *tally.Ints, k int) []tally.Count {
		var all []tally.Count
		for v, n := range t.All() {
			all = append(all, tally.Count{Value: render(v), N: n})
		}
		slices.SortFunc(all, func(a, b tally.Count) int {
			if a.N != b.N {
				return cmp.Compare(b.N, a.N)
			}
			return strings.Compare(a.Value, b.Value)
		})
		return all[:min(k, len(all))]
	}
	var known tally.Ints
	for _, v := range []int64{base + 500, base + 550, base + 1000, base + 1500} {
		known.Add(v)
	}
	want := []tally.Count{{Value: "2024-03-04T05:06:07.55Z", N: 1}, {Value: "2024-03-04T05:06:07.5Z", N: 1}}
	if diff := gocmp.Diff(want, topInts(&known, 2, render, coarse)); diff != "" {
		t.Errorf("ties within a second (-want +got):\n%s", diff)
	}
	r := rand.New(rand.NewPCG(13, 14))
	for trial := range 30 {
		var ts tally.Ints
		for range 1 + r.IntN(3000) {
			v := base + int64(r.IntN(20_000))
			if trial%3 == 0 {
				v = base + int64(r.IntN(2000))*10 // many ties within each second
			}
			ts.Add(v)
		}
		if trial%5 == 4 {
			ts.Add(far) // sorts first as text ("10000-…" < "2024-…")
			ts.Add(before)
		}
		k := 1 + r.IntN(25)
		if diff := gocmp.Diff(brute(&ts, k), topInts(&ts, k, render, coarse)); diff != "" {
			t.Fatalf("trial %d, k %d (-render all +topInts):\n%s", trial, k, diff)
		}
	}
	var days tally.Ints
	for d := range int64(40) {
		days.AddN(19000+d, 1+d%3)
	}
	if diff := gocmp.Diff(brute2(&days, 5), topInts(&days, 5, date32Render, date32Coarse)); diff != "" {
		t.Errorf("dates (-render all +topInts):\n%s", diff)
	}
}

func brute2(t *tally.Ints, k int) []tally.Count {
	top := tally.NewTop(k, tally.ByCount)
	for v, n := range t.All() {
		top.Offer(tally.Count{Value: date32Render(v), N: n})
	}
	return top.Sorted()
}

// RowsHint only sizes tables: any hint, right or wrong, gives the profile
// no hint gives.
func TestRowsHintDoesNotChangeResults(t *testing.T) {
	var recs []arrow.RecordBatch
	for b := range 40 {
		ids, codes := make([]any, 1000), make([]any, 1000)
		for i := range ids {
			ids[i] = fmt.Sprintf("id-%06d", b*1000+i)
			codes[i] = fmt.Sprint("c", (b*1000+i)%1500) // unique in a first batch only
		}
		recs = append(recs, batch(t, strs("id", ids...), strs("code", codes...)))
	}
	want := compute(t, Options{Workers: 2}, recs...)
	for _, hint := range []int64{40_000, 1, 1 << 40} {
		got := compute(t, Options{Workers: 2, RowsHint: hint}, recs...)
		if diff := gocmp.Diff(want, got, cmpF); diff != "" {
			t.Errorf("hint %d (-none +hint):\n%s", hint, diff)
		}
	}
	if u := want.Schema.Columns[0].UniqueCount; u != 40_000 || want.Schema.Columns[1].UniqueCount != 1500 {
		t.Errorf("unique counts %d, %d", u, want.Schema.Columns[1].UniqueCount)
	}
}
