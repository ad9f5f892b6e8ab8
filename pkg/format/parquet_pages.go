package format

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// Page decoding. Most Parquet files hold flat columns of a few physical
// types in two encodings: PLAIN, or a dictionary page with data pages of
// RLE/bit-packed indices into it. For such a column chunk the reader
// decodes the pages itself (arrow-go's page reader still reads, checks and
// decompresses them), straight into arrays of the target type: each
// dictionary value is decoded and converted once per column chunk, an index
// costs a lookup, and nothing is built up value by value. pagesColumn
// decides which column chunks qualify; the others go through pqarrow, and
// both give the same values (parquet_pages_test.go compares them).
//
// Qualifying: a top-level field that is a single leaf without repetition
// and with at most one definition level (required or optional), not
// encrypted, whose chunk lists no encodings but PLAIN, PLAIN_DICTIONARY,
// RLE_DICTIONARY and RLE (the levels), and whose Arrow type and target
// type are one of
//
//	int8…int32, uint8…uint32 (INT32), int64 (INT64) → int64 or float64
//	float32 (FLOAT), float64 (DOUBLE)               → float64
//	timestamp (INT64)                                → timestamp
//	string (BYTE_ARRAY)                              → string, or dictionary<int32, string>
//
// The values are converted as castColumn converts the Arrow arrays. A
// chunk whose data pages are all dictionary-encoded may also be given as a
// dictionary array of the target type: strings (dictionaryChunk), and
// int64 and float64 targets when the reader asks (numericDictionaryChunk).

// pageKind is the output a page column builds.
type pageKind int

const (
	pageInts    pageKind = iota // int64 values (int64 and timestamp targets)
	pageFloats                  // float64 values
	pageStrings                 // strings, or dictionary indices
)

// pageColumn decodes one column chunk of a row group, slice by slice.
type pageColumn struct {
	name     string
	limit    int64 // most bytes of one slice's strings (the chunk limit)
	kind     pageKind
	to       arrow.DataType // output type (the target, or a dictionary of it)
	dictMode bool           // give dictionary arrays (a dictionary-only chunk)
	phys     parquet.Type
	optional bool
	width    int // bytes of a PLAIN fixed-width value

	// conversions of a physical value (its bits, zero-extended) to the output
	toInt   func(uint64) int64
	toFloat func(uint64) float64
	// same says the conversion keeps the 8 bytes as they are (INT64 to
	// int64, DOUBLE to float64): values are copied without it.
	same bool

	// pr's current page holds the bytes vals, defs and idx read. Once the
	// data pages read hold the chunk's rows (rows), pr is closed and pool
	// told to keep the last page's buffer, kept (pagePool.keep): the
	// reader's other buffers go to the next column chunk's reader at once,
	// and that one once the column is done (release).
	pr      file.PageReader
	pool    *pagePool
	kept    []byte
	rows    int64 // the column chunk's rows
	seen    int64 // rows of the data pages read
	left    int   // values (rows) of the current page not yet read
	plain   bool  // the current page's values are PLAIN (else dictionary indices)
	defs    rleDecoder
	idx     rleDecoder
	vals    []byte // PLAIN values still to read in the current page
	hasDict bool

	dictInts   []int64
	dictFloats []float64
	dictStr    *array.String // the dictionary's values (strings)
	dictNum    arrow.Array   // the dictionary's values as an array (dictMode, numbers)

	// rowBytes is the string bytes a row is expected to hold, so that a
	// slice's string data is made at its size instead of grown by copying:
	// the chunk's uncompressed bytes per value less PLAIN's 4-byte length
	// at first, then what the slice before held.
	rowBytes float64

	// scratch
	levels  []uint32
	indices []uint32
}

