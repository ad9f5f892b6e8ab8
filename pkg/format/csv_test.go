package format

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// column builds a two-column CSV whose second column holds the given raw
// fields; the first column keeps empty values from making blank lines.
func column(fields ...string) []byte {
	var b strings.Builder
	b.WriteString("id,x\n")
	for i, f := range fields {
		fmt.Fprintf(&b, "%d,%s\n", i, f)
	}
	return []byte(b.String())
}

func TestCSVInference(t *testing.T) {
	tests := []struct {
		name   string
		fields []string
		opt    Options
		want   string // type of column x before Finalize
		nulls  int64
	}{
		{name: "every default null token", fields: append([]string{`""`}, DefaultNullValues...), want: "null", nulls: 19},
		{name: "ints", fields: []string{"1", "-2", "+3", "007"}, want: "int64"},
		{name: "ints with nulls", fields: []string{"1", "NA", "", "3", `""`, "null"}, want: "int64", nulls: 4},
		{name: "quoted numbers are numbers", fields: []string{`"5"`, `"6"`}, want: "int64"},
		{name: "quoted null token is null", fields: []string{`"NA"`, "1"}, want: "int64", nulls: 1},
		{name: "int and float", fields: []string{"1", "2.5"}, want: "float64"},
		{name: "exponent is float", fields: []string{"1", "1e3"}, want: "float64"},
		{name: "int64 overflow is float", fields: []string{"1", "9223372036854775808"}, want: "float64"},
		{name: "infinities", fields: []string{"1.5", "inf", "-inf", "Infinity"}, want: "float64"},
		{name: "bools", fields: []string{"true", "False", "TRUE", "false"}, want: "bool"},
		{name: "bool and int", fields: []string{"true", "1"}, want: "utf8"},
		{name: "bool and float", fields: []string{"1.5", "false"}, want: "utf8"},
		{name: "leading space", fields: []string{" 1", "2"}, want: "utf8"},
		{name: "trailing space", fields: []string{"1 ", "2"}, want: "utf8"},
		{name: "hex", fields: []string{"0x10"}, want: "utf8"},
		{name: "hex float", fields: []string{"0x1p-2"}, want: "utf8"},
		{name: "underscore", fields: []string{"1_000"}, want: "utf8"},
		{name: "text", fields: []string{"a", "1"}, want: "utf8"},
		{name: "dates without the option", fields: []string{"2024-01-02"}, want: "utf8"},
		{name: "dates and times", fields: []string{"2024-01-02", "2024-01-02T03:04:05", "2024-01-02 03:04:05.123", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05-07:00", "NA"},
			opt: Options{InferTimestamps: true}, want: "timestamp[us, tz=UTC]", nulls: 1},
		{name: "timestamp and int", fields: []string{"2024-01-02", "5"}, opt: Options{InferTimestamps: true}, want: "utf8"},
		{name: "timestamp and text", fields: []string{"2024-01-02", "soon"}, opt: Options{InferTimestamps: true}, want: "utf8"},
		{name: "custom null tokens", fields: []string{"missing", "1"}, opt: Options{NullValues: []string{"missing"}}, want: "int64", nulls: 1},
		{name: "custom tokens drop the defaults", fields: []string{"", "NA", "1"}, opt: Options{NullValues: []string{"missing"}}, want: "utf8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, rows := range []int{1, 2, 1000} {
				opt := tt.opt
				opt.ChunkRows = rows
				res := mustRead(t, memInput("t.csv", column(tt.fields...)), opt)
				cols := res.evidence.Columns()
				if got := cols[1].Type.String(); got != tt.want {
					t.Errorf("ChunkRows=%d: type %s, want %s", rows, got, tt.want)
				}
				want := ColumnEvidence{Name: "x", Type: cols[1].Type, Nulls: tt.nulls, Values: int64(len(tt.fields)) - tt.nulls, NullsKnown: true}
				diff(t, "column evidence", want, cols[1])
				diff(t, "id column", ColumnEvidence{Name: "id", Type: arrow.PrimitiveTypes.Int64, Values: int64(len(tt.fields)), NullsKnown: true}, cols[0])
				if res.evidence.Rows() != int64(len(tt.fields)) {
					t.Errorf("Rows() = %d, want %d", res.evidence.Rows(), len(tt.fields))
				}
			}
		})
	}
}

