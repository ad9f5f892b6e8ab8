package format

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

const (
	minBuffer = 1 << 20
	maxBuffer = 256 << 20
	// maxChunkBytes caps a chunk whatever ChunkRows says, which keeps field
	// offsets within int32 and memory per chunk bounded.
	maxChunkBytes = 1 << 30
)

// openText opens the input and undoes its compression. A compressed input
// that expands to more than maxBytes is an error (MaxFileBytes). With h set,
// h is reset and, for a compressed input, gets the input's bytes as they
// are read (see recordScanner.hashTo for the rest).
func openText(ctx context.Context, in Input, c Compression, maxBytes int64, h hash.Hash) (io.ReadCloser, error) {
	if in.Open == nil {
		return nil, fmt.Errorf("%s: input has no Open function", in.Name)
	}
	raw, err := in.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", in.Name, err)
	}
	raw = ctxReader{raw, ctx}
	if h != nil {
		h.Reset()
	}
	if c != Gzip && c != Zstd {
		return raw, nil
	}
	if h != nil {
		raw = hashedReader{raw, h}
	}
	br := bufio.NewReaderSize(raw, 64<<10)
	magic, _ := br.Peek(4)
	if len(magic) == 0 {
		raw.Close()
		return nil, &Error{File: in.Name, Msg: "file is empty; it needs at least a header row"}
	}
	if !hasMagic(c, magic) {
		raw.Close()
		return nil, &Error{File: in.Name, Msg: fmt.Sprintf("file is not %s data (its first bytes are % x)", c, magic),
			Hint: fmt.Sprintf("the name says %s; rename the file or set the compression explicitly", c)}
	}
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			raw.Close()
			return nil, compressionError(in.Name, Gzip, err)
		}
		return &decompressed{r: zr, raw: br, file: in.Name, c: Gzip, max: maxBytes, closeFn: func() error { zr.Close(); return raw.Close() }}, nil
	default:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			raw.Close()
			return nil, compressionError(in.Name, Zstd, err)
		}
		return &decompressed{r: zr, raw: br, file: in.Name, c: Zstd, max: maxBytes, closeFn: func() error { zr.Close(); return raw.Close() }}, nil
	}
}

// hasMagic checks the first bytes of a compressed stream, so that a file
// with a misleading name gets a clear error instead of a codec's.
func hasMagic(c Compression, b []byte) bool {
	switch c {
	case Gzip:
		return len(b) < 2 && b[0] == 0x1f || len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b
	case Zstd:
		if len(b) < 4 {
			return false
		}
		frame := b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd
		skippable := b[0]&0xf0 == 0x50 && b[1] == 0x2a && b[2] == 0x4d && b[3] == 0x18
		return frame || skippable
	}
	return true
}

// decompressed turns codec failures into *Error so that a corrupt file is
// reported as a problem with the file, not as an I/O failure.
type decompressed struct {
	r       io.Reader
	raw     io.Reader // the compressed bytes the decompressor reads from
	file    string
	c       Compression
	n       int64
	max     int64 // most decompressed bytes allowed
	closeFn func() error
}

func (d *decompressed) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.n += int64(n)
	if d.max > 0 && d.n > d.max {
		return n, limitError(d.file, 0, 0, fmt.Sprintf("file expands to more than %s when decompressed", byteSize(d.max)), "max-file-bytes")
	}
	if err != nil && err != io.EOF {
		var fe *Error
		if errors.As(err, &fe) {
			return n, err
		}
		e := compressionError(d.file, d.c, err)
		e.Msg += fmt.Sprintf(" (after %d decompressed bytes)", d.n)
		return n, e
	}
	return n, err
}

func (d *decompressed) Close() error { return d.closeFn() }

// hashedReader writes what it reads to h.
type hashedReader struct {
	io.ReadCloser
	h hash.Hash
}

func (r hashedReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.h.Write(p[:n])
	return n, err
}

func compressionError(file string, c Compression, err error) *Error {
	what := "corrupt"
	if errors.Is(err, io.ErrUnexpectedEOF) {
		what = "truncated"
	}
	return &Error{File: file, Msg: fmt.Sprintf("%s data is %s: %v", c, what, err),
		Hint: fmt.Sprintf("check that the file is a complete %s file, or set the compression explicitly", c)}
}

