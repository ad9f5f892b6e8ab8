package format

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/gzip"
)

// gzipBytes compresses data as one gzip member.
func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// limitErr reads in and returns the *Error it must fail with.
func limitErr(t *testing.T, in Input, opt Options) *Error {
	t.Helper()
	_, err := read(t, in, opt)
	if err == nil {
		t.Fatalf("%s read without error", in.Name)
	}
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("%s: error %T %v is not a *format.Error", in.Name, err, err)
	}
	return fe
}

func wantLimit(t *testing.T, fe *Error, flag string, place errorPlace, msg string) {
	t.Helper()
	if !strings.Contains(fe.Hint, "--"+flag) {
		t.Errorf("hint %q does not name --%s", fe.Hint, flag)
	}
	if got := placeOf(fe); got != place {
		t.Errorf("error at %+v, want %+v (%v)", got, place, fe)
	}
	if !strings.Contains(fe.Msg, msg) {
		t.Errorf("message %q does not contain %q", fe.Msg, msg)
	}
}

func TestLimitColumnsCSV(t *testing.T) {
	header := make([]string, 11)
	for i := range header {
		header[i] = fmt.Sprintf("c%d", i)
	}
	data := "\n" + strings.Join(header, ",") + "\n" + strings.Repeat("1,", 10) + "1\n"
	fe := limitErr(t, memInput("wide.csv", []byte(data)), Options{Limits: Limits{MaxColumns: 10}})
	wantLimit(t, fe, "max-columns", errorPlace{"wide.csv", 2, 0, ""}, "header has 11 columns, more than the limit of 10")
	// At the limit the file reads.
	res := mustRead(t, memInput("wide.csv", []byte(data)), Options{Limits: Limits{MaxColumns: 11}})
	if len(res.rows) != 1 || len(res.rows[0]) != 11 {
		t.Fatalf("read %v", res.rows)
	}
}

func TestLimitColumnsJSONL(t *testing.T) {
	var b strings.Builder
	for i := range 6 {
		fmt.Fprintf(&b, "{\"k%d\": %d}\n", i/2, i) // two objects per key: k0 k0 k1 k1 k2 k2
	}
	fe := limitErr(t, memInput("keys.jsonl", []byte(b.String())), Options{Limits: Limits{MaxColumns: 2}})
	wantLimit(t, fe, "max-columns", errorPlace{"keys.jsonl", 5, 5, ""}, `key "k2" is key number 3 of the file, more than the limit of 2 columns`)
}

// A sparse JSONL file: every object has one key of its own, so the union
// is wide and a chunk's columns would be nearly all missing values.
func TestLimitChunkBytesSparseJSONL(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "{\"k%d\": 1}\n", i)
	}
	// 100 rows × 100 columns × 8 bytes = 80,000 bytes > 64 KiB.
	fe := limitErr(t, memInput("sparse.jsonl", []byte(b.String())), Options{Limits: Limits{MaxChunkBytes: 64 << 10}})
	wantLimit(t, fe, "max-chunk-bytes", errorPlace{"sparse.jsonl", 1, 1, ""}, "the chunk of 100 objects from here would take 78.1KiB decoded")
	// Smaller chunks fit.
	res := mustRead(t, memInput("sparse.jsonl", []byte(b.String())), Options{ChunkRows: 50, Limits: Limits{MaxChunkBytes: 64 << 10}})
	if len(res.rows) != 100 {
		t.Fatalf("read %d rows", len(res.rows))
	}
}

// Wide files whose objects all carry every key are cut into chunks small
// enough for the limit instead of failing; so are wide CSV files.
func TestLimitChunkBytesLowersRows(t *testing.T) {
	var j, c strings.Builder
	cols := strings.Split("abcdefghijklmnopqrst", "")
	c.WriteString(strings.Join(cols, ",") + "\n")
	for r := range 100 {
		j.WriteString("{")
		for i := range cols {
			if i > 0 {
				j.WriteString(",")
				c.WriteString(",")
			}
			fmt.Fprintf(&j, "%q:%d", cols[i], r%10)
			fmt.Fprintf(&c, "%d", r%10)
		}
		j.WriteString("}\n")
		c.WriteString("\n")
	}
	// 8 KiB / (20 columns × 8 bytes) = 51 rows, whose text (121 bytes
	// a JSONL line) is below 8 KiB.
	opt := Options{Limits: Limits{MaxChunkBytes: 8 << 10}}
	for _, in := range []Input{memInput("wide.jsonl", []byte(j.String())), memInput("wide.csv", []byte(c.String()))} {
		res := mustRead(t, in, opt)
		if len(res.rows) != 100 || len(res.chunks) != 2 || res.chunks[0].Rows != 51 {
			t.Errorf("%s: %d rows in %d chunks (first %d rows), want 100 in 2 of 51", in.Name, len(res.rows), len(res.chunks), res.chunks[0].Rows)
		}
	}
}

func TestLimitRecordBytes(t *testing.T) {
	long := `{"a":"` + strings.Repeat("x", 5000) + `"}`
	data := []byte(`{"a":"short"}` + "\n\n" + long + "\n")
	for _, in := range []Input{memInput("long.jsonl", data), memInput("long.jsonl.gz", gzipBytes(t, data))} {
		fe := limitErr(t, in, Options{Limits: Limits{MaxRecordBytes: 4 << 10}})
		wantLimit(t, fe, "max-record-bytes", errorPlace{in.Name, 3, 2, ""}, "record is longer than 4KiB")
	}
	csv := []byte("a\n\"" + strings.Repeat("x", 5000) + "\n")
	fe := limitErr(t, memInput("q.csv", csv), Options{Limits: Limits{MaxRecordBytes: 4 << 10}})
	wantLimit(t, fe, "max-record-bytes", errorPlace{"q.csv", 2, 1, ""}, "record is longer than 4KiB")
	if !strings.Contains(fe.Hint, "unclosed quote") {
		t.Errorf("CSV hint %q does not mention quoting", fe.Hint)
	}
}

