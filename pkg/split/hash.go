package split

import (
	"encoding/binary"
	"math"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/cespare/xxhash/v2"
)

// Value tags of the canonical encoding (see the package doc).
const (
	tagInt    = 'i'
	tagUint   = 'u'
	tagFloat  = 'f'
	tagBool   = 'b'
	tagString = 's'
	tagBytes  = 'y'
	tagTime   = 't'
	tagDate   = 'd'
	tagOther  = 'z'
	tagNull   = 'n'
)

// canonicalNaN is the bit pattern every NaN hashes as.
const canonicalNaN = 0x7ff8000000000000

// encoder appends the canonical encoding of row i's value (which must not be
// null) to b.
type encoder func(b []byte, i int) []byte

func appendInt(b []byte, v int64) []byte {
	return binary.LittleEndian.AppendUint64(append(b, tagInt), uint64(v))
}

func appendUint(b []byte, v uint64) []byte {
	if v <= math.MaxInt64 {
		return appendInt(b, int64(v))
	}
	return binary.LittleEndian.AppendUint64(append(b, tagUint), v)
}

func appendFloat(b []byte, f float64) []byte {
	if f == math.Trunc(f) { // false for NaN; true for ±Inf, excluded by the ranges
		if f >= -0x1p63 && f < 0x1p63 {
			return appendInt(b, int64(f)) // -0 becomes 0 here
		}
		if f >= 0x1p63 && f < 0x1p64 {
			return appendUint(b, uint64(f))
		}
	}
	bits := math.Float64bits(f)
	if f != f {
		bits = canonicalNaN
	}
	return binary.LittleEndian.AppendUint64(append(b, tagFloat), bits)
}

func appendBytes(b []byte, tag byte, s []byte) []byte {
	b = binary.AppendUvarint(append(b, tag), uint64(len(s)))
	return append(b, s...)
}

func appendString(b []byte, tag byte, s string) []byte {
	b = binary.AppendUvarint(append(b, tag), uint64(len(s)))
	return append(b, s...)
}

// appendInstant encodes v units since the epoch as whole seconds (floored)
// and nanoseconds, so the same instant hashes alike in every unit.
func appendInstant(b []byte, v int64, unit arrow.TimeUnit) []byte {
	per := int64(1)
	switch unit {
	case arrow.Millisecond:
		per = 1_000
	case arrow.Microsecond:
		per = 1_000_000
	case arrow.Nanosecond:
		per = 1_000_000_000
	}
	sec, rem := v/per, v%per
	if rem < 0 {
		sec, rem = sec-1, rem+per
	}
	b = binary.LittleEndian.AppendUint64(append(b, tagTime), uint64(sec))
	return binary.LittleEndian.AppendUint32(b, uint32(rem*(1_000_000_000/per)))
}

const msPerDay = 86_400_000

