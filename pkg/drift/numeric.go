package drift

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/mldata-io/mldata/pkg/profile"
	"github.com/mldata-io/mldata/pkg/profile/tally"
)

// numSide is one side's non-null values of a numeric column, in no order:
// integer columns keep int64s, which may be counted per value instead of
// sorted (numericDense); other columns keep their values as sort keys
// (tally.FloatKey) in a keyStore that the side's scan workers share. NaN is
// a null.
type numSide struct {
	isInt      bool
	n          int // values held, however they are held
	keys       *keyStore
	ints       tally.Values[int64]
	minI, maxI int64
	// counted holds a worker's integers as counts instead of in ints while
	// their range stays within countMax values (countedInts).
	counted  countedInts
	countMax int64
	// Once the side is read (finish), dense holds the integers instead of
	// ints when their range is narrow for their number; otherwise, if
	// asked, sorted holds every value ascending instead of keys and ints.
	dense  *tally.Dense
	sorted []float64
	// std is the standard deviation of dense or sorted, when stdSet (a
	// baseline's, computed while the other side is read).
	std    float64
	stdSet bool
	// dict is the float dictionary a worker's side last read, and dictNaN
	// whether it holds a NaN: a dictionary comes once per row group and
	// serves all its batches, so it is checked once. Holding it keeps its
	// address from being taken by another.
	dict    arrow.ArrayData
	dictNaN bool
}

// keyStore holds the sort keys of one column of a side. Scan workers add
// to it concurrently: with a size hint (the side's row count) they take
// disjoint ranges of one buffer made up front, so the values are neither
// copied again nor merged, and the buffer is sorted in place; values past
// the hint, or all of them without one, are appended under a lock.
type keyStore struct {
	buf  []uint64
	next atomic.Int64
	mu   sync.Mutex
	more []uint64
}

func newKeyStore(hint int64) *keyStore {
	s := &keyStore{}
	if hint > 0 {
		s.buf = make([]uint64, hint)
	}
	return s
}

// add stores keys.
func (s *keyStore) add(keys []uint64) { s.put(s.claim(len(keys)), keys) }

// claim takes the next n places and returns the first one's position.
func (s *keyStore) claim(n int) int64 {
	end := s.next.Add(int64(n))
	return end - int64(n)
}

// at returns the places of n keys claimed from start when they all lie in
// the buffer made up front, for the caller to fill; nil otherwise (the keys
// then go to put).
func (s *keyStore) at(start int64, n int) []uint64 {
	if end := start + int64(n); end <= int64(len(s.buf)) {
		return s.buf[start:end:end]
	}
	return nil
}

// put stores keys at the places claimed from start.
func (s *keyStore) put(start int64, keys []uint64) {
	end := start + int64(len(keys))
	if size := int64(len(s.buf)); start < size {
		k := copy(s.buf[start:min(end, size)], keys)
		keys = keys[k:]
	}
	if len(keys) > 0 {
		s.mu.Lock()
		s.more = append(s.more, keys...)
		s.mu.Unlock()
	}
}

// all returns every key, in one slice; no add may run.
func (s *keyStore) all() []uint64 {
	n := int(min(s.next.Load(), int64(len(s.buf))))
	if len(s.more) == 0 {
		return s.buf[:n]
	}
	if n == 0 {
		return s.more
	}
	return append(s.buf[:n:n], s.more...)
}

// isIntType reports the integer types kept as int64; uint64 is not one of
// them, since it may not fit (it is read as float64, as profiles do).
func isIntType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32:
		return true
	}
	return false
}

// newNumSide returns a side of a column of type t; the workers of a side
// share keys, which holds a float column's values. An integer column is
// counted per value while its range is at most countMax values (0: never).
func newNumSide(t arrow.DataType, keys *keyStore, countMax int64) *numSide {
	return &numSide{isInt: t != nil && isIntType(t), keys: keys, minI: math.MaxInt64, maxI: math.MinInt64, countMax: countMax}
}

// countedInts are integers held as a count per value over [lo, lo+len(c)).
//
// A side's integers end up counted per value when their range is narrow
// for their number (finish), and identifiers, codes and small quantities
// usually are: a scan worker therefore counts them from the start, in
// memory of the range (4 bytes a value of the range) instead of 8 bytes a
// row, and nothing is sorted or counted again at the end. A worker gives
// counting up, and keeps its integers as values (ints), once their range
// passes countMax: twice the side's rows divided among its workers, so
// that the workers' counts never take more memory than the values would;
// the counts it has are then turned back into values. The integers, and so
// every result, are the same either way.
type countedInts struct {
	lo int64
	c  []uint32
	// off is set once the worker has given counting up.
	off bool
}

