package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/mldata-io/mldata/pkg/dataset"
	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/profile"
	"github.com/mldata-io/mldata/pkg/split"
)

// Defaults of the split check.
const (
	// DefaultSplitPSI is the PSI at or above which a column's distribution
	// in a split differs from the first split's.
	DefaultSplitPSI = 0.1
	// DefaultSplitMinRows: a split with fewer rows is compared but not
	// judged. Between two random samples of n1 and n2 rows over k bins the
	// PSI is about (k−1)(1/n1 + 1/n2) from sampling alone: 0.01 for 1000
	// rows and 10 bins, 0.1 — the threshold — for 100.
	DefaultSplitMinRows = 1000
	// DefaultSplitMaxCategories: a non-numeric column with more distinct
	// values than this in a split is left out of the similarity check
	// (identifiers differ between splits by design).
	DefaultSplitMaxCategories = 1000
	// maxLeakExamples bounds the leaked keys a check lists.
	maxLeakExamples = 5
	// maxExampleText bounds one example's text.
	maxExampleText = 200
)

// SplitCheck configures the split integrity check that a build with two or
// more splits runs after writing its parts and before publishing them.
type SplitCheck struct {
	// Disabled skips the check.
	Disabled bool
	// PSI is the similarity threshold; 0 means DefaultSplitPSI.
	PSI float64
	// MinRows is the smallest split that is judged; 0 means
	// DefaultSplitMinRows.
	MinRows int64
	// MaxCategories bounds the distinct values of a compared non-numeric
	// column; 0 means DefaultSplitMaxCategories.
	MaxCategories int
	// Exclude leaves columns out of the similarity check (the split key
	// is always left out: its values differ between splits by design).
	Exclude []string
}

func (c SplitCheck) withDefaults() SplitCheck {
	if c.PSI <= 0 {
		c.PSI = DefaultSplitPSI
	}
	if c.MinRows <= 0 {
		c.MinRows = DefaultSplitMinRows
	}
	if c.MaxCategories == 0 {
		c.MaxCategories = DefaultSplitMaxCategories
	}
	return c
}

// SplitLeakError is returned when keys leak between splits and
// validation's OnFailure is Fail.
type SplitLeakError struct {
	Integrity *manifest.SplitIntegrity
}

func (e *SplitLeakError) Error() string {
	return LeakMessage(e.Integrity) + "; nothing was published"
}

// LeakMessage describes the leaks of a split check for people.
func LeakMessage(s *manifest.SplitIntegrity) string {
	var pairs []string
	for _, l := range s.Leaks {
		pairs = append(pairs, fmt.Sprintf("%s/%s %d", l.A, l.B, l.Keys))
	}
	msg := fmt.Sprintf("splits leak: %d key(s) (%s) appear in more than one split (%s)", s.LeakedKeys, s.Key, strings.Join(pairs, ", "))
	if len(s.Examples) > 0 {
		msg += ", e.g. " + strings.Join(s.Examples, "; ")
	}
	return msg
}

// DissimilarMessage describes the dissimilar columns of a split check.
func DissimilarMessage(s *manifest.SplitIntegrity) string {
	sim := s.Similarity
	return fmt.Sprintf("splits differ: PSI against split %s at or above %g in %s", sim.Baseline, sim.Threshold, strings.Join(sim.Dissimilar, ", "))
}

