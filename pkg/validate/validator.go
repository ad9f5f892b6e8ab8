package validate

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// Validator checks data of one schema against a list of rules. It is
// immutable: one Validator serves any number of workers, each with its own
// Partial.
type Validator struct {
	rules   []Rule
	schema  *arrow.Schema
	cols    []int                 // per rule: the column's index in schema, -1 if absent or unused
	allowed []map[string]struct{} // per rule: allowedValues as a set
}

// New checks rules (see Rule.Validate) and prepares them for data of the
// given schema. "required" and "type" rules are decided by the schema alone.
// Batches given to Observe must have this schema's column types (the
// pipeline casts every batch to the dataset's schema).
func New(rules []Rule, schema *arrow.Schema) (*Validator, error) {
	if schema == nil {
		return nil, errors.New("validate: no schema given")
	}
	v := &Validator{
		rules:   append([]Rule(nil), rules...),
		schema:  schema,
		cols:    make([]int, len(rules)),
		allowed: make([]map[string]struct{}, len(rules)),
	}
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("rules[%d] (%s): %w", i, r.Type, err)
		}
		v.cols[i] = -1
		if r.Column != "" {
			if idx := schema.FieldIndices(r.Column); len(idx) > 0 {
				v.cols[i] = idx[0]
			}
		}
		if r.Type == AllowedValues {
			set := make(map[string]struct{}, len(r.Values))
			for _, s := range r.Values {
				set[s] = struct{}{}
			}
			v.allowed[i] = set
		}
	}
	return v, nil
}

// Rules returns the validator's rules.
func (v *Validator) Rules() []Rule { return append([]Rule(nil), v.rules...) }

// loc is a row's position: file index in the sorted source list, then the
// 1-based data row in the file. Packed so that uint64 order is (file, row)
// order: rows per file below 2^40, file indexes below 2^24.
type loc uint64

const rowBits = 40

func packLoc(fileIndex int, row int64) loc {
	fi := uint64(max(0, min(fileIndex, 1<<(64-rowBits)-1)))
	r := uint64(max(0, min(row, 1<<rowBits-1)))
	return loc(fi<<rowBits | r)
}

func (l loc) fileIndex() int { return int(l >> rowBits) }
func (l loc) row() int64     { return int64(l & (1<<rowBits - 1)) }

// sample is an offending row before file names are resolved.
type sample struct {
	at    loc
	value string
	key   uint64 // unique: the value's key, to find its first occurrence
}

// maxSamples is how many samples a result keeps.
const maxSamples = 5

// samples keeps the maxSamples smallest locations offered to it. Each
// location is offered at most once, so keeping the smallest of a growing set
// is exact whatever the order of offers.
type samples []sample

// wants reports whether a sample at l would be kept, so that callers can
// skip building its text.
func (s samples) wants(l loc) bool {
	if len(s) < maxSamples {
		return true
	}
	for _, x := range s {
		if l < x.at {
			return true
		}
	}
	return false
}

func (s *samples) add(x sample) {
	if len(*s) < maxSamples {
		*s = append(*s, x)
		return
	}
	worst := 0
	for i, y := range *s {
		if y.at > (*s)[worst].at {
			worst = i
		}
	}
	if x.at < (*s)[worst].at {
		(*s)[worst] = x
	}
}

// ruleState accumulates one rule's evidence in one Partial.
type ruleState struct {
	failures int64 // offending rows
	nulls    int64 // null rows (notNull, maxNullFraction)
	samples  samples
	// min, max: the most extreme offending value, for the message.
	extreme     number
	extremeAt   loc
	extremeText string
	hasExtreme  bool
	uniq        *uniqState
}

// uniqState is one partial's view of a unique rule.
type uniqState struct {
	first   map[uint64]firstSeen // value key → its first occurrence in this partial
	arena   []byte               // clipped texts of hashed keys, each uvarint-length-prefixed
	nonNull int64
	dups    samples // the smallest rows whose value occurred at a smaller row of this partial
}

type firstSeen struct {
	at   loc
	text int64 // offset of the text in arena; -1 for exact keys
}

// Partial accumulates what one worker observed. It is not safe for
// concurrent use; give each worker its own.
type Partial struct {
	v     *Validator
	rows  int64
	files map[int]string // file index → name, for samples
	rules []ruleState
}

// NewPartial returns an empty accumulator for v's rules.
func (v *Validator) NewPartial() *Partial {
	p := &Partial{v: v, files: map[int]string{}, rules: make([]ruleState, len(v.rules))}
	for i, r := range v.rules {
		if r.Type == Unique {
			p.rules[i].uniq = &uniqState{first: map[uint64]firstSeen{}}
		}
	}
	return p
}

