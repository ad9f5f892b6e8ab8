package format

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// ParquetRowGroupRows is the most rows a written Parquet row group holds.
// Rows are buffered up to this count, so a writer holds one row group's
// encoded pages in memory. 128 Ki rows (DuckDB writes 122,880) keeps a
// build's memory flat as files grow — a build writes up to Stripes × splits
// parts at once — and on the benchmark table the files are no larger than
// with 1 Mi-row groups.
const ParquetRowGroupRows = 128 * 1024

// NewWriter returns a writer of one output file of the given kind. Compression
// "" is the default: snappy for Parquet, none for text (see CheckCompression).
//
// Output is deterministic: the same sequence of record batches gives the same
// bytes (no timestamps, host names or random ids are written). Parquet files
// have statistics on, dictionary encoding on for text columns (numbers and
// times are left to the page compressor), and row groups of up to
// ParquetRowGroupRows rows. CSV files have a header row, RFC 4180 quoting
// only where a field needs it, nulls as empty fields, floats in the
// shortest form that reads back to the same float64 (with ".0" added to
// whole numbers so that they read back as floats), and timestamps in RFC
// 3339. JSONL files have one object per line with keys in schema order,
// nulls as null; NaN and ±Inf, which JSON cannot hold, are written as null.
// Reading a CSV back gives null for an empty string and for a string equal
// to a null token.
func NewWriter(w io.Writer, schema *arrow.Schema, kind Kind, c Compression) (Writer, error) {
	if err := CheckCompression(kind, c); err != nil {
		return nil, err
	}
	if kind == Parquet {
		return newParquetWriter(w, schema, c)
	}
	return newTextWriter(w, schema, kind, c)
}

// noClose hides the Close method of the destination: the Parquet library
// closes its sink, but Writer.Close must leave it open.
type noClose struct{ io.Writer }

type parquetWriter struct{ fw *pqarrow.FileWriter }

func newParquetWriter(w io.Writer, schema *arrow.Schema, c Compression) (Writer, error) {
	codec := compress.Codecs.Snappy
	switch c {
	case None:
		codec = compress.Codecs.Uncompressed
	case Gzip:
		codec = compress.Codecs.Gzip
	case Zstd:
		codec = compress.Codecs.Zstd
	}
	opts := []parquet.WriterProperty{
		parquet.WithCompression(codec),
		parquet.WithDictionaryDefault(true),
		parquet.WithStats(true),
		parquet.WithMaxRowGroupLength(ParquetRowGroupRows),
	}
	// zstd level 1: on the benchmark table it writes files of the same size
	// as the default level 3 in 40% less CPU time.
	if c == Zstd {
		opts = append(opts, parquet.WithCompressionLevel(1))
	}
	// Dictionary encoding pays for text (categories, repeated labels). For
	// numbers and times the general compressor already folds repeats, and
	// on high-cardinality columns the dictionary's hash table grows to many
	// megabytes per column before the writer falls back to plain encoding:
	// it cost a third of a build's memory and a tenth of its time.
	for _, f := range schema.Fields() {
		if !isText(f.Type) {
			opts = append(opts, parquet.WithDictionaryFor(f.Name, false))
		}
	}
	props := parquet.NewWriterProperties(opts...)
	fw, err := pqarrow.NewFileWriter(schema, noClose{w}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, fmt.Errorf("start Parquet file: %w", err)
	}
	return &parquetWriter{fw: fw}, nil
}

func (p *parquetWriter) Write(rec arrow.RecordBatch) error {
	if err := p.fw.WriteBuffered(rec); err != nil {
		return fmt.Errorf("write Parquet rows: %w", err)
	}
	return nil
}

func (p *parquetWriter) Close() error {
	if err := p.fw.Close(); err != nil {
		return fmt.Errorf("finish Parquet file: %w", err)
	}
	return nil
}

// textWriter writes CSV or JSONL through an optional compressor.
type textWriter struct {
	kind   Kind
	schema *arrow.Schema
	bw     *bufio.Writer
	comp   io.WriteCloser // nil when uncompressed
	keys   [][]byte       // JSONL: `"name":` per column
	buf    []byte
	closed bool
}

func newTextWriter(w io.Writer, schema *arrow.Schema, kind Kind, c Compression) (*textWriter, error) {
	t := &textWriter{kind: kind, schema: schema}
	dst := w
	switch c {
	case Gzip:
		t.comp = gzip.NewWriter(w)
	case Zstd:
		// One encoder goroutine keeps the output independent of scheduling.
		zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("start zstd stream: %w", err)
		}
		t.comp = zw
	}
	if t.comp != nil {
		dst = t.comp
	}
	t.bw = bufio.NewWriterSize(dst, 1<<20)
	for _, f := range schema.Fields() {
		if err := checkTextType(f); err != nil {
			return nil, err
		}
	}
	switch kind {
	case CSV:
		b := t.buf[:0]
		for i, f := range schema.Fields() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCSVField(b, f.Name)
		}
		b = append(b, '\n')
		if _, err := t.bw.Write(b); err != nil {
			return nil, fmt.Errorf("write CSV header: %w", err)
		}
		t.buf = b
	case JSONL:
		for _, f := range schema.Fields() {
			k := appendJSONString(nil, f.Name)
			t.keys = append(t.keys, append(k, ':'))
		}
	}
	return t, nil
}

