package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/storage"
)

// chunkResult is one chunk after split: a batch per split.
type chunkResult struct {
	part   int // part index within the file, from the chunk's first row
	rows   int64
	nulls  []int64 // null count per column
	splits []arrow.RecordBatch
}

// exporter writes one source file's rows into part files, one per (part,
// split). Each part file is encoded on its own goroutine, so encoding and
// compression overlap with decoding, and a finished part completes in the
// background while the next one fills.
type exporter struct {
	ctx     context.Context
	out     *storage.Location
	schema  *arrow.Schema
	cfg     Config
	buildID string
	ext     string
	base    int // part number of the file's first part

	cur     int
	open    []*partWriter // per split, for part cur
	written []*partWriter // every writer, in (part, split) order
	rows    int64
}

func newExporter(ctx context.Context, out *storage.Location, sch *arrow.Schema, cfg Config, buildID, ext string, base int) *exporter {
	return &exporter{ctx: ctx, out: out, schema: sch, cfg: cfg, buildID: buildID, ext: ext, base: base,
		cur: -1, open: make([]*partWriter, len(cfg.Split.Names))}
}

func (e *exporter) write(r chunkResult) error {
	e.rows += r.rows
	if r.part != e.cur {
		e.finishPart()
		e.cur = r.part
	}
	var err error
	for s, rec := range r.splits {
		if err != nil || rec.NumRows() == 0 {
			rec.Release()
			continue
		}
		w := e.open[s]
		if w == nil {
			w, err = e.newPart(s)
			if err != nil {
				rec.Release()
				continue
			}
			e.open[s] = w
			e.written = append(e.written, w)
		}
		err = w.send(rec)
	}
	return err
}

// finishPart lets the current part's writers drain and close in the background.
func (e *exporter) finishPart() {
	for s, w := range e.open {
		if w != nil {
			w.finish()
			e.open[s] = nil
		}
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
	e.finishPart()
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

func (e *exporter) newPart(s int) (*partWriter, error) {
	name := e.cfg.Split.Names[s]
	key := manifest.PartKey(e.buildID, name, e.base+e.cur, e.ext)
	ctx, cancel := context.WithCancel(e.ctx)
	bw, err := e.out.NewWriter(ctx, key, contentType(e.cfg.OutputFormat))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	cw := &countingWriter{w: bw}
	fw, err := format.NewWriter(cw, e.schema, e.cfg.OutputFormat, e.cfg.Compression)
	if err != nil {
		cancel()
		bw.Close()
		return nil, err
	}
	w := &partWriter{
		part:   manifest.Part{Path: key, Split: name},
		in:     make(chan arrow.RecordBatch, 4),
		done:   make(chan struct{}),
		cancel: cancel,
	}
	go w.loop(fw, bw, cw)
	return w, nil
}

// partWriter encodes batches into one part file on its own goroutine.
type partWriter struct {
	part     manifest.Part
	in       chan arrow.RecordBatch
	done     chan struct{}
	cancel   context.CancelFunc
	once     sync.Once
	aborted  bool
	mu       sync.Mutex
	err      error
	finished bool
}

func (w *partWriter) loop(fw format.Writer, bw io.WriteCloser, cw *countingWriter) {
	defer close(w.done)
	var err error
	for rec := range w.in {
		if err == nil {
			err = fw.Write(rec)
			w.part.Rows += rec.NumRows()
		}
		rec.Release()
		if err != nil {
			w.setErr(err)
		}
	}
	if err == nil {
		err = fw.Close()
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
	if err != nil {
		w.setErr(fmt.Errorf("write %s: %w", w.part.Path, err))
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

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
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