// pagesColumn returns the page decoder of field i in row group g read as
// type to, or nil when the column chunk does not qualify. dict asks for a
// dictionary array, for a chunk that dictionaryChunk (strings) or
// numericDictionaryChunk (int64 and float64 targets) has found
// dictionary-only.
func (g *parquetRowGroup) pagesColumn(i int, to arrow.DataType, dict bool) (*pageColumn, error) {
	pf := g.file
	if !pf.pages || len(pf.leaves[i]) != 1 {
		return nil, nil
	}
	var leaf int
	for c := range pf.leaves[i] {
		leaf = c
	}
	descr := pf.meta.Schema.Column(leaf)
	field := pf.schema.Field(i)
	if p := descr.ColumnPath(); len(p) != 1 || p[0] != field.Name || descr.MaxRepetitionLevel() != 0 || descr.MaxDefinitionLevel() > 1 {
		return nil, nil
	}
	cc, err := pf.meta.RowGroup(g.idx).ColumnChunk(leaf)
	if err != nil {
		// Not ours to report: pqarrow reads this chunk and names the error.
		return nil, nil //nolint:nilerr // fall back to pqarrow, which reports it
	}
	if cc.CryptoMetadata() != nil {
		return nil, nil
	}
	for _, e := range cc.Encodings() {
		switch e {
		case parquet.Encodings.Plain, parquet.Encodings.PlainDict, parquet.Encodings.RLEDict, parquet.Encodings.RLE:
		default:
			return nil, nil
		}
	}
	pc := &pageColumn{name: field.Name, limit: pf.lim.chunk, to: to, phys: descr.PhysicalType(), optional: descr.MaxDefinitionLevel() == 1,
		pool: pf.pool, rows: g.rows}
	ft := field.Type
	switch {
	case pc.phys == parquet.Types.Int32 && to.ID() == arrow.INT64 || pc.phys == parquet.Types.Int32 && to.ID() == arrow.FLOAT64:
		pc.width = 4
		var conv func(uint64) int64
		switch ft.ID() {
		case arrow.INT8:
			conv = func(u uint64) int64 { return int64(int8(u)) }
		case arrow.INT16:
			conv = func(u uint64) int64 { return int64(int16(u)) }
		case arrow.INT32:
			conv = func(u uint64) int64 { return int64(int32(u)) }
		case arrow.UINT8:
			conv = func(u uint64) int64 { return int64(uint8(u)) }
		case arrow.UINT16:
			conv = func(u uint64) int64 { return int64(uint16(u)) }
		case arrow.UINT32:
			conv = func(u uint64) int64 { return int64(uint32(u)) }
		default:
			return nil, nil
		}
		pc.intsOrFloats(conv)
	case pc.phys == parquet.Types.Int64 && ft.ID() == arrow.INT64 && (to.ID() == arrow.INT64 || to.ID() == arrow.FLOAT64):
		pc.width = 8
		pc.intsOrFloats(func(u uint64) int64 { return int64(u) })
		pc.same = pc.kind == pageInts
	case pc.phys == parquet.Types.Int64 && ft.ID() == arrow.TIMESTAMP && to.ID() == arrow.TIMESTAMP:
		// The values must be in the unit the Arrow type says (a stored
		// Arrow schema may name another, which pqarrow converts to).
		lt, ok := descr.LogicalType().(schema.TimestampLogicalType)
		if !ok || map[schema.TimeUnitType]arrow.TimeUnit{schema.TimeUnitMillis: arrow.Millisecond,
			schema.TimeUnitMicros: arrow.Microsecond, schema.TimeUnitNanos: arrow.Nanosecond}[lt.TimeUnit()] != ft.(*arrow.TimestampType).Unit {
			return nil, nil
		}
		pc.width = 8
		mul, div := timestampScale(to)
		var conv func(uint64) int64
		switch ft.(*arrow.TimestampType).Unit {
		case arrow.Second:
			conv = func(u uint64) int64 { return int64(u) * 1e6 * mul / div }
		case arrow.Millisecond:
			conv = func(u uint64) int64 { return int64(u) * 1e3 * mul / div }
		case arrow.Nanosecond:
			conv = func(u uint64) int64 { return floorDiv(int64(u), 1e3) * mul / div }
		default:
			conv = func(u uint64) int64 { return int64(u) * mul / div }
		}
		pc.kind, pc.toInt = pageInts, conv
	case pc.phys == parquet.Types.Float && ft.ID() == arrow.FLOAT32 && to.ID() == arrow.FLOAT64:
		pc.width = 4
		pc.kind = pageFloats
		pc.toFloat = func(u uint64) float64 { return float64(math.Float32frombits(uint32(u))) }
	case pc.phys == parquet.Types.Double && ft.ID() == arrow.FLOAT64 && to.ID() == arrow.FLOAT64:
		pc.width = 8
		pc.kind = pageFloats
		pc.toFloat = math.Float64frombits
		pc.same = true
	case pc.phys == parquet.Types.ByteArray && ft.ID() == arrow.STRING && to.ID() == arrow.STRING:
		pc.kind = pageStrings
		if n := cc.NumValues(); n > 0 {
			pc.rowBytes = max(0, float64(cc.TotalUncompressedSize())/float64(n)-4)
		}
	default:
		return nil, nil
	}
	if dict && (pc.kind == pageStrings || to.ID() == arrow.INT64 || to.ID() == arrow.FLOAT64) {
		pc.dictMode = true
		pc.to = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: to}
	}
	pr, err := pf.pagesPR.RowGroup(g.idx).GetColumnPageReader(leaf)
	if err != nil {
		return nil, err
	}
	pc.pr = pr
	return pc, nil
}

