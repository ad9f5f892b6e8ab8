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
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// mixedCSV is a small table with every inferred type, nulls, quoting and
// more rows than one chunk.
func mixedCSV(rows int) []byte {
	var b strings.Builder
	b.WriteString("id,amount,flag,country,note,when\n")
	countries := []string{"DE", "FR", "US", "JP"}
	for i := 0; i < rows; i++ {
		amount := fmt.Sprintf("%d.%02d", i%1000, i%100)
		if i%10 == 3 {
			amount = ""
		}
		note := fmt.Sprintf("note %d", i%7)
		if i%5 == 0 {
			note = fmt.Sprintf("\"quoted, \"\"%d\"\"\"", i)
		}
		fmt.Fprintf(&b, "%d,%s,%v,%s,%s,2024-01-%02dT%02d:%02d:00Z\n", i, amount, i%3 == 0, countries[i%4], note, 1+i%28, i%24, i%60)
	}
	return []byte(b.String())
}

// writeParquet decodes a text input and writes every chunk to Parquet.
func writeParquet(t testing.TB, in Input, opt Options, c Compression) ([]byte, *result) {
	t.Helper()
	res := mustRead(t, in, opt)
	d, err := NewDecoder(in, opt)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := NewWriter(&out, res.schema, Parquet, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range res.chunks {
		rec, err := d.Decode(ch, res.schema)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), res
}

func TestCSVToParquetCellByCell(t *testing.T) {
	in := memInput("m.csv", mixedCSV(5000))
	data, res := writeParquet(t, in, Options{ChunkRows: 1000, InferTimestamps: true}, Snappy)
	diff(t, "schema", []string{"id:int64", "amount:float64", "flag:bool", "country:utf8", "note:utf8", "when:timestamp[us, tz=UTC]"}, typeNames(res.schema))

	tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(data), nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	diff(t, "Parquet schema", typeNames(res.schema), typeNames(tbl.Schema()))
	tr := array.NewTableReader(tbl, 777)
	defer tr.Release()
	var got [][]any
	for tr.Next() {
		got = append(got, recordRows(t, tr.RecordBatch())...)
	}
	if len(got) != 5000 {
		t.Fatalf("read back %d rows, want 5000", len(got))
	}
	// Spot values computed from the generator by hand.
	diff(t, "row 3", []any{int64(3), nil, true, "JP", "note 3", ts("2024-01-04T03:03:00Z")}, got[3])
	diff(t, "row 10", []any{int64(10), 10.10, false, "US", `quoted, "10"`, ts("2024-01-11T10:10:00Z")}, got[10])
	for i := range got {
		if d := fmt.Sprint(got[i]); d != fmt.Sprint(res.rows[i]) {
			t.Fatalf("row %d: Parquet %v, CSV %v", i, got[i], res.rows[i])
		}
	}
}

func TestParquetCompressionCodecs(t *testing.T) {
	in := memInput("m.csv", mixedCSV(300))
	tests := []struct {
		c    Compression
		want compress.Compression
	}{
		{"", compress.Codecs.Snappy},
		{Snappy, compress.Codecs.Snappy},
		{Gzip, compress.Codecs.Gzip},
		{Zstd, compress.Codecs.Zstd},
		{None, compress.Codecs.Uncompressed},
	}
	for _, tt := range tests {
		data, _ := writeParquet(t, in, Options{}, tt.c)
		r, err := file.NewParquetReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		rg := r.RowGroup(0)
		for i := 0; i < rg.NumColumns(); i++ {
			cc, err := rg.MetaData().ColumnChunk(i)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Compression() != tt.want {
				t.Errorf("compression %q: column %d has codec %s, want %s", tt.c, i, cc.Compression(), tt.want)
			}
			if ok, _ := cc.StatsSet(); !ok {
				t.Errorf("compression %q: column %d has no statistics", tt.c, i)
			}
		}
		cc, _ := rg.MetaData().ColumnChunk(3) // country: 4 distinct values
		if !cc.HasDictionaryPage() {
			t.Errorf("compression %q: the country column is not dictionary encoded", tt.c)
		}
		cc, _ = rg.MetaData().ColumnChunk(0) // id: numbers go to the page compressor
		if cc.HasDictionaryPage() {
			t.Errorf("compression %q: the id column is dictionary encoded", tt.c)
		}
		r.Close()
	}
}

func TestParquetOutputIsDeterministic(t *testing.T) {
	in := memInput("m.csv", mixedCSV(3000))
	for _, c := range []Compression{Snappy, Gzip, Zstd, None} {
		a, _ := writeParquet(t, in, Options{ChunkRows: 500, InferTimestamps: true}, c)
		b, _ := writeParquet(t, in, Options{ChunkRows: 500, InferTimestamps: true}, c)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two writes of the same batches differ", c)
		}
	}
}

