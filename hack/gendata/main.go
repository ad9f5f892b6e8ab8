// Command gendata writes the synthetic mixed-type table that mldata is benchmarked on, as CSV,
// JSONL or Parquet, so that mldata, DuckDB and Polars can be timed on exactly the same data.
//
// The output is a pure function of (-rows, -format, -seed, -drift, -row-group-rows) and, for
// Parquet, of the arrow-go version that encodes it: the generator uses its own
// splitmix64 PRNG and only integer arithmetic or exactly rounded float operations, never
// math/rand (whose streams have changed between Go releases) nor transcendental functions
// (whose last bit may differ between architectures), so cached benchmark data and published
// results stay comparable across Go versions and machines.
//
// Columns, in order:
//
//	id         int64, 1..rows, unique and sequential
//	user_id    int64 in [1, 100000], skewed towards small ids (u³ of a uniform u)
//	amount     float64 with two decimals, 5 + 995·u² dollars; ~5% null (empty CSV field, JSON null)
//	score      float64 in [0, 1) with six decimals
//	country    one of 20 ISO codes with Zipf-like weights
//	session    uuid-shaped random hex (high cardinality)
//	is_active  true (~70%) or false
//	ts         second-resolution UTC time in 2024, as 2024-01-02T03:04:05Z
//	note       one of a few free-text notes, some containing commas and double quotes
//	product    one of 1,000 codes sku-0000 … sku-0999, skewed towards low codes (⌊1000·u²⌋)
//	quantity   int64 in [1, 50], skewed towards 1 (1 + ⌊50·u²⌋)
//	latency_ms float64 with three decimals, heavy-tailed (10/(1−u), at most 60,000); ~2% null
//
// So there are 12 columns: four integer-valued (id, user_id, quantity and, in Parquet, the
// timestamp), three floats (two with nulls), four strings with 20, 10, 1,000 and one distinct
// value per row (country, note, product, session), a bool and a timestamp.
//
// The last three columns draw from a second PRNG stream, so the first nine hold the same values
// as in files written before those columns were added.
//
// -drift F (0 ≤ F ≤ 1000) makes a "current" file for drift benchmarks: amounts and latencies are
// multiplied by 1+F, each score is replaced with probability min(F, 1) by the larger of two
// uniforms (pushing mass towards 1), the country weights are blended with weight min(F, 1)
// towards the reversed weights (rare countries become common), and with probability min(F, 1)
// a product code is drawn uniformly instead of skewed. id, user_id, session, is_active, ts, note
// and quantity do not drift, so they act as controls.
//
// Parquet output (-format parquet) is snappy-compressed with -row-group-rows rows per row group
// (default 131,072), dictionary encoding where arrow-go's defaults choose it, ts as
// TIMESTAMP(MICROS, UTC) and amount and latency_ms as nullable doubles: the layout of a typical
// data-lake file.
//
// Usage:
//
//	gendata -rows 1000000 -format csv -seed 1 -o bin/bench-data/base.csv
//	gendata -rows 1000000 -format csv -seed 2 -drift 0.2 -o bin/bench-data/cur.csv
//	gendata -rows 1000000 -format parquet -seed 1 -o bin/bench-data/base.parquet
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "gendata:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	rows   int64
	format string
	out    string
	seed   uint64
	drift  float64
	// rowGroupRows is the Parquet row group length.
	rowGroupRows int64
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("gendata", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Int64Var(&c.rows, "rows", 1000, "number of data rows (the header is extra)")
	fs.StringVar(&c.format, "format", "csv", "output format: csv, jsonl or parquet")
	fs.StringVar(&c.out, "o", "-", "output file; - writes to standard output")
	fs.Uint64Var(&c.seed, "seed", 1, "PRNG seed; the same seed gives the same bytes")
	fs.Float64Var(&c.drift, "drift", 0, "distribution shift factor (0 = baseline), see the package doc")
	fs.Int64Var(&c.rowGroupRows, "row-group-rows", 131072, "rows per Parquet row group")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q: all options are flags", fs.Args())
	case c.rows < 0:
		return c, fmt.Errorf("-rows must be >= 0, got %d", c.rows)
	case c.format != "csv" && c.format != "jsonl" && c.format != "parquet":
		return c, fmt.Errorf("-format must be csv, jsonl or parquet, got %q", c.format)
	case c.rowGroupRows < 1:
		return c, fmt.Errorf("-row-group-rows must be >= 1, got %d", c.rowGroupRows)
	case math.IsNaN(c.drift) || c.drift < 0 || c.drift > maxDrift:
		// The bound keeps amount·(1+F) in cents far inside uint64.
		return c, fmt.Errorf("-drift must be a number in [0, %d], got %v", maxDrift, c.drift)
	}
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	gen := generate
	if c.format == "parquet" {
		gen = generateParquet
	}
	if c.out == "-" || c.out == "" {
		return gen(stdout, c)
	}
	return writeFileAtomic(c.out, func(w io.Writer) error { return gen(w, c) })
}

