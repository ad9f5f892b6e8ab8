package format

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Parquet reading. Chunks parses the footer once and cuts every row group
// into slices of up to ChunkRows rows; the chunks of one file share that
// footer and, per row group, one sequential reader per column. Decode of a
// chunk takes its slice of each column it needs from those readers: a
// reader that is ahead of the chunk has kept the slice for it, one that is
// behind reads up to it, keeping the slices it passes for the chunks that
// will ask for them. So every page is read and decompressed once, columns
// that are not asked for (DecodeColumns) are never read, and chunks of
// different row groups — or different columns of one row group — decode in
// parallel, while chunk boundaries depend only on the file and ChunkRows.
// A column reader decodes the pages itself when the column chunk is flat
// and of a common type and encoding (parquet_pages.go), through pqarrow
// otherwise; both give the same arrays.
// Infer reports the types of the file's Arrow schema mapped onto the types
// this package produces:
//
//	bool                                        → bool
//	int8…int64, uint8…uint64                    → int64 (uint64 above MaxInt64 is a Decode error)
//	float16, float32, float64, decimal          → float64
//	string, large_string, string_view, binary   → string (binary must be UTF-8)
//	dictionary<…>                               → as its value type
//	timestamp (any unit or zone), date32/64     → timestamp[us, UTC]
//	null                                        → null
//	anything else (time of day, lists, structs) → string: text, or JSON for nested values
//
// and Decode casts each column to the target schema. Null counts come from
// row-group statistics, attributed to the first chunk of each row group, so
// merged evidence of the whole file is exact when the file has them.

type parquetDecoder struct {
	in   Input
	rows int
	lim  limits
	// pqarrowOnly reads every column through pqarrow, never with the page
	// decoder (parquet_pages.go); tests compare the two.
	pqarrowOnly bool
}

// parquetSource is what the chunks of one file share: its footer, parsed
// once, and the Arrow reader over it.
type parquetSource struct {
	name  string
	lim   limits
	alloc memory.Allocator // bounded by the chunk limit
	pr    *file.Reader
	// pagesPR is pr for the page decoder (parquet_pages.go): the same
	// footer, with an allocator that recycles page buffers (pagePool).
	pagesPR *file.Reader
	pool    *pagePool // pagesPR's allocator; nil when pagesPR is pr
	fr      *pqarrow.FileReader
	meta    *metadata.FileMetaData
	schema  *arrow.Schema
	// leaves are the Parquet leaf columns of each top-level field.
	leaves []map[int]bool
	// pages is false when columns are read through pqarrow only.
	pages bool

	// dictFR reads the string fields that can be kept as dictionaries
	// (dictLeaf ≥ 0) as dictionary arrays; made on first use.
	dictOnce sync.Once
	dictFR   *pqarrow.FileReader
	dictErr  error
	dictLeaf []int
}

// parquetRowGroup is one row group being read: a sequential reader per
// column, made when a chunk first needs the column.
type parquetRowGroup struct {
	file   *parquetSource
	idx    int
	first  int64 // 0-based file row of the row group's first row
	rows   int64
	slice  int // rows per chunk
	slices int // chunks in the row group

	mu   sync.Mutex
	cols []*parquetColumn
	// dcols are the readers of the fields read as dictionaries, once
	// dchecked says whether the field's column chunk can be.
	dcols    []*parquetColumn
	dchecked []bool
}

// parquetColumn reads one column of a row group slice by slice, in order.
type parquetColumn struct {
	dict bool // a dictionary chunk: strings read with parquetSource.dictFR
	// numeric marks a numeric dictionary chunk, which only the page
	// decoder gives as a dictionary (pqarrow reads it as plain values).
	numeric bool
	mu      sync.Mutex
	rd      *pqarrow.ColumnReader
	// pages decodes the column chunk page by page when it qualifies
	// (parquet_pages.go), instead of rd; checked says whether it does.
	pages   *pageColumn
	checked bool
	next    int                 // the next slice to read
	ahead   map[int]arrow.Array // slices read for chunks that have not asked yet
	err     error
}

type parquetChunk struct {
	file  *parquetSource
	rg    *parquetRowGroup // nil for the empty chunk of a file without rows
	slice int              // index of the chunk within its row group
	nulls []int64
	known []bool
}

const parquetHint = "check that the file is a complete Parquet file, or set --format if it is not Parquet"

// parquetReadProps are the Arrow read settings: binary columns preallocate
// their data buffers from the column chunk's uncompressed size instead of
// growing (and clearing) them step by step.
var parquetReadProps = pqarrow.ArrowReadProperties{PreAllocBinaryData: true}

