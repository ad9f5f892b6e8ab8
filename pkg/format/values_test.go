package format

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		in   string
		ts   bool
		want kindFlags
	}{
		{"0", false, kindInt},
		{"-17", false, kindInt},
		{"+5", false, kindInt},
		{"007", false, kindInt},
		{"9223372036854775807", false, kindInt},
		{"-9223372036854775808", false, kindInt},
		{"9223372036854775808", false, kindFloat}, // int64 overflow → float64
		{"-9223372036854775809", false, kindFloat},
		{"123456789012345678901234567890", false, kindFloat},
		{"1.5", false, kindFloat},
		{"1.", false, kindFloat},
		{".5", false, kindFloat},
		{"-0.0", false, kindFloat},
		{"1e3", false, kindFloat},
		{"1E-3", false, kindFloat},
		{"2.5e+10", false, kindFloat},
		{"1e999", false, kindFloat}, // overflows to +Inf, as numpy reads it
		{"inf", false, kindFloat},
		{"-inf", false, kindFloat},
		{"+Inf", false, kindFloat},
		{"Infinity", false, kindFloat},
		{"-INFINITY", false, kindFloat},
		{"nan", false, kindFloat}, // only when not a null token
		{"-nan", false, kindString},
		{"0x1p-2", false, kindString}, // hex floats are not numbers here
		{"0x10", false, kindString},
		{"1_000", false, kindString},
		{" 1", false, kindString},
		{"1 ", false, kindString},
		{"1e", false, kindString},
		{"e5", false, kindString},
		{"-", false, kindString},
		{".", false, kindString},
		{"+", false, kindString},
		{"1.2.3", false, kindString},
		{"--1", false, kindString},
		{"infinit", false, kindString},
		{"true", false, kindBool},
		{"True", false, kindBool},
		{"TRUE", false, kindBool},
		{"false", false, kindBool},
		{"fAlSe", false, kindBool},
		{"t", false, kindString},
		{"yes", false, kindString},
		{"truex", false, kindString},
		{"2024-01-02", false, kindString},
		{"2024-01-02", true, kindTime},
		{"2024-01-02T03:04:05", true, kindTime},
		{"2024-01-02 03:04:05.123", true, kindTime},
		{"2024-01-02T03:04:05Z", true, kindTime},
		{"2024-01-02T03:04:05+02:00", true, kindTime},
		{"2024-13-02", true, kindString},
		{"2024", true, kindInt},
		{"", false, kindString},
		{"hello", false, kindString},
	}
	for _, tt := range tests {
		if got := classify([]byte(tt.in), tt.ts); got != tt.want {
			t.Errorf("classify(%q, ts=%v) = %b, want %b", tt.in, tt.ts, got, tt.want)
		}
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		v    int64
		want intStatus
	}{
		{"0", 0, intOK},
		{"-0", 0, intOK},
		{"+42", 42, intOK},
		{"-123456789012345678", -123456789012345678, intOK},
		{"9223372036854775807", math.MaxInt64, intOK},
		{"-9223372036854775808", math.MinInt64, intOK},
		{"00000000000000000000000001", 1, intOK},
		{"9223372036854775808", 0, intOverflow},
		{"18446744073709551616", 0, intOverflow}, // beyond uint64 too
		{"", 0, notInt},
		{"-", 0, notInt},
		{"1a", 0, notInt},
		{"1234567890123456789x", 0, notInt},
	}
	for _, tt := range tests {
		v, st := parseInt([]byte(tt.in))
		if st != tt.want || (st == intOK && v != tt.v) {
			t.Errorf("parseInt(%q) = %d, %d; want %d, %d", tt.in, v, st, tt.v, tt.want)
		}
	}
}

