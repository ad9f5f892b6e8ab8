package format

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	pqgo "github.com/parquet-go/parquet-go"
)

// sampleBatch has every type the decoders produce, with nulls and the
// values that need quoting or escaping.
func sampleBatch(t testing.TB) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "t", Type: TimestampType, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 0, -5, 0, 7}, []bool{true, false, true, true, true})
	b.Field(1).(*array.Float64Builder).AppendValues([]float64{3, 0.1, 0, 1e21, math.Inf(1)}, []bool{true, true, false, true, true})
	b.Field(2).(*array.BooleanBuilder).AppendValues([]bool{true, false, false, true, false}, []bool{true, true, false, true, true})
	b.Field(3).(*array.StringBuilder).AppendValues([]string{"plain", "a,b", `say "hi"`, "two\nlines", ""}, []bool{true, true, true, true, false})
	b.Field(4).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1704164645000000, 1704164645500000, 0, -1, 1704153600000000}, []bool{true, true, false, true, true})
	return b.NewRecordBatch()
}

func writeText(t testing.TB, rec arrow.RecordBatch, kind Kind, c Compression) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, rec.Schema(), kind, c)
	if err != nil {
		t.Fatal(err)
	}
	// Two writes of slices: output must not depend on batch boundaries.
	cut := min(2, rec.NumRows())
	for _, r := range [][2]int64{{0, cut}, {cut, rec.NumRows()}} {
		part := rec.NewSlice(r[0], r[1])
		if err := w.Write(part); err != nil {
			t.Fatal(err)
		}
		part.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestCSVWriter(t *testing.T) {
	rec := sampleBatch(t)
	defer rec.Release()
	got := string(writeText(t, rec, CSV, None))
	want := "i,f,b,s,t\n" +
		"1,3.0,true,plain,2024-01-02T03:04:05Z\n" +
		",0.1,false,\"a,b\",2024-01-02T03:04:05.5Z\n" +
		"-5,,,\"say \"\"hi\"\"\",\n" +
		"0,1e+21,true,\"two\nlines\",1969-12-31T23:59:59.999999Z\n" +
		"7,+Inf,false,,2024-01-02T00:00:00Z\n"
	diff(t, "CSV text", want, got)

	res := mustRead(t, memInput("back.csv", []byte(got)), Options{InferTimestamps: true})
	diff(t, "schema read back", typeNames(rec.Schema()), typeNames(res.schema))
	diff(t, "rows read back", recordRows(t, rec), res.rows)
}

func TestJSONLWriter(t *testing.T) {
	rec := sampleBatch(t)
	defer rec.Release()
	got := string(writeText(t, rec, JSONL, None))
	want := `{"i":1,"f":3.0,"b":true,"s":"plain","t":"2024-01-02T03:04:05Z"}` + "\n" +
		`{"i":null,"f":0.1,"b":false,"s":"a,b","t":"2024-01-02T03:04:05.5Z"}` + "\n" +
		`{"i":-5,"f":null,"b":null,"s":"say \"hi\"","t":null}` + "\n" +
		`{"i":0,"f":1e+21,"b":true,"s":"two\nlines","t":"1969-12-31T23:59:59.999999Z"}` + "\n" +
		`{"i":7,"f":null,"b":false,"s":null,"t":"2024-01-02T00:00:00Z"}` + "\n"
	diff(t, "JSONL text", want, got)

	res := mustRead(t, memInput("back.jsonl", []byte(got)), Options{InferTimestamps: true})
	diff(t, "schema read back", typeNames(rec.Schema()), typeNames(res.schema))
	wantRows := recordRows(t, rec)
	wantRows[4][1] = nil // +Inf has no JSON form
	diff(t, "rows read back", wantRows, res.rows)
}

func TestJSONStringEscaping(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"q\"b\\", `"q\"b\\"`},
		{"\n\r\t\x00\x1f", `"\n\r\t\u0000\u001f"`},
		{"é😀", `"é😀"`},
		{"bad\xffbyte", `"bad\ufffdbyte"`},
	}
	for _, tt := range tests {
		diff(t, tt.in, tt.want, string(appendJSONString(nil, tt.in)))
	}
}

