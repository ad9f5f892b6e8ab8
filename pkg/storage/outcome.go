package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// ErrUnknownOutcome is returned (wrapped) when a write failed in a way that
// leaves open whether the store applied it (a timeout, a connection reset
// after the request was sent, a 5xx), and reading the key back could not
// settle the question either.
var ErrUnknownOutcome = errors.New("the outcome of the write is unknown")

// Retry says how often, and how patiently, a write whose outcome is unknown
// is retried and read back. It comes on top of the SDK's own retries of a
// single request.
type Retry struct {
	// Attempts is the number of write + read-back rounds (at least 1).
	Attempts int
	// Delay is the pause after the first round; it doubles after each
	// round, up to MaxDelay.
	Delay    time.Duration
	MaxDelay time.Duration
}

// DefaultRetry waits about 15 s in all before it gives up.
var DefaultRetry = Retry{Attempts: 6, Delay: 500 * time.Millisecond, MaxDelay: 8 * time.Second}

// Wait sleeps before round n+1 (n from 0); false when ctx ended first.
func (r Retry) Wait(ctx context.Context, n int) bool {
	d := r.Delay
	for i := 0; i < n && d < r.MaxDelay; i++ {
		d *= 2
	}
	if r.MaxDelay > 0 && d > r.MaxDelay {
		d = r.MaxDelay
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// settleTimeout bounds the read-backs that run after the caller's context
// has ended: a build cancelled or timed out in the middle of a claim must
// still learn whether the claim was made.
const settleTimeout = time.Minute

// CreateOnce writes data to key unless the key exists, and learns the
// outcome even when a response is lost. An SDK that resends a conditional
// write whose first response was lost gets "precondition failed" for its
// own object, and a timeout says nothing either way; so after every
// failure CreateOnce reads the key and decides from its content:
//
//   - the key holds exactly data: this call's write landed; CreateOnce
//     returns nil;
//   - the key holds something else: another writer created it first; the
//     error wraps ErrExists;
//   - the key is absent: the write did not land (or has not yet); the
//     conditional write is sent again, which is safe, since of several
//     copies of it at most one can create the key;
//   - the key cannot be read: it tries again, up to r.Attempts rounds, and
//     then returns an error wrapping ErrUnknownOutcome.
//
// data must therefore be unique to the writer (a claim that names its
// build). Errors that prove that nothing was written (permission denied, a
// bad request) are returned as they are.
func (l *Location) CreateOnce(ctx context.Context, key string, data []byte, r Retry) error {
	if r.Attempts < 1 {
		r.Attempts = 1
	}
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	var last error
	for n := 0; ; n++ {
		wctx := ctx
		if ctx.Err() != nil {
			wctx = settle // resend only while the caller still wants the claim
		}
		err := l.WriteFileIfAbsent(wctx, key, data)
		if err == nil {
			return nil
		}
		if definitive(err) {
			return err
		}
		last = err
		got, rerr := l.ReadFile(settle, key)
		switch {
		case rerr == nil && bytes.Equal(got, data):
			return nil
		case rerr == nil:
			return fmt.Errorf("%s: write %q: %w", l, key, ErrExists)
		case !IsNotExist(rerr):
			last = fmt.Errorf("%v; reading it back: %w", err, rerr)
		case ctx.Err() != nil:
			// Absent, and the caller has given up: the first write may
			// still be on its way, so nothing is certain.
			return fmt.Errorf("%s: create %q: %w: %v", l, key, ErrUnknownOutcome, last)
		}
		if n+1 >= r.Attempts || !r.Wait(settle, n) {
			return fmt.Errorf("%s: create %q: %w after %d attempt(s): %v", l, key, ErrUnknownOutcome, n+1, last)
		}
	}
}

// definitive reports whether a write error proves that nothing was written.
func definitive(err error) bool {
	switch gcerrors.Code(err) {
	case gcerrors.PermissionDenied, gcerrors.InvalidArgument, gcerrors.NotFound, gcerrors.Unimplemented:
		return true
	}
	return false
}

// ListDir returns the objects whose keys start with dir (relative to the
// location, e.g. "generations/"), in key order, with keys relative to the
// location. Unlike List it reads only that part of the store.
func (l *Location) ListDir(ctx context.Context, dir string) ([]Object, error) {
	var out []Object
	it := l.Bucket.List(&blob.ListOptions{Prefix: l.Prefix + dir})
	for {
		lo, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, l.redact(fmt.Errorf("%s: list %q: %w", l, dir, err))
		}
		if lo.IsDir || strings.HasSuffix(lo.Key, "/") {
			continue
		}
		rel := lo.Key[len(l.Prefix):]
		if l.skip(rel) {
			continue
		}
		out = append(out, Object{Key: rel, Size: lo.Size, ETag: listETag(lo), ModTime: lo.ModTime})
	}
	return out, nil
}

// RegisterMem makes mem://name open b from now on, for the life of the
// process. Tests use it to put a bucket with injected faults behind a URI
// that the code under test opens as usual.
func RegisterMem(name string, b *blob.Bucket) {
	mem.Lock()
	defer mem.Unlock()
	mem.buckets[name] = b
}
