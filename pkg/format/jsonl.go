package format

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// JSONL reading: every non-blank line is one JSON object. Columns are the
// union of keys in first-seen order; a missing key is null. JSON numbers keep
// their kind as written (1 is an integer, 1.0 and 1e3 are floats), nested
// objects and arrays become their JSON text as written, in a string column.
// JSON has its own null, so text null tokens do not apply: the string "NA"
// is a string. With Options.InferTimestamps, string columns whose every
// value is an ISO-8601 date or date-time become timestamps. A key repeated
// within one object is an error rather than a silent overwrite.

type jsonlDecoder struct {
	in   Input
	comp Compression
	rows int
	ts   bool
	hash hash.Hash // Options.Hash
	lim  limits
}

// jsonKind is the syntactic kind of a JSON value.
type jsonKind uint8

const (
	jMissing jsonKind = iota // key absent from the object
	jNull
	jTrue
	jFalse
	jInt
	jFloat
	jString    // contents between the quotes, no escapes
	jStringEsc // contents between the quotes, with escapes
	jNested    // object or array, as written
)

type jsonRef struct {
	kind       jsonKind
	start, end int32
}

func (d *jsonlDecoder) Chunks(ctx context.Context, emit func(*Chunk) error) (err error) {
	rc, err := openText(ctx, d.in, d.comp, d.lim.file, d.hash)
	if err != nil {
		return err
	}
	defer rc.Close()
	s := newRecordScanner(rc, d.in.Name, false, blankJSONL)
	if d.hash != nil {
		defer s.hashTo(d.hash, rc, &err)()
	}
	s.setLimits(d.lim)
	if err := s.skipBOM(); err != nil {
		return err
	}
	if s.empty() {
		return &Error{File: d.in.Name, Msg: "file is empty; it needs at least one JSON object"}
	}
	rows, err := d.firstKeys(s)
	if err != nil {
		return err
	}
	seq, row := 0, int64(0)
	return s.chunks(ctx, rows, func(data []byte, line, offset int64, n int) error {
		c := &Chunk{Seq: seq, FirstRow: row, FirstLine: line, Rows: n, payload: &textChunk{data: data, offset: offset, perChunk: rangeable(d.comp, rows)}}
		seq++
		row += int64(n)
		return emit(c)
	})
}

// firstKeys sizes chunks by the first object: with as many columns as it
// has keys, a chunk's decoded columns fit in the chunk limit. Wide files
// whose objects all carry their keys then read in smaller chunks instead of
// failing Decode's check; sparse files, whose union of keys is far wider
// than one object, can still fail it. The scanner is left where it was.
func (d *jsonlDecoder) firstKeys(s *recordScanner) (int, error) {
	// Reading may move the buffer; the stream offset stays put.
	at, line := s.base+int64(s.pos), s.line
	defer func() { s.pos, s.line = int(at-s.base), line }()
	for {
		ok, err := s.next()
		if fe, isFE := err.(*Error); isFE && fe.Line > 0 && fe.Row == 0 {
			fe.Row = 1 // the first object
		}
		if err != nil || !ok {
			return d.rows, err
		}
		if rec := s.buf[s.recStart:s.pos]; !blankJSONL(rec) {
			p := &jsonScanner{data: rec, file: d.in.Name}
			keys := 0
			if p.nextLine() && p.object(func([]byte, bool, jsonRef) error { keys++; return nil }) != nil {
				return d.rows, nil // Infer reports the error with its row
			}
			return d.lim.chunkRows(d.rows, keys), nil
		}
	}
}

// jsonScanner tokenizes the objects of a chunk, one line at a time.
type jsonScanner struct {
	data []byte
	i    int
	end  int // end of the current line (exclusive, before '\n')
	file string
	line int64
	row  int64 // 1-based data row, for errors
}

func (p *jsonScanner) fail(format string, args ...any) error {
	return &Error{File: p.file, Line: p.line, Row: p.row, Msg: fmt.Sprintf(format, args...),
		Hint: "each line must be one JSON object, e.g. {\"a\": 1}"}
}