// intsOrFloats sets the conversions of an integer column for its target.
func (pc *pageColumn) intsOrFloats(conv func(uint64) int64) {
	if pc.to.ID() == arrow.FLOAT64 {
		pc.kind = pageFloats
		pc.toFloat = func(u uint64) float64 { return float64(conv(u)) }
		return
	}
	pc.kind, pc.toInt = pageInts, conv
}

// release frees the page reader and the last page's buffer; the column is
// done.
func (pc *pageColumn) release() {
	if pc.pr != nil {
		pc.pr.Close()
		pc.pr = nil
	}
	if pc.kept != nil {
		pc.pool.reuse(pc.kept)
		pc.kept = nil
		pc.vals, pc.defs, pc.idx = nil, rleDecoder{}, rleDecoder{}
	}
	if pc.dictStr != nil {
		pc.dictStr.Release()
		pc.dictStr = nil
	}
	if pc.dictNum != nil {
		pc.dictNum.Release()
		pc.dictNum = nil
	}
	putScratch(pc.levels)
	putScratch(pc.indices)
	pc.levels, pc.indices = nil, nil
}

func (pc *pageColumn) errorf(format string, args ...any) error {
	return fmt.Errorf("column %q: "+format, append([]any{pc.name}, args...)...)
}

// nextPage moves to the next data page, reading the dictionary page on the
// way.
func (pc *pageColumn) nextPage() error {
	for {
		if pc.pr == nil {
			return pc.errorf("the column chunk ends before its rows do")
		}
		if !pc.pr.Next() {
			if err := pc.pr.Err(); err != nil {
				return err
			}
			return pc.errorf("the column chunk ends before its rows do")
		}
		switch p := pc.pr.Page().(type) {
		case *file.DictionaryPage:
			if pc.hasDict {
				return pc.errorf("the column chunk has a second dictionary page")
			}
			if err := pc.readDictionary(p); err != nil {
				return err
			}
			pc.hasDict = true
			continue
		case *file.DataPageV1:
			data := p.Data()
			n := int(p.NumValues())
			if pc.optional {
				if p.DefinitionLevelEncoding() != parquet.Encodings.RLE {
					return pc.errorf("definition levels encoded %s are not supported here", p.DefinitionLevelEncoding())
				}
				if len(data) < 4 {
					return pc.errorf("data page too short for its definition levels")
				}
				l := int(binary.LittleEndian.Uint32(data))
				if l < 0 || l > len(data)-4 {
					return pc.errorf("definition levels claim %d bytes of a %d-byte page", l, len(data)-4)
				}
				pc.defs = rleDecoder{data: data[4 : 4+l], width: 1}
				data = data[4+l:]
			}
			// Read everything needed from p first: closing the page reader
			// on the chunk's last page hands p back to arrow-go's page pool.
			enc := parquet.Encoding(p.Encoding())
			pc.lastPage(p.Data(), n)
			return pc.startValues(enc, data, n)
		case *file.DataPageV2:
			data := p.Data()
			n := int(p.NumValues())
			if int(p.NumRows()) != n || p.RepetitionLevelByteLen() != 0 {
				return pc.errorf("data page v2 has %d values in %d rows", n, p.NumRows())
			}
			l := int(p.DefinitionLevelByteLen())
			if l < 0 || l > len(data) {
				return pc.errorf("definition levels claim %d bytes of a %d-byte page", l, len(data))
			}
			if pc.optional {
				pc.defs = rleDecoder{data: data[:l], width: 1}
			}
			enc := parquet.Encoding(p.Encoding())
			pc.lastPage(p.Data(), n)
			return pc.startValues(enc, data[l:], n)
		default:
			continue
		}
	}
}

