package format

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// ParquetRowGroupRows is the most rows a written Parquet row group holds.
// Rows are buffered up to this count, so a writer holds one row group's
// encoded pages in memory. 128 Ki rows (DuckDB writes 122,880) keeps a
// build's memory flat as files grow — a build writes up to Stripes × splits
// parts at once — and on the benchmark table the files are no larger than
// with 1 Mi-row groups.
const ParquetRowGroupRows = 128 * 1024

// NewWriter returns a writer of one output file of the given kind. Compression
// "" is the default: snappy for Parquet, none for text (see CheckCompression).
//
// Output is deterministic: the same sequence of record batches gives the same
// bytes (no timestamps, host names or random ids are written), whatever the
// number of cores. Parquet files have statistics on, dictionary encoding on
// for repetitive text columns (see "How the Parquet writer encodes a file"),
// and row groups of up to ParquetRowGroupRows rows. CSV files have a header row, RFC 4180 quoting
// only where a field needs it, nulls as empty fields, floats in the
// shortest form that reads back to the same float64 (with ".0" added to
// whole numbers so that they read back as floats), and timestamps in RFC
// 3339. JSONL files have one object per line with keys in schema order,
// nulls as null; NaN and ±Inf, which JSON cannot hold, are written as null.
// Reading a CSV back gives null for an empty string and for a string equal
// to a null token.
func NewWriter(w io.Writer, schema *arrow.Schema, kind Kind, c Compression) (Writer, error) {
	if err := CheckCompression(kind, c); err != nil {
		return nil, err
	}
	if kind == Parquet {
		return newParquetWriter(w, schema, c)
	}
	return newTextWriter(w, schema, kind, c)
}

// How the Parquet writer encodes a file:
//
//   - A row group is written column after column, straight to the
//     destination, when it is full (or the file closes): until then the
//     writer keeps the batches' arrays (slices of them, no copy). Only one
//     column's encoder and page buffers exist at a time, instead of one per
//     column held until the row group ends, and no column chunk is staged
//     in a second in-memory copy before being written out. A build writes
//     several parts at once (Stripes × splits), which is where the cores
//     go; the bytes are the same as with columns encoded side by side.
//   - Dictionary encoding is chosen per text column from the data: the first
//     batch written decides. A column whose sample of up to dictSample
//     non-null values is more than half distinct (ids, free text, hashes)
//     is written plain: its dictionary would be nearly as large as the
//     values, and building one costs a hash-table insert per value until the
//     Parquet library gives up at the dictionary page limit. Other string
//     columns (categories, labels) are dictionary encoded, with the
//     dictionary built here as batches arrive (values in order of first
//     appearance; only the indices are kept until the row group ends) and
//     written as dictionary pages and index pages (writeDictArray), without
//     the library hashing every value again. Batches may bring a string
//     column as a dictionary array (see writable): each of its dictionary
//     values is looked up once per batch, and the file is the same as from
//     the plain strings. When a row group's dictionary
//     outgrows dictMaxBytes or half its values, the rest of the row group
//     goes through the library's own encoder, which falls back to plain
//     pages. Numbers and times are left to the page compressor.
//   - Data pages are about 128 KiB with snappy or no compression
//     (snappyPageBytes), and the library's 1 MiB with gzip and zstd.
//   - zstd runs at level 1 (zstdLevel).
//   - Row groups hold up to ParquetRowGroupRows rows.

// dictSample is how many values of a text column the writer looks at to
// decide on dictionary encoding.
const dictSample = 4096

// dictMaxBytes bounds a dictionary built for one column chunk: the Parquet
// library's default dictionary page limit.
const dictMaxBytes = 1 << 20

// snappyPageBytes is the data page size of snappy-compressed and
// uncompressed Parquet files. Snappy compresses in independent 64 KiB
// blocks, so a larger page compresses no better; but the Parquet library
// builds each page in buffers of the page's size (encoded values, the
// uncompressed page, the compressed page), allocated afresh for every column
// chunk. With 1 MiB pages those buffers were 30% of all the bytes a 1M-row
// Parquet → Parquet split allocated (400 MB); with 128 KiB pages they are
// 155 MB, reused from page to page and warm in cache, and on the benchmark
// table files grow by 0.4% (page headers and statistics), while the split
// takes about 10% less CPU time and 12% less memory. gzip and zstd find matches across the
// whole page, so they keep 1 MiB pages (128 KiB pages are 2.5% larger with
// zstd).
const snappyPageBytes = 128 << 10