func (p *jsonScanner) ws() {
	for p.i < p.end {
		switch p.data[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

// nextLine moves to the next non-blank line; it returns false at the end.
func (p *jsonScanner) nextLine() bool {
	for p.i < len(p.data) {
		e := bytes.IndexByte(p.data[p.i:], '\n')
		if e < 0 {
			p.end = len(p.data)
		} else {
			p.end = p.i + e
		}
		p.ws()
		if p.i < p.end {
			return true
		}
		p.i = p.end + 1
		p.line++
	}
	return false
}

// endLine checks that nothing but spaces follows the object.
func (p *jsonScanner) endLine() error {
	p.ws()
	if p.i < p.end {
		return p.fail("unexpected %q after the end of the JSON object", p.data[p.i])
	}
	p.i = p.end + 1
	p.line++
	return nil
}

// object parses "{" and calls field for each member; the value is already
// scanned. It leaves p.i after the closing brace.
func (p *jsonScanner) object(field func(key []byte, keyEsc bool, v jsonRef) error) error {
	if p.data[p.i] != '{' {
		return &Error{File: p.file, Line: p.line, Row: p.row, Msg: "line is not a JSON object",
			Hint: "each line must be one JSON object, e.g. {\"a\": 1}"}
	}
	p.i++
	p.ws()
	if p.i < p.end && p.data[p.i] == '}' {
		p.i++
		return nil
	}
	for {
		p.ws()
		if p.i >= p.end || p.data[p.i] != '"' {
			return p.fail("expected a quoted key")
		}
		ks, ke, esc, err := p.str()
		if err != nil {
			return err
		}
		p.ws()
		if p.i >= p.end || p.data[p.i] != ':' {
			return p.fail("expected ':' after key %q", p.data[ks:ke])
		}
		p.i++
		p.ws()
		v, err := p.value()
		if err != nil {
			return err
		}
		if err := field(p.data[ks:ke], esc, v); err != nil {
			return err
		}
		p.ws()
		if p.i >= p.end {
			return p.fail("object is not closed")
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return p.fail("expected ',' or '}' but found %q", p.data[p.i])
		}
	}
}

// str scans a string starting at its opening quote; it returns the span of
// its contents and whether they contain escapes.
func (p *jsonScanner) str() (int, int, bool, error) {
	p.i++
	start, esc := p.i, false
	for p.i < p.end {
		p.i = skipPlain(p.data, p.i, p.end)
		if p.i >= p.end {
			break
		}
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			return start, p.i - 1, esc, nil
		case c == '\\':
			esc = true
			if p.i+1 >= p.end {
				return 0, 0, false, p.fail("string is not closed")
			}
			switch p.data[p.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i += 2
			case 'u':
				if p.i+6 > p.end || !isHex4(p.data[p.i+2:p.i+6]) {
					return 0, 0, false, p.fail("invalid \\u escape in string")
				}
				p.i += 6
			default:
				return 0, 0, false, p.fail("invalid escape \\%c in string", p.data[p.i+1])
			}
		case c < 0x20:
			return 0, 0, false, p.fail("control character 0x%02X in string; escape it", c)
		default:
			p.i++
		}
	}
	return 0, 0, false, p.fail("string is not closed")
}

// skipPlain returns the position of the first '"', '\\' or control
// character in data[i:end], or end, eight bytes at a time. In these masks a
// borrow can only mark bytes after a true match, so the lowest marked byte
// is always a real one.
func skipPlain(data []byte, i, end int) int {
	const quotes, slashes, spaces = '"' * swarLow, '\\' * swarLow, 0x20 * swarLow
	for ; i+8 <= end; i += 8 {
		w := binary.LittleEndian.Uint64(data[i:])
		q, b := w^quotes, w^slashes
		m := ((q - swarLow) &^ q) | ((b - swarLow) &^ b) | ((w - spaces) &^ w)
		if m &= 0x8080808080808080; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < end; i++ {
		if c := data[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return end
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f') {
			return false
		}
	}
	return true
}

func (p *jsonScanner) literal(s string, k jsonKind) (jsonRef, error) {
	if p.end-p.i >= len(s) && string(p.data[p.i:p.i+len(s)]) == s {
		start := p.i
		p.i += len(s)
		return jsonRef{kind: k, start: int32(start), end: int32(p.i)}, nil
	}
	return jsonRef{}, p.fail("invalid JSON value")
}

func (p *jsonScanner) value() (jsonRef, error) {
	if p.i >= p.end {
		return jsonRef{}, p.fail("expected a value")
	}
	switch c := p.data[p.i]; {
	case c == '"':
		s, e, esc, err := p.str()
		k := jString
		if esc {
			k = jStringEsc
		}
		return jsonRef{kind: k, start: int32(s), end: int32(e)}, err
	case c == 't':
		return p.literal("true", jTrue)
	case c == 'f':
		return p.literal("false", jFalse)
	case c == 'n':
		return p.literal("null", jNull)
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == '{' || c == '[':
		return p.nested()
	}
	return jsonRef{}, p.fail("invalid JSON value starting with %q", p.data[p.i])
}

// number scans -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func (p *jsonScanner) number() (jsonRef, error) {
	d, start := p.data, p.i
	i := p.i
	if d[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < p.end && d[i] >= '0' && d[i] <= '9' {
			i++
			n++
		}
		return n
	}
	k := jInt
	switch {
	case i < p.end && d[i] == '0':
		i++
	case digits() == 0:
		return jsonRef{}, p.fail("invalid number")
	}
	if i < p.end && d[i] == '.' {
		i++
		k = jFloat
		if digits() == 0 {
			return jsonRef{}, p.fail("invalid number: no digits after '.'")
		}
	}
	if i < p.end && (d[i] == 'e' || d[i] == 'E') {
		i++
		k = jFloat
		if i < p.end && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if digits() == 0 {
			return jsonRef{}, p.fail("invalid number: no digits in the exponent")
		}
	}
	p.i = i
	return jsonRef{kind: k, start: int32(start), end: int32(i)}, nil
}

// nested skips an object or array, then validates it with encoding/json;
// nested values are rare enough that the second pass does not matter.
func (p *jsonScanner) nested() (jsonRef, error) {
	start, depth := p.i, 0
	for p.i < p.end {
		switch p.data[p.i] {
		case '{', '[':
			depth++
			p.i++
		case '}', ']':
			depth--
			p.i++
			if depth == 0 {
				if !json.Valid(p.data[start:p.i]) {
					return jsonRef{}, p.fail("invalid JSON in a nested value")
				}
				return jsonRef{kind: jNested, start: int32(start), end: int32(p.i)}, nil
			}
		case '"':
			if _, _, _, err := p.str(); err != nil {
				return jsonRef{}, err
			}
		default:
			p.i++
		}
	}
	return jsonRef{}, p.fail("nested value is not closed")
}

// unescapeJSON appends the decoded contents of a string with escapes. The
// escapes were validated by the scanner; unpaired surrogates become U+FFFD,
// as in encoding/json.
func unescapeJSON(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		switch s[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hex4(s[i+1 : i+5]))
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					r2 := rune(hex4(s[i+3 : i+7]))
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						dst = utf8.AppendRune(dst, dec)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, s[i])
		}
	}
	return dst
}