// writeFileAtomic writes through a temporary file in the same directory and renames it into
// place, so that an interrupted run never leaves a truncated file that a cache would then trust.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create output for %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; data files are meant to be shared like any other output.
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename %s into place: %w", path, err)
	}
	return nil
}

// splitmix64 is Vigna's SplitMix64. It is chosen because its output is fully specified by a
// few integer operations, so no library change can alter the generated data.
type splitmix64 struct{ state uint64 }

func (r *splitmix64) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// below returns a uniform integer in [0, n) by Lemire's multiply-shift, which has negligible
// bias for the small n used here and needs no division.
func (r *splitmix64) below(n uint64) uint64 {
	hi, _ := bits.Mul64(r.next(), n)
	return hi
}

// unit returns a uniform float64 in [0, 1) built from 53 random bits; the conversion and the
// scaling by a power of two are exact.
func (r *splitmix64) unit() float64 {
	return float64(r.next()>>11) * 0x1p-53
}

// Countries avoid codes such as "NA" (Namibia) that CSV readers treat as null tokens, so the
// column has no accidental nulls in any tool.
var countries = [...]string{
	"US", "GB", "DE", "FR", "IN", "BR", "JP", "CA", "AU", "ES",
	"IT", "MX", "NL", "SE", "PL", "KR", "ZA", "NG", "AR", "NZ",
}

// Notes are fixed strings so that the CSV and JSON encodings can be computed once; several
// need CSV quoting (commas, embedded quotes). None contains a newline: a quoted newline would
// force every tool off its parallel CSV path, which is a different benchmark.
var notes = [...]string{
	"ok",
	"repeat order",
	"gift wrap",
	"call before delivery",
	"fragile, handle with care",
	"left at door, no signature",
	`customer said "thanks"`,
	`size "XL", colour blue`,
	"priority",
	"discount applied",
}

const (
	userIDs       = 100000
	nullAmountPct = 5
	activePct     = 70
	scoreScale    = 1000000 // score has six decimals
	products      = 1000
	maxQuantity   = 50
	nullLatency   = 2                  // percent
	maxLatencyUS  = 6e7                // latency cap in microseconds (60 s)
	extSeed       = 0x6a09e667f3bcc909 // xored into the seed for the second stream
	ts2024        = 1704067200
	secondsIn2024 = 366 * 86400
	driftScale    = 1000 // drift factors are applied in integer thousandths
	maxDrift      = 1000
)

// generator produces rows; its fields are derived once from the config.
type generator struct {
	rng           splitmix64
	ext           splitmix64 // the stream of product, quantity and latency_ms
	format        string
	amountMul     uint64 // amount multiplier in thousandths (1000 = unchanged)
	scoreMaxProb  uint64 // probability in thousandths that score is max of two uniforms
	countryCum    [len(countries)]uint64
	countryTotal  uint64
	csvNotes      [len(notes)][]byte
	jsonNotes     [len(notes)][]byte
	jsonCountries [len(countries)][]byte
}

