package dataset

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/storage"
)

// OpenFile prepares one file for scanning without inspecting it: nothing is
// inferred or counted, and Schema and Rows stay unset. A shard of a sharded
// build opens the files its plan assigns it whole this way, since the plan
// already inferred, counted and hashed them. A remote file is spooled (and
// hashed on the way: File.SHA256) unless Inspect would read it with ranged
// requests; a local one is read in place. No file stays open between scans.
func OpenFile(ctx context.Context, loc *storage.Location, obj storage.Object, opt Options) (*File, error) {
	kind, err := kindOf(obj, opt)
	if err != nil {
		return nil, err
	}
	f := &File{Object: obj, Kind: kind}
	if err := f.prepare(ctx, loc, opt); err != nil {
		return nil, err
	}
	if f.cleanup == nil { // read in place or with ranged requests
		f.input = countInput(f.input, &f.read)
		f.count = true
	} else {
		f.read.Add(f.input.Size) // the spool read it all
	}
	return f, nil
}

// Range is a run of chunks of an uncompressed CSV or JSONL file: from the
// chunk that starts at From (see Cuts) up to byte End, where a later chunk
// starts or the file ends.
type Range struct {
	From format.Cut `json:"from"`
	End  int64      `json:"end"`
}

// OpenRanges prepares part of one file for scanning, reading only what the
// part needs. For CSV and JSONL that is the bytes of ranges, each cut into
// chunks as a pass over the whole file cut them (format.ChunksFrom), and
// for CSV also the file's first head bytes, which hold the header (Cuts()[0]
// .Offset of an inspected file). For Parquet (ranges nil) it is the footer
// and the column chunks of the row groups a scan decodes (see Only). A
// remote file is read with ranged requests and never copied to scratch; a
// local one is read at the offsets. Nothing is inferred, counted or hashed:
// the caller checks the object's version (storage.Object.Version) instead.
func OpenRanges(ctx context.Context, loc *storage.Location, obj storage.Object, opt Options, head int64, ranges []Range) (*File, error) {
	kind, err := kindOf(obj, opt)
	if err != nil {
		return nil, err
	}
	name := DisplayName(loc, obj.Key)
	switch {
	case kind == format.Parquet && len(ranges) > 0:
		return nil, fmt.Errorf("%s: a Parquet file is read by row groups, not in byte ranges", name)
	case kind != format.Parquet && len(ranges) == 0:
		return nil, fmt.Errorf("%s: no byte ranges to read", name)
	}
	f := &File{Object: obj, Kind: kind, count: true}
	var open func(ctx context.Context, off, n int64) (io.ReadCloser, error)
	if p, ok := loc.LocalPath(obj.Key); ok {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
		f.input, f.at = localInput(name, p, st)
		f.input = countInput(f.input, &f.read)
		open = func(_ context.Context, off, n int64) (io.ReadCloser, error) {
			fh, err := os.Open(p)
			if err != nil {
				return nil, fmt.Errorf("open %s: %w", name, err)
			}
			return struct {
				io.Reader
				io.Closer
			}{io.NewSectionReader(fh, off, n), fh}, nil
		}
	} else {
		f.input, f.at = remoteInput(loc, name, obj)
		open = func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
			return loc.NewRangeReader(ctx, obj.Key, off, n)
		}
	}
	if kind == format.Parquet {
		return f, nil
	}
	ropt := opt.Read
	ropt.Kind = kind
	read := func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		rc, err := open(ctx, off, n)
		if err != nil {
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{storage.CountingReader{R: rc, N: &f.read}, rc}, nil
	}
	f.source = func(ctx context.Context, emit func(*format.Chunk) error) error {
		var hd []byte
		if kind == format.CSV {
			rc, err := read(ctx, 0, head)
			if err != nil {
				return err
			}
			hd, err = io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return fmt.Errorf("read %s: %w", name, err)
			}
		}
		for _, r := range ranges {
			if r.End <= r.From.Offset {
				return fmt.Errorf("%s: empty range [%d, %d)", name, r.From.Offset, r.End)
			}
			rc, err := read(ctx, r.From.Offset, r.End-r.From.Offset)
			if err != nil {
				return err
			}
			err = format.ChunksFrom(ctx, f.input, ropt, hd, rc, r.From, emit)
			rc.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
	return f, nil
}

func kindOf(obj storage.Object, opt Options) (format.Kind, error) {
	if opt.Format != "" {
		return opt.Format, nil
	}
	k, _, err := format.Detect(obj.Key)
	return k, err
}

// Cuts returns where the chunks that inspection cut start, for an
// uncompressed CSV or JSONL file (nil for others): the starts of the ranges
// OpenRanges can read.
func (f *File) Cuts() []format.Cut { return f.cuts }

// BytesRead is how many bytes of the file were read from its store so far:
// all of it for a spooled file, the bytes asked for otherwise.
func (f *File) BytesRead() int64 { return f.read.Load() }

// Only makes scans of f decode only the chunks keep accepts; the others are
// cut (text formats find record boundaries in them) but not decoded. Chunks
// keep their positions in the whole file (Seq, FirstRow, FirstLine), so a
// range of a file decodes exactly as it does in a scan of the whole file.
// nil scans every chunk again.
func (f *File) Only(keep func(*format.Chunk) bool) { f.only = keep }

// Close releases the file's scratch copy, if any; the file is open only
// while a scan reads it.
func (f *File) Close() error { return f.close() }

// countInput counts the bytes read through in's stream (see File.count
// for its random access).
func countInput(in format.Input, n *atomic.Int64) format.Input {
	open := in.Open
	in.Open = func(ctx context.Context) (io.ReadCloser, error) {
		rc, err := open(ctx)
		if err != nil {
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{storage.CountingReader{R: rc, N: n}, rc}, nil
	}
	return in
}

type countingReaderAt struct {
	r io.ReaderAt
	n *atomic.Int64
}

func (c countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	k, err := c.r.ReadAt(p, off)
	c.n.Add(int64(k))
	return k, err
}
