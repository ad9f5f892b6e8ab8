package testservers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"
)

// FaultBucket wraps a bucket and injects an Injector's faults into its
// calls, in-process: the same faults the FaultProxy injects over HTTP,
// without the SDK's retry back-off (up to seconds per retry), so that a
// test can run thousands of faulty publishes quickly. It models what the
// SDK does with them:
//
//   - FaultError and FaultReset: the call fails and nothing happens;
//   - FaultDrop: the call happens and its response is lost; then, chosen
//     by a coin of the injector, either the SDK's resend is modelled (the
//     call is made once more and its answer returned: a conditional write
//     then fails with "precondition failed" on its own object) or the SDK
//     gives up (the call fails as a timeout);
//   - FaultSlow: the call waits Delay, then happens.
//
// Writes are buffered and applied on Close, as one request.
func FaultBucket(inner *blob.Bucket, faults *Injector) *blob.Bucket {
	return blob.NewBucket(&faultDriver{inner: inner, faults: faults})
}

type faultDriver struct {
	inner  *blob.Bucket
	faults *Injector
}

// faultError is an injected failure. Its code is not one that proves
// nothing happened (a 5xx, a reset or a timeout never does).
type faultError struct {
	op    Op
	key   string
	fault Fault
	code  gcerrors.ErrorCode
}

func (e *faultError) Error() string {
	switch e.fault {
	case FaultError:
		return fmt.Sprintf("injected fault: %s %q: 503 Service Unavailable", e.op, e.key)
	case FaultReset:
		return fmt.Sprintf("injected fault: %s %q: connection reset by peer", e.op, e.key)
	}
	return fmt.Sprintf("injected fault: %s %q: response lost (connection reset after the request was sent)", e.op, e.key)
}

// before runs a call's fault that comes before the call: an error to
// return, or nil to go on (after a delay). drop reports a FaultDrop.
func (d *faultDriver) before(ctx context.Context, op Op, key string) (drop bool, err error) {
	f, delay := d.faults.Decide(op, key)
	switch f {
	case FaultError:
		return false, &faultError{op, key, f, gcerrors.Internal}
	case FaultReset:
		return false, &faultError{op, key, f, gcerrors.Unknown}
	case FaultSlow:
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	case FaultDrop:
		return true, nil
	}
	return false, nil
}

// after settles a dropped call that happened: resend (call again) or give
// up with an error.
func (d *faultDriver) after(op Op, key string, resend func() error) error {
	if d.faults.Coin("resend", string(op)+" "+key) < 0.5 {
		return resend()
	}
	return &faultError{op, key, FaultDrop, gcerrors.DeadlineExceeded}
}

func (d *faultDriver) ErrorCode(err error) gcerrors.ErrorCode {
	var fe *faultError
	if errors.As(err, &fe) {
		return fe.code
	}
	return gcerrors.Code(err)
}

func (d *faultDriver) As(any) bool             { return false }
func (d *faultDriver) ErrorAs(error, any) bool { return false }

func (d *faultDriver) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	drop, err := d.before(ctx, OpHead, key)
	if err != nil {
		return nil, err
	}
	a, err := d.inner.Attributes(ctx, key)
	if drop {
		err = d.after(OpHead, key, func() error { a, err = d.inner.Attributes(ctx, key); return err })
	}
	if err != nil {
		return nil, err
	}
	return &driver.Attributes{
		CacheControl: a.CacheControl, ContentDisposition: a.ContentDisposition, ContentEncoding: a.ContentEncoding,
		ContentLanguage: a.ContentLanguage, ContentType: a.ContentType, Metadata: a.Metadata,
		CreateTime: a.CreateTime, ModTime: a.ModTime, Size: a.Size, MD5: a.MD5, ETag: a.ETag,
	}, nil
}