// Every float64 written to CSV reads back bit for bit, and a column of whole
// numbers stays a float column.
func TestCSVFloatRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vals := []float64{0, math.Copysign(0, -1), 1, -3, 1e21, 1e-7, 5e-324, math.MaxFloat64, 0.1, 123456789012345678, math.Inf(-1)}
	for len(vals) < 5000 {
		f := math.Float64frombits(rng.Uint64())
		if !math.IsNaN(f) {
			vals = append(vals, f)
		}
	}
	for _, whole := range [][]float64{vals, {1, 2, 3, 1e15}} {
		schema := arrow.NewSchema([]arrow.Field{{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil)
		col := float64Array(whole, newValidity(len(whole)))
		rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(len(whole)))
		col.Release()
		for _, kind := range []Kind{CSV, JSONL} {
			text := writeText(t, rec, kind, None)
			res := mustRead(t, memInput("f."+string(kind), text), Options{})
			diff(t, string(kind)+" schema", []string{"f:float64"}, typeNames(res.schema))
			for i, f := range whole {
				got := res.rows[i][0]
				if kind == JSONL && math.IsInf(f, 0) {
					if got != nil {
						t.Errorf("JSONL %v read back as %v, want null", f, got)
					}
					continue
				}
				if g, ok := got.(float64); !ok || math.Float64bits(g) != math.Float64bits(f) {
					t.Fatalf("%s: %v (%x) read back as %v", kind, f, math.Float64bits(f), got)
				}
			}
		}
		rec.Release()
	}
}

func TestCompressedTextOutput(t *testing.T) {
	rec := sampleBatch(t)
	defer rec.Release()
	for _, kind := range []Kind{CSV, JSONL} {
		plain := writeText(t, rec, kind, None)
		for _, c := range []Compression{Gzip, Zstd} {
			z := writeText(t, rec, kind, c)
			if again := writeText(t, rec, kind, c); !bytes.Equal(z, again) {
				t.Errorf("%s %s: two writes differ", kind, c)
			}
			var r io.Reader
			switch c {
			case Gzip:
				zr, err := gzip.NewReader(bytes.NewReader(z))
				if err != nil {
					t.Fatal(err)
				}
				r = zr
			case Zstd:
				zr, err := zstd.NewReader(bytes.NewReader(z))
				if err != nil {
					t.Fatal(err)
				}
				defer zr.Close()
				r = zr
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plain) {
				t.Errorf("%s %s: decompressed output differs from the plain output", kind, c)
			}
			name := "out" + Ext(kind, c)
			res := mustRead(t, memInput(name, z), Options{InferTimestamps: true})
			if len(res.rows) != 5 {
				t.Errorf("%s: read back %d rows", name, len(res.rows))
			}
		}
	}
}