// count counts xs, whose smallest and largest values are lo and hi, and
// reports whether it could (else nothing is counted).
func (s *numSide) count(xs []int64, lo, hi int64) bool {
	ci := &s.counted
	if ci.off || s.countMax <= 0 || s.ints.Len() > 0 {
		return false
	}
	// Values whose count may not fit, or whose range the counts cannot
	// hold, are kept as values (finish would not count them either).
	const limit = 1 << 53
	if lo <= -limit || hi >= limit || int64(s.n) > math.MaxUint32 {
		s.stopCounting()
		return false
	}
	if ci.c == nil || lo < ci.lo || hi >= ci.lo+int64(len(ci.c)) {
		nlo, nhi := lo, hi
		if ci.c != nil {
			nlo, nhi = min(lo, ci.lo), max(hi, ci.lo+int64(len(ci.c))-1)
		}
		need := nhi - nlo + 1
		if need > s.countMax {
			s.stopCounting()
			return false
		}
		// Grow fourfold, towards the side the range grew on, so that a
		// column in ascending order (an id) is not copied on every batch;
		// past half of countMax, to countMax at once.
		size := max(need, 4*int64(len(ci.c)))
		if 2*size > s.countMax {
			size = s.countMax
		}
		at := nlo
		if ci.c != nil && lo < ci.lo {
			at = nhi - size + 1
		}
		c := make([]uint32, size)
		if ci.c != nil {
			copy(c[ci.lo-at:], ci.c)
		}
		ci.lo, ci.c = at, c
	}
	c, base := ci.c, ci.lo
	for _, x := range xs {
		c[x-base]++
	}
	return true
}

// stopCounting turns the worker's counts into values; it counts no more.
func (s *numSide) stopCounting() {
	ci := &s.counted
	ci.off = true
	s.appendCounted(&s.ints)
	ci.c = nil
}

// appendCounted appends the counted integers to dst, ascending.
func (s *numSide) appendCounted(dst *tally.Values[int64]) {
	ci := &s.counted
	var buf []int64
	for i, k := range ci.c {
		for range k {
			buf = append(buf, ci.lo+int64(i))
			if len(buf) == 4096 {
				dst.Append(buf...)
				buf = buf[:0]
			}
		}
	}
	dst.Append(buf...)
}

// addInts adds xs, non-null integers.
func (s *numSide) addInts(xs []int64) {
	if len(xs) == 0 {
		return
	}
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo = min(lo, x)
		hi = max(hi, x)
	}
	s.minI = min(s.minI, lo)
	s.maxI = max(s.maxI, hi)
	s.n += len(xs)
	if !s.count(xs, lo, hi) {
		s.ints.Append(xs...)
	}
}

func (s *numSide) len() int { return s.n }

// finish runs once the side is read: integers in a narrow range
// (identifiers, codes) become counts per value, half their memory or less
// and no sort later; other values are sorted if sort is set, with scratch
// as the sort's second buffer. It returns the buffer left free for the
// next sort (see tally.SortFloatKeys). withStd also computes the standard
// deviation (the baseline's, which normalises the Wasserstein distance).
func (s *numSide) finish(sort, withStd bool, scratch []uint64) []uint64 {
	if ci := &s.counted; ci.c != nil {
		if tally.DenseFits(s.minI, s.maxI, int64(s.n)) {
			s.dense = tally.DenseOf(s.minI, ci.c[s.minI-ci.lo:s.maxI-ci.lo+1], int64(s.n))
			ci.c = nil
			if withStd && s.n > 0 {
				s.std, s.stdSet = stdDense(s.dense), true
			}
			return scratch
		}
		if sort {
			// The counts give the values in order: no sort.
			s.sorted = make([]float64, 0, s.n)
			for i, k := range ci.c {
				v := float64(ci.lo + int64(i))
				for range k {
					s.sorted = append(s.sorted, v)
				}
			}
			ci.c = nil
			if withStd && s.n > 0 {
				s.std, s.stdSet = std(s.sorted), true
			}
			return scratch
		}
		s.stopCounting()
	}
	if s.isInt && tally.DenseFits(s.minI, s.maxI, int64(s.ints.Len())) {
		s.dense = tally.NewDense(s.minI, s.maxI)
		for chunk := range s.ints.Chunks() {
			s.dense.Add(chunk)
		}
		s.ints = tally.Values[int64]{}
		if withStd && s.n > 0 {
			s.std, s.stdSet = stdDense(s.dense), true
		}
		return scratch
	}
	if !sort {
		return scratch
	}
	// Integers too spread out to count per value are compared as floats.
	var keys []uint64
	if s.keys != nil {
		keys = s.keys.all()
	}
	for chunk := range s.ints.Chunks() {
		for _, v := range chunk {
			keys = append(keys, tally.FloatKey(float64(v)))
		}
	}
	s.ints, s.keys = tally.Values[int64]{}, nil
	if len(keys) >= 1<<12 && cap(scratch) < len(keys) {
		scratch = make([]uint64, len(keys)) // the radix sort's second buffer
	}
	s.sorted, scratch = tally.SortFloatKeys(keys, scratch)
	if withStd && s.n > 0 {
		s.std, s.stdSet = std(s.sorted), true
	}
	return scratch
}

