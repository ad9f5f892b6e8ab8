package format

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
)

// guarded wraps every Decoder NewDecoder returns. It turns a panic inside
// the decoder into an *Error naming the file (arrow-go's Parquet readers
// panic on some corrupt pages instead of returning an error), and checks a
// Parquet footer against the limits before any page is read.
//
// Panics raised by the caller's emit function are the caller's and are
// passed on unchanged.
type guarded struct {
	d    Decoder
	in   Input
	kind Kind
	lim  limits
}

// panicError converts a recovered decoder panic into an *Error. The stack
// is left out: on corrupt input it says nothing the user can act on.
func (g *guarded) panicError(what string, v any) *Error {
	return &Error{File: g.in.Name, Msg: fmt.Sprintf("%s data is corrupt: the %s reader failed while %s: %v", g.kind, g.kind, what, v),
		Hint: fmt.Sprintf("check that the file is a complete %s file written by a correct writer; rewrite or remove it", g.kind)}
}

// emitPanic carries a panic out of the caller's emit function through
// guarded's recover.
type emitPanic struct{ v any }

func (g *guarded) Chunks(ctx context.Context, emit func(*Chunk) error) (err error) {
	if g.kind == Parquet {
		if err := g.checkParquet(); err != nil {
			return err
		}
	}
	defer func() {
		if v := recover(); v != nil {
			if ep, ok := v.(emitPanic); ok {
				panic(ep.v)
			}
			err = g.panicError("cutting it into chunks", v)
		}
	}()
	return g.d.Chunks(ctx, func(c *Chunk) (err error) {
		defer func() {
			if v := recover(); v != nil {
				panic(emitPanic{v})
			}
		}()
		return emit(c)
	})
}

func (g *guarded) Infer(c *Chunk) (ev *Evidence, err error) {
	defer func() {
		if v := recover(); v != nil {
			ev, err = nil, g.panicError(fmt.Sprintf("inferring types of rows %d-%d", c.FirstRow+1, c.FirstRow+int64(c.Rows)), v)
		}
	}()
	return g.d.Infer(c)
}

func (g *guarded) Decode(c *Chunk, schema *arrow.Schema) (rec arrow.RecordBatch, err error) {
	defer func() {
		if v := recover(); v != nil {
			rec, err = nil, g.panicError(fmt.Sprintf("decoding rows %d-%d", c.FirstRow+1, c.FirstRow+int64(c.Rows)), v)
		}
	}()
	return g.d.Decode(c, schema)
}

// checkParquet reads the footer and refuses files beyond the limits: more
// leaf columns than MaxColumns, a column chunk whose pages expand beyond
// MaxChunkBytes (a dictionary page can hold gigabytes that compress to
// nothing), or column chunks expanding beyond MaxFileBytes in all. Files
// without random access are left to the decoder, which reports that.
func (g *guarded) checkParquet() (err error) {
	if g.in.ReaderAt == nil {
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			err = g.panicError("reading the footer", v)
		}
	}()
	r, err := openParquetReader(g.in)
	if err != nil {
		return nil // the decoder reports a bad footer in its own words
	}
	defer r.Close()
	meta := r.MetaData()
	if n := meta.Schema.NumColumns(); n > g.lim.columns {
		return limitError(g.in.Name, 0, 0, fmt.Sprintf("file has %d columns, more than the limit of %d", n, g.lim.columns), "max-columns")
	}
	var total, row int64
	for rg := 0; rg < meta.NumRowGroups(); rg++ {
		rgm := meta.RowGroup(rg)
		for c := 0; c < rgm.NumColumns(); c++ {
			cc, err := rgm.ColumnChunk(c)
			if err != nil {
				continue
			}
			// The reader allocates a column chunk's compressed bytes
			// as the footer states them, before reading: they must lie
			// within the file.
			start, clen := cc.DataPageOffset(), cc.TotalCompressedSize()
			if d := cc.DictionaryPageOffset(); cc.HasDictionaryPage() && d > 0 && d < start {
				start = d
			}
			if start < 0 || clen < 0 || start > g.in.Size || clen > g.in.Size-start {
				return &Error{File: g.in.Name, Row: row + 1, Column: meta.Schema.Column(c).Name(),
					Msg:  fmt.Sprintf("row group %d's column chunk is placed at bytes %d to %d by the footer, beyond the end of the %d-byte file", rg, start, start+clen, g.in.Size),
					Hint: "the file is truncated or corrupt: " + parquetHint}
			}
			size := cc.TotalUncompressedSize()
			if size > g.lim.chunk || size < 0 {
				return &Error{File: g.in.Name, Row: row + 1, Column: meta.Schema.Column(c).Name(),
					Msg:  fmt.Sprintf("row group %d's column chunk expands to %s, more than the limit of %s", rg, byteSize(size), byteSize(g.lim.chunk)),
					Hint: "raise the limit with --max-chunk-bytes if the input is meant to be like this, or rewrite the file with smaller row groups"}
			}
			total += size
			if total > g.lim.file {
				return limitError(g.in.Name, 0, 0, fmt.Sprintf("file expands to more than %s when its pages are decompressed", byteSize(g.lim.file)), "max-file-bytes")
			}
		}
		row += rgm.NumRows()
	}
	return nil
}