type closeRecorder struct {
	bytes.Buffer
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestWriterLeavesDestinationOpen(t *testing.T) {
	rec := sampleBatch(t)
	defer rec.Release()
	for _, kind := range []Kind{CSV, JSONL, Parquet} {
		for _, c := range []Compression{None, Gzip, Zstd} {
			dst := &closeRecorder{}
			w, err := NewWriter(dst, rec.Schema(), kind, c)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if dst.closed || dst.Len() == 0 {
				t.Errorf("%s/%s: closed=%v, %d bytes", kind, c, dst.closed, dst.Len())
			}
		}
	}
}

func TestWriterErrors(t *testing.T) {
	rec := sampleBatch(t)
	defer rec.Release()
	tests := []struct {
		kind Kind
		c    Compression
		msg  string
	}{
		{CSV, Snappy, "snappy compression is only available for Parquet output"},
		{JSONL, "lz4", `compression "lz4" is not available for jsonl output`},
		{Parquet, "brotli", `compression "brotli" is not available for Parquet output`},
		{"xlsx", None, `unknown format "xlsx"`},
	}
	for _, tt := range tests {
		_, err := NewWriter(io.Discard, rec.Schema(), tt.kind, tt.c)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("NewWriter(%s, %s) = %v, want %q", tt.kind, tt.c, err, tt.msg)
		}
	}
	list := arrow.NewSchema([]arrow.Field{{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)}}, nil)
	if _, err := NewWriter(io.Discard, list, CSV, None); err == nil || !strings.Contains(err.Error(), `column "l" has type list`) {
		t.Errorf("list column: %v", err)
	}
	other := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	for _, kind := range []Kind{CSV, Parquet} {
		w, err := NewWriter(io.Discard, other, kind, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(rec); err == nil || !strings.Contains(err.Error(), "schema") {
			t.Errorf("%s: write with another schema: %v", kind, err)
		}
	}
	w, _ := NewWriter(io.Discard, rec.Schema(), CSV, None)
	w.Close()
	if err := w.Write(rec); err == nil {
		t.Error("write after close succeeded")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

func TestTextWriterOtherTypes(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8}, {Name: "u32", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32}, {Name: "ls", Type: arrow.BinaryTypes.LargeString},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32}, {Name: "n", Type: arrow.Null, Nullable: true},
		{Name: "i16", Type: arrow.PrimitiveTypes.Int16}, {Name: "i32", Type: arrow.PrimitiveTypes.Int32},
		{Name: "u8", Type: arrow.PrimitiveTypes.Uint8}, {Name: "u16", Type: arrow.PrimitiveTypes.Uint16}, {Name: "u64", Type: arrow.PrimitiveTypes.Uint64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int8Builder).Append(-8)
	b.Field(1).(*array.Uint32Builder).Append(32)
	b.Field(2).(*array.Float32Builder).Append(0.1)
	b.Field(3).(*array.LargeStringBuilder).Append("x,y")
	b.Field(4).(*array.Date32Builder).Append(19724)
	b.Field(5).(*array.NullBuilder).AppendNull()
	b.Field(6).(*array.Int16Builder).Append(-16)
	b.Field(7).(*array.Int32Builder).Append(-32)
	b.Field(8).(*array.Uint8Builder).Append(8)
	b.Field(9).(*array.Uint16Builder).Append(16)
	b.Field(10).(*array.Uint64Builder).Append(math.MaxUint64)
	rec := b.NewRecordBatch()
	defer rec.Release()
	diff(t, "CSV", "i8,u32,f32,ls,d,n,i16,i32,u8,u16,u64\n-8,32,0.1,\"x,y\",2024-01-02,,-16,-32,8,16,18446744073709551615\n", string(writeText(t, rec, CSV, None)))
	diff(t, "JSONL", `{"i8":-8,"u32":32,"f32":0.1,"ls":"x,y","d":"2024-01-02","n":null,"i16":-16,"i32":-32,"u8":8,"u16":16,"u64":18446744073709551615}`+"\n", string(writeText(t, rec, JSONL, None)))
}

// parquetTable builds rows of a table whose text columns exercise every
// dictionary path of the Parquet writer: few values, all distinct, nulls,
// and a column that looks repetitive in its first batch but is not later.
func parquetTable(t testing.TB, rows, batch int) (*arrow.Schema, []arrow.RecordBatch, [][]string) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "cat", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "uniq", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "drifting", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: false},
	}, nil)
	var recs []arrow.RecordBatch
	var want [][]string
	for start := 0; start < rows; start += batch {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := start; i < min(rows, start+batch); i++ {
			row := []string{strconv.Itoa(i), "<null>", fmt.Sprintf("u%07d", i), "", strconv.FormatFloat(float64(i)/4, 'g', -1, 64)}
			b.Field(0).(*array.Int64Builder).Append(int64(i))
			if i%7 == 3 {
				b.Field(1).(*array.StringBuilder).AppendNull()
			} else {
				row[1] = fmt.Sprintf("c%d", i%13)
				b.Field(1).(*array.StringBuilder).Append(row[1])
			}
			b.Field(2).(*array.StringBuilder).Append(row[2])
			// Repetitive in the first batch, distinct after it.
			row[3] = "same"
			if i >= batch {
				row[3] = fmt.Sprintf("d%d", i)
			}
			b.Field(3).(*array.StringBuilder).Append(row[3])
			b.Field(4).(*array.Float64Builder).Append(float64(i) / 4)
			want = append(want, row)
		}
		recs = append(recs, b.NewRecordBatch())
		b.Release()
	}
	return schema, recs, want
}

