package schema

import (
	"fmt"
	"strconv"
	"strings"
)

// Kinds of Change.
const (
	Added              = "added"
	Removed            = "removed"
	TypeChanged        = "typeChanged"
	NullabilityChanged = "nullabilityChanged"
)

// Change is one difference between two schemas.
type Change struct {
	Kind     string `json:"kind"`
	Column   string `json:"column"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	Breaking bool   `json:"breaking"`
	Reason   string `json:"reason"`
}

// String describes the change in one line, e.g.
// `column "age": type int64 → int32 (breaking: …)`.
func (c Change) String() string {
	var what string
	switch c.Kind {
	case Added:
		what = "added as " + c.To
	case Removed:
		what = "removed (was " + c.From + ")"
	case TypeChanged:
		what = "type " + c.From + " → " + c.To
	case NullabilityChanged:
		what = c.From + " → " + c.To
	default:
		what = c.Kind
	}
	verdict := "not breaking"
	if c.Breaking {
		verdict = "breaking"
	}
	return fmt.Sprintf("column %q: %s (%s: %s)", c.Column, what, verdict, c.Reason)
}

// Diff lists how new differs from old, matching columns by name: first the
// changes of new's columns in new's order (added, typeChanged, then
// nullabilityChanged for the same column), then old's removed columns in
// old's order. A reorder alone is not a change (see the package doc).
func Diff(old, new []Column) []Change {
	oldByName := make(map[string]Column, len(old))
	for _, c := range old {
		oldByName[c.Name] = c
	}
	newNames := make(map[string]bool, len(new))
	var changes []Change
	for _, n := range new {
		newNames[n.Name] = true
		o, ok := oldByName[n.Name]
		if !ok {
			changes = append(changes, Change{
				Kind: Added, Column: n.Name, To: n.Type,
				Reason: "new column; rows built before it read as null",
			})
			continue
		}
		if o.Type != n.Type {
			safe, reason := widening(o.Type, n.Type)
			changes = append(changes, Change{
				Kind: TypeChanged, Column: n.Name, From: o.Type, To: n.Type,
				Breaking: !safe, Reason: reason,
			})
		}
		if o.Nullable != n.Nullable {
			c := Change{Kind: NullabilityChanged, Column: n.Name, From: nullWord(o.Nullable), To: nullWord(n.Nullable)}
			if n.Nullable {
				c.Reason = "the column now contains nulls; every earlier value is still valid"
			} else {
				c.Reason = "the column no longer contains nulls; every value is still valid"
			}
			changes = append(changes, c)
		}
	}
	for _, o := range old {
		if !newNames[o.Name] {
			changes = append(changes, Change{
				Kind: Removed, Column: o.Name, From: o.Type, Breaking: true,
				Reason: "consumers that read this column break",
			})
		}
	}
	return changes
}

func nullWord(nullable bool) string {
	if nullable {
		return "nullable"
	}
	return "non-null"
}

// numType is a parsed numeric type name.
type numType struct {
	kind  byte // 'i' signed, 'u' unsigned, 'f' float, 'd' decimal
	bits  int  // integer and float widths
	prec  int  // decimal precision
	scale int  // decimal scale
}

func parseNum(name string) (numType, bool) {
	for _, k := range []struct {
		prefix string
		kind   byte
	}{{"uint", 'u'}, {"int", 'i'}, {"float", 'f'}} {
		if rest, ok := strings.CutPrefix(name, k.prefix); ok {
			bits, err := strconv.Atoi(rest)
			if err != nil {
				return numType{}, false
			}
			return numType{kind: k.kind, bits: bits}, true
		}
	}
	if rest, ok := strings.CutPrefix(name, "decimal("); ok {
		p, s, ok := strings.Cut(strings.TrimSuffix(rest, ")"), ",")
		if !ok || !strings.HasSuffix(rest, ")") {
			return numType{}, false
		}
		pi, err1 := strconv.Atoi(p)
		si, err2 := strconv.Atoi(s)
		if err1 != nil || err2 != nil {
			return numType{}, false
		}
		return numType{kind: 'd', prec: pi, scale: si}, true
	}
	return numType{}, false
}

// floatMantissa is the number of significand bits (with the implicit one) of
// each float width: an integer type converts exactly when its value bits fit.
var floatMantissa = map[int]int{16: 11, 32: 24, 64: 53}

// widening reports whether changing a column from type from to type to keeps
// every earlier value valid, and why. int64 → float64 counts as safe although
// integers beyond 2^53 round: the schema policy names int → float64 a safe widening,
// and ML consumers read numbers as floats anyway.
func widening(from, to string) (bool, string) {
	if from == "null" {
		return true, "the column held only nulls before, so no earlier value changes"
	}
	if to == "null" {
		return false, "the column now holds only nulls; consumers of " + from + " values get none"
	}
	switch from + "→" + to {
	case "date32→date64":
		return true, "every date32 value is a valid date64"
	case "time32→time64":
		return true, "every time32 value is a valid time64"
	}
	f, fok := parseNum(from)
	t, tok := parseNum(to)
	if fok && tok {
		return numWidening(from, to, f, t)
	}
	if from == "string" {
		return false, fmt.Sprintf("values are no longer text; consumers reading strings break and text that is not a valid %s cannot be read as one", to)
	}
	if to == "string" {
		return false, fmt.Sprintf("values became text; consumers reading %s values break", from)
	}
	return false, fmt.Sprintf("%s → %s is not a safe widening; consumers of %s values break", from, to, from)
}

func numWidening(from, to string, f, t numType) (bool, string) {
	intBits := func(n numType) int { // value bits, sign excluded
		if n.kind == 'i' {
			return n.bits - 1
		}
		return n.bits
	}
	switch {
	case (f.kind == 'i' || f.kind == 'u') && t.kind == f.kind:
		if t.bits > f.bits {
			return true, fmt.Sprintf("every %s value fits in %s", from, to)
		}
		return false, fmt.Sprintf("%s narrows to %s; larger values no longer fit", from, to)
	case f.kind == 'u' && t.kind == 'i':
		if intBits(t) >= f.bits {
			return true, fmt.Sprintf("every %s value fits in %s", from, to)
		}
		return false, fmt.Sprintf("%s values above the %s maximum no longer fit", from, to)
	case f.kind == 'i' && t.kind == 'u':
		return false, fmt.Sprintf("negative %s values do not fit in %s", from, to)
	case (f.kind == 'i' || f.kind == 'u') && t.kind == 'f':
		if t.bits == 64 || intBits(f) <= floatMantissa[t.bits] {
			return true, fmt.Sprintf("integers convert to %s", to)
		}
		return false, fmt.Sprintf("%s keeps %d significant bits; larger %s values lose precision", to, floatMantissa[t.bits], from)
	case f.kind == 'f' && t.kind == 'f':
		if t.bits > f.bits {
			return true, fmt.Sprintf("every %s value is exact in %s", from, to)
		}
		return false, fmt.Sprintf("%s narrows to %s; values lose precision or range", from, to)
	case f.kind == 'f' && (t.kind == 'i' || t.kind == 'u'):
		return false, fmt.Sprintf("%s → %s drops fractions, NaN and infinities", from, to)
	case f.kind == 'd' && t.kind == 'd':
		if t.scale >= f.scale && t.prec-t.scale >= f.prec-f.scale {
			return true, fmt.Sprintf("every %s value is exact in %s", from, to)
		}
		return false, fmt.Sprintf("%s → %s loses integer digits or decimal places", from, to)
	}
	return false, fmt.Sprintf("%s → %s is not a safe widening; consumers of %s values break", from, to, from)
}