func hex4(b []byte) uint16 {
	var v uint16
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		default:
			c = c | 0x20 - 'a' + 10
		}
		v = v<<4 | uint16(c)
	}
	return v
}

func (d *jsonlDecoder) payload(c *Chunk) (*textChunk, error) {
	tc, ok := c.payload.(*textChunk)
	if !ok || tc.header != nil {
		return nil, fmt.Errorf("%s: chunk %d was not made by this JSONL decoder", d.in.Name, c.Seq)
	}
	if utf8.Valid(tc.data) {
		return tc, nil
	}
	if p := firstInvalidUTF8(tc.data); p >= 0 {
		lineStart := bytes.LastIndexByte(tc.data[:p], '\n') + 1
		row := c.FirstRow + 1
		for i := 0; i < lineStart; {
			e := i + bytes.IndexByte(tc.data[i:], '\n')
			if !blankJSONL(tc.data[i:e]) {
				row++
			}
			i = e + 1
		}
		return nil, &Error{File: d.in.Name, Line: c.FirstLine + int64(bytes.Count(tc.data[:p], []byte{'\n'})), Row: row,
			Msg:  fmt.Sprintf("invalid UTF-8 byte 0x%02X at byte offset %d (byte %d of the line)", tc.data[p], tc.offset+int64(p), p-lineStart+1),
			Hint: utf8Hint}
	}
	return tc, nil
}

// keyIndex maps keys to column numbers. Keys usually come in the same order
// on every line, so the column of the k-th key of the previous line is
// checked first and the map is the fallback.
type keyIndex struct {
	at    map[string]int
	names []string
	guess []int
}

func (x *keyIndex) lookup(k int, key []byte) (int, bool) {
	if k < len(x.guess) {
		if g := x.guess[k]; g >= 0 && string(key) == x.names[g] {
			return g, true
		}
	}
	j, ok := x.at[string(key)]
	if ok {
		for len(x.guess) <= k {
			x.guess = append(x.guess, -1)
		}
		x.guess[k] = j
	}
	return j, ok
}

