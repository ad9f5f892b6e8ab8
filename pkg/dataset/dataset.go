// Package dataset opens a tabular dataset — one file, every file under a
// prefix, or a build that mldata published — and streams it as Arrow record
// batches with one schema, in parallel. The build pipeline, profiles and
// drift checks all read their inputs through it.
package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/parallel"
	"github.com/mldata-io/mldata/pkg/storage"
)

// Options control how a dataset is read.
type Options struct {
	// Format of the files; "" detects it per file from its name.
	Format format.Kind
	// Include keeps only files matching these globs (see storage.List).
	Include []string
	// Read holds the text-format options (delimiter, null tokens, chunk size, timestamps).
	Read format.Options
	// Split selects one split of a published build; "" reads all splits.
	Split string
	// ScratchDir holds local copies of remote files (see Inspect); ""
	// means os.TempDir().
	ScratchDir string
	// Workers bounds the parallelism of Open; 0 means all cores.
	Workers int
	// SkipHash leaves File.SHA256 empty: profiles and drift checks read
	// data but record no provenance, and hashing costs them a few percent.
	SkipHash bool
}

// File is one file of a dataset.
type File struct {
	Object storage.Object
	Kind   format.Kind
	SHA256 string
	Rows   int64
	// Schema is the file's own schema as inferred, before unification.
	Schema *arrow.Schema

	// input names the file and streams it; its ReaderAt is nil; random
	// access is given for one pass at a time (see use), so that an opened
	// file holds no open handle between passes.
	input   format.Input
	at      func(ctx context.Context) readerAt                              // random access for one pass; nil when none
	count   bool                                                            // count reads through at into read
	index   *format.Index                                                   // chunks found by inspection (CSV), replayed by scans
	cuts    []format.Cut                                                    // where inspection's chunks start (uncompressed text); see Cuts
	only    func(*format.Chunk) bool                                        // see Only
	source  func(ctx context.Context, emit func(*format.Chunk) error) error // the chunks of the file's ranges (OpenRanges)
	read    atomic.Int64                                                    // bytes read from the store; see BytesRead
	cleanup func() error                                                    // removes the scratch copy, if any
}

// readerAt is random access for one pass over a file, closed when the
// pass ends.
type readerAt interface {
	io.ReaderAt
	io.Closer
}

// Dataset is an opened dataset.
type Dataset struct {
	URI    string
	Schema *arrow.Schema
	Rows   int64
	Size   int64 // bytes of the files read
	Files  []*File
	// Build is set when the dataset is a published build.
	Build *manifest.Manifest

	loc  *storage.Location
	opts Options
}

// Batch is one chunk of one file, decoded.
type Batch struct {
	File      *File
	FileIndex int
	Chunk     *format.Chunk
	Record    arrow.RecordBatch
}

// Open lists uri, reads every file once to infer and unify the schema (and
// hash the content), and returns the dataset ready to scan. If uri is an
// output location with a published build (latest.json), the dataset is that
// build's parts of opt.Split.
func Open(ctx context.Context, uri string, opt Options) (*Dataset, error) {
	loc, err := storage.Open(ctx, uri)
	if err != nil {
		return nil, err
	}
	d := &Dataset{URI: uri, loc: loc, opts: opt}
	objs, build, err := d.list(ctx)
	if err != nil {
		loc.Close()
		return nil, err
	}
	d.Build = build
	return d.inspect(ctx, objs)
}

// inspect reads objs once (schema, rows, hash) into d and unifies their
// schema; on failure it closes d.
func (d *Dataset) inspect(ctx context.Context, objs []storage.Object) (*Dataset, error) {
	files, err := Inspect(ctx, d.loc, objs, d.opts)
	if err != nil {
		d.loc.Close()
		return nil, err
	}
	d.Files = files
	if d.Schema, err = UnifyFiles(files); err != nil {
		d.Close()
		return nil, err
	}
	for _, f := range files {
		d.Rows += f.Rows
		d.Size += f.Object.Size
	}
	return d, nil
}