func (d *parquetDecoder) open() (*parquetSource, error) {
	if d.in.ReaderAt == nil {
		return nil, &Error{File: d.in.Name, Msg: "Parquet input needs random access (ReaderAt and Size)",
			Hint: "read Parquet from a local or spooled file"}
	}
	// Every buffer of the file's pages and arrays is bounded by the chunk
	// limit, and page headers by the footer (parquet_bounds.go).
	alloc := newBoundedAllocator(d.lim.chunk)
	props := parquet.NewReaderProperties(alloc)
	props.MaxCompressedPageSize = max(1, min(d.in.Size, d.lim.chunk))
	props.MaxUncompressedPageSize = d.lim.chunk
	props.BufferedStreamEnabled = true
	props.BufferSize = parquetStreamBuffer
	r, err := openParquetReader(d.in, file.WithReadProps(props))
	if err != nil {
		return nil, &Error{File: d.in.Name, Msg: fmt.Sprintf("not a Parquet file (bad magic/footer): %v", err), Hint: parquetHint}
	}
	props.MaxUncompressedPageSize = pageCap(r.MetaData(), d.lim.chunk)
	fr, err := pqarrow.NewFileReader(r, parquetReadProps, alloc)
	if err != nil {
		return nil, &Error{File: d.in.Name, Msg: fmt.Sprintf("cannot read the Parquet schema: %v", err), Hint: parquetHint}
	}
	sc, err := fr.Schema()
	if err != nil {
		return nil, &Error{File: d.in.Name, Msg: fmt.Sprintf("cannot read the Parquet schema: %v", err), Hint: parquetHint}
	}
	pf := &parquetSource{name: d.in.Name, lim: d.lim, alloc: alloc, pr: r, pagesPR: r, fr: fr, meta: r.MetaData(), schema: sc, leaves: make([]map[int]bool, sc.NumFields()), pages: !d.pqarrowOnly}
	if pf.pages && !r.MetaData().IsSetEncryptionAlgorithm() {
		// The page decoder's readers take their page buffers from a pool,
		// so that each column chunk does not allocate (and clear) its own:
		// the buffers of a row group's chunks serve the next row group's,
		// across garbage collections, for as long as the file is read.
		pf.pool = newPagePool(alloc)
		pp := parquet.NewReaderProperties(pf.pool)
		pp.MaxCompressedPageSize = props.MaxCompressedPageSize
		pp.MaxUncompressedPageSize = props.MaxUncompressedPageSize
		pp.BufferedStreamEnabled = props.BufferedStreamEnabled
		pp.BufferSize = props.BufferSize
		pr, err := file.NewParquetReader(io.NewSectionReader(d.in.ReaderAt, 0, d.in.Size), file.WithReadProps(pp), file.WithMetadata(r.MetaData()))
		if err != nil {
			return nil, &Error{File: d.in.Name, Msg: fmt.Sprintf("not a Parquet file (bad magic/footer): %v", err), Hint: parquetHint}
		}
		pf.pagesPR = pr
	}
	var walk func(f *pqarrow.SchemaField, into map[int]bool)
	walk = func(f *pqarrow.SchemaField, into map[int]bool) {
		if f.IsLeaf() {
			into[f.ColIndex] = true
		}
		for i := range f.Children {
			walk(&f.Children[i], into)
		}
	}
	for i := range fr.Manifest.Fields {
		if i < len(pf.leaves) {
			pf.leaves[i] = map[int]bool{}
			walk(&fr.Manifest.Fields[i], pf.leaves[i])
		}
	}
	return pf, nil
}

func (d *parquetDecoder) Chunks(ctx context.Context, emit func(*Chunk) error) error {
	pf, err := d.open()
	if err != nil {
		return err
	}
	meta, sc := pf.meta, pf.schema
	// Leaf column of each top-level field, for null counts from statistics;
	// nested fields have none that maps onto the field.
	leaf := make([]int, sc.NumFields())
	for i, f := range sc.Fields() {
		leaf[i] = -1
		for c := 0; c < meta.Schema.NumColumns(); c++ {
			if p := meta.Schema.Column(c).ColumnPath(); len(p) == 1 && p[0] == f.Name {
				leaf[i] = c
			}
		}
	}
	seq, row := 0, int64(0)
	for rg := 0; rg < meta.NumRowGroups(); rg++ {
		rgm := meta.RowGroup(rg)
		nulls, known := make([]int64, len(leaf)), make([]bool, len(leaf))
		for i, c := range leaf {
			if c < 0 {
				continue
			}
			cc, err := rgm.ColumnChunk(c)
			if err != nil {
				continue
			}
			if ok, _ := cc.StatsSet(); !ok {
				continue
			}
			if st, err := cc.Statistics(); err == nil && st != nil && st.HasNullCount() {
				nulls[i], known[i] = st.NullCount(), true
			}
		}
		n := rgm.NumRows()
		g := &parquetRowGroup{file: pf, idx: rg, first: row, rows: n, slice: d.rows,
			slices: int((n + int64(d.rows) - 1) / int64(d.rows)), cols: make([]*parquetColumn, sc.NumFields()),
			dcols: make([]*parquetColumn, sc.NumFields()), dchecked: make([]bool, sc.NumFields())}
		for k := 0; k < g.slices; k++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			pc := &parquetChunk{file: pf, rg: g, slice: k, nulls: make([]int64, len(leaf)), known: known}
			if k == 0 {
				copy(pc.nulls, nulls)
			}
			c := &Chunk{Seq: seq, FirstRow: row, Rows: g.sliceRows(k), payload: pc}
			if err := emit(c); err != nil {
				return err
			}
			seq++
			row += int64(c.Rows)
		}
	}
	if seq == 0 {
		known := make([]bool, len(leaf))
		for i := range known {
			known[i] = true
		}
		return emit(&Chunk{payload: &parquetChunk{file: pf, nulls: make([]int64, len(leaf)), known: known}})
	}
	return nil
}

func (g *parquetRowGroup) sliceRows(k int) int {
	return int(min(int64(g.slice), g.rows-int64(k)*int64(g.slice)))
}