func (x *keyIndex) add(name string) int {
	j := len(x.names)
	x.at[name] = j
	x.names = append(x.names, name)
	return j
}

// eachObject runs fn over every object of the chunk with a per-key callback.
func (d *jsonlDecoder) eachObject(c *Chunk, tc *textChunk, field func(r, k int, key []byte, v jsonRef) error, endRow func(r int) error) (int, error) {
	p := &jsonScanner{data: tc.data, file: d.in.Name, line: c.FirstLine}
	r := 0
	var scratch []byte
	for p.nextLine() {
		p.row = c.FirstRow + int64(r) + 1
		k := 0
		err := p.object(func(key []byte, esc bool, v jsonRef) error {
			if esc {
				scratch = unescapeJSON(scratch[:0], key)
				key = scratch
			}
			err := field(r, k, key, v)
			k++
			return err
		})
		if err != nil {
			return r, err
		}
		if err := p.endLine(); err != nil {
			return r, err
		}
		if endRow != nil {
			if err := endRow(r); err != nil {
				return r, err
			}
		}
		r++
	}
	if r != c.Rows {
		return r, fmt.Errorf("%s: chunk %d holds %d objects, expected %d", d.in.Name, c.Seq, r, c.Rows)
	}
	return r, nil
}

func (d *jsonlDecoder) Infer(c *Chunk) (*Evidence, error) {
	tc, err := d.payload(c)
	if err != nil {
		return nil, err
	}
	keys := &keyIndex{at: map[string]int{}}
	var cols []columnEvidence
	var stamp []int // row+1 of the last value seen per column, to catch repeated keys
	var scratch []byte
	data := tc.data
	_, err = d.eachObject(c, tc, func(r, k int, key []byte, v jsonRef) error {
		j, ok := keys.lookup(k, key)
		if !ok {
			if len(keys.names) == d.lim.columns {
				return limitError(d.in.Name, jsonlRowLine(c, r), c.FirstRow+int64(r)+1,
					fmt.Sprintf("key %q is key number %d of the file, more than the limit of %d columns", key, d.lim.columns+1, d.lim.columns), "max-columns")
			}
			j = keys.add(string(key))
			cols = append(cols, columnEvidence{name: keys.names[j], nullsKnown: true, seq: int64(c.Seq), idx: int64(j)})
			stamp = append(stamp, 0)
		}
		if stamp[j] == r+1 {
			return d.duplicate(c, r, keys.names[j])
		}
		stamp[j] = r + 1
		col := &cols[j]
		if v.kind == jNull {
			return nil
		}
		col.values++
		if col.kinds&kindString != 0 {
			return nil
		}
		switch v.kind {
		case jTrue, jFalse:
			col.kinds |= kindBool
		case jInt:
			if _, st := parseInt(data[v.start:v.end]); st == intOK {
				col.kinds |= kindInt
			} else {
				col.kinds |= kindFloat
			}
		case jFloat:
			col.kinds |= kindFloat
		case jString, jStringEsc:
			s := data[v.start:v.end]
			if v.kind == jStringEsc {
				scratch = unescapeJSON(scratch[:0], s)
				s = scratch
			}
			if d.ts && isTimestamp(s) {
				col.kinds |= kindTime
			} else {
				col.kinds |= kindString
			}
		default:
			col.kinds |= kindString
		}
		return nil
	}, nil)
	if err != nil {
		return nil, err
	}
	for i := range cols {
		cols[i].nulls = int64(c.Rows) - cols[i].values
	}
	return &Evidence{init: true, file: d.in.Name, union: true, rows: int64(c.Rows), cols: cols}, nil
}

func (d *jsonlDecoder) duplicate(c *Chunk, r int, key string) error {
	return &Error{File: d.in.Name, Line: jsonlRowLine(c, r), Row: c.FirstRow + int64(r) + 1, Column: key,
		Msg: "key appears more than once in the object", Hint: "give each key once per line"}
}

// jsonlRowLine finds the physical line of object r of a chunk.
func jsonlRowLine(c *Chunk, r int) int64 {
	tc := c.payload.(*textChunk)
	line, rec := c.FirstLine, 0
	for i := 0; i < len(tc.data); {
		e := bytes.IndexByte(tc.data[i:], '\n')
		end := len(tc.data)
		if e >= 0 {
			end = i + e
		}
		if !blankJSONL(tc.data[i:end]) {
			if rec == r {
				return line
			}
			rec++
		}
		i = end + 1
		line++
	}
	return line
}