func newGenerator(c config) *generator {
	g := &generator{rng: splitmix64{state: c.seed}, ext: splitmix64{state: c.seed ^ extSeed}, format: c.format}
	// Rounded to thousandths so the rest of the generator is integer-only.
	d := uint64(math.Round(c.drift * driftScale))
	g.amountMul = driftScale + d
	blend := min(d, driftScale)
	g.scoreMaxProb = blend
	var cum uint64
	for i := range countries {
		w := uint64(1000 / (i + 1))
		rev := uint64(1000 / (len(countries) - i))
		cum += (driftScale-blend)*w + blend*rev
		g.countryCum[i] = cum
	}
	g.countryTotal = cum
	for i, n := range notes {
		g.csvNotes[i] = csvField(n)
		g.jsonNotes[i] = jsonString(n)
	}
	for i, c := range countries {
		g.jsonCountries[i] = jsonString(c)
	}
	return g
}

// csvField quotes s per RFC 4180 when it contains a delimiter, quote or line break.
func csvField(s string) []byte {
	needs := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\n', '\r':
			needs = true
		}
	}
	if !needs {
		return []byte(s)
	}
	b := []byte{'"'}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// jsonString encodes one of the fixed strings above, which always succeeds for a string.
func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// row is one generated record, kept as integers so that text formatting is exact.
type row struct {
	id          int64
	userID      int64
	amountNull  bool
	amountCents uint64
	scoreMicros uint64
	country     int
	sessHi      uint64
	sessLo      uint64
	active      bool
	ts          int64
	note        int
	product     int
	quantity    int64
	latencyNull bool
	latencyUS   uint64
}

// next draws the fields in a fixed order; changing that order changes every file, so new
// columns must draw after the existing ones.
func (g *generator) next(id int64) row {
	r := row{id: id}
	u := g.rng.unit()
	r.userID = 1 + int64(u*u*u*userIDs)
	r.amountNull = g.rng.below(100) < nullAmountPct
	v := g.rng.unit()
	cents := 500 + uint64(v*v*99500)
	r.amountCents = cents * g.amountMul / driftScale
	r.scoreMicros = g.rng.below(scoreScale)
	if g.rng.below(driftScale) < g.scoreMaxProb {
		r.scoreMicros = max(r.scoreMicros, g.rng.below(scoreScale))
	}
	pick := g.rng.below(g.countryTotal)
	for r.country = 0; g.countryCum[r.country] <= pick; r.country++ {
	}
	r.sessHi, r.sessLo = g.rng.next(), g.rng.next()
	r.active = g.rng.below(100) < activePct
	r.ts = ts2024 + int64(g.rng.below(secondsIn2024))
	r.note = int(g.rng.below(uint64(len(notes))))

	// The second stream draws the same five numbers for every row.
	p := g.ext.unit()
	if g.ext.below(driftScale) < g.scoreMaxProb {
		r.product = int(p * products)
	} else {
		r.product = int(p * p * products)
	}
	q := g.ext.unit()
	r.quantity = 1 + int64(q*q*maxQuantity)
	r.latencyNull = g.ext.below(100) < nullLatency
	// 10/(1−u) ms is Pareto-distributed with shape 1; 1−u and the division are exactly rounded.
	us := min(10000/(1-g.ext.unit()), maxLatencyUS)
	r.latencyUS = uint64(us) * g.amountMul / driftScale
	return r
}

var header = []string{"id", "user_id", "amount", "score", "country", "session", "is_active", "ts", "note", "product", "quantity", "latency_ms"}