// column returns the reader of field i; dict asks for the dictionary
// reader, which the field gets if its column chunk in this row group can be
// kept as a dictionary (dictionaryChunk for strings, numericDictionaryChunk
// for numbers), the plain one otherwise.
func (g *parquetRowGroup) column(i int, dict bool) *parquetColumn {
	g.mu.Lock()
	defer g.mu.Unlock()
	if dict && !g.dchecked[i] {
		g.dchecked[i] = true
		if g.file.schema.Field(i).Type.ID() == arrow.STRING {
			if g.file.dictionaryChunk(g.idx, i) {
				g.dcols[i] = &parquetColumn{dict: true}
			}
		} else if g.file.numericDictionaryChunk(g.idx, i) {
			g.dcols[i] = &parquetColumn{dict: true, numeric: true}
		}
	}
	if dict && g.dcols[i] != nil {
		return g.dcols[i]
	}
	if g.cols[i] == nil {
		g.cols[i] = &parquetColumn{}
	}
	return g.cols[i]
}

// Dictionaries. A string column that a row group stores dictionary-encoded
// — a small dictionary of distinct values and data pages of indices only —
// can be handed to readers that count values (profiles, drift) as a
// dictionary array: they count the indices and look each dictionary value
// up once, instead of copying and hashing every row's string.

// dictionaryLeaves returns the leaf column of each field that may be read
// as a dictionary (−1 for the others): utf8 strings that are a top-level
// leaf. The reader that reads them so is made with it.
func (pf *parquetSource) dictionaryLeaves() ([]int, *pqarrow.FileReader, error) {
	pf.dictOnce.Do(func() {
		pf.dictLeaf = make([]int, pf.schema.NumFields())
		props := parquetReadProps
		found := false
		for i, f := range pf.schema.Fields() {
			pf.dictLeaf[i] = -1
			if f.Type.ID() != arrow.STRING || len(pf.leaves[i]) != 1 {
				continue
			}
			for c := range pf.leaves[i] {
				if p := pf.meta.Schema.Column(c).ColumnPath(); len(p) == 1 && p[0] == f.Name &&
					pf.meta.Schema.Column(c).PhysicalType() == parquet.Types.ByteArray {
					pf.dictLeaf[i] = c
					props.SetReadDict(c, true)
					found = true
				}
			}
		}
		if found {
			pf.dictFR, pf.dictErr = pqarrow.NewFileReader(pf.pr, props, pf.alloc)
		}
	})
	return pf.dictLeaf, pf.dictFR, pf.dictErr
}

// dictionaryChunk reports whether field i of row group rg is read as a
// dictionary: a utf8 leaf whose column chunk has a dictionary page of
// distinct values, at most a quarter of the chunk's bytes, and only
// dictionary-encoded data pages (no fallback to plain values, which the
// dictionary reader would have to hash one by one). A chunk that fails a
// check is read as plain strings, with the same values.
func (pf *parquetSource) dictionaryChunk(rg, i int) bool {
	leaves, fr, err := pf.dictionaryLeaves()
	if err != nil || fr == nil || leaves[i] < 0 {
		return false
	}
	cc, err := pf.meta.RowGroup(rg).ColumnChunk(leaves[i])
	if err != nil || !cc.HasDictionaryPage() {
		return false
	}
	dictBytes := cc.DataPageOffset() - cc.DictionaryPageOffset()
	if dictBytes <= 0 || 4*dictBytes > cc.TotalCompressedSize() {
		return false
	}
	stats := cc.EncodingStats()
	data := 0
	for _, st := range stats {
		switch st.PageType.String() {
		case "DATA_PAGE", "DATA_PAGE_V2":
			if st.Encoding != parquet.Encodings.RLEDict && st.Encoding != parquet.Encodings.PlainDict {
				return false
			}
			data++
		}
	}
	return data > 0 && pf.distinctDictionary(rg, leaves[i])
}

// numericDictionaryChunk reports whether field i of row group rg, a number
// the page decoder reads, can be given as a dictionary of its values: a
// single leaf whose column chunk has a dictionary page and, by its encoding
// statistics, only dictionary-encoded data pages. Its dictionary is decoded
// by the page decoder, which keeps its values as they are (repeated ones
// included), so the indices need no further check here.
func (pf *parquetSource) numericDictionaryChunk(rg, i int) bool {
	if !pf.pages || len(pf.leaves[i]) != 1 {
		return false
	}
	switch pf.schema.Field(i).Type.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.FLOAT32, arrow.FLOAT64:
	default:
		return false
	}
	for c := range pf.leaves[i] {
		cc, err := pf.meta.RowGroup(rg).ColumnChunk(c)
		if err != nil || !cc.HasDictionaryPage() {
			return false
		}
		data := 0
		for _, st := range cc.EncodingStats() {
			switch st.PageType.String() {
			case "DATA_PAGE", "DATA_PAGE_V2":
				if st.Encoding != parquet.Encodings.RLEDict && st.Encoding != parquet.Encodings.PlainDict {
					return false
				}
				data++
			}
		}
		return data > 0
	}
	return false
}

