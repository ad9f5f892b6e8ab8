package format

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"math/bits"
	"sync/atomic"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// CSV reading follows RFC 4180: fields may be quoted, a quote inside a quoted
// field is doubled, quoted fields may hold delimiters and newlines, records
// end in LF or CRLF, and the first record is the header. Beyond the RFC:
// blank lines are skipped (but counted in line numbers), a UTF-8 byte order
// mark is dropped, and a quoted CRLF inside a field is kept as it is.
// Null tokens apply to the field's text after unquoting, as in pandas, so
// "NA" and "" are null whether quoted or not.

type csvDecoder struct {
	in    Input
	comp  Compression
	delim byte
	rows  int
	nulls *nullSet
	ts    bool
	hash  hash.Hash             // Options.Hash
	index atomic.Pointer[Index] // chunks of the last complete Chunks pass
	lim   limits
}

type csvHeader struct {
	names []string
	line  int64
}

// textChunk is the payload of a CSV or JSONL chunk: whole records, never
// modified once handed out, so Infer and Decode may run on it concurrently.
type textChunk struct {
	// perChunk is the records per chunk of the pass that cut the chunk,
	// when offset is a byte offset in the file (no compression) and the
	// chunk can start a range (see CutOf); else 0.
	perChunk int

	data   []byte
	offset int64 // of data[0] in the (decompressed) stream
	header *csvHeader
	// buf holds data's memory while held is set: releasing the chunk
	// (Release, or the end of Decode of a replayed chunk) drops it, so
	// that later chunks are read into it, and a later Infer or Decode of
	// the chunk fails instead of reading reused memory.
	buf  *textBuf
	held atomic.Bool
	// replayed: the chunk comes from Replay, whose chunks are decoded
	// once; Decode releases it when done.
	replayed bool
}

func (tc *textChunk) release() {
	if tc.held.Swap(false) {
		tc.data = nil
		tc.buf.drop()
	}
}

// Release ends the use of a chunk: neither Infer nor Decode will be called
// on it again. The memory of a CSV chunk then holds chunks read after it,
// instead of fresh memory that the kernel hands out and clears a page at a
// time; a released chunk read anyway fails rather than read reused memory.
// Chunks of other formats are left to the garbage collector. Releasing is
// optional, and a replayed chunk (see Replayer) is released by its Decode.
func Release(c *Chunk) {
	if tc, ok := c.payload.(*textChunk); ok {
		tc.release()
	}
}

func (d *csvDecoder) Chunks(ctx context.Context, emit func(*Chunk) error) (err error) {
	rc, err := openText(ctx, d.in, d.comp, d.lim.file, d.hash)
	if err != nil {
		return err
	}
	defer rc.Close()
	s := newRecordScanner(rc, d.in.Name, true, blankCSV)
	s.pool = new(bufPool)
	defer s.close()
	if d.comp == None {
		s.size = d.in.Size
	}
	if d.hash != nil {
		defer s.hashTo(d.hash, rc, &err)()
	}
	s.delim = d.delim
	s.setLimits(d.lim)
	if err := s.skipBOM(); err != nil {
		return err
	}
	if s.empty() {
		return &Error{File: d.in.Name, Msg: "file is empty; it needs at least a header row"}
	}
	for {
		ok, err := s.next()
		if err != nil {
			return err
		}
		if !ok {
			return &Error{File: d.in.Name, Msg: "file has only blank lines; it needs at least a header row"}
		}
		if !blankCSV(s.buf[s.recStart:s.pos]) {
			break
		}
	}
	hdr, err := d.parseHeader(s.buf[s.recStart:s.pos], s.recLine, s.base+int64(s.recStart))
	if err != nil {
		return err
	}
	s.names = hdr.names
	seq, row := 0, int64(0)
	idx := &Index{file: d.in.Name, comp: d.comp, rows: d.rows, header: hdr}
	per := d.lim.chunkRows(d.rows, len(hdr.names))
	err = s.chunks(ctx, per, func(data []byte, line, offset int64, n int) error {
		tc := &textChunk{data: data, offset: offset, header: hdr, perChunk: rangeable(d.comp, per), buf: s.holdBuf()}
		tc.held.Store(true)
		c := &Chunk{Seq: seq, FirstRow: row, FirstLine: line, Rows: n, payload: tc}
		idx.spans = append(idx.spans, chunkSpan{offset: offset, size: len(data), line: line, rows: n})
		seq++
		row += int64(n)
		return emit(c)
	})
	if err != nil {
		return err
	}
	idx.end = s.base + int64(s.n)
	d.index.Store(idx)
	return nil
}