// list returns the objects to read: the parts of a published build, or the
// files under the location.
func (d *Dataset) list(ctx context.Context) ([]storage.Object, *manifest.Manifest, error) {
	if d.loc.Object == "" {
		ptr, m, err := manifest.ReadLatest(ctx, d.loc)
		switch {
		case err == nil:
			objs, err := partObjects(m, ptr, d.opts.Split)
			return objs, m, err
		case !errors.Is(err, manifest.ErrNoBuild):
			return nil, nil, err
		}
	}
	if d.opts.Split != "" {
		return nil, nil, fmt.Errorf("%s: --split %q needs a published build (latest.json) at the location", d.loc, d.opts.Split)
	}
	objs, err := d.loc.List(ctx, d.opts.Include)
	if err != nil {
		return nil, nil, err
	}
	if len(objs) == 0 {
		return nil, nil, fmt.Errorf("%s: no files to read (include: %v); check the URI and the include globs", d.loc, d.opts.Include)
	}
	return objs, nil, nil
}

func partObjects(m *manifest.Manifest, ptr *manifest.Pointer, split string) ([]storage.Object, error) {
	var objs []storage.Object
	var names []string
	for _, s := range m.Splits {
		names = append(names, s.Name)
		if split != "" && s.Name != split {
			continue
		}
		for _, p := range s.Parts {
			objs = append(objs, storage.Object{Key: p.Path, Size: p.Bytes})
		}
	}
	if split != "" && objs == nil {
		found := false
		for _, n := range names {
			found = found || n == split
		}
		if !found {
			return nil, fmt.Errorf("build %s has no split %q (splits: %v)", ptr.BuildID, split, names)
		}
	}
	return objs, nil
}

// Inspect reads each object once, in parallel: it infers the file's schema,
// counts its rows and computes its SHA-256. It keeps what scans need (the
// schema, the row count, where CSV chunks start) and no open file: a file
// is opened while a pass reads it and closed after, so that reading a
// dataset holds about one open file per worker, however many files it has.
// Local files are read in place. A remote Parquet file with opt.SkipHash is
// read with ranged requests (its footer, then the column chunks a scan
// decodes), never copied; other remote files are copied to opt.ScratchDir
// once (and hashed on the way), since every pass reads a text file whole.
func Inspect(ctx context.Context, loc *storage.Location, objs []storage.Object, opt Options) ([]*File, error) {
	workers := workerCount(opt.Workers)
	files := make([]*File, len(objs))
	// Files run in parallel; a file's chunks get the cores left over, so
	// that one big file still uses every core.
	fileWorkers := min(workers, len(objs))
	chunkWorkers := max(1, (workers+fileWorkers-1)/fileWorkers)
	err := parallel.ForEach(ctx, fileWorkers, len(objs), func(_, i int) error {
		f, err := inspect(ctx, loc, objs[i], opt, chunkWorkers)
		files[i] = f
		return err
	})
	if err != nil {
		for _, f := range files {
			if f != nil {
				f.close()
			}
		}
		return nil, err
	}
	return files, nil
}

