package profile

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cespare/xxhash/v2"

	"github.com/mldata-io/mldata/pkg/profile/tally"
)

// mgCapacity is the number of counters a sketched categorical column keeps
// per worker: its counts are within n/4097 of the truth.
const mgCapacity = 4096

// catSketch is what a categorical column keeps once sketched: a
// Misra–Gries summary for the top values and a HyperLogLog for the
// distinct count.
type catSketch[K comparable] struct {
	mg  *misraGries[K]
	hll *hll
}

func newCatSketch[K comparable]() *catSketch[K] {
	return &catSketch[K]{mg: newMisraGries[K](mgCapacity), hll: new(hll)}
}

func (s *catSketch[K]) merge(o *catSketch[K]) {
	s.mg.merge(o.mg)
	s.hll.merge(o.hll)
}

func (s *catSketch[K]) finish(r *colResult, count int64, topK int, render func(K) string) {
	counts := s.mg.counts
	r.unique = min(max(int64(math.Round(s.hll.estimate())), int64(len(counts))), count)
	off := s.mg.offset
	r.approx = &Approximation{UniqueCount: hllErrorBound, Distributions: &off}
	r.dist = topValues(counts, topK, render)
}

// topValues returns the k most frequent values of a (small) map, count
// descending and ties by rendered value ascending in byte order.
func topValues[K comparable](counts map[K]int64, k int, render func(K) string) Object[int64] {
	top := tally.NewTop(k, tally.ByCount)
	for key, c := range counts {
		top.Offer(tally.Count{Value: render(key), N: c})
	}
	return countsObject(top.Sorted())
}

func countsObject(cs []tally.Count) Object[int64] {
	out := make(Object[int64], len(cs))
	for i, c := range cs {
		out[i] = Field[int64]{Key: c.Value, Value: c.N}
	}
	return out
}

// strAcc accumulates a string-keyed categorical column: utf8 strings
// natively, and any type without a better key rendered with Arrow's
// ValueStr. Exact state is a tally.Strings, whose memory the garbage
// collector does not scan.
type strAcc struct {
	nulls, count int64
	t            *tally.Strings
	// merged holds the tables of the workers merged into this one; finish
	// takes their union.
	merged []*tally.Strings
	sk     *catSketch[string]
	// rowsHint is the rows this worker is expected to see; sized says the
	// table was sized for it (or found not to need it) after a first batch.
	rowsHint int64
	sized    bool
	// dcounts is scratch for counting a dictionary array's indices.
	dcounts []int64
}

func newStrAcc() *strAcc { return &strAcc{t: new(tally.Strings)} }

func (a *strAcc) observe(s string) {
	if a.sk != nil {
		a.sk.hll.add(xxhash.Sum64String(s))
		a.sk.mg.add(s, 1, strings.Clone)
		return
	}
	a.t.Add(s)
}

// observeN counts s n times.
func (a *strAcc) observeN(s string, n int64) {
	if a.sk != nil {
		a.sk.hll.add(xxhash.Sum64String(s))
		a.sk.mg.add(s, n, strings.Clone)
		return
	}
	a.t.AddHash(tally.Hash(s), s, n)
}

func (a *strAcc) add(arr arrow.Array) (int64, error) {
	var before int64
	if a.sk == nil {
		before = a.t.Bytes()
	}
	n0 := a.nulls
	hasNulls := arr.NullN() > 0
	switch arr := arr.(type) {
	case *array.Dictionary:
		var nulls int64
		a.dcounts, nulls = DictionaryCounts(arr, a.dcounts)
		a.nulls += nulls
		dict := arr.Dictionary()
		for k, n := range a.dcounts {
			if n > 0 {
				a.observeN(dictText(dict, k), n)
			}
		}
	case *array.String:
		for i := 0; i < arr.Len(); i++ {
			if hasNulls && arr.IsNull(i) {
				a.nulls++
				continue
			}
			a.observe(arr.Value(i))
		}
	case *array.LargeString:
		for i := 0; i < arr.Len(); i++ {
			if hasNulls && arr.IsNull(i) {
				a.nulls++
				continue
			}
			a.observe(arr.Value(i))
		}
	default:
		for i := 0; i < arr.Len(); i++ {
			if arr.IsNull(i) {
				a.nulls++
				continue
			}
			a.observe(arr.ValueStr(i))
		}
	}
	a.count += int64(arr.Len()) - (a.nulls - n0)
	if a.sk != nil {
		return 0, nil
	}
	if !a.sized {
		a.sized = true
		// Mostly new values in a first batch: an identifier column, which
		// will have about a value per row. A column only looks like one
		// (cyclic codes) costs at most 64 times its first batch's table.
		if a.rowsHint > 0 && 2*int64(a.t.Len()) > int64(arr.Len()) {
			a.t.Reserve(int(min(a.rowsHint, 64*int64(a.t.Len()))))
		}
	}
	return a.t.Bytes() - before, nil
}