// pageBytes is the data page size of the writer's codec.
func (p *parquetWriter) pageBytes() int64 {
	if p.codec == compress.Codecs.Snappy || p.codec == compress.Codecs.Uncompressed {
		return snappyPageBytes
	}
	return parquet.DefaultDataPageSize
}

// zstdLevel is the zstd level of Parquet pages: on the benchmark table
// level 1 writes files of the same size as the default level 3 in 40% less
// CPU time.
const zstdLevel = 1

// zstdWindow is the zstd window of Parquet page encoders. A page is
// compressed on its own (one frame per page, no history between pages), and
// pages are about a megabyte, so a window larger than the page changes
// nothing in the bytes written: offsets never reach past the page, and a
// frame no larger than the window is written as one segment whatever the
// window. The library's default window (8 MiB) only sizes each pooled
// encoder's history buffer, which the garbage collector then counts as
// live memory; 4 MiB with the library's lower-memory setting (which
// changes buffer sizes only) cuts that to a quarter. A page larger than
// 4 MiB (a single huge value) gets a frame with a window descriptor.
const zstdWindow = 4 << 20

// The Parquet library keeps its zstd page encoders in a sync.Pool, which
// every garbage collection empties; each new encoder then allocates its
// history buffers again, a few megabytes per page written after a
// collection. Encoders of the level this package writes stay in a pool of
// their own. The output is the same: an encoder starts every page from a
// clean state. The codec registry is global, so this applies to every
// Parquet file the process writes; reading is unchanged.
func init() {
	orig, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		return
	}
	compress.RegisterCodec(compress.Codecs.Zstd, zstdPages{Codec: orig, free: make(chan *zstd.Encoder, 4*runtime.GOMAXPROCS(0))})
}

type zstdPages struct {
	compress.Codec
	free chan *zstd.Encoder
}

func (z zstdPages) EncodeLevel(dst, src []byte, level int) []byte {
	if level != zstdLevel {
		return z.Codec.EncodeLevel(dst, src, level)
	}
	var enc *zstd.Encoder
	select {
	case enc = <-z.free:
	default:
		var err error
		enc, err = zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
			zstd.WithEncoderConcurrency(1), zstd.WithAllLitEntropyCompression(true),
			zstd.WithWindowSize(zstdWindow), zstd.WithLowerEncoderMem(true))
		if err != nil {
			return z.Codec.EncodeLevel(dst, src, level)
		}
	}
	out := enc.EncodeAll(src, dst[:0])
	select {
	case z.free <- enc:
	default:
	}
	return out
}

func (z zstdPages) DecodeWithError(dst, src []byte) ([]byte, error) {
	if ec, ok := z.Codec.(compress.ErrorCodec); ok {
		return ec.DecodeWithError(dst, src)
	}
	return z.Codec.Decode(dst, src), nil
}

func (z zstdPages) NewReader(r io.Reader) io.ReadCloser {
	return z.Codec.(compress.StreamingCodec).NewReader(r)
}

func (z zstdPages) NewWriter(w io.Writer) io.WriteCloser {
	return z.Codec.(compress.StreamingCodec).NewWriter(w)
}

func (z zstdPages) NewWriterLevel(w io.Writer, level int) (io.WriteCloser, error) {
	return z.Codec.(compress.StreamingCodec).NewWriterLevel(w, level)
}

// noClose hides the Close method of the destination: the Parquet library
// closes its sink, but Writer.Close must leave it open.
type noClose struct{ io.Writer }

type parquetWriter struct {
	w      io.Writer
	schema *arrow.Schema
	codec  compress.Compression
	level  int

	fw     *file.Writer    // created by the first Write, which chooses the encodings
	ctx    context.Context // pqarrow's scratch buffers; one column at a time
	rgRows int64           // rows of the open row group
	cols   []columnState
	closed bool
}

// columnState is what one column keeps between batches.
type columnState struct {
	nullable bool
	dict     bool       // dictionary encoded: values are indexed as they arrive
	ds       *dictState // dict: the row group's dictionary so far
	// pending are the open row group's arrays, in order: slices of the
	// batches written, or dictionary arrays of indexed values.
	pending []arrow.Array
}

// dictState is a string column's dictionary for the open row group, and the
// indices of the rows written so far (the strings themselves are not kept).
type dictState struct {
	at      map[string]int32
	vals    *array.StringBuilder
	size    int // bytes of the dictionary's values, as Parquet stores them
	values  int // non-null values indexed
	indices []arrow.Array
	// refs[k] are the distinct dictionary indices the rows of indices[k]
	// refer to, and after flushDict those of the column's pending arrays
	// (which start with the dictionary arrays): writeDictArray takes a
	// page's statistics from them.
	refs  [][]int32
	stamp []uint32 // stamp[k] == gen: value k is in the current batch's refs
	gen   uint32
	dense bool // too many distinct values: the rest of the row group goes plain
}