// CheckSplits checks the splits of the build m describes, whose parts are
// under the output location uri: that no key is in two splits, and that each
// split's columns are distributed like the first split's.
//
// A key is the split key's value, or without a split key the row's whole
// content (its non-null columns by name), in the canonical encoding the
// split hash uses (so 5 and 5.0 are one key), compared by 64-bit XXH64
// hashes: two different keys are taken for one with a chance of about
// n²/2^65 for n keys (3·10⁻⁶ for ten million). The stratum is not part of
// the key, so a key that a stratified split put in two splits is found.
//
// Cost: the check reads every part back once (reused parts included): the
// compared columns and the split key together, the key hashed on the way
// while drift collects the columns; the first split is collected once for
// all the others (drift.CompareMany). The check reports PSI alone, so drift
// runs with PSIOnly: the same bins as a full comparison, but no split's
// values are sorted and KS and Wasserstein are not computed. Without a split key the key is
// the whole row, so every column is read once more for it. On a 1M-row
// 80/10/10 build this reads 1M rows instead of 2.8M and takes about a third
// less CPU than comparing the splits pair by pair (docs/benchmarks.md).
// Memory is 8 bytes per row of every split (the key hashes, sorted and
// merged at the end) plus drift's per-column state of the first split and
// the split it is compared with (8 bytes per numeric value).
func CheckSplits(ctx context.Context, uri string, m *manifest.Manifest, c SplitCheck, workers int, read format.Options, scratch string) (*manifest.SplitIntegrity, error) {
	c = c.withDefaults()
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	key := m.Split.Key
	res := &manifest.SplitIntegrity{Key: "row content", Hash: "xxh64 of the canonical key encoding (see split hashing)"}
	if key != "" {
		res.Key = "column " + key
	}
	names := make([]string, len(m.Splits))
	sets := make([][]uint64, len(m.Splits))
	sides := make([]*dataset.Dataset, len(m.Splits))
	defer func() {
		for _, d := range sides {
			if d != nil {
				d.Close()
			}
		}
	}()
	read.Kind = ""
	opt := dataset.Options{Format: format.Kind(m.Output.Format), Read: read, ScratchDir: scratch, Workers: workers, SkipHash: true}
	taps := make([]*keyTap, len(m.Splits))
	for i, s := range m.Splits {
		names[i] = s.Name
		res.Keys = append(res.Keys, manifest.SplitKeys{Split: s.Name, Rows: s.Rows})
		if s.Rows == 0 {
			continue
		}
		d, err := dataset.OpenBuild(ctx, uri, m, s.Name, opt)
		if err != nil {
			return nil, fmt.Errorf("split check: reading split %s: %w", s.Name, err)
		}
		sides[i] = d
		if key != "" {
			if taps[i], err = newKeyTap(d, key, s.Rows); err != nil {
				return nil, fmt.Errorf("split check: split %s: %w", s.Name, err)
			}
		}
	}
	// The similarity check reads the splits' compared columns; a split key
	// is hashed on the way, so the splits are not read again for the keys
	// (row content needs every column: it is read apart).
	sim, err := similarity(ctx, names, sides, taps, key, c, workers)
	if err != nil {
		return nil, err
	}
	res.Similarity = sim
	for i, d := range sides {
		if d == nil {
			continue
		}
		if taps[i] != nil && taps[i].keys != nil {
			sets[i] = taps[i].keys
		} else if sets[i], err = splitKeys(ctx, d, key, workers); err != nil {
			return nil, fmt.Errorf("split check: split %s: %w", names[i], err)
		}
		res.Keys[i].Keys = int64(len(sets[i]))
	}
	leaked := leaks(res, names, sets)
	if len(leaked) > 0 {
		ex, err := examples(ctx, sides, key, leaked, workers)
		if err != nil {
			return nil, fmt.Errorf("split check: %w", err)
		}
		res.Examples = ex
	}
	res.Consistent = res.LeakedKeys == 0 && (sim == nil || len(sim.Dissimilar) == 0)
	return res, nil
}

// keyHasher returns the split hash of the key alone (no stratum, seed 0).
func keyHasher(key string, sch *arrow.Schema) (*split.Assigner, error) {
	return split.NewAssigner(split.Spec{Names: []string{"all"}, Ratios: []float64{1}, Key: key}, sch)
}

// keyColumns are the columns a key needs: the key column, or all.
func keyColumns(d *dataset.Dataset, key string) []int {
	if key == "" {
		return nil
	}
	return d.Schema.FieldIndices(key)[:1]
}

// keyTap hashes a split's key column while drift reads the split's
// compared columns: the key column is read with them and cut off before
// drift sees the batches.
type keyTap struct {
	d    *dataset.Dataset
	a    *split.Assigner
	key  int // the key column's index in d.Schema
	rows int64
	// keys are the sorted distinct key hashes of the first scan that saw
	// every row; nil before one.
	keys []uint64
}