// distinctDictionary reads the dictionary page of column c in row group rg
// and reports whether its values are distinct, as writers make them: the
// dictionary reader dedupes the values it is given, which would shift the
// indices after a repeated one.
func (pf *parquetSource) distinctDictionary(rg, c int) bool {
	pr, err := pf.pagesPR.RowGroup(rg).GetColumnPageReader(c)
	if err != nil {
		return false
	}
	defer pr.Close() // and the page it holds; its buffers go back to the pool
	if !pr.Next() {
		return false
	}
	page, ok := pr.Page().(*file.DictionaryPage)
	if !ok {
		return false
	}
	b, n := page.Data(), int(page.NumValues())
	seen := make(map[string]struct{}, n)
	for range n {
		if len(b) < 4 {
			return false
		}
		l := int(binary.LittleEndian.Uint32(b))
		if l < 0 || l > len(b)-4 {
			return false
		}
		seen[string(b[4:4+l])] = struct{}{}
		b = b[4+l:]
	}
	return len(seen) == n
}

// read returns slice k of field i; c.mu must be held. Slices before k that
// no chunk has taken yet are kept for their chunks.
//
// A panic of the reader (a refused allocation, or arrow-go on a corrupt
// page) becomes the column's error here, so that c.mu, held by the
// caller, is released and the chunks waiting for it get the error too.
func (g *parquetRowGroup) read(c *parquetColumn, i, k int, to arrow.DataType) (a arrow.Array, err error) {
	defer func() {
		if v := recover(); v != nil {
			// The reader stopped half way: its state is unknown, so it
			// is dropped without being released.
			c.rd, c.pages = nil, nil
			if al, ok := v.(*allocLimit); ok {
				c.err = g.allocError(i, k, al)
			} else {
				c.err = &Error{File: g.file.name, Row: g.firstRow(k), Column: g.file.schema.Field(i).Name,
					Msg: fmt.Sprintf("Parquet data is corrupt: the Parquet reader failed in row group %d: %v", g.idx, v), Hint: parquetHint}
			}
			a, err = nil, c.err
		}
	}()
	if a, ok := c.ahead[k]; ok {
		delete(c.ahead, k)
		return a, nil
	}
	if c.err != nil {
		return nil, c.err
	}
	fail := func(err error) (arrow.Array, error) {
		if pe := g.pageSizeError(i, k, err); pe != nil {
			c.err = pe
		} else {
			c.err = &Error{File: g.file.name, Msg: fmt.Sprintf("cannot read row group %d: %v", g.idx, err), Hint: parquetHint}
		}
		if c.rd != nil {
			c.rd.Release()
			c.rd = nil
		}
		if c.pages != nil {
			c.pages.release()
			c.pages = nil
		}
		return nil, c.err
	}
	if k < c.next {
		// Decoded before (callers normally decode a chunk once): read the
		// slice again on its own.
		a, err := g.reread(i, k)
		if err != nil {
			if pe := g.pageSizeError(i, k, err); pe != nil {
				return nil, pe
			}
			return nil, &Error{File: g.file.name, Msg: fmt.Sprintf("cannot read row group %d: %v", g.idx, err), Hint: parquetHint}
		}
		return a, nil
	}
	if !c.checked && c.next == 0 {
		c.checked = true
		if c.pages, err = g.pagesColumn(i, to, c.dict); err != nil {
			return fail(err)
		}
	}
	if c.pages != nil {
		return g.readPages(c, i, k)
	}
	if c.rd == nil {
		fr := g.file.fr
		if c.dict && !c.numeric {
			fr = g.file.dictFR
		}
		rd, err := fr.GetFieldReader(context.Background(), i, g.file.leaves[i], []int{g.idx})
		if err != nil {
			return fail(err)
		}
		if rd == nil {
			return fail(fmt.Errorf("field %d has no column to read", i))
		}
		c.rd = rd
	}
	for {
		n := g.sliceRows(c.next)
		ch, err := c.rd.NextBatch(int64(n))
		if err != nil {
			return fail(err)
		}
		a, err := singleArray(ch)
		ch.Release()
		if err != nil {
			return fail(err)
		}
		if a.Len() != n {
			a.Release()
			return fail(fmt.Errorf("read %d rows of column %q, expected %d", a.Len(), g.file.schema.Field(i).Name, n))
		}
		s := c.next
		c.next++
		if c.next == g.slices {
			c.rd.Release()
			c.rd = nil
		}
		if s == k {
			return a, nil
		}
		if c.ahead == nil {
			c.ahead = map[int]arrow.Array{}
		}
		c.ahead[s] = a
	}
}

// readPages is read for a column decoded by pagesColumn.
func (g *parquetRowGroup) readPages(c *parquetColumn, i, k int) (arrow.Array, error) {
	for {
		n := g.sliceRows(c.next)
		a, err := c.pages.read(n)
		if err != nil {
			if pe := g.pageSizeError(i, c.next, err); pe != nil {
				c.err = pe
			} else {
				c.err = &Error{File: g.file.name, Row: g.firstRow(c.next), Column: c.pages.name,
					Msg: fmt.Sprintf("cannot read row group %d: %v", g.idx, err), Hint: parquetHint}
			}
			c.pages.release()
			c.pages = nil
			return nil, c.err
		}
		s := c.next
		c.next++
		if c.next == g.slices {
			c.pages.release()
			c.pages = nil
		}
		if s == k {
			return a, nil
		}
		if c.ahead == nil {
			c.ahead = map[int]arrow.Array{}
		}
		c.ahead[s] = a
	}
}