// levelPool holds definition-level buffers, shared by all writers so that
// there are about as many as columns being encoded at once.
var levelPool = sync.Pool{New: func() any { return new([]int16) }}

func newParquetWriter(w io.Writer, schema *arrow.Schema, c Compression) (Writer, error) {
	codec, level := compress.Codecs.Snappy, compress.DefaultCompressionLevel
	switch c {
	case None:
		codec = compress.Codecs.Uncompressed
	case Gzip:
		codec = compress.Codecs.Gzip
	case Zstd:
		codec, level = compress.Codecs.Zstd, zstdLevel
	}
	for _, f := range schema.Fields() {
		if isNested(f.Type) {
			return nil, fmt.Errorf("column %q has type %s, which Parquet output does not support; cast it to string first", f.Name, f.Type)
		}
	}
	p := &parquetWriter{w: w, schema: schema, codec: codec, level: level, cols: make([]columnState, schema.NumFields()),
		ctx: pqarrow.NewArrowWriteContext(context.Background(), nil)}
	for j, f := range schema.Fields() {
		p.cols[j] = columnState{nullable: f.Nullable}
	}
	return p, nil
}

func isNested(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.LIST_VIEW, arrow.LARGE_LIST_VIEW,
		arrow.STRUCT, arrow.MAP, arrow.SPARSE_UNION, arrow.DENSE_UNION, arrow.DICTIONARY, arrow.RUN_END_ENCODED, arrow.EXTENSION:
		return true
	}
	return false
}

// start creates the file, with dictionary encoding chosen from first (nil
// when the file gets no rows).
func (p *parquetWriter) start(first arrow.RecordBatch) error {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(p.codec),
		parquet.WithCompressionLevel(p.level),
		parquet.WithDictionaryDefault(false),
		parquet.WithStats(true),
		parquet.WithMaxRowGroupLength(ParquetRowGroupRows),
		parquet.WithDictionaryPageSizeLimit(dictMaxBytes),
		parquet.WithDataPageSize(p.pageBytes()),
	}
	for j, f := range p.schema.Fields() {
		if !isText(f.Type) {
			continue
		}
		if first == nil || repetitive(first.Column(j)) {
			opts = append(opts, parquet.WithDictionaryFor(f.Name, true))
			if f.Type.ID() == arrow.STRING {
				p.cols[j].dict, p.cols[j].ds = true, newDictState()
			}
		}
	}
	props := parquet.NewWriterProperties(opts...)
	sc, err := pqarrow.ToParquet(p.schema, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return fmt.Errorf("start Parquet file: %w", err)
	}
	// The Arrow schema is stored as other Arrow writers store it, so that
	// readers get back the exact types (time zones, large strings).
	var buf bytes.Buffer
	iw := ipc.NewWriter(&buf, ipc.WithSchema(p.schema), ipc.WithAllocator(memory.DefaultAllocator))
	if err := iw.Close(); err != nil {
		return fmt.Errorf("start Parquet file: %w", err)
	}
	meta := metadata.NewKeyValueMetadata()
	md := p.schema.Metadata()
	for i, k := range md.Keys() {
		if err := meta.Append(k, md.Values()[i]); err != nil {
			return fmt.Errorf("start Parquet file: %w", err)
		}
	}
	if err := meta.Append("ARROW:schema", base64.StdEncoding.EncodeToString(buf.Bytes())); err != nil {
		return fmt.Errorf("start Parquet file: %w", err)
	}
	fw, err := file.NewParquetWriterWithError(noClose{p.w}, sc.Root(), file.WithWriterProps(props), file.WithWriteMetadata(meta))
	if err != nil {
		return fmt.Errorf("start Parquet file: %w", err)
	}
	p.fw = fw
	return nil
}

// repetitive reports whether a text column repeats its values enough for a
// dictionary to pay: at most half of a sample of its non-null values are
// distinct.
func repetitive(col arrow.Array) bool {
	seen := make(map[string]struct{}, 256)
	n := 0
	for i := 0; i < col.Len() && n < dictSample; i++ {
		if col.IsNull(i) {
			continue
		}
		switch a := col.(type) {
		case *array.String:
			seen[a.Value(i)] = struct{}{}
		case *array.LargeString:
			seen[a.Value(i)] = struct{}{}
		case *array.Binary:
			seen[string(a.Value(i))] = struct{}{}
		case *array.LargeBinary:
			seen[string(a.Value(i))] = struct{}{}
		case *array.Dictionary:
			seen[a.ValueStr(i)] = struct{}{}
		default:
			return true
		}
		n++
	}
	return 2*len(seen) <= n
}