func (a *strAcc) toSketch() int64 {
	if a.sk != nil {
		return 0
	}
	var freed int64
	a.sk = newCatSketch[string]()
	for _, t := range append(a.merged, a.t) {
		freed += t.Bytes()
		for i := range t.Len() {
			v, _, n := t.At(i)
			a.sk.hll.add(xxhash.Sum64String(v))
			a.sk.mg.add(v, n, strings.Clone)
		}
	}
	a.t, a.merged = nil, nil
	return freed
}

func (a *strAcc) mergeFrom(acc accumulator) {
	o := acc.(*strAcc)
	a.nulls += o.nulls
	a.count += o.count
	if a.sk != nil || o.sk != nil {
		a.toSketch()
		o.toSketch()
		a.sk.merge(o.sk)
		return
	}
	a.merged = append(append(a.merged, o.merged...), o.t)
	o.t, o.merged = nil, nil
}

func (a *strAcc) finish(_ string, opt Options) colResult {
	r := colResult{nulls: a.nulls}
	if a.sk != nil {
		a.sk.finish(&r, a.count, opt.TopK, func(s string) string { return s })
		return r
	}
	u := tally.NewUnion(append(a.merged, a.t)...)
	a.t, a.merged = nil, nil
	r.unique = int64(u.Len())
	r.dist = countsObject(u.Top(opt.TopK))
	return r
}

// intKeyAcc is a categorical column whose values are int64 underneath
// (timestamps, dates): counting the integers and rendering only the
// values that can be among the top ones is much cheaper than rendering
// every row.
type intKeyAcc struct {
	nulls, count int64
	t            *tally.Ints
	sk           *catSketch[int64]
	render       func(int64) string
	// coarse maps a value to a key whose order agrees with the order of
	// the rendered text (ok false when it does not for this value).
	coarse func(int64) (int64, bool)
}

func newIntKeyAcc(render func(int64) string, coarse func(int64) (int64, bool)) *intKeyAcc {
	return &intKeyAcc{t: new(tally.Ints), render: render, coarse: coarse}
}

func (a *intKeyAcc) add(arr arrow.Array) (int64, error) {
	var before int64
	if a.sk == nil {
		before = a.t.Bytes()
	}
	hasNulls := arr.NullN() > 0
	observe := func(i int, v int64) {
		if hasNulls && arr.IsNull(i) {
			a.nulls++
			return
		}
		a.count++
		if a.sk != nil {
			a.sk.hll.add(tally.Mix64(uint64(v)))
			a.sk.mg.add(v, 1, func(v int64) int64 { return v })
			return
		}
		a.t.Add(v)
	}
	switch arr := arr.(type) {
	case *array.Timestamp:
		for i, v := range arr.TimestampValues() {
			observe(i, int64(v))
		}
	case *array.Date32:
		for i, v := range arr.Date32Values() {
			observe(i, int64(v))
		}
	default:
		return 0, fmt.Errorf("unsupported temporal type %s", arr.DataType())
	}
	if a.sk != nil {
		return 0, nil
	}
	return a.t.Bytes() - before, nil
}

func (a *intKeyAcc) toSketch() int64 {
	if a.sk != nil {
		return 0
	}
	freed := a.t.Bytes()
	a.sk = newCatSketch[int64]()
	for v, n := range a.t.All() {
		a.sk.hll.add(tally.Mix64(uint64(v)))
		a.sk.mg.add(v, n, func(v int64) int64 { return v })
	}
	a.t = nil
	return freed
}

func (a *intKeyAcc) mergeFrom(acc accumulator) {
	o := acc.(*intKeyAcc)
	a.nulls += o.nulls
	a.count += o.count
	if a.sk != nil || o.sk != nil {
		a.toSketch()
		o.toSketch()
		a.sk.merge(o.sk)
		return
	}
	if a.t.Len() < o.t.Len() {
		a.t, o.t = o.t, a.t
	}
	a.t.Merge(o.t)
	o.t = nil
}