// recordScanner cuts a text stream into records: lines, except that in CSV
// a newline inside a quoted field does not end a record. It tracks quote
// parity instead of parsing fields, which lets bytes.IndexByte do the work:
// in RFC 4180 a record ends at the first newline after an even number of
// quotes. Field parsing happens later, in parallel, on whole chunks.
type recordScanner struct {
	r     io.Reader
	file  string
	quote bool     // track '"' parity (CSV)
	delim byte     // CSV field delimiter, to explain unterminated quotes
	names []string // CSV header, to name the column of an unterminated quote
	done  int64    // records already handed out in chunks
	blank func([]byte) bool

	buf  []byte
	n    int   // buf[:n] holds data
	base int64 // stream offset of buf[0]
	eof  bool
	keep int // buf[keep:] must survive a buffer change (the open chunk)
	want int // preferred buffer size
	// While chunks cuts its first chunk (want not yet set from one),
	// perChunk is the records it wants per chunk and open the records it
	// has, which give an estimate of the chunk's size (see fill).
	perChunk, open int
	// size is the length of the stream when known (0 if not), which no
	// buffer needs to exceed.
	size int64

	pos      int   // next byte to scan, always at a line start
	line     int64 // 1-based line number at pos
	recStart int   // start of the current record
	recLine  int64 // line of recStart
	inQuote  bool
	qpos     int // next '"' at or after pos if qfound, else scanned-up-to limit
	qfound   bool

	maxRecord  int // longest record, 0 for maxChunkBytes (MaxRecordBytes)
	chunkBytes int // chunks are cut at this size, 0 for maxChunkBytes (MaxChunkBytes)

	// tap, when set, gets every byte read, in order (see hashTo). The
	// bytes stay put: a buffer is not written again until every reader of
	// it is done (see textBuf).
	tap chan tapped

	// pool, when set, recycles the buffers: the chunks cut hold their
	// buffer (holdBuf) and release it when done, and cur is buf's
	// textBuf, with a reference for the scanner. Without a pool, cur is
	// nil and every buffer is fresh memory.
	pool *bufPool
	cur  *textBuf
}

// tapped is a slice of a buffer on its way to the tap, which holds the
// buffer until it has read it.
type tapped struct {
	b   []byte
	buf *textBuf
}

// textBuf is a buffer that text is read into, shared by the chunks cut from
// it, the scanner while it reads into it, and the hashing of its bytes, each
// holding a reference. When the last reference is dropped the buffer goes
// back to its pass's pool, and the pass reads later chunks into it instead
// of into fresh memory, which the kernel hands out and clears a page at a
// time (and the garbage collector must then reclaim): a pass over a large
// file touches a few buffers' worth of memory, not the file's size. A nil
// *textBuf is a buffer that is never reused.
type textBuf struct {
	b    []byte
	refs atomic.Int32
	pool *bufPool
}

func (p *bufPool) newTextBuf(b []byte) *textBuf {
	t := &textBuf{b: b, pool: p}
	t.refs.Store(1)
	return t
}

func (t *textBuf) hold() *textBuf {
	if t != nil {
		t.refs.Add(1)
	}
	return t
}

func (t *textBuf) drop() {
	if t != nil && t.refs.Add(-1) == 0 {
		t.pool.put(t.b)
		t.b = nil
	}
}

// bufPool holds the buffers of one pass that nothing reads any more. It
// lives as long as the pass: buffers released after close are left to the
// garbage collector, so that no memory is kept between passes.
type bufPool struct {
	mu     sync.Mutex
	free   [][]byte
	closed bool
	fresh  int // buffers allocated
}

func (p *bufPool) put(b []byte) {
	p.mu.Lock()
	if !p.closed && len(p.free) < maxFree {
		p.free = append(p.free, b)
	}
	p.mu.Unlock()
}

// maxFree is the most free buffers a pool keeps. A pass takes a buffer
// soon after one is freed, so more than this are idle memory (a burst of
// chunks read ahead at the start of a pass, say).
const maxFree = 2