func (p *parquetWriter) Write(rec arrow.RecordBatch) error {
	if p.closed {
		return fmt.Errorf("write after close")
	}
	if !writable(rec.Schema(), p.schema) {
		return fmt.Errorf("record schema %s does not match the writer's schema %s", rec.Schema(), p.schema)
	}
	n := rec.NumRows()
	if n == 0 {
		return nil
	}
	if p.fw == nil {
		if err := p.start(rec); err != nil {
			return err
		}
	}
	for off := int64(0); off < n; {
		take := min(n-off, ParquetRowGroupRows-p.rgRows)
		// Other columns only keep a slice; indexing dictionary columns is
		// the work worth spreading over cores.
		var indexed []int
		for j := range p.cols {
			if st := &p.cols[j]; st.dict && !st.ds.dense {
				indexed = append(indexed, j)
			} else {
				p.keep(j, rec.Column(j), off, take)
			}
		}
		err := p.eachColumn(indexed, func(j int) error { return p.index(j, array.NewSlice(rec.Column(j), off, off+take)) })
		if err != nil {
			return fmt.Errorf("write Parquet rows: %w", err)
		}
		off += take
		p.rgRows += take
		if p.rgRows == ParquetRowGroupRows {
			if err := p.writeRowGroup(); err != nil {
				return err
			}
		}
	}
	return nil
}

// encodeHelpers bounds the goroutines that help writers index dictionary
// columns, across all writers: a build writes many parts at once, and
// helpers beyond the cores would only hold more buffers at the same time.
var encodeHelpers = make(chan struct{}, runtime.GOMAXPROCS(0))

// eachColumn runs fn for the columns js, on this goroutine and on as many
// helpers as are free, and returns the error of the first column that
// failed.
func (p *parquetWriter) eachColumn(js []int, fn func(j int) error) error {
	nc := len(js)
	errs := make([]error, nc)
	var next atomic.Int64
	work := func() {
		for {
			k := int(next.Add(1)) - 1
			if k >= nc {
				return
			}
			errs[k] = fn(js[k])
		}
	}
	var wg sync.WaitGroup
helpers:
	for range min(nc, runtime.GOMAXPROCS(0)) - 1 {
		select {
		case encodeHelpers <- struct{}{}:
			wg.Add(1)
			go func() {
				defer func() { <-encodeHelpers; wg.Done() }()
				work()
			}()
		default:
			break helpers
		}
	}
	work()
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			return fmt.Errorf("column %q: %w", p.schema.Field(js[k]).Name, err)
		}
	}
	return nil
}

// keep adds rows [off, off+n) of column j, not being indexed, to the open
// row group: a slice of the array, written when the row group is.
func (p *parquetWriter) keep(j int, arr arrow.Array, off, n int64) {
	if d, ok := arr.(*array.Dictionary); ok {
		sl := array.NewSlice(d, off, off+n)
		defer sl.Release()
		p.cols[j].pending = append(p.cols[j].pending, plainStrings(sl.(*array.Dictionary)))
		return
	}
	if off == 0 && n == int64(arr.Len()) {
		arr.Retain()
	} else {
		arr = array.NewSlice(arr, off, off+n)
	}
	p.cols[j].pending = append(p.cols[j].pending, arr)
}

// encode hands one array of column j to the column's writer.
func (p *parquetWriter) encode(cw file.ColumnChunkWriter, j int, arr arrow.Array) error {
	def, done := p.levels(j, arr)
	defer done()
	return pqarrow.WriteArrowToColumn(p.ctx, cw, arr, def, nil, p.cols[j].nullable)
}

// dictDirect turns writeDictArray on; tests turn it off to compare its
// files with the library's.
var dictDirect = true

// dictWriter is what writeDictArray uses of a column writer's dictionary
// encoder.
type dictWriter interface {
	Encoding() parquet.Encoding
	PutDictionary(arrow.Array) error
	NumEntries() int
	PreservedDictionary() arrow.Array
}