func newKeyTap(d *dataset.Dataset, key string, rows int64) (*keyTap, error) {
	a, err := keyHasher(key, d.Schema)
	if err != nil {
		return nil, err
	}
	return &keyTap{d: d, a: a, key: keyColumns(d, key)[0], rows: rows}, nil
}

// columns is d.Columns for drift.Input, hashing the keys on the way.
func (t *keyTap) columns(cols []int) profile.ScanFunc {
	scan := t.d.Columns(append(slices.Clone(cols), t.key))
	n := len(cols)
	return func(ctx context.Context, workers int, fn func(int, arrow.RecordBatch) error) error {
		var mu sync.Mutex
		all := make([]uint64, 0, t.rows)
		err := scan(ctx, workers, func(w int, rec arrow.RecordBatch) error {
			hs := make([]uint64, rec.NumRows())
			t.a.Hashes(rec, hs)
			mu.Lock()
			all = append(all, hs...)
			mu.Unlock()
			fields := rec.Schema().Fields()[:n]
			cut := array.NewRecordBatch(arrow.NewSchema(fields, nil), rec.Columns()[:n], rec.NumRows())
			defer cut.Release()
			return fn(w, cut)
		})
		if err == nil && t.keys == nil && int64(len(all)) == t.rows {
			sortHashes(all)
			t.keys = slices.Compact(all)
		}
		return err
	}
}

// splitKeys returns the sorted distinct key hashes of a split.
func splitKeys(ctx context.Context, d *dataset.Dataset, key string, workers int) ([]uint64, error) {
	a, err := keyHasher(key, d.Schema)
	if err != nil {
		return nil, err
	}
	workers = max(1, workers)
	per := make([][]uint64, workers)
	err = d.ScanColumns(ctx, workers, keyColumns(d, key), func(w int, rec arrow.RecordBatch) error {
		n := len(per[w])
		per[w] = slices.Grow(per[w], int(rec.NumRows()))[:n+int(rec.NumRows())]
		a.Hashes(rec, per[w][n:])
		return nil
	})
	if err != nil {
		return nil, err
	}
	all := per[0]
	for _, p := range per[1:] {
		all = append(all, p...)
	}
	sortHashes(all)
	return slices.Compact(all), nil
}

// sortHashes sorts key hashes ascending in place. The hashes are spread
// evenly over 64 bits, so distributing them in place by their leading byte
// (American flag sort), then each of the 256 buckets by its next byte,
// leaves buckets of about n/65,536 hashes to sort by comparison: every
// pass works within a range that fits in the caches after the first, and
// needs no second buffer. Many equal hashes (a key repeated in many rows)
// only make one bucket larger, sorted as slices.Sort would sort it.
func sortHashes(hs []uint64) { sortHashesFrom(hs, 56) }

// hashSortMin is the number of hashes from which sortHashes distributes a
// range by a byte instead of sorting it by comparison.
const hashSortMin = 1 << 10

func sortHashesFrom(hs []uint64, shift uint) {
	if len(hs) < hashSortMin || shift > 56 {
		slices.Sort(hs)
		return
	}
	var next, end [256]int
	for _, h := range hs {
		end[(h>>shift)&0xff]++
	}
	sum := 0
	for b, c := range end {
		next[b] = sum
		sum += c
		end[b] = sum
	}
	// Each bucket in turn takes the hashes that belong to it, passing the
	// ones it holds on to their buckets.
	for b := range next {
		for next[b] < end[b] {
			h := hs[next[b]]
			for d := int(h>>shift) & 0xff; d != b; d = int(h>>shift) & 0xff {
				hs[next[d]], h = h, hs[next[d]]
				next[d]++
			}
			hs[next[b]] = h
			next[b]++
		}
	}
	start := 0
	for _, e := range end {
		if shift == 0 {
			break // the whole hash is sorted
		}
		sortHashesFrom(hs[start:e], shift-8)
		start = e
	}
}