// stdOf is std(xs) for xs = s.ascending(), computed once.
func (s *numSide) stdOf(xs []float64) float64 {
	if s.stdSet && s.dense == nil {
		return s.std
	}
	return std(xs)
}

// stdDense is stdDense(s.dense), computed once.
func (s *numSide) stdDense() float64 {
	if s.stdSet && s.dense != nil {
		return s.std
	}
	return stdDense(s.dense)
}

// add appends arr's non-null values; fbuf and ibuf are the worker's scratch
// buffers, dkeys its buffer for the keys of a dictionary.
func (s *numSide) add(arr arrow.Array, fbuf *[]float64, ibuf *[]int64, dkeys *[]uint64) error {
	if d, ok := arr.(*array.Dictionary); ok {
		return s.addDictionary(d, fbuf, ibuf, dkeys)
	}
	if !s.isInt {
		xs, _, err := profile.AppendFloats((*fbuf)[:0], arr)
		if err != nil {
			return err
		}
		*fbuf = xs
		// The keys take the floats' place.
		keys := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(xs))), len(xs))
		for i, x := range xs {
			keys[i] = tally.FloatKey(x)
		}
		s.keys.add(keys)
		s.n += len(keys)
		return nil
	}
	xs, err := appendInts((*ibuf)[:0], arr)
	if err != nil {
		return err
	}
	*ibuf = xs
	s.addInts(xs)
	return nil
}

// merge adds a worker's integers; a float column's keys are in the store
// the workers share.
func (s *numSide) merge(o *numSide) {
	o.dict = nil
	sMin, sMax := s.minI, s.maxI
	s.n += o.n
	s.minI, s.maxI = min(s.minI, o.minI), max(s.maxI, o.maxI)
	switch sc, oc := &s.counted, &o.counted; {
	case oc.c == nil:
		if o.ints.Len() > 0 || oc.off {
			if sc.c != nil {
				s.stopCounting()
			}
			sc.off = true
		}
		s.ints.Merge(&o.ints)
	case sc.off || s.ints.Len() > 0 || int64(s.n) > math.MaxUint32:
		// Values on one side (or too many to count in 32 bits): values.
		if sc.c != nil {
			s.stopCounting()
		}
		sc.off = true
		o.appendCounted(&s.ints)
	case sc.c == nil:
		sc.lo, sc.c = oc.lo, oc.c
	default:
		// The counts are added where the values of both lie, into the
		// counts of either when they span that range (as a worker's
		// counts, grown ahead, often do), else into new ones.
		lo, hi := s.minI, s.maxI
		covers := func(c *countedInts) bool { return c.lo <= lo && hi < c.lo+int64(len(c.c)) }
		oMin, oMax := o.minI, o.maxI
		switch {
		case covers(sc):
		case covers(oc):
			sc.lo, sc.c, oc.lo, oc.c = oc.lo, oc.c, sc.lo, sc.c
			oMin, oMax = sMin, sMax
		default:
			c := make([]uint32, hi-lo+1)
			copy(c[sMin-lo:], sc.c[sMin-sc.lo:sMax-sc.lo+1])
			sc.lo, sc.c = lo, c
		}
		d := sc.c[oMin-sc.lo:]
		for i, k := range oc.c[oMin-oc.lo : oMax-oc.lo+1] {
			d[i] += k
		}
	}
	o.counted.c = nil
}

