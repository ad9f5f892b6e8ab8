package storage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// ErrExists is returned (wrapped) by WriteFileIfAbsent when the key exists.
var ErrExists = errors.New("object already exists")

// IsNotExist reports whether err says that an object, prefix, file or
// bucket does not exist, whichever store it came from.
func IsNotExist(err error) bool {
	if err == nil {
		return false
	}
	return errors.Is(err, fs.ErrNotExist) || gcerrors.Code(err) == gcerrors.NotFound
}

// NewReader opens key for sequential reading. The caller closes it.
func (l *Location) NewReader(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := l.Bucket.NewReader(ctx, l.Prefix+key, nil)
	if err != nil {
		return nil, l.redact(fmt.Errorf("%s: open %q: %w", l, key, err))
	}
	return r, nil
}

// HashingReader passes reads through while computing the SHA-256 and byte
// count of everything read.
type HashingReader struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	size int64 // expected size, -1 if unknown
	eof  bool
	ctx  context.Context
}

// NewHashing wraps r. Close closes r when r is an io.Closer.
func NewHashing(r io.Reader) *HashingReader {
	return &HashingReader{r: r, h: sha256.New(), size: -1}
}

// NewHashingContext is NewHashing whose reads fail with ctx's error once
// ctx is done, so that hashing a large local file (whose reads never look
// at a context) stops when the command is cancelled.
func NewHashingContext(ctx context.Context, r io.Reader) *HashingReader {
	h := NewHashing(r)
	h.ctx = ctx
	return h
}

// NewHashingReader opens key for reading and hashes what is read.
func (l *Location) NewHashingReader(ctx context.Context, key string) (*HashingReader, error) {
	r, err := l.Bucket.NewReader(ctx, l.Prefix+key, nil)
	if err != nil {
		return nil, l.redact(fmt.Errorf("%s: open %q: %w", l, key, err))
	}
	h := NewHashingContext(ctx, r)
	h.size = r.Size()
	return h, nil
}

func (h *HashingReader) Read(p []byte) (int, error) {
	if h.ctx != nil {
		if err := h.ctx.Err(); err != nil {
			return 0, err
		}
	}
	n, err := h.r.Read(p)
	if n > 0 {
		h.h.Write(p[:n])
		h.n += int64(n)
	}
	if errors.Is(err, io.EOF) {
		h.eof = true
	}
	return n, err
}

