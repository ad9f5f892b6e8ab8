package format

import (
	"bytes"
	"context"
	"fmt"
	"io"
)

// Reading part of a text file. A pass over a whole uncompressed CSV or
// JSONL file (Chunks) says where each of its chunks starts (CutOf). With
// such a cut, ChunksFrom cuts the chunks of a range of the file — from the
// cut up to the start of a later chunk — exactly as the whole pass cut
// them, reading only the range's bytes (and, for CSV, the bytes before the
// first chunk, which hold the header). A chunk always starts a record
// outside any quoted field, so the cut needs no quote state: a range
// starts at a record boundary whatever quoted newlines the file holds.
// Compressed files have no cuts: their byte offsets are not offsets in the
// file.

// Cut is where a chunk of an uncompressed text file starts.
type Cut struct {
	// Offset is the byte offset of the chunk's first record in the file.
	Offset int64 `json:"offset"`
	// Seq, Row and Line are the chunk's number, its first row (0-based)
	// and the line of its first record (1-based), as in Chunk.
	Seq  int   `json:"seq"`
	Row  int64 `json:"row"`
	Line int64 `json:"line"`
	// PerChunk is the number of records per chunk the pass cut with
	// (Options.ChunkRows, lowered for wide files).
	PerChunk int `json:"per_chunk"`
}

// rangeable is the perChunk of a text chunk: per when the input is not
// compressed, so that its offsets are file offsets; else 0.
func rangeable(c Compression, per int) int {
	if c != None {
		return 0
	}
	return per
}

// CutOf returns where chunk c starts, when c is a chunk of an uncompressed
// CSV or JSONL file cut by Chunks; false for other chunks (Parquet,
// compressed text, or chunks replayed from an Index).
func CutOf(c *Chunk) (Cut, bool) {
	tc, ok := c.payload.(*textChunk)
	if !ok || tc.perChunk <= 0 {
		return Cut{}, false
	}
	return Cut{Offset: tc.offset, Seq: c.Seq, Row: c.FirstRow, Line: c.FirstLine, PerChunk: tc.perChunk}, true
}

// ChunksFrom cuts a range of an uncompressed CSV or JSONL input into chunks
// as Chunks cuts the whole input, numbered from the cut from on: r holds
// the input's bytes from from.Offset up to the start of a later chunk or
// the end of the input. For CSV, head holds the input's bytes before its
// first chunk (the header, after any byte order mark and blank lines);
// JSONL needs none. The chunks decode with any decoder NewDecoder makes for
// in with opt; in's Open and ReaderAt are not used.
//
// As with NewDecoder's decoders, a panic while cutting is an *Error naming
// the file; a panic in emit is passed on.
func ChunksFrom(ctx context.Context, in Input, opt Options, head []byte, r io.Reader, from Cut, emit func(*Chunk) error) (err error) {
	d, kind, err := newDecoder(in, opt)
	if err != nil {
		return err
	}
	g := &guarded{d: d, in: in, kind: kind}
	defer func() {
		if v := recover(); v != nil {
			if ep, ok := v.(emitPanic); ok {
				panic(ep.v)
			}
			err = g.panicError("cutting a range of it into chunks", v)
		}
	}()
	return chunksFrom(ctx, d, in, head, r, from, func(c *Chunk) error {
		defer func() {
			if v := recover(); v != nil {
				panic(emitPanic{v})
			}
		}()
		return emit(c)
	})
}

func chunksFrom(ctx context.Context, d Decoder, in Input, head []byte, r io.Reader, from Cut, emit func(*Chunk) error) error {
	var err error
	if from.PerChunk <= 0 || from.Offset < 0 || from.Row < 0 || from.Line < 1 {
		return fmt.Errorf("%s: range starts at an invalid cut %+v", in.Name, from)
	}
	var (
		s   *recordScanner
		hdr *csvHeader
	)
	switch d := d.(type) {
	case *csvDecoder:
		if d.comp != None {
			return fmt.Errorf("%s: a %s-compressed file cannot be read in ranges", in.Name, d.comp)
		}
		if hdr, err = d.headerOf(head); err != nil {
			return err
		}
		if per := d.lim.chunkRows(d.rows, len(hdr.names)); per != from.PerChunk {
			return fmt.Errorf("%s: the range was cut with %d records per chunk, these options give %d; read it with the options of the pass that cut it", in.Name, from.PerChunk, per)
		}
		s = newRecordScanner(ctxReader{io.NopCloser(r), ctx}, in.Name, true, blankCSV)
		s.delim, s.names = d.delim, hdr.names
		s.setLimits(d.lim)
	case *jsonlDecoder:
		if d.comp != None {
			return fmt.Errorf("%s: a %s-compressed file cannot be read in ranges", in.Name, d.comp)
		}
		s = newRecordScanner(ctxReader{io.NopCloser(r), ctx}, in.Name, false, blankJSONL)
		s.setLimits(d.lim)
	default:
		return fmt.Errorf("%s: only CSV and JSONL files are read in byte ranges", in.Name)
	}
	// The scanner resumes where the whole pass stood when it started the
	// chunk: at a record, outside quotes, with from.Row records handed out.
	s.base, s.line, s.done = from.Offset, from.Line, from.Row
	seq, row := from.Seq, from.Row
	return s.chunks(ctx, from.PerChunk, func(data []byte, line, offset int64, n int) error {
		if n == 0 {
			return &Error{File: in.Name, Line: line, Msg: fmt.Sprintf("no record at byte offset %d, where the range should start", from.Offset),
				Hint: "the file changed since its ranges were planned; plan the build again"}
		}
		c := &Chunk{Seq: seq, FirstRow: row, FirstLine: line, Rows: n, payload: &textChunk{data: data, offset: offset, header: hdr, perChunk: from.PerChunk}}
		seq++
		row += int64(n)
		return emit(c)
	})
}

// headerOf parses the header record from head, the bytes of a CSV file
// before its first chunk, as Chunks does at the start of the file.
func (d *csvDecoder) headerOf(head []byte) (*csvHeader, error) {
	s := newRecordScanner(bytes.NewReader(head), d.in.Name, true, blankCSV)
	s.delim = d.delim
	s.setLimits(d.lim)
	if err := s.skipBOM(); err != nil {
		return nil, err
	}
	for {
		ok, err := s.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &Error{File: d.in.Name, Msg: fmt.Sprintf("no header in the first %d bytes", len(head)),
				Hint: "the file changed since its ranges were planned; plan the build again"}
		}
		if !blankCSV(s.buf[s.recStart:s.pos]) {
			return d.parseHeader(s.buf[s.recStart:s.pos], s.recLine, s.base+int64(s.recStart))
		}
	}
}