// writeDictArray writes a dictionary array of column j, whose rows refer to
// the dictionary values refs, as the Parquet library's own Arrow writer
// does — the dictionary given to the encoder with the first array, the page
// statistics updated from the values the rows refer to, then the indices —
// except that the library finds those values with a hash of every index
// (each array has a dictionary object of its own, which it cannot tell is
// the one it already holds), while the writer has known them since it
// indexed the rows. The bytes are the same. An encoder that is no longer
// dictionary encoding (the library gave up on the dictionary) gets the
// array through the library, which writes the strings.
func (p *parquetWriter) writeDictArray(cw file.ColumnChunkWriter, j int, arr *array.Dictionary, refs []int32) error {
	enc, ok := cw.CurrentEncoder().(dictWriter)
	if !ok || (enc.Encoding() != parquet.Encodings.RLEDict && enc.Encoding() != parquet.Encodings.PlainDict) {
		return p.encode(cw, j, arr)
	}
	dict := arr.Dictionary()
	if enc.PreservedDictionary() == nil {
		if err := enc.PutDictionary(dict); err != nil {
			return err
		}
		if enc.NumEntries() != dict.Len() {
			return fmt.Errorf("the row group's dictionary of %d values has %d distinct values", dict.Len(), enc.NumEntries())
		}
	} else if !array.Equal(enc.PreservedDictionary(), dict) {
		return fmt.Errorf("a row group's dictionary arrays do not share their dictionary")
	}
	def, done := p.levels(j, arr)
	defer done()
	if ps := cw.PageStatistics(); ps != nil {
		strs := dict.(*array.String)
		b := array.NewStringBuilder(memory.DefaultAllocator)
		defer b.Release()
		for _, k := range refs {
			b.Append(strs.Value(int(k)))
		}
		used := b.NewArray()
		defer used.Release()
		nonNull := arr.Len() - arr.NullN()
		ps.IncNulls(max(int64(len(def)-nonNull), 0))
		ps.IncNumValues(int64(nonNull))
		if err := ps.UpdateFromArrow(used, false); err != nil {
			return err
		}
	}
	return cw.WriteDictIndices(arr.Indices(), def, nil)
}

// levels returns the definition levels of arr, a slice of column j (nil
// for a required column), and a function that gives their buffer back.
func (p *parquetWriter) levels(j int, arr arrow.Array) ([]int16, func()) {
	var def []int16
	if p.cols[j].nullable {
		// Flat columns: definition level 1 for a value, 0 for a null.
		n := arr.Len()
		lv := levelPool.Get().(*[]int16)
		if cap(*lv) < n {
			*lv = make([]int16, n)
		}
		def = (*lv)[:n]
		if arr.NullN() == 0 {
			for i := range def {
				def[i] = 1
			}
		} else {
			for i := range def {
				if arr.IsValid(i) {
					def[i] = 1
				} else {
					def[i] = 0
				}
			}
		}
		return def, func() { levelPool.Put(lv) }
	}
	return nil, func() {}
}

// writeRowGroup writes the open row group out, column after column.
func (p *parquetWriter) writeRowGroup() error {
	rg, err := p.fw.AppendRowGroupChecked()
	if err == nil {
		for j := range p.cols {
			if err = p.writeColumn(rg, j); err != nil {
				err = fmt.Errorf("column %q: %w", p.schema.Field(j).Name, err)
				break
			}
		}
	}
	if err == nil {
		err = rg.Close()
	}
	p.release()
	p.rgRows = 0
	if err != nil {
		return fmt.Errorf("write Parquet rows: %w", err)
	}
	return nil
}

// writeColumn encodes column j's arrays of the open row group.
func (p *parquetWriter) writeColumn(rg file.SerialRowGroupWriter, j int) error {
	cw, err := rg.NextColumn()
	if err != nil {
		return err
	}
	st := &p.cols[j]
	if st.dict && !st.ds.dense {
		p.flushDict(j)
	}
	for k, arr := range st.pending {
		var err error
		if d, ok := arr.(*array.Dictionary); ok && st.dict && k < len(st.ds.refs) && dictDirect {
			err = p.writeDictArray(cw, j, d, st.ds.refs[k])
		} else {
			err = p.encode(cw, j, arr)
		}
		arr.Release()
		st.pending[k] = nil
		if err != nil {
			return err
		}
	}
	st.pending = st.pending[:0]
	return nil
}

// release drops what the open row group kept.
func (p *parquetWriter) release() {
	for j := range p.cols {
		st := &p.cols[j]
		for _, a := range st.pending {
			if a != nil {
				a.Release()
			}
		}
		st.pending = st.pending[:0]
		if st.dict {
			st.ds.reset()
		}
	}
}

func newDictState() *dictState {
	return &dictState{at: make(map[string]int32, 256), vals: array.NewStringBuilder(memory.DefaultAllocator)}
}