// Index is the list of chunks that one pass over a CSV input cut, with
// their byte ranges, lines and record counts. It lets a later pass over the
// same bytes (Replay) read each chunk's bytes directly, without looking for
// record boundaries or tracking quotes again: a build infers types over
// every row in a first pass and decodes in a second, and the second pass
// no longer scans. An index is a few dozen bytes per chunk; chunk bytes are
// not kept between passes, so memory stays bounded by the chunks in flight
// whatever the file size.
type Index struct {
	file   string
	comp   Compression
	rows   int // ChunkRows the chunks were cut with
	header *csvHeader
	spans  []chunkSpan
	end    int64 // length of the (decompressed) stream
}

type chunkSpan struct {
	offset int64 // of the chunk's first byte in the (decompressed) stream
	size   int
	line   int64
	rows   int
}

// Replayer is a Decoder that can repeat the chunks of an earlier pass.
type Replayer interface {
	// Index returns the chunks of the last Chunks call that went to the end
	// of the input, or nil.
	Index() *Index
	// Replay emits the chunks recorded in idx, as Chunks would, reading
	// their bytes straight from the input. It fails if the input is no
	// longer the one indexed (shorter or longer), and it falls back to
	// Chunks when idx was made with other options.
	//
	// A replayed chunk is for one Decode: Decode reuses its memory for
	// the chunks read after it, and a second Decode of it fails.
	Replay(ctx context.Context, idx *Index, emit func(*Chunk) error) error
}

func (d *csvDecoder) Index() *Index { return d.index.Load() }

func (d *csvDecoder) Replay(ctx context.Context, idx *Index, emit func(*Chunk) error) error {
	if idx == nil || idx.file != d.in.Name || idx.comp != d.comp || idx.rows != d.rows {
		return d.Chunks(ctx, emit)
	}
	rc, err := openText(ctx, d.in, d.comp, d.lim.file, nil)
	if err != nil {
		return err
	}
	defer rc.Close()
	changed := func(how string) error {
		return &Error{File: d.in.Name, Msg: "file changed since it was first read (it is now " + how + ")",
			Hint: "run again once the file is no longer being written"}
	}
	// Chunks are read into the memory of chunks decoded (see bufPool).
	pool := new(bufPool)
	defer pool.close()
	pos, row := int64(0), int64(0)
	for seq, sp := range idx.spans {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Skip the header, or blank lines between chunks.
		if n, err := io.CopyN(io.Discard, rc, sp.offset-pos); err != nil {
			if err == io.EOF || n < sp.offset-pos {
				return changed("shorter")
			}
			return fmt.Errorf("read %s: %w", d.in.Name, err)
		}
		data := pool.get(sp.size)
		if _, err := io.ReadFull(rc, data); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return changed("shorter")
			}
			var fe *Error
			if errors.As(err, &fe) {
				return err
			}
			return fmt.Errorf("read %s: %w", d.in.Name, err)
		}
		pos = sp.offset + int64(sp.size)
		tc := &textChunk{data: data, offset: sp.offset, header: idx.header, buf: pool.newTextBuf(data), replayed: true}
		tc.held.Store(true)
		c := &Chunk{Seq: seq, FirstRow: row, FirstLine: sp.line, Rows: sp.rows, payload: tc}
		row += int64(sp.rows)
		if err := emit(c); err != nil {
			return err
		}
	}
	rest, err := io.Copy(io.Discard, rc)
	if err != nil {
		var fe *Error
		if errors.As(err, &fe) {
			return err
		}
		return fmt.Errorf("read %s: %w", d.in.Name, err)
	}
	switch {
	case pos+rest < idx.end:
		return changed("shorter")
	case pos+rest > idx.end:
		return changed("longer")
	}
	return nil
}