func TestLimitFileBytes(t *testing.T) {
	data := []byte("a\n" + strings.Repeat("1\n", 10000))
	fe := limitErr(t, memInput("big.csv.gz", gzipBytes(t, data)), Options{Limits: Limits{MaxFileBytes: 16 << 10}})
	wantLimit(t, fe, "max-file-bytes", errorPlace{"big.csv.gz", 0, 0, ""}, "file expands to more than 16KiB when decompressed")
	mustRead(t, memInput("big.csv.gz", gzipBytes(t, data)), Options{Limits: Limits{MaxFileBytes: 32 << 10}})
}

// limitParquet writes a Parquet file of cols string columns holding value
// in every one of rows rows, zstd-compressed with dictionaries: a long
// repeated value is one dictionary entry, so the file is far smaller than
// its pages.
func limitParquet(t testing.TB, cols, rows int, value string) []byte {
	t.Helper()
	fields := make([]arrow.Field, cols)
	for i := range fields {
		fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: arrow.BinaryTypes.String, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range cols {
		sb := b.Field(i).(*array.StringBuilder)
		for range rows {
			sb.Append(value)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	props := parquet.NewWriterProperties(parquet.WithDictionaryDefault(true), parquet.WithCompression(compress.Codecs.Zstd))
	return parquetBytes(t, rec, props)
}

func TestLimitParquet(t *testing.T) {
	wide := limitParquet(t, 12, 2, "v")
	fe := limitErr(t, memInput("wide.parquet", wide), Options{Limits: Limits{MaxColumns: 10}})
	wantLimit(t, fe, "max-columns", errorPlace{"wide.parquet", 0, 0, ""}, "file has 12 columns, more than the limit of 10")

	// One 1 MiB value: the file is a few hundred bytes, its dictionary
	// page 1 MiB.
	bomb := limitParquet(t, 1, 3, strings.Repeat("x", 1<<20))
	if len(bomb) > 64<<10 {
		t.Fatalf("the test file is %d bytes; it should compress to almost nothing", len(bomb))
	}
	fe = limitErr(t, memInput("dict.parquet", bomb), Options{Limits: Limits{MaxChunkBytes: 512 << 10, MaxRecordBytes: 1}})
	wantLimit(t, fe, "max-chunk-bytes", errorPlace{"dict.parquet", 0, 1, "c0"}, "row group 0's column chunk expands to 1.0MiB, more than the limit of 512KiB")
	fe = limitErr(t, memInput("dict.parquet", bomb), Options{Limits: Limits{MaxFileBytes: 512 << 10}})
	wantLimit(t, fe, "max-file-bytes", errorPlace{"dict.parquet", 0, 0, ""}, "file expands to more than 512KiB when its pages are decompressed")
	res := mustRead(t, memInput("dict.parquet", bomb), Options{})
	if len(res.rows) != 3 {
		t.Fatalf("read %d rows", len(res.rows))
	}
}

// panicky is a decoder that panics, as arrow-go's Parquet readers do on
// some corrupt pages.
type panicky struct{ at string }

func (p panicky) Chunks(_ context.Context, emit func(*Chunk) error) error {
	if p.at == "chunks" {
		panic("index out of range [7] with length 3")
	}
	return emit(&Chunk{Rows: 2})
}

func (p panicky) Infer(*Chunk) (*Evidence, error) {
	if p.at == "infer" {
		panic(errors.New("invalid page header"))
	}
	return &Evidence{}, nil
}

func (p panicky) Decode(*Chunk, *arrow.Schema) (arrow.RecordBatch, error) {
	panic("runtime error: slice bounds out of range")
}

func TestDecoderPanicsBecomeErrors(t *testing.T) {
	in := Input{Name: "bad.parquet"}
	for _, tc := range []struct{ at, want string }{
		{"chunks", "while cutting it into chunks: index out of range [7] with length 3"},
		{"infer", "while inferring types of rows 1-2: invalid page header"},
		{"decode", "while decoding rows 1-2: runtime error: slice bounds out of range"},
	} {
		g := &guarded{d: panicky{tc.at}, in: in, kind: Parquet, lim: Limits{}.limits()}
		var err error
		var c *Chunk
		err = g.Chunks(context.Background(), func(ch *Chunk) error { c = ch; return nil })
		if err == nil {
			if _, err = g.Infer(c); err == nil {
				_, err = g.Decode(c, arrow.NewSchema(nil, nil))
			}
		}
		var fe *Error
		if !errors.As(err, &fe) || fe.File != "bad.parquet" || !strings.Contains(fe.Msg, tc.want) || !strings.Contains(fe.Msg, "parquet data is corrupt") {
			t.Errorf("panic in %s: error %v", tc.at, err)
		}
	}
	// A panic of the caller's emit is the caller's bug: it goes on.
	defer func() {
		if v := recover(); v != "caller" {
			t.Errorf("recovered %v, want the caller's panic", v)
		}
	}()
	g := &guarded{d: panicky{}, in: in, kind: Parquet, lim: Limits{}.limits()}
	_ = g.Chunks(context.Background(), func(*Chunk) error { panic("caller") })
	t.Error("the caller's panic was swallowed")
}