func inspect(ctx context.Context, loc *storage.Location, obj storage.Object, opt Options, workers int) (*File, error) {
	kind := opt.Format
	if kind == "" {
		k, _, err := format.Detect(obj.Key)
		if err != nil {
			return nil, err
		}
		kind = k
	}
	f := &File{Object: obj, Kind: kind}
	if err := f.prepare(ctx, loc, opt); err != nil {
		return nil, err
	}
	ropt := opt.Read
	ropt.Kind = kind
	// The inference pass reads every byte of text files: the decoder hashes
	// them on the way, off the reading goroutine.
	in, done := f.use(ctx)
	var h hash.Hash
	if kind != format.Parquet && f.SHA256 == "" && !opt.SkipHash {
		h = sha256.New()
		ropt.Hash = h
	}
	dec, err := format.NewDecoder(in, ropt)
	if err != nil {
		_ = done() // the decoder's error says more
		f.close()
		return nil, err
	}
	var ev *format.Evidence
	err = parallel.Ordered(ctx, workers,
		func(ctx context.Context, emit func(*format.Chunk) error) error {
			return dec.Chunks(ctx, func(c *format.Chunk) error {
				if cut, ok := format.CutOf(c); ok {
					f.cuts = append(f.cuts, cut)
				}
				return emit(c)
			})
		},
		func(_ int, c *format.Chunk) (*format.Evidence, error) {
			// The chunk's memory then takes the chunks read after it.
			defer format.Release(c)
			return dec.Infer(c)
		},
		func(e *format.Evidence) error {
			if ev == nil {
				ev = e
				return nil
			}
			return ev.Merge(e)
		})
	if err == nil && ev == nil {
		err = &format.Error{File: f.input.Name, Msg: "no chunks read", Hint: "the file has no header or data"}
	}
	if cerr := done(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", f.input.Name, cerr)
	}
	if err != nil {
		f.close()
		return nil, err
	}
	f.Schema = ev.Schema()
	f.Rows = ev.Rows()
	if r, ok := dec.(format.Replayer); ok {
		f.index = r.Index()
	}
	if h != nil {
		f.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	if f.SHA256 == "" && !opt.SkipHash {
		if f.SHA256, err = hashAll(ctx, f.input); err != nil {
			f.close()
			return nil, err
		}
	}
	return f, nil
}

// chunks cuts the file into chunks for decoding: the chunks inspection
// found when the decoder can replay them (no second scan for record
// boundaries), else a fresh pass.
func (f *File) chunks(ctx context.Context, dec format.Decoder, emit func(*format.Chunk) error) error {
	if f.only != nil {
		all := emit
		emit = func(c *format.Chunk) error {
			if !f.only(c) {
				return nil
			}
			return all(c)
		}
	}
	if f.source != nil {
		return f.source(ctx, emit)
	}
	if r, ok := dec.(format.Replayer); ok && f.index != nil {
		return r.Replay(ctx, f.index, emit)
	}
	return dec.Chunks(ctx, emit)
}

// prepare sets up access to the file without opening it: local files are
// read in place, remote Parquet files that are only read (opt.SkipHash)
// with ranged requests, other remote files from a copy spooled to scratch
// (hashed on the way).
func (f *File) prepare(ctx context.Context, loc *storage.Location, opt Options) error {
	name := DisplayName(loc, f.Object.Key)
	if p, ok := loc.LocalPath(f.Object.Key); ok {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("open %s: %w", name, err)
		}
		f.input, f.at = localInput(name, p, st)
		return nil
	}
	if opt.SkipHash && f.Kind == format.Parquet {
		f.input, f.at = remoteInput(loc, name, f.Object)
		return nil
	}
	dir := opt.ScratchDir
	if dir == "" {
		dir = os.TempDir()
	}
	fh, sum, size, err := loc.Spool(ctx, f.Object.Key, dir)
	if err != nil {
		return err
	}
	p := fh.Name()
	err = fh.Close()
	f.cleanup = func() error { return os.Remove(p) }
	if err != nil {
		f.close()
		return fmt.Errorf("spool %s: %w", name, err)
	}
	f.SHA256 = sum
	f.input, f.at = localInput(name, p, nil)
	f.input.Size = size
	return nil
}

// localInput reads the local file at p: a new handle for each stream, and
// one for random access opened on the pass's first read. When st is set
// (the file as first seen), a file that has changed since is refused when
// it is opened for random access: without a handle kept open, a later pass
// would otherwise read whatever file is at p by then.
func localInput(name, p string, st os.FileInfo) (format.Input, func(context.Context) readerAt) {
	var size int64
	if st != nil {
		size = st.Size()
	}
	in := format.Input{
		Name: name,
		Open: func(context.Context) (io.ReadCloser, error) {
			fh, err := os.Open(p)
			if err != nil {
				return nil, fmt.Errorf("open %s: %w", name, err)
			}
			return fh, nil
		},
		Size: size,
	}
	return in, func(context.Context) readerAt { return &lazyFile{name: name, path: p, seen: st} }
}

