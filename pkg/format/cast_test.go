package format

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// build makes a two-value array (the second null) with a builder callback.
func build(t *testing.T, typ arrow.DataType, add func(array.Builder)) arrow.Array {
	t.Helper()
	b := array.NewBuilder(memory.DefaultAllocator, typ)
	defer b.Release()
	add(b)
	b.AppendNull()
	return b.NewArray()
}

func TestCastColumnMatrix(t *testing.T) {
	i64, f64, str := arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, arrow.BinaryTypes.String
	tests := []struct {
		name string
		from arrow.DataType
		add  func(array.Builder)
		to   arrow.DataType
		want any
	}{
		{"int16", arrow.PrimitiveTypes.Int16, func(b array.Builder) { b.(*array.Int16Builder).Append(-300) }, i64, int64(-300)},
		{"uint8", arrow.PrimitiveTypes.Uint8, func(b array.Builder) { b.(*array.Uint8Builder).Append(255) }, i64, int64(255)},
		{"uint16", arrow.PrimitiveTypes.Uint16, func(b array.Builder) { b.(*array.Uint16Builder).Append(65535) }, i64, int64(65535)},
		{"uint32", arrow.PrimitiveTypes.Uint32, func(b array.Builder) { b.(*array.Uint32Builder).Append(math.MaxUint32) }, i64, int64(math.MaxUint32)},
		{"int8 as float", arrow.PrimitiveTypes.Int8, func(b array.Builder) { b.(*array.Int8Builder).Append(-5) }, f64, -5.0},
		{"int16 as float", arrow.PrimitiveTypes.Int16, func(b array.Builder) { b.(*array.Int16Builder).Append(7) }, f64, 7.0},
		{"int32 as float", arrow.PrimitiveTypes.Int32, func(b array.Builder) { b.(*array.Int32Builder).Append(1 << 30) }, f64, float64(1 << 30)},
		{"int64 as float", arrow.PrimitiveTypes.Int64, func(b array.Builder) { b.(*array.Int64Builder).Append(1 << 53) }, f64, float64(1 << 53)},
		{"uint8 as float", arrow.PrimitiveTypes.Uint8, func(b array.Builder) { b.(*array.Uint8Builder).Append(3) }, f64, 3.0},
		{"uint16 as float", arrow.PrimitiveTypes.Uint16, func(b array.Builder) { b.(*array.Uint16Builder).Append(4) }, f64, 4.0},
		{"uint32 as float", arrow.PrimitiveTypes.Uint32, func(b array.Builder) { b.(*array.Uint32Builder).Append(5) }, f64, 5.0},
		{"uint64 as float", arrow.PrimitiveTypes.Uint64, func(b array.Builder) { b.(*array.Uint64Builder).Append(math.MaxUint64) }, f64, 18446744073709551615.0},
		{"float16", arrow.FixedWidthTypes.Float16, func(b array.Builder) { b.(*array.Float16Builder).Append(float16.New(1.5)) }, f64, 1.5},
		{"decimal256", &arrow.Decimal256Type{Precision: 40, Scale: 3}, func(b array.Builder) { b.(*array.Decimal256Builder).Append(decimal256.FromI64(-1250)) }, f64, -1.25},
		{"timestamp s", &arrow.TimestampType{Unit: arrow.Second}, func(b array.Builder) { b.(*array.TimestampBuilder).Append(86400) }, TimestampType, ts("1970-01-02T00:00:00Z")},
		{"timestamp ns before 1970", &arrow.TimestampType{Unit: arrow.Nanosecond}, func(b array.Builder) { b.(*array.TimestampBuilder).Append(-1500) }, TimestampType, ts("1969-12-31T23:59:59.999998Z")},
		{"date64", arrow.FixedWidthTypes.Date64, func(b array.Builder) { b.(*array.Date64Builder).Append(86400000) }, TimestampType, ts("1970-01-02T00:00:00Z")},
		{"timestamp as ms", TimestampType, func(b array.Builder) { b.(*array.TimestampBuilder).Append(1500) }, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, ts("1970-01-01T00:00:00.001Z")},
		{"large string", arrow.BinaryTypes.LargeString, func(b array.Builder) { b.(*array.LargeStringBuilder).Append("x") }, str, "x"},
		{"string view", arrow.BinaryTypes.StringView, func(b array.Builder) { b.(*array.StringViewBuilder).Append("view") }, str, "view"},
		{"int as text", arrow.PrimitiveTypes.Int32, func(b array.Builder) { b.(*array.Int32Builder).Append(42) }, str, "42"},
		{"date32 as text", arrow.FixedWidthTypes.Date32, func(b array.Builder) { b.(*array.Date32Builder).Append(19724) }, str, "2024-01-02"},
		{"date64 as text", arrow.FixedWidthTypes.Date64, func(b array.Builder) { b.(*array.Date64Builder).Append(0) }, str, "1970-01-01"},
		{"struct as JSON", arrow.StructOf(arrow.Field{Name: "a", Type: i64}), func(b array.Builder) {
			sb := b.(*array.StructBuilder)
			sb.Append(true)
			sb.FieldBuilder(0).(*array.Int64Builder).Append(1)
		}, str, `{"a":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := build(t, tt.from, tt.add)
			defer a.Release()
			got, err := castColumn(a, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Release()
			if !arrow.TypeEqual(got.DataType(), tt.to) {
				t.Errorf("type %s, want %s", got.DataType(), tt.to)
			}
			if tt.name == "timestamp as ms" {
				diff(t, "value", arrow.Timestamp(1), got.(*array.Timestamp).Value(0))
			} else {
				diff(t, "value", tt.want, cell(t, got, 0))
			}
			if !got.IsNull(1) {
				t.Error("null did not stay null")
			}
		})
	}
}

func TestCastDictionaries(t *testing.T) {
	mem := memory.DefaultAllocator
	tests := []struct {
		value arrow.DataType
		to    arrow.DataType
		add   func(array.Builder)
		want  []any
	}{
		{arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64, func(b array.Builder) {
			d := b.(*array.Int32DictionaryBuilder)
			d.Append(7)
			d.Append(9)
			d.Append(7)
		}, []any{int64(7), int64(9), int64(7), nil}},
		{arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float64, func(b array.Builder) {
			d := b.(*array.Float32DictionaryBuilder)
			d.Append(0.5)
			d.Append(0.5)
			d.Append(2)
		}, []any{0.5, 0.5, 2.0, nil}},
		{&arrow.TimestampType{Unit: arrow.Millisecond}, TimestampType, func(b array.Builder) {
			d := b.(*array.TimestampDictionaryBuilder)
			d.Append(1000)
			d.Append(2000)
			d.Append(1000)
		}, []any{ts("1970-01-01T00:00:01Z"), ts("1970-01-01T00:00:02Z"), ts("1970-01-01T00:00:01Z"), nil}},
	}
	for _, tt := range tests {
		b := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: tt.value})
		tt.add(b)
		b.AppendNull()
		a := b.NewArray()
		b.Release()
		got, err := castColumn(a, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, tt.value.String(), tt.want, []any{cell(t, got, 0), cell(t, got, 1), cell(t, got, 2), cell(t, got, 3)})
		if k := parquetKinds(a.DataType()); k != parquetKinds(tt.value) {
			t.Errorf("dictionary of %s infers as %b", tt.value, k)
		}
		got.Release()
		a.Release()
	}
	// A dictionary of bools is rare but expands the same way.
	bools := build(t, arrow.FixedWidthTypes.Boolean, func(b array.Builder) { b.(*array.BooleanBuilder).AppendValues([]bool{true, false}, nil) })
	defer bools.Release()
	idx := build(t, arrow.PrimitiveTypes.Int8, func(b array.Builder) { b.(*array.Int8Builder).AppendValues([]int8{1, 0, 0}, nil) })
	defer idx.Release()
	dict := array.NewDictionaryArray(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.FixedWidthTypes.Boolean}, idx, bools)
	defer dict.Release()
	got, err := castColumn(dict, arrow.FixedWidthTypes.Boolean)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "bool dictionary", []any{false, true, true, nil}, []any{cell(t, got, 0), cell(t, got, 1), cell(t, got, 2), cell(t, got, 3)})
	got.Release()
	nulls := array.NewNull(2)
	got, err = castColumn(nulls, arrow.BinaryTypes.String)
	if err != nil || got.NullN() != 2 || got.Len() != 2 {
		t.Errorf("null column as string: %v", err)
	}
	if _, err := castColumn(build(t, arrow.PrimitiveTypes.Int64, func(b array.Builder) { b.(*array.Int64Builder).Append(1) }), arrow.Null); err == nil {
		t.Error("a value was cast to the null type")
	}
	if _, err := castColumn(build(t, arrow.BinaryTypes.String, func(b array.Builder) { b.(*array.StringBuilder).Append("x") }), arrow.PrimitiveTypes.Int64); err == nil ||
		!strings.Contains(err.Error(), "cannot read Parquet type utf8 as int64") {
		t.Errorf("string as int64: %v", err)
	}
}

// Text decoders fill any timestamp unit a target schema asks for.
func TestTextTimestampUnits(t *testing.T) {
	for _, unit := range []arrow.TimeUnit{arrow.Second, arrow.Millisecond, arrow.Microsecond, arrow.Nanosecond} {
		typ := &arrow.TimestampType{Unit: unit, TimeZone: "UTC"}
		schema := arrow.NewSchema([]arrow.Field{{Name: "t", Type: typ, Nullable: true}}, nil)
		for _, in := range []Input{
			memInput("t.csv", []byte("t\n2024-01-02T03:04:05.678Z\nNA\n")),
			memInput("t.jsonl", []byte(`{"t":"2024-01-02T03:04:05.678Z"}`+"\n"+`{"t":null}`)),
		} {
			d, err := NewDecoder(in, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var chunk *Chunk
			if err := d.Chunks(context.Background(), func(c *Chunk) error { chunk = c; return nil }); err != nil {
				t.Fatal(err)
			}
			rec, err := d.Decode(chunk, schema)
			if err != nil {
				t.Fatal(err)
			}
			got := rec.Column(0).(*array.Timestamp).Value(0).ToTime(unit).UTC()
			want := ts("2024-01-02T03:04:05.678Z").Truncate(unit.Multiplier())
			if !got.Equal(want) || !rec.Column(0).IsNull(1) {
				t.Errorf("%s %s: %v, want %v", in.Name, unit, got, want)
			}
			rec.Release()
		}
	}
}

func TestCSVQuotedHeader(t *testing.T) {
	res := mustRead(t, memInput("h.csv", []byte("\"a,1\",\"say \"\"b\"\"\",\"multi\nline\"\r\n1,2,3\r\n")), Options{})
	diff(t, "names", []string{"a,1:int64", `say "b":int64`, "multi\nline:int64"}, typeNames(res.schema))
	for _, tt := range []struct{ data, msg string }{
		{"a,b\"c\n1,2\n", "quote appears inside an unquoted field"},
		{"\"a\"b,c\n1,2\n", "unexpected 'b' after the closing quote"},
	} {
		_, err := read(t, memInput("h.csv", []byte(tt.data)), Options{})
		if fe := asError(t, err); fe.Line != 1 || !strings.Contains(fe.Msg, tt.msg) {
			t.Errorf("%q: %v", tt.data, fe)
		}
	}
}