// newEncoder returns the encoder for one column of one batch.
func newEncoder(arr arrow.Array) encoder {
	switch a := arr.(type) {
	case *array.Int8:
		return func(b []byte, i int) []byte { return appendInt(b, int64(a.Value(i))) }
	case *array.Int16:
		return func(b []byte, i int) []byte { return appendInt(b, int64(a.Value(i))) }
	case *array.Int32:
		return func(b []byte, i int) []byte { return appendInt(b, int64(a.Value(i))) }
	case *array.Int64:
		return func(b []byte, i int) []byte { return appendInt(b, a.Value(i)) }
	case *array.Uint8:
		return func(b []byte, i int) []byte { return appendInt(b, int64(a.Value(i))) }
	case *array.Uint16:
		return func(b []byte, i int) []byte { return appendInt(b, int64(a.Value(i))) }
	case *array.Uint32:
		return func(b []byte, i int) []byte { return appendInt(b, int64(a.Value(i))) }
	case *array.Uint64:
		return func(b []byte, i int) []byte { return appendUint(b, a.Value(i)) }
	case *array.Float16:
		return func(b []byte, i int) []byte { return appendFloat(b, float64(a.Value(i).Float32())) }
	case *array.Float32:
		return func(b []byte, i int) []byte { return appendFloat(b, float64(a.Value(i))) }
	case *array.Float64:
		return func(b []byte, i int) []byte { return appendFloat(b, a.Value(i)) }
	case *array.Boolean:
		return func(b []byte, i int) []byte {
			if a.Value(i) {
				return append(b, tagBool, 1)
			}
			return append(b, tagBool, 0)
		}
	case *array.String:
		return func(b []byte, i int) []byte { return appendString(b, tagString, a.Value(i)) }
	case *array.LargeString:
		return func(b []byte, i int) []byte { return appendString(b, tagString, a.Value(i)) }
	case *array.StringView:
		return func(b []byte, i int) []byte { return appendString(b, tagString, a.Value(i)) }
	case *array.Binary:
		return func(b []byte, i int) []byte { return appendBytes(b, tagBytes, a.Value(i)) }
	case *array.LargeBinary:
		return func(b []byte, i int) []byte { return appendBytes(b, tagBytes, a.Value(i)) }
	case *array.BinaryView:
		return func(b []byte, i int) []byte { return appendBytes(b, tagBytes, a.Value(i)) }
	case *array.FixedSizeBinary:
		return func(b []byte, i int) []byte { return appendBytes(b, tagBytes, a.Value(i)) }
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return func(b []byte, i int) []byte { return appendInstant(b, int64(a.Value(i)), unit) }
	case *array.Date32:
		return func(b []byte, i int) []byte {
			return binary.LittleEndian.AppendUint64(append(b, tagDate), uint64(int64(a.Value(i))))
		}
	case *array.Date64:
		return func(b []byte, i int) []byte {
			ms := int64(a.Value(i))
			if ms%msPerDay == 0 {
				return binary.LittleEndian.AppendUint64(append(b, tagDate), uint64(ms/msPerDay))
			}
			return appendInstant(b, ms, arrow.Millisecond)
		}
	case *array.Dictionary:
		inner := newEncoder(a.Dictionary())
		return func(b []byte, i int) []byte { return inner(b, a.GetValueIndex(i)) }
	}
	typ := arr.DataType().String()
	return func(b []byte, i int) []byte {
		b = appendString(b, tagOther, typ)
		s := arr.ValueStr(i)
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	}
}

// column returns the first column of rec named name, or nil.
func column(rec arrow.RecordBatch, name string) arrow.Array {
	if name == "" {
		return nil
	}
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil
	}
	return rec.Column(idx[0])
}

// Assign writes the split index of each row of rec into out, which must hold
// at least rec.NumRows() entries. It is safe for concurrent use. With a
// single split every row is in it, whatever its hash, so nothing is hashed
// (a build into one split, such as all=1, pays nothing for splitting).
func (a *Assigner) Assign(rec arrow.RecordBatch, out []uint8) {
	out = out[:rec.NumRows()]
	if len(a.bounds) == 0 {
		clear(out)
		return
	}
	a.eachHash(rec, func(i int, h uint64) { out[i] = a.index(h) })
}

// blockRows is how many rows are encoded at a time: enough to amortise the
// per-column setup, few enough that the encodings (~100 bytes a row) stay in
// cache and memory stays bounded whatever the batch size.
const blockRows = 2048

// eachHash calls fn with every row's hash (see the package doc), in order.
//
// Rows are encoded column by column rather than row by row: each column's
// loop is specialised to its type, so the common types cost no dynamic call
// per value. A first pass sizes every row's encoding, a second writes each
// column's piece at its row's position, then each row's bytes are hashed.
func (a *Assigner) eachHash(rec arrow.RecordBatch, fn func(i int, h uint64)) {
	n := int(rec.NumRows())
	if n == 0 {
		return
	}
	segs := a.segments(rec)
	start := make([]int, blockRows+1)
	pos := make([]int, blockRows)
	var buf []byte
	for lo := 0; lo < n; lo += blockRows {
		hi := min(n, lo+blockRows)
		m := hi - lo
		size := pos[:m]
		for i := range size {
			size[i] = len(a.seed)
		}
		for s := range segs {
			segs[s].sizes(lo, hi, size)
		}
		start[0] = 0
		for i, sz := range size {
			start[i+1] = start[i] + sz
		}
		if total := start[m]; cap(buf) < total {
			buf = make([]byte, total)
		} else {
			buf = buf[:total]
		}
		for i := range m {
			pos[i] = start[i] + copy(buf[start[i]:], a.seed[:])
		}
		for s := range segs {
			segs[s].write(lo, hi, buf, pos[:m])
		}
		for i := range m {
			fn(lo+i, xxhash.Sum64(buf[start[i]:start[i+1]]))
		}
	}
}

