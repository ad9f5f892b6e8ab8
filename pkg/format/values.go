package format

import (
	"math"
	"strconv"
	"unsafe"
)

// kindFlags records which kinds of value a column has shown. Inference ORs
// the kind of every non-null value into the column's flags, which makes
// evidence from different chunks mergeable in any order.
type kindFlags uint8

const (
	kindBool kindFlags = 1 << iota
	kindInt
	kindFloat
	kindTime
	kindString
)

// nullSet matches null tokens exactly. Most fields are not null, so a table
// indexed by first byte with a bit per token length rejects them before any
// hashing: only a field whose first byte and length both match some token
// goes further. That is compared with the few tokens of its first byte
// (country codes such as "NL" pass the table because of "NA"), which is
// cheaper than hashing it; the map serves first bytes with many tokens and
// long tokens.
type nullSet struct {
	empty   bool // "" is a null token
	long    bool // some token is 64 bytes or longer
	byFirst [256]uint64
	short   [256][]string // the tokens under 64 bytes by first byte, when at most maxShort
	tokens  map[string]struct{}
}

// maxShort is the most tokens of one first byte compared one by one.
const maxShort = 8

func newNullSet(tokens []string) *nullSet {
	if tokens == nil {
		tokens = DefaultNullValues
	}
	s := &nullSet{tokens: make(map[string]struct{}, len(tokens))}
	var byFirst [256][]string
	for _, t := range tokens {
		switch {
		case t == "":
			s.empty = true
		case len(t) >= 64:
			s.long = true
		default:
			s.byFirst[t[0]] |= 1 << uint(len(t))
			byFirst[t[0]] = append(byFirst[t[0]], t)
		}
		s.tokens[t] = struct{}{}
	}
	for c, l := range byFirst {
		if len(l) <= maxShort {
			s.short[c] = l
		}
	}
	return s
}

func (s *nullSet) isNull(b []byte) bool {
	n := len(b)
	if n == 0 {
		return s.empty
	}
	if n < 64 {
		if s.byFirst[b[0]]&(1<<uint(n)) == 0 {
			return false
		}
		if l := s.short[b[0]]; l != nil {
			for _, t := range l {
				if string(b) == t {
					return true
				}
			}
			return false
		}
	} else if !s.long {
		return false
	}
	_, ok := s.tokens[string(b)]
	return ok
}

// classify returns the kind of one non-null text value (the inference rules in the package doc). Only
// the exact spellings below count: surrounding spaces, hex floats and digit
// separators make a value a string, so that inference never guesses.
func classify(b []byte, timestamps bool) kindFlags {
	if len(b) == 0 {
		return kindString
	}
	switch c := b[0]; {
	case c >= '0' && c <= '9', c == '+', c == '-', c == '.':
		if _, st := parseInt(b); st == intOK {
			return kindInt
		} else if st == intOverflow {
			return kindFloat
		}
		if isDecimalFloat(b) {
			return kindFloat
		}
		if timestamps && c >= '0' && c <= '9' {
			if _, ok := parseTimestamp(b); ok {
				return kindTime
			}
		}
	case c == 't', c == 'T', c == 'f', c == 'F':
		if _, ok := parseBool(b); ok {
			return kindBool
		}
	case c == 'i', c == 'I', c == 'n', c == 'N':
		if isDecimalFloat(b) {
			return kindFloat
		}
	}
	return kindString
}

type intStatus uint8

const (
	notInt intStatus = iota
	intOK
	intOverflow // integer syntax, but outside int64: read as float64
)

// parseInt parses an optional sign and decimal digits.
func parseInt(b []byte) (int64, intStatus) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		i = 1
	}
	if i == len(b) {
		return 0, notInt
	}
	var u uint64
	digits := b[i:]
	if len(digits) <= 18 { // 10^18 < 2^63: no overflow possible
		for _, c := range digits {
			d := c - '0'
			if d > 9 {
				return 0, notInt
			}
			u = u*10 + uint64(d)
		}
		if neg {
			return -int64(u), intOK
		}
		return int64(u), intOK
	}
	overflow := false
	for _, c := range digits {
		d := c - '0'
		if d > 9 {
			return 0, notInt
		}
		if u > (math.MaxUint64-uint64(d))/10 {
			overflow = true
			continue
		}
		u = u*10 + uint64(d)
	}
	switch {
	case overflow:
		return 0, intOverflow
	case neg && u <= 1<<63:
		return int64(-u), intOK // -u wraps to the right value for u == 1<<63
	case !neg && u <= math.MaxInt64:
		return int64(u), intOK
	}
	return 0, intOverflow
}