func TestParquetRowGroupLimit(t *testing.T) {
	n := ParquetRowGroupRows + 5
	vals := make([]int64, n)
	for i := range vals {
		vals[i] = int64(i)
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	col := int64Array(arrow.PrimitiveTypes.Int64, vals, newValidity(n))
	defer col.Release()
	var out bytes.Buffer
	w, err := NewWriter(&out, schema, Parquet, Snappy)
	if err != nil {
		t.Fatal(err)
	}
	// Two batches, so that buffering across batches is exercised.
	half := int64(n / 2)
	for _, rng := range [][2]int64{{0, half}, {half, int64(n)}} {
		rec := array.NewRecordBatch(schema, []arrow.Array{array.NewSlice(col, rng[0], rng[1])}, rng[1]-rng[0])
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := file.NewParquetReader(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var sizes []int64
	for i := 0; i < r.NumRowGroups(); i++ {
		sizes = append(sizes, r.MetaData().RowGroup(i).NumRows())
	}
	diff(t, "row group sizes", []int64{131072, 5}, sizes)
}

// parquetFile writes a table with many Arrow types, in row groups of three
// rows, as other tools might produce it.
func parquetFile(t testing.TB) []byte {
	t.Helper()
	mem := memory.DefaultAllocator
	tsMS := &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "Europe/Paris"}
	tsNS := &arrow.TimestampType{Unit: arrow.Nanosecond}
	dec := &arrow.Decimal128Type{Precision: 10, Scale: 2}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "u64", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "dec", Type: dec, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ls", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "d32", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "tms", Type: tsMS, Nullable: true},
		{Name: "tns", Type: tsNS, Nullable: true},
		{Name: "list", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
		{Name: "nul", Type: arrow.Null, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	valid := []bool{true, false, true, true, true}
	b.Field(0).(*array.Int8Builder).AppendValues([]int8{-128, 0, 127, 1, 2}, valid)
	b.Field(1).(*array.Int32Builder).AppendValues([]int32{math.MinInt32, 0, math.MaxInt32, 3, 4}, valid)
	b.Field(2).(*array.Uint64Builder).AppendValues([]uint64{0, 0, math.MaxInt64, 5, 6}, valid)
	b.Field(3).(*array.Float32Builder).AppendValues([]float32{0.5, 0, -1.25, 3, float32(math.Inf(1))}, valid)
	b.Field(4).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(12345), {}, decimal128.FromI64(-1), decimal128.FromI64(100), decimal128.FromI64(7)}, valid)
	b.Field(5).(*array.StringBuilder).AppendValues([]string{"a", "", "c", "dé", "e"}, valid)
	b.Field(6).(*array.LargeStringBuilder).AppendValues([]string{"A", "", "C", "D", "E"}, valid)
	b.Field(7).(*array.BinaryBuilder).AppendValues([][]byte{[]byte("x"), nil, []byte("z"), []byte("w"), []byte("v")}, valid)
	b.Field(8).(*array.BooleanBuilder).AppendValues([]bool{true, false, false, true, false}, valid)
	b.Field(9).(*array.Date32Builder).AppendValues([]arrow.Date32{0, 0, 19724, -1, 1}, valid) // 19724 = 2024-01-02
	b.Field(10).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1704164645123, 0, 0, -1, 1000}, valid)
	b.Field(11).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1704164645123456789, 0, -1, 1500, 999}, valid)
	lb := b.Field(12).(*array.ListBuilder)
	vb := lb.ValueBuilder().(*array.Int64Builder)
	for i := 0; i < 5; i++ {
		if !valid[i] {
			lb.AppendNull()
			continue
		}
		lb.Append(true)
		for k := 0; k < i; k++ {
			vb.Append(int64(k))
		}
	}
	b.Field(13).(*array.NullBuilder).AppendNulls(5)
	rec := b.NewRecordBatch()
	defer rec.Release()

	props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(3), parquet.WithStats(true))
	return parquetBytes(t, rec, props)
}