// leaks merges the splits' sorted key sets, fills res's leak counts, and
// returns the smallest leaked hashes (at most maxLeakExamples).
func leaks(res *manifest.SplitIntegrity, names []string, sets [][]uint64) map[uint64]bool {
	pos := make([]int, len(sets))
	pairs := map[[2]int]int64{}
	examples := map[uint64]bool{}
	var in []int
	for {
		// The smallest head among the sets, and which sets have it.
		var h uint64
		in = in[:0]
		for s, set := range sets {
			if pos[s] == len(set) {
				continue
			}
			v := set[pos[s]]
			switch {
			case len(in) == 0 || v < h:
				h, in = v, append(in[:0], s)
			case v == h:
				in = append(in, s)
			}
		}
		if len(in) == 0 {
			break
		}
		for _, s := range in {
			pos[s]++
		}
		if len(in) < 2 {
			continue
		}
		res.LeakedKeys++
		if len(examples) < maxLeakExamples {
			examples[h] = true
		}
		for i, a := range in {
			for _, b := range in[i+1:] {
				pairs[[2]int{a, b}]++
			}
		}
	}
	for p, n := range pairs {
		res.Leaks = append(res.Leaks, manifest.SplitLeak{A: names[p[0]], B: names[p[1]], Keys: n})
	}
	sort.Slice(res.Leaks, func(i, j int) bool {
		a, b := res.Leaks[i], res.Leaks[j]
		if a.A != b.A {
			return indexOf(names, a.A) < indexOf(names, b.A)
		}
		return indexOf(names, a.B) < indexOf(names, b.B)
	})
	return examples
}

