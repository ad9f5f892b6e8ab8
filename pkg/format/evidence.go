package format

import (
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
)

// TimestampType is the type of every timestamp column that this package
// infers or decodes: microseconds, UTC.
var TimestampType arrow.DataType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// Evidence is what inference learned about the columns of one chunk or, once
// merged, of many chunks of a file. Merging is commutative and associative,
// so chunks may be inferred in parallel and merged in any order.
//
// CSV and Parquet evidence has a fixed list of columns (the header); JSONL
// evidence is the union of the keys seen, ordered by where each key was
// first seen (chunk number, then order within the chunk), which is the
// file's first-seen order however the merges are grouped.
type Evidence struct {
	init  bool // false only for the zero Evidence, the identity of Merge
	file  string
	union bool // JSONL: columns are a union of keys
	rows  int64
	cols  []columnEvidence
}

type columnEvidence struct {
	name       string
	kinds      kindFlags
	nulls      int64
	values     int64
	nullsKnown bool
	// First sighting, for union evidence: chunk Seq and order within it.
	seq, idx int64
}

// ColumnEvidence is the inferred summary of one column.
type ColumnEvidence struct {
	Name string
	// Type is the inferred type; arrow.Null when every value was null.
	Type arrow.DataType
	// Nulls and Values count null and non-null values. For Parquet inputs the
	// counts come from row-group statistics; NullsKnown is false when the
	// file has none.
	Nulls, Values int64
	NullsKnown    bool
}

// Rows is the number of records the evidence covers.
func (e *Evidence) Rows() int64 { return e.rows }

// File is the name of the input the evidence came from.
func (e *Evidence) File() string { return e.file }

// Columns summarises every column, in schema order.
func (e *Evidence) Columns() []ColumnEvidence {
	out := make([]ColumnEvidence, len(e.cols))
	for i, c := range e.cols {
		out[i] = ColumnEvidence{Name: c.name, Type: c.kinds.dataType(), Nulls: c.nulls, Values: c.values, NullsKnown: c.nullsKnown}
	}
	return out
}