func (a *intKeyAcc) finish(_ string, opt Options) colResult {
	r := colResult{nulls: a.nulls}
	if a.sk != nil {
		a.sk.finish(&r, a.count, opt.TopK, a.render)
		return r
	}
	r.unique = int64(a.t.Len())
	r.dist = countsObject(topInts(a.t, opt.TopK, a.render, a.coarse))
	return r
}

// topInts returns the k most frequent values of t, count descending and
// ties by rendered text ascending, rendering as few values as it can. A
// first pass ranks by (count, coarse key) with no rendering at all; since
// coarse keys order like the text, only values that tie with or beat the
// k-th of that ranking can be in the answer, and only they are rendered.
// A value whose coarse key is not ok makes every value a candidate.
func topInts(t *tally.Ints, k int, render func(int64) string, coarse func(int64) (int64, bool)) []tally.Count {
	type ranked struct{ n, c int64 }
	byCoarse := tally.NewTop(k, func(a, b ranked) bool {
		if a.n != b.n {
			return a.n > b.n
		}
		return a.c < b.c
	})
	exactOrder := coarse != nil
	for v, n := range t.All() {
		if !exactOrder {
			break
		}
		c, ok := coarse(v)
		exactOrder = ok
		byCoarse.Offer(ranked{n, c})
	}
	top := tally.NewTop(k, tally.ByCount)
	var cut ranked
	kept := byCoarse.Sorted()
	if exactOrder && len(kept) == k {
		cut = kept[k-1]
	} else {
		exactOrder = false
	}
	for v, n := range t.All() {
		if exactOrder {
			c, _ := coarse(v)
			if n < cut.n || (n == cut.n && c > cut.c) {
				continue
			}
		}
		if last, full := top.Last(); full && n < last.N {
			continue
		}
		top.Offer(tally.Count{Value: render(v), N: n})
	}
	return top.Sorted()
}

// Years 0000 to 9999 render with four digits; within them, RFC 3339 text
// and YYYY-MM-DD order like the instants and days they name.
const (
	minRenderSecond = -62167219200 // 0000-01-01T00:00:00Z
	maxRenderSecond = 253402300799 // 9999-12-31T23:59:59Z
	minRenderDay    = -719528      // 0000-01-01
	maxRenderDay    = 2932896      // 9999-12-31
)

// timestampCoarse returns the second a timestamp of type dt falls in: two
// timestamps in different seconds render in the order of their seconds
// (the fractional digits only follow the seconds).
func timestampCoarse(dt *arrow.TimestampType) func(int64) (int64, bool) {
	per := int64(1)
	switch dt.Unit {
	case arrow.Millisecond:
		per = 1e3
	case arrow.Microsecond:
		per = 1e6
	case arrow.Nanosecond:
		per = 1e9
	}
	return func(v int64) (int64, bool) {
		s := v / per
		if v%per < 0 {
			s--
		}
		return s, s >= minRenderSecond && s <= maxRenderSecond
	}
}

func date32Coarse(v int64) (int64, bool) { return v, v >= minRenderDay && v <= maxRenderDay }

// timestampRenderer renders timestamps of type dt in RFC 3339 (UTC, with
// as many fractional digits as needed).
func timestampRenderer(dt *arrow.TimestampType) func(int64) string {
	unit := dt.Unit
	return func(v int64) string {
		return arrow.Timestamp(v).ToTime(unit).UTC().Format(time.RFC3339Nano)
	}
}

func date32Render(v int64) string { return arrow.Date32(v).FormattedString() }

// boolAcc counts a bool column; two counters are already exact and small.
type boolAcc struct {
	nulls, t, f int64
}

func (a *boolAcc) add(arr arrow.Array) (int64, error) {
	b, ok := arr.(*array.Boolean)
	if !ok {
		return 0, fmt.Errorf("bool column holds %s", arr.DataType())
	}
	hasNulls := b.NullN() > 0
	for i := 0; i < b.Len(); i++ {
		switch {
		case hasNulls && b.IsNull(i):
			a.nulls++
		case b.Value(i):
			a.t++
		default:
			a.f++
		}
	}
	return 0, nil
}

func (a *boolAcc) toSketch() int64 { return 0 }
func (a *boolAcc) mergeFrom(o accumulator) {
	b := o.(*boolAcc)
	a.nulls += b.nulls
	a.t += b.t
	a.f += b.f
}