func TestParquetWriterEncodingsAndReadBack(t *testing.T) {
	// Batches that do not divide the row group size, so that row groups
	// are cut inside a batch.
	const rows, batch = ParquetRowGroupRows + 50_000, 30_000
	schema, recs, want := parquetTable(t, rows, batch)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	write := func(procs int) []byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		return writeBatches(t, schema, recs, Zstd)
	}
	data := write(4)
	if other := write(1); !bytes.Equal(data, other) {
		t.Fatal("the file differs between 1 and 4 cores")
	}

	f, err := pqgo.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.RowGroups()); n != 2 {
		t.Errorf("%d row groups, want 2", n)
	}
	// Which columns have dictionary pages, per row group.
	dict := map[string][]bool{}
	for _, rg := range f.Metadata().RowGroups {
		for i, cc := range rg.Columns {
			name := schema.Field(i).Name
			dict[name] = append(dict[name], cc.MetaData.DictionaryPageOffset != 0)
		}
	}
	diff(t, "dictionary pages per row group", map[string][]bool{
		"id": {false, false}, "cat": {true, true}, "uniq": {false, false},
		// The first batch chose a dictionary; both row groups fall back
		// to plain pages after the dictionary page.
		"drifting": {true, true}, "f": {false, false},
	}, dict)

	diff(t, "rows read back", want, pqgoRows(t, data, schema.NumFields()))
}

// pqgoRows reads a Parquet file's rows with parquet-go, an independent
// reader, as text ("<null>" for null).
func pqgoRows(t testing.TB, data []byte, cols int) [][]string {
	t.Helper()
	f, err := pqgo.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, rg := range f.RowGroups() {
		rr := rg.Rows()
		buf := make([]pqgo.Row, 1024)
		for {
			n, err := rr.ReadRows(buf)
			for _, row := range buf[:n] {
				out := make([]string, cols)
				for _, v := range row {
					switch {
					case v.IsNull():
						out[v.Column()] = "<null>"
					case v.Kind() == pqgo.Int64:
						out[v.Column()] = strconv.FormatInt(v.Int64(), 10)
					case v.Kind() == pqgo.Double:
						out[v.Column()] = strconv.FormatFloat(v.Double(), 'g', -1, 64)
					default:
						out[v.Column()] = string(v.ByteArray())
					}
				}
				got = append(got, out)
			}
			if err != nil {
				break
			}
		}
		rr.Close()
	}
	return got
}

// asDictionary returns a string array as a dictionary<int32, string> array
// whose dictionary holds its distinct values in an order of this batch's
// own (rotated by shift, with an unused value added), so that consecutive
// batches carry different dictionaries.
func asDictionary(t testing.TB, a *array.String, shift int) arrow.Array {
	t.Helper()
	var vals []string
	seen := map[string]bool{}
	for i := 0; i < a.Len(); i++ {
		if a.IsValid(i) && !seen[a.Value(i)] {
			seen[a.Value(i)] = true
			vals = append(vals, a.Value(i))
		}
	}
	slices.Sort(vals)
	if len(vals) > 0 {
		k := shift % len(vals)
		vals = append(vals[k:], vals[:k]...)
	}
	vals = append(vals, fmt.Sprintf("unused-%d", shift))
	at := map[string]int32{}
	db := array.NewStringBuilder(memory.DefaultAllocator)
	defer db.Release()
	for k, v := range vals {
		at[v] = int32(k)
		db.Append(v)
	}
	dict := db.NewArray()
	defer dict.Release()
	ib := array.NewInt32Builder(memory.DefaultAllocator)
	defer ib.Release()
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			ib.AppendNull()
		} else {
			ib.Append(at[a.Value(i)])
		}
	}
	idx := ib.NewArray()
	defer idx.Release()
	return array.NewDictionaryArray(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, idx, dict)
}