func (d *csvDecoder) parseHeader(rec []byte, line, offset int64) (*csvHeader, error) {
	if p := firstInvalidUTF8(rec); p >= 0 {
		return nil, &Error{File: d.in.Name, Line: line + int64(bytes.Count(rec[:p], []byte{'\n'})),
			Msg:  fmt.Sprintf("header has an invalid UTF-8 byte 0x%02X at byte offset %d", rec[p], offset+int64(p)),
			Hint: utf8Hint}
	}
	t := &csvTable{data: rec, ncols: math.MaxInt32, stride: 1, delim: d.delim, file: d.in.Name}
	if _, _, _, err := t.splitSlow(0, line, 0); err != nil {
		return nil, err
	}
	if n := len(t.spans) / 2; n > d.lim.columns {
		return nil, limitError(d.in.Name, line, 0, fmt.Sprintf("header has %d columns, more than the limit of %d", n, d.lim.columns), "max-columns")
	}
	h := &csvHeader{line: line}
	seen := make(map[string]int)
	for j := 0; j < len(t.spans)/2; j++ {
		name := string(t.field(0, j))
		if name == "" {
			return nil, &Error{File: d.in.Name, Line: line, Msg: fmt.Sprintf("header name %d is empty", j+1),
				Hint: "give every column a name in the header row"}
		}
		if k, dup := seen[name]; dup {
			return nil, &Error{File: d.in.Name, Line: line, Column: name,
				Msg:  fmt.Sprintf("header names %d and %d are both %q", k+1, j+1, name),
				Hint: "give every column a distinct name in the header row"}
		}
		seen[name] = j
		h.names = append(h.names, name)
	}
	return h, nil
}

const utf8Hint = "convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8"

// csvBlockRows is the number of records split and converted together. A
// block's bytes and field positions stay in the CPU cache while each of its
// columns is converted; passes over a whole chunk, column after column,
// would read the chunk from memory once per column.
const csvBlockRows = 2048

// csvTable holds the field boundaries of a block of records, column by
// column.
type csvTable struct {
	data    []byte
	scratch []byte  // unescaped contents of quoted fields with "" in them
	spans   []int32 // start,end of field (r, j) at 2*(j*stride+r); start < 0 means scratch[^start:end]
	stride  int
	rows    int // records in the block
	first   int // index within the chunk of the block's first record
	ncols   int
	delim   byte
	file    string
	names   []string
}

func (t *csvTable) field(r, j int) []byte {
	k := 2 * (j*t.stride + r)
	s, e := t.spans[k], t.spans[k+1]
	if s >= 0 {
		return t.data[s:e]
	}
	return t.scratch[^s:e]
}

const quoteHint = `quote the whole field and double the quotes inside it ("a ""b"" c")`

// csvSplitter finds the fields of the records of a chunk, a block at a time.
// It is the hot loop of CSV reading: an unquoted field costs one
// bytes.IndexByte for the delimiter, and the positions of the next newline
// and the next quote are cached, so that the quote check of an unquoted
// field is one comparison.
type csvSplitter struct {
	d       *csvDecoder
	c       *Chunk
	t       csvTable
	i       int   // next byte
	line    int64 // line at i
	r       int   // records split so far
	lineEnd int   // next '\n' at or after i, or len(data)
	qnext   int   // next '"' at or after i, or len(data)
}

