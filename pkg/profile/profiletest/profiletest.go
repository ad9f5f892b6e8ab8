// Package profiletest loads the small JSON datasets that the profile and
// drift tests share (written by hack/crosscheck) into Arrow record batches,
// and compares JSON documents numerically.
package profiletest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Dataset is the JSON form: columns of values, null for a missing value,
// "NaN"/"Infinity"/"-Infinity" for non-finite floats.
type Dataset struct {
	Columns []struct {
		Name   string            `json:"name"`
		Type   string            `json:"type"`
		Values []json.RawMessage `json:"values"`
	} `json:"columns"`
}

// Load reads a dataset file and returns it as record batches of at most
// chunk rows (chunk ≤ 0: one batch).
func Load(path string, chunk int) ([]arrow.RecordBatch, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ds Dataset
	if err := json.Unmarshal(data, &ds); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fields := make([]arrow.Field, len(ds.Columns))
	rows := 0
	for i, c := range ds.Columns {
		var dt arrow.DataType
		switch c.Type {
		case "int64":
			dt = arrow.PrimitiveTypes.Int64
		case "float64":
			dt = arrow.PrimitiveTypes.Float64
		case "bool":
			dt = arrow.FixedWidthTypes.Boolean
		case "string":
			dt = arrow.BinaryTypes.String
		default:
			return nil, fmt.Errorf("%s: column %s has unknown type %q", path, c.Name, c.Type)
		}
		fields[i] = arrow.Field{Name: c.Name, Type: dt, Nullable: true}
		if i > 0 && len(c.Values) != rows {
			return nil, fmt.Errorf("%s: column %s has %d values, want %d", path, c.Name, len(c.Values), rows)
		}
		rows = len(c.Values)
	}
	schema := arrow.NewSchema(fields, nil)
	if chunk <= 0 {
		chunk = max(rows, 1)
	}
	var out []arrow.RecordBatch
	for start := 0; start < rows || (rows == 0 && start == 0); start += chunk {
		end := min(start+chunk, rows)
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i, c := range ds.Columns {
			for _, raw := range c.Values[start:end] {
				if err := appendValue(b.Field(i), raw); err != nil {
					b.Release()
					return nil, fmt.Errorf("%s: column %s: %w", path, c.Name, err)
				}
			}
		}
		out = append(out, b.NewRecordBatch())
		b.Release()
		if rows == 0 {
			break
		}
	}
	return out, nil
}

func appendValue(fb array.Builder, raw json.RawMessage) error {
	if string(raw) == "null" {
		fb.AppendNull()
		return nil
	}
	switch fb := fb.(type) {
	case *array.Int64Builder:
		var v int64
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		fb.Append(v)
	case *array.Float64Builder:
		var s string
		if json.Unmarshal(raw, &s) == nil {
			switch s {
			case "NaN":
				fb.Append(math.NaN())
			case "Infinity":
				fb.Append(math.Inf(1))
			case "-Infinity":
				fb.Append(math.Inf(-1))
			default:
				return fmt.Errorf("bad float %q", s)
			}
			return nil
		}
		var v float64
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		fb.Append(v)
	case *array.BooleanBuilder:
		var v bool
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		fb.Append(v)
	case *array.StringBuilder:
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		fb.Append(v)
	}
	return nil
}

// Release releases every batch.
func Release(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// Diff compares two decoded JSON values and returns the differences, one
// per line, with numbers equal when within rel relative (or both zero
// within 1e-15 absolute), and "NaN"/"Infinity" strings equal to themselves.
// Object keys only in want are differences; keys only in got are ignored,
// so that additions to a format do not break comparisons.
func Diff(want, got any, rel float64) string {
	var out []string
	diff("", want, got, rel, &out)
	return strings.Join(out, "\n")
}

func diff(path string, want, got any, rel float64, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: want an object, got %v", path, got))
			return
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			diff(path+"."+k, w[k], gv, rel, out)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", path, want, got))
			return
		}
		for i := range w {
			diff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], rel, out)
		}
	case float64:
		g, ok := got.(float64)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", path, want, got))
			return
		}
		if w == g || (w == 0 && math.Abs(g) <= 1e-15) || (g == 0 && math.Abs(w) <= 1e-15) {
			return
		}
		if math.Abs(w-g) > rel*math.Max(math.Abs(w), math.Abs(g)) {
			*out = append(*out, fmt.Sprintf("%s: want %.17g, got %.17g (rel %.2g)", path, w, g, math.Abs(w-g)/math.Max(math.Abs(w), math.Abs(g))))
		}
	default:
		if want != got {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", path, want, got))
		}
	}
}

// Col is a column for Batch: Values holds nil for null, else int, float64,
// string or bool matching Type (int64, float64, utf8, bool).
type Col struct {
	Name   string
	Type   arrow.DataType
	Values []any
}

// Batch builds one record batch from columns of equal length.
func Batch(cols ...Col) (arrow.RecordBatch, error) {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type, Nullable: true}
		if len(c.Values) != len(cols[0].Values) {
			return nil, fmt.Errorf("column %s has %d values, column %s %d", c.Name, len(c.Values), cols[0].Name, len(cols[0].Values))
		}
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for i, c := range cols {
		for _, v := range c.Values {
			if v == nil {
				b.Field(i).AppendNull()
				continue
			}
			switch fb := b.Field(i).(type) {
			case *array.Int64Builder:
				fb.Append(int64(v.(int)))
			case *array.Float64Builder:
				fb.Append(v.(float64))
			case *array.StringBuilder:
				fb.Append(v.(string))
			case *array.BooleanBuilder:
				fb.Append(v.(bool))
			default:
				return nil, fmt.Errorf("column %s: unsupported type %s", c.Name, c.Type)
			}
		}
	}
	return b.NewRecordBatch(), nil
}