// reread reads slice k of field i with a reader of its own.
func (g *parquetRowGroup) reread(i, k int) (arrow.Array, error) {
	leaves := make([]int, 0, len(g.file.leaves[i]))
	for l := range g.file.leaves[i] {
		leaves = append(leaves, l)
	}
	slices.Sort(leaves)
	rr, err := g.file.fr.GetRecordReader(context.Background(), leaves, []int{g.idx})
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	if err := rr.SeekToRow(int64(k) * int64(g.slice)); err != nil {
		return nil, err
	}
	n := g.sliceRows(k)
	var parts []arrow.Array
	defer func() { releaseAll(parts) }()
	got := 0
	for got < n && rr.Next() {
		rec := rr.RecordBatch()
		take := min(int(rec.NumRows()), n-got)
		parts = append(parts, array.NewSlice(rec.Column(0), 0, int64(take)))
		got += take
	}
	if err := rr.Err(); err != nil {
		return nil, err
	}
	if got != n {
		return nil, fmt.Errorf("read %d rows of column %q, expected %d", got, g.file.schema.Field(i).Name, n)
	}
	if len(parts) == 1 {
		parts[0].Retain()
		return parts[0], nil
	}
	return array.Concatenate(parts, memory.DefaultAllocator)
}

// singleArray joins the chunks of a column read into one array.
func singleArray(ch *arrow.Chunked) (arrow.Array, error) {
	switch len(ch.Chunks()) {
	case 0:
		return array.MakeArrayOfNull(memory.DefaultAllocator, ch.DataType(), 0), nil
	case 1:
		a := ch.Chunk(0)
		a.Retain()
		return a, nil
	}
	return array.Concatenate(ch.Chunks(), memory.DefaultAllocator)
}

func (d *parquetDecoder) payload(c *Chunk) (*parquetChunk, error) {
	pc, ok := c.payload.(*parquetChunk)
	if !ok {
		return nil, fmt.Errorf("%s: chunk %d was not made by this Parquet decoder", d.in.Name, c.Seq)
	}
	return pc, nil
}

func (d *parquetDecoder) Infer(c *Chunk) (*Evidence, error) {
	pc, err := d.payload(c)
	if err != nil {
		return nil, err
	}
	sc := pc.file.schema
	ev := &Evidence{init: true, file: d.in.Name, rows: int64(c.Rows), cols: make([]columnEvidence, sc.NumFields())}
	for i, f := range sc.Fields() {
		nulls := pc.nulls[i]
		if c.Rows == 0 {
			nulls = 0
		}
		ev.cols[i] = columnEvidence{name: f.Name, kinds: parquetKinds(f.Type), nulls: nulls, nullsKnown: pc.known[i], idx: int64(i)}
		if pc.known[i] && pc.slice == 0 && pc.rg != nil {
			// The first chunk of a row group carries the row group's counts,
			// so that merged evidence of the whole file is exact.
			ev.cols[i].values = pc.rg.rows - nulls
		}
	}
	return ev, nil
}

// parquetKinds maps an Arrow type of a Parquet file onto the inference
// lattice, which fixes the type that Schema reports.
func parquetKinds(t arrow.DataType) kindFlags {
	switch t.ID() {
	case arrow.NULL:
		return 0
	case arrow.BOOL:
		return kindBool
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return kindInt
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		return kindFloat
	case arrow.TIMESTAMP, arrow.DATE32, arrow.DATE64:
		return kindTime
	case arrow.DICTIONARY:
		return parquetKinds(t.(*arrow.DictionaryType).ValueType)
	}
	return kindString
}

func (d *parquetDecoder) Decode(c *Chunk, schema *arrow.Schema) (arrow.RecordBatch, error) {
	return d.DecodeColumns(c, schema, nil)
}

// DecodeColumns reads only the columns cols of the chunk (all when nil):
// the column chunks of the others are never read.
func (d *parquetDecoder) DecodeColumns(c *Chunk, schema *arrow.Schema, cols []int) (arrow.RecordBatch, error) {
	return d.decodeColumns(c, schema, cols, false, nil)
}

// DecodeDictionaries is DecodeColumns, keeping dictionary-encoded string
// column chunks as dictionaries (see dictionaryChunk) and reading no
// column that drops has dropped.
func (d *parquetDecoder) DecodeDictionaries(c *Chunk, schema *arrow.Schema, cols []int, drops *ColumnDrops) (arrow.RecordBatch, error) {
	return d.decodeColumns(c, schema, cols, true, drops)
}