// lastPage closes the page reader once the data page just read, whose
// bytes are data, completes the chunk's rows. The page's bytes stay
// readable (the buffer pool keeps them); the page object does not: the
// reader's Close releases it to arrow-go's pool of page objects, which
// another reader or writer may take at once.
func (pc *pageColumn) lastPage(data []byte, n int) {
	pc.seen += int64(n)
	if pc.seen < pc.rows || pc.pool == nil {
		return
	}
	pc.pool.keep(data)
	pc.kept = data
	pc.pr.Close()
	pc.pr = nil
}

func (pc *pageColumn) startValues(enc parquet.Encoding, data []byte, n int) error {
	pc.left = n
	switch enc {
	case parquet.Encodings.Plain:
		if pc.dictMode {
			return pc.errorf("a data page is PLAIN-encoded though the chunk's metadata lists dictionary-encoded pages only")
		}
		pc.plain, pc.vals = true, data
	case parquet.Encodings.RLEDict, parquet.Encodings.PlainDict:
		if !pc.hasDict {
			return pc.errorf("a dictionary-encoded data page comes without a dictionary page")
		}
		if len(data) < 1 || data[0] > 32 {
			return pc.errorf("dictionary indices have a bad bit width")
		}
		pc.plain = false
		pc.idx = rleDecoder{data: data[1:], width: int(data[0])}
	default:
		return pc.errorf("data page encoding %s is not in the column chunk's metadata", enc)
	}
	return nil
}

// readDictionary decodes a dictionary page (PLAIN values) into the output's
// values, converted once.
func (pc *pageColumn) readDictionary(p *file.DictionaryPage) error {
	if e := parquet.Encoding(p.Encoding()); e != parquet.Encodings.Plain && e != parquet.Encodings.PlainDict {
		return pc.errorf("dictionary page encoding %s is not supported here", e)
	}
	data, n := p.Data(), int(p.NumValues())
	if pc.kind == pageStrings {
		offsets := make([]int32, n+1)
		size := 0
		for b, k := data, 0; k < n; k++ {
			if len(b) < 4 {
				return pc.errorf("dictionary page holds fewer values than its %d", n)
			}
			l := int(binary.LittleEndian.Uint32(b))
			if l < 0 || l > len(b)-4 {
				return pc.errorf("dictionary value %d claims %d bytes past the page's end", k, l)
			}
			size += l
			b = b[4+l:]
		}
		values := make([]byte, 0, size)
		for b, k := data, 0; k < n; k++ {
			l := int(binary.LittleEndian.Uint32(b))
			values = append(values, b[4:4+l]...)
			offsets[k+1] = int32(len(values))
			b = b[4+l:]
		}
		pc.dictStr = stringArray(offsets, values, validity{}).(*array.String)
		return nil
	}
	if n < 0 || len(data) < n*pc.width {
		return pc.errorf("dictionary page holds fewer values than its %d", n)
	}
	if pc.kind == pageInts {
		pc.dictInts = make([]int64, n)
		if pc.same {
			copyWords(pc.dictInts, data)
		} else {
			for k := range pc.dictInts {
				pc.dictInts[k] = pc.toInt(pc.raw(data, k))
			}
		}
		if pc.dictMode {
			pc.dictNum = int64Array(pc.to.(*arrow.DictionaryType).ValueType, pc.dictInts, validity{})
		}
		return nil
	}
	pc.dictFloats = make([]float64, n)
	if pc.same {
		copyWords(pc.dictFloats, data)
	} else {
		for k := range pc.dictFloats {
			pc.dictFloats[k] = pc.toFloat(pc.raw(data, k))
		}
	}
	if pc.dictMode {
		pc.dictNum = float64Array(pc.dictFloats, validity{})
	}
	return nil
}