func TestParseFloat(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0.1", 0.1, true},
		{"1e3", 1000, true},
		{"-2.5E-3", -0.0025, true},
		{"42", 42, true},
		// Correct rounding: the nearest double to 0.3 is not 0.1+0.2.
		{"0.3", 0.3, true},
		{"9007199254740993", 9007199254740992, true}, // 2^53+1 rounds to even
		{"1e999", math.Inf(1), true},
		{"-1e999", math.Inf(-1), true},
		{"Infinity", math.Inf(1), true},
		{"0x1p3", 0, false},
		{"1_0", 0, false},
		{"abc", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseFloat([]byte(tt.in))
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("parseFloat(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if f, ok := parseFloat([]byte("nan")); !ok || !math.IsNaN(f) {
		t.Errorf("parseFloat(nan) = %v, %v", f, ok)
	}
}

func TestParseTimestamp(t *testing.T) {
	const s = int64(1e6)
	tests := []struct {
		in   string
		want int64 // microseconds since the epoch
		ok   bool
	}{
		{"1970-01-01", 0, true},
		{"2000-01-01", 946684800 * s, true},
		{"2000-03-01", 951868800 * s, true}, // after a leap day of a year divisible by 400
		{"1900-01-01", -2208988800 * s, true},
		{"0001-01-01", -62135596800 * s, true},
		{"1969-12-31T23:59:59", -1 * s, true},
		{"2000-01-01T00:00:01", (946684800 + 1) * s, true},
		{"2000-01-01 12:30:45", (946684800 + 45045) * s, true},
		{"2000-01-01T00:00:00.5", 946684800*s + 500000, true},
		{"2000-01-01T00:00:00.123", 946684800*s + 123000, true},
		{"2000-01-01T00:00:00.123456789", 946684800*s + 123456, true}, // truncated to µs
		{"2000-01-01T00:00:00Z", 946684800 * s, true},
		{"2000-01-01T00:00:00z", 946684800 * s, true},
		{"2000-01-01T02:00:00+02:00", 946684800 * s, true},
		{"1999-12-31T18:30:00-05:30", 946684800 * s, true},
		{"2024-02-29", 1709164800 * s, true},
		{"2023-02-29", 0, false},
		{"1900-02-29", 0, false}, // 1900 is not a leap year
		{"2024-04-31", 0, false},
		{"2024-00-10", 0, false},
		{"2024-01-00", 0, false},
		{"2024-1-02", 0, false},
		{"2024/01/02", 0, false},
		{"2024-01-02T24:00:00", 0, false},
		{"2024-01-02T03:60:00", 0, false},
		{"2024-01-02T03:04:60", 0, false},
		{"2024-01-02T03:04", 0, false},
		{"2024-01-02Z", 0, false},
		{"2024-01-02T03:04:05.", 0, false},
		{"2024-01-02T03:04:05.1234567891", 0, false},
		{"2024-01-02T03:04:05+0200", 0, false},
		{"2024-01-02T03:04:05+24:00", 0, false},
		{"2024-01-02T03:04:05Zx", 0, false},
		{"2024-01-02x03:04:05", 0, false},
		{"abcd-01-02", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseTimestamp([]byte(tt.in))
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("parseTimestamp(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNullSet(t *testing.T) {
	def := newNullSet(nil)
	for _, tok := range DefaultNullValues {
		if !def.isNull([]byte(tok)) {
			t.Errorf("default null token %q is not null", tok)
		}
	}
	for _, v := range []string{"na", "Null", "NONE", "nil", "0", "-1", "1.5", " ", "N/A ", "#N/A N/A N/A"} {
		if def.isNull([]byte(v)) {
			t.Errorf("%q is null by default; tokens are matched exactly", v)
		}
	}
	custom := newNullSet([]string{"missing", string(make([]byte, 70))})
	if custom.isNull(nil) || custom.isNull([]byte("NA")) {
		t.Error("custom tokens must replace the defaults")
	}
	if !custom.isNull([]byte("missing")) || !custom.isNull(make([]byte, 70)) {
		t.Error("custom tokens, short and long, must be null")
	}
	if custom.isNull(make([]byte, 71)) {
		t.Error("a long value that is not a token is null")
	}
	none := newNullSet([]string{})
	if none.isNull(nil) || none.isNull([]byte("NA")) {
		t.Error("an empty token list has no null tokens")
	}
	// Values with a token's first byte and length: "NL" is not "NA".
	for _, v := range []string{"NL", "NG", "nab", "NULl", "#N/A N/B", "-1.#INF"} {
		if def.isNull([]byte(v)) {
			t.Errorf("%q is null by default; tokens are matched exactly", v)
		}
	}
	// More tokens of one first byte than are compared one by one.
	var many []string
	for i := range maxShort + 3 {
		many = append(many, fmt.Sprintf("x%d", i))
	}
	crowded := newNullSet(append(many, "yes"))
	for _, tok := range append(many, "yes") {
		if !crowded.isNull([]byte(tok)) {
			t.Errorf("token %q is not null", tok)
		}
	}
	for _, v := range []string{"x", "x99", "xa", "ye", "yet"} {
		if crowded.isNull([]byte(v)) {
			t.Errorf("%q is null, but no token", v)
		}
	}
}

// The fast path must agree with strconv.ParseFloat bit for bit wherever it
// answers.
func TestParseFloatFastMatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	forms := []string{"%d", "%d.%d", "-%d.%d", "%d.%de%d", "%d.%de-%d", "0.%d", "%de+%d"}
	fast := 0
	for n := 0; n < 200000; n++ {
		f := forms[rng.IntN(len(forms))]
		args := []any{rng.Uint64N(1 << uint(rng.IntN(60))), rng.Uint64N(1 << uint(rng.IntN(40))), rng.IntN(30)}
		s := fmt.Sprintf(f, args[:strings.Count(f, "%")]...)
		want, err := strconv.ParseFloat(s, 64)
		if err != nil {
			continue
		}
		got, ok := parseFloatFast([]byte(s))
		if !ok {
			continue
		}
		fast++
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parseFloatFast(%q) = %v, strconv gives %v", s, got, want)
		}
	}
	if fast < 50000 {
		t.Errorf("only %d values took the fast path", fast)
	}
	for _, s := range []string{"1e", "e1", ".", "1.2.3", "1e99999", "12345678901234567890", "9007199254740993", "1e23", "--1", "1x"} {
		if v, ok := parseFloatFast([]byte(s)); ok {
			t.Errorf("parseFloatFast(%q) = %v; want the slow path", s, v)
		}
	}
	if v, ok := parseFloatFast([]byte("-0.0")); !ok || !math.Signbit(v) || v != 0 {
		t.Errorf("parseFloatFast(-0.0) = %v, %v", v, ok)
	}
}

func TestIndexDelim(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte(",;\t-+a\x00\xff\x2d\x2b")
	for n := 0; n < 20000; n++ {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		from := 0
		if len(b) > 0 {
			from = rng.IntN(len(b) + 1)
		}
		for _, d := range []byte{',', ';', '\t'} {
			want := len(b)
			if j := bytes.IndexByte(b[from:], d); j >= 0 {
				want = from + j
			}
			if got := indexDelim(b, from, len(b), d); got != want {
				t.Fatalf("indexDelim(%q, %d, %q) = %d, want %d", b, from, d, got, want)
			}
		}
	}
}

func TestSkipPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	alphabet := []byte("a\"\\\x00\x1f !#\x7f\xc3\xa9\x21\x5d\x5b")
	for n := 0; n < 20000; n++ {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		want := len(b)
		for i, c := range b {
			if c == '"' || c == '\\' || c < 0x20 {
				want = i
				break
			}
		}
		if got := skipPlain(b, 0, len(b)); got != want {
			t.Fatalf("skipPlain(%q) = %d, want %d", b, got, want)
		}
	}
}