// withDictionaries returns rec with every string column as a dictionary
// array (see asDictionary).
func withDictionaries(t testing.TB, rec arrow.RecordBatch, shift int) arrow.RecordBatch {
	t.Helper()
	fields := slices.Clone(rec.Schema().Fields())
	cols := make([]arrow.Array, rec.NumCols())
	for j, c := range rec.Columns() {
		if s, ok := c.(*array.String); ok {
			cols[j] = asDictionary(t, s, shift)
			fields[j].Type = cols[j].DataType()
		} else {
			c.Retain()
			cols[j] = c
		}
	}
	defer releaseAll(cols)
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

func writeBatches(t testing.TB, schema *arrow.Schema, recs []arrow.RecordBatch, c Compression) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, schema, Parquet, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// Rows that come as dictionary arrays — each batch with a dictionary of its
// own, nulls among the rows — are written as the strings they stand for:
// the file is byte for byte the one their plain strings give, in both the
// dictionary-encoded column ("cat"), the plain one ("uniq") and the one
// that falls back from a dictionary to plain pages ("drifting"), across a
// row group boundary cut inside a batch.
func TestParquetWriterDictionaryArrays(t *testing.T) {
	const rows, batch = ParquetRowGroupRows + 50_000, 30_000
	schema, recs, want := parquetTable(t, rows, batch)
	defer releaseAll(func() []arrow.Array {
		var a []arrow.Array
		for _, r := range recs {
			a = append(a, r.Columns()...)
		}
		return a
	}())
	var dicts []arrow.RecordBatch
	for k, r := range recs {
		dicts = append(dicts, withDictionaries(t, r, 3*k+1))
	}
	defer func() {
		for _, r := range dicts {
			r.Release()
		}
	}()
	if d := dicts[0].Column(1).(*array.Dictionary); d.NullN() == 0 || d.Dictionary().Len() != 14 {
		t.Fatalf("test data: cat has %d nulls and %d dictionary values, want nulls and 14", d.NullN(), d.Dictionary().Len())
	}
	if arrow.TypeEqual(dicts[0].Column(1).(*array.Dictionary).Dictionary().DataType(), nil) ||
		array.Equal(dicts[0].Column(1).(*array.Dictionary).Dictionary(), dicts[1].Column(1).(*array.Dictionary).Dictionary()) {
		t.Fatal("test data: consecutive batches share a dictionary")
	}
	plain := writeBatches(t, schema, recs, Snappy)
	got := writeBatches(t, schema, dicts, Snappy)
	if !bytes.Equal(plain, got) {
		t.Fatal("dictionary arrays give another file than their plain strings")
	}
	diff(t, "rows read back", want, pqgoRows(t, got, schema.NumFields()))
	// The writer's own dictionary writes give the bytes of the Parquet
	// library's Arrow writer, which finds each page's values by hashing.
	dictDirect = false
	lib := writeBatches(t, schema, dicts, Snappy)
	dictDirect = true
	if !bytes.Equal(lib, got) {
		t.Fatal("writeDictArray gives another file than the Parquet library's Arrow writer")
	}
	// Mixed: plain and dictionary batches in one file.
	mixed := slices.Clone(recs)
	mixed[1], mixed[3] = dicts[1], dicts[3]
	if !bytes.Equal(plain, writeBatches(t, schema, mixed, Snappy)) {
		t.Fatal("plain and dictionary batches mixed give another file")
	}
}

// A null value inside a dictionary makes the rows that point at it null.
func TestParquetWriterDictionaryWithNullValue(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	db := array.NewStringBuilder(memory.DefaultAllocator)
	defer db.Release()
	db.AppendValues([]string{"x", "", "y"}, []bool{true, false, true})
	dict := db.NewArray()
	defer dict.Release()
	ib := array.NewInt32Builder(memory.DefaultAllocator)
	defer ib.Release()
	ib.AppendValues([]int32{2, 1, 0, 0, 2, 1}, []bool{true, true, true, false, true, true})
	idx := ib.NewArray()
	defer idx.Release()
	da := array.NewDictionaryArray(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, idx, dict)
	defer da.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "s", Type: da.DataType(), Nullable: true}}, nil), []arrow.Array{da}, 6)
	defer rec.Release()
	got := pqgoRows(t, writeBatches(t, schema, []arrow.RecordBatch{rec}, Snappy), 1)
	diff(t, "rows", [][]string{{"y"}, {"<null>"}, {"x"}, {"<null>"}, {"y"}, {"<null>"}}, got)

	// Only string dictionaries with int32 indices stand for a string column.
	other := arrow.NewSchema([]arrow.Field{{Name: "s", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, Nullable: true}}, nil)
	if writable(other, schema) || !writable(rec.Schema(), schema) || writable(rec.Schema(), other) {
		t.Error("writable accepts the wrong dictionary types")
	}
}