func (ds *dictState) reset() {
	for _, a := range ds.indices {
		a.Release()
	}
	ds.vals.Release()
	*ds = *newDictState()
}

// index adds a slice of a dictionary column to the row group's dictionary
// and keeps its indices. When the dictionary grows past dictMaxBytes, or
// past half the values once dictSample values have been seen, the indices
// so far become dictionary arrays and the rest of the row group goes to the
// Parquet library as plain strings (it falls back to plain pages).
func (p *parquetWriter) index(j int, part arrow.Array) error {
	defer part.Release()
	if d, ok := part.(*array.Dictionary); ok && d.Dictionary().NullN() > 0 {
		// A null in the dictionary stands for null rows: go by the strings.
		part = plainStrings(d)
		defer part.Release()
	}
	ds := p.cols[j].ds
	n := part.Len()
	buf := memory.NewResizableBuffer(memory.DefaultAllocator)
	defer buf.Release()
	buf.Resize(n * 4)
	idx := arrow.Int32Traits.CastFromBytes(buf.Bytes())
	var refs []int32
	switch a := part.(type) {
	case *array.String:
		ds.gen++
		for i := 0; i < n; i++ {
			if a.IsNull(i) {
				idx[i] = 0
				continue
			}
			k := ds.add(a.Value(i))
			if ds.stamp[k] != ds.gen {
				ds.stamp[k] = ds.gen
				refs = append(refs, k)
			}
			idx[i] = k
		}
	case *array.Dictionary:
		refs = ds.indexDictionary(a, idx)
	default:
		return fmt.Errorf("cannot index a %s array as strings", part.DataType())
	}
	a := part
	ds.values += n - a.NullN()
	var valid *memory.Buffer
	if a.NullN() > 0 {
		valid = memory.NewResizableBuffer(memory.DefaultAllocator)
		defer valid.Release()
		valid.Resize(int(bitutil.BytesForBits(int64(n))))
		bitutil.CopyBitmap(a.NullBitmapBytes(), a.Data().Offset(), n, valid.Bytes(), 0)
	}
	data := array.NewData(arrow.PrimitiveTypes.Int32, n, []*memory.Buffer{valid, buf}, nil, a.NullN(), 0)
	ds.indices = append(ds.indices, array.MakeFromData(data))
	ds.refs = append(ds.refs, refs)
	data.Release()
	if ds.size > dictMaxBytes || (ds.values >= dictSample && 2*len(ds.at) > ds.values) {
		ds.dense = true
		p.flushDict(j)
	}
	return nil
}

// add returns the index of v in the dictionary, adding it if it is new.
func (ds *dictState) add(v string) int32 {
	k, ok := ds.at[v]
	if !ok {
		k = int32(len(ds.at))
		ds.at[strings.Clone(v)] = k
		ds.vals.Append(v)
		ds.size += len(v) + 4
		ds.stamp = append(ds.stamp, 0)
	}
	return k
}

// indexDictionary sets idx to the row group dictionary's indices of the
// rows of a, a dictionary array of strings (see writable). Each value of
// a's dictionary is looked up once, when a row first refers to it, so
// values enter the row group's dictionary in order of first appearance, as
// they do from plain strings: the file is the same whichever form the rows
// came in. Batches may carry different dictionaries (a reader gives each
// row group of its input its own); the mapping is per batch.
//
// It returns the distinct row group dictionary indices the rows refer to.
func (ds *dictState) indexDictionary(a *array.Dictionary, idx []int32) []int32 {
	dict := a.Dictionary().(*array.String)
	codes := a.Indices().(*array.Int32).Int32Values()
	remap := make([]int32, dict.Len())
	for k := range remap {
		remap[k] = -1
	}
	for i, c := range codes {
		if a.IsNull(i) {
			idx[i] = 0
			continue
		}
		k := remap[c]
		if k < 0 {
			k = ds.add(dict.Value(int(c)))
			remap[c] = k
		}
		idx[i] = k
	}
	var refs []int32
	for _, k := range remap {
		if k >= 0 {
			refs = append(refs, k)
		}
	}
	return refs
}

// writable reports whether batches of schema got can be written to a file
// of schema want: the same fields, except that a string column may come as
// a dictionary<int32, string> array whose dictionary holds no nulls (as
// format.DictionaryDecoder gives them). Its values are written as the
// strings they stand for, exactly as if they had come plain.
func writable(got, want *arrow.Schema) bool {
	if got.Equal(want) {
		return true
	}
	if got.NumFields() != want.NumFields() {
		return false
	}
	for i, w := range want.Fields() {
		g := got.Field(i)
		if g.Name != w.Name || g.Nullable != w.Nullable {
			return false
		}
		if !arrow.TypeEqual(g.Type, w.Type) && !(w.Type.ID() == arrow.STRING && isStringDictionary(g.Type)) {
			return false
		}
	}
	return true
}

