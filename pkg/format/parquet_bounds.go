package format

import (
	"fmt"
	"math/bits"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// Bounding what a Parquet file can make the reader allocate. A file's
// bytes are small; what they claim, or expand to, need not be:
//
//   - the footer's column chunk sizes: checked against MaxChunkBytes and
//     MaxFileBytes, and against the file's size, before any page is read
//     (guarded.checkParquet);
//   - a page header's compressed and uncompressed sizes: a page may not
//     claim more than MaxChunkBytes, nor more than the largest column
//     chunk of the footer holds (pageCap); the reader checks the header
//     before it allocates the page's buffer;
//   - what pages decode to: a dictionary of a few large values referenced
//     by every row expands to rows × value bytes. Every buffer the reader
//     allocates for a file goes through boundedAllocator, which refuses one
//     larger than MaxChunkBytes before allocating it, and dictionary
//     columns that this package expands itself are measured first
//     (dictionaryBytes).
//
// Each refusal is an *Error naming the file, the row group, the column and
// the limit (or the corruption).

// boundedAllocator allocates through memory.DefaultAllocator and panics
// with *allocLimit instead of allocating a buffer larger than max.
// parquetRowGroup.read recovers it into an error.
type boundedAllocator struct {
	memory.Allocator
	max int64
}

// allocLimit is the panic value of a refused allocation.
type allocLimit struct {
	size, max int64
}

func newBoundedAllocator(max int64) *boundedAllocator {
	return &boundedAllocator{Allocator: memory.DefaultAllocator, max: max}
}

func (a *boundedAllocator) Allocate(size int) []byte {
	if int64(size) > a.max {
		panic(&allocLimit{size: int64(size), max: a.max})
	}
	return a.Allocator.Allocate(size)
}

func (a *boundedAllocator) Reallocate(size int, b []byte) []byte {
	if int64(size) > a.max {
		panic(&allocLimit{size: int64(size), max: a.max})
	}
	return a.Allocator.Reallocate(size, b)
}

// pageSlack is what a page may claim beyond the largest column chunk in
// the footer: old writers left the dictionary page header out of the
// totals (PARQUET-816).
const pageSlack = 1 << 20

// pageCap is the largest page body a file's pages may claim: the largest
// column chunk of its footer (compressed or not) plus pageSlack, and never
// more than the chunk limit. A footer without sizes leaves the limit.
func pageCap(meta *metadata.FileMetaData, chunk int64) int64 {
	var largest int64
	for rg := 0; rg < meta.NumRowGroups(); rg++ {
		rgm := meta.RowGroup(rg)
		for c := 0; c < rgm.NumColumns(); c++ {
			cc, err := rgm.ColumnChunk(c)
			if err != nil {
				continue
			}
			largest = max(largest, cc.TotalUncompressedSize(), cc.TotalCompressedSize())
		}
	}
	if largest <= 0 || largest > chunk-pageSlack {
		return chunk
	}
	return largest + pageSlack
}

// pageSizeRE matches the reader's refusal of a page header's size.
var pageSizeRE = regexp.MustCompile(`(compressed|uncompressed) page size (\d+) exceeds configured limit (\d+)`)

// pageSizeError rewrites the reader's refusal of a page header into an
// *Error naming the row group, the column and the limit; other errors give
// nil.
func (g *parquetRowGroup) pageSizeError(i, k int, err error) *Error {
	m := pageSizeRE.FindStringSubmatch(err.Error())
	if m == nil {
		return nil
	}
	claimed, _ := strconv.ParseInt(m[2], 10, 64)
	e := &Error{File: g.file.name, Row: g.firstRow(k), Column: g.file.schema.Field(i).Name}
	if claimed > g.file.lim.chunk {
		e.Msg = fmt.Sprintf("row group %d: a page claims %s %s, more than the limit of %s", g.idx, byteSize(claimed), m[1], byteSize(g.file.lim.chunk))
		e.Hint = "raise the limit with --max-chunk-bytes if the input is meant to be like this, or rewrite the file with smaller pages"
		return e
	}
	e.Msg = fmt.Sprintf("row group %d: a page claims %s %s, more than any column chunk of the file holds according to its footer; the file is corrupt", g.idx, byteSize(claimed), m[1])
	e.Hint = parquetHint
	return e
}

// allocError is the *Error of a refused allocation while reading slice k
// of field i.
func (g *parquetRowGroup) allocError(i, k int, al *allocLimit) *Error {
	first := g.firstRow(k)
	return &Error{File: g.file.name, Row: first, Column: g.file.schema.Field(i).Name,
		Msg: fmt.Sprintf("row group %d: rows %d-%d of the column need a buffer of %s, more than the limit of %s (the values expand far beyond the file, e.g. through a dictionary, or a page claims more than it holds)",
			g.idx, first, first+int64(g.sliceRows(k))-1, byteSize(al.size), byteSize(al.max)),
		Hint: "raise the limit with --max-chunk-bytes if the input is meant to be like this, or rewrite the file with smaller row groups"}
}

// firstRow is the 1-based file row of the first row of slice k.
func (g *parquetRowGroup) firstRow(k int) int64 {
	return g.first + int64(k)*int64(g.slice) + 1
}

// dictionaryBytes is how many value bytes a dictionary array of strings
// or binaries expands to, when that may be more than limit; 0 for other
// arrays, and for those whose rows times their longest dictionary value
// stay within limit (no need to add up every row's length).
func dictionaryBytes(a arrow.Array, limit int64) int64 {
	d, ok := a.(*array.Dictionary)
	if !ok {
		return 0
	}
	type lengths interface{ ValueLen(int) int }
	vs, ok := d.Dictionary().(lengths)
	if !ok {
		return 0
	}
	longest := 0
	for k := range d.Dictionary().Len() {
		longest = max(longest, vs.ValueLen(k))
	}
	if int64(d.Len())*int64(longest) <= limit {
		return 0
	}
	var n int64
	for i := 0; i < d.Len(); i++ {
		if d.IsValid(i) {
			n += int64(vs.ValueLen(d.GetValueIndex(i)))
		}
	}
	return n
}

// pagePool is the allocator of the page decoder's page readers: a
// boundedAllocator (the same limit, the same refusal) that keeps the
// buffers its readers free and hands them out again. A column chunk's
// reader holds three buffers (compressed page, dictionary page, data page)
// sized to its largest pages and frees them when the chunk is done; the
// readers of the next row group take them over instead of allocating and
// clearing fresh memory. Only page readers use it: they free a buffer once
// nothing points into it (the page decoder copies what it keeps), and a
// recycled buffer's old bytes are always overwritten before being read.
//
// The freed buffers are kept in lists by size class, up to pagePoolKeep
// bytes in all, for as long as the file is open: not in a sync.Pool, which
// every garbage collection empties (a scan collects every few tens of
// milliseconds, and each buffer lost so was allocated and its memory
// cleared again for the next row group).
//
// A page decoder may close its reader while it still reads the last data
// page (pageColumn.nextPage): it keeps that page's buffer first, and the
// pool then holds the buffer back when the reader frees it, until the
// decoder is done with the page (reuse).
type pagePool struct {
	*boundedAllocator

	mu        sync.Mutex
	free      [4 * pagePoolOctaves][][]byte // freed buffers by class
	freeBytes int                           // their capacity in all
	kept      []uintptr                     // addresses inside buffers that must not be reused yet
	held      [][]byte                      // buffers freed while kept
}

// pagePoolKeep bounds the bytes of the buffers a pool keeps for reuse: a
// file's readers at work hold a few buffers of about a page each, so more
// than this is the rest of an unusual peak, left to the garbage collector.
const pagePoolKeep = 64 << 20

// keep marks the buffer that holds b as still in use: when its reader
// frees it, it is not reused. A nil pool keeps nothing (its buffers are
// never reused).
func (a *pagePool) keep(b []byte) {
	if a == nil || cap(b) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.kept = append(a.kept, uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

// reuse undoes keep(b) once b is read: the buffer that holds b is handed
// out again, now if its reader has freed it, else once it does.
func (a *pagePool) reuse(b []byte) {
	if a == nil || cap(b) == 0 {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, h := range a.held {
		if lo := uintptr(unsafe.Pointer(unsafe.SliceData(h))); p >= lo && p < lo+uintptr(cap(h)) {
			a.held = slices.Delete(a.held, i, i+1)
			a.put(h)
			return
		}
	}
	if i := slices.Index(a.kept, p); i >= 0 {
		a.kept = slices.Delete(a.kept, i, i+1)
	}
}

// isKept reports whether b holds an address keep was given, forgetting it;
// a.mu is held.
func (a *pagePool) isKept(b []byte) bool {
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	for i, p := range a.kept {
		if p >= lo && p < lo+uintptr(cap(b)) {
			a.kept = slices.Delete(a.kept, i, i+1)
			return true
		}
	}
	return false
}

// Buffers of more than 2^pagePoolMin bytes are recycled, in four classes
// per power of two (a buffer is at most a quarter larger than asked for),
// up to 2^(pagePoolMin+pagePoolOctaves); others are allocated.
const (
	pagePoolMin     = 12
	pagePoolOctaves = 20
)

func newPagePool(a *boundedAllocator) *pagePool { return &pagePool{boundedAllocator: a} }

// pageClass returns the class of a buffer of size bytes and the capacity
// of that class's buffers; −1 for a size that is not pooled.
func pageClass(size int) (class, capacity int) {
	if size <= 1<<pagePoolMin {
		return -1, 0
	}
	e := bits.Len(uint(size-1)) - 1 // 2^e < size ≤ 2^(e+1)
	step := 1 << (e - 2)
	k := (size - 1<<e + step - 1) / step // 1 … 4 quarters above 2^e
	class = 4*(e-pagePoolMin) + k - 1
	if class >= 4*pagePoolOctaves {
		return -1, 0
	}
	return class, 1<<e + k*step
}

// pagePoolReach is how many classes above a request's own a kept buffer
// may come from (at most twice the size asked for), when its own class
// has none.
const pagePoolReach = 4

func (a *pagePool) Allocate(size int) []byte {
	if int64(size) > a.max {
		panic(&allocLimit{size: int64(size), max: a.max})
	}
	c, capacity := pageClass(size)
	if c < 0 {
		return a.boundedAllocator.Allocate(size)
	}
	a.mu.Lock()
	for k := c; k < min(c+pagePoolReach+1, len(a.free)); k++ {
		if n := len(a.free[k]); n > 0 {
			b := a.free[k][n-1]
			a.free[k][n-1] = nil
			a.free[k] = a.free[k][:n-1]
			a.freeBytes -= cap(b)
			a.mu.Unlock()
			return b[:size]
		}
	}
	a.mu.Unlock()
	return make([]byte, size, capacity)
}

func (a *pagePool) Reallocate(size int, b []byte) []byte {
	if int64(size) > a.max {
		panic(&allocLimit{size: int64(size), max: a.max})
	}
	if size <= cap(b) {
		return b[:size]
	}
	nb := a.Allocate(size)
	copy(nb, b)
	a.Free(b)
	return nb
}

// Free keeps b for reuse if it is one of the pool's buffers: at once, or
// when the page in it is read if it was kept (keep, reuse).
func (a *pagePool) Free(b []byte) {
	if c, capacity := pageClass(cap(b)); c < 0 || cap(b) != capacity {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.isKept(b) {
		a.held = append(a.held, b[:0])
		return
	}
	a.put(b)
}

// put adds b, a buffer of the pool's classes, to the free buffers while
// they stay within pagePoolKeep bytes; a.mu is held.
func (a *pagePool) put(b []byte) {
	if a.freeBytes+cap(b) > pagePoolKeep {
		return
	}
	c, _ := pageClass(cap(b))
	a.free[c] = append(a.free[c], b[:0])
	a.freeBytes += cap(b)
}