// isDecimalFloat reports whether b is a number in the decimal syntax that
// strconv.ParseFloat accepts, minus the forms a data file should not rely on
// (hexadecimal mantissas, '_' separators). Infinity may be signed; NaN may
// not, as in ParseFloat.
func isDecimalFloat(b []byte) bool {
	i := 0
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		i = 1
	}
	if i < len(b) && (b[i]|0x20 == 'i' || b[i]|0x20 == 'n') {
		rest := b[i:]
		if equalFold(rest, "inf") || equalFold(rest, "infinity") {
			return true
		}
		return i == 0 && equalFold(rest, "nan")
	}
	digits := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
		digits++
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		exp := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(b)
}

// equalFold compares ASCII letters case-insensitively; s must be lower case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != s[i] {
			return false
		}
	}
	return true
}

// parseFloat parses a value that isDecimalFloat accepts or a decimal
// integer. Overflow gives ±Inf, as numpy and pandas read such values.
//
// Most values in data files are short decimals such as 943.13; for those
// the mantissa fits in 53 bits and the power of ten is exact, so one IEEE
// multiplication or division gives the correctly rounded result (Clinger's
// fast path, also used by strconv). Everything else goes to strconv.
func parseFloat(b []byte) (float64, bool) {
	if f, ok := parseFloatFast(b); ok {
		return f, true
	}
	if !isDecimalFloat(b) {
		return 0, false
	}
	// The string view does not escape: ParseFloat only keeps its input in
	// the error, which is dropped here.
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloatFast handles [+-]digits[.digits][e[+-]digits] with at most 19
// digits, when the result is exact; ok is false for anything else.
func parseFloatFast(b []byte) (float64, bool) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		i = 1
	}
	var mant uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 19 {
				return 0, false
			}
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
			continue
		case c == '.' && !dot:
			dot = true
			continue
		}
		break
	}
	if digits == 0 {
		return 0, false
	}
	exp := 0
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		start := i
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if i-start == 4 {
				return 0, false
			}
			exp = exp*10 + int(b[i]-'0')
		}
		if i == start {
			return 0, false
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(b) || mant >= 1<<53 {
		return 0, false
	}
	exp -= frac
	f := float64(mant)
	switch {
	case exp == 0:
	case exp > 0 && exp <= 22:
		f *= exactPow10[exp]
	case exp < 0 && exp >= -22:
		f /= exactPow10[-exp]
	default:
		return 0, false
	}
	if neg {
		f = -f
	}
	return f, true
}

// parseBool accepts true and false in any letter case.
func parseBool(b []byte) (bool, bool) {
	switch {
	case equalFold(b, "true"):
		return true, true
	case equalFold(b, "false"):
		return false, true
	}
	return false, false
}

// parseTimestamp parses the ISO-8601 forms inference accepts into microseconds
// since the Unix epoch, UTC:
//
//	2024-01-02
//	2024-01-02T03:04:05     (or a space instead of T)
//	2024-01-02T03:04:05.123456789
//
// each optionally followed by Z or ±hh:mm when a time is present. A value
// without an offset is taken as UTC. Digits beyond microseconds are
// truncated, since the column type is timestamp[us].
func parseTimestamp(b []byte) (int64, bool) {
	if len(b) < 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	year, ok1 := digitsN(b[0:4])
	month, ok2 := digitsN(b[5:7])
	day, ok3 := digitsN(b[8:10])
	if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return 0, false
	}
	us := daysFromCivil(year, month, day) * 86400 * 1e6
	if len(b) == 10 {
		return us, true
	}
	if len(b) < 19 || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	hh, ok1 := digitsN(b[11:13])
	mm, ok2 := digitsN(b[14:16])
	ss, ok3 := digitsN(b[17:19])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 59 {
		return 0, false
	}
	us += (hh*3600 + mm*60 + ss) * 1e6
	i := 19
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		frac, scale := int64(0), int64(1e6)
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if scale > 1 {
				scale /= 10
				frac += int64(b[i]-'0') * scale
			}
			i++
		}
		if n := i - start; n == 0 || n > 9 {
			return 0, false
		}
		us += frac
	}
	switch {
	case i == len(b):
		return us, true
	case b[i] == 'Z' || b[i] == 'z':
		return us, i+1 == len(b)
	case b[i] == '+' || b[i] == '-':
		if len(b)-i != 6 || b[i+3] != ':' {
			return 0, false
		}
		oh, ok1 := digitsN(b[i+1 : i+3])
		om, ok2 := digitsN(b[i+4 : i+6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		off := (oh*3600 + om*60) * 1e6
		if b[i] == '+' {
			return us - off, true
		}
		return us + off, true
	}
	return 0, false
}

func digitsN(b []byte) (int64, bool) {
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

func daysIn(year, month int64) int64 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the proleptic Gregorian day number with 1970-01-01 = 0
// (H. Hinnant's algorithm); it avoids time.Date on the per-value path.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func isTimestamp(b []byte) bool {
	_, ok := parseTimestamp(b)
	return ok
}
