// Package validate checks a dataset against validation rules while the build
// reads it: per-worker Partials observe record batches in any order, and
// Results merges them into one verdict per rule, identical whatever the
// number of workers or the order of merging.
//
// Rule types:
//
//	required         the column exists
//	type             the column's type is dtype: int64 (any integer), float64 (any
//	                 float), bool, string, timestamp or numeric (integer or float).
//	                 Kinds, not widths: the width depends on the reader (Parquet
//	                 int32, CSV int64), the meaning does not.
//	notNull          no value is null
//	unique           no non-null value appears twice, across the whole dataset
//	min, max         every non-null value is >= min / <= max (integer and float
//	                 columns; NaN fails both, being within no bound)
//	allowedValues    every non-null value's text is one of values
//	maxNullFraction  nulls / rows <= fraction
//	minRows          the dataset has at least rows rows
//
// A rule whose column is not in the data, or whose column has a type the rule
// cannot check, fails (with a message saying so) rather than stopping the
// build: that is a finding about the data, and onFailure decides what it
// costs. Only rules that are wrong in themselves are errors (ParseRules, New).
//
// Text forms (allowedValues and samples): strings as they are; integers in
// decimal; floats in Go's shortest form ('g', so 5.0 is "5" and 0.1 is "0.1",
// NaN, +Inf); bools true/false; timestamps RFC 3339 in UTC; dates
// 2006-01-02; other types as Arrow prints them. Sample values longer than
// 100 bytes are cut at a character boundary and end in "…".
//
// Samples are the up to 5 offending rows smallest in (fileIndex, row) order.
// unique keeps, per worker, a map from each distinct value (integers, floats
// and times exactly; other values as a 64-bit xxhash, with at most the first
// 64 bytes of text for samples) to its first occurrence, so its memory grows
// with the number of distinct values (about 40 bytes each, plus text). Two
// different texts with the same 64-bit hash would count as a duplicate; with
// n distinct values that happens with probability about n²/2^65 (1e-6 for
// 6 million values).
package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Rule types.
const (
	Required        = "required"
	Type            = "type"
	NotNull         = "notNull"
	Unique          = "unique"
	Min             = "min"
	Max             = "max"
	AllowedValues   = "allowedValues"
	MaxNullFraction = "maxNullFraction"
	MinRows         = "minRows"
)

var ruleTypes = []string{Required, Type, NotNull, Unique, Min, Max, AllowedValues, MaxNullFraction, MinRows}

// DTypes accepted by a type rule.
var DTypes = []string{"int64", "float64", "bool", "string", "timestamp", "numeric"}

// Rule is one validation rule: the JSON/YAML shape used in manifests, CLI
// rule files and the DatasetBuild resource.
type Rule struct {
	Type     string   `json:"type"`
	Column   string   `json:"column,omitempty"`
	DType    string   `json:"dtype,omitempty"`
	Min      *float64 `json:"min,omitempty"`
	Max      *float64 `json:"max,omitempty"`
	Values   []string `json:"values,omitempty"`
	Fraction *float64 `json:"fraction,omitempty"`
	Rows     *int64   `json:"rows,omitempty"`
}

// fields lists, per rule type, the fields other than type that it uses; the
// first is required too, unless noted in Validate.
var fields = map[string][]string{
	Required:        {"column"},
	Type:            {"column", "dtype"},
	NotNull:         {"column"},
	Unique:          {"column"},
	Min:             {"column", "min"},
	Max:             {"column", "max"},
	AllowedValues:   {"column", "values"},
	MaxNullFraction: {"column", "fraction"},
	MinRows:         {"rows"},
}

// set reports which fields of r are given.
func (r Rule) set() map[string]bool {
	return map[string]bool{
		"column": r.Column != "", "dtype": r.DType != "", "min": r.Min != nil, "max": r.Max != nil,
		"values": r.Values != nil, "fraction": r.Fraction != nil, "rows": r.Rows != nil,
	}
}

