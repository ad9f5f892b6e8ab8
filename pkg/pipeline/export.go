package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/split"
	"github.com/mldata-io/mldata/pkg/storage"
)

// Stripes is how many part files of one source file are filled at once.
// Chunk slot c (rows c·ChunkRows …) goes to stripe c mod Stripes, so that
// Stripes encoders work in parallel on one big file, while the assignment
// depends only on row positions — never on the worker count — and output
// stays byte-identical.
const Stripes = 4

// partOf returns the part index (within its file) of the chunk whose first
// row is firstRow, and the group of Stripes parts it belongs to. A part
// holds about partRows source rows.
func partOf(firstRow int64, chunkRows int, partRows int64) (part, group int) {
	slot := int(firstRow / int64(chunkRows))
	perPart := max(1, int(partRows/int64(chunkRows)))
	group = slot / (Stripes * perPart)
	return group*Stripes + slot%Stripes, group
}

// partsOf returns how many part indices a file of rows rows uses.
func partsOf(rows int64, chunkRows int, partRows int64) int {
	slots := int((rows + int64(chunkRows) - 1) / int64(chunkRows))
	if slots == 0 {
		return 0
	}
	perPart := max(1, int(partRows/int64(chunkRows)))
	last := (slots - 1) / (Stripes * perPart)
	return last*Stripes + min(Stripes, slots-last*Stripes*perPart)
}

// keepDictionaries reports whether a build may carry the string columns that
// its Parquet inputs store dictionary-encoded as dictionary arrays, from the
// reader through the split to the Parquet writer, and which columns must
// still come as plain strings. The values are the same either way, and so
// are the files written (the writer indexes a dictionary array's values in
// order of first appearance, as it does plain strings); what is saved is
// materializing every row's string, copying it into its split, and hashing
// it again into the output's dictionary: each distinct value is looked up
// once per chunk instead. Columns that other code reads row by row stay
// plain: the split key, the stratification column and the columns of
// validation rules. Only builds with a split key and Parquet output do
// this: without a key the split hashes every column of the row, and text
// output formats every value.
func keepDictionaries(cfg Config, sch *arrow.Schema) (bool, []int) {
	if cfg.OutputFormat != format.Parquet || cfg.Split.Key == "" {
		return false, nil
	}
	names := []string{cfg.Split.Key, cfg.Split.StratifyBy}
	for _, r := range cfg.Rules {
		names = append(names, r.Column)
	}
	var plain []int
	for j, f := range sch.Fields() {
		if f.Type.ID() == arrow.STRING && slices.Contains(names, f.Name) {
			plain = append(plain, j)
		}
	}
	return true, plain
}

// plainColumns returns rec with the columns cols as plain strings (see
// keepDictionaries); rec itself, retained, when they already are.
func plainColumns(rec arrow.RecordBatch, cols []int) arrow.RecordBatch {
	var arrs []arrow.Array
	for _, j := range cols {
		if rec.Column(j).DataType().ID() != arrow.DICTIONARY {
			continue
		}
		if arrs == nil {
			arrs = slices.Clone(rec.Columns())
		}
		arrs[j] = format.PlainStrings(rec.Column(j))
		defer arrs[j].Release()
	}
	if arrs == nil {
		rec.Retain()
		return rec
	}
	fields := slices.Clone(rec.Schema().Fields())
	for _, j := range cols {
		fields[j].Type = arrs[j].DataType()
	}
	md := rec.Schema().Metadata()
	return array.NewRecordBatch(arrow.NewSchema(fields, &md), arrs, rec.NumRows())
}

// chunkResult is one chunk after split: a batch per split.
type chunkResult struct {
	part   int // part index within the file (see partOf)
	group  int
	rows   int64
	nulls  []int64       // null count per column
	strata *split.Counts // rows per (stratum, split), with a stratified split
	splits []arrow.RecordBatch
}

// exporter writes one source file's rows into part files, one per (part,
// split). Each part file is encoded on its own goroutine, and the Stripes
// parts of a group fill at the same time, so encoding and compression use
// several cores and overlap with decoding; at most as many row groups as
// the file has workers are encoded at once (see partWriter.loop).
type exporter struct {
	ctx     context.Context
	out     *storage.Location
	schema  *arrow.Schema
	cfg     Config
	buildID string
	ext     string
	base    int // part number of the file's first part
	// encoders holds a token per Parquet row group being encoded (nil for
	// other formats): see partWriter.loop.
	encoders chan struct{}

	group   int
	open    map[int][]*partWriter // per part of the current group, per split
	written []*partWriter         // every writer, in creation order
	rows    int64
}

// newExporter returns an exporter whose part writers encode at most
// encoders row groups at the same time.
func newExporter(ctx context.Context, out *storage.Location, sch *arrow.Schema, cfg Config, buildID, ext string, base, encoders int) *exporter {
	e := &exporter{ctx: ctx, out: out, schema: sch, cfg: cfg, buildID: buildID, ext: ext, base: base,
		group: -1, open: map[int][]*partWriter{}}
	if cfg.OutputFormat == format.Parquet {
		e.encoders = make(chan struct{}, max(1, encoders))
	}
	return e
}

