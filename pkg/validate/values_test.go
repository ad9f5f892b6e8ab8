package validate

import (
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/google/go-cmp/cmp"
)

func TestBelowAbove(t *testing.T) {
	const big = int64(1) << 53
	tests := []struct {
		n            number
		b            float64
		below, above bool
	}{
		{number{kind: 'i', i: 0}, 0, false, false},
		{number{kind: 'i', i: -1}, -0.5, true, false},
		{number{kind: 'i', i: 0}, -0.5, false, true},
		{number{kind: 'i', i: 1}, 0.5, false, true},
		{number{kind: 'i', i: 0}, 0.5, true, false},
		// 2^53+1 is not a float64; comparing through float64 would call it equal to 2^53.
		{number{kind: 'i', i: big + 1}, float64(big), false, true},
		{number{kind: 'i', i: big}, float64(big), false, false},
		{number{kind: 'i', i: math.MaxInt64}, 0x1p63, true, false},
		{number{kind: 'i', i: math.MinInt64}, -0x1p63, false, false},
		{number{kind: 'i', i: math.MinInt64}, -0x1p64, false, true},
		{number{kind: 'u', u: 0}, 0, false, false},
		{number{kind: 'u', u: 0}, -1, false, true},
		{number{kind: 'u', u: 3}, 3.5, true, false},
		{number{kind: 'u', u: 4}, 3.5, false, true},
		{number{kind: 'u', u: math.MaxUint64}, 0x1p64, true, false},
		{number{kind: 'u', u: 1<<63 + 1}, 0x1p63, false, true},
		{number{kind: 'f', f: 1.5}, 1.5, false, false},
		{number{kind: 'f', f: math.Inf(-1)}, -1e300, true, false},
		{number{kind: 'f', f: math.NaN()}, 0, true, true},
	}
	for _, tt := range tests {
		if got := below(tt.n, tt.b); got != tt.below {
			t.Errorf("below(%+v, %v) = %v, want %v", tt.n, tt.b, got, tt.below)
		}
		if got := above(tt.n, tt.b); got != tt.above {
			t.Errorf("above(%+v, %v) = %v, want %v", tt.n, tt.b, got, tt.above)
		}
	}
}

// build makes a one-column array with the generic builder from text values
// ("" is null).
func build(t *testing.T, dt arrow.DataType, vals ...string) arrow.Array {
	t.Helper()
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	for _, v := range vals {
		if v == "" {
			b.AppendNull()
			continue
		}
		if err := b.AppendValueFromString(v); err != nil {
			t.Fatalf("%s: appending %q: %v", dt, v, err)
		}
	}
	arr := b.NewArray()
	t.Cleanup(arr.Release)
	return arr
}

func TestTextForms(t *testing.T) {
	f16 := array.NewFloat16Builder(mem)
	f16.Append(float16.New(0.5))
	f16arr := f16.NewArray()
	f16.Release()
	defer f16arr.Release()
	dict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	numDict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.PrimitiveTypes.Int32}
	tests := []struct {
		arr  arrow.Array
		want []string
	}{
		{build(t, arrow.PrimitiveTypes.Int8, "-8", "7"), []string{"-8", "7"}},
		{build(t, arrow.PrimitiveTypes.Int16, "-300"), []string{"-300"}},
		{build(t, arrow.PrimitiveTypes.Int32, "70000"), []string{"70000"}},
		{build(t, arrow.PrimitiveTypes.Uint8, "255"), []string{"255"}},
		{build(t, arrow.PrimitiveTypes.Uint16, "65535"), []string{"65535"}},
		{build(t, arrow.PrimitiveTypes.Uint32, "4294967295"), []string{"4294967295"}},
		{build(t, arrow.PrimitiveTypes.Uint64, "18446744073709551615"), []string{"18446744073709551615"}},
		{build(t, arrow.PrimitiveTypes.Float32, "0.1", "5"), []string{"0.1", "5"}},
		{build(t, arrow.PrimitiveTypes.Float64, "0.1", "5.0", "-0", "+Inf"), []string{"0.1", "5", "0", "+Inf"}},
		{f16arr, []string{"0.5"}},
		{build(t, arrow.FixedWidthTypes.Boolean, "true", "false"), []string{"true", "false"}},
		{build(t, arrow.FixedWidthTypes.Date32, "2024-02-29"), []string{"2024-02-29"}},
		{build(t, arrow.FixedWidthTypes.Date64, "2024-02-29"), []string{"2024-02-29"}},
		{build(t, &arrow.TimestampType{Unit: arrow.Second, TimeZone: "America/New_York"}, "2024-01-01T00:00:00Z"), []string{"2024-01-01T00:00:00Z"}},
		{build(t, &arrow.TimestampType{Unit: arrow.Nanosecond}, "2024-01-01T00:00:00.000000001"), []string{"2024-01-01T00:00:00.000000001Z"}},
		{build(t, arrow.BinaryTypes.LargeString, "héllo"), []string{"héllo"}},
		{build(t, arrow.BinaryTypes.StringView, "view"), []string{"view"}},
		{build(t, dict, "b", "a", "b"), []string{"b", "a", "b"}},
		{build(t, numDict, "42"), []string{"42"}},
		{build(t, &arrow.Decimal128Type{Precision: 5, Scale: 2}, "1.50"), []string{"1.5"}},
	}
	for _, tt := range tests {
		text := textOf(tt.arr)
		var got []string
		for i := range tt.arr.Len() {
			got = append(got, text(i))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s text (-want +got):\n%s", tt.arr.DataType(), diff)
		}
		// Exact keys must give back the same text through keyText, which
		// unique uses for values found in other partials.
		if key, ok := uniqueKey(tt.arr); ok {
			for i := range tt.arr.Len() {
				k, _ := key(i)
				if got := keyText(k, tt.arr.DataType()); got != tt.want[i] {
					t.Errorf("%s keyText = %q, want %q", tt.arr.DataType(), got, tt.want[i])
				}
			}
		}
	}
	// Every NaN and both zeros are one key each.
	fb := array.NewFloat64Builder(mem)
	fb.AppendValues([]float64{math.NaN(), math.Float64frombits(0xfff8000000000001), 0, math.Copysign(0, -1)}, nil)
	nans := fb.NewArray()
	fb.Release()
	defer nans.Release()
	k, _ := exactKey(nans)
	if k(0) != k(1) || k(2) != k(3) {
		t.Errorf("float keys: NaN %x %x, zero %x %x", k(0), k(1), k(2), k(3))
	}
	if got := keyText(7, arrow.BinaryTypes.Binary); got != "7" {
		t.Errorf("keyText fallback = %q", got)
	}
}