func (d *parquetDecoder) decodeColumns(c *Chunk, schema *arrow.Schema, cols []int, dict bool, drops *ColumnDrops) (arrow.RecordBatch, error) {
	pc, err := d.payload(c)
	if err != nil {
		return nil, err
	}
	names := make([]string, pc.file.schema.NumFields())
	for i, f := range pc.file.schema.Fields() {
		names[i] = f.Name
	}
	if err := checkColumns(d.in.Name, names, schema); err != nil {
		return nil, err
	}
	out, cols, err := projection(schema, cols)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.in.Name, err)
	}
	arrs := make([]arrow.Array, len(cols))
	if c.Rows == 0 || pc.rg == nil {
		for j, i := range cols {
			arrs[j] = array.MakeArrayOfNull(memory.DefaultAllocator, schema.Field(i).Type, 0)
		}
		defer releaseAll(arrs)
		return array.NewRecordBatch(out, arrs, 0), nil
	}
	// Take each column's slice, first from the readers no other chunk is
	// using, then wait for the others.
	g := pc.rg
	var busy []int
	dropped := make([]bool, len(cols))
	// wantDict says whether a column of type t may come as a dictionary.
	wantDict := func(t arrow.DataType) bool {
		return dict && (t.ID() == arrow.STRING || drops.NumericDictionaries() && (t.ID() == arrow.INT64 || t.ID() == arrow.FLOAT64))
	}
	for j, i := range cols {
		if drops.Dropped(j) {
			dropped[j] = true
			arrs[j] = array.MakeArrayOfNull(memory.DefaultAllocator, schema.Field(i).Type, c.Rows)
			continue
		}
		col := g.column(i, wantDict(schema.Field(i).Type))
		if !col.mu.TryLock() {
			busy = append(busy, j)
			continue
		}
		arrs[j], err = g.read(col, i, pc.slice, schema.Field(i).Type)
		col.mu.Unlock()
		if err != nil {
			releaseAll(arrs)
			return nil, err
		}
	}
	for _, j := range busy {
		col := g.column(cols[j], wantDict(schema.Field(cols[j]).Type))
		col.mu.Lock()
		arrs[j], err = g.read(col, cols[j], pc.slice, schema.Field(cols[j]).Type)
		col.mu.Unlock()
		if err != nil {
			releaseAll(arrs)
			return nil, err
		}
	}
	defer releaseAll(arrs)
	res := make([]arrow.Array, len(cols))
	var fields []arrow.Field // the batch's fields when a column is a dictionary
	for j, i := range cols {
		f := schema.Field(i)
		if dropped[j] {
			arrs[j].Retain()
			res[j] = arrs[j]
			continue
		}
		if n := dictionaryBytes(arrs[j], d.lim.chunk); n > d.lim.chunk {
			releaseAll(res)
			return nil, &Error{File: d.in.Name, Row: c.FirstRow + 1, Column: f.Name,
				Msg:  fmt.Sprintf("row group %d: rows %d-%d of the column expand through their dictionary to %s, more than the limit of %s", g.idx, c.FirstRow+1, c.FirstRow+int64(c.Rows), byteSize(n), byteSize(d.lim.chunk)),
				Hint: "raise the limit with --max-chunk-bytes if the input is meant to be like this, or rewrite the file with smaller row groups"}
		}
		if da, ok := arrs[j].(*array.Dictionary); ok && wantDict(f.Type) &&
			da.Dictionary().DataType().ID() == f.Type.ID() && da.Dictionary().NullN() == 0 {
			da.Retain()
			res[j] = da
			if fields == nil {
				fields = slices.Clone(out.Fields())
			}
			fields[j].Type = da.DataType()
			continue
		}
		a, err := castColumn(arrs[j], f.Type)
		if err != nil {
			releaseAll(res)
			var ce *castError
			if errors.As(err, &ce) {
				return nil, &Error{File: d.in.Name, Row: c.FirstRow + int64(ce.row) + 1, Column: f.Name, Msg: ce.msg,
					Hint: "the schema was inferred from other data; infer it again with this file included"}
			}
			return nil, &Error{File: d.in.Name, Column: f.Name, Msg: err.Error()}
		}
		res[j] = a
	}
	defer releaseAll(res)
	if fields != nil {
		md := out.Metadata()
		out = arrow.NewSchema(fields, &md)
	}
	return array.NewRecordBatch(out, res, int64(c.Rows)), nil
}

// castError is a value that cannot be represented in the target type.
type castError struct {
	row int
	msg string
}

func (e *castError) Error() string { return fmt.Sprintf("row %d: %s", e.row, e.msg) }

type valuer[T any] interface {
	arrow.Array
	Value(int) T
}

func castInts[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64](a valuer[T], to arrow.DataType) (arrow.Array, error) {
	n := a.Len()
	v, vals := newValidity(n), make([]int64, n)
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			v.nulls++
			continue
		}
		x := a.Value(i)
		if uint64(x) > math.MaxInt64 && x > 0 {
			return nil, &castError{row: i, msg: fmt.Sprintf("value %d does not fit in int64", x)}
		}
		vals[i] = int64(x)
		v.set(i)
	}
	return int64Array(to, vals, v), nil
}

func castFloats[T any](a valuer[T], f func(T) float64) arrow.Array {
	n := a.Len()
	v, vals := newValidity(n), make([]float64, n)
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			v.nulls++
			continue
		}
		vals[i] = f(a.Value(i))
		v.set(i)
	}
	return float64Array(vals, v)
}

func castTimes[T ~int32 | ~int64](a valuer[T], to arrow.DataType, toUS func(int64) int64) arrow.Array {
	mul, div := timestampScale(to)
	n := a.Len()
	v, vals := newValidity(n), make([]int64, n)
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			v.nulls++
			continue
		}
		vals[i] = toUS(int64(a.Value(i))) * mul / div
		v.set(i)
	}
	return int64Array(to, vals, v)
}