// Close closes the underlying reader if it is an io.Closer.
func (h *HashingReader) Close() error {
	if c, ok := h.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// N returns the number of bytes read so far.
func (h *HashingReader) N() int64 { return h.n }

// Complete reports whether everything has been read: EOF was seen, or as
// many bytes as the object's size were read (decoders such as gzip stop at
// the end of their data without asking for EOF).
func (h *HashingReader) Complete() bool {
	return h.eof || (h.size >= 0 && h.n == h.size)
}

// Sum returns the hex SHA-256 of the content, or "" until the content has
// been read completely (see Complete): a hash of a prefix would pass for the
// file's hash and defeat change detection, so callers that stopped early
// get nothing and must Drain or hash again.
func (h *HashingReader) Sum() string {
	if !h.Complete() {
		return ""
	}
	return hex.EncodeToString(h.h.Sum(nil))
}

// Drain reads and hashes whatever is left, so that Sum covers the whole
// content even when the consumer stopped early.
func (h *HashingReader) Drain() error {
	if h.eof {
		return nil
	}
	if _, err := io.Copy(io.Discard, h); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	h.eof = true
	return nil
}

// LocalPath returns the filesystem path of key when the location is a local
// directory, so callers can read it in place with io.ReaderAt instead of
// copying. ok is false for other stores and for keys that fileblob would
// escape or that would leave the directory ("..", absolute, control
// characters).
func (l *Location) LocalPath(key string) (string, bool) {
	if l.kind != kindFile || !plainKey(l.Prefix+key) {
		return "", false
	}
	return filepath.Join(l.dir, filepath.FromSlash(l.Prefix+key)), true
}

// plainKey reports whether key maps to dir/key unchanged in fileblob.
func plainKey(key string) bool {
	if key == "" || path.Clean(key) != key || strings.HasPrefix(key, "/") || key == ".." || strings.HasPrefix(key, "../") {
		return false
	}
	for _, c := range key {
		if c < 32 || (os.PathSeparator != '/' && c == os.PathSeparator) {
			return false
		}
	}
	return true
}

// Spool copies key into a new file under dir while hashing it, for sources
// that need random access (Parquet) or two passes. It returns the open file
// positioned at offset 0, the hex SHA-256 and the size. The caller closes
// the file and removes it (f.Name()); on error nothing is left behind.
func (l *Location) Spool(ctx context.Context, key, dir string) (f *os.File, sha256hex string, size int64, err error) {
	hr, err := l.NewHashingReader(ctx, key)
	if err != nil {
		return nil, "", 0, err
	}
	defer hr.Close()
	f, err = os.CreateTemp(dir, "mldata-spool-*"+spoolExt(key))
	if err != nil {
		return nil, "", 0, fmt.Errorf("%s: spool %q: %w", l, key, err)
	}
	fail := func(err error) (*os.File, string, int64, error) {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, "", 0, l.redact(fmt.Errorf("%s: spool %q to %s: %w", l, key, dir, err))
	}
	if _, err := io.Copy(f, hr); err != nil {
		return fail(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	hr.eof = true // io.Copy returned without error: the reader hit EOF
	return f, hr.Sum(), hr.N(), nil
}

// spoolExt keeps the key's extensions on the spool file so that tools that
// look at names (format detection) still work; it never contains a path
// separator.
func spoolExt(key string) string {
	base := path.Base(key)
	if i := strings.IndexByte(base, '.'); i > 0 {
		ext := base[i:]
		if len(ext) <= 32 && !strings.ContainsAny(ext, `/\`) {
			return ext
		}
	}
	return ""
}

// NewWriter starts writing key. The object becomes visible only when Close
// returns nil; until then readers see the previous object, if any.
//
// Cancel ctx to abort: a writer whose context is cancelled before Close
// (Close then returns an error) publishes nothing, and one whose Close is
// never reached publishes nothing either. Call Close even after cancelling,
// so the store can release the upload. An empty contentType is detected
// from the key's extension, then from the first bytes.
func (l *Location) NewWriter(ctx context.Context, key, contentType string) (io.WriteCloser, error) {
	w, err := l.Bucket.NewWriter(ctx, l.Prefix+key, &blob.WriterOptions{ContentType: typeFor(key, contentType)})
	if err != nil {
		return nil, l.redact(fmt.Errorf("%s: write %q: %w", l, key, err))
	}
	return &writer{w: w, l: l, key: key}, nil
}

type writer struct {
	w   *blob.Writer
	l   *Location
	key string
}

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		err = w.l.redact(fmt.Errorf("%s: write %q: %w", w.l, w.key, err))
	}
	return n, err
}

// ReadFrom keeps blob.Writer's io.Copy fast path.
func (w *writer) ReadFrom(r io.Reader) (int64, error) {
	n, err := w.w.ReadFrom(r)
	if err != nil {
		err = w.l.redact(fmt.Errorf("%s: write %q: %w", w.l, w.key, err))
	}
	return n, err
}

func (w *writer) Close() error {
	if err := w.w.Close(); err != nil {
		return w.l.redact(fmt.Errorf("%s: write %q: %w", w.l, w.key, err))
	}
	return nil
}

func typeFor(key, contentType string) string {
	if contentType != "" {
		return contentType
	}
	return mime.TypeByExtension(path.Ext(key))
}

// WriteFile writes data to key atomically (see NewWriter).
func (l *Location) WriteFile(ctx context.Context, key string, data []byte) error {
	err := l.Bucket.WriteAll(ctx, l.Prefix+key, data, &blob.WriterOptions{ContentType: typeFor(key, "")})
	if err != nil {
		return l.redact(fmt.Errorf("%s: write %q: %w", l, key, err))
	}
	return nil
}

// WriteFileIfAbsent writes data to key only if key does not exist, and
// returns an error wrapping ErrExists otherwise; of several concurrent
// writers exactly one succeeds. Bucket stores use a conditional write
// (blob.WriterOptions.IfNotExist). Local directories publish with a hard
// link, which fails atomically if the name exists, so the guarantee also
// holds between processes (fileblob's own check only holds within one).
func (l *Location) WriteFileIfAbsent(ctx context.Context, key string, data []byte) error {
	if p, ok := l.LocalPath(key); ok {
		return l.linkIfAbsent(key, p, data)
	}
	err := l.Bucket.WriteAll(ctx, l.Prefix+key, data, &blob.WriterOptions{
		ContentType: typeFor(key, ""),
		IfNotExist:  true,
	})
	if err != nil {
		if c := gcerrors.Code(err); c == gcerrors.FailedPrecondition || c == gcerrors.AlreadyExists {
			return fmt.Errorf("%s: write %q: %w", l, key, ErrExists)
		}
		return l.redact(fmt.Errorf("%s: write %q: %w", l, key, err))
	}
	return nil
}

func (l *Location) linkIfAbsent(key, p string, data []byte) error {
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("%s: write %q: %w", l, key, err)
	}
	tmp, err := createHidden(dir)
	if err != nil {
		return fmt.Errorf("%s: write %q: %w", l, key, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("%s: write %q: %w", l, key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: write %q: %w", l, key, err)
	}
	if err := os.Link(tmp.Name(), p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: write %q: %w", l, key, ErrExists)
		}
		return fmt.Errorf("%s: write %q: %w", l, key, err)
	}
	return nil
}

// ReadFile reads all of key.
func (l *Location) ReadFile(ctx context.Context, key string) ([]byte, error) {
	data, err := l.Bucket.ReadAll(ctx, l.Prefix+key)
	if err != nil {
		return nil, l.redact(fmt.Errorf("%s: read %q: %w", l, key, err))
	}
	return data, nil
}

// Exists reports whether key exists.
func (l *Location) Exists(ctx context.Context, key string) (bool, error) {
	ok, err := l.Bucket.Exists(ctx, l.Prefix+key)
	if err != nil {
		return false, l.redact(fmt.Errorf("%s: stat %q: %w", l, key, err))
	}
	return ok, nil
}

// Delete removes key. Deleting a missing key is an error for which
// IsNotExist reports true, so callers that prune can ignore it.
func (l *Location) Delete(ctx context.Context, key string) error {
	if err := l.Bucket.Delete(ctx, l.Prefix+key); err != nil {
		return l.redact(fmt.Errorf("%s: delete %q: %w", l, key, err))
	}
	return nil
}

// createHidden creates a new temporary file in dir with a hidden name (List
// skips it if a crash leaves it behind) and fileblob's mode 0666 before
// umask, where os.CreateTemp would give 0600.
func createHidden(dir string) (*os.File, error) {
	var b [8]byte
	for range 100 {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		name := filepath.Join(dir, ".mldata-"+hex.EncodeToString(b[:])+".tmp")
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, errors.New("cannot create a temporary file")
}