func TestCSVDecodeValues(t *testing.T) {
	data := "i,f,b,s,t,n\n" +
		"1,1.5,true,plain,2024-01-02,\n" +
		"-2,NA,FALSE,\"with,comma\",2024-01-02T03:04:05.123456Z,NA\n" +
		"NA,1e3,,\"he said \"\"hi\"\"\",2024-01-02 03:04:05+02:00,\n" +
		"9223372036854775807,-inf,True,\"two\nlines\",,\n"
	res := mustRead(t, memInput("v.csv", []byte(data)), Options{InferTimestamps: true})
	diff(t, "schema", []string{"i:int64", "f:float64", "b:bool", "s:utf8", "t:timestamp[us, tz=UTC]", "n:float64"}, typeNames(res.schema))
	want := [][]any{
		{int64(1), 1.5, true, "plain", ts("2024-01-02T00:00:00Z"), nil},
		{int64(-2), nil, false, "with,comma", ts("2024-01-02T03:04:05.123456Z"), nil},
		{nil, 1000.0, nil, `he said "hi"`, ts("2024-01-02T01:04:05Z"), nil},
		{int64(math.MaxInt64), math.Inf(-1), true, "two\nlines", nil, nil},
	}
	diff(t, "rows", want, res.rows)
}

func TestCSVChunking(t *testing.T) {
	// Lines: 1 header, 2 blank, 3 record, 4-5 one record, 6 blank, 7 record (no final newline).
	data := []byte("a,b\n\n1,2\n\"x\ny\",3\n\n4,5")
	type meta struct {
		Seq       int
		FirstRow  int64
		FirstLine int64
		Rows      int
	}
	chunks := func(rows int) []meta {
		res := mustRead(t, memInput("c.csv", data), Options{ChunkRows: rows})
		var out []meta
		for _, c := range res.chunks {
			out = append(out, meta{c.Seq, c.FirstRow, c.FirstLine, c.Rows})
		}
		want := [][]any{{"1", int64(2)}, {"x\ny", int64(3)}, {"4", int64(5)}}
		diff(t, "rows", want, res.rows)
		return out
	}
	diff(t, "ChunkRows=1", []meta{{0, 0, 3, 1}, {1, 1, 4, 1}, {2, 2, 7, 1}}, chunks(1))
	diff(t, "ChunkRows=2", []meta{{0, 0, 3, 2}, {1, 2, 7, 1}}, chunks(2))
	diff(t, "ChunkRows=3", []meta{{0, 0, 3, 3}}, chunks(3))
	diff(t, "default", []meta{{0, 0, 3, 3}}, chunks(0))
}

func TestCSVChunksAreDeterministic(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("id,text\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "%d,\"line %d\nwith \"\"quotes\"\", and commas\"\n", i, i)
		if i%7 == 0 {
			b.WriteString("\n")
		}
	}
	cut := func() []string {
		d, err := NewDecoder(memInput("d.csv", b.Bytes()), Options{ChunkRows: 333})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		err = d.Chunks(context.Background(), func(c *Chunk) error {
			out = append(out, fmt.Sprintf("%d %d %d %d %x", c.Seq, c.FirstRow, c.FirstLine, c.Rows, c.payload.(*textChunk).data))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	first, second := cut(), cut()
	if len(first) != 16 {
		t.Fatalf("%d chunks, want 16 (5000 rows / 333)", len(first))
	}
	diff(t, "chunks of two runs", first, second)
	res := mustRead(t, memInput("d.csv", b.Bytes()), Options{ChunkRows: 333})
	if len(res.rows) != 5000 || res.rows[4999][1] != "line 4999\nwith \"quotes\", and commas" {
		t.Errorf("got %d rows, last %v", len(res.rows), res.rows[len(res.rows)-1])
	}
}

func TestCSVFormsOfInput(t *testing.T) {
	want := [][]any{{int64(1), "x\r\ny"}, {int64(2), "z"}}
	tests := []struct {
		name string
		data string
		opt  Options
	}{
		{"crlf.csv", "a,b\r\n1,\"x\r\ny\"\r\n2,z\r\n", Options{}},
		{"bom.csv", "\xEF\xBB\xBFa,b\n1,\"x\r\ny\"\n2,z", Options{}},
		{"tabs.tsv", "a\tb\n1\t\"x\r\ny\"\n2\tz\n", Options{}},
		{"TABS.TSV.GZ", "", Options{}}, // filled below
		{"semi.txt", "a;b\n1;\"x\r\ny\"\n\n2;z\n", Options{Kind: CSV, Delimiter: ';'}},
		{"final-cr.csv", "a,b\n1,\"x\r\ny\"\n2,z\r", Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.data)
			if strings.HasSuffix(tt.name, ".GZ") {
				data = gz(t, []byte("a\tb\n1\t\"x\r\ny\"\n2\tz\n"))
			}
			res := mustRead(t, memInput(tt.name, data), tt.opt)
			diff(t, "columns", []string{"a:int64", "b:utf8"}, typeNames(res.schema))
			diff(t, "rows", want, res.rows)
		})
	}
}