// get returns n bytes of a free buffer, or of fresh memory when none is
// large enough; free buffers too small are dropped. The contents are
// undefined.
func (p *bufPool) get(n int) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.free) > 0 {
		b := p.free[len(p.free)-1]
		p.free[len(p.free)-1] = nil
		p.free = p.free[:len(p.free)-1]
		if cap(b) >= n {
			return b[:n]
		}
	}
	p.fresh++
	return make([]byte, n, n+n/16) // buffers of one pass differ a little in size
}

func (p *bufPool) close() {
	p.mu.Lock()
	p.closed, p.free = true, nil
	p.mu.Unlock()
}

// tapRead is the most bytes one read takes when a tap is set, so that the
// tap starts on the first bytes of a large read while the scanner works
// through the rest.
const tapRead = 1 << 20

// setLimits applies Options' record and chunk limits.
func (s *recordScanner) setLimits(l limits) {
	s.maxRecord = int(min(int64(l.record), maxChunkBytes))
	s.chunkBytes = int(min(l.chunk, maxChunkBytes))
}

func (s *recordScanner) recordLimit() int {
	if s.maxRecord > 0 {
		return s.maxRecord
	}
	return maxChunkBytes
}

func (s *recordScanner) chunkLimit() int {
	if s.chunkBytes > 0 {
		return s.chunkBytes
	}
	return maxChunkBytes
}

func newRecordScanner(r io.Reader, file string, quote bool, blank func([]byte) bool) *recordScanner {
	return &recordScanner{r: r, file: file, quote: quote, blank: blank, line: 1, want: minBuffer}
}

// fill reads more data, moving the live part of the buffer to a new one
// when it is full. Bytes before keep belong to chunks already handed out and
// are not written again while anything holds the buffer (see textBuf). A
// new buffer is sized for about two chunks and no more than the rest of the
// stream, when its length is known.
func (s *recordScanner) fill() error {
	if s.n == len(s.buf) {
		live := s.n - s.keep
		size := max(s.want, 2*live, minBuffer)
		if s.open > 0 && s.perChunk > s.open {
			// The first chunk is still open: rather than double the
			// buffer (copying the chunk so far each time) until it
			// holds it, size it for the chunk at the bytes per record
			// so far, as flush does, but at most 8 times what it
			// holds, in case the first records are not typical.
			// (A record has a byte at least, so no chunk has more
			// records than chunkLimit: the product stays far from
			// overflowing.)
			per := min(int64(s.perChunk), int64(s.chunkLimit()))
			est := min(int64(s.recStart-s.keep)*per/int64(s.open), int64(s.chunkLimit()))
			size = max(size, int(min(2*est+est/4, int64(maxBuffer), 8*int64(live))))
		}
		if s.size > 0 {
			size = int(min(int64(size), s.size-s.base-int64(s.keep)+1))
		}
		// Never more than the open chunk plus a record at the limit: a
		// record that fills that without ending is too long.
		size = max(min(size, s.recStart-s.keep+s.recordLimit()), live+1)
		var nb []byte
		if s.pool != nil {
			nb = s.pool.get(size)
			s.cur.drop()
			s.cur = s.pool.newTextBuf(nb)
		} else {
			nb = make([]byte, size)
		}
		copy(nb, s.buf[s.keep:s.n])
		d := s.keep
		s.buf = nb
		s.base += int64(d)
		s.n -= d
		s.pos -= d
		s.recStart -= d
		s.qpos -= d
		s.keep = 0
	}
	for {
		end := len(s.buf)
		if s.tap != nil {
			end = min(end, s.n+tapRead)
		}
		m, err := s.r.Read(s.buf[s.n:end])
		if m > 0 && s.tap != nil {
			s.tap <- tapped{s.buf[s.n : s.n+m], s.cur.hold()}
		}
		s.n += m
		if err == io.EOF {
			s.eof = true
			return nil
		}
		if err != nil {
			var fe *Error
			if errors.As(err, &fe) {
				return err
			}
			return fmt.Errorf("read %s: %w", s.file, err)
		}
		if m > 0 {
			return nil
		}
	}
}