// Schema is the schema that reads every value the evidence has seen. Fields
// are always nullable; columns that held only nulls have type arrow.Null
// (see Finalize).
func (e *Evidence) Schema() *arrow.Schema {
	fields := make([]arrow.Field, len(e.cols))
	for i, c := range e.cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.kinds.dataType(), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// dataType resolves the inference lattice (README: Decisions worth knowing): int with float widens to
// float64; bool or timestamp with anything else becomes string.
func (k kindFlags) dataType() arrow.DataType {
	switch {
	case k == 0:
		return arrow.Null
	case k&kindString != 0:
		return arrow.BinaryTypes.String
	case k&kindTime != 0:
		if k == kindTime {
			return TimestampType
		}
		return arrow.BinaryTypes.String
	case k&kindBool != 0:
		if k == kindBool {
			return arrow.FixedWidthTypes.Boolean
		}
		return arrow.BinaryTypes.String
	case k&kindFloat != 0:
		return arrow.PrimitiveTypes.Float64
	}
	return arrow.PrimitiveTypes.Int64
}

// Merge adds the evidence of o, a chunk of the same file, to e. Fixed-column
// evidence must have the same column names in the same order; union evidence
// (JSONL) takes the union of keys. Types combine by the inference lattice;
// schemas of different files combine with Unify, which is stricter. The zero Evidence is the identity, so callers can fold
// chunk evidence into a zero value.
func (e *Evidence) Merge(o *Evidence) error {
	if o == nil || !o.init {
		return nil
	}
	if !e.init {
		*e = *o.clone()
		return nil
	}
	if e.union != o.union {
		return &Error{File: e.file, Msg: fmt.Sprintf("cannot merge JSONL evidence with evidence of fixed columns from %s", o.file)}
	}
	if e.union {
		e.mergeUnion(o)
		e.rows += o.rows
		return nil
	}
	for i := 0; i < len(e.cols) || i < len(o.cols); i++ {
		var a, b string
		if i < len(e.cols) {
			a = e.cols[i].name
		}
		if i < len(o.cols) {
			b = o.cols[i].name
		}
		if a != b {
			return &Error{
				File:   o.file,
				Column: b,
				Msg:    fmt.Sprintf("header position %d is %s here but %s in %s", i+1, describeName(b), describeName(a), e.file),
				Hint:   "all source files must have the same columns",
			}
		}
	}
	for i := range e.cols {
		e.cols[i].add(&o.cols[i])
	}
	e.rows += o.rows
	return nil
}

func describeName(n string) string {
	if n == "" {
		return "missing"
	}
	return fmt.Sprintf("%q", n)
}

func (c *columnEvidence) add(o *columnEvidence) {
	c.kinds |= o.kinds
	c.nulls += o.nulls
	c.values += o.values
	c.nullsKnown = c.nullsKnown && o.nullsKnown
	if o.seq < c.seq || (o.seq == c.seq && o.idx < c.idx) {
		c.seq, c.idx = o.seq, o.idx
	}
}

func (e *Evidence) mergeUnion(o *Evidence) {
	at := make(map[string]int, len(e.cols))
	for i, c := range e.cols {
		at[c.name] = i
	}
	for i := range o.cols {
		if j, ok := at[o.cols[i].name]; ok {
			e.cols[j].add(&o.cols[i])
			continue
		}
		c := o.cols[i]
		// A key missing from e's records was null in every one of them.
		c.nulls += e.rows
		e.cols = append(e.cols, c)
	}
	seen := make(map[string]bool, len(o.cols))
	for _, c := range o.cols {
		seen[c.name] = true
	}
	for i := range e.cols {
		if !seen[e.cols[i].name] {
			if _, wasInE := at[e.cols[i].name]; wasInE {
				e.cols[i].nulls += o.rows
			}
		}
	}
	sort.SliceStable(e.cols, func(i, j int) bool {
		a, b := &e.cols[i], &e.cols[j]
		if a.seq != b.seq {
			return a.seq < b.seq
		}
		if a.idx != b.idx {
			return a.idx < b.idx
		}
		return a.name < b.name
	})
}

func (e *Evidence) clone() *Evidence {
	c := *e
	c.cols = append([]columnEvidence(nil), e.cols...)
	return &c
}

// Finalize replaces the arrow.Null type of all-null columns with float64,
// pandas' choice for a column of only missing values, so that the schema can
// be written to any format.
func Finalize(s *arrow.Schema) *arrow.Schema {
	fields := s.Fields()
	changed := false
	for i, f := range fields {
		if f.Type.ID() == arrow.NULL {
			fields[i].Type = arrow.PrimitiveTypes.Float64
			fields[i].Nullable = true
			changed = true
		}
	}
	if !changed {
		return s
	}
	md := s.Metadata()
	return arrow.NewSchema(fields, &md)
}

// Unify returns the schema that both files can be read as. The files must
// have the same column names in the same order. Per column, an all-null
// column takes the other's type, int64 with float64 widens to float64, and a
// timestamp with a string becomes a string; any other difference is an
// error naming both files.
func Unify(a *arrow.Schema, aFile string, b *arrow.Schema, bFile string) (*arrow.Schema, error) {
	af, bf := a.Fields(), b.Fields()
	for i := 0; i < len(af) || i < len(bf); i++ {
		var an, bn string
		if i < len(af) {
			an = af[i].Name
		}
		if i < len(bf) {
			bn = bf[i].Name
		}
		if an == bn {
			continue
		}
		col := bn
		if col == "" {
			col = an
		}
		return nil, &Error{
			File:   bFile,
			Column: col,
			Msg:    fmt.Sprintf("column %d is %s here but %s in %s", i+1, describeName(bn), describeName(an), aFile),
			Hint:   "all source files must have the same columns",
		}
	}
	out := make([]arrow.Field, len(af))
	for i := range af {
		t, ok := unifyType(af[i].Type, bf[i].Type)
		if !ok {
			return nil, &Error{
				File:   bFile,
				Column: af[i].Name,
				Msg:    fmt.Sprintf("column has type %s here but %s in %s", bf[i].Type, af[i].Type, aFile),
				Hint:   "make the column hold the same kind of values in every source file",
			}
		}
		out[i] = arrow.Field{Name: af[i].Name, Type: t, Nullable: af[i].Nullable || bf[i].Nullable}
	}
	return arrow.NewSchema(out, nil), nil
}

func unifyType(a, b arrow.DataType) (arrow.DataType, bool) {
	switch {
	case arrow.TypeEqual(a, b):
		return a, true
	case a.ID() == arrow.NULL:
		return b, true
	case b.ID() == arrow.NULL:
		return a, true
	}
	pair := func(x, y arrow.Type) bool {
		return (a.ID() == x && b.ID() == y) || (a.ID() == y && b.ID() == x)
	}
	switch {
	case pair(arrow.INT64, arrow.FLOAT64):
		return arrow.PrimitiveTypes.Float64, true
	case pair(arrow.TIMESTAMP, arrow.STRING):
		return arrow.BinaryTypes.String, true
	}
	return nil, false
}