// Observe checks one batch; file is the source file name and fileIndex its
// position in the sorted source list; firstRow the 1-based data row of the
// batch's first row within that file.
func (p *Partial) Observe(rec arrow.RecordBatch, file string, fileIndex int, firstRow int64) {
	n := int(rec.NumRows())
	p.rows += int64(n)
	if n == 0 {
		return
	}
	p.files[fileIndex] = file
	at := func(i int) loc { return packLoc(fileIndex, firstRow+int64(i)) }
	for ri, r := range p.v.rules {
		if p.v.cols[ri] < 0 {
			continue // Results reports the missing column
		}
		st := &p.rules[ri]
		var arr arrow.Array
		if idx := rec.Schema().FieldIndices(r.Column); len(idx) > 0 {
			arr = rec.Column(idx[0])
		}
		switch r.Type {
		case NotNull, MaxNullFraction:
			if arr == nil { // a column missing from a batch is null there
				st.nulls += int64(n)
				if r.Type == NotNull {
					for i := 0; i < n && st.samples.wants(at(i)); i++ {
						st.samples.add(sample{at: at(i), value: "null"})
					}
				}
				continue
			}
			nulls := int64(arr.NullN())
			st.nulls += nulls
			if r.Type == NotNull && nulls > 0 {
				for i := range n {
					if arr.IsNull(i) && st.samples.wants(at(i)) {
						st.samples.add(sample{at: at(i), value: "null"})
					}
				}
			}
		case Min, Max:
			if arr != nil {
				p.observeBound(st, r, arr, at)
			}
		case AllowedValues:
			if arr != nil {
				p.observeAllowed(st, p.v.allowed[ri], arr, at)
			}
		case Unique:
			if arr != nil {
				st.uniq.observe(arr, at)
			}
		}
	}
}

func (p *Partial) observeBound(st *ruleState, r Rule, arr arrow.Array, at func(int) loc) {
	num := numberOf(arr)
	if num == nil {
		return // not numeric: Results says so
	}
	text := textOf(arr)
	for i := range arr.Len() {
		if arr.IsNull(i) {
			continue
		}
		x := num(i)
		var bad bool
		if r.Type == Min {
			bad = below(x, *r.Min)
		} else {
			bad = above(x, *r.Max)
		}
		if !bad {
			continue
		}
		st.failures++
		l := at(i)
		if st.samples.wants(l) {
			st.samples.add(sample{at: l, value: clip(text(i), maxText)})
		}
		if !st.hasExtreme || moreExtreme(r.Type, x, l, st.extreme, st.extremeAt) {
			st.extreme, st.extremeAt, st.extremeText, st.hasExtreme = x, l, clip(text(i), maxText), true
		}
	}
}

// moreExtreme orders offending values for the message: the smallest for
// min, the largest for max, NaN last, ties by position, so that the choice
// does not depend on the order of observation.
func moreExtreme(typ string, a number, al loc, b number, bl loc) bool {
	af, bf := a.float(), b.float()
	aNaN, bNaN := af != af, bf != bf
	switch {
	case aNaN != bNaN:
		return bNaN
	case aNaN || af == bf:
		return al < bl
	case typ == Min:
		return af < bf
	}
	return af > bf
}

func (p *Partial) observeAllowed(st *ruleState, allowed map[string]struct{}, arr arrow.Array, at func(int) loc) {
	text := textOf(arr)
	for i := range arr.Len() {
		if arr.IsNull(i) {
			continue
		}
		s := text(i)
		if _, ok := allowed[s]; ok {
			continue
		}
		st.failures++
		if l := at(i); st.samples.wants(l) {
			st.samples.add(sample{at: l, value: clip(s, maxText)})
		}
	}
}

// uniqueTextBytes is how much of a hashed value's text unique keeps for
// samples.
const uniqueTextBytes = 64

func (u *uniqState) observe(arr arrow.Array, at func(int) loc) {
	key, exact := uniqueKey(arr)
	for i := range arr.Len() {
		if arr.IsNull(i) {
			continue
		}
		u.nonNull++
		k, text := key(i)
		l := at(i)
		prev, seen := u.first[k]
		if !seen {
			u.first[k] = firstSeen{at: l, text: u.keep(text, exact)}
			continue
		}
		// The later of the two rows is a duplicate within this partial.
		dup := l
		if l < prev.at {
			dup = prev.at
			u.first[k] = firstSeen{at: l, text: prev.text}
		}
		if u.dups.wants(dup) {
			if exact {
				text = keyText(k, arr.DataType())
			}
			// Clipped like the kept first texts, so that a sample reads the
			// same whichever partial found it.
			u.dups.add(sample{at: dup, value: clip(text, uniqueTextBytes), key: k})
		}
	}
}

// keep stores a hashed value's clipped text and returns its offset.
func (u *uniqState) keep(text string, exact bool) int64 {
	if exact {
		return -1
	}
	off := int64(len(u.arena))
	text = clip(text, uniqueTextBytes)
	u.arena = append(u.arena, byte(len(text))) // clipped texts are under 128 bytes
	u.arena = append(u.arena, text...)
	return off
}

// text returns the stored text at off.
func (u *uniqState) text(off int64) string {
	n := int64(u.arena[off])
	return string(u.arena[off+1 : off+1+n])
}
