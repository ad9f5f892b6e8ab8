package validate

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cespare/xxhash/v2"
)

// canonicalNaN is the key of every NaN, so that all NaNs are one value.
const canonicalNaN = 0x7ff8000000000000

// exactKey returns, for types whose values fit in 64 bits, a function giving
// a value's exact key; ok is false for other types.
func exactKey(arr arrow.Array) (key func(i int) uint64, ok bool) {
	switch a := arr.(type) {
	case *array.Int8:
		return func(i int) uint64 { return uint64(int64(a.Value(i))) }, true
	case *array.Int16:
		return func(i int) uint64 { return uint64(int64(a.Value(i))) }, true
	case *array.Int32:
		return func(i int) uint64 { return uint64(int64(a.Value(i))) }, true
	case *array.Int64:
		return func(i int) uint64 { return uint64(a.Value(i)) }, true
	case *array.Uint8:
		return func(i int) uint64 { return uint64(a.Value(i)) }, true
	case *array.Uint16:
		return func(i int) uint64 { return uint64(a.Value(i)) }, true
	case *array.Uint32:
		return func(i int) uint64 { return uint64(a.Value(i)) }, true
	case *array.Uint64:
		return func(i int) uint64 { return a.Value(i) }, true
	case *array.Float16:
		return func(i int) uint64 { return floatKey(float64(a.Value(i).Float32())) }, true
	case *array.Float32:
		return func(i int) uint64 { return floatKey(float64(a.Value(i))) }, true
	case *array.Float64:
		return func(i int) uint64 { return floatKey(a.Value(i)) }, true
	case *array.Boolean:
		return func(i int) uint64 {
			if a.Value(i) {
				return 1
			}
			return 0
		}, true
	case *array.Timestamp:
		return func(i int) uint64 { return uint64(a.Value(i)) }, true
	case *array.Date32:
		return func(i int) uint64 { return uint64(int64(a.Value(i))) }, true
	case *array.Date64:
		return func(i int) uint64 { return uint64(int64(a.Value(i))) }, true
	}
	return nil, false
}

// floatKey makes equal floats one key: -0 is 0 and every NaN is one NaN.
func floatKey(f float64) uint64 {
	if f != f {
		return canonicalNaN
	}
	if f == 0 {
		return 0
	}
	return math.Float64bits(f)
}

// keyText is the text form of an exact key of a column of type dt.
func keyText(key uint64, dt arrow.DataType) string {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
		return strconv.FormatInt(int64(key), 10)
	case arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return strconv.FormatUint(key, 10)
	case arrow.FLOAT16, arrow.FLOAT32:
		return strconv.FormatFloat(math.Float64frombits(key), 'g', -1, 32)
	case arrow.FLOAT64:
		return strconv.FormatFloat(math.Float64frombits(key), 'g', -1, 64)
	case arrow.BOOL:
		return strconv.FormatBool(key != 0)
	case arrow.TIMESTAMP:
		return arrow.Timestamp(int64(key)).ToTime(dt.(*arrow.TimestampType).Unit).UTC().Format(time.RFC3339Nano)
	case arrow.DATE32:
		return arrow.Date32(int32(int64(key))).ToTime().Format(time.DateOnly)
	case arrow.DATE64:
		return arrow.Date64(int64(key)).ToTime().Format(time.DateOnly)
	case arrow.DICTIONARY:
		return keyText(key, dt.(*arrow.DictionaryType).ValueType)
	}
	return strconv.FormatUint(key, 10)
}

// textOf returns a function giving a value's text form (see the package
// doc). The value must not be null.
func textOf(arr arrow.Array) func(i int) string {
	switch a := arr.(type) {
	case *array.String:
		return a.Value
	case *array.LargeString:
		return a.Value
	case *array.StringView:
		return a.Value
	case *array.Dictionary:
		inner := textOf(a.Dictionary())
		return func(i int) string { return inner(a.GetValueIndex(i)) }
	}
	if key, ok := exactKey(arr); ok {
		dt := arr.DataType()
		return func(i int) string { return keyText(key(i), dt) }
	}
	return arr.ValueStr
}

