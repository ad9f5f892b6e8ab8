package format

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func fixedEvidence(file string, rows int64, cols ...columnEvidence) *Evidence {
	for i := range cols {
		cols[i].nullsKnown = true
	}
	return &Evidence{init: true, file: file, rows: rows, cols: cols}
}

func TestEvidenceMerge(t *testing.T) {
	a := fixedEvidence("a.csv", 3, columnEvidence{name: "x", kinds: kindInt, nulls: 1, values: 2}, columnEvidence{name: "y", kinds: kindBool, values: 3})
	b := fixedEvidence("a.csv", 2, columnEvidence{name: "x", kinds: kindFloat, values: 2}, columnEvidence{name: "y", nulls: 2})
	c := fixedEvidence("a.csv", 1, columnEvidence{name: "x", nulls: 1}, columnEvidence{name: "y", kinds: kindInt, values: 1})
	want := []ColumnEvidence{
		{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nulls: 2, Values: 4, NullsKnown: true},
		{Name: "y", Type: arrow.BinaryTypes.String, Nulls: 2, Values: 4, NullsKnown: true},
	}
	for _, order := range [][]*Evidence{{a, b, c}, {c, b, a}, {b, c, a}} {
		var m Evidence
		for _, e := range order {
			if err := m.Merge(e.clone()); err != nil {
				t.Fatal(err)
			}
		}
		diff(t, "merged", want, m.Columns())
		if m.Rows() != 6 || m.File() != order[0].file {
			t.Errorf("rows %d file %q", m.Rows(), m.File())
		}
	}
	// Merging into a non-empty evidence leaves the argument untouched.
	m := a.clone()
	if err := m.Merge(b); err != nil || b.cols[0].kinds != kindFloat || b.rows != 2 {
		t.Errorf("merge changed its argument: %v %+v", err, b)
	}
	if err := m.Merge(nil); err != nil {
		t.Error(err)
	}
	if err := m.Merge(&Evidence{}); err != nil || m.Rows() != 5 {
		t.Errorf("merging the zero Evidence: %v, rows %d", err, m.Rows())
	}
	unknown := fixedEvidence("a.parquet", 1, columnEvidence{name: "x"}, columnEvidence{name: "y"})
	unknown.cols[1].nullsKnown = false
	if err := m.Merge(unknown); err != nil || m.Columns()[1].NullsKnown || !m.Columns()[0].NullsKnown {
		t.Errorf("unknown null counts must stay unknown: %v %+v", err, m.Columns())
	}
}

func TestEvidenceMergeErrors(t *testing.T) {
	a := fixedEvidence("a.csv", 1, columnEvidence{name: "x"}, columnEvidence{name: "y"})
	tests := []struct {
		name string
		o    *Evidence
		err  *Error
	}{
		{"renamed", fixedEvidence("b.csv", 1, columnEvidence{name: "x"}, columnEvidence{name: "z"}),
			&Error{File: "b.csv", Column: "z", Msg: `header position 2 is "z" here but "y" in a.csv`, Hint: "all source files must have the same columns"}},
		{"shorter", fixedEvidence("b.csv", 1, columnEvidence{name: "x"}),
			&Error{File: "b.csv", Column: "", Msg: `header position 2 is missing here but "y" in a.csv`, Hint: "all source files must have the same columns"}},
		{"union", &Evidence{init: true, file: "c.jsonl", union: true},
			&Error{File: "a.csv", Msg: "cannot merge JSONL evidence with evidence of fixed columns from c.jsonl"}},
	}
	for _, tt := range tests {
		err := a.clone().Merge(tt.o)
		diff(t, tt.name, tt.err, asError(t, err))
	}
}

func TestFinalize(t *testing.T) {
	s := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.Null, Nullable: true}, {Name: "b", Type: arrow.PrimitiveTypes.Int64}}, nil)
	diff(t, "finalized", []string{"a:float64", "b:int64"}, typeNames(Finalize(s)))
	diff(t, "input unchanged", []string{"a:null", "b:int64"}, typeNames(s))
	same := arrow.NewSchema([]arrow.Field{{Name: "b", Type: arrow.PrimitiveTypes.Int64}}, nil)
	if Finalize(same) != same {
		t.Error("a schema without null columns must be returned as is")
	}
}

func TestUnify(t *testing.T) {
	sch := func(types ...arrow.DataType) *arrow.Schema {
		var fs []arrow.Field
		for i, ty := range types {
			fs = append(fs, arrow.Field{Name: string(rune('a' + i)), Type: ty, Nullable: true})
		}
		return arrow.NewSchema(fs, nil)
	}
	i64, f64, str, bl := arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, arrow.BinaryTypes.String, arrow.FixedWidthTypes.Boolean
	tests := []struct {
		name string
		a, b *arrow.Schema
		want []string
		err  string
	}{
		{"equal", sch(i64, str), sch(i64, str), []string{"a:int64", "b:utf8"}, ""},
		{"null takes the other type", sch(arrow.Null, f64), sch(bl, arrow.Null), []string{"a:bool", "b:float64"}, ""},
		{"int and float", sch(i64, f64), sch(f64, i64), []string{"a:float64", "b:float64"}, ""},
		{"timestamp and string", sch(TimestampType, str), sch(str, TimestampType), []string{"a:utf8", "b:utf8"}, ""},
		{"both null", sch(arrow.Null), sch(arrow.Null), []string{"a:null"}, ""},
		{"int and string", sch(i64), sch(str), nil, `x.csv, column "a": column has type utf8 here but int64 in w.csv`},
		{"bool and int", sch(bl), sch(i64), nil, `column has type int64 here but bool in w.csv`},
		{"timestamp and int", sch(TimestampType), sch(i64), nil, `column has type int64 here but timestamp[us, tz=UTC] in w.csv`},
	}
	for _, tt := range tests {
		got, err := Unify(tt.a, "w.csv", tt.b, "x.csv")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		diff(t, tt.name, tt.want, typeNames(got))
	}

	named := func(names ...string) *arrow.Schema {
		var fs []arrow.Field
		for _, n := range names {
			fs = append(fs, arrow.Field{Name: n, Type: i64})
		}
		return arrow.NewSchema(fs, nil)
	}
	_, err := Unify(named("id", "x", "y"), "w.csv", named("id", "y", "x"), "x.csv")
	diff(t, "reordered", &Error{File: "x.csv", Column: "y", Msg: `column 2 is "y" here but "x" in w.csv`, Hint: "all source files must have the same columns"}, asError(t, err))
	_, err = Unify(named("id", "x"), "w.csv", named("id"), "x.csv")
	diff(t, "missing", &Error{File: "x.csv", Column: "x", Msg: `column 2 is missing here but "x" in w.csv`, Hint: "all source files must have the same columns"}, asError(t, err))
	_, err = Unify(named("id"), "w.csv", named("id", "extra"), "x.csv")
	diff(t, "extra", &Error{File: "x.csv", Column: "extra", Msg: `column 2 is "extra" here but missing in w.csv`, Hint: "all source files must have the same columns"}, asError(t, err))
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "f.csv", Msg: "bad"}, "f.csv: bad"},
		{Error{File: "f.csv", Line: 3, Row: 2, Column: "x", Msg: "bad", Hint: "fix it"}, `f.csv: line 3 (row 2), column "x": bad; fix it`},
		{Error{File: "f.parquet", Row: 9, Msg: "bad"}, "f.parquet (row 9): bad"},
	}
	for _, tt := range tests {
		diff(t, tt.want, tt.want, tt.e.Error())
	}
}