func TestCSVHeaderOnly(t *testing.T) {
	for _, data := range []string{"a,b\n", "a,b", "\n\na,b\n\n\n"} {
		res := mustRead(t, memInput("h.csv", []byte(data)), Options{})
		if len(res.chunks) != 1 || res.chunks[0].Rows != 0 || len(res.rows) != 0 {
			t.Errorf("%q: chunks %v, rows %v; want one empty chunk", data, res.chunks, res.rows)
		}
		diff(t, "schema of "+data, []string{"a:float64", "b:float64"}, typeNames(res.schema))
		diff(t, "evidence of "+data, []string{"a:null", "b:null"}, typeNames(res.evidence.Schema()))
	}
}

func gz(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func zst(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w, err := zstd.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCompressedInputs(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("n,sq,name\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, "%d,%d.5,\"name, %d\"\n", i, i*i, i)
	}
	plain := mustRead(t, memInput("p.csv", b.Bytes()), Options{ChunkRows: 4096})
	if len(plain.rows) != 20000 || plain.rows[19999][1] != float64(19999*19999)+0.5 {
		t.Fatalf("plain read: %d rows, last %v", len(plain.rows), plain.rows[len(plain.rows)-1])
	}
	tests := []struct {
		name string
		data []byte
		opt  Options
	}{
		{"p.csv.gz", gz(t, b.Bytes()), Options{}},
		{"p.csv.zst", zst(t, b.Bytes()), Options{}},
		{"P.CSV.ZST", zst(t, b.Bytes()), Options{}},
		{"blob-without-extension", gz(t, b.Bytes()), Options{Kind: CSV, Compression: Gzip}},
		{"s3://bucket/p.csv.zst?versionId=3", zst(t, b.Bytes()), Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opt.ChunkRows = 4096
			res := mustRead(t, memInput(tt.name, tt.data), tt.opt)
			diff(t, "schema", typeNames(plain.schema), typeNames(res.schema))
			if !cmpRows(plain.rows, res.rows) {
				t.Error("rows differ from the uncompressed read")
			}
		})
	}
}

func cmpRows(a, b [][]any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if fmt.Sprint(a[i]) != fmt.Sprint(b[i]) {
			return false
		}
	}
	return true
}

