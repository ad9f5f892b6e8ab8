// Package format reads and writes tabular files: CSV, JSONL and Parquet, with
// gzip/zstd-compressed text inputs, type inference, null tokens, and precise
// errors that name the file, line, row and column.
//
// Reading is split into three steps so that the pipeline can run them in
// parallel and merge results in order:
//
//   - Chunks cuts the input into chunks of whole records (sequential, cheap);
//   - Infer collects type evidence from one chunk (parallel, mergeable);
//   - Decode turns one chunk into an Arrow record batch of a given schema (parallel).
//
// Evidence of the chunks of one file is combined with Evidence.Merge; the
// schemas of different files with Unify; Finalize makes all-null columns
// float64 before writing.
//
// Decisions the contract leaves open:
//
//   - An input with a header (CSV) or a footer (Parquet) but no rows gives one
//     empty chunk, so that its columns are still seen. A text input of zero
//     bytes is an error.
//   - CSV blank lines are skipped but counted in line numbers (pandas and
//     encoding/csv do the same); a one-column CSV therefore cannot hold an
//     empty value on its own line. A UTF-8 byte order mark is dropped. Lines
//     end in LF or CRLF; old Mac CR-only files are not supported.
//   - Null tokens are matched after unquoting, so "NA" and "" are null quoted
//     or not (pandas does the same); they apply to CSV only. JSON has its own
//     null, and a JSON string such as "NA" stays a string.
//   - Numbers overflowing float64 read as ±Inf, as numpy reads them; "nan" is
//     a float when it is not a null token. Timestamps keep microseconds and
//     truncate finer digits; values without an offset are taken as UTC.
//   - Chunks are cut at ChunkRows records and at MaxChunkBytes, whichever
//     comes first, so chunk boundaries depend only on the file and Options.
//   - Byte offsets in errors count decompressed bytes.
//   - Parquet chunks are slices of row groups; the chunks of a row group
//     share one sequential reader per column, so every page is read and
//     decompressed once, row groups (and the columns of one) decode in
//     parallel, and DecodeColumns (ColumnDecoder) reads the asked columns
//     only. Infer maps the file's Arrow
//     types onto this package's: integers to int64, floats and decimals to
//     float64, string and binary (UTF-8) to string, timestamps and dates to
//     timestamp[us, UTC], bool and null as they are, anything else to string
//     (nested values as JSON); Decode casts. Parquet null counts come from
//     row-group statistics (ColumnEvidence.NullsKnown says when there are
//     none), counted in the first chunk of each row group.
package format

import (
	"context"
	"fmt"
	"hash"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
)

// Kind is a file format.
type Kind string

const (
	CSV     Kind = "csv"
	JSONL   Kind = "jsonl"
	Parquet Kind = "parquet"
)

// Compression of a text input or output file.
type Compression string

const (
	None   Compression = "none"
	Gzip   Compression = "gzip"
	Zstd   Compression = "zstd"
	Snappy Compression = "snappy" // Parquet output only
)

// DefaultNullValues are the tokens read as null in text inputs (pandas' defaults).
var DefaultNullValues = []string{
	"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
	"<NA>", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null",
}

// Options control reading.
type Options struct {
	// Kind of the input; "" detects it from the file name (see Detect).
	Kind Kind
	// Compression of a text input; "" detects it from the file name (a
	// trailing .gz or .zst), None reads the bytes as they are.
	Compression Compression
	// Delimiter of CSV fields; 0 means DefaultDelimiter(name): a tab for
	// .tsv files, ',' otherwise.
	Delimiter byte
	// NullValues are the CSV tokens read as null, matched exactly and case
	// sensitively; nil means DefaultNullValues and an empty non-nil list
	// means none. JSONL has its own null and ignores them.
	NullValues []string
	// ChunkRows is the number of records per chunk; 0 means DefaultChunkRows.
	ChunkRows int
	// InferTimestamps makes text columns whose every non-null value is an
	// ISO-8601 date or date-time become timestamp[us, UTC] instead of
	// string: YYYY-MM-DD, optionally followed by T or a space and
	// hh:mm:ss[.fraction], then optionally Z or ±hh:mm.
	InferTimestamps bool
	// Hash, when set, gets the bytes of a CSV or JSONL input, as stored
	// (a compressed file's compressed bytes), as Chunks reads them: each
	// Chunks call resets it and writes the whole file to it, in order, so
	// that a pass that needs the file's checksum reads the file once.
	// Uncompressed bytes are hashed on a goroutine of their own, while the
	// chunks are cut and inferred. When Chunks returns nil, Hash has seen
	// every byte. Parquet inputs leave Hash alone.
	Hash hash.Hash `json:"-"`

	// Limits keep memory bounded whatever the input holds.
	Limits
}

// Limits keep memory bounded whatever an input holds; a 0 field means the
// default below. Exceeding one is an *Error naming the file, the line or
// row where it happened, and the flag that raises the limit.
type Limits struct {
	// MaxColumns is the most columns one file may have: CSV header fields,
	// distinct JSONL keys, Parquet leaf columns.
	MaxColumns int
	// MaxRecordBytes is the longest record (a CSV record or a JSONL line,
	// with its line end), in decompressed bytes.
	MaxRecordBytes int
	// MaxFileBytes is the most decompressed bytes one file may expand to:
	// the text after gzip/zstd, or the uncompressed size of a Parquet file's
	// column chunks.
	MaxFileBytes int64
	// MaxChunkBytes bounds one chunk in memory: text chunks are cut when
	// they reach this many bytes, CSV chunks hold fewer rows when
	// rows × columns × 8 bytes would exceed it, and a JSONL chunk whose
	// decoded columns (rows × columns × 8 bytes) would exceed it, or a
	// Parquet column chunk larger than it, is an error.
	MaxChunkBytes int64
}