func generate(w io.Writer, c config) error {
	g := newGenerator(c)
	bw := bufio.NewWriterSize(w, 1<<20)
	buf := make([]byte, 0, 1<<16)
	if c.format == "csv" {
		for i, h := range header {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, h...)
		}
		buf = append(buf, '\n')
	}
	for id := int64(1); id <= c.rows; id++ {
		r := g.next(id)
		if c.format == "csv" {
			buf = g.appendCSV(buf, r)
		} else {
			buf = g.appendJSON(buf, r)
		}
		if len(buf) > 1<<15 {
			if _, err := bw.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	return bw.Flush()
}

func appendAmount(b []byte, cents uint64) []byte {
	b = strconv.AppendUint(b, cents/100, 10)
	b = append(b, '.', byte('0'+cents%100/10), byte('0'+cents%10))
	return b
}

// appendProduct formats a product code as sku-0000 … sku-0999.
func appendProduct(b []byte, i int) []byte {
	return append(b, 's', 'k', 'u', '-', byte('0'+i/1000%10), byte('0'+i/100%10), byte('0'+i/10%10), byte('0'+i%10))
}

// appendLatency formats microseconds as milliseconds with three decimals.
func appendLatency(b []byte, us uint64) []byte {
	b = strconv.AppendUint(b, us/1000, 10)
	return append(b, '.', byte('0'+us%1000/100), byte('0'+us%100/10), byte('0'+us%10))
}

func appendScore(b []byte, micros uint64) []byte {
	var d [8]byte
	d[0], d[1] = '0', '.'
	for i := 7; i >= 2; i-- {
		d[i] = byte('0' + micros%10)
		micros /= 10
	}
	return append(b, d[:]...)
}

const hexDigits = "0123456789abcdef"

// appendSession formats 128 random bits as a lowercase 8-4-4-4-12 uuid-like string.
func appendSession(b []byte, hi, lo uint64) []byte {
	var raw [32]byte
	for i := range 16 {
		raw[15-i] = hexDigits[hi>>(4*i)&0xf]
		raw[31-i] = hexDigits[lo>>(4*i)&0xf]
	}
	b = append(b, raw[0:8]...)
	b = append(b, '-')
	b = append(b, raw[8:12]...)
	b = append(b, '-')
	b = append(b, raw[12:16]...)
	b = append(b, '-')
	b = append(b, raw[16:20]...)
	b = append(b, '-')
	return append(b, raw[20:32]...)
}

func appendTS(b []byte, unix int64) []byte {
	return time.Unix(unix, 0).UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
}

func (g *generator) appendCSV(b []byte, r row) []byte {
	b = strconv.AppendInt(b, r.id, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, r.userID, 10)
	b = append(b, ',')
	if !r.amountNull {
		b = appendAmount(b, r.amountCents)
	}
	b = append(b, ',')
	b = appendScore(b, r.scoreMicros)
	b = append(b, ',')
	b = append(b, countries[r.country]...)
	b = append(b, ',')
	b = appendSession(b, r.sessHi, r.sessLo)
	b = append(b, ',')
	b = strconv.AppendBool(b, r.active)
	b = append(b, ',')
	b = appendTS(b, r.ts)
	b = append(b, ',')
	b = append(b, g.csvNotes[r.note]...)
	b = append(b, ',')
	b = appendProduct(b, r.product)
	b = append(b, ',')
	b = strconv.AppendInt(b, r.quantity, 10)
	b = append(b, ',')
	if !r.latencyNull {
		b = appendLatency(b, r.latencyUS)
	}
	return append(b, '\n')
}

func (g *generator) appendJSON(b []byte, r row) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, r.id, 10)
	b = append(b, `,"user_id":`...)
	b = strconv.AppendInt(b, r.userID, 10)
	b = append(b, `,"amount":`...)
	if r.amountNull {
		b = append(b, "null"...)
	} else {
		b = appendAmount(b, r.amountCents)
	}
	b = append(b, `,"score":`...)
	b = appendScore(b, r.scoreMicros)
	b = append(b, `,"country":`...)
	b = append(b, g.jsonCountries[r.country]...)
	b = append(b, `,"session":"`...)
	b = appendSession(b, r.sessHi, r.sessLo)
	b = append(b, `","is_active":`...)
	b = strconv.AppendBool(b, r.active)
	b = append(b, `,"ts":"`...)
	b = appendTS(b, r.ts)
	b = append(b, `","note":`...)
	b = append(b, g.jsonNotes[r.note]...)
	b = append(b, `,"product":"`...)
	b = appendProduct(b, r.product)
	b = append(b, `","quantity":`...)
	b = strconv.AppendInt(b, r.quantity, 10)
	b = append(b, `,"latency_ms":`...)
	if r.latencyNull {
		b = append(b, "null"...)
	} else {
		b = appendLatency(b, r.latencyUS)
	}
	return append(b, "}\n"...)
}
