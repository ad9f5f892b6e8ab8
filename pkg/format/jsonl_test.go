package format

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestJSONLInference(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		opt   Options
		want  []string
		nulls []int64
	}{
		{name: "ints", lines: []string{`{"a":1}`, `{"a":-2}`}, want: []string{"a:int64"}, nulls: []int64{0}},
		{name: "int and float as written", lines: []string{`{"a":1}`, `{"a":1.0}`}, want: []string{"a:float64"}, nulls: []int64{0}},
		{name: "exponent is float", lines: []string{`{"a":1e3}`}, want: []string{"a:float64"}, nulls: []int64{0}},
		{name: "int64 overflow", lines: []string{`{"a":1}`, `{"a":9223372036854775808}`}, want: []string{"a:float64"}, nulls: []int64{0}},
		{name: "bools", lines: []string{`{"a":true}`, `{"a":false}`, `{"a":null}`}, want: []string{"a:bool"}, nulls: []int64{1}},
		{name: "bool and number", lines: []string{`{"a":true}`, `{"a":1}`}, want: []string{"a:utf8"}, nulls: []int64{0}},
		{name: "number and string", lines: []string{`{"a":1}`, `{"a":"1"}`}, want: []string{"a:utf8"}, nulls: []int64{0}},
		{name: "null tokens are strings", lines: []string{`{"a":"NA"}`, `{"a":""}`}, want: []string{"a:utf8"}, nulls: []int64{0}},
		{name: "nested", lines: []string{`{"a":{"b":1}}`, `{"a":[1,2]}`}, want: []string{"a:utf8"}, nulls: []int64{0}},
		{name: "all null", lines: []string{`{"a":null}`, `{"b":1}`}, want: []string{"a:null", "b:int64"}, nulls: []int64{2, 1}},
		{name: "missing keys are null", lines: []string{`{"a":1}`, `{"b":"x"}`, `{}`, `{"a":2,"b":"y"}`}, want: []string{"a:int64", "b:utf8"}, nulls: []int64{2, 2}},
		{name: "timestamps", lines: []string{`{"t":"2024-01-02"}`, `{"t":"2024-01-02T03:04:05Z"}`, `{"t":null}`}, opt: Options{InferTimestamps: true},
			want: []string{"t:timestamp[us, tz=UTC]"}, nulls: []int64{1}},
		{name: "escaped timestamp", lines: []string{`{"t":"2024\u002d01-02"}`}, opt: Options{InferTimestamps: true},
			want: []string{"t:timestamp[us, tz=UTC]"}, nulls: []int64{0}},
		{name: "timestamps without the option", lines: []string{`{"t":"2024-01-02"}`}, want: []string{"t:utf8"}, nulls: []int64{0}},
		{name: "timestamp and text", lines: []string{`{"t":"2024-01-02"}`, `{"t":"later"}`}, opt: Options{InferTimestamps: true}, want: []string{"t:utf8"}, nulls: []int64{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, rows := range []int{1, 3, 100} {
				opt := tt.opt
				opt.ChunkRows = rows
				res := mustRead(t, memInput("t.jsonl", []byte(strings.Join(tt.lines, "\n"))), opt)
				diff(t, "schema", tt.want, typeNames(res.evidence.Schema()))
				var nulls []int64
				for _, c := range res.evidence.Columns() {
					nulls = append(nulls, c.Nulls)
					if c.Nulls+c.Values != int64(len(tt.lines)) || !c.NullsKnown {
						t.Errorf("column %s: %d nulls + %d values != %d rows", c.Name, c.Nulls, c.Values, len(tt.lines))
					}
				}
				diff(t, "nulls", tt.nulls, nulls)
			}
		})
	}
}

func TestJSONLDecodeValues(t *testing.T) {
	data := `{"i": 1, "f": 2.5, "b": true, "s": "plain", "n": {"x": [1, 2]}, "t": "2024-01-02T03:04:05Z"}

  {"f": 1, "i": -7, "s": "caf\u00e9 \"q\" \\ \/ \b\f\n\r\t", "n": null}
{"s": "\ud83d\ude00 \ud83d", "b": false, "t": "2024-01-02 03:04:05.5+01:00", "n": [true, "x"], "f": -1e-3}	
{"i": 9223372036854775807, "s": "", "n": "text", "f": 0}
`
	res := mustRead(t, memInput("v.ndjson", []byte(data)), Options{InferTimestamps: true, ChunkRows: 2})
	diff(t, "schema", []string{"i:int64", "f:float64", "b:bool", "s:utf8", "n:utf8", "t:timestamp[us, tz=UTC]"}, typeNames(res.schema))
	want := [][]any{
		{int64(1), 2.5, true, "plain", `{"x": [1, 2]}`, ts("2024-01-02T03:04:05Z")},
		{int64(-7), 1.0, nil, "café \"q\" \\ / \b\f\n\r\t", nil, nil},
		{nil, -0.001, false, "😀 \uFFFD", `[true, "x"]`, ts("2024-01-02T02:04:05.5Z")},
		{int64(9223372036854775807), 0.0, nil, "", "text", nil},
	}
	diff(t, "rows", want, res.rows)
	var firstLines []int64
	for _, c := range res.chunks {
		firstLines = append(firstLines, c.FirstLine)
	}
	diff(t, "first lines", []int64{1, 4}, firstLines)
}