// DefaultChunkRows is the chunk size when Options.ChunkRows is 0.
const DefaultChunkRows = 65536

// Default limits (see Options). With them one worker holds at most a few
// chunks of MaxChunkBytes in flight per core, which four workers on a
// 24 GiB node survive.
const (
	DefaultMaxColumns     = 10000
	DefaultMaxRecordBytes = 64 << 20
	DefaultMaxFileBytes   = 64 << 30
	DefaultMaxChunkBytes  = 512 << 20
)

// Resolved returns l with each zero field set to its default.
func (o Limits) Resolved() Limits {
	l := o.limits()
	return Limits{MaxColumns: l.columns, MaxRecordBytes: l.record, MaxFileBytes: l.file, MaxChunkBytes: l.chunk}
}

// limits is Options' limits with defaults filled in.
type limits struct {
	columns int
	record  int
	file    int64
	chunk   int64
}

func (o Limits) limits() limits {
	l := limits{columns: o.MaxColumns, record: o.MaxRecordBytes, file: o.MaxFileBytes, chunk: o.MaxChunkBytes}
	if l.columns <= 0 {
		l.columns = DefaultMaxColumns
	}
	if l.record <= 0 {
		l.record = DefaultMaxRecordBytes
	}
	if l.file <= 0 {
		l.file = DefaultMaxFileBytes
	}
	if l.chunk <= 0 {
		l.chunk = DefaultMaxChunkBytes
	}
	return l
}

// chunkRows lowers rows so that a chunk's decoded columns, 8 bytes per
// value, fit in the chunk limit.
func (l limits) chunkRows(rows, columns int) int {
	if columns <= 0 {
		return rows
	}
	return int(max(1, min(int64(rows), l.chunk/(8*int64(columns)))))
}

// limitError is the error for an exceeded limit: what was found (with the
// limit in it) and the flag that raises the limit.
func limitError(file string, line, row int64, what, flag string) *Error {
	return &Error{File: file, Line: line, Row: row, Msg: what,
		Hint: fmt.Sprintf("raise the limit with --%s if the input is meant to be like this", flag)}
}

// Input is one source file.
type Input struct {
	// Name identifies the file in errors (its key or URI).
	Name string
	// Open returns a fresh stream of the file's raw (possibly compressed) bytes.
	// It may be called more than once (one pass to infer, one to decode).
	Open func(ctx context.Context) (io.ReadCloser, error)
	// ReaderAt and Size give random access when available (local or spooled
	// files). Parquet inputs require them.
	ReaderAt io.ReaderAt
	Size     int64
	// Footer, when set, keeps a Parquet file's parsed footer for the
	// decoders given the same one (see Footer); NewDecoder gives each
	// decoder one of its own otherwise, which the decoder's footer check
	// and reader share. Share one only where a decoder refuses a file
	// replaced since the footer was parsed.
	Footer *Footer
}

// Chunk is a run of whole records of one file, in file order.
type Chunk struct {
	Seq       int   // 0-based chunk number within the file
	FirstRow  int64 // 0-based index of the chunk's first data row within the file
	FirstLine int64 // 1-based physical line of the first record (text formats)
	Rows      int   // number of records in the chunk
	// The payload is private to the format's implementation.
	payload any
}

// Error is a problem in an input file. Every field that is known is set.
type Error struct {
	File   string
	Line   int64  // 1-based physical line, 0 if unknown
	Row    int64  // 1-based data row (header excluded), 0 if unknown
	Column string // column name, "" if not about one column
	Msg    string // what is wrong
	Hint   string // what to change
}

func (e *Error) Error() string {
	s := e.File
	if e.Line > 0 {
		s += fmt.Sprintf(": line %d", e.Line)
	}
	if e.Row > 0 {
		s += fmt.Sprintf(" (row %d)", e.Row)
	}
	if e.Column != "" {
		s += fmt.Sprintf(", column %q", e.Column)
	}
	s += ": " + e.Msg
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// Decoder reads one input file in chunks. Chunks is sequential; Infer and
// Decode may be called concurrently from many goroutines.
type Decoder interface {
	// Chunks reads the input from the start and calls emit with each chunk of
	// up to Options.ChunkRows records, in file order. It returns the first
	// error from reading or from emit.
	Chunks(ctx context.Context, emit func(*Chunk) error) error
	// Infer returns the type evidence of one chunk.
	Infer(c *Chunk) (*Evidence, error)
	// Decode converts one chunk to a record batch with the given schema (which
	// may be wider than the chunk's own evidence, e.g. float64 for an integer
	// column). The caller releases the batch.
	Decode(c *Chunk, schema *arrow.Schema) (arrow.RecordBatch, error)
}

// Writer writes record batches to one output file.
type Writer interface {
	Write(rec arrow.RecordBatch) error
	// Close flushes buffered rows and the file footer; it does not close the
	// underlying io.Writer.
	Close() error
}