func isStringDictionary(t arrow.DataType) bool {
	d, ok := t.(*arrow.DictionaryType)
	return ok && d.IndexType.ID() == arrow.INT32 && d.ValueType.ID() == arrow.STRING
}

// PlainStrings returns a as plain strings when it is a dictionary array of
// strings (with int32 indices), and a itself (retained) otherwise. Callers
// release the result.
func PlainStrings(a arrow.Array) arrow.Array {
	if d, ok := a.(*array.Dictionary); ok && isStringDictionary(d.DataType()) {
		return plainStrings(d)
	}
	a.Retain()
	return a
}

// plainStrings returns the strings a dictionary array of strings stands for.
func plainStrings(a *array.Dictionary) arrow.Array {
	dict := a.Dictionary().(*array.String)
	codes := a.Indices().(*array.Int32).Int32Values()
	size := 0
	for i, c := range codes {
		if a.IsValid(i) && dict.IsValid(int(c)) {
			size += dict.ValueLen(int(c))
		}
	}
	b := newStringsBuilder(len(codes), size)
	offs, data := dict.ValueOffsets(), dict.ValueBytes()
	for i, c := range codes {
		if a.IsNull(i) || dict.IsNull(int(c)) {
			b.appendNull()
			continue
		}
		b.append(data[offs[c]-offs[0] : offs[c+1]-offs[0]])
	}
	return stringArray(b.offsets, b.data, b.v)
}

// flushDict turns the indices kept for column j into dictionary arrays,
// pending for the row group's write.
func (p *parquetWriter) flushDict(j int) {
	ds := p.cols[j].ds
	dict := ds.vals.NewArray()
	defer dict.Release()
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	for k, ix := range ds.indices {
		p.cols[j].pending = append(p.cols[j].pending, array.NewDictionaryArray(dt, ix, dict))
		ix.Release()
		ds.indices[k] = nil
	}
	ds.indices = ds.indices[:0]
}

func (p *parquetWriter) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	if p.fw == nil {
		if err := p.start(nil); err != nil {
			return err
		}
	}
	if p.rgRows > 0 {
		if err := p.writeRowGroup(); err != nil {
			return err
		}
	}
	if err := p.fw.Close(); err != nil {
		return fmt.Errorf("finish Parquet file: %w", err)
	}
	return nil
}

// textWriter writes CSV or JSONL through an optional compressor.
type textWriter struct {
	kind   Kind
	schema *arrow.Schema
	bw     *bufio.Writer
	comp   io.WriteCloser // nil when uncompressed
	keys   [][]byte       // JSONL: `"name":` per column
	buf    []byte
	closed bool
}

func newTextWriter(w io.Writer, schema *arrow.Schema, kind Kind, c Compression) (*textWriter, error) {
	t := &textWriter{kind: kind, schema: schema}
	dst := w
	switch c {
	case Gzip:
		t.comp = gzip.NewWriter(w)
	case Zstd:
		// One encoder goroutine keeps the output independent of scheduling.
		zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("start zstd stream: %w", err)
		}
		t.comp = zw
	}
	if t.comp != nil {
		dst = t.comp
	}
	t.bw = bufio.NewWriterSize(dst, 1<<20)
	for _, f := range schema.Fields() {
		if err := checkTextType(f); err != nil {
			return nil, err
		}
	}
	switch kind {
	case CSV:
		b := t.buf[:0]
		for i, f := range schema.Fields() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCSVField(b, f.Name)
		}
		b = append(b, '\n')
		if _, err := t.bw.Write(b); err != nil {
			return nil, fmt.Errorf("write CSV header: %w", err)
		}
		t.buf = b
	case JSONL:
		for _, f := range schema.Fields() {
			k := appendJSONString(nil, f.Name)
			t.keys = append(t.keys, append(k, ':'))
		}
	}
	return t, nil
}

func checkTextType(f arrow.Field) error {
	switch f.Type.ID() {
	case arrow.NULL, arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64,
		arrow.STRING, arrow.LARGE_STRING, arrow.TIMESTAMP, arrow.DATE32:
		return nil
	}
	return fmt.Errorf("column %q has type %s, which text output does not support; cast it to string first", f.Name, f.Type)
}