func TestJSONLStringColumnKeepsLiterals(t *testing.T) {
	data := `{"a":1}` + "\n" + `{"a":"x"}` + "\n" + `{"a":true}` + "\n" + `{"a":1.50}` + "\n" + `{"a":false}`
	res := mustRead(t, memInput("l.jsonl", []byte(data)), Options{})
	diff(t, "rows", [][]any{{"1"}, {"x"}, {"true"}, {"1.50"}, {"false"}}, res.rows)
}

func TestJSONLEscapedKeys(t *testing.T) {
	res := mustRead(t, memInput("k.jsonl", []byte(`{"a\u0062":1,"c\"d":2}`+"\n"+`{"ab":3}`)), Options{})
	diff(t, "schema", []string{"ab:int64", `c"d:int64`}, typeNames(res.schema))
	diff(t, "rows", [][]any{{int64(1), int64(2)}, {int64(3), nil}}, res.rows)
}

// Keys are ordered by first sighting in the file, whatever the order in
// which chunk evidence is merged.
func TestJSONLKeyOrderAcrossChunks(t *testing.T) {
	data := []byte(`{"b":1,"a":1}` + "\n" + `{"c":1,"a":2}` + "\n" + `{"d":1}` + "\n" + `{"a":3,"e":1,"b":2}`)
	d, err := NewDecoder(memInput("o.jsonl", data), Options{ChunkRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	var evs []*Evidence
	err = d.Chunks(context.Background(), func(c *Chunk) error {
		ev, err := d.Infer(c)
		evs = append(evs, ev)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	orders := [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {1, 3, 0, 2}}
	for _, order := range orders {
		var merged Evidence
		for _, i := range order {
			if err := merged.Merge(evs[i]); err != nil {
				t.Fatal(err)
			}
		}
		diff(t, "columns", []ColumnEvidence{
			{Name: "b", Type: arrow.PrimitiveTypes.Int64, Nulls: 2, Values: 2, NullsKnown: true},
			{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nulls: 1, Values: 3, NullsKnown: true},
			{Name: "c", Type: arrow.PrimitiveTypes.Int64, Nulls: 3, Values: 1, NullsKnown: true},
			{Name: "d", Type: arrow.PrimitiveTypes.Int64, Nulls: 3, Values: 1, NullsKnown: true},
			{Name: "e", Type: arrow.PrimitiveTypes.Int64, Nulls: 3, Values: 1, NullsKnown: true},
		}, merged.Columns())
	}
	// Pairwise grouping: (0+1) + (2+3) equals the sequential fold.
	left, right := &Evidence{}, &Evidence{}
	for _, e := range evs[:2] {
		if err := left.Merge(e); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range evs[2:] {
		if err := right.Merge(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := right.Merge(left); err != nil {
		t.Fatal(err)
	}
	diff(t, "grouped merge", []string{"b:int64", "a:int64", "c:int64", "d:int64", "e:int64"}, typeNames(right.Schema()))
}

func TestJSONLErrors(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		opt   Options
		place errorPlace
		msg   string
	}{
		{"empty file", "", Options{}, errorPlace{File: "e.jsonl"}, "file is empty; it needs at least one JSON object"},
		{"array line", "{\"a\":1}\n\n[1,2]\n", Options{}, errorPlace{"e.jsonl", 3, 2, ""}, "line is not a JSON object"},
		{"number line", "{\"a\":1}\n5\n", Options{}, errorPlace{"e.jsonl", 2, 2, ""}, "line is not a JSON object"},
		{"missing value", "{\"a\":}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, "invalid JSON value starting with '}'"},
		{"trailing text", "{\"a\":1} x\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, "unexpected 'x' after the end of the JSON object"},
		{"two objects on a line", "{\"a\":1}{\"a\":2}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, "after the end of the JSON object"},
		{"unclosed object", "{\"a\":1\n{\"a\":2}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, "object is not closed"},
		{"unquoted key", "{a:1}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, "expected a quoted key"},
		{"missing colon", "{\"a\" 1}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, `expected ':' after key "a"`},
		{"bad separator", "{\"a\":1;\"b\":2}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, "expected ',' or '}' but found ';'"},
		{"bad literal", "{\"a\":tru}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, "invalid JSON value"},
		{"bad number", "{\"a\":01}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, "expected ',' or '}' but found '1'"},
		{"bad fraction", "{\"a\":1.}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, "no digits after '.'"},
		{"bad exponent", "{\"a\":1e}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, "no digits in the exponent"},
		{"minus alone", "{\"a\":-}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, "invalid number"},
		{"bad escape", "{\"a\":\"\\x\"}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, `invalid escape \x`},
		{"bad unicode escape", "{\"a\":\"\\u12g4\"}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, `invalid \u escape`},
		{"control character", "{\"a\":\"x\ty\"}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, "control character 0x09"},
		{"unclosed string", "{\"a\":\"xy}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, "string is not closed"},
		{"bad nested", "{\"a\":[1,,2]}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, "invalid JSON in a nested value"},
		{"mismatched nested", "{\"a\":[1,[2]}\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, "invalid JSON in a nested value"},
		{"unclosed nested", "{\"a\":[1,2\n", Options{}, errorPlace{"e.jsonl", 1, 1, ""}, "nested value is not closed"},
		{"duplicate key", "{\"a\":1}\n\n{\"a\":1,\"b\":2,\"a\":3}\n", Options{ChunkRows: 1}, errorPlace{"e.jsonl", 3, 2, "a"}, "key appears more than once"},
		{"invalid UTF-8", "{\"a\":\"x\"}\n{\"a\":\"caf\xe9\"}\n", Options{}, errorPlace{"e.jsonl", 2, 2, ""}, "invalid UTF-8 byte 0xE9 at byte offset 19 (byte 10 of the line)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := read(t, memInput("e.jsonl", []byte(tt.data)), tt.opt)
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

func TestJSONLConversionErrors(t *testing.T) {
	data := []byte("{\"a\":1,\"b\":\"x\"}\n\n{\"a\":1.5,\"b\":true}\n")
	i64, f64, str := arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, arrow.BinaryTypes.String
	sch := func(a, b arrow.DataType) *arrow.Schema {
		return arrow.NewSchema([]arrow.Field{{Name: "a", Type: a, Nullable: true}, {Name: "b", Type: b, Nullable: true}}, nil)
	}
	tests := []struct {
		name   string
		schema *arrow.Schema
		place  errorPlace
		msg    string
	}{
		{"float as int", sch(i64, str), errorPlace{"c.jsonl", 3, 2, "a"}, "cannot read the JSON value 1.5 as int64"},
		{"string as float", sch(f64, f64), errorPlace{"c.jsonl", 1, 1, "b"}, `cannot read the JSON value "x" as float64`},
		{"string as bool", sch(f64, arrow.FixedWidthTypes.Boolean), errorPlace{"c.jsonl", 1, 1, "b"}, "as bool"},
		{"string as timestamp", sch(f64, TimestampType), errorPlace{"c.jsonl", 1, 1, "b"}, "as timestamp"},
		{"number as null", sch(arrow.Null, str), errorPlace{"c.jsonl", 1, 1, "a"}, "as null"},
		{"key not in schema", arrow.NewSchema([]arrow.Field{{Name: "a", Type: f64}}, nil), errorPlace{"c.jsonl", 1, 1, "b"}, "key is not a column of the schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDecoder(memInput("c.jsonl", data), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var chunk *Chunk
			if err := d.Chunks(context.Background(), func(c *Chunk) error { chunk = c; return nil }); err != nil {
				t.Fatal(err)
			}
			_, err = d.Decode(chunk, tt.schema)
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
	// A schema wider than the chunk's own evidence decodes: int as float,
	// anything as string, and columns the chunk lacks as nulls.
	d, _ := NewDecoder(memInput("c.jsonl", data), Options{})
	var chunk *Chunk
	if err := d.Chunks(context.Background(), func(c *Chunk) error { chunk = c; return nil }); err != nil {
		t.Fatal(err)
	}
	wide := arrow.NewSchema([]arrow.Field{{Name: "a", Type: f64, Nullable: true}, {Name: "b", Type: str, Nullable: true}, {Name: "z", Type: i64, Nullable: true}}, nil)
	rec, err := d.Decode(chunk, wide)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	diff(t, "wide rows", [][]any{{1.0, "x", nil}, {1.5, "true", nil}}, recordRows(t, rec))
}