func TestCSVErrors(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		data  string
		opt   Options
		place errorPlace
		msg   []string // substrings of Error()
	}{
		{name: "empty file", file: "e.csv", data: "",
			place: errorPlace{File: "e.csv"}, msg: []string{"file is empty; it needs at least a header row"}},
		{name: "empty gzip file", file: "e.csv.gz", data: "",
			place: errorPlace{File: "e.csv.gz"}, msg: []string{"file is empty; it needs at least a header row"}},
		{name: "only blank lines", file: "b.csv", data: "\n\r\n\n",
			place: errorPlace{File: "b.csv"}, msg: []string{"needs at least a header row"}},
		{name: "too few fields", file: "f.csv", data: "a,b\n1,2\n3\n",
			place: errorPlace{"f.csv", 3, 2, ""}, msg: []string{"expected 2 fields (as in the header) but found 1", "quote fields that contain the delimiter"}},
		{name: "too many fields", file: "f.csv", data: "a,b\n1,2,3\n",
			place: errorPlace{"f.csv", 2, 1, ""}, msg: []string{"expected 2 fields (as in the header) but found 3"}},
		{name: "too many fields with quotes", file: "f.csv", data: "a,b\n1,\"2\",\"x,y\"\n",
			place: errorPlace{"f.csv", 2, 1, ""}, msg: []string{"but found 3"}},
		{name: "field count after a multi-line record", file: "f.csv", data: "a,b\n\"x\ny\",1\n\n1,2,3\n",
			place: errorPlace{"f.csv", 5, 2, ""}, msg: []string{"but found 3"}},
		{name: "field count in a later chunk", file: "f.csv", data: "a,b\n1,2\n3,4\n5,6\n7\n", opt: Options{ChunkRows: 2},
			place: errorPlace{"f.csv", 5, 4, ""}, msg: []string{"but found 1"}},
		{name: "unterminated quote", file: "q.csv", data: "a,b\n1,2\n3,\"abc\n4,5\n",
			place: errorPlace{"q.csv", 3, 2, "b"}, msg: []string{"unterminated quote"}},
		{name: "unterminated quote in a later chunk", file: "q.csv", data: "a,b\n1,2\n3,4\n5,6\n\"7,8\n", opt: Options{ChunkRows: 2},
			place: errorPlace{"q.csv", 5, 4, "a"}, msg: []string{"unterminated quote"}},
		{name: "unterminated quote in the header", file: "q.csv", data: "a,\"b\n",
			place: errorPlace{"q.csv", 1, 0, ""}, msg: []string{"unterminated quote"}},
		{name: "bare quote left open", file: "q.csv", data: "a,b\n1,x\"y\n2,3\n",
			place: errorPlace{"q.csv", 2, 1, "b"}, msg: []string{"quote appears inside an unquoted field"}},
		{name: "bare quote", file: "q.csv", data: "a,b\n1,2\n1,x\"y\"\n",
			place: errorPlace{"q.csv", 3, 2, "b"}, msg: []string{"quote appears inside an unquoted field"}},
		{name: "text after closing quote", file: "q.csv", data: "a,b\n1,2\n\"x\"y,1\n",
			place: errorPlace{"q.csv", 3, 2, "a"}, msg: []string{`unexpected 'y' after the closing quote`}},
		{name: "invalid UTF-8", file: "u.csv", data: "a,b\n1,2\n3,caf\xe9\n",
			place: errorPlace{"u.csv", 3, 2, "b"}, msg: []string{"invalid UTF-8 byte 0xE9 at byte offset 13 (byte 6 of the line)", "iconv -f latin1 -t utf-8"}},
		{name: "invalid UTF-8 after a quoted newline", file: "u.csv", data: "a,b\n\"x\ny,z\",w\xff\n", opt: Options{ChunkRows: 5},
			place: errorPlace{"u.csv", 3, 1, "b"}, msg: []string{"byte offset 13 (byte 7 of the line)"}},
		{name: "invalid UTF-8 in the header", file: "u.csv", data: "a,\xc3\n",
			place: errorPlace{"u.csv", 1, 0, ""}, msg: []string{"header has an invalid UTF-8 byte 0xC3 at byte offset 2"}},
		{name: "duplicate header", file: "h.csv", data: "a,b,a\n1,2,3\n",
			place: errorPlace{"h.csv", 1, 0, "a"}, msg: []string{`header names 1 and 3 are both "a"`}},
		{name: "empty header name", file: "h.csv", data: "\na,,c\n1,2,3\n",
			place: errorPlace{"h.csv", 2, 0, ""}, msg: []string{"header name 2 is empty"}},
		{name: "corrupt gzip", file: "g.csv.gz", data: "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xffgarbage-that-is-not-deflate",
			place: errorPlace{File: "g.csv.gz"}, msg: []string{"gzip data is"}},
		{name: "not gzip at all", file: "g.csv.gz", data: "a,b\n1,2\n",
			place: errorPlace{File: "g.csv.gz"}, msg: []string{"file is not gzip data (its first bytes are 61 2c 62 0a)"}},
		{name: "not zstd", file: "z.csv.zst", data: "a,b\n1,2\n",
			place: errorPlace{File: "z.csv.zst"}, msg: []string{"file is not zstd data"}},
		{name: "corrupt zstd", file: "z.csv.zst", data: "\x28\xb5\x2f\xfd\x00garbage garbage garbage",
			place: errorPlace{File: "z.csv.zst"}, msg: []string{"zstd data is corrupt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := read(t, memInput(tt.file, []byte(tt.data)), tt.opt)
			if err == nil {
				t.Fatal("no error")
			}
			fe := asError(t, err)
			diff(t, "place", tt.place, placeOf(fe))
			for _, m := range tt.msg {
				if !strings.Contains(fe.Error(), m) {
					t.Errorf("error %q does not contain %q", fe.Error(), m)
				}
			}
		})
	}
}

