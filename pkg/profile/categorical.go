package profile

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cespare/xxhash/v2"
)

// mgCapacity is the number of counters a sketched categorical column keeps
// per worker: its counts are within n/4097 of the truth.
const mgCapacity = 4096

// mapEntryBytes approximates what one Go map entry costs beyond its key's
// bytes (key header, value, bucket overhead at the average load factor).
const mapEntryBytes = 48

// catOps are the key-type-specific operations of a categorical column.
type catOps[K comparable] struct {
	hash   func(K) uint64
	clone  func(K) K // copy a key that may point into a record batch
	size   func(K) int64
	render func(K) string
}

var stringOps = catOps[string]{
	hash:   xxhash.Sum64String,
	clone:  strings.Clone,
	size:   func(s string) int64 { return int64(len(s)) + 16 },
	render: func(s string) string { return s },
}

func int64Ops(render func(int64) string) catOps[int64] {
	return catOps[int64]{
		hash:   func(v int64) uint64 { return mix64(uint64(v)) },
		clone:  func(v int64) int64 { return v },
		size:   func(int64) int64 { return 8 },
		render: render,
	}
}

// catAcc accumulates a non-numeric, non-bool column: exact counts per value,
// or, once sketched, a Misra–Gries summary for the top values and a
// HyperLogLog for the distinct count.
type catAcc[K comparable] struct {
	ops      catOps[K]
	nulls    int64
	count    int64
	counts   map[K]int64
	bytes    int64
	sketched bool
	mg       *misraGries[K]
	hll      *hll
}

func newCatAcc[K comparable](ops catOps[K]) *catAcc[K] {
	return &catAcc[K]{ops: ops, counts: make(map[K]int64)}
}

func (a *catAcc[K]) observe(k K) {
	a.count++
	if a.sketched {
		a.hll.add(a.ops.hash(k))
		a.mg.add(k, 1, a.ops.clone)
		return
	}
	if c, ok := a.counts[k]; ok {
		a.counts[k] = c + 1
		return
	}
	a.counts[a.ops.clone(k)] = 1
	a.bytes += a.ops.size(k) + mapEntryBytes
}

func (a *catAcc[K]) toSketch() int64 {
	if a.sketched {
		return 0
	}
	freed := a.bytes
	a.sketched = true
	a.mg = newMisraGries[K](mgCapacity)
	a.hll = new(hll)
	for k, c := range a.counts {
		a.hll.add(a.ops.hash(k))
		a.mg.add(k, c, func(k K) K { return k })
	}
	a.counts, a.bytes = nil, 0
	return freed
}

func (a *catAcc[K]) merge(o *catAcc[K]) {
	a.nulls += o.nulls
	a.count += o.count
	if a.sketched || o.sketched {
		a.toSketch()
		o.toSketch()
		a.mg.merge(o.mg)
		a.hll.merge(o.hll)
		return
	}
	if len(o.counts) > len(a.counts) {
		a.counts, o.counts = o.counts, a.counts
	}
	for k, c := range o.counts {
		a.counts[k] += c
	}
	a.bytes += o.bytes
	o.counts = nil
}

func (a *catAcc[K]) finish(topK int) colResult {
	r := colResult{nulls: a.nulls}
	counts := a.counts
	if a.sketched {
		counts = a.mg.counts
		r.unique = min(max(int64(math.Round(a.hll.estimate())), int64(len(counts))), a.count)
		off := a.mg.offset
		r.approx = &Approximation{UniqueCount: hllErrorBound, Distributions: &off}
	} else {
		r.unique = int64(len(counts))
	}
	r.dist = topValues(counts, topK, a.ops.render)
	return r
}

// topValues returns the k most frequent values, count descending and ties by
// rendered value ascending in byte order. Only candidates that can make the
// cut are rendered, which matters for a million distinct timestamps.
func topValues[K comparable](counts map[K]int64, k int, render func(K) string) Object[int64] {
	type entry struct {
		v string
		c int64
	}
	threshold := int64(math.MinInt64)
	if len(counts) > k {
		cs := make([]int64, 0, len(counts))
		for _, c := range counts {
			cs = append(cs, c)
		}
		slices.SortFunc(cs, func(a, b int64) int { return cmp.Compare(b, a) })
		threshold = cs[k-1]
	}
	var cand []entry
	for key, c := range counts {
		if c >= threshold {
			cand = append(cand, entry{render(key), c})
		}
	}
	slices.SortFunc(cand, func(a, b entry) int {
		if a.c != b.c {
			return cmp.Compare(b.c, a.c)
		}
		return strings.Compare(a.v, b.v)
	})
	if len(cand) > k {
		cand = cand[:k]
	}
	out := make(Object[int64], len(cand))
	for i, e := range cand {
		out[i] = Field[int64]{Key: e.v, Value: e.c}
	}
	return out
}

// strAcc is a string-keyed categorical column: utf8 strings natively, and
// any type without a better key rendered with Arrow's ValueStr.
type strAcc struct{ *catAcc[string] }

func (a strAcc) add(arr arrow.Array) (int64, error) {
	before := a.bytes
	hasNulls := arr.NullN() > 0
	switch arr := arr.(type) {
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
	return a.bytes - before, nil
}

func (a strAcc) mergeFrom(o accumulator) { a.merge(o.(strAcc).catAcc) }
func (a strAcc) finish(_ string, opt Options) colResult {
	return a.catAcc.finish(opt.TopK)
}

// intKeyAcc is a categorical column whose values are int64 underneath
// (timestamps, dates): counting the integers and rendering only the top
// values is much cheaper than rendering every row.
type intKeyAcc struct{ *catAcc[int64] }

func (a intKeyAcc) add(arr arrow.Array) (int64, error) {
	before := a.bytes
	var vals []int64
	switch arr := arr.(type) {
	case *array.Timestamp:
		ts := arr.TimestampValues()
		vals = make([]int64, len(ts))
		for i, t := range ts {
			vals[i] = int64(t)
		}
	case *array.Date32:
		ds := arr.Date32Values()
		vals = make([]int64, len(ds))
		for i, d := range ds {
			vals[i] = int64(d)
		}
	default:
		return 0, fmt.Errorf("unsupported temporal type %s", arr.DataType())
	}
	hasNulls := arr.NullN() > 0
	for i, v := range vals {
		if hasNulls && arr.IsNull(i) {
			a.nulls++
			continue
		}
		a.observe(v)
	}
	return a.bytes - before, nil
}

func (a intKeyAcc) mergeFrom(o accumulator) { a.merge(o.(intKeyAcc).catAcc) }
func (a intKeyAcc) finish(_ string, opt Options) colResult {
	return a.catAcc.finish(opt.TopK)
}

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
	return colResult{nulls: a.nulls, unique: int64(len(counts)), dist: topValues(counts, opt.TopK, stringOps.render)}
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
		return func(arr arrow.Array, i int) string {
			if arr.(*array.Boolean).Value(i) {
				return "True"
			}
			return "False"
		}
	case *arrow.TimestampType:
		r := timestampRenderer(dt)
		return func(arr arrow.Array, i int) string { return r(int64(arr.(*array.Timestamp).Value(i))) }
	case *arrow.Date32Type:
		return func(arr arrow.Array, i int) string { return date32Render(int64(arr.(*array.Date32).Value(i))) }
	}
	return func(arr arrow.Array, i int) string { return arr.ValueStr(i) }
}