// ascending returns every value as float64 (as AppendFloats converts
// them), ascending; finish(true) must have run.
func (s *numSide) ascending() []float64 {
	if s.dense != nil {
		return s.dense.AppendSorted(nil)
	}
	return s.sorted
}

// binCounts is BinCounts of the values, sorted or not: value x goes to
// bin #{e ∈ edges : e ≤ x} (edges ascending).
func (s *numSide) binCounts(edges []float64) []int64 {
	switch {
	case s.dense != nil:
		return binCountsDense(s.dense, edges)
	case s.sorted != nil:
		return BinCounts(s.sorted, edges)
	}
	counts := make([]int64, len(edges)+1)
	// #{e ≤ x} over ascending edges: a count, no search (a handful of edges).
	bin := func(x float64) int {
		k := 0
		for _, e := range edges {
			if e <= x {
				k++
			}
		}
		return k
	}
	if s.keys != nil {
		for _, u := range s.keys.all() {
			counts[bin(tally.KeyFloat(u))]++
		}
	}
	for chunk := range s.ints.Chunks() {
		for _, v := range chunk {
			counts[bin(float64(v))]++
		}
	}
	return counts
}

// appendInts appends the non-null values of an integer array to dst.
func appendInts(dst []int64, arr arrow.Array) ([]int64, error) {
	hasNulls := arr.NullN() > 0
	switch a := arr.(type) {
	case *array.Int64:
		return appendIntValues(dst, a.Int64Values(), arr, hasNulls), nil
	case *array.Int32:
		return appendIntValues(dst, a.Int32Values(), arr, hasNulls), nil
	case *array.Int16:
		return appendIntValues(dst, a.Int16Values(), arr, hasNulls), nil
	case *array.Int8:
		return appendIntValues(dst, a.Int8Values(), arr, hasNulls), nil
	case *array.Uint32:
		return appendIntValues(dst, a.Uint32Values(), arr, hasNulls), nil
	case *array.Uint16:
		return appendIntValues(dst, a.Uint16Values(), arr, hasNulls), nil
	case *array.Uint8:
		return appendIntValues(dst, a.Uint8Values(), arr, hasNulls), nil
	}
	return dst, fmt.Errorf("%s is not an integer type", arr.DataType())
}

func appendIntValues[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32](dst []int64, vals []T, arr arrow.Array, hasNulls bool) []int64 {
	for i, v := range vals {
		if hasNulls && arr.IsNull(i) {
			continue
		}
		dst = append(dst, int64(v))
	}
	return dst
}

// dictKeys turns the dictionary of a float column's dictionary array into
// sort keys, in keys (the worker's buffer, reused); nan marks the values
// that are NaN (nulls), nil when none is. A worker does this once per batch:
// a dictionary has at most as many values as its column chunk has rows.
func dictKeys(d arrow.Array, keys []uint64) ([]uint64, []bool, error) {
	if d.NullN() > 0 {
		return keys, nil, fmt.Errorf("a dictionary holds nulls")
	}
	if cap(keys) < d.Len() {
		keys = make([]uint64, d.Len())
	}
	keys = keys[:d.Len()]
	var nan []bool
	switch v := d.(type) {
	case *array.Float64:
		for k, x := range v.Float64Values() {
			if x != x {
				if nan == nil {
					nan = make([]bool, d.Len())
				}
				nan[k] = true
			}
			keys[k] = tally.FloatKey(x)
		}
	case *array.Int64:
		for k, x := range v.Int64Values() {
			keys[k] = tally.FloatKey(float64(x))
		}
	default:
		return keys, nil, fmt.Errorf("a dictionary of %s is not read here", d.DataType())
	}
	return keys, nan, nil
}