func TestCompressedTruncated(t *testing.T) {
	var b bytes.Buffer
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&b, "%d,%d\n", i, i*7)
	}
	data := append([]byte("a,b\n"), b.Bytes()...)
	for name, z := range map[string][]byte{"t.csv.gz": gz(t, data), "t.csv.zst": zst(t, data)} {
		_, err := read(t, memInput(name, z[:len(z)/2]), Options{})
		if err == nil {
			t.Fatalf("%s: truncated stream read without error", name)
		}
		fe := asError(t, err)
		if fe.File != name || !strings.Contains(fe.Msg, "truncated") && !strings.Contains(fe.Msg, "corrupt") {
			t.Errorf("%s: %v", name, fe)
		}
	}
}

func TestCSVConversionErrors(t *testing.T) {
	data := []byte("i,f,b,t,n\n1,2.5,true,2024-01-01,\n\n\"x\ny\",3,false,2024-01-02,\n")
	schema := func(types ...arrow.DataType) *arrow.Schema {
		var fs []arrow.Field
		for i, n := range []string{"i", "f", "b", "t", "n"} {
			fs = append(fs, arrow.Field{Name: n, Type: types[i], Nullable: true})
		}
		return arrow.NewSchema(fs, nil)
	}
	i64, f64, str, bl := arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, arrow.BinaryTypes.String, arrow.FixedWidthTypes.Boolean
	tests := []struct {
		name   string
		schema *arrow.Schema
		place  errorPlace
		msg    string
	}{
		{"int", schema(i64, f64, bl, TimestampType, arrow.Null), errorPlace{"c.csv", 4, 2, "i"}, `cannot read "x\ny" as int64`},
		{"float", schema(str, i64, bl, TimestampType, arrow.Null), errorPlace{"c.csv", 2, 1, "f"}, `cannot read "2.5" as int64`},
		{"bool", schema(str, f64, f64, TimestampType, arrow.Null), errorPlace{"c.csv", 2, 1, "b"}, `cannot read "true" as float64`},
		{"timestamp", schema(str, f64, bl, bl, arrow.Null), errorPlace{"c.csv", 2, 1, "t"}, `cannot read "2024-01-01" as bool`},
		{"ts", schema(TimestampType, f64, bl, str, arrow.Null), errorPlace{"c.csv", 2, 1, "i"}, `cannot read "1" as timestamp[us, tz=UTC]`},
		{"null", schema(str, f64, bl, str, arrow.Null), errorPlace{}, ""},
		{"not null", schema(str, arrow.Null, bl, str, arrow.Null), errorPlace{"c.csv", 2, 1, "f"}, `cannot read "2.5" as null`},
		{"names", arrow.NewSchema([]arrow.Field{{Name: "i", Type: str}}, nil), errorPlace{"c.csv", 0, 0, "f"}, `column 2 is "f" in the file but missing in the schema`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDecoder(memInput("c.csv", data), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var chunks []*Chunk
			if err := d.Chunks(context.Background(), func(c *Chunk) error { chunks = append(chunks, c); return nil }); err != nil {
				t.Fatal(err)
			}
			rec, err := d.Decode(chunks[0], tt.schema)
			if tt.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				rec.Release()
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			fe := asError(t, err)
			diff(t, "place", tt.place, placeOf(fe))
			if !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("message %q does not contain %q", fe.Msg, tt.msg)
			}
		})
	}
}

// chunkView is what a pass hands out for one chunk.
type chunkView struct {
	Seq       int
	FirstRow  int64
	FirstLine int64
	Rows      int
	Offset    int64
	Data      string
}