func (t *textWriter) Write(rec arrow.RecordBatch) error {
	if t.closed {
		return fmt.Errorf("write after close")
	}
	if !rec.Schema().Equal(t.schema) {
		return fmt.Errorf("record schema %s does not match the writer's schema %s", rec.Schema(), t.schema)
	}
	cols := rec.Columns()
	n := int(rec.NumRows())
	for r := 0; r < n; r++ {
		b := t.buf[:0]
		if t.kind == JSONL {
			b = append(b, '{')
		}
		for j, col := range cols {
			if j > 0 {
				b = append(b, ',')
			}
			if t.kind == JSONL {
				b = append(b, t.keys[j]...)
				b = appendJSONValue(b, col, r)
			} else {
				b = appendCSVValue(b, col, r)
			}
		}
		if t.kind == JSONL {
			b = append(b, '}')
		}
		b = append(b, '\n')
		if _, err := t.bw.Write(b); err != nil {
			return fmt.Errorf("write %s rows: %w", t.kind, err)
		}
		t.buf = b
	}
	return nil
}

func (t *textWriter) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	if err := t.bw.Flush(); err != nil {
		return fmt.Errorf("flush %s output: %w", t.kind, err)
	}
	if t.comp != nil {
		if err := t.comp.Close(); err != nil {
			return fmt.Errorf("finish compressed %s output: %w", t.kind, err)
		}
	}
	return nil
}

func appendCSVValue(b []byte, col arrow.Array, r int) []byte {
	if col.IsNull(r) || col.DataType().ID() == arrow.NULL {
		return b
	}
	switch a := col.(type) {
	case *array.String:
		return appendCSVField(b, a.Value(r))
	case *array.LargeString:
		return appendCSVField(b, a.Value(r))
	}
	return appendScalar(b, col, r)
}

// appendScalar formats the non-string types the same way for CSV and JSONL.
func appendScalar(b []byte, col arrow.Array, r int) []byte {
	switch a := col.(type) {
	case *array.Boolean:
		return strconv.AppendBool(b, a.Value(r))
	case *array.Int8:
		return strconv.AppendInt(b, int64(a.Value(r)), 10)
	case *array.Int16:
		return strconv.AppendInt(b, int64(a.Value(r)), 10)
	case *array.Int32:
		return strconv.AppendInt(b, int64(a.Value(r)), 10)
	case *array.Int64:
		return strconv.AppendInt(b, a.Value(r), 10)
	case *array.Uint8:
		return strconv.AppendUint(b, uint64(a.Value(r)), 10)
	case *array.Uint16:
		return strconv.AppendUint(b, uint64(a.Value(r)), 10)
	case *array.Uint32:
		return strconv.AppendUint(b, uint64(a.Value(r)), 10)
	case *array.Uint64:
		return strconv.AppendUint(b, a.Value(r), 10)
	case *array.Float32:
		return appendFloat(b, float64(a.Value(r)), 32)
	case *array.Float64:
		return appendFloat(b, a.Value(r), 64)
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(r).ToTime(unit).UTC().AppendFormat(b, time.RFC3339Nano)
	case *array.Date32:
		return a.Value(r).ToTime().UTC().AppendFormat(b, "2006-01-02")
	}
	return append(b, col.ValueStr(r)...)
}

// appendFloat writes the shortest text that parses back to the same value,
// and keeps whole numbers recognisable as floats ("3.0", not "3").
func appendFloat(b []byte, f float64, bits int) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, bits)
	for _, c := range b[start:] {
		if c != '-' && (c < '0' || c > '9') {
			return b
		}
	}
	return append(b, ".0"...)
}

// appendCSVField quotes a field only when RFC 4180 requires it.
func appendCSVField(b []byte, s string) []byte {
	needs := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			needs = true
			break
		}
	}
	if !needs {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

func appendJSONValue(b []byte, col arrow.Array, r int) []byte {
	if col.IsNull(r) || col.DataType().ID() == arrow.NULL {
		return append(b, "null"...)
	}
	switch a := col.(type) {
	case *array.String:
		return appendJSONString(b, a.Value(r))
	case *array.LargeString:
		return appendJSONString(b, a.Value(r))
	case *array.Float32:
		if f := float64(a.Value(r)); math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...)
		}
	case *array.Float64:
		if f := a.Value(r); math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...)
		}
	case *array.Timestamp, *array.Date32:
		b = append(b, '"')
		b = appendScalar(b, col, r)
		return append(b, '"')
	}
	return appendScalar(b, col, r)
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func isText(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW, arrow.BINARY, arrow.LARGE_BINARY, arrow.DICTIONARY:
		return true
	}
	return false
}
