package validate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/mldata-io/mldata/pkg/schema"
)

// Result is the verdict of one rule.
type Result struct {
	Rule     Rule  `json:"rule"`
	Passed   bool  `json:"passed"`
	Failures int64 `json:"failures"` // offending rows (or 1 for dataset-level rules)
	// Message names the rule, the column, what was found and what was expected.
	Message string   `json:"message"`
	Samples []Sample `json:"samples,omitempty"` // up to 5, smallest (fileIndex, row) first
}

// Sample is one offending row.
type Sample struct {
	File string `json:"file"`
	Row  int64  `json:"row"` // 1-based data row within File
	// Value is the offending value's text form; "null" for a null.
	Value string `json:"value"`
	// FirstFile and FirstRow locate the earlier row holding the same value
	// (unique rules only).
	FirstFile string `json:"firstFile,omitempty"`
	FirstRow  int64  `json:"firstRow,omitempty"`
}

// Failed returns the results that did not pass.
func Failed(results []Result) []Result {
	var out []Result
	for _, r := range results {
		if !r.Passed {
			out = append(out, r)
		}
	}
	return out
}

// Results merges partials (in any order, same result) and evaluates every
// rule, in the order of the rules. Partials not made by v, and nil ones,
// are ignored. The partials are not modified.
func (v *Validator) Results(parts ...*Partial) []Result {
	var mine []*Partial
	for _, p := range parts {
		if p != nil && p.v == v {
			mine = append(mine, p)
		}
	}
	var rows int64
	files := map[int]string{}
	for _, p := range mine {
		rows += p.rows
		for i, f := range p.files {
			files[i] = f
		}
	}
	out := make([]Result, len(v.rules))
	for ri, r := range v.rules {
		res := &out[ri]
		res.Rule = r
		if r.Type == MinRows {
			v.minRows(res, rows)
			continue
		}
		if v.cols[ri] < 0 {
			if r.Type == Required {
				res.fail(1, "required: column %q is missing; the data has columns %s", r.Column, v.columnList())
			} else {
				res.fail(1, "%s: column %q is not in the data (columns: %s); add it to the sources or fix the rule's column", r.Type, r.Column, v.columnList())
			}
			continue
		}
		dt := v.schema.Field(v.cols[ri]).Type
		switch r.Type {
		case Required:
			res.pass("required: column %q is present", r.Column)
		case Type:
			if typeMatches(r.DType, dt) {
				res.pass("type: column %q is %s, as expected (%s)", r.Column, schema.TypeName(dt), r.DType)
			} else {
				res.fail(1, "type: column %q is %s; expected %s", r.Column, schema.TypeName(dt), r.DType)
			}
		case NotNull:
			var nulls int64
			var ss samples
			for _, p := range mine {
				nulls += p.rules[ri].nulls
				ss.merge(p.rules[ri].samples)
			}
			if nulls == 0 {
				res.pass("notNull: column %q has no nulls", r.Column)
			} else {
				res.fail(nulls, "notNull: column %q has %d nulls in %d rows; expected none", r.Column, nulls, rows)
				res.Samples = ss.resolve(files, nil)
			}
		case MaxNullFraction:
			v.nullFraction(res, mine, ri, rows)
		case Min, Max:
			v.bound(res, mine, ri, dt, files)
		case AllowedValues:
			var fails int64
			var ss samples
			for _, p := range mine {
				fails += p.rules[ri].failures
				ss.merge(p.rules[ri].samples)
			}
			if fails == 0 {
				res.pass("allowedValues: every value of column %q is one of %s", r.Column, valueList(r.Values))
			} else {
				res.fail(fails, "allowedValues: column %q has %d values that are not one of %s", r.Column, fails, valueList(r.Values))
				res.Samples = ss.resolve(files, nil)
			}
		case Unique:
			v.unique(res, mine, ri, dt, files)
		}
	}
	return out
}

func (r *Result) pass(format string, args ...any) {
	r.Passed, r.Failures, r.Message = true, 0, fmt.Sprintf(format, args...)
}

func (r *Result) fail(failures int64, format string, args ...any) {
	r.Passed, r.Failures, r.Message = false, failures, fmt.Sprintf(format, args...)
}

