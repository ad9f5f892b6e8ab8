package format

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"
)

// memInput serves data from memory. Open hands out a reader that returns a
// few bytes per call, which exercises every buffer boundary of the scanner.
func memInput(name string, data []byte) Input {
	return Input{
		Name: name,
		Open: func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(iotest.HalfReader(bytes.NewReader(data))), nil
		},
		ReaderAt: bytes.NewReader(data),
		Size:     int64(len(data)),
	}
}

// result is everything read from one file.
type result struct {
	chunks   []*Chunk
	evidence *Evidence
	schema   *arrow.Schema // Finalize(evidence.Schema())
	rows     [][]any       // decoded values; nil is null, timestamps are time.Time
}

// read runs Chunks, Infer on every chunk, Merge, Finalize and Decode.
func read(t testing.TB, in Input, opt Options) (*result, error) {
	t.Helper()
	d, err := NewDecoder(in, opt)
	if err != nil {
		return nil, err
	}
	res := &result{evidence: &Evidence{}}
	err = d.Chunks(context.Background(), func(c *Chunk) error {
		res.chunks = append(res.chunks, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, c := range res.chunks {
		ev, err := d.Infer(c)
		if err != nil {
			return nil, err
		}
		if err := res.evidence.Merge(ev); err != nil {
			return nil, err
		}
	}
	res.schema = Finalize(res.evidence.Schema())
	for _, c := range res.chunks {
		rec, err := d.Decode(c, res.schema)
		if err != nil {
			return nil, err
		}
		if int(rec.NumRows()) != c.Rows {
			t.Fatalf("chunk %d decoded to %d rows, want %d", c.Seq, rec.NumRows(), c.Rows)
		}
		res.rows = append(res.rows, recordRows(t, rec)...)
		rec.Release()
	}
	return res, nil
}

func mustRead(t testing.TB, in Input, opt Options) *result {
	t.Helper()
	res, err := read(t, in, opt)
	if err != nil {
		t.Fatalf("read %s: %v", in.Name, err)
	}
	return res
}

// recordRows turns a batch into Go values, row by row.
func recordRows(t testing.TB, rec arrow.RecordBatch) [][]any {
	t.Helper()
	rows := make([][]any, rec.NumRows())
	for r := range rows {
		rows[r] = make([]any, rec.NumCols())
		for j, col := range rec.Columns() {
			rows[r][j] = cell(t, col, r)
		}
	}
	return rows
}

func cell(t testing.TB, col arrow.Array, r int) any {
	if col.IsNull(r) {
		return nil
	}
	switch a := col.(type) {
	case *array.Boolean:
		return a.Value(r)
	case *array.Int64:
		return a.Value(r)
	case *array.Float64:
		return a.Value(r)
	case *array.String:
		return a.Value(r)
	case *array.Timestamp:
		return a.Value(r).ToTime(a.DataType().(*arrow.TimestampType).Unit).UTC()
	}
	t.Fatalf("unexpected column type %s", col.DataType())
	return nil
}

// typeNames lists a schema as name:type strings, easy to compare and read.
func typeNames(s *arrow.Schema) []string {
	var out []string
	for _, f := range s.Fields() {
		out = append(out, f.Name+":"+f.Type.String())
	}
	return out
}

// asError requires err to be an *Error and returns it.
func asError(t testing.TB, err error) *Error {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *format.Error", err, err)
	}
	return fe
}

// errorPlace is the part of an *Error that tests pin down exactly.
type errorPlace struct {
	File   string
	Line   int64
	Row    int64
	Column string
}

func placeOf(e *Error) errorPlace { return errorPlace{e.File, e.Line, e.Row, e.Column} }

func ts(s string) time.Time {
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return v.UTC()
}

func diff(t testing.TB, what string, want, got any) {
	t.Helper()
	if d := cmpDiff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func cmpDiff(want, got any) string {
	return cmp.Diff(want, got, cmp.Comparer(func(a, b arrow.DataType) bool { return arrow.TypeEqual(a, b) }))
}

// parquetBytes writes rec as a Parquet file with props (nil: the library's
// defaults) and the Arrow schema stored in its metadata.
func parquetBytes(t testing.TB, rec arrow.RecordBatch, props *parquet.WriterProperties) []byte {
	t.Helper()
	var out bytes.Buffer
	fw, err := pqarrow.NewFileWriter(rec.Schema(), &out, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
