// Package split assigns every row of a dataset to one of its splits (train,
// validation, test, …) by hashing, so that a row's split depends only on its
// key — or, without a key, its content — and the seed: never on its position,
// chunk, file or the number of workers (README: Decisions worth knowing). Adding a source file, or
// a column, therefore never moves existing rows between splits.
//
// # Assignment
//
// A row's split is found from
//
//	h = xxhash64(seed ‖ [stratum] ‖ body)   (XXH64 with hash seed 0)
//	u = h / 2^64
//
// as the first split, in the user's order, whose cumulative ratio exceeds u
// (the last split takes any remainder left by rounding). The seed is 8 bytes,
// little-endian. Cumulative ratios are summed in float64 and compared with u
// exactly.
//
// Without a key, body is the row's content: for each non-null column, in
// byte-wise order of column names, uvarint(len(name)) ‖ name ‖ value. With a
// key, body is the key's value alone, so a key keeps its split whatever else
// about its rows changes.
//
// A value is a one-byte tag and a payload:
//
//	'i' int64, 8 bytes LE     signed and unsigned integers, and integral floats within int64
//	'u' uint64, 8 bytes LE    integers (and integral floats) in [2^63, 2^64)
//	'f' float64 bits, 8 LE    other floats; every NaN is 0x7ff8000000000000
//	'b' 0 or 1                bool
//	's' uvarint(len) ‖ bytes  string, large_string, string_view
//	'y' uvarint(len) ‖ bytes  binary kinds
//	't' int64 seconds LE ‖ uint32 nanoseconds LE   timestamps (the instant: unit and zone do not matter)
//	'd' int64 days LE         date32, and date64 values at midnight
//	'z' uvarint(len) ‖ Arrow type ‖ uvarint(len) ‖ Arrow's text of the value   anything else
//	'n'                       null (key and stratum only)
//
// Numbers are canonicalised so that int64 5 and float64 5.0 hash alike and
// -0 is 0: widening a column from int to float moves no row. A null is
// skipped in content, so adding a column (null in old rows) moves no row.
// Dictionary-encoded values hash as their dictionary value.
//
// Decision — null keys: a null key hashes as the 'n' tag, so all rows without
// a key land in one split, deterministically. Rows sharing "no key" may be
// the same entity, and spreading them would risk leaking it across splits.
// A key column missing from a batch reads as null.
//
// # Stratification
//
// Hash assignment is already proportional within every stratum in
// expectation; exact per-stratum quotas would depend on row position, and a
// row's split must not (adding a file may never move existing rows). StratifyBy therefore mixes the stratum value into the
// hash (the [stratum] part above, encoded as a value), so each stratum is
// split independently, and Counts reports the rows per (stratum, split) so
// that the manifest shows how close each stratum came to the ratios.
// Consequence: with both a key and StratifyBy, a key that appears under two
// stratum values can land in two splits; stratify by a column that is
// constant per key.
package split

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// MaxSplits is the most splits a Spec may have: split indexes are uint8.
const MaxSplits = 255

// Tolerance is how far the ratios' sum may be from 1.
const Tolerance = 1e-9

// Spec says how to split a dataset.
type Spec struct {
	Names  []string  // in the user's order, e.g. train, validation, test
	Ratios []float64 // same length; each > 0; sum to 1 within Tolerance
	Seed   uint64
	// Key is an optional column whose value alone decides a row's split;
	// "" hashes the row's content.
	Key string
	// StratifyBy is an optional column whose value is mixed into the hash
	// and by which Counts groups rows.
	StratifyBy string
}

// nameRE restricts split names to what is safe as a folder name in every
// object store (the split is a path segment of the output).
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

const example = `e.g. "train=0.8,validation=0.1,test=0.1"`

// Parse reads a split list such as "train=0.8,validation=0.1,test=0.1",
// keeping the order given; spaces around names and ratios are ignored. The
// result is validated; Seed, Key and StratifyBy are left for the caller.
func Parse(s string) (Spec, error) {
	var spec Spec
	if strings.TrimSpace(s) == "" {
		return spec, fmt.Errorf("split list is empty: give name=ratio pairs separated by commas, %s", example)
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return Spec{}, fmt.Errorf("split list %q has an empty entry: remove the extra comma", s)
		}
		name, ratio, ok := strings.Cut(part, "=")
		if !ok {
			return Spec{}, fmt.Errorf("split %q has no ratio: write name=ratio, e.g. \"train=0.8\"", part)
		}
		name, ratio = strings.TrimSpace(name), strings.TrimSpace(ratio)
		r, err := strconv.ParseFloat(ratio, 64)
		if err != nil {
			return Spec{}, fmt.Errorf("split %q: ratio %q is not a number: write a fraction such as 0.8", name, ratio)
		}
		spec.Names = append(spec.Names, name)
		spec.Ratios = append(spec.Ratios, r)
	}
	if err := spec.Validate(); err != nil {
		return Spec{}, err
	}
	return spec, nil
}