func checkTextType(f arrow.Field) error {
	switch f.Type.ID() {
	case arrow.NULL, arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64,
		arrow.STRING, arrow.LARGE_STRING, arrow.TIMESTAMP, arrow.DATE32:
		return nil
	}
	return fmt.Errorf("column %q has type %s, which text output does not support; cast it to string first", f.Name, f.Type)
}

func (t *textWriter) Write(rec arrow.RecordBatch) error {
	if t.closed {
		return fmt.Errorf("write after close")
	}
	if !rec.Schema().Equal(t.schema) {
		return fmt.Errorf("record schema %s does not match the writer's schema %s", rec.Schema(), t.schema)
	}
	cols := rec.Columns()
	n := int(rec.NumRows())
	for r := 0; r < n; r++ {
		b := t.buf[:0]
		if t.kind == JSONL {
			b = append(b, '{')
		}
		for j, col := range cols {
			if j > 0 {
				b = append(b, ',')
			}
			if t.kind == JSONL {
				b = append(b, t.keys[j]...)
				b = appendJSONValue(b, col, r)
			} else {
				b = appendCSVValue(b, col, r)
			}
		}
		if t.kind == JSONL {
			b = append(b, '}')
		}
		b = append(b, '\n')
		if _, err := t.bw.Write(b); err != nil {
			return fmt.Errorf("write %s rows: %w", t.kind, err)
		}
		t.buf = b
	}
	return nil
}

func (t *textWriter) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	if err := t.bw.Flush(); err != nil {
		return fmt.Errorf("flush %s output: %w", t.kind, err)
	}
	if t.comp != nil {
		if err := t.comp.Close(); err != nil {
			return fmt.Errorf("finish compressed %s output: %w", t.kind, err)
		}
	}
	return nil
}

func appendCSVValue(b []byte, col arrow.Array, r int) []byte {
	if col.IsNull(r) || col.DataType().ID() == arrow.NULL {
		return b
	}
	switch a := col.(type) {
	case *array.String:
		return appendCSVField(b, a.Value(r))
	case *array.LargeString:
		return appendCSVField(b, a.Value(r))
	}
	return appendScalar(b, col, r)
}

// appendScalar formats the non-string types the same way for CSV and JSONL.
func appendScalar(b []byte, col arrow.Array, r int) []byte {
	switch a := col.(type) {
	case *array.Boolean:
		return strconv.AppendBool(b, a.Value(r))
	case *array.Int8:
		return strconv.AppendInt(b, int64(a.Value(r)), 10)
	case *array.Int16:
		return strconv.AppendInt(b, int64(a.Value(r)), 10)
	case *array.Int32:
		return strconv.AppendInt(b, int64(a.Value(r)), 10)
	case *array.Int64:
		return strconv.AppendInt(b, a.Value(r), 10)
	case *array.Uint8:
		return strconv.AppendUint(b, uint64(a.Value(r)), 10)
	case *array.Uint16:
		return strconv.AppendUint(b, uint64(a.Value(r)), 10)
	case *array.Uint32:
		return strconv.AppendUint(b, uint64(a.Value(r)), 10)
	case *array.Uint64:
		return strconv.AppendUint(b, a.Value(r), 10)
	case *array.Float32:
		return appendFloat(b, float64(a.Value(r)), 32)
	case *array.Float64:
		return appendFloat(b, a.Value(r), 64)
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(r).ToTime(unit).UTC().AppendFormat(b, time.RFC3339Nano)
	case *array.Date32:
		return a.Value(r).ToTime().UTC().AppendFormat(b, "2006-01-02")
	}
	return append(b, col.ValueStr(r)...)
}

// appendFloat writes the shortest text that parses back to the same value,
// and keeps whole numbers recognisable as floats ("3.0", not "3").
func appendFloat(b []byte, f float64, bits int) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, bits)
	for _, c := range b[start:] {
		if c != '-' && (c < '0' || c > '9') {
			return b
		}
	}
	return append(b, ".0"...)
}

// appendCSVField quotes a field only when RFC 4180 requires it.
func appendCSVField(b []byte, s string) []byte {
	needs := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			needs = true
			break
		}
	}
	if !needs {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

func appendJSONValue(b []byte, col arrow.Array, r int) []byte {
	if col.IsNull(r) || col.DataType().ID() == arrow.NULL {
		return append(b, "null"...)
	}
	switch a := col.(type) {
	case *array.String:
		return appendJSONString(b, a.Value(r))
	case *array.LargeString:
		return appendJSONString(b, a.Value(r))
	case *array.Float32:
		if f := float64(a.Value(r)); math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...)
		}
	case *array.Float64:
		if f := a.Value(r); math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...)
		}
	case *array.Timestamp, *array.Date32:
		b = append(b, '"')
		b = appendScalar(b, col, r)
		return append(b, '"')
	}
	return appendScalar(b, col, r)
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func isText(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW, arrow.BINARY, arrow.LARGE_BINARY, arrow.DICTIONARY:
		return true
	}
	return false
}