// segments lists the pieces of every row's encoding after the seed: the
// stratum, then the key or the content columns in name order.
func (a *Assigner) segments(rec arrow.RecordBatch) []segment {
	var segs []segment
	if a.spec.StratifyBy != "" {
		segs = append(segs, newSegment(column(rec, a.spec.StratifyBy), nil, false))
	}
	if a.spec.Key != "" {
		return append(segs, newSegment(column(rec, a.spec.Key), nil, false))
	}
	type named struct {
		name string
		arr  arrow.Array
	}
	var cols []named
	for i, f := range rec.Schema().Fields() {
		arr := rec.Column(i)
		if arr.NullN() == arr.Len() {
			continue // an all-null column adds nothing to any row
		}
		cols = append(cols, named{f.Name, arr})
	}
	sort.SliceStable(cols, func(i, j int) bool { return cols[i].name < cols[j].name })
	for _, c := range cols {
		prefix := binary.AppendUvarint(nil, uint64(len(c.name)))
		segs = append(segs, newSegment(c.arr, append(prefix, c.name...), true))
	}
	return segs
}

// kind selects a segment's specialised loops.
type kind int

const (
	kindNull kind = iota // missing column: every row null
	kindInt              // signed and small unsigned integers
	kindUint64
	kindFloat
	kindBool
	kindString
	kindTimestamp
	kindOther // through the encoder closure
)

// segment is one column's part of the row encoding.
type segment struct {
	arr      arrow.Array
	prefix   []byte // written before each non-null value (the column name in content)
	skipNull bool   // content: a null contributes nothing; key and stratum: the null tag
	bitmap   []byte // validity, nil when no row is null
	off      int    // the array's offset into bitmap
	kind     kind
	width    int // encoded size of a value for fixed-size kinds
	enc      encoder
	unit     arrow.TimeUnit
}

func newSegment(arr arrow.Array, prefix []byte, skipNull bool) segment {
	s := segment{arr: arr, prefix: prefix, skipNull: skipNull}
	if arr == nil {
		return s
	}
	if arr.NullN() > 0 {
		s.bitmap, s.off = arr.NullBitmapBytes(), arr.Data().Offset()
	}
	switch a := arr.(type) {
	case *array.Int8, *array.Int16, *array.Int32, *array.Int64, *array.Uint8, *array.Uint16, *array.Uint32:
		s.kind, s.width = kindInt, 9
	case *array.Uint64:
		s.kind, s.width, s.enc = kindUint64, 9, newEncoder(arr)
	case *array.Float32, *array.Float64:
		s.kind, s.width = kindFloat, 9
	case *array.Boolean:
		s.kind, s.width, s.enc = kindBool, 2, newEncoder(arr)
	case *array.String, *array.LargeString:
		s.kind = kindString
	case *array.Timestamp:
		s.kind, s.width, s.unit = kindTimestamp, 13, a.DataType().(*arrow.TimestampType).Unit
	default:
		s.kind, s.enc = kindOther, newEncoder(arr)
	}
	return s
}

func (s *segment) valid(i int) bool {
	return s.bitmap == nil || bitutil.BitIsSet(s.bitmap, s.off+i)
}

// sizes adds the encoded size of rows lo…hi-1 to size.
func (s *segment) sizes(lo, hi int, size []int) {
	nullSize := 1
	if s.skipNull {
		nullSize = 0
	}
	if s.kind == kindNull {
		for i := range size {
			size[i] += nullSize
		}
		return
	}
	p := len(s.prefix)
	if s.bitmap == nil && s.width > 0 { // the common case: one size for all
		for i := range size {
			size[i] += p + s.width
		}
		return
	}
	var scratch []byte
	for i := lo; i < hi; i++ {
		if !s.valid(i) {
			size[i-lo] += nullSize
			continue
		}
		switch s.kind {
		case kindString:
			l := stringLen(s.arr, i)
			size[i-lo] += p + 1 + uvarintLen(l) + l
		case kindOther:
			scratch = s.enc(scratch[:0], i)
			size[i-lo] += p + len(scratch)
		default:
			size[i-lo] += p + s.width
		}
	}
}