func TestParquetDecoder(t *testing.T) {
	data := parquetFile(t)
	for _, rows := range []int{1, 2, 3, 100} {
		t.Run(fmt.Sprint("ChunkRows=", rows), func(t *testing.T) {
			res := mustRead(t, memInput("types.parquet", data), Options{ChunkRows: rows})
			diff(t, "schema", []string{
				"i8:int64", "i32:int64", "u64:int64", "f32:float64", "dec:float64", "s:utf8", "ls:utf8", "bin:utf8",
				"b:bool", "d32:timestamp[us, tz=UTC]", "tms:timestamp[us, tz=UTC]", "tns:timestamp[us, tz=UTC]", "list:utf8", "nul:float64",
			}, typeNames(res.schema))
			want := [][]any{
				{int64(-128), int64(math.MinInt32), int64(0), 0.5, 123.45, "a", "A", "x", true, ts("1970-01-01T00:00:00Z"), ts("2024-01-02T03:04:05.123Z"), ts("2024-01-02T03:04:05.123456Z"), "[]", nil},
				{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
				{int64(127), int64(math.MaxInt32), int64(math.MaxInt64), -1.25, -0.01, "c", "C", "z", false, ts("2024-01-02T00:00:00Z"), ts("1970-01-01T00:00:00Z"), ts("1969-12-31T23:59:59.999999Z"), "[0,1]", nil},
				{int64(1), int64(3), int64(5), 3.0, 1.0, "dé", "D", "w", true, ts("1969-12-31T00:00:00Z"), ts("1969-12-31T23:59:59.999Z"), ts("1970-01-01T00:00:00.000001Z"), "[0,1,2]", nil},
				{int64(2), int64(4), int64(6), math.Inf(1), 0.07, "e", "E", "v", false, ts("1970-01-02T00:00:00Z"), ts("1970-01-01T00:00:01Z"), ts("1970-01-01T00:00:00Z"), "[0,1,2,3]", nil},
			}
			diff(t, "rows", want, res.rows)
			var firstRows []int64
			for _, c := range res.chunks {
				firstRows = append(firstRows, c.FirstRow)
			}
			wantFirst := map[int][]int64{1: {0, 1, 2, 3, 4}, 2: {0, 2, 3}, 3: {0, 3}, 100: {0, 3}}[rows]
			diff(t, "chunk first rows", wantFirst, firstRows)
			// Null counts come from the statistics of flat columns; nested ones are unknown.
			for _, c := range res.evidence.Columns() {
				switch c.Name {
				case "list":
					if c.NullsKnown {
						t.Errorf("list: null count claimed known")
					}
				case "nul":
					// Arrow's null type has no statistics in Parquet either way.
				default:
					if !c.NullsKnown || c.Nulls != 1 || c.Values != 4 {
						t.Errorf("%s: nulls %d (known %v), values %d; want 1 and 4", c.Name, c.Nulls, c.NullsKnown, c.Values)
					}
				}
			}
		})
	}
}

func TestParquetErrors(t *testing.T) {
	good := parquetFile(t)
	tests := []struct {
		name string
		in   Input
		msg  string
	}{
		{"not parquet", memInput("x.parquet", []byte("id,name\n1,a\n")), "not a Parquet file (bad magic/footer)"},
		{"empty", memInput("x.parquet", nil), "not a Parquet file (bad magic/footer)"},
		{"truncated", memInput("x.parquet", good[:len(good)-10]), "not a Parquet file (bad magic/footer)"},
		{"no random access", Input{Name: "x.parquet", Open: memInput("x", good).Open}, "Parquet input needs random access"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := read(t, tt.in, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			fe := asError(t, err)
			if fe.File != "x.parquet" || !strings.Contains(fe.Msg, tt.msg) || fe.Hint == "" {
				t.Errorf("got %v; want file x.parquet, message %q and a hint", fe, tt.msg)
			}
		})
	}
	if _, err := NewDecoder(memInput("x.parquet.gz", good), Options{}); err == nil {
		t.Error("a gzip-wrapped Parquet file was accepted")
	}
}

func TestParquetUint64Overflow(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "u", Type: arrow.PrimitiveTypes.Uint64, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	b.Field(0).(*array.Uint64Builder).AppendValues([]uint64{1, 2, math.MaxUint64}, nil)
	rec := b.NewRecordBatch()
	b.Release()
	data := parquetBytes(t, rec, nil)
	rec.Release()
	_, err := read(t, memInput("u.parquet", data), Options{ChunkRows: 2})
	fe := asError(t, err)
	diff(t, "place", errorPlace{File: "u.parquet", Row: 3, Column: "u"}, placeOf(fe))
	if !strings.Contains(fe.Msg, "18446744073709551615 does not fit in int64") {
		t.Errorf("message %q", fe.Msg)
	}
}

func TestParquetWithoutRows(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true}, {Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	var out bytes.Buffer
	w, err := NewWriter(&out, schema, Parquet, Zstd)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	res := mustRead(t, memInput("empty.parquet", out.Bytes()), Options{})
	if len(res.chunks) != 1 || res.chunks[0].Rows != 0 || len(res.rows) != 0 {
		t.Errorf("chunks %v rows %v; want one empty chunk", res.chunks, res.rows)
	}
	diff(t, "schema", []string{"a:int64", "s:utf8"}, typeNames(res.schema))
}

func TestCastColumn(t *testing.T) {
	mem := memory.DefaultAllocator
	// Dictionary-encoded strings expand to plain strings.
	db := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}).(*array.BinaryDictionaryBuilder)
	for _, s := range []string{"x", "y", "x"} {
		if err := db.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	db.AppendNull()
	dict := db.NewArray()
	defer dict.Release()
	got, err := castColumn(dict, arrow.BinaryTypes.String)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "dictionary", []any{"x", "y", "x", nil}, []any{cell(t, got, 0), cell(t, got, 1), cell(t, got, 2), cell(t, got, 3)})
	got.Release()

	// Timestamps render as RFC 3339 text when a column unifies to string.
	tb := array.NewTimestampBuilder(mem, TimestampType.(*arrow.TimestampType))
	tb.Append(1704164645123456)
	tsArr := tb.NewArray()
	defer tsArr.Release()
	got, err = castColumn(tsArr, arrow.BinaryTypes.String)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "timestamp text", "2024-01-02T03:04:05.123456Z", cell(t, got, 0))
	got.Release()

	if _, err := castColumn(tsArr, arrow.FixedWidthTypes.Boolean); err == nil || !strings.Contains(err.Error(), "cannot read Parquet type") {
		t.Errorf("timestamp to bool: %v", err)
	}
	bb := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	bb.Append([]byte{0xff})
	bin := bb.NewArray()
	defer bin.Release()
	if _, err := castColumn(bin, arrow.BinaryTypes.String); err == nil || !strings.Contains(err.Error(), "not UTF-8") {
		t.Errorf("binary to string: %v", err)
	}
}