func TestNumericColumns(t *testing.T) {
	dict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.PrimitiveTypes.Float32}
	for _, dt := range []arrow.DataType{
		arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
		arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Uint64,
		arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float64, dict,
	} {
		if !isNumeric(dt) {
			t.Errorf("%s is not numeric", dt)
		}
		arr := build(t, dt, "3", "5")
		num := numberOf(arr)
		if num == nil || !below(num(0), 4) || below(num(1), 4) {
			t.Errorf("%s: numbers wrong", dt)
		}
		if !typeMatches("numeric", dt) {
			t.Errorf("type numeric does not match %s", dt)
		}
	}
	f16 := array.NewFloat16Builder(mem)
	f16.Append(float16.New(2))
	arr := f16.NewArray()
	f16.Release()
	defer arr.Release()
	if n := numberOf(arr)(0); n.f != 2 {
		t.Errorf("float16 number = %v", n)
	}
	if isNumeric(arrow.BinaryTypes.String) || numberOf(build(t, arrow.BinaryTypes.String, "x")) != nil {
		t.Error("string treated as numeric")
	}
	if numberOf(build(t, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, "x")) != nil {
		t.Error("string dictionary treated as numeric")
	}
	for _, tt := range []struct {
		dtype string
		dt    arrow.DataType
		want  bool
	}{
		{"int64", arrow.PrimitiveTypes.Uint8, true},
		{"int64", arrow.PrimitiveTypes.Float64, false},
		{"float64", arrow.PrimitiveTypes.Float32, true},
		{"bool", arrow.FixedWidthTypes.Boolean, true},
		{"string", arrow.BinaryTypes.LargeString, true},
		{"string", &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, true},
		{"timestamp", arrow.FixedWidthTypes.Date32, false},
		{"other", arrow.FixedWidthTypes.Boolean, false},
	} {
		if got := typeMatches(tt.dtype, tt.dt); got != tt.want {
			t.Errorf("typeMatches(%s, %s) = %v", tt.dtype, tt.dt, got)
		}
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc…"},
		{"ééé", 3, "é…"}, // é is 2 bytes: cut before the split character
		{"日本語", 4, "日…"},
	}
	for _, tt := range tests {
		if got := clip(tt.in, tt.max); got != tt.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestLoc(t *testing.T) {
	l := packLoc(3, 17)
	if l.fileIndex() != 3 || l.row() != 17 {
		t.Errorf("loc(3, 17) unpacks to (%d, %d)", l.fileIndex(), l.row())
	}
	if !(packLoc(0, 1<<35) < packLoc(1, 1)) {
		t.Error("file index does not order before row")
	}
	if got := packLoc(-1, -5); got != 0 {
		t.Errorf("negative position packs to %d, want 0", got)
	}
}