// examples renders the keys whose hashes are in want, in hash order, by
// reading the splits again until each is found.
func examples(ctx context.Context, sides []*dataset.Dataset, key string, want map[uint64]bool, workers int) ([]string, error) {
	var mu sync.Mutex
	found := map[uint64]string{}
	for _, d := range sides {
		if d == nil || len(found) == len(want) {
			continue
		}
		a, err := keyHasher(key, d.Schema)
		if err != nil {
			return nil, err
		}
		err = d.ScanColumns(ctx, workers, keyColumns(d, key), func(_ int, rec arrow.RecordBatch) error {
			hs := make([]uint64, rec.NumRows())
			a.Hashes(rec, hs)
			for i, h := range hs {
				if !want[h] {
					continue
				}
				mu.Lock()
				if _, ok := found[h]; !ok {
					found[h] = rowText(rec, i, key != "")
				}
				mu.Unlock()
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	hs := make([]uint64, 0, len(found))
	for h := range found {
		hs = append(hs, h)
	}
	slices.Sort(hs)
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = found[h]
	}
	return out, nil
}

// rowText renders row i of rec: the key's value alone, or name=value pairs.
func rowText(rec arrow.RecordBatch, i int, keyOnly bool) string {
	var b strings.Builder
	for c, f := range rec.Schema().Fields() {
		col := rec.Column(c)
		v := "null"
		if col.IsValid(i) {
			v = profile.ValueRenderer(f.Type)(col, i)
		}
		if keyOnly {
			return truncateText(v)
		}
		if c > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Name + "=" + v)
	}
	return truncateText(b.String())
}

func truncateText(s string) string {
	if len(s) <= maxExampleText {
		return s
	}
	cut := maxExampleText
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// similarity compares every other split with the first by drift's PSI.
func similarity(ctx context.Context, names []string, sides []*dataset.Dataset, taps []*keyTap, key string, c SplitCheck, workers int) (*manifest.SplitSimilarity, error) {
	if len(sides) < 2 {
		return nil, nil
	}
	sim := &manifest.SplitSimilarity{Baseline: names[0], Threshold: c.PSI, MinRows: c.MinRows, Columns: []manifest.SplitColumnPSI{}}
	base := sides[0]
	if base == nil {
		sim.Skipped = append(sim.Skipped, manifest.SplitSkipped{Split: names[0], Reason: "the baseline split has no rows"})
		return sim, nil
	}
	exclude := append([]string(nil), c.Exclude...)
	if key != "" {
		exclude = append(exclude, key)
	}
	// Only columns on both sides are compared; drift checks that an
	// excluded column exists, so keep the ones the baseline has.
	exclude = slices.DeleteFunc(exclude, func(n string) bool { return !base.Schema.HasField(n) })
	// Every other split against the baseline, read once for all of them.
	input := func(i int) drift.Input {
		// Rows sizes drift's value buffers once; without it they grow by
		// copying as the split is read.
		in := drift.Input{Name: names[i], Schema: sides[i].Schema, Scan: sides[i].Scan, Columns: columnsOf(sides[i]), Rows: sides[i].Rows}
		if taps[i] != nil {
			in.Columns = taps[i].columns
		}
		return in
	}
	var currents []drift.Input
	for i, cur := range sides {
		if i > 0 && cur != nil {
			currents = append(currents, input(i))
		}
	}
	reports, err := drift.CompareMany(ctx, input(0), currents,
		drift.Options{Thresholds: drift.Thresholds{PSI: c.PSI}, Exclude: exclude, MaxCategories: c.MaxCategories,
			Workers: workers, PSIOnly: true, Now: func() time.Time { return time.Time{} }})
	if err != nil {
		return nil, fmt.Errorf("split check: %w", err)
	}
	for i, cur := range sides[1:] {
		name := names[i+1]
		if cur == nil {
			sim.Skipped = append(sim.Skipped, manifest.SplitSkipped{Split: name, Reason: "no rows"})
			continue
		}
		r := reports[0]
		reports = reports[1:]
		judged := base.Rows >= c.MinRows && cur.Rows >= c.MinRows
		add := func(col string, psi float64) {
			e := manifest.SplitColumnPSI{Split: name, Column: col, PSI: psi, Judged: judged, Dissimilar: judged && psi >= c.PSI}
			sim.Columns = append(sim.Columns, e)
			if e.Dissimilar {
				sim.Dissimilar = append(sim.Dissimilar, name+"/"+col)
			}
		}
		for _, f := range r.NumericDrift {
			add(f.Key, f.Value.PSI)
		}
		for _, f := range r.CategoricalDrift {
			add(f.Key, f.Value.PSI)
		}
		for _, s := range r.Skipped {
			sim.Skipped = append(sim.Skipped, manifest.SplitSkipped{Split: name, Column: s.Column, Reason: s.Reason})
		}
		if !judged {
			sim.Skipped = append(sim.Skipped, manifest.SplitSkipped{Split: name,
				Reason: fmt.Sprintf("compared but not judged: %s has %d rows and %s %d, fewer than %d", names[0], base.Rows, name, cur.Rows, c.MinRows)})
		}
	}
	return sim, nil
}

// checkSplits runs the split check on the finished manifest before it is
// published: leaks fail the build under OnFailure Fail and are warnings
// under Warn; dissimilar splits are warnings.
func (b *builder) checkSplits(ctx context.Context, res *Result) error {
	cfg, m := b.cfg, b.m
	if cfg.SplitCheck.Disabled || len(m.Splits) < 2 {
		return nil
	}
	b.stats.setStage("check splits")
	s, err := CheckSplits(ctx, cfg.Output, m, cfg.SplitCheck, cfg.Workers, format.Options{ChunkRows: cfg.Read.ChunkRows, Limits: cfg.Read.Limits}, cfg.ScratchDir)
	if err != nil {
		return err
	}
	m.SplitIntegrity = s
	if s.LeakedKeys > 0 {
		if cfg.OnFailure == OnFailureFail {
			return &SplitLeakError{Integrity: s}
		}
		res.Warnings = append(res.Warnings, LeakMessage(s)+" (published anyway: onFailure Warn)")
	}
	if s.Similarity != nil && len(s.Similarity.Dissimilar) > 0 {
		res.Warnings = append(res.Warnings, DissimilarMessage(s))
	}
	return nil
}

// columnsOf lets drift read only the columns it compares.
func columnsOf(d *dataset.Dataset) func([]int) profile.ScanFunc {
	return func(cols []int) profile.ScanFunc { return d.Columns(cols) }
}
