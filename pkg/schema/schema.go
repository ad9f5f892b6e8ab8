// Package schema gives a dataset's columns stable names, a fingerprint and a
// version number, explains how a schema changed between builds, and decides
// with a compatibility policy whether a build may publish the new schema
// (README: Incremental rebuilds and schema versions).
//
// Decisions:
//
//   - Type names describe the logical type, not its storage: string,
//     large_string and string_view are all "string"; a dictionary-encoded
//     column has its value type's name; every timestamp unit and time zone is
//     "timestamp". Readers pick storage details (Parquet int96, dictionary
//     pages) that users cannot see, and a fingerprint must not change with them.
//   - The fingerprint covers column order (by design), so a pure reorder makes
//     a new version. Diff, however, matches columns by name and reports no
//     change for a reorder: every consumer addresses columns by name.
//   - nullable → non-null is not breaking (every value a consumer could see
//     is still valid), but it changes the fingerprint, so it is a new version.
//   - A change is breaking unless it is a known safe widening; unknown or
//     nested type changes are breaking.
package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Column is one column of a dataset's schema.
type Column struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
}

// TypeName returns the stable, human name of an Arrow type: int8 … int64,
// uint8 … uint64, float16, float32, float64, bool, string, binary, timestamp,
// date32, date64, time32, time64, duration, decimal(p,s),
// fixed_size_binary[n], list<T>, struct<a:T,b:U>, map<K,V>, null. Types
// without a name of their own fall back to Arrow's spelling.
func TypeName(t arrow.DataType) string {
	if t == nil {
		return "null"
	}
	switch t.ID() {
	case arrow.NULL:
		return "null"
	case arrow.BOOL:
		return "bool"
	case arrow.INT8:
		return "int8"
	case arrow.INT16:
		return "int16"
	case arrow.INT32:
		return "int32"
	case arrow.INT64:
		return "int64"
	case arrow.UINT8:
		return "uint8"
	case arrow.UINT16:
		return "uint16"
	case arrow.UINT32:
		return "uint32"
	case arrow.UINT64:
		return "uint64"
	case arrow.FLOAT16:
		return "float16"
	case arrow.FLOAT32:
		return "float32"
	case arrow.FLOAT64:
		return "float64"
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return "string"
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW:
		return "binary"
	case arrow.FIXED_SIZE_BINARY:
		return fmt.Sprintf("fixed_size_binary[%d]", t.(*arrow.FixedSizeBinaryType).ByteWidth)
	case arrow.TIMESTAMP:
		return "timestamp"
	case arrow.DATE32:
		return "date32"
	case arrow.DATE64:
		return "date64"
	case arrow.TIME32:
		return "time32"
	case arrow.TIME64:
		return "time64"
	case arrow.DURATION:
		return "duration"
	case arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		d := t.(arrow.DecimalType)
		return fmt.Sprintf("decimal(%d,%d)", d.GetPrecision(), d.GetScale())
	case arrow.DICTIONARY:
		return TypeName(t.(*arrow.DictionaryType).ValueType)
	case arrow.LIST, arrow.LARGE_LIST, arrow.LIST_VIEW, arrow.LARGE_LIST_VIEW, arrow.FIXED_SIZE_LIST:
		return "list<" + TypeName(t.(arrow.ListLikeType).Elem()) + ">"
	case arrow.MAP:
		m := t.(*arrow.MapType)
		return "map<" + TypeName(m.KeyType()) + "," + TypeName(m.ItemType()) + ">"
	case arrow.STRUCT:
		st := t.(*arrow.StructType)
		parts := make([]string, st.NumFields())
		for i, f := range st.Fields() {
			parts[i] = f.Name + ":" + TypeName(f.Type)
		}
		return "struct<" + strings.Join(parts, ",") + ">"
	}
	return t.String()
}

// FromArrow lists the columns of s. Nullable is nullCounts[i] > 0, i.e. what
// the data showed (nullable = null_count > 0, docs/statistics.md); when nullCounts is
// nil, or too short to cover a column, the field's declared nullability is
// used instead.
func FromArrow(s *arrow.Schema, nullCounts []int64) []Column {
	if s == nil {
		return nil
	}
	cols := make([]Column, s.NumFields())
	for i, f := range s.Fields() {
		nullable := f.Nullable
		if i < len(nullCounts) {
			nullable = nullCounts[i] > 0
		}
		cols[i] = Column{Name: f.Name, Type: TypeName(f.Type), Nullable: nullable}
	}
	return cols
}

// fingerprintPrefix versions the encoding so that it can change without old
// and new fingerprints ever colliding.
const fingerprintPrefix = "mldata-schema-v1\n"

// Fingerprint returns the lowercase hex SHA-256 of the ordered column list,
// encoded as fingerprintPrefix followed, for each column, by
//
//	<len(name)>:<name>,<len(type)>:<type>,<0|1>;
//
// where lengths are decimal byte counts and the last field is 1 when the
// column is nullable. Length prefixes make the encoding unambiguous whatever
// bytes names contain. Example: columns (id int64 non-null), (label string
// nullable) encode as "mldata-schema-v1\n2:id,5:int64,0;5:label,6:string,1;".
func Fingerprint(cols []Column) string {
	h := sha256.New()
	h.Write([]byte(fingerprintPrefix))
	var b []byte
	for _, c := range cols {
		b = b[:0]
		b = strconv.AppendInt(b, int64(len(c.Name)), 10)
		b = append(b, ':')
		b = append(b, c.Name...)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(len(c.Type)), 10)
		b = append(b, ':')
		b = append(b, c.Type...)
		if c.Nullable {
			b = append(b, ",1;"...)
		} else {
			b = append(b, ",0;"...)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}