// uniqueKey returns a function giving a value's key for the unique rule and,
// for hashed keys, the text to keep for samples ("" for exact keys, whose
// text keyText recovers).
func uniqueKey(arr arrow.Array) (key func(i int) (uint64, string), exact bool) {
	if d, ok := arr.(*array.Dictionary); ok {
		inner, exact := uniqueKey(d.Dictionary())
		return func(i int) (uint64, string) { return inner(d.GetValueIndex(i)) }, exact
	}
	if k, ok := exactKey(arr); ok {
		return func(i int) (uint64, string) { return k(i), "" }, true
	}
	text := textOf(arr)
	return func(i int) (uint64, string) {
		s := text(i)
		return xxhash.Sum64String(s), s
	}, false
}

// isNumeric reports whether min and max apply to columns of type dt.
func isNumeric(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		return true
	case arrow.DICTIONARY:
		return isNumeric(dt.(*arrow.DictionaryType).ValueType)
	}
	return false
}

// number is one numeric value, kept exact.
type number struct {
	kind byte // 'i', 'u' or 'f'
	i    int64
	u    uint64
	f    float64
}

// float approximates n, for ordering reports only.
func (n number) float() float64 {
	switch n.kind {
	case 'i':
		return float64(n.i)
	case 'u':
		return float64(n.u)
	}
	return n.f
}

// numberOf returns a function giving a numeric column's values.
func numberOf(arr arrow.Array) func(i int) number {
	switch a := arr.(type) {
	case *array.Int8:
		return func(i int) number { return number{kind: 'i', i: int64(a.Value(i))} }
	case *array.Int16:
		return func(i int) number { return number{kind: 'i', i: int64(a.Value(i))} }
	case *array.Int32:
		return func(i int) number { return number{kind: 'i', i: int64(a.Value(i))} }
	case *array.Int64:
		return func(i int) number { return number{kind: 'i', i: a.Value(i)} }
	case *array.Uint8:
		return func(i int) number { return number{kind: 'u', u: uint64(a.Value(i))} }
	case *array.Uint16:
		return func(i int) number { return number{kind: 'u', u: uint64(a.Value(i))} }
	case *array.Uint32:
		return func(i int) number { return number{kind: 'u', u: uint64(a.Value(i))} }
	case *array.Uint64:
		return func(i int) number { return number{kind: 'u', u: a.Value(i)} }
	case *array.Float16:
		return func(i int) number { return number{kind: 'f', f: float64(a.Value(i).Float32())} }
	case *array.Float32:
		return func(i int) number { return number{kind: 'f', f: float64(a.Value(i))} }
	case *array.Float64:
		return func(i int) number { return number{kind: 'f', f: a.Value(i)} }
	case *array.Dictionary:
		if inner := numberOf(a.Dictionary()); inner != nil {
			return func(i int) number { return inner(a.GetValueIndex(i)) }
		}
	}
	return nil
}

// below reports n < b exactly (NaN is below every bound, being within none).
func below(n number, b float64) bool {
	switch n.kind {
	case 'i':
		if b >= 0x1p63 {
			return true
		}
		if b <= -0x1p63 {
			return false
		}
		return n.i < int64(math.Ceil(b)) // for an integer, n < b ⇔ n < ⌈b⌉
	case 'u':
		if b >= 0x1p64 {
			return true
		}
		if b <= 0 {
			return false
		}
		return n.u < uint64(math.Ceil(b))
	}
	return n.f != n.f || n.f < b
}

// above reports n > b exactly (NaN is above every bound).
func above(n number, b float64) bool {
	switch n.kind {
	case 'i':
		if b < -0x1p63 {
			return true
		}
		if b >= 0x1p63 {
			return false
		}
		return n.i > int64(math.Floor(b)) // for an integer, n > b ⇔ n > ⌊b⌋
	case 'u':
		if b < 0 {
			return true
		}
		if b >= 0x1p64 {
			return false
		}
		return n.u > uint64(math.Floor(b))
	}
	return n.f != n.f || n.f > b
}

// maxText is the longest sample value kept, in bytes.
const maxText = 100

// clip shortens s to at most max bytes at a character boundary, marking the cut.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// formatBound prints a rule's bound as the user wrote it.
func formatBound(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