// raw is PLAIN fixed-width value k of b.
func (pc *pageColumn) raw(b []byte, k int) uint64 {
	if pc.width == 4 {
		return uint64(binary.LittleEndian.Uint32(b[4*k:]))
	}
	return binary.LittleEndian.Uint64(b[8*k:])
}

// read decodes the next n rows.
func (pc *pageColumn) read(n int) (arrow.Array, error) {
	v := validity{}
	if pc.optional {
		v = newValidity(n)
	}
	var ints []int64
	var floats []float64
	var codes []int32
	var sb *stringsBuilder
	switch {
	case pc.dictMode:
		codes = make([]int32, n)
	case pc.kind == pageInts:
		ints = make([]int64, n)
	case pc.kind == pageFloats:
		floats = make([]float64, n)
	default:
		size := min(pc.rowBytes*float64(n)*1.0625+64, float64(max(pc.limit, 0)))
		sb = newStringsBuilder(n, int(size))
	}
	for at := 0; at < n; {
		if pc.left == 0 {
			if err := pc.nextPage(); err != nil {
				return nil, err
			}
			continue
		}
		m := min(n-at, pc.left)
		// Definition levels of the m rows, and the rows' values among them.
		present := m
		if pc.optional {
			pc.levels = grow(pc.levels, m)
			if err := pc.defs.decode(pc.levels[:m]); err != nil {
				return nil, pc.errorf("definition levels: %v", err)
			}
			present = 0
			for j, l := range pc.levels[:m] {
				if l > 1 {
					return nil, pc.errorf("definition level %d above the column's maximum of 1", l)
				}
				if l == 1 {
					v.set(at + j)
					present++
				}
			}
			v.nulls += m - present
		}
		// The values, then spread over the rows that are not null.
		var err error
		if pc.plain {
			err = pc.plainValues(at, m, present, ints, floats, sb)
		} else {
			err = pc.dictValues(at, m, present, ints, floats, codes, sb)
		}
		if err != nil {
			return nil, err
		}
		at += m
		pc.left -= m
	}
	switch {
	case ints != nil:
		return int64Array(pc.to, ints, v), nil
	case floats != nil:
		return float64Array(floats, v), nil
	case codes != nil:
		idx := makeArray(arrow.PrimitiveTypes.Int32, n, v, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(codes)))
		defer idx.Release()
		if pc.dictNum != nil {
			return array.NewDictionaryArray(pc.to, idx, pc.dictNum), nil
		}
		return array.NewDictionaryArray(pc.to, idx, pc.dictStr), nil
	}
	if n > 0 {
		pc.rowBytes = float64(len(sb.data)) / float64(n)
	}
	return sb.array()
}

// isSet reports whether row j of the m being read (from at) has a value.
func (pc *pageColumn) isSet(j int) bool { return !pc.optional || pc.levels[j] == 1 }