// remoteInput reads obj with ranged requests: no local copy, no open file.
func remoteInput(loc *storage.Location, name string, obj storage.Object) (format.Input, func(context.Context) readerAt) {
	in := format.Input{Name: name, Size: obj.Size,
		Open: func(ctx context.Context) (io.ReadCloser, error) { return loc.NewRangeReader(ctx, obj.Key, 0, -1) }}
	return in, func(ctx context.Context) readerAt {
		return rangeAt{loc.ReaderAt(ctx, obj.Key, obj.Size, nil)}
	}
}

// rangeAt is ranged reads as a readerAt: nothing to close.
type rangeAt struct{ *storage.RangeReaderAt }

func (rangeAt) Close() error { return nil }

// use returns f's input for one pass, with random access, and the function
// that ends the pass (closing what the pass opened).
func (f *File) use(ctx context.Context) (format.Input, func() error) {
	in := f.input
	if f.at == nil {
		return in, func() error { return nil }
	}
	ra := f.at(ctx)
	in.ReaderAt = ra
	if f.count {
		in.ReaderAt = countingReaderAt{ra, &f.read}
	}
	return in, ra.Close
}

// lazyFile is random access to a local file that opens it on the first read.
type lazyFile struct {
	name, path string
	seen       os.FileInfo // nil: not checked
	mu         sync.Mutex
	fh         *os.File
	err        error
	closed     bool
}

func (l *lazyFile) file() (*os.File, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, fmt.Errorf("read %s: %w", l.name, os.ErrClosed)
	}
	if l.fh == nil && l.err == nil {
		l.fh, l.err = l.open()
	}
	return l.fh, l.err
}

func (l *lazyFile) open() (*os.File, error) {
	fh, err := os.Open(l.path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", l.name, err)
	}
	if l.seen == nil {
		return fh, nil
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("stat %s: %w", l.name, err)
	}
	if st.Size() != l.seen.Size() || !st.ModTime().Equal(l.seen.ModTime()) {
		fh.Close()
		return nil, &format.Error{File: l.name, Msg: fmt.Sprintf("file changed since it was first read (it is now %d bytes, modified %s; it was %d bytes, modified %s)",
			st.Size(), st.ModTime().UTC().Format(time.RFC3339Nano), l.seen.Size(), l.seen.ModTime().UTC().Format(time.RFC3339Nano)),
			Hint: "run again once the file is no longer being written"}
	}
	return fh, nil
}

func (l *lazyFile) ReadAt(p []byte, off int64) (int, error) {
	fh, err := l.file()
	if err != nil {
		return 0, err
	}
	return fh.ReadAt(p, off)
}

func (l *lazyFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.fh == nil {
		return nil
	}
	err := l.fh.Close()
	l.fh = nil
	return err
}

func (f *File) close() error {
	if f.cleanup == nil {
		return nil
	}
	err := f.cleanup()
	f.cleanup = nil
	return err
}

func hashAll(ctx context.Context, in format.Input) (string, error) {
	rc, err := in.Open(ctx)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	hr := storage.NewHashingContext(ctx, rc)
	if _, err := io.Copy(io.Discard, hr); err != nil {
		return "", fmt.Errorf("read %s: %w", in.Name, err)
	}
	return hr.Sum(), nil
}

// DisplayName names key for people, as the user would: the source URI they
// gave, joined with the key when the source is a folder or prefix (without
// the query string, whose endpoint details only add noise).
func DisplayName(loc *storage.Location, key string) string {
	base := loc.String()
	if i := strings.IndexByte(base, '?'); i >= 0 {
		base = base[:i]
	}
	if loc.Object != "" {
		return base
	}
	return strings.TrimSuffix(base, "/") + "/" + key
}

