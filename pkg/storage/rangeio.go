package storage

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
)

// NewRangeReader opens length bytes of key from offset (length < 0: up to
// the end) with one ranged read: an HTTP Range request on object stores,
// a seek on local files. The caller closes it.
func (l *Location) NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	r, err := l.Bucket.NewRangeReader(ctx, l.Prefix+key, offset, length, nil)
	if err != nil {
		return nil, l.redact(fmt.Errorf("%s: read %q bytes %d-%d: %w", l, key, offset, offset+length-1, err))
	}
	return r, nil
}

// RangeReaderAt gives random access to one object of a known size through
// ranged reads: every ReadAt is one request for exactly the bytes asked
// for. Readers that ask for large, known spans — a Parquet reader asks for
// the footer and then for one whole column chunk at a time — read only
// those spans of the object, with no local copy.
type RangeReaderAt struct {
	ctx  context.Context
	loc  *Location
	key  string
	size int64
	read *atomic.Int64 // bytes read, when counted
}

// ReaderAt returns a RangeReaderAt over key, of size bytes, whose reads
// use ctx. When read is not nil, every byte read is added to it.
func (l *Location) ReaderAt(ctx context.Context, key string, size int64, read *atomic.Int64) *RangeReaderAt {
	return &RangeReaderAt{ctx: ctx, loc: l, key: key, size: size, read: read}
}

// ReadAt reads len(p) bytes at off, or up to the end of the object (then
// with io.EOF).
func (r *RangeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%s: read %q at negative offset %d", r.loc, r.key, off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), r.size-off)
	if want == 0 {
		return 0, nil
	}
	rc, err := r.loc.NewRangeReader(r.ctx, r.key, off, want)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := io.ReadFull(rc, p[:want])
	if r.read != nil {
		r.read.Add(int64(n))
	}
	if err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return n, fmt.Errorf("%s: %q ended at byte %d, before the %d bytes it had when listed; it changed while it was read", r.loc, r.key, off+int64(n), r.size)
		}
		return n, r.loc.redact(fmt.Errorf("%s: read %q: %w", r.loc, r.key, err))
	}
	if want < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

// Size is the object's size as given.
func (r *RangeReaderAt) Size() int64 { return r.size }

// CountingReader counts the bytes read through it into N.
type CountingReader struct {
	R io.Reader
	N *atomic.Int64
}

func (c CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N.Add(int64(n))
	return n, err
}