// addDictionary is add for a dictionary array: each row's value is looked
// up in the dictionary (for floats, in the dictionary's keys), and float
// keys go straight to their place in the store.
func (s *numSide) addDictionary(a *array.Dictionary, fbuf *[]float64, ibuf *[]int64, dkeys *[]uint64) error {
	idx, ok := a.Indices().(*array.Int32)
	if !ok {
		return fmt.Errorf("dictionary indices of type %s are not read here", a.Indices().DataType())
	}
	codes := idx.Int32Values()
	hasNulls := a.NullN() > 0
	if s.isInt {
		d, ok := a.Dictionary().(*array.Int64)
		if !ok || d.NullN() > 0 {
			return fmt.Errorf("a dictionary of %s for an integer column", a.Dictionary().DataType())
		}
		vals := d.Int64Values()
		xs := (*ibuf)[:0]
		for j, c := range codes {
			if !hasNulls || a.IsValid(j) {
				xs = append(xs, vals[c])
			}
		}
		*ibuf = xs
		s.addInts(xs)
		return nil
	}
	if d, ok := a.Dictionary().(*array.Float64); ok && d.NullN() == 0 {
		if s.dict != d.Data() {
			s.dict, s.dictNaN = d.Data(), hasNaN(d.Float64Values())
		}
		if !s.dictNaN {
			s.addFloatCodes(a, codes, d.Float64Values(), fbuf)
			return nil
		}
	}
	keys, nan, err := dictKeys(a.Dictionary(), *dkeys)
	*dkeys = keys
	if err != nil {
		return err
	}
	n := a.Len() - a.NullN()
	if nan != nil {
		for j, c := range codes {
			if (!hasNulls || a.IsValid(j)) && nan[c] {
				n--
			}
		}
	}
	dst, start, direct := s.claimKeys(n, fbuf)
	switch {
	case !hasNulls && nan == nil:
		for j, c := range codes {
			dst[j] = keys[c]
		}
	case nan == nil:
		// Rows with a value, from the validity bits; a byte of eight
		// rows with values is copied without a test per row.
		bits, off := a.NullBitmapBytes(), a.Data().Offset()
		k := 0
		for j := 0; j < len(codes); {
			i := j + off
			if i&7 == 0 && j+8 <= len(codes) && bits[i>>3] == 0xff {
				for _, c := range codes[j : j+8] {
					dst[k] = keys[c]
					k++
				}
				j += 8
				continue
			}
			if bits[i>>3]>>(i&7)&1 == 1 {
				dst[k] = keys[codes[j]]
				k++
			}
			j++
		}
	default:
		k := 0
		for j, c := range codes {
			if (!hasNulls || a.IsValid(j)) && (nan == nil || !nan[c]) {
				dst[k] = keys[c]
				k++
			}
		}
	}
	s.keysWritten(start, dst, direct, n)
	return nil
}

// claimKeys claims n keys of the store and returns where to write them: the
// store's own buffer when it holds them (direct), else fbuf's memory, which
// keysWritten then copies in.
func (s *numSide) claimKeys(n int, fbuf *[]float64) (dst []uint64, start int64, direct bool) {
	start = s.keys.claim(n)
	if dst = s.keys.at(start, n); dst != nil {
		return dst, start, true
	}
	if cap(*fbuf) < n {
		*fbuf = make([]float64, n)
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(*fbuf))), n), start, false
}

// keysWritten completes claimKeys once the n keys are in dst.
func (s *numSide) keysWritten(start int64, dst []uint64, direct bool, n int) {
	if !direct {
		s.keys.put(start, dst)
	}
	s.n += n
}

func hasNaN(xs []float64) bool {
	for _, x := range xs {
		if x != x {
			return true
		}
	}
	return false
}

// addFloatCodes is addDictionary for a dictionary of floats without NaN:
// each row's key is made from its dictionary value as it is gathered
// (as cheap as looking a key up), straight into the store.
func (s *numSide) addFloatCodes(a *array.Dictionary, codes []int32, vals []float64, fbuf *[]float64) {
	n := a.Len() - a.NullN()
	dst, start, direct := s.claimKeys(n, fbuf)
	if a.NullN() == 0 {
		dst = dst[:len(codes)]
		for j, c := range codes {
			dst[j] = tally.FloatKey(vals[c])
		}
	} else {
		// Rows with a value, from the validity bits; a byte of eight
		// rows with values is copied without a test per row.
		bits, off := a.NullBitmapBytes(), a.Data().Offset()
		k := 0
		for j := 0; j < len(codes); {
			i := j + off
			if i&7 == 0 && j+8 <= len(codes) && bits[i>>3] == 0xff {
				for _, c := range codes[j : j+8] {
					dst[k] = tally.FloatKey(vals[c])
					k++
				}
				j += 8
				continue
			}
			if bits[i>>3]>>(i&7)&1 == 1 {
				dst[k] = tally.FloatKey(vals[codes[j]])
				k++
			}
			j++
		}
	}
	s.keysWritten(start, dst, direct, n)
}