// UnifyFiles returns the schema every file can be read as (format.Unify over
// the files in order), with all-null columns resolved.
func UnifyFiles(files []*File) (*arrow.Schema, error) {
	if len(files) == 0 {
		return nil, errors.New("no files")
	}
	s, first := files[0].Schema, files[0].input.Name
	for _, f := range files[1:] {
		u, err := format.Unify(s, first, f.Schema, f.input.Name)
		if err != nil {
			return nil, err
		}
		s = u
	}
	return format.Finalize(s), nil
}

// Scan decodes every file's chunks on `workers` goroutines and calls fn
// concurrently; fn's worker index is in [0, workers). Files are read in
// parallel, each with its share of the workers, so many small files keep
// every core busy as one big file does. Batches are released after fn
// returns.
func (d *Dataset) Scan(ctx context.Context, workers int, fn func(worker int, rec arrow.RecordBatch) error) error {
	return d.ScanColumns(ctx, workers, nil, fn)
}

// ScanColumns is Scan over the columns of d.Schema at the indices cols only
// (nil means all), in that order: batches have the schema
// format.Project(d.Schema, cols). Parquet files never read the other
// columns; text files are parsed whole and the other columns dropped.
func (d *Dataset) ScanColumns(ctx context.Context, workers int, cols []int, fn func(worker int, rec arrow.RecordBatch) error) error {
	return d.scanColumns(ctx, workers, cols, false, fn)
}

// scanColumns is ScanColumns; dict keeps dictionary-encoded string columns
// of Parquet files as dictionaries (format.DictionaryDecoder).
func (d *Dataset) scanColumns(ctx context.Context, workers int, cols []int, dict bool, fn func(worker int, rec arrow.RecordBatch) error) error {
	if _, err := format.Project(d.Schema, cols); err != nil {
		return err
	}
	workers = workerCount(workers)
	fileWorkers := max(1, min(workers, len(d.Files)))
	chunkWorkers := workers / fileWorkers // ≥ 1; slot·chunkWorkers + w < workers
	return parallel.ForEach(ctx, fileWorkers, len(d.Files), func(slot, i int) error {
		return scanFileColumns(ctx, d.Schema, cols, dict, d.Files[i], i, d.opts.Read, chunkWorkers,
			func(w int, b Batch) (struct{}, error) {
				defer b.Record.Release()
				return struct{}{}, fn(slot*chunkWorkers+w, b.Record)
			},
			func(struct{}) error { return nil })
	})
}

// Columns returns ScanColumns over cols as a scan function, for readers
// that count values and take one (profiles, drift checks). Unlike
// ScanColumns, a string column that a Parquet file stores
// dictionary-encoded may come as a dictionary<int32, string> array (see
// format.DictionaryDecoder), with the batch's schema saying so: the same
// values, which such readers count by index. A reader may also give up
// columns during the scan with format.WithColumnDrops on the context:
// Parquet chunks decoded after that give them as nulls, unread.
func (d *Dataset) Columns(cols []int) func(ctx context.Context, workers int, fn func(worker int, rec arrow.RecordBatch) error) error {
	return func(ctx context.Context, workers int, fn func(worker int, rec arrow.RecordBatch) error) error {
		return d.scanColumns(ctx, workers, cols, true, fn)
	}
}

// ScanFile decodes one file's chunks to schema on `workers` goroutines,
// runs work on each batch, and hands work's results to consume in file order.
// work owns the batch's record and must release it.
func ScanFile[U any](ctx context.Context, schema *arrow.Schema, f *File, fileIndex int, ropt format.Options, workers int,
	work func(worker int, b Batch) (U, error), consume func(U) error) error {
	return ScanFileColumns(ctx, schema, nil, f, fileIndex, ropt, workers, work, consume)
}