// Validate reports the first problem with r itself (not with the data),
// saying what to change.
func (r Rule) Validate() error {
	if r.Type == "" {
		return fmt.Errorf("rule has no type: set type to one of %s", strings.Join(ruleTypes, ", "))
	}
	used, ok := fields[r.Type]
	if !ok {
		for _, t := range ruleTypes {
			if strings.EqualFold(t, r.Type) {
				return fmt.Errorf("unknown rule type %q: did you mean %q?", r.Type, t)
			}
		}
		return fmt.Errorf("unknown rule type %q: use one of %s", r.Type, strings.Join(ruleTypes, ", "))
	}
	set := r.set()
	for _, f := range []string{"column", "dtype", "min", "max", "values", "fraction", "rows"} {
		if !set[f] || contains(used, f) {
			continue
		}
		switch {
		case (r.Type == Min && f == "max") || (r.Type == Max && f == "min"):
			return fmt.Errorf("field %s does not apply to a %s rule: write a separate %s rule", f, r.Type, f)
		case r.Type == MinRows && f == "column":
			return fmt.Errorf("field column does not apply to a minRows rule, which counts the whole dataset: remove it")
		default:
			return fmt.Errorf("field %s does not apply to a %s rule: remove it", f, r.Type)
		}
	}
	for _, f := range used {
		if !set[f] {
			return fmt.Errorf("missing %s: %s", f, fieldHint(f))
		}
	}
	switch r.Type {
	case Type:
		if !contains(DTypes, r.DType) {
			return fmt.Errorf("dtype %q is not one of %s", r.DType, strings.Join(DTypes, ", "))
		}
	case Min:
		if math.IsNaN(*r.Min) || math.IsInf(*r.Min, 0) {
			return fmt.Errorf("min %v is not a finite number", *r.Min)
		}
	case Max:
		if math.IsNaN(*r.Max) || math.IsInf(*r.Max, 0) {
			return fmt.Errorf("max %v is not a finite number", *r.Max)
		}
	case AllowedValues:
		if len(r.Values) == 0 {
			return errors.New("values is empty: list at least one allowed value")
		}
	case MaxNullFraction:
		if f := *r.Fraction; !(f >= 0 && f <= 1) {
			return fmt.Errorf("fraction %v is not between 0 and 1: write e.g. 0.05 for 5%%", f)
		}
	case MinRows:
		if *r.Rows < 0 {
			return fmt.Errorf("rows %d is negative: give the least number of rows the dataset must have", *r.Rows)
		}
	}
	return nil
}

func fieldHint(f string) string {
	switch f {
	case "column":
		return "add column: <name of the column to check>"
	case "dtype":
		return "add dtype: one of " + strings.Join(DTypes, ", ")
	case "min":
		return "add min: <smallest allowed value>"
	case "max":
		return "add max: <largest allowed value>"
	case "values":
		return "add values: [<allowed value>, …]"
	case "fraction":
		return "add fraction: <largest allowed share of nulls, 0 to 1>"
	}
	return "add rows: <least number of rows>"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// knownFields is the list an unknown-field error shows.
const knownFields = "type, column, dtype, min, max, values, fraction, rows"

// ParseRules reads a YAML or JSON list of rules — or an object whose only
// key is rules, holding that list. Empty input is no rules. Unknown fields,
// unknown types and invalid rules are errors naming the rule's index and
// what to change. Scalars in values may be written unquoted: 1, 2.5 and
// true become "1", "2.5" and "true" (quote yes/no/on/off, which YAML 1.1
// reads as booleans).
func ParseRules(data []byte) ([]Rule, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("rules are not valid YAML or JSON: %w", err)
	}
	var top any
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("rules are not valid YAML or JSON: %w", err)
	}
	if obj, ok := top.(map[string]any); ok {
		if list, ok := obj["rules"]; ok && len(obj) == 1 {
			top = list
		}
	}
	if top == nil {
		return nil, nil
	}
	list, ok := top.([]any)
	if !ok {
		return nil, errors.New("rules must be a list, e.g. [{type: notNull, column: id}], or an object with a rules: list")
	}
	rules := make([]Rule, 0, len(list))
	for i, item := range list {
		r, err := parseRule(item)
		if err != nil {
			if r.Type != "" {
				return nil, fmt.Errorf("rules[%d] (%s): %w", i, r.Type, err)
			}
			return nil, fmt.Errorf("rules[%d]: %w", i, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// parseRule decodes and validates one list item. On error, the returned
// rule's Type is set when known, for the message.
func parseRule(item any) (Rule, error) {
	obj, ok := item.(map[string]any)
	if !ok {
		return Rule{}, errors.New("expected an object such as {type: notNull, column: id}")
	}
	if vals, ok := obj["values"].([]any); ok {
		for j, v := range vals {
			switch v := v.(type) {
			case json.Number:
				vals[j] = numberText(v)
			case bool:
				vals[j] = strconv.FormatBool(v)
			}
		}
	}
	typ, _ := obj["type"].(string)
	raw, err := json.Marshal(obj)
	if err != nil {
		return Rule{Type: typ}, err
	}
	var r Rule
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return Rule{Type: typ}, fmt.Errorf("field %q must be %s, not %s", te.Field, kindName(te.Type.Kind().String()), te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.TrimPrefix(err.Error(), "json: unknown field ")
			return Rule{Type: typ}, fmt.Errorf("unknown field %s: the fields are %s", name, knownFields)
		}
		return Rule{Type: typ}, err
	}
	return r, r.Validate()
}

// numberText writes a number from a values list as the text form of the
// value it denotes: integers as written, other numbers in the shortest
// float form (so 1.0 becomes "1", matching a float column's text).
func numberText(n json.Number) string {
	if _, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return string(n)
	}
	if f, err := strconv.ParseFloat(string(n), 64); err == nil {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return string(n)
}

func kindName(k string) string {
	switch k {
	case "float64":
		return "a number"
	case "int64":
		return "a whole number"
	case "string":
		return "text"
	case "slice":
		return "a list of text values"
	case "ptr":
		return "a number"
	}
	return "a " + k
}