func (d *faultDriver) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	drop, err := d.before(ctx, OpList, opts.Prefix)
	if err != nil {
		return nil, err
	}
	list := func() (*driver.ListPage, error) {
		size := opts.PageSize
		if size <= 0 {
			size = 1000
		}
		// A driver's first page has no token; the bucket's ListPage
		// takes FirstPageToken for it (and answers io.EOF, "no more
		// pages", to an empty one).
		token := opts.PageToken
		if len(token) == 0 {
			token = blob.FirstPageToken
		}
		objs, next, err := d.inner.ListPage(ctx, token, size, &blob.ListOptions{Prefix: opts.Prefix, Delimiter: opts.Delimiter})
		if err != nil {
			return nil, err
		}
		page := &driver.ListPage{NextPageToken: next}
		for _, o := range objs {
			page.Objects = append(page.Objects, &driver.ListObject{Key: o.Key, ModTime: o.ModTime, Size: o.Size, MD5: o.MD5, IsDir: o.IsDir})
		}
		return page, nil
	}
	page, err := list()
	if drop {
		err = d.after(OpList, opts.Prefix, func() error { page, err = list(); return err })
	}
	return page, err
}

func (d *faultDriver) NewRangeReader(ctx context.Context, key string, offset, length int64, _ *driver.ReaderOptions) (driver.Reader, error) {
	drop, err := d.before(ctx, OpGet, key)
	if err != nil {
		return nil, err
	}
	read := func() (*faultReader, error) {
		r, err := d.inner.NewRangeReader(ctx, key, offset, length, nil)
		if err != nil {
			return nil, err
		}
		return &faultReader{r: r}, nil
	}
	r, err := read()
	if drop {
		if r != nil {
			r.Close()
		}
		err = d.after(OpGet, key, func() error { r, err = read(); return err })
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

type faultReader struct{ r *blob.Reader }

func (r *faultReader) Read(p []byte) (int, error) { return r.r.Read(p) }
func (r *faultReader) Close() error               { return r.r.Close() }
func (r *faultReader) As(any) bool                { return false }
func (r *faultReader) Attributes() *driver.ReaderAttributes {
	return &driver.ReaderAttributes{ContentType: r.r.ContentType(), ModTime: r.r.ModTime(), Size: r.r.Size()}
}

func (d *faultDriver) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	return &faultWriter{d: d, ctx: ctx, key: key, opts: &blob.WriterOptions{
		ContentType: contentType, CacheControl: opts.CacheControl, ContentDisposition: opts.ContentDisposition,
		ContentEncoding: opts.ContentEncoding, ContentLanguage: opts.ContentLanguage, Metadata: opts.Metadata,
		IfNotExist: opts.IfNotExist, DisableContentTypeDetection: true,
	}}, nil
}

type faultWriter struct {
	d    *faultDriver
	ctx  context.Context
	key  string
	opts *blob.WriterOptions
	buf  bytes.Buffer
}

func (w *faultWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }

func (w *faultWriter) Close() error {
	if err := w.ctx.Err(); err != nil {
		return err // an aborted write publishes nothing
	}
	op := OpPut
	if w.opts.IfNotExist {
		op = OpPutIfAbsent
	}
	drop, err := w.d.before(w.ctx, op, w.key)
	if err != nil {
		return err
	}
	write := func() error { return w.d.inner.WriteAll(w.ctx, w.key, w.buf.Bytes(), w.opts) }
	err = write()
	if drop && err == nil {
		err = w.d.after(op, w.key, write)
	}
	return err
}

func (d *faultDriver) Copy(ctx context.Context, dst, src string, _ *driver.CopyOptions) error {
	if _, err := d.before(ctx, OpOther, src); err != nil {
		return err
	}
	return d.inner.Copy(ctx, dst, src, nil)
}

func (d *faultDriver) Delete(ctx context.Context, key string, _ *driver.DeleteOptions) error {
	drop, err := d.before(ctx, OpDelete, key)
	if err != nil {
		return err
	}
	err = d.inner.Delete(ctx, key)
	if drop && err == nil {
		err = d.after(OpDelete, key, func() error { return d.inner.Delete(ctx, key) })
	}
	return err
}

func (d *faultDriver) SignedURL(context.Context, string, *driver.SignedURLOptions) (string, error) {
	return "", errors.New("fault bucket: no signed URLs")
}

// Close leaves the inner bucket open: it belongs to the caller.
func (d *faultDriver) Close() error { return nil }