// ScanFileColumns is ScanFile over the fields of schema at the indices cols
// only (nil means all), as ScanColumns reads them.
func ScanFileColumns[U any](ctx context.Context, schema *arrow.Schema, cols []int, f *File, fileIndex int, ropt format.Options, workers int,
	work func(worker int, b Batch) (U, error), consume func(U) error) error {
	return scanFileColumns(ctx, schema, cols, false, f, fileIndex, ropt, workers, work, consume)
}

// ScanFileDictionaries is ScanFile, except that a string column that a
// Parquet file stores dictionary-encoded may come as a dictionary<int32,
// string> array (see format.DictionaryDecoder), the batch's schema saying
// so: the same values, for work that can keep them in that form.
func ScanFileDictionaries[U any](ctx context.Context, schema *arrow.Schema, f *File, fileIndex int, ropt format.Options, workers int,
	work func(worker int, b Batch) (U, error), consume func(U) error) error {
	return scanFileColumns(ctx, schema, nil, true, f, fileIndex, ropt, workers, work, consume)
}

func scanFileColumns[U any](ctx context.Context, schema *arrow.Schema, cols []int, dict bool, f *File, fileIndex int, ropt format.Options, workers int,
	work func(worker int, b Batch) (U, error), consume func(U) error) error {
	ropt.Kind = f.Kind
	in, done := f.use(ctx)
	defer func() { _ = done() }() // the pass only read the file: closing it loses nothing
	dec, err := format.NewDecoder(in, ropt)
	if err != nil {
		return err
	}
	out, err := format.Project(schema, cols)
	if err != nil {
		return err
	}
	decode := func(c *format.Chunk) (arrow.RecordBatch, error) { return dec.Decode(c, schema) }
	if dd, ok := dec.(format.DictionaryDecoder); ok && dict {
		drops := format.ColumnDropsOf(ctx)
		decode = func(c *format.Chunk) (arrow.RecordBatch, error) { return dd.DecodeDictionaries(c, schema, cols, drops) }
	} else if cd, ok := dec.(format.ColumnDecoder); ok && cols != nil {
		decode = func(c *format.Chunk) (arrow.RecordBatch, error) { return cd.DecodeColumns(c, schema, cols) }
	} else if cols != nil {
		decode = func(c *format.Chunk) (arrow.RecordBatch, error) {
			rec, err := dec.Decode(c, schema)
			if err != nil {
				return nil, err
			}
			defer rec.Release()
			arrs := make([]arrow.Array, len(cols))
			for j, i := range cols {
				arrs[j] = rec.Column(i)
			}
			return array.NewRecordBatch(out, arrs, rec.NumRows()), nil
		}
	}
	return parallel.Ordered(ctx, workers,
		func(ctx context.Context, emit func(*format.Chunk) error) error { return f.chunks(ctx, dec, emit) },
		func(w int, c *format.Chunk) (U, error) {
			rec, err := decode(c)
			format.Release(c) // decoded columns are copies
			if err != nil {
				var zero U
				return zero, err
			}
			return work(w, Batch{File: f, FileIndex: fileIndex, Chunk: c, Record: rec})
		},
		consume)
}

// Close releases the dataset's scratch copies (its files are open only
// while a pass reads them).
func (d *Dataset) Close() error {
	var errs []error
	for _, f := range d.Files {
		errs = append(errs, f.close())
	}
	errs = append(errs, d.loc.Close())
	return errors.Join(errs...)
}

// Location is the storage location the dataset was opened from.
func (d *Dataset) Location() *storage.Location { return d.loc }

// CloseFiles releases the files' scratch copies.
func CloseFiles(files []*File) error {
	var errs []error
	for _, f := range files {
		errs = append(errs, f.close())
	}
	return errors.Join(errs...)
}

func workerCount(n int) int {
	if n <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return n
}