func (pc *pageColumn) dictValues(at, m, present int, ints []int64, floats []float64, codes []int32, sb *stringsBuilder) error {
	pc.indices = grow(pc.indices, present)
	idx := pc.indices[:present]
	if err := pc.idx.decode(idx); err != nil {
		return pc.errorf("dictionary indices: %v", err)
	}
	var levels []uint32 // nil: every row has a value
	if present < m {
		levels = pc.levels[:m]
	}
	var bad, size int
	switch {
	case codes != nil && pc.kind != pageStrings:
		// Indices into a numeric dictionary, kept as they are.
		size, bad = pc.dictNum.Len(), outOfRange(idx, pc.dictNum.Len())
	case pc.kind == pageInts:
		bad, size = gather(ints[at:at+m], pc.dictInts, idx, levels), len(pc.dictInts)
	case pc.kind == pageFloats:
		bad, size = gather(floats[at:at+m], pc.dictFloats, idx, levels), len(pc.dictFloats)
	default:
		size = pc.dictStr.Len()
		bad = outOfRange(idx, size)
	}
	if bad >= 0 {
		return pc.errorf("dictionary index %d out of range of %d values", bad, size)
	}
	if codes != nil {
		out := codes[at : at+m]
		k := 0
		for j := range out {
			if pc.isSet(j) {
				out[j] = int32(idx[k])
				k++
			}
		}
		return nil
	}
	if sb == nil {
		return nil
	}
	k := 0
	for j := range m {
		if pc.isSet(j) {
			sb.append(stringBytes(pc.dictStr.Value(int(idx[k]))))
			k++
			if int64(len(sb.data)) > pc.limit {
				panic(&allocLimit{size: int64(len(sb.data)), max: pc.limit})
			}
		} else {
			sb.appendNull()
		}
	}
	return nil
}

// outOfRange returns −1, or the first index of idx that is not below size.
func outOfRange(idx []uint32, size int) int {
	for _, x := range idx {
		if int(x) >= size {
			return int(x)
		}
	}
	return -1
}

// gather sets out[j] = dict[idx[k]] for the rows j that have a value (level
// 1; every row when levels is nil), k counting those rows. It returns −1,
// or the first index out of the dictionary's range.
func gather[T any](out, dict []T, idx, levels []uint32) int {
	if levels == nil {
		for j, x := range idx {
			if int(x) >= len(dict) {
				return int(x)
			}
			out[j] = dict[x]
		}
		return -1
	}
	k := 0
	for j, l := range levels {
		if l == 1 {
			x := idx[k]
			if int(x) >= len(dict) {
				return int(x)
			}
			out[j] = dict[x]
			k++
		}
	}
	return -1
}

func (pc *pageColumn) plainValues(at, m, present int, ints []int64, floats []float64, sb *stringsBuilder) error {
	if pc.kind == pageStrings {
		for j := range m {
			if !pc.isSet(j) {
				sb.appendNull()
				continue
			}
			if len(pc.vals) < 4 {
				return pc.errorf("data page holds fewer values than its rows")
			}
			l := int(binary.LittleEndian.Uint32(pc.vals))
			if l < 0 || l > len(pc.vals)-4 {
				return pc.errorf("a value claims %d bytes past the page's end", l)
			}
			sb.append(pc.vals[4 : 4+l])
			pc.vals = pc.vals[4+l:]
		}
		return nil
	}
	if len(pc.vals) < present*pc.width {
		return pc.errorf("data page holds fewer values than its rows")
	}
	switch {
	case pc.same && present == m && ints != nil:
		copyWords(ints[at:at+m], pc.vals)
	case pc.same && present == m:
		copyWords(floats[at:at+m], pc.vals)
	default:
		pc.plainSpread(at, m, ints, floats)
	}
	pc.vals = pc.vals[present*pc.width:]
	return nil
}

// copyWords sets dst to the first len(dst) little-endian 8-byte words of b.
func copyWords[T int64 | float64](dst []T, b []byte) {
	b = b[:8*len(dst)]
	for k := range dst {
		u := binary.LittleEndian.Uint64(b[8*k:])
		dst[k] = *(*T)(unsafe.Pointer(&u))
	}
}

// plainSpread converts the PLAIN values of the m rows from at, the rows
// that are not null.
func (pc *pageColumn) plainSpread(at, m int, ints []int64, floats []float64) {
	k := 0
	for j := range m {
		if !pc.isSet(j) {
			continue
		}
		u := pc.raw(pc.vals, k)
		k++
		if ints != nil {
			ints[at+j] = pc.toInt(u)
		} else {
			floats[at+j] = pc.toFloat(u)
		}
	}
}