// hashTo completes Options.Hash, h, for a pass that reads rc (opened by
// openText with h) to its end; the returned function, deferred, ends the
// pass's hashing. Uncompressed bytes are hashed as the scanner reads them,
// in order, on a goroutine of its own: hashing a file then costs the
// reading goroutine nothing, and it overlaps with finding records and with
// the chunks' inference. The compressed bytes of a compressed input are
// hashed as the decompressor reads them; when the pass succeeded (*err is
// nil), what the decompressor left unread after the end of its data is
// read and hashed too, so that h always has the whole file.
func (s *recordScanner) hashTo(h hash.Hash, rc io.Reader, err *error) (end func()) {
	if d, ok := rc.(*decompressed); ok {
		return func() {
			if *err == nil {
				if _, derr := io.Copy(io.Discard, d.raw); derr != nil {
					*err = fmt.Errorf("read %s: %w", s.file, derr)
				}
			}
		}
	}
	ch := make(chan tapped, 4) // a few MiB behind the reader at most
	done := make(chan struct{})
	go func() {
		defer close(done)
		for t := range ch {
			h.Write(t.b)
			t.buf.drop()
		}
	}()
	s.tap = ch
	return func() {
		close(ch)
		<-done
		s.tap = nil
	}
}

// skipBOM drops a UTF-8 byte order mark at the start of the stream, which
// spreadsheet programs write and which would otherwise end up in the first
// column's name.
func (s *recordScanner) skipBOM() error {
	for s.n < 3 && !s.eof {
		if err := s.fill(); err != nil {
			return err
		}
	}
	if s.n >= 3 && s.buf[0] == 0xEF && s.buf[1] == 0xBB && s.buf[2] == 0xBF {
		s.pos, s.keep, s.qpos = 3, 3, 3
	}
	return nil
}

func (s *recordScanner) empty() bool { return s.eof && s.n == 0 }

// holdBuf returns the current buffer with a reference for a chunk cut from
// it (nil without recycle).
func (s *recordScanner) holdBuf() *textBuf { return s.cur.hold() }

// close ends the scanner's use of its buffer: it is reused once the chunks
// cut from it are released.
func (s *recordScanner) close() {
	s.cur.drop()
	s.cur, s.buf = nil, nil
	if s.pool != nil {
		s.pool.close()
	}
}

// next scans the next record, which is then buf[recStart:pos]. It returns
// false at the end of the input.
func (s *recordScanner) next() (bool, error) {
	s.recStart, s.recLine = s.pos, s.line
	// from is where the search for '\n' resumes, as a stream offset (fill
	// may move the buffer): a long line is scanned once, not once per read.
	from := s.base + int64(s.pos)
	for {
		at := int(from - s.base)
		i := bytes.IndexByte(s.buf[at:s.n], '\n')
		if i >= 0 {
			i += at - s.pos
		}
		if i < 0 {
			from = s.base + int64(s.n)
			if !s.eof {
				if s.n-s.recStart >= s.recordLimit() {
					e := limitError(s.file, s.recLine, 0, fmt.Sprintf("record is longer than %s", byteSize(int64(s.recordLimit()))), "max-record-bytes")
					if s.quote {
						e.Hint = "check the quoting (an unclosed quote makes the rest of the file one field), or " + e.Hint
					}
					return false, e
				}
				if err := s.fill(); err != nil {
					return false, err
				}
				continue
			}
			if s.pos == s.n && s.recStart == s.pos {
				return false, nil
			}
			// The last record has no final newline.
			s.flipQuotes(s.n)
			s.pos = s.n
			if s.inQuote {
				return false, s.unterminated()
			}
			return true, nil
		}
		end := s.pos + i
		s.flipQuotes(end)
		s.pos = end + 1
		s.line++
		if !s.inQuote {
			return true, nil
		}
		from = s.base + int64(s.pos)
	}
}

// flipQuotes updates the quote parity for buf[pos:end]. Most lines hold no
// quote at all; the position of the next quote is cached so that such lines
// cost nothing.
func (s *recordScanner) flipQuotes(end int) {
	if !s.quote {
		return
	}
	if (s.qfound && s.qpos < s.pos) || (!s.qfound && s.qpos < s.n) {
		from := s.pos
		if !s.qfound && s.qpos > from {
			from = s.qpos // no quote in [pos, qpos)
		}
		if j := bytes.IndexByte(s.buf[from:s.n], '"'); j >= 0 {
			s.qpos, s.qfound = from+j, true
		} else {
			s.qpos, s.qfound = s.n, false
		}
	}
	if s.qfound && s.qpos < end {
		if bytes.Count(s.buf[s.pos:end], []byte{'"'})&1 == 1 {
			s.inQuote = !s.inQuote
		}
	}
}