func (e *exporter) write(r chunkResult) error {
	e.rows += r.rows
	if r.group != e.group {
		e.finishGroup()
		e.group = r.group
	}
	ws := e.open[r.part]
	if ws == nil {
		ws = make([]*partWriter, len(e.cfg.Split.Names))
		e.open[r.part] = ws
	}
	var err error
	for s, rec := range r.splits {
		if err != nil || rec.NumRows() == 0 {
			rec.Release()
			continue
		}
		w := ws[s]
		if w == nil {
			w, err = e.newPart(r.part, s)
			if err != nil {
				rec.Release()
				continue
			}
			ws[s] = w
			e.written = append(e.written, w)
		}
		err = w.send(rec)
	}
	return err
}

// finishGroup lets the current group's writers drain and close in the background.
func (e *exporter) finishGroup() {
	for part, ws := range e.open {
		for _, w := range ws {
			if w != nil {
				w.finish()
			}
		}
		delete(e.open, part)
	}
}

// close waits for every part to be written and returns them. With abort set
// (or on any error) objects not yet complete are abandoned, never published.
func (e *exporter) close(abort bool) ([]manifest.Part, error) {
	if abort {
		for _, w := range e.written {
			w.abort()
		}
	}
	e.finishGroup()
	var parts []manifest.Part
	var errs []error
	for _, w := range e.written {
		p, err := w.wait()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		parts = append(parts, p)
	}
	return parts, errors.Join(errs...)
}

func (e *exporter) newPart(part, s int) (*partWriter, error) {
	name := e.cfg.Split.Names[s]
	key := manifest.PartKey(e.buildID, name, e.base+part, e.ext)
	ctx, cancel := context.WithCancel(e.ctx)
	bw, err := e.out.NewWriter(ctx, key, contentType(e.cfg.OutputFormat))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	cw := &countingWriter{w: bw, h: sha256.New()}
	fw, err := format.NewWriter(cw, e.schema, e.cfg.OutputFormat, e.cfg.Compression)
	if err != nil {
		cancel()
		bw.Close()
		return nil, err
	}
	// in is unbuffered: a batch is handed over only when the writer takes
	// it, so while the writer encodes a full row group the next batch waits
	// (and with it the decoders, through Ordered's look-ahead) instead of
	// adding one more decoded chunk per part to the heap. The parts' bytes
	// do not depend on it.
	w := &partWriter{
		encoders: e.encoders,
		part:     manifest.Part{Path: key, Split: name},
		in:       make(chan arrow.RecordBatch),
		done:     make(chan struct{}),
		cancel:   cancel,
	}
	go w.loop(fw, bw, cw)
	return w, nil
}

// partWriter encodes batches into one part file on its own goroutine.
type partWriter struct {
	encoders chan struct{}
	part     manifest.Part
	in       chan arrow.RecordBatch
	done     chan struct{}
	cancel   context.CancelFunc
	once     sync.Once
	aborted  bool
	mu       sync.Mutex
	err      error
}

func (w *partWriter) loop(fw format.Writer, bw io.WriteCloser, cw *countingWriter) {
	defer close(w.done)
	var err error
	for rec := range w.in {
		if err == nil {
			// A write that fills a row group encodes and compresses it.
			// Only as many row groups as the build has workers are encoded
			// at once: the Stripes parts of a group fill together, and
			// encoding all of them at the same time on fewer cores would
			// hold every part's encoder buffers and rows for as long as
			// the slowest takes, at no gain in CPU. Which bytes each part
			// gets does not depend on it.
			fills := w.part.Rows%format.ParquetRowGroupRows+rec.NumRows() >= format.ParquetRowGroupRows
			w.acquire(fills)
			err = fw.Write(rec)
			w.release(fills)
			w.part.Rows += rec.NumRows()
		}
		rec.Release()
		if err != nil {
			w.setErr(err)
		}
	}
	if err == nil {
		w.acquire(true)
		err = fw.Close()
		w.release(true)
	}
	w.mu.Lock()
	aborted := w.aborted
	w.mu.Unlock()
	if err != nil || aborted {
		// Cancelling before Close abandons the object: it never appears.
		w.cancel()
		bw.Close()
		if err == nil {
			err = context.Canceled
		}
	} else {
		err = bw.Close()
		w.cancel()
	}
	w.part.Bytes = cw.n
	w.part.SHA256 = hex.EncodeToString(cw.h.Sum(nil))
	if err != nil {
		w.setErr(fmt.Errorf("write %s: %w", w.part.Path, err))
	}
}

func (w *partWriter) acquire(encodes bool) {
	if encodes && w.encoders != nil {
		w.encoders <- struct{}{}
	}
}

func (w *partWriter) release(encodes bool) {
	if encodes && w.encoders != nil {
		<-w.encoders
	}
}

func (w *partWriter) setErr(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

func (w *partWriter) send(rec arrow.RecordBatch) error {
	w.mu.Lock()
	err := w.err
	w.mu.Unlock()
	if err != nil {
		rec.Release()
		return err
	}
	w.in <- rec
	return nil
}

func (w *partWriter) finish() { w.once.Do(func() { close(w.in) }) }

func (w *partWriter) abort() {
	w.mu.Lock()
	w.aborted = true
	w.mu.Unlock()
	w.finish()
}

func (w *partWriter) wait() (manifest.Part, error) {
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.part, w.err
}

// countingWriter counts and hashes (SHA-256) what a part writer writes, for
// the part's bytes and sha256 in the manifest.
type countingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

func contentType(k format.Kind) string {
	switch k {
	case format.CSV:
		return "text/csv"
	case format.JSONL:
		return "application/x-ndjson"
	default:
		return "application/vnd.apache.parquet"
	}
}