// stringBytes is s's bytes, without a copy; they must not be changed.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// grow returns b, or a buffer of n values when b holds fewer; buffers come
// from scratchPool, to which release returns them.
func grow(b []uint32, n int) []uint32 {
	if cap(b) >= n {
		return b
	}
	putScratch(b)
	if p, ok := scratchPool.Get().(*[]uint32); ok && cap(*p) >= n {
		return (*p)[:cap(*p)]
	} else if ok {
		scratchPool.Put(p)
	}
	return make([]uint32, n)
}

// scratchPool holds the level and index buffers of finished page columns
// (one per column chunk otherwise, of a slice's rows each).
var scratchPool sync.Pool

func putScratch(b []uint32) {
	if cap(b) > 0 {
		scratchPool.Put(&b)
	}
}

// rleDecoder reads Parquet's RLE / bit-packing hybrid encoding of values of
// width bits: runs of one repeated value, and groups of 8 bit-packed values.
type rleDecoder struct {
	data  []byte
	width int
	rep   int    // values left in the current repeated run
	val   uint32 // its value
	bp    []byte // the current bit-packed run
	bpAt  int    // next value of it
	bpN   int    // values in it
}

var errRLEShort = errors.New("the encoded values end early")

// decode fills dst with the next len(dst) values.
func (d *rleDecoder) decode(dst []uint32) error {
	for len(dst) > 0 {
		switch {
		case d.rep > 0:
			k := min(d.rep, len(dst))
			v := d.val
			for j := range dst[:k] {
				dst[j] = v
			}
			d.rep -= k
			dst = dst[k:]
		case d.bpAt < d.bpN:
			k := min(d.bpN-d.bpAt, len(dst))
			unpack(d.bp, d.width, d.bpAt, dst[:k])
			d.bpAt += k
			dst = dst[k:]
		default:
			if err := d.header(); err != nil {
				return err
			}
		}
	}
	return nil
}

// header reads the next run's header.
func (d *rleDecoder) header() error {
	h, n := binary.Uvarint(d.data)
	if n <= 0 {
		return errRLEShort
	}
	d.data = d.data[n:]
	if h&1 == 0 {
		count := h >> 1
		nb := (d.width + 7) / 8
		if count > math.MaxInt32 || len(d.data) < nb {
			return errRLEShort
		}
		var v uint32
		for i := range nb {
			v |= uint32(d.data[i]) << (8 * i)
		}
		if d.width < 32 && v >= 1<<d.width {
			return fmt.Errorf("a repeated value %d is wider than %d bits", v, d.width)
		}
		d.rep, d.val = int(count), v
		d.data = d.data[nb:]
		return nil
	}
	groups := h >> 1
	if groups > math.MaxInt32/8 {
		return errRLEShort
	}
	nb := int(groups) * d.width
	// Writers may leave out the padding bytes of the last group.
	nb = min(nb, len(d.data))
	d.bp, d.bpAt = d.data[:nb], 0
	if d.width == 0 {
		d.bpN = int(groups) * 8
	} else {
		d.bpN = min(int(groups)*8, nb*8/d.width)
	}
	if d.bpN == 0 && groups > 0 {
		return errRLEShort
	}
	d.data = d.data[nb:]
	return nil
}

// unpack reads values from, from+1, … of width bits packed little-endian
// in b into dst.
func unpack(b []byte, width, from int, dst []uint32) {
	if width == 0 {
		clear(dst)
		return
	}
	mask := uint64(1)<<width - 1
	bit := from * width
	for i := range dst {
		off := bit >> 3
		var w uint64
		if off+8 <= len(b) {
			w = binary.LittleEndian.Uint64(b[off:])
		} else {
			var tmp [8]byte
			copy(tmp[:], b[off:])
			w = binary.LittleEndian.Uint64(tmp[:])
		}
		dst[i] = uint32(w >> (bit & 7) & mask)
		bit += width
	}
}