func collectChunks(t *testing.T, pass func(func(*Chunk) error) error) ([]chunkView, error) {
	t.Helper()
	var out []chunkView
	err := pass(func(c *Chunk) error {
		tc := c.payload.(*textChunk)
		out = append(out, chunkView{c.Seq, c.FirstRow, c.FirstLine, c.Rows, tc.offset, string(tc.data)})
		return nil
	})
	return out, err
}

func TestCSVReplayRepeatsTheChunksOfTheFirstPass(t *testing.T) {
	var b strings.Builder
	b.WriteString("\xEF\xBB\xBFid,note\r\n\r\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "%d,\"line %d\nstill \"\"quoted\"\"\"\r\n", i, i)
		if i%9 == 0 {
			b.WriteString("\n\n") // blank lines, some between chunks
		}
	}
	b.WriteString("40,last") // no final newline
	plain := []byte(b.String())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	for _, in := range []Input{memInput("t.csv", plain), memInput("t.csv.gz", gz.Bytes())} {
		t.Run(in.Name, func(t *testing.T) {
			d, err := NewDecoder(in, Options{ChunkRows: 6})
			if err != nil {
				t.Fatal(err)
			}
			if d.(Replayer).Index() != nil {
				t.Fatal("index before any pass")
			}
			first, err := collectChunks(t, func(emit func(*Chunk) error) error { return d.Chunks(context.Background(), emit) })
			if err != nil {
				t.Fatal(err)
			}
			idx := d.(Replayer).Index()
			// A second decoder, as a later pass would make.
			d2, _ := NewDecoder(in, Options{ChunkRows: 6})
			again, err := collectChunks(t, func(emit func(*Chunk) error) error { return d2.(Replayer).Replay(context.Background(), idx, emit) })
			if err != nil {
				t.Fatal(err)
			}
			if len(first) != 7 {
				t.Fatalf("%d chunks, want 7", len(first))
			}
			diff(t, "replayed chunks", first, again)
			res := mustRead(t, in, Options{ChunkRows: 6})
			var rows int
			for _, c := range again {
				rows += c.Rows
			}
			if rows != len(res.rows) || rows != 41 {
				t.Errorf("replay has %d rows, the file %d; want 41", rows, len(res.rows))
			}
			// Other chunk sizes: the index does not apply, a fresh pass runs.
			d3, _ := NewDecoder(in, Options{ChunkRows: 10})
			fresh, err := collectChunks(t, func(emit func(*Chunk) error) error { return d3.(Replayer).Replay(context.Background(), idx, emit) })
			if err != nil || len(fresh) != 5 {
				t.Errorf("replay with other options: %d chunks, %v; want 5 from a fresh pass", len(fresh), err)
			}
		})
	}
}

func TestCSVReplayNoticesAChangedFile(t *testing.T) {
	data := []byte("a,b\n1,2\n3,4\n5,6\n")
	d, _ := NewDecoder(memInput("c.csv", data), Options{ChunkRows: 2})
	if _, err := collectChunks(t, func(emit func(*Chunk) error) error { return d.Chunks(context.Background(), emit) }); err != nil {
		t.Fatal(err)
	}
	idx := d.(Replayer).Index()
	for _, tc := range []struct {
		data []byte
		msg  string
	}{
		{data[:len(data)-5], "changed since it was first read (it is now shorter)"},
		{data[:9], "changed since it was first read (it is now shorter)"},
		{append(append([]byte(nil), data...), "7,8\n"...), "changed since it was first read (it is now longer)"},
	} {
		d2, _ := NewDecoder(memInput("c.csv", tc.data), Options{ChunkRows: 2})
		_, err := collectChunks(t, func(emit func(*Chunk) error) error { return d2.(Replayer).Replay(context.Background(), idx, emit) })
		e := asError(t, err)
		if e.File != "c.csv" || !strings.Contains(e.Msg, tc.msg) {
			t.Errorf("%q: got %v, want %q", tc.data, err, tc.msg)
		}
	}
}