// castColumn converts a column read from Parquet to a target type of this
// package (see the table at the top of the file).
func castColumn(a arrow.Array, to arrow.DataType) (arrow.Array, error) {
	from := a.DataType()
	if arrow.TypeEqual(from, to) {
		a.Retain()
		return a, nil
	}
	if from.ID() == arrow.NULL {
		return array.MakeArrayOfNull(memory.DefaultAllocator, to, a.Len()), nil
	}
	if dict, ok := a.(*array.Dictionary); ok {
		values, err := castColumn(dict.Dictionary(), to)
		if err != nil {
			return nil, err
		}
		defer values.Release()
		return takeDictionary(values, dict)
	}
	unsupported := func() (arrow.Array, error) {
		return nil, fmt.Errorf("cannot read Parquet type %s as %s", from, to)
	}
	switch to.ID() {
	case arrow.NULL:
		if a.NullN() != a.Len() {
			for i := 0; i < a.Len(); i++ {
				if a.IsValid(i) {
					return nil, &castError{row: i, msg: fmt.Sprintf("value in a column of type %s is not null", to)}
				}
			}
		}
		return array.NewNull(a.Len()), nil
	case arrow.INT64:
		switch a := a.(type) {
		case *array.Int8:
			return castInts[int8](a, to)
		case *array.Int16:
			return castInts[int16](a, to)
		case *array.Int32:
			return castInts[int32](a, to)
		case *array.Int64:
			return castInts[int64](a, to)
		case *array.Uint8:
			return castInts[uint8](a, to)
		case *array.Uint16:
			return castInts[uint16](a, to)
		case *array.Uint32:
			return castInts[uint32](a, to)
		case *array.Uint64:
			return castInts[uint64](a, to)
		}
	case arrow.FLOAT64:
		switch a := a.(type) {
		case *array.Int8:
			return castFloats[int8](a, func(x int8) float64 { return float64(x) }), nil
		case *array.Int16:
			return castFloats[int16](a, func(x int16) float64 { return float64(x) }), nil
		case *array.Int32:
			return castFloats[int32](a, func(x int32) float64 { return float64(x) }), nil
		case *array.Int64:
			return castFloats[int64](a, func(x int64) float64 { return float64(x) }), nil
		case *array.Uint8:
			return castFloats[uint8](a, func(x uint8) float64 { return float64(x) }), nil
		case *array.Uint16:
			return castFloats[uint16](a, func(x uint16) float64 { return float64(x) }), nil
		case *array.Uint32:
			return castFloats[uint32](a, func(x uint32) float64 { return float64(x) }), nil
		case *array.Uint64:
			return castFloats[uint64](a, func(x uint64) float64 { return float64(x) }), nil
		case *array.Float32:
			return castFloats[float32](a, func(x float32) float64 { return float64(x) }), nil
		case *array.Float16:
			n := a.Len()
			v, vals := newValidity(n), make([]float64, n)
			for i := 0; i < n; i++ {
				if a.IsNull(i) {
					v.nulls++
					continue
				}
				vals[i] = float64(a.Value(i).Float32())
				v.set(i)
			}
			return float64Array(vals, v), nil
		case *array.Decimal128:
			scale := from.(*arrow.Decimal128Type).Scale
			n := a.Len()
			v, vals := newValidity(n), make([]float64, n)
			for i := 0; i < n; i++ {
				if a.IsNull(i) {
					v.nulls++
					continue
				}
				vals[i] = a.Value(i).ToFloat64(scale)
				v.set(i)
			}
			return float64Array(vals, v), nil
		case *array.Decimal256:
			scale := from.(*arrow.Decimal256Type).Scale
			n := a.Len()
			v, vals := newValidity(n), make([]float64, n)
			for i := 0; i < n; i++ {
				if a.IsNull(i) {
					v.nulls++
					continue
				}
				vals[i] = a.Value(i).ToFloat64(scale)
				v.set(i)
			}
			return float64Array(vals, v), nil
		}
	case arrow.TIMESTAMP:
		switch a := a.(type) {
		case *array.Timestamp:
			var toUS func(int64) int64
			switch from.(*arrow.TimestampType).Unit {
			case arrow.Second:
				toUS = func(x int64) int64 { return x * 1e6 }
			case arrow.Millisecond:
				toUS = func(x int64) int64 { return x * 1e3 }
			case arrow.Nanosecond:
				toUS = func(x int64) int64 { return floorDiv(x, 1e3) }
			default:
				toUS = func(x int64) int64 { return x }
			}
			return castTimes[arrow.Timestamp](a, to, toUS), nil
		case *array.Date32:
			return castTimes[arrow.Date32](a, to, func(x int64) int64 { return x * 86400e6 }), nil
		case *array.Date64:
			return castTimes[arrow.Date64](a, to, func(x int64) int64 { return x * 1e3 }), nil
		}
	case arrow.STRING:
		return castToString(a)
	}
	return unsupported()
}

func floorDiv(x, d int64) int64 {
	q := x / d
	if (x%d != 0) && (x < 0) {
		q--
	}
	return q
}