// finish renders the values "True" and "False", as pandas' value_counts
// prints a bool column.
func (a *boolAcc) finish(_ string, opt Options) colResult {
	counts := map[string]int64{}
	if a.t > 0 {
		counts["True"] = a.t
	}
	if a.f > 0 {
		counts["False"] = a.f
	}
	return colResult{nulls: a.nulls, unique: int64(len(counts)), dist: topValues(counts, opt.TopK, func(s string) string { return s })}
}

// BoolText renders a bool as profiles do: "True" or "False", as pandas'
// value_counts prints a bool column.
func BoolText(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// IntKeyRenderer returns, for a column that profiles count as integers
// (timestamps, dates), how its int64 values render as ValueRenderer renders
// them; nil for other types. Distinct values render as distinct text.
func IntKeyRenderer(dt arrow.DataType) func(int64) string {
	switch dt := dt.(type) {
	case *arrow.TimestampType:
		return timestampRenderer(dt)
	case *arrow.Date32Type:
		return date32Render
	}
	return nil
}

// ValueRenderer returns how profiles render the values of a non-numeric
// column (the keys of its distribution): drift checks use it so that their
// categories match a stored profile's. The returned string may point into
// arr's memory; copy it to keep it past the batch.
func ValueRenderer(dt arrow.DataType) func(arr arrow.Array, i int) string {
	switch dt := dt.(type) {
	case *arrow.StringType:
		return func(arr arrow.Array, i int) string { return arr.(*array.String).Value(i) }
	case *arrow.LargeStringType:
		return func(arr arrow.Array, i int) string { return arr.(*array.LargeString).Value(i) }
	case *arrow.BooleanType:
		return func(arr arrow.Array, i int) string { return BoolText(arr.(*array.Boolean).Value(i)) }
	case *arrow.TimestampType:
		r := timestampRenderer(dt)
		return func(arr arrow.Array, i int) string { return r(int64(arr.(*array.Timestamp).Value(i))) }
	case *arrow.Date32Type:
		return func(arr arrow.Array, i int) string { return date32Render(int64(arr.(*array.Date32).Value(i))) }
	}
	return func(arr arrow.Array, i int) string { return arr.ValueStr(i) }
}

// DictionaryCounts counts the non-null values of a dictionary array by
// index: counts[k] is how often dictionary value k occurs. counts is reused
// (cleared, grown to the dictionary's length) and returned, with the number
// of nulls — null indices, and indices of null dictionary values. Counting
// the indices and looking each dictionary value up once gives the counts
// per value that expanding the array would, without copying or hashing a
// string per row, as long as the dictionary's values are distinct (Parquet
// dictionaries, which format.DictionaryDecoder hands out, are).
func DictionaryCounts(a *array.Dictionary, counts []int64) ([]int64, int64) {
	dict := a.Dictionary()
	n := dict.Len()
	if cap(counts) < n {
		counts = make([]int64, n)
	} else {
		counts = counts[:n]
		clear(counts)
	}
	var nulls int64
	hasNulls := a.NullN() > 0
	switch idx := a.Indices().(type) {
	case *array.Int32:
		nulls = countIndices(counts, idx.Int32Values(), a, hasNulls)
	case *array.Int16:
		nulls = countIndices(counts, idx.Int16Values(), a, hasNulls)
	case *array.Int8:
		nulls = countIndices(counts, idx.Int8Values(), a, hasNulls)
	case *array.Uint8:
		nulls = countIndices(counts, idx.Uint8Values(), a, hasNulls)
	case *array.Uint16:
		nulls = countIndices(counts, idx.Uint16Values(), a, hasNulls)
	default:
		for j := 0; j < a.Len(); j++ {
			if a.IsNull(j) {
				nulls++
				continue
			}
			counts[a.GetValueIndex(j)]++
		}
	}
	if dict.NullN() > 0 {
		for k := range counts {
			if dict.IsNull(k) {
				nulls += counts[k]
				counts[k] = 0
			}
		}
	}
	return counts, nulls
}

func countIndices[T int8 | int16 | int32 | uint8 | uint16](counts []int64, idx []T, a arrow.Array, hasNulls bool) int64 {
	if !hasNulls {
		for _, k := range idx {
			counts[k]++
		}
		return 0
	}
	var nulls int64
	for j, k := range idx {
		if a.IsNull(j) {
			nulls++
			continue
		}
		counts[k]++
	}
	return nulls
}

// dictText renders dictionary value k as profiles render its type.
func dictText(dict arrow.Array, k int) string {
	switch d := dict.(type) {
	case *array.String:
		return d.Value(k)
	case *array.LargeString:
		return d.Value(k)
	}
	return dict.ValueStr(k)
}