func (v *Validator) columnList() string {
	names := make([]string, v.schema.NumFields())
	for i, f := range v.schema.Fields() {
		names[i] = f.Name
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// valueList prints an allowed-values list, shortened when long.
func valueList(vals []string) string {
	const show = 10
	q := make([]string, 0, min(len(vals), show))
	for _, s := range vals[:min(len(vals), show)] {
		q = append(q, fmt.Sprintf("%q", s))
	}
	s := strings.Join(q, ", ")
	if len(vals) > show {
		s += fmt.Sprintf(" … (%d values)", len(vals))
	}
	return "[" + s + "]"
}

// typeMatches reports whether a column of type dt has the kind dtype.
func typeMatches(dtype string, dt arrow.DataType) bool {
	if d, ok := dt.(*arrow.DictionaryType); ok {
		dt = d.ValueType
	}
	id := dt.ID()
	isInt := id == arrow.INT8 || id == arrow.INT16 || id == arrow.INT32 || id == arrow.INT64 ||
		id == arrow.UINT8 || id == arrow.UINT16 || id == arrow.UINT32 || id == arrow.UINT64
	isFloat := id == arrow.FLOAT16 || id == arrow.FLOAT32 || id == arrow.FLOAT64
	switch dtype {
	case "int64":
		return isInt
	case "float64":
		return isFloat
	case "numeric":
		return isInt || isFloat
	case "bool":
		return id == arrow.BOOL
	case "string":
		return id == arrow.STRING || id == arrow.LARGE_STRING || id == arrow.STRING_VIEW
	case "timestamp":
		return id == arrow.TIMESTAMP
	}
	return false
}

func (v *Validator) minRows(res *Result, rows int64) {
	want := *res.Rule.Rows
	if rows >= want {
		res.pass("minRows: the dataset has %d rows; at least %d required", rows, want)
	} else {
		res.fail(1, "minRows: the dataset has %d rows; expected at least %d", rows, want)
	}
}

func percent(f float64) string { return fmt.Sprintf("%.4g%%", f*100) }

func (v *Validator) nullFraction(res *Result, parts []*Partial, ri int, rows int64) {
	r := res.Rule
	var nulls int64
	for _, p := range parts {
		nulls += p.rules[ri].nulls
	}
	if rows == 0 {
		res.pass("maxNullFraction: column %q has no rows, so no nulls", r.Column)
		return
	}
	frac := float64(nulls) / float64(rows)
	if frac <= *r.Fraction {
		res.pass("maxNullFraction: column %q is %s null (%d of %d rows); at most %s allowed", r.Column, percent(frac), nulls, rows, percent(*r.Fraction))
	} else {
		res.fail(1, "maxNullFraction: column %q is %s null (%d of %d rows); expected at most %s", r.Column, percent(frac), nulls, rows, percent(*r.Fraction))
	}
}

func (v *Validator) bound(res *Result, parts []*Partial, ri int, dt arrow.DataType, files map[int]string) {
	r := res.Rule
	if !isNumeric(dt) {
		res.fail(1, "%s: column %q is %s; %s applies to integer and float columns", r.Type, r.Column, schema.TypeName(dt), r.Type)
		return
	}
	var word, op, ext string
	var bound float64
	if r.Type == Min {
		word, bound, op, ext = "below", *r.Min, ">=", "smallest"
	} else {
		word, bound, op, ext = "above", *r.Max, "<=", "largest"
	}
	var fails int64
	var ss samples
	var best *ruleState
	for _, p := range parts {
		st := &p.rules[ri]
		fails += st.failures
		ss.merge(st.samples)
		if st.hasExtreme && (best == nil || moreExtreme(r.Type, st.extreme, st.extremeAt, best.extreme, best.extremeAt)) {
			best = st
		}
	}
	if fails == 0 {
		res.pass("%s: column %q has no value %s %s", r.Type, r.Column, word, formatBound(bound))
		return
	}
	res.fail(fails, "%s: column %q has %d values %s %s (%s %s); expected each value %s %s",
		r.Type, r.Column, fails, word, formatBound(bound), ext, best.extremeText, op, formatBound(bound))
	res.Samples = ss.resolve(files, nil)
}

// unique merges the partials' first occurrences. A row is a duplicate when
// its value occurs at a smaller (fileIndex, row): every partial's first
// occurrence of a value other than the smallest is one, and so is every
// duplicate found within a partial. The smallest five of those, whichever
// partial holds them, are the samples.
func (v *Validator) unique(res *Result, parts []*Partial, ri int, dt arrow.DataType, files map[int]string) {
	r := res.Rule
	type global struct {
		at   loc
		part int
		text int64
	}
	var nonNull int64
	var cands samples
	var firsts map[uint64]global
	var distinct int
	var firstOf func(key uint64) loc

	if len(parts) == 1 { // common case: no map to merge
		u := parts[0].rules[ri].uniq
		nonNull, distinct, cands = u.nonNull, len(u.first), append(cands, u.dups...)
		firstOf = func(k uint64) loc { return u.first[k].at }
	} else {
		size := 0
		for _, p := range parts {
			size = max(size, len(p.rules[ri].uniq.first))
		}
		firsts = make(map[uint64]global, size)
		for pi, p := range parts {
			u := p.rules[ri].uniq
			nonNull += u.nonNull
			cands.merge(u.dups)
			for k, f := range u.first {
				g, ok := firsts[k]
				if !ok {
					firsts[k] = global{at: f.at, part: pi, text: f.text}
					continue
				}
				loser := global{at: f.at, part: pi, text: f.text}
				if f.at < g.at {
					loser, firsts[k] = g, loser
				}
				if cands.wants(loser.at) {
					text := keyText(k, dt)
					if loser.text >= 0 {
						text = parts[loser.part].rules[ri].uniq.text(loser.text)
					}
					cands.add(sample{at: loser.at, value: text, key: k})
				}
			}
		}
		distinct = len(firsts)
		firstOf = func(k uint64) loc { return firsts[k].at }
	}
	dups := nonNull - int64(distinct)
	if dups == 0 {
		res.pass("unique: column %q has no duplicate values", r.Column)
		return
	}
	res.fail(dups, "unique: column %q has %d rows whose value appears in an earlier row; expected each non-null value once", r.Column, dups)
	res.Samples = cands.resolve(files, firstOf)
}

// merge offers every sample of o to s.
func (s *samples) merge(o samples) {
	for _, x := range o {
		if s.wants(x.at) {
			s.add(x)
		}
	}
}

// resolve sorts the samples and names their files; firstOf, when given,
// locates each value's first occurrence.
func (s samples) resolve(files map[int]string, firstOf func(key uint64) loc) []Sample {
	sorted := append(samples(nil), s...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].at < sorted[j].at })
	out := make([]Sample, len(sorted))
	for i, x := range sorted {
		out[i] = Sample{File: files[x.at.fileIndex()], Row: x.at.row(), Value: x.value}
		if firstOf != nil {
			f := firstOf(x.key)
			out[i].FirstFile, out[i].FirstRow = files[f.fileIndex()], f.row()
		}
	}
	return out
}
