package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Profile is the v0.3.0 profile document. Field names and nesting are a
// contract with existing readers; additions are allowed, renames are not.
type Profile struct {
	Path       string `json:"path"`
	NumRows    int64  `json:"num_rows"`
	NumColumns int    `json:"num_columns"`
	FileSize   int64  `json:"file_size"`
	Schema     Schema `json:"schema"`
	// Statistics has one entry per numeric column, in schema order.
	Statistics Object[*Statistics] `json:"statistics"`
	// Distributions has one entry per non-numeric column (strings, bools,
	// timestamps, …), in schema order; each maps value → count in rank order.
	Distributions Object[Object[int64]] `json:"distributions"`
	// Histograms has one entry per numeric column; nil when the column has no
	// finite value.
	Histograms Object[*Histogram] `json:"histograms"`
	// Approximate lists the columns whose results come from sketches because
	// Options.MaxMemory was exceeded, with their error bounds.
	Approximate Object[Approximation] `json:"approximate,omitempty"`
	// Notes explain values a reader might otherwise misread (infinite values
	// left out of a histogram, …).
	Notes []string `json:"notes,omitempty"`
}

// Schema lists the columns in dataset order.
type Schema struct {
	Columns []Column `json:"columns"`
}

// Column is the per-column summary every column has.
type Column struct {
	Name string `json:"name"`
	// DType is the pandas name of the column's type (see DType).
	DType       string `json:"dtype"`
	Nullable    bool   `json:"nullable"`
	UniqueCount int64  `json:"unique_count"`
	NullCount   int64  `json:"null_count"`
}

// Statistics of a numeric column over its non-null values. Count is 0 and
// every other field nil for a column without non-null values.
type Statistics struct {
	Count       int64       `json:"count"`
	Mean        *Float      `json:"mean"`
	Std         *Float      `json:"std"`
	Min         *Float      `json:"min"`
	Max         *Float      `json:"max"`
	Percentiles Percentiles `json:"percentiles"`
}

// Percentiles are the quartiles, keyed "25", "50", "75" in JSON.
type Percentiles struct {
	P25 *Float `json:"25"`
	P50 *Float `json:"50"`
	P75 *Float `json:"75"`
}

// Histogram is numpy.histogram's result: len(Edges) == len(Counts)+1, bins
// left-closed except the last, which is closed.
type Histogram struct {
	Edges  []Float `json:"edges"`
	Counts []int64 `json:"counts"`
}

// Approximation states the error bounds of a column computed with sketches.
type Approximation struct {
	// UniqueCount is the relative error bound of unique_count (three
	// standard errors of the HyperLogLog estimate).
	UniqueCount float64 `json:"unique_count"`
	// Percentiles is the normalised rank error bound of the percentiles and
	// of the histogram counts (as a fraction of count), numeric columns only.
	Percentiles *float64 `json:"percentiles,omitempty"`
	// Distributions is the largest amount by which any listed count may be
	// below the true count (Misra–Gries), non-numeric columns only.
	Distributions *int64 `json:"distributions,omitempty"`
}

// Float is a float64 whose JSON form is always valid JSON: NaN and ±Inf,
// which encoding/json rejects, are written as the strings "NaN",
// "Infinity" and "-Infinity" (the spellings Python's json module and
// JavaScript use), and read back from them.
type Float float64

// F returns a pointer to v as a Float, for optional fields.
func F(v float64) *Float { f := Float(v); return &f }

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*f = Float(math.NaN())
		case "Infinity", "inf":
			*f = Float(math.Inf(1))
		case "-Infinity", "-inf":
			*f = Float(math.Inf(-1))
		default:
			return fmt.Errorf("profile: %q is not a number", s)
		}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("profile: %s is not a number: %w", b, err)
	}
	*f = Float(v)
	return nil
}

// Field is one key/value pair of an Object.
type Field[V any] struct {
	Key   string
	Value V
}

// Object is a JSON object whose key order is kept: profiles list columns in
// schema order and distributions in rank order, which Go maps cannot do.
type Object[V any] []Field[V]

// Get returns the value of key and whether it is present.
func (o Object[V]) Get(key string) (V, bool) {
	for _, f := range o {
		if f.Key == key {
			return f.Value, true
		}
	}
	var zero V
	return zero, false
}

// Keys returns the keys in order.
func (o Object[V]) Keys() []string {
	keys := make([]string, len(o))
	for i, f := range o {
		keys[i] = f.Key
	}
	return keys
}

// MarshalJSON implements json.Marshaler.
func (o Object[V]) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(f.Key)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		v, err := json.Marshal(f.Value)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", f.Key, err)
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON implements json.Unmarshaler. A JSON null gives an empty
// Object; a repeated key keeps both entries, as the text had them.
func (o *Object[V]) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		*o = nil
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("profile: expected a JSON object, got %v", tok)
	}
	out := Object[V]{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("profile: expected an object key, got %v", tok)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("key %q: %w", key, err)
		}
		var v V
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("key %q: %w", key, err)
		}
		out = append(out, Field[V]{Key: key, Value: v})
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	*o = out
	return nil
}

// Load reads a profile document written by this package (or by v0.3.0) and
// checks that it is consistent enough to serve as a drift baseline.
func Load(r io.Reader) (*Profile, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading profile: %w", err)
	}
	return Parse(data)
}

// Parse is Load on bytes.
func Parse(data []byte) (*Profile, error) {
	var p Profile
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("parsing profile: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// ErrNotProfile is returned by Validate for a JSON document that is not a
// profile at all (no schema), so callers can tell it from a damaged one.
var ErrNotProfile = errors.New("not a profile: no schema.columns")

// Validate checks the invariants a drift baseline relies on.
func (p *Profile) Validate() error {
	if p.Schema.Columns == nil {
		return fmt.Errorf("profile: %w", ErrNotProfile)
	}
	names := make(map[string]bool, len(p.Schema.Columns))
	for _, c := range p.Schema.Columns {
		if names[c.Name] {
			return fmt.Errorf("profile: column %q is listed twice", c.Name)
		}
		names[c.Name] = true
		if c.NullCount < 0 || c.UniqueCount < 0 {
			return fmt.Errorf("profile: column %q has a negative count", c.Name)
		}
	}
	for _, h := range p.Histograms {
		if h.Value == nil {
			continue
		}
		if !names[h.Key] {
			return fmt.Errorf("profile: histogram of unknown column %q", h.Key)
		}
		if len(h.Value.Edges) != len(h.Value.Counts)+1 {
			return fmt.Errorf("profile: histogram of %q has %d edges for %d counts", h.Key, len(h.Value.Edges), len(h.Value.Counts))
		}
		for i := 1; i < len(h.Value.Edges); i++ {
			if !(h.Value.Edges[i] >= h.Value.Edges[i-1]) {
				return fmt.Errorf("profile: histogram edges of %q are not increasing", h.Key)
			}
		}
		for _, c := range h.Value.Counts {
			if c < 0 {
				return fmt.Errorf("profile: histogram of %q has a negative count", h.Key)
			}
		}
	}
	for _, d := range p.Distributions {
		if !names[d.Key] {
			return fmt.Errorf("profile: distribution of unknown column %q", d.Key)
		}
		for _, v := range d.Value {
			if v.Value < 0 {
				return fmt.Errorf("profile: distribution of %q has a negative count", d.Key)
			}
		}
	}
	return nil
}

// Column returns the schema entry of name.
func (p *Profile) Column(name string) (Column, bool) {
	for _, c := range p.Schema.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}