// ctxReader fails reads with ctx's error once ctx is done: local files and
// decompressors never look at a context, and a long record is read in many
// reads between two chunk boundaries, where the scanner checks it.
type ctxReader struct {
	io.ReadCloser
	ctx context.Context
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.ReadCloser.Read(p)
}

// guardedColumns is guarded for decoders that read only the columns asked
// for (Parquet), keeping that ability behind the guard.
type guardedColumns struct{ guarded }

func (g *guardedColumns) DecodeColumns(c *Chunk, schema *arrow.Schema, cols []int) (rec arrow.RecordBatch, err error) {
	defer func() {
		if v := recover(); v != nil {
			rec, err = nil, g.panicError(fmt.Sprintf("decoding rows %d-%d", c.FirstRow+1, c.FirstRow+int64(c.Rows)), v)
		}
	}()
	return g.d.(ColumnDecoder).DecodeColumns(c, schema, cols)
}

func (g *guardedColumns) DecodeDictionaries(c *Chunk, schema *arrow.Schema, cols []int, drops *ColumnDrops) (rec arrow.RecordBatch, err error) {
	defer func() {
		if v := recover(); v != nil {
			rec, err = nil, g.panicError(fmt.Sprintf("decoding rows %d-%d", c.FirstRow+1, c.FirstRow+int64(c.Rows)), v)
		}
	}()
	if dd, ok := g.d.(DictionaryDecoder); ok {
		return dd.DecodeDictionaries(c, schema, cols, drops)
	}
	return g.d.(ColumnDecoder).DecodeColumns(c, schema, cols)
}

// guardedReplay is guarded for decoders that replay the chunks of their
// first pass (CSV), keeping that ability behind the guard.
type guardedReplay struct{ guarded }

func (g *guardedReplay) Index() *Index { return g.d.(Replayer).Index() }

func (g *guardedReplay) Replay(ctx context.Context, idx *Index, emit func(*Chunk) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			if ep, ok := v.(emitPanic); ok {
				panic(ep.v)
			}
			err = g.panicError("cutting it into chunks", v)
		}
	}()
	return g.d.(Replayer).Replay(ctx, idx, func(c *Chunk) (err error) {
		defer func() {
			if v := recover(); v != nil {
				panic(emitPanic{v})
			}
		}()
		return emit(c)
	})
}

// guard wraps d in the guard that keeps d's optional abilities.
func guard(d Decoder, in Input, kind Kind, lim limits) Decoder {
	g := guarded{d: d, in: in, kind: kind, lim: lim}
	switch d.(type) {
	case ColumnDecoder:
		return &guardedColumns{g}
	case Replayer:
		return &guardedReplay{g}
	}
	return &g
}