// castToString renders any column as text: strings as they are (binary
// must be UTF-8), timestamps and dates in RFC 3339, nested values as JSON,
// everything else in Arrow's text form.
func castToString(a arrow.Array) (arrow.Array, error) {
	n := a.Len()
	var value func(i int) ([]byte, error)
	switch a := a.(type) {
	case *array.String:
		value = func(i int) ([]byte, error) { return []byte(a.Value(i)), nil }
	case *array.LargeString:
		value = func(i int) ([]byte, error) { return []byte(a.Value(i)), nil }
	case *array.StringView:
		value = func(i int) ([]byte, error) { return []byte(a.Value(i)), nil }
	case interface{ Value(int) []byte }:
		value = func(i int) ([]byte, error) {
			b := a.Value(i)
			if !utf8.Valid(b) {
				return nil, &castError{row: i, msg: "binary value is not UTF-8 text"}
			}
			return b, nil
		}
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		value = func(i int) ([]byte, error) {
			return a.Value(i).ToTime(unit).UTC().AppendFormat(nil, time.RFC3339Nano), nil
		}
	case *array.Date32:
		value = func(i int) ([]byte, error) { return a.Value(i).ToTime().UTC().AppendFormat(nil, "2006-01-02"), nil }
	case *array.Date64:
		value = func(i int) ([]byte, error) { return a.Value(i).ToTime().UTC().AppendFormat(nil, "2006-01-02"), nil }
	case array.ListLike, *array.Struct:
		value = func(i int) ([]byte, error) { return json.Marshal(a.GetOneForMarshal(i)) }
	default:
		value = func(i int) ([]byte, error) { return []byte(a.ValueStr(i)), nil }
	}
	vals := make([][]byte, n)
	size := 0
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			continue
		}
		b, err := value(i)
		if err != nil {
			return nil, err
		}
		vals[i] = b
		size += len(b)
	}
	sb := newStringsBuilder(n, size)
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			sb.appendNull()
		} else {
			sb.append(vals[i])
		}
	}
	return sb.array()
}

// takeDictionary expands dictionary indices over values already cast to the
// target type.
func takeDictionary(values arrow.Array, dict *array.Dictionary) (arrow.Array, error) {
	n := dict.Len()
	v := newValidity(n)
	valid := func(i int) (int, bool) {
		if dict.IsNull(i) || values.IsNull(dict.GetValueIndex(i)) {
			v.nulls++
			return 0, false
		}
		v.set(i)
		return dict.GetValueIndex(i), true
	}
	switch vs := values.(type) {
	case *array.Null:
		return array.NewNull(n), nil
	case *array.Boolean:
		bits := make([]byte, (n+7)/8)
		for i := 0; i < n; i++ {
			if k, ok := valid(i); ok && vs.Value(k) {
				bits[i>>3] |= 1 << uint(i&7)
			}
		}
		return boolArray(n, bits, v), nil
	case *array.Int64:
		vals := make([]int64, n)
		for i := 0; i < n; i++ {
			if k, ok := valid(i); ok {
				vals[i] = vs.Value(k)
			}
		}
		return int64Array(values.DataType(), vals, v), nil
	case *array.Timestamp:
		vals := make([]int64, n)
		for i := 0; i < n; i++ {
			if k, ok := valid(i); ok {
				vals[i] = int64(vs.Value(k))
			}
		}
		return int64Array(values.DataType(), vals, v), nil
	case *array.Float64:
		vals := make([]float64, n)
		for i := 0; i < n; i++ {
			if k, ok := valid(i); ok {
				vals[i] = vs.Value(k)
			}
		}
		return float64Array(vals, v), nil
	case *array.String:
		size := 0
		for i := 0; i < n; i++ {
			if dict.IsValid(i) {
				size += vs.ValueLen(dict.GetValueIndex(i))
			}
		}
		sb := newStringsBuilder(n, size)
		for i := 0; i < n; i++ {
			if dict.IsNull(i) || vs.IsNull(dict.GetValueIndex(i)) {
				sb.appendNull()
				continue
			}
			sb.append([]byte(vs.Value(dict.GetValueIndex(i))))
		}
		return sb.array()
	}
	return nil, fmt.Errorf("cannot expand a dictionary of %s", values.DataType())
}

// Footer is a Parquet file's footer, parsed once for the readers of the
// file that share it: the guard's check of the footer against the limits
// and the decoder's reader, and with Input.Footer any later decoder the
// caller gives the same Footer. It holds the file size it was parsed at: a
// file of another size is parsed again. A file replaced by another of the
// same size is the caller's to refuse before the next decoder reads it.
//
// pkg/dataset does not share footers between its passes: a dataset of
// thousands of small parts would keep every part's parsed footer (some
// 40 KB each) for its lifetime, which cost more memory and garbage
// collection than the second parse it saved.
type Footer struct {
	mu   sync.Mutex
	size int64
	meta *metadata.FileMetaData
}

// get returns the footer parsed at size, or nil.
func (f *Footer) get(size int64) *metadata.FileMetaData {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.meta == nil || f.size != size {
		return nil
	}
	return f.meta
}

func (f *Footer) put(size int64, meta *metadata.FileMetaData) {
	if f == nil || meta == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.size, f.meta = size, meta
}

// openParquetReader opens in's Parquet file, with the footer in.Footer
// holds for the file's size if it holds one (then nothing is read until a
// page is), else parsing it and keeping it there.
func openParquetReader(in Input, opts ...file.ReadOption) (*file.Reader, error) {
	m := in.Footer.get(in.Size)
	if m != nil {
		opts = append(opts, file.WithMetadata(m))
	}
	r, err := file.NewParquetReader(io.NewSectionReader(in.ReaderAt, 0, in.Size), opts...)
	if err == nil && m == nil && !r.MetaData().IsSetEncryptionAlgorithm() {
		// Encrypted files need the decryptor a parse makes: not kept.
		// WriterVersion is computed on first use: compute it now, so that
		// the readers sharing the footer only read it.
		r.MetaData().WriterVersion()
		in.Footer.put(in.Size, r.MetaData())
	}
	return r, err
}

// parquetStreamBuffer is the read buffer of a column chunk's stream: page
// headers are read through it, page bodies straight into the page reader's
// (reused) decompression buffer, so a column chunk is never copied whole
// into memory of its own.
const parquetStreamBuffer = 64 << 10