func stringLen(arr arrow.Array, i int) int {
	if a, ok := arr.(*array.String); ok {
		return a.ValueLen(i)
	}
	return arr.(*array.LargeString).ValueLen(i)
}

func uvarintLen(v int) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// write encodes rows lo…hi-1 at buf[pos[i-lo]:], advancing pos.
func (s *segment) write(lo, hi int, buf []byte, pos []int) {
	switch a := s.arr.(type) {
	case *array.Int8:
		writeInts(s, a.Int8Values(), lo, hi, buf, pos)
	case *array.Int16:
		writeInts(s, a.Int16Values(), lo, hi, buf, pos)
	case *array.Int32:
		writeInts(s, a.Int32Values(), lo, hi, buf, pos)
	case *array.Int64:
		writeInts(s, a.Int64Values(), lo, hi, buf, pos)
	case *array.Uint8:
		writeInts(s, a.Uint8Values(), lo, hi, buf, pos)
	case *array.Uint16:
		writeInts(s, a.Uint16Values(), lo, hi, buf, pos)
	case *array.Uint32:
		writeInts(s, a.Uint32Values(), lo, hi, buf, pos)
	case *array.Float32:
		writeFloats(s, a.Float32Values(), lo, hi, buf, pos)
	case *array.Float64:
		writeFloats(s, a.Float64Values(), lo, hi, buf, pos)
	case *array.String:
		writeStrings(s, a, lo, hi, buf, pos)
	case *array.LargeString:
		writeStrings(s, a, lo, hi, buf, pos)
	case *array.Timestamp:
		vals := a.TimestampValues()
		s.each(lo, hi, buf, pos, func(b []byte, i int) []byte { return appendInstant(b, int64(vals[i]), s.unit) })
	case nil:
		s.each(lo, hi, buf, pos, nil)
	default: // uint64, bool and kindOther: the encoder is fast enough or the type rare
		s.each(lo, hi, buf, pos, s.enc)
	}
}

// each writes every row through enc, appending in place: the sizes pass
// reserved exactly the room each value needs, so append never reallocates.
func (s *segment) each(lo, hi int, buf []byte, pos []int, enc encoder) {
	for i := lo; i < hi; i++ {
		p := pos[i-lo]
		if enc == nil || !s.valid(i) {
			if !s.skipNull {
				buf[p] = tagNull
				pos[i-lo] = p + 1
			}
			continue
		}
		p += copy(buf[p:], s.prefix)
		pos[i-lo] = p + len(enc(buf[p:p], i))
	}
}

func writeInts[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32](s *segment, vals []T, lo, hi int, buf []byte, pos []int) {
	for i := lo; i < hi; i++ {
		p := pos[i-lo]
		if !s.valid(i) {
			if !s.skipNull {
				buf[p] = tagNull
				pos[i-lo] = p + 1
			}
			continue
		}
		p += copy(buf[p:], s.prefix)
		buf[p] = tagInt
		binary.LittleEndian.PutUint64(buf[p+1:], uint64(int64(vals[i])))
		pos[i-lo] = p + 9
	}
}

func writeFloats[T float32 | float64](s *segment, vals []T, lo, hi int, buf []byte, pos []int) {
	for i := lo; i < hi; i++ {
		p := pos[i-lo]
		if !s.valid(i) {
			if !s.skipNull {
				buf[p] = tagNull
				pos[i-lo] = p + 1
			}
			continue
		}
		p += copy(buf[p:], s.prefix)
		pos[i-lo] = p + len(appendFloat(buf[p:p], float64(vals[i])))
	}
}

func writeStrings[A interface{ Value(int) string }](s *segment, a A, lo, hi int, buf []byte, pos []int) {
	for i := lo; i < hi; i++ {
		p := pos[i-lo]
		if !s.valid(i) {
			if !s.skipNull {
				buf[p] = tagNull
				pos[i-lo] = p + 1
			}
			continue
		}
		p += copy(buf[p:], s.prefix)
		v := a.Value(i)
		buf[p] = tagString
		p += 1 + binary.PutUvarint(buf[p+1:], uint64(len(v)))
		pos[i-lo] = p + copy(buf[p:], v)
	}
}