// jsonBlockRows is the number of objects whose values are gathered before
// their columns are converted, for the same cache reasons as csvBlockRows.
const jsonBlockRows = 2048

func (d *jsonlDecoder) Decode(c *Chunk, schema *arrow.Schema) (arrow.RecordBatch, error) {
	tc, err := d.payload(c)
	if err != nil {
		return nil, err
	}
	nc := schema.NumFields()
	if need := int64(c.Rows) * int64(nc) * 8; need > d.lim.chunk {
		return nil, limitError(d.in.Name, c.FirstLine, c.FirstRow+1,
			fmt.Sprintf("the chunk of %d objects from here would take %s decoded (%d columns, most of them missing in most objects), more than the limit of %s", c.Rows, byteSize(need), nc, byteSize(d.lim.chunk)),
			"max-chunk-bytes, or read fewer objects at a time with --chunk-rows,")
	}
	keys := &keyIndex{at: make(map[string]int, nc)}
	cols := make([]jsonColumn, nc)
	for j, f := range schema.Fields() {
		keys.add(f.Name)
		if cols[j] = newJSONColumn(f.Type, c.Rows); cols[j] == nil {
			return nil, &Error{File: d.in.Name, Column: f.Name, Msg: fmt.Sprintf("cannot read JSON values as %s", f.Type),
				Hint: "use bool, int64, float64, string or timestamp columns for text inputs"}
		}
	}
	stride := max(min(jsonBlockRows, c.Rows), 1)
	refs := make([]jsonRef, stride*nc) // value of (r, j) at j*stride + r%stride
	flush := func(first, rows int) error {
		for j, col := range cols {
			block := refs[j*stride : j*stride+rows]
			if bad := col.add(block, tc.data); bad >= 0 {
				r := first + bad
				f := schema.Field(j)
				return &Error{File: d.in.Name, Line: jsonlRowLine(c, r), Row: c.FirstRow + int64(r) + 1, Column: f.Name,
					Msg:  fmt.Sprintf("cannot read the JSON value %s as %s", jsonText(tc.data, block[bad]), f.Type),
					Hint: "the schema was inferred from other data; infer it again with this file included, or fix the value"}
			}
		}
		clear(refs)
		return nil
	}
	_, err = d.eachObject(c, tc, func(r, k int, key []byte, v jsonRef) error {
		j, ok := keys.lookup(k, key)
		if !ok {
			return &Error{File: d.in.Name, Line: jsonlRowLine(c, r), Row: c.FirstRow + int64(r) + 1, Column: string(key),
				Msg: "key is not a column of the schema", Hint: "all source files must have the same columns"}
		}
		ref := &refs[j*stride+r%stride]
		if ref.kind != jMissing {
			return d.duplicate(c, r, keys.names[j])
		}
		*ref = v
		return nil
	}, func(r int) error {
		if (r+1)%stride == 0 {
			return flush(r+1-stride, stride)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if rem := c.Rows % stride; rem != 0 {
		if err := flush(c.Rows-rem, rem); err != nil {
			return nil, err
		}
	}
	arrs := make([]arrow.Array, nc)
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

// jsonColumn converts the values of one column, a block at a time.
type jsonColumn interface {
	// add converts a block of values; it returns the index of the first
	// value that does not convert, or -1.
	add(refs []jsonRef, data []byte) int
	array() (arrow.Array, error)
}

func newJSONColumn(typ arrow.DataType, rows int) jsonColumn {
	switch typ.ID() {
	case arrow.NULL:
		return &jsonNulls{n: rows}
	case arrow.BOOL:
		return &jsonBools{v: newValidity(rows), bits: make([]byte, (rows+7)/8)}
	case arrow.INT64:
		return &jsonInts{typ: typ, v: newValidity(rows), vals: make([]int64, rows)}
	case arrow.FLOAT64:
		return &jsonFloats{v: newValidity(rows), vals: make([]float64, rows)}
	case arrow.TIMESTAMP:
		mul, div := timestampScale(typ)
		return &jsonTimes{jsonInts: jsonInts{typ: typ, v: newValidity(rows), vals: make([]int64, rows)}, mul: mul, div: div}
	case arrow.STRING:
		return &jsonStrings{rows: rows, sb: newStringsBuilder(rows, 0)}
	}
	return nil
}

func isJSONNull(v jsonRef) bool { return v.kind == jMissing || v.kind == jNull }

type jsonNulls struct{ n int }

func (c *jsonNulls) add(refs []jsonRef, _ []byte) int {
	for r, v := range refs {
		if !isJSONNull(v) {
			return r
		}
	}
	return -1
}

func (c *jsonNulls) array() (arrow.Array, error) { return array.NewNull(c.n), nil }

type jsonBools struct {
	v    validity
	bits []byte
	n    int
}

func (c *jsonBools) add(refs []jsonRef, _ []byte) int {
	for r, x := range refs {
		i := c.n
		c.n++
		switch x.kind {
		case jMissing, jNull:
			c.v.nulls++
			continue
		case jTrue:
			c.bits[i>>3] |= 1 << uint(i&7)
		case jFalse:
		default:
			return r
		}
		c.v.set(i)
	}
	return -1
}

func (c *jsonBools) array() (arrow.Array, error) { return boolArray(c.n, c.bits, c.v), nil }

type jsonInts struct {
	typ  arrow.DataType
	v    validity
	vals []int64
	n    int
}

func (c *jsonInts) add(refs []jsonRef, data []byte) int {
	for r, x := range refs {
		i := c.n
		c.n++
		if isJSONNull(x) {
			c.v.nulls++
			continue
		}
		if x.kind != jInt {
			return r
		}
		v, st := parseInt(data[x.start:x.end])
		if st != intOK {
			return r
		}
		c.vals[i] = v
		c.v.set(i)
	}
	return -1
}

func (c *jsonInts) array() (arrow.Array, error) { return int64Array(c.typ, c.vals, c.v), nil }

type jsonFloats struct {
	v    validity
	vals []float64
	n    int
}

func (c *jsonFloats) add(refs []jsonRef, data []byte) int {
	for r, x := range refs {
		i := c.n
		c.n++
		if isJSONNull(x) {
			c.v.nulls++
			continue
		}
		if x.kind != jInt && x.kind != jFloat {
			return r
		}
		f, ok := parseFloat(data[x.start:x.end])
		if !ok {
			return r
		}
		c.vals[i] = f
		c.v.set(i)
	}
	return -1
}

func (c *jsonFloats) array() (arrow.Array, error) { return float64Array(c.vals, c.v), nil }

type jsonTimes struct {
	jsonInts
	mul, div int64
	scratch  []byte
}

func (c *jsonTimes) add(refs []jsonRef, data []byte) int {
	for r, x := range refs {
		i := c.n
		c.n++
		if isJSONNull(x) {
			c.v.nulls++
			continue
		}
		var s []byte
		switch x.kind {
		case jString:
			s = data[x.start:x.end]
		case jStringEsc:
			c.scratch = unescapeJSON(c.scratch[:0], data[x.start:x.end])
			s = c.scratch
		default:
			return r
		}
		us, ok := parseTimestamp(s)
		if !ok {
			return r
		}
		c.vals[i] = us * c.mul / c.div
		c.v.set(i)
	}
	return -1
}

type jsonStrings struct {
	rows int
	sb   *stringsBuilder
}

func (c *jsonStrings) add(refs []jsonRef, data []byte) int {
	if c.sb.i == 0 && len(refs) > 0 {
		size := 0
		for _, x := range refs {
			size += int(x.end - x.start)
		}
		c.sb.data = make([]byte, 0, size*c.rows/len(refs)+size/8+64)
	}
	for _, x := range refs {
		switch x.kind {
		case jMissing, jNull:
			c.sb.appendNull()
		case jStringEsc:
			c.sb.data = unescapeJSON(c.sb.data, data[x.start:x.end])
			c.sb.v.set(c.sb.i)
			c.sb.i++
			c.sb.offsets[c.sb.i] = int32(len(c.sb.data))
		default: // strings, literals, numbers and nested values keep their JSON text
			c.sb.append(data[x.start:x.end])
		}
	}
	return -1
}

func (c *jsonStrings) array() (arrow.Array, error) { return c.sb.array() }

// jsonText is a value as written, quotes included, shortened for messages.
func jsonText(data []byte, v jsonRef) string {
	b := data[v.start:v.end]
	if v.kind == jString || v.kind == jStringEsc {
		b = data[v.start-1 : v.end+1]
	}
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}