// String formats the names and ratios as Parse reads them.
func (s Spec) String() string {
	parts := make([]string, len(s.Names))
	for i, n := range s.Names {
		r := math.NaN()
		if i < len(s.Ratios) {
			r = s.Ratios[i]
		}
		parts[i] = n + "=" + strconv.FormatFloat(r, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// Validate reports the first problem with s, saying what to change.
func (s Spec) Validate() error {
	if len(s.Names) == 0 {
		return fmt.Errorf("no splits given: give at least one name=ratio pair, %s", example)
	}
	if len(s.Names) != len(s.Ratios) {
		return fmt.Errorf("%d split names but %d ratios: give one ratio per split", len(s.Names), len(s.Ratios))
	}
	if len(s.Names) > MaxSplits {
		return fmt.Errorf("%d splits given: use at most %d", len(s.Names), MaxSplits)
	}
	seen := make(map[string]bool, len(s.Names))
	sum := 0.0
	for i, name := range s.Names {
		if name == "" {
			return fmt.Errorf("split %d has no name: write name=ratio, e.g. \"train=0.8\"", i+1)
		}
		if !nameRE.MatchString(name) {
			return fmt.Errorf("split name %q is not allowed: use letters, digits, '-' and '_', starting with a letter or digit (it becomes a folder name)", name)
		}
		if seen[name] {
			return fmt.Errorf("split %q is given twice: give each split once", name)
		}
		seen[name] = true
		r := s.Ratios[i]
		if math.IsNaN(r) || math.IsInf(r, 0) || r <= 0 || r > 1 {
			return fmt.Errorf("split %q: ratio %s must be greater than 0 and at most 1 (leave the split out instead of giving it 0)", name, strconv.FormatFloat(r, 'g', -1, 64))
		}
		sum += r
	}
	if math.Abs(sum-1) > Tolerance {
		return fmt.Errorf("split ratios sum to %s, not 1: adjust them so that they add up to 1", strconv.FormatFloat(sum, 'g', 12, 64))
	}
	return nil
}

// Assigner assigns rows to splits. It is immutable, so one Assigner serves
// any number of goroutines.
type Assigner struct {
	spec Spec
	// bounds[i] is ceil(cumulative ratio of splits 0..i × 2^64), so that
	// h < bounds[i] ⇔ h/2^64 < cumulative ratio, exactly; the last split
	// has no bound.
	bounds []uint64
	seed   [8]byte
}

// errColumn explains a missing key or stratify column.
func errColumn(what, field, name string, schema *arrow.Schema) error {
	names := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		names[i] = f.Name
	}
	return fmt.Errorf("split %s column %q is not in the data (columns: %s): fix split.%s", what, name, strings.Join(names, ", "), field)
}

// NewAssigner returns an Assigner for spec. The schema is the data's; the
// key and stratify columns must be in it.
func NewAssigner(spec Spec, schema *arrow.Schema) (*Assigner, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("invalid split: %w", err)
	}
	if schema == nil {
		return nil, errors.New("split: no schema given")
	}
	if spec.Key != "" && !schema.HasField(spec.Key) {
		return nil, errColumn("key", "key", spec.Key, schema)
	}
	if spec.StratifyBy != "" && !schema.HasField(spec.StratifyBy) {
		return nil, errColumn("stratify", "stratifyBy", spec.StratifyBy, schema)
	}
	a := &Assigner{spec: spec}
	a.spec.Names = append([]string(nil), spec.Names...)
	a.spec.Ratios = append([]float64(nil), spec.Ratios...)
	for i := range 8 {
		a.seed[i] = byte(spec.Seed >> (8 * i))
	}
	cum := 0.0
	for _, r := range spec.Ratios[:len(spec.Ratios)-1] {
		cum += r
		// cum·2^64 is exact in float64 (a power-of-two scaling), so its
		// ceiling is the exact integer bound.
		x := math.Ceil(cum * 0x1p64)
		b := uint64(math.MaxUint64)
		if x < 0x1p64 {
			b = uint64(x)
		}
		a.bounds = append(a.bounds, b)
	}
	return a, nil
}

// Spec returns the spec the Assigner was made with.
func (a *Assigner) Spec() Spec { return a.spec }

// index maps a hash to its split.
func (a *Assigner) index(h uint64) uint8 {
	for i, b := range a.bounds {
		if h < b {
			return uint8(i)
		}
	}
	return uint8(len(a.bounds))
}
