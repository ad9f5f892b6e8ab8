package format

import (
	"bytes"
	"context"
	"fmt"
	"math"
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
}

type csvHeader struct {
	names []string
	line  int64
}

// textChunk is the payload of a CSV or JSONL chunk: whole records, never
// modified once handed out, so Infer and Decode may run on it concurrently.
type textChunk struct {
	data   []byte
	offset int64 // of data[0] in the (decompressed) stream
	header *csvHeader
}

func (d *csvDecoder) Chunks(ctx context.Context, emit func(*Chunk) error) error {
	rc, err := openText(ctx, d.in, d.comp)
	if err != nil {
		return err
	}
	defer rc.Close()
	s := newRecordScanner(rc, d.in.Name, true, blankCSV)
	s.delim = d.delim
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
	return s.chunks(ctx, d.rows, func(data []byte, line, offset int64, n int) error {
		c := &Chunk{Seq: seq, FirstRow: row, FirstLine: line, Rows: n, payload: &textChunk{data: data, offset: offset, header: hdr}}
		seq++
		row += int64(n)
		return emit(c)
	})
}

func (d *csvDecoder) parseHeader(rec []byte, line, offset int64) (*csvHeader, error) {
	if p := firstInvalidUTF8(rec); p >= 0 {
		return nil, &Error{File: d.in.Name, Line: line + int64(bytes.Count(rec[:p], []byte{'\n'})),
			Msg:  fmt.Sprintf("header has an invalid UTF-8 byte 0x%02X at byte offset %d", rec[p], offset+int64(p)),
			Hint: utf8Hint}
	}
	t := &csvTable{data: rec, ncols: math.MaxInt32, delim: d.delim, file: d.in.Name}
	if _, _, _, err := t.splitSlow(0, line, 0); err != nil {
		return nil, err
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

// csvTable holds the field boundaries of every record of a chunk, so that
// conversion can run column by column over contiguous memory.
type csvTable struct {
	data    []byte
	scratch []byte  // unescaped contents of quoted fields with "" in them
	spans   []int32 // start,end per field; start < 0 means scratch[^start:end]
	ncols   int
	rows    int
	delim   byte
	file    string
	names   []string
}

func (t *csvTable) field(r, j int) []byte {
	k := (r*t.ncols + j) * 2
	s, e := t.spans[k], t.spans[k+1]
	if s >= 0 {
		return t.data[s:e]
	}
	return t.scratch[^s:e]
}

// split finds the fields of every record of the chunk.
func (d *csvDecoder) split(c *Chunk) (*csvTable, *textChunk, error) {
	tc, ok := c.payload.(*textChunk)
	if !ok || tc.header == nil {
		return nil, nil, fmt.Errorf("%s: chunk %d was not made by this CSV decoder", d.in.Name, c.Seq)
	}
	data := tc.data
	if !utf8.Valid(data) {
		return nil, nil, d.utf8Error(c, tc)
	}
	nc := len(tc.header.names)
	t := &csvTable{data: data, ncols: nc, delim: d.delim, file: d.in.Name, names: tc.header.names,
		spans: make([]int32, 0, c.Rows*nc*2)}
	delim := d.delim
	line := c.FirstLine
	i, n := 0, len(data)
	qnext := -1 // position of the next quote at or after i, or n if none
	for i < n {
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
		row := int64(t.rows)
		recLine := line
		lineEnd := n
		if j := bytes.IndexByte(data[i:], '\n'); j >= 0 {
			lineEnd = i + j
		}
		if qnext < i {
			if j := bytes.IndexByte(data[i:], '"'); j >= 0 {
				qnext = i + j
			} else {
				qnext = n
			}
		}
		nf := 0
		if qnext >= lineEnd {
			// Fast path: a line without quotes is one record.
			end := lineEnd
			if end > i && data[end-1] == '\r' {
				end--
			}
			start := i
			for {
				j := bytes.IndexByte(data[start:end], delim)
				if j < 0 {
					break
				}
				if nf < nc {
					t.spans = append(t.spans, int32(start), int32(start+j))
				}
				nf++
				start += j + 1
			}
			if nf < nc {
				t.spans = append(t.spans, int32(start), int32(end))
			}
			nf++
			i = lineEnd + 1
			line++
		} else {
			var err error
			i, line, nf, err = t.splitSlow(i, line, c.FirstRow+row+1)
			if err != nil {
				return nil, nil, err
			}
		}
		if nf != nc {
			return nil, nil, &Error{File: d.in.Name, Line: recLine, Row: c.FirstRow + row + 1,
				Msg:  fmt.Sprintf("expected %d fields (as in the header) but found %d", nc, nf),
				Hint: "quote fields that contain the delimiter"}
		}
		t.rows++
	}
	if t.rows != c.Rows {
		return nil, nil, fmt.Errorf("%s: chunk %d holds %d records, expected %d", d.in.Name, c.Seq, t.rows, c.Rows)
	}
	return t, tc, nil
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
	t, tc, err := d.split(c)
	if err != nil {
		return nil, err
	}
	ev := &Evidence{init: true, file: d.in.Name, rows: int64(t.rows), cols: make([]columnEvidence, t.ncols)}
	for j, name := range tc.header.names {
		col := &ev.cols[j]
		col.name, col.nullsKnown, col.idx = name, true, int64(j)
		var kinds kindFlags
		nulls := 0
		for r := 0; r < t.rows; r++ {
			b := t.field(r, j)
			if d.nulls.isNull(b) {
				nulls++
				continue
			}
			if kinds&kindString == 0 {
				kinds |= classify(b, d.ts)
			}
		}
		col.kinds, col.nulls, col.values = kinds, int64(nulls), int64(t.rows-nulls)
	}
	return ev, nil
}

func (d *csvDecoder) Decode(c *Chunk, schema *arrow.Schema) (arrow.RecordBatch, error) {
	t, tc, err := d.split(c)
	if err != nil {
		return nil, err
	}
	if err := checkColumns(d.in.Name, tc.header.names, schema); err != nil {
		return nil, err
	}
	cols := make([]arrow.Array, t.ncols)
	for j := range cols {
		a, err := d.convert(t, j, schema.Field(j).Type, c, tc)
		if err != nil {
			releaseAll(cols)
			return nil, err
		}
		cols[j] = a
	}
	defer releaseAll(cols)
	return array.NewRecordBatch(schema, cols, int64(t.rows)), nil
}

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

func (d *csvDecoder) convertError(t *csvTable, tc *textChunk, c *Chunk, r, j int, typ arrow.DataType) error {
	return &Error{File: d.in.Name, Line: recordLine(tc.data, c.FirstLine, r, d.delim), Row: c.FirstRow + int64(r) + 1,
		Column: t.names[j], Msg: fmt.Sprintf("cannot read %s as %s", quoteValue(t.field(r, j)), typ),
		Hint: "the schema was inferred from other data; infer it again with this file included, or fix the value"}
}

func quoteValue(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%q...", b[:64])
	}
	return fmt.Sprintf("%q", b)
}

func (d *csvDecoder) convert(t *csvTable, j int, typ arrow.DataType, c *Chunk, tc *textChunk) (arrow.Array, error) {
	n, ns := t.rows, d.nulls
	fail := func(r int) error { return d.convertError(t, tc, c, r, j, typ) }
	switch typ.ID() {
	case arrow.NULL:
		for r := 0; r < n; r++ {
			if !ns.isNull(t.field(r, j)) {
				return nil, fail(r)
			}
		}
		return array.NewNull(n), nil
	case arrow.BOOL:
		v, bits := newValidity(n), make([]byte, (n+7)/8)
		for r := 0; r < n; r++ {
			b := t.field(r, j)
			if ns.isNull(b) {
				v.nulls++
				continue
			}
			x, ok := parseBool(b)
			if !ok {
				return nil, fail(r)
			}
			v.set(r)
			if x {
				bits[r>>3] |= 1 << uint(r&7)
			}
		}
		return boolArray(n, bits, v), nil
	case arrow.INT64:
		v, vals := newValidity(n), make([]int64, n)
		for r := 0; r < n; r++ {
			b := t.field(r, j)
			if ns.isNull(b) {
				v.nulls++
				continue
			}
			x, st := parseInt(b)
			if st != intOK {
				return nil, fail(r)
			}
			vals[r] = x
			v.set(r)
		}
		return int64Array(typ, vals, v), nil
	case arrow.FLOAT64:
		v, vals := newValidity(n), make([]float64, n)
		for r := 0; r < n; r++ {
			b := t.field(r, j)
			if ns.isNull(b) {
				v.nulls++
				continue
			}
			x, ok := parseFloat(b)
			if !ok {
				return nil, fail(r)
			}
			vals[r] = x
			v.set(r)
		}
		return float64Array(vals, v), nil
	case arrow.TIMESTAMP:
		mul, div := timestampScale(typ)
		v, vals := newValidity(n), make([]int64, n)
		for r := 0; r < n; r++ {
			b := t.field(r, j)
			if ns.isNull(b) {
				v.nulls++
				continue
			}
			x, ok := parseTimestamp(b)
			if !ok {
				return nil, fail(r)
			}
			vals[r] = x * mul / div
			v.set(r)
		}
		return int64Array(typ, vals, v), nil
	case arrow.STRING:
		size := 0
		for r := 0; r < n; r++ {
			size += len(t.field(r, j))
		}
		sb := newStringsBuilder(n, size)
		for r := 0; r < n; r++ {
			b := t.field(r, j)
			if ns.isNull(b) {
				sb.appendNull()
				continue
			}
			sb.append(b)
		}
		return sb.array()
	}
	return nil, &Error{File: d.in.Name, Column: t.names[j], Msg: fmt.Sprintf("cannot read CSV text as %s", typ),
		Hint: "use bool, int64, float64, string or timestamp columns for text inputs"}
}