// Decode checks the UTF-8 of what it keeps without a check of the whole
// chunk up front; the errors are the ones Infer gives.
func TestCSVDecodeUTF8(t *testing.T) {
	str := arrow.BinaryTypes.String
	i64 := arrow.PrimitiveTypes.Int64
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: str, Nullable: true}, {Name: "b", Type: str, Nullable: true}}, nil)
	tests := []struct {
		name   string
		data   string
		schema *arrow.Schema
		place  errorPlace
		msg    string
	}{
		{"in a string", "a,b\nx,y\nz,caf\xe9\n", schema, errorPlace{"u.csv", 3, 2, "b"}, "invalid UTF-8 byte 0xE9 at byte offset 13"},
		// Two halves of "é" in adjacent fields: the values together are
		// UTF-8, each alone is not.
		{"a character split between fields", "a,b\nx\xc3,\xa9y\n", schema, errorPlace{"u.csv", 2, 1, "a"}, "invalid UTF-8 byte 0xC3"},
		{"split between rows", "a,b\nx,y\xc3\n\xa9,z\n", schema, errorPlace{"u.csv", 2, 1, "b"}, "invalid UTF-8 byte 0xC3"},
		{"in a number", "a,b\n1,x\n\xff2,y\n", arrow.NewSchema([]arrow.Field{{Name: "a", Type: i64, Nullable: true}, {Name: "b", Type: str, Nullable: true}}, nil),
			errorPlace{"u.csv", 3, 2, "a"}, "invalid UTF-8 byte 0xFF"},
		{"quoted with a doubled quote", "a,b\n\"x\"\"\xff\",y\n", schema, errorPlace{"u.csv", 2, 1, "a"}, "invalid UTF-8 byte 0xFF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDecoder(memInput("u.csv", []byte(tt.data)), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var chunks []*Chunk
			if err := d.Chunks(context.Background(), func(c *Chunk) error { chunks = append(chunks, c); return nil }); err != nil {
				t.Fatal(err)
			}
			_, ierr := d.Infer(chunks[0])
			_, err = d.Decode(chunks[0], tt.schema)
			if err == nil || ierr == nil {
				t.Fatalf("Decode: %v, Infer: %v; want errors", err, ierr)
			}
			fe := asError(t, err)
			diff(t, "place", tt.place, placeOf(fe))
			diff(t, "Infer's error", ierr.Error(), err.Error())
			if !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("message %q does not contain %q", fe.Msg, tt.msg)
			}
		})
	}
	// Valid multi-byte text decodes.
	d, err := NewDecoder(memInput("u.csv", []byte("a,b\ncafé,ü\n,日本\n")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var chunks []*Chunk
	if err := d.Chunks(context.Background(), func(c *Chunk) error { chunks = append(chunks, c); return nil }); err != nil {
		t.Fatal(err)
	}
	rec, err := d.Decode(chunks[0], schema)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	diff(t, "b", []string{"ü", "日本"}, []string{rec.Column(1).(*array.String).Value(0), rec.Column(1).(*array.String).Value(1)})
}

// Replayed chunks reuse the memory of chunks already decoded: every chunk
// still decodes to its own values, and decoding one twice fails.
func TestCSVReplayReusesDecodedChunks(t *testing.T) {
	var b strings.Builder
	b.WriteString("i,s\n")
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&b, "%d,row %d %s\n", i, i, strings.Repeat("x", i%17))
	}
	in := memInput("r.csv", []byte(b.String()))
	want := mustRead(t, in, Options{ChunkRows: 64})
	d, _ := NewDecoder(in, Options{ChunkRows: 64})
	if _, err := collectChunks(t, func(emit func(*Chunk) error) error { return d.Chunks(context.Background(), emit) }); err != nil {
		t.Fatal(err)
	}
	idx := d.(Replayer).Index()
	for round := 0; round < 3; round++ {
		d2, _ := NewDecoder(in, Options{ChunkRows: 64})
		var got [][]any
		var last *Chunk
		err := d2.(Replayer).Replay(context.Background(), idx, func(c *Chunk) error {
			rec, err := d2.Decode(c, want.schema)
			if err != nil {
				return err
			}
			got = append(got, recordRows(t, rec)...)
			rec.Release()
			last = c
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "rows", want.rows, got)
		if _, err := d2.Decode(last, want.schema); err == nil || !strings.Contains(err.Error(), "holds 0 records") {
			t.Errorf("second Decode of a replayed chunk: %v; want an error", err)
		}
	}
}