func TestParquetWriterNoRows(t *testing.T) {
	rec := sampleBatch(t)
	defer rec.Release()
	var out bytes.Buffer
	w, err := NewWriter(&out, rec.Schema(), Parquet, Snappy)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec.NewSlice(0, 0)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := pqgo.OpenFile(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if f.NumRows() != 0 || len(f.Schema().Fields()) != 5 {
		t.Errorf("%d rows, %d columns; want 0 and 5", f.NumRows(), len(f.Schema().Fields()))
	}
	list := arrow.NewSchema([]arrow.Field{{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)}}, nil)
	if _, err := NewWriter(io.Discard, list, Parquet, Snappy); err == nil || !strings.Contains(err.Error(), `column "l" has type list`) {
		t.Errorf("list column: %v", err)
	}
}

// Page statistics of a dictionary column are the bounds of the values its
// rows refer to, not of the row group's whole dictionary: here the row
// group's last rows bring the largest value, which the first page (2-byte
// indices, some 44,000 rows) does not hold. The writer's own
// dictionary writes (writeDictArray) give the bytes the Parquet library's
// Arrow writer gives.
func TestParquetWriterDictionaryPageStatistics(t *testing.T) {
	const rows, batch = ParquetRowGroupRows + 10_000, 30_000
	schema := arrow.NewSchema([]arrow.Field{{Name: "wide", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	var recs []arrow.RecordBatch
	for start := 0; start < rows; start += batch {
		b := array.NewStringBuilder(memory.DefaultAllocator)
		for i := start; i < min(rows, start+batch); i++ {
			switch {
			case i < 5000: // repetitive at first, so that the column gets a dictionary
				b.Append("v00000")
			case i%17 == 0:
				b.AppendNull()
			case i >= 100_000:
				b.Append("zzzz")
			default:
				b.Append(fmt.Sprintf("v%05d", (i*7919)%30000))
			}
		}
		col := b.NewArray()
		b.Release()
		rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(col.Len()))
		col.Release()
		recs = append(recs, withDictionaries(t, rec, len(recs)))
		rec.Release()
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	got := writeBatches(t, schema, recs, Snappy)
	dictDirect = false
	lib := writeBatches(t, schema, recs, Snappy)
	dictDirect = true
	if !bytes.Equal(lib, got) {
		t.Fatal("writeDictArray gives another file than the Parquet library's Arrow writer")
	}
	// The first page's maximum is below "zzzz".
	f, err := pqgo.OpenFile(bytes.NewReader(got), int64(len(got)))
	if err != nil {
		t.Fatal(err)
	}
	pages := f.RowGroups()[0].ColumnChunks()[0].Pages()
	defer pages.Close()
	p, err := pages.ReadPage()
	if err != nil {
		t.Fatal(err)
	}
	if _, maxv, ok := p.Bounds(); !ok || !strings.HasPrefix(string(maxv.ByteArray()), "v2999") || p.NumRows() >= 100_000 {
		t.Errorf("first page: %d rows, max %q (bounds %v), want fewer than 100000 rows and a max of v2999x", p.NumRows(), maxv, ok)
	}
	rows2 := pqgoRows(t, got, 1)
	if len(rows2) != rows || rows2[4999][0] != "v00000" || rows2[100_001][0] != "zzzz" || rows2[17*300][0] != "<null>" {
		t.Errorf("read back %d rows; rows 4999, 100001, 5100: %v %v %v", len(rows2), rows2[4999], rows2[100_001], rows2[17*300])
	}
}