// unterminated reports an open quote at the end of the input, at the line
// where the quoted field started.
func (s *recordScanner) unterminated() error {
	rec := s.buf[s.recStart:s.n]
	line := s.recLine
	at, field, atField := line, 0, 0
	column := func(i int) string {
		if i < len(s.names) {
			return s.names[i]
		}
		return ""
	}
	fieldStart, inq := true, false
	for i := 0; i < len(rec); i++ {
		c := rec[i]
		switch {
		case inq:
			if c == '"' {
				if i+1 < len(rec) && rec[i+1] == '"' {
					i++
				} else {
					inq = false
				}
			}
		case fieldStart && c == '"':
			inq, at, atField = true, line, field
		case c == '"':
			return &Error{File: s.file, Line: line, Column: column(field), Msg: `a quote appears inside an unquoted field`,
				Hint: `quote the whole field and double the quotes inside it ("a ""b"" c")`}
		case c == s.delim:
			field++
		}
		fieldStart = !inq && (c == s.delim || c == '\n')
		if c == '\n' {
			line++
		}
	}
	return &Error{File: s.file, Line: at, Column: column(atField), Msg: "quoted field is never closed (unterminated quote)",
		Hint: `close the quote, and double any quote inside a quoted field ("")`}
}

// chunks cuts the rest of the input into chunks of up to rows non-blank
// records and at most maxChunkBytes bytes. Blank records between chunks are
// dropped so that each chunk starts at a record. It emits one empty chunk if
// the input has no records, so that callers always see the columns.
func (s *recordScanner) chunks(ctx context.Context, rows int, emit func(data []byte, line, offset int64, rows int) error) error {
	s.keep = s.pos
	s.perChunk = rows
	chunkLine := s.line
	n, emitted := 0, false
	flush := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		size := s.pos - s.keep
		if err := emit(s.buf[s.keep:s.pos:s.pos], chunkLine, s.base+int64(s.keep), n); err != nil {
			return err
		}
		// Size the next buffer for about two chunks like this one.
		s.want = min(max(2*size+size/4, minBuffer), maxBuffer)
		s.perChunk, s.open = 0, 0
		s.done += int64(n)
		s.keep, chunkLine, n, emitted = s.pos, s.line, 0, true
		return nil
	}
	for {
		ok, err := s.next()
		if err != nil {
			if fe, isFE := err.(*Error); isFE && fe.Line > 0 && fe.Row == 0 {
				fe.Row = s.done + int64(n) + 1
			}
			return err
		}
		if !ok {
			break
		}
		if s.blank(s.buf[s.recStart:s.pos]) {
			if n == 0 {
				s.keep, chunkLine = s.pos, s.line
			}
			continue
		}
		if n > 0 && s.pos-s.keep > s.chunkLimit() {
			// Cut before this record; it starts the next chunk.
			end, endLine := s.pos, s.line
			s.pos, s.line = s.recStart, s.recLine
			if err := flush(); err != nil {
				return err
			}
			s.pos, s.line = end, endLine
		}
		n++
		s.open = n
		if n == rows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if n > 0 || !emitted {
		return flush()
	}
	return nil
}

func blankCSV(rec []byte) bool {
	switch len(rec) {
	case 1:
		return rec[0] == '\n' || rec[0] == '\r'
	case 2:
		return rec[0] == '\r' && rec[1] == '\n'
	}
	return false
}

func blankJSONL(rec []byte) bool {
	for _, c := range rec {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// byteSize writes n bytes in the largest binary unit not above it, as the
// flags take them: exact multiples without decimals (64MiB, 1GiB), others
// with one (78.1KiB).
func byteSize(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift {
			if n%(1<<u.shift) == 0 {
				return fmt.Sprintf("%d%s", n>>u.shift, u.name)
			}
			return fmt.Sprintf("%.1f%s", float64(n)/float64(int64(1)<<u.shift), u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
