package validate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func f64(f float64) *float64 { return &f }
func i64(i int64) *int64     { return &i }

func TestParseRules(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Rule
	}{
		{"empty", "  \n", nil},
		{"yaml null", "null", nil},
		{"yaml list", `
- type: notNull
  column: id
- {type: min, column: age, min: 0}
- type: allowedValues
  column: grade
  values: [1, 2.0, 2.50, "3", true, "yes"]
- type: maxNullFraction
  column: name
  fraction: 0.05
- type: minRows
  rows: 100
- type: type
  column: ts
  dtype: timestamp
`, []Rule{
			{Type: NotNull, Column: "id"},
			{Type: Min, Column: "age", Min: f64(0)},
			{Type: AllowedValues, Column: "grade", Values: []string{"1", "2", "2.5", "3", "true", "yes"}},
			{Type: MaxNullFraction, Column: "name", Fraction: f64(0.05)},
			{Type: MinRows, Rows: i64(100)},
			{Type: Type, Column: "ts", DType: "timestamp"},
		}},
		{"json list", `[{"type":"unique","column":"id"},{"type":"max","column":"x","max":1e3}]`,
			[]Rule{{Type: Unique, Column: "id"}, {Type: Max, Column: "x", Max: f64(1000)}}},
		{"rules object", "rules:\n- type: required\n  column: id\n", []Rule{{Type: Required, Column: "id"}}},
	}
	for _, tt := range tests {
		got, err := ParseRules([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: ParseRules: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: ParseRules mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestParseRulesErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"- {type: notNull, colum: id}", `rules[0] (notNull): unknown field "colum": the fields are type, column, dtype, min, max, values, fraction, rows`},
		{"- {type: notNull, column: id}\n- {type: notnull, column: id}", `rules[1] (notnull): unknown rule type "notnull": did you mean "notNull"?`},
		{"- {type: between, column: id}", `rules[0] (between): unknown rule type "between": use one of required, type, notNull, unique, min, max, allowedValues, maxNullFraction, minRows`},
		{"- {column: id}", `rules[0]: rule has no type: set type to one of required, type, notNull, unique, min, max, allowedValues, maxNullFraction, minRows`},
		{"- {type: notNull}", `rules[0] (notNull): missing column: add column: <name of the column to check>`},
		{"- {type: min, column: age, min: 0, max: 120}", `rules[0] (min): field max does not apply to a min rule: write a separate max rule`},
		{"- {type: max, column: age, min: 0, max: 120}", `rules[0] (max): field min does not apply to a max rule: write a separate min rule`},
		{"- {type: min, column: age}", `rules[0] (min): missing min: add min: <smallest allowed value>`},
		{"- {type: max, column: age}", `rules[0] (max): missing max: add max: <largest allowed value>`},
		{"- {type: min, column: age, min: abc}", `rules[0] (min): field "min" must be a number, not string`},
		{"- {type: minRows, rows: 1.5}", `rules[0] (minRows): field "rows" must be a whole number, not number 1.5`},
		{"- {type: minRows, rows: -1}", `rules[0] (minRows): rows -1 is negative: give the least number of rows the dataset must have`},
		{"- {type: minRows}", `rules[0] (minRows): missing rows: add rows: <least number of rows>`},
		{"- {type: minRows, column: id, rows: 3}", `rules[0] (minRows): field column does not apply to a minRows rule, which counts the whole dataset: remove it`},
		{"- {type: notNull, column: id, values: [a]}", `rules[0] (notNull): field values does not apply to a notNull rule: remove it`},
		{"- {type: type, column: id}", `rules[0] (type): missing dtype: add dtype: one of int64, float64, bool, string, timestamp, numeric`},
		{"- {type: type, column: id, dtype: integer}", `rules[0] (type): dtype "integer" is not one of int64, float64, bool, string, timestamp, numeric`},
		{"- {type: allowedValues, column: c}", `rules[0] (allowedValues): missing values: add values: [<allowed value>, …]`},
		{"- {type: allowedValues, column: c, values: []}", `rules[0] (allowedValues): values is empty: list at least one allowed value`},
		{"- {type: allowedValues, column: c, values: [[a]]}", `rules[0] (allowedValues): field "values" must be text, not array`},
		{"- {type: allowedValues, column: c, values: a}", `rules[0] (allowedValues): field "values" must be a list of text values, not string`},
		{"- {type: maxNullFraction, column: c, fraction: 1.5}", `rules[0] (maxNullFraction): fraction 1.5 is not between 0 and 1: write e.g. 0.05 for 5%`},
		{"- {type: maxNullFraction, column: c}", `rules[0] (maxNullFraction): missing fraction: add fraction: <largest allowed share of nulls, 0 to 1>`},
		{"- notNull", `rules[0]: expected an object such as {type: notNull, column: id}`},
		{"type: notNull\ncolumn: id", `rules must be a list, e.g. [{type: notNull, column: id}], or an object with a rules: list`},
		{"- {type: min, type: max}", `rules are not valid YAML or JSON: yaml: unmarshal errors:` + "\n" + `  line 1: key "type" already set in map`},
	}
	for _, tt := range tests {
		_, err := ParseRules([]byte(tt.in))
		if err == nil {
			t.Errorf("ParseRules(%q) succeeded, want error %q", tt.in, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseRules(%q) error\n got %s\nwant %s", tt.in, err, tt.want)
		}
	}
	if _, err := ParseRules([]byte("- [")); err == nil || !strings.HasPrefix(err.Error(), "rules are not valid YAML or JSON: ") {
		t.Errorf("ParseRules of broken YAML = %v", err)
	}
}

func TestRuleValidateBounds(t *testing.T) {
	nan, inf := f64(0), f64(0)
	*nan = *nan / *nan // NaN without importing math in a table
	*inf = 1 / *inf
	tests := []struct {
		r    Rule
		want string
	}{
		{Rule{Type: Min, Column: "x", Min: nan}, "min NaN is not a finite number"},
		{Rule{Type: Max, Column: "x", Max: inf}, "max +Inf is not a finite number"},
		{Rule{Type: MaxNullFraction, Column: "x", Fraction: nan}, "fraction NaN is not between 0 and 1: write e.g. 0.05 for 5%"},
	}
	for _, tt := range tests {
		if err := tt.r.Validate(); err == nil || err.Error() != tt.want {
			t.Errorf("Validate(%+v) = %v, want %s", tt.r, err, tt.want)
		}
	}
}

// FuzzParseRules checks that no input makes ParseRules panic, and that any
// accepted rule list survives a JSON round trip unchanged.
func FuzzParseRules(f *testing.F) {
	for _, s := range []string{
		"- {type: notNull, column: id}",
		`[{"type":"min","column":"a","min":-1.5}]`,
		"rules:\n- type: allowedValues\n  column: c\n  values: [1, x, true]",
		"- {type: minRows, rows: 3}",
		"- {type: maxNullFraction, column: c, fraction: 0.5}",
		"{",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := ParseRules(data)
		if err != nil {
			return
		}
		for i, r := range rules {
			if err := r.Validate(); err != nil {
				t.Fatalf("accepted rule %d is invalid: %v", i, err)
			}
		}
		js, err := json.Marshal(rules)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseRules(js)
		if err != nil {
			t.Fatalf("re-parsing %s: %v", js, err)
		}
		if len(rules) == 0 && len(again) == 0 {
			return
		}
		if diff := cmp.Diff(rules, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