// splitter starts splitting chunk c. With check set it first requires the
// whole chunk to be UTF-8; Decode instead checks only the bytes it keeps
// (see Decode).
func (d *csvDecoder) splitter(c *Chunk, check bool) (*csvSplitter, *textChunk, error) {
	tc, ok := c.payload.(*textChunk)
	if !ok || tc.header == nil {
		return nil, nil, fmt.Errorf("%s: chunk %d was not made by this CSV decoder", d.in.Name, c.Seq)
	}
	if check && !utf8.Valid(tc.data) {
		return nil, nil, d.utf8Error(c, tc)
	}
	nc := len(tc.header.names)
	stride := max(min(csvBlockRows, c.Rows), 1)
	s := &csvSplitter{d: d, c: c, line: c.FirstLine, lineEnd: -1, qnext: -1,
		t: csvTable{data: tc.data, ncols: nc, stride: stride, delim: d.delim, file: d.in.Name, names: tc.header.names,
			spans: make([]int32, 2*nc*stride)}}
	return s, tc, nil
}

func (s *csvSplitter) fail(line int64, f int, msg, hint string) error {
	e := &Error{File: s.d.in.Name, Line: line, Row: s.c.FirstRow + int64(s.r) + 1, Msg: msg, Hint: hint}
	if f < s.t.ncols {
		e.Column = s.t.names[f]
	}
	return e
}

// next splits the next block of records. It returns nil after the last.
func (s *csvSplitter) next() (*csvTable, error) {
	t := &s.t
	t.first, t.rows, t.scratch = s.r, 0, t.scratch[:0]
	data, spans, delim, nc, stride := t.data, t.spans, t.delim, t.ncols, t.stride
	n, i, line := len(data), s.i, s.line
	lineEnd, qnext := s.lineEnd, s.qnext
	defer func() { s.i, s.line, s.lineEnd, s.qnext = i, line, lineEnd, qnext }()
	for i < n && t.rows < stride {
		switch data[i] {
		case '\n':
			i++
			line++
			continue
		case '\r':
			if i+1 == n {
				i++
				continue
			}
			if data[i+1] == '\n' {
				i += 2
				line++
				continue
			}
		}
		if s.r == s.c.Rows {
			return nil, fmt.Errorf("%s: chunk %d holds more than %d records", s.d.in.Name, s.c.Seq, s.c.Rows)
		}
		recLine := line
		r := t.rows
		f := 0
		for {
			var fs, fe int32
			if i < n && data[i] == '"' {
				startLine := line
				i++
				start := i
				escaped := false
				for {
					j := bytes.IndexByte(data[i:], '"')
					if j < 0 {
						return nil, s.fail(startLine, f, "quoted field is never closed (unterminated quote)",
							`close the quote, and double any quote inside a quoted field ("")`)
					}
					line += int64(bytes.Count(data[i:i+j], []byte{'\n'}))
					i += j
					if i+1 < n && data[i+1] == '"' {
						escaped = true
						i += 2
						continue
					}
					break
				}
				fs, fe = int32(start), int32(i)
				if escaped && f < nc {
					at := len(t.scratch)
					for k := start; k < i; k++ {
						t.scratch = append(t.scratch, data[k])
						if data[k] == '"' {
							k++ // the second quote of a pair
						}
					}
					fs, fe = ^int32(at), int32(len(t.scratch))
				}
				i++ // closing quote
				if i < n && data[i] != delim && data[i] != '\n' && !(data[i] == '\r' && (i+1 == n || data[i+1] == '\n')) {
					return nil, s.fail(line, f, fmt.Sprintf("unexpected %q after the closing quote of a quoted field", data[i]), quoteHint)
				}
			} else {
				if lineEnd < i {
					if j := bytes.IndexByte(data[i:], '\n'); j >= 0 {
						lineEnd = i + j
					} else {
						lineEnd = n
					}
				}
				end := indexDelim(data, i, lineEnd, delim)
				if qnext < i {
					if j := bytes.IndexByte(data[i:], '"'); j >= 0 {
						qnext = i + j
					} else {
						qnext = n
					}
				}
				if qnext < end {
					return nil, s.fail(line, f, "a quote appears inside an unquoted field", quoteHint)
				}
				fs, fe = int32(i), int32(end)
				if end == lineEnd && end > i && data[end-1] == '\r' {
					fe--
				}
				i = end
			}
			if f < nc {
				k := 2 * (f*stride + r)
				spans[k], spans[k+1] = fs, fe
			}
			f++
			if i < n && data[i] == delim {
				i++
				continue
			}
			// End of the record: at a newline, a CRLF, a final CR or the end.
			if i < n {
				if data[i] == '\r' {
					i++
				}
				if i < n {
					i++ // '\n'
					line++
				}
			}
			break
		}
		if f != nc {
			return nil, s.fail(recLine, nc, fmt.Sprintf("expected %d fields (as in the header) but found %d", nc, f),
				"quote fields that contain the delimiter")
		}
		t.rows++
		s.r++
	}
	if t.rows == 0 {
		if s.r != s.c.Rows {
			return nil, fmt.Errorf("%s: chunk %d holds %d records, expected %d", s.d.in.Name, s.c.Seq, s.r, s.c.Rows)
		}
		return nil, nil
	}
	return t, nil
}

// splitSlow parses one record that may contain quoted fields, starting at
// data[i] on the given line. It returns the position after the record, the
// line there and the number of fields; spans of fields beyond ncols are not
// kept. row is the 1-based data row for errors (0 for the header).
func (t *csvTable) splitSlow(i int, line int64, row int64) (int, int64, int, error) {
	data, n, delim := t.data, len(t.data), t.delim
	nf := 0
	colName := func() string {
		if nf < len(t.names) {
			return t.names[nf]
		}
		return ""
	}
	for {
		var s, e int32
		if i < n && data[i] == '"' {
			startLine := line
			i++
			start := i
			escaped := false
			for {
				j := bytes.IndexByte(data[i:], '"')
				if j < 0 {
					return 0, 0, 0, &Error{File: t.file, Line: startLine, Row: row, Column: colName(),
						Msg: "quoted field is never closed (unterminated quote)", Hint: `close the quote, and double any quote inside a quoted field ("")`}
				}
				line += int64(bytes.Count(data[i:i+j], []byte{'\n'}))
				i += j
				if i+1 < n && data[i+1] == '"' {
					escaped = true
					i += 2
					continue
				}
				break
			}
			s, e = int32(start), int32(i)
			if escaped && nf < t.ncols {
				at := len(t.scratch)
				for k := start; k < i; k++ {
					t.scratch = append(t.scratch, data[k])
					if data[k] == '"' {
						k++ // the second quote of a pair
					}
				}
				s, e = ^int32(at), int32(len(t.scratch))
			}
			i++ // closing quote
			if i < n && data[i] != delim && data[i] != '\n' && !(data[i] == '\r' && (i+1 == n || data[i+1] == '\n')) {
				return 0, 0, 0, &Error{File: t.file, Line: line, Row: row, Column: colName(),
					Msg:  fmt.Sprintf("unexpected %q after the closing quote of a quoted field", data[i]),
					Hint: `quote the whole field and double the quotes inside it ("a ""b"" c")`}
			}
		} else {
			start := i
			for i < n {
				c := data[i]
				if c == delim || c == '\n' {
					break
				}
				if c == '"' {
					return 0, 0, 0, &Error{File: t.file, Line: line, Row: row, Column: colName(),
						Msg:  "a quote appears inside an unquoted field",
						Hint: `quote the whole field and double the quotes inside it ("a ""b"" c")`}
				}
				i++
			}
			end := i
			if (i == n || data[i] == '\n') && end > start && data[end-1] == '\r' {
				end--
			}
			s, e = int32(start), int32(end)
		}
		if nf < t.ncols {
			t.spans = append(t.spans, s, e)
		}
		nf++
		switch {
		case i >= n:
			return n, line, nf, nil
		case data[i] == delim:
			i++
		case data[i] == '\r': // CRLF or a final CR after a quoted field
			i++
			if i < n {
				i++
				line++
			}
			return i, line, nf, nil
		default: // '\n'
			return i + 1, line + 1, nf, nil
		}
	}
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// utf8Error locates the first invalid byte of a chunk: line, row, column.
func (d *csvDecoder) utf8Error(c *Chunk, tc *textChunk) error {
	data := tc.data
	p := firstInvalidUTF8(data)
	line, row, field := c.FirstLine, int64(0), 0
	lineStart := 0
	inq, fieldStart, recordHasData := false, true, false
	for i := 0; i < p; i++ {
		ch := data[i]
		switch {
		case inq:
			if ch == '"' {
				if i+1 < len(data) && data[i+1] == '"' {
					i++
				} else {
					inq = false
				}
			}
		case ch == '"' && fieldStart:
			inq = true
		case ch == d.delim:
			field++
		case ch == '\n':
			if recordHasData {
				row++
			}
			field, recordHasData = 0, false
		}
		if ch == '\n' {
			line++
			lineStart = i + 1
		}
		fieldStart = !inq && (ch == d.delim || ch == '\n')
		if ch != '\n' && ch != '\r' {
			recordHasData = true
		}
	}
	e := &Error{File: d.in.Name, Line: line, Row: c.FirstRow + row + 1,
		Msg:  fmt.Sprintf("invalid UTF-8 byte 0x%02X at byte offset %d (byte %d of the line)", data[p], tc.offset+int64(p), p-lineStart+1),
		Hint: utf8Hint}
	if field < len(tc.header.names) {
		e.Column = tc.header.names[field]
	}
	return e
}

// recordLine finds the physical line of record r of a chunk, for errors
// found after splitting.
func recordLine(data []byte, firstLine int64, r int, delim byte) int64 {
	line := firstLine
	rec := 0
	t := &csvTable{data: data, ncols: 0, delim: delim}
	for i := 0; i < len(data); {
		if data[i] == '\n' {
			i++
			line++
			continue
		}
		if data[i] == '\r' && (i+1 == len(data) || data[i+1] == '\n') {
			i++
			continue
		}
		if rec == r {
			return line
		}
		next, nextLine, _, err := t.splitSlow(i, line, 0)
		if err != nil {
			return line
		}
		i, line = next, nextLine
		rec++
	}
	return line
}

func (d *csvDecoder) Infer(c *Chunk) (*Evidence, error) {
	sp, tc, err := d.splitter(c, true)
	if err != nil {
		return nil, err
	}
	nc := len(tc.header.names)
	kinds, nulls := make([]kindFlags, nc), make([]int64, nc)
	for {
		t, err := sp.next()
		if err != nil {
			return nil, err
		}
		if t == nil {
			break
		}
		for j := 0; j < nc; j++ {
			k, nn := kinds[j], 0
			for r := 0; r < t.rows; r++ {
				b := t.field(r, j)
				if d.nulls.isNull(b) {
					nn++
					continue
				}
				if k&kindString == 0 {
					k |= classify(b, d.ts)
				}
			}
			kinds[j] = k
			nulls[j] += int64(nn)
		}
	}
	ev := &Evidence{init: true, file: d.in.Name, rows: int64(c.Rows), cols: make([]columnEvidence, nc)}
	for j, name := range tc.header.names {
		ev.cols[j] = columnEvidence{name: name, kinds: kinds[j], nulls: nulls[j], values: int64(c.Rows) - nulls[j], nullsKnown: true, idx: int64(j)}
	}
	return ev, nil
}

// Decode converts a chunk to schema. It does not check the whole chunk for
// UTF-8 first (the inference pass over the same bytes did, and a build
// checks afterwards that the file did not change): the bytes it keeps, the
// string columns' values, are checked once converted, and any failure is
// reported as the invalid byte when the chunk has one, so errors are the
// same as with a check up front. Fields of other types are ASCII or fail to
// convert.
func (d *csvDecoder) Decode(c *Chunk, schema *arrow.Schema) (arrow.RecordBatch, error) {
	sp, tc, err := d.splitter(c, false)
	if err != nil {
		return nil, err
	}
	if tc.replayed {
		defer tc.release()
	}
	rec, err := d.decode(c, sp, tc, schema)
	if err != nil && !utf8.Valid(tc.data) {
		return nil, d.utf8Error(c, tc)
	}
	return rec, err
}

func (d *csvDecoder) decode(c *Chunk, sp *csvSplitter, tc *textChunk, schema *arrow.Schema) (arrow.RecordBatch, error) {
	if err := checkColumns(d.in.Name, tc.header.names, schema); err != nil {
		return nil, err
	}
	cols := make([]textColumn, schema.NumFields())
	for j, f := range schema.Fields() {
		if cols[j] = newTextColumn(f.Type, c.Rows, d.nulls); cols[j] == nil {
			return nil, &Error{File: d.in.Name, Column: f.Name, Msg: fmt.Sprintf("cannot read CSV text as %s", f.Type),
				Hint: "use bool, int64, float64, string or timestamp columns for text inputs"}
		}
	}
	for {
		t, err := sp.next()
		if err != nil {
			return nil, err
		}
		if t == nil {
			break
		}
		for j, col := range cols {
			if bad := col.add(t, j); bad >= 0 {
				r := t.first + bad
				return nil, &Error{File: d.in.Name, Line: recordLine(tc.data, c.FirstLine, r, d.delim), Row: c.FirstRow + int64(r) + 1,
					Column: t.names[j], Msg: fmt.Sprintf("cannot read %s as %s", quoteValue(t.field(bad, j)), schema.Field(j).Type),
					Hint: "the schema was inferred from other data; infer it again with this file included, or fix the value"}
			}
		}
	}
	for _, col := range cols {
		if sc, ok := col.(*stringColumn); ok && !sc.sb.validUTF8() {
			return nil, errInvalidUTF8
		}
	}
	arrs := make([]arrow.Array, len(cols))
	defer releaseAll(arrs)
	for j, col := range cols {
		a, err := col.array()
		if err != nil {
			return nil, &Error{File: d.in.Name, Column: schema.Field(j).Name, Msg: err.Error()}
		}
		arrs[j] = a
	}
	return array.NewRecordBatch(schema, arrs, int64(c.Rows)), nil
}

// errInvalidUTF8 stands for the invalid byte Decode then locates.
var errInvalidUTF8 = errors.New("invalid UTF-8")

// checkColumns requires the schema to have exactly the file's columns.
func checkColumns(file string, names []string, schema *arrow.Schema) error {
	for i := 0; i < len(names) || i < schema.NumFields(); i++ {
		var have, want string
		if i < len(names) {
			have = names[i]
		}
		if i < schema.NumFields() {
			want = schema.Field(i).Name
		}
		if have != want {
			col := have
			if col == "" {
				col = want
			}
			return &Error{File: file, Column: col,
				Msg:  fmt.Sprintf("column %d is %s in the file but %s in the schema", i+1, describeName(have), describeName(want)),
				Hint: "all source files must have the same columns"}
		}
	}
	return nil
}

func quoteValue(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%q...", b[:64])
	}
	return fmt.Sprintf("%q", b)
}

const (
	swarLow  = 0x0101010101010101
	swarHigh = 0x7f7f7f7f7f7f7f7f
)

// indexDelim returns the position of the first delim in data[i:end], or end.
// Fields are short, so eight bytes at a time in a register beat the setup
// cost of bytes.IndexByte. The mask marks exactly the bytes equal to delim
// (no false positives from borrows), so the lowest set bit is the answer.
func indexDelim(data []byte, i, end int, delim byte) int {
	pattern := uint64(delim) * swarLow
	for ; i+8 <= end; i += 8 {
		x := binary.LittleEndian.Uint64(data[i:]) ^ pattern
		if m := ^(((x & swarHigh) + swarHigh) | x | swarHigh); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < end; i++ {
		if data[i] == delim {
			return i
		}
	}
	return end
}
