// Package profile computes the profile of a tabular dataset — schema, null
// and distinct counts, numeric statistics, top values and histograms — in one
// streaming pass over Arrow record batches, with the exact definitions of
// docs/statistics.md, and reads stored profiles back (Load) so that drift checks can
// use them as pinned baselines.
//
// Each Scan worker feeds its own accumulators without locks; they are merged
// exactly at the end (counts, sums, min, max; mean from a compensated sum;
// variance with Chan et al.'s parallel merge). Results follow pandas and
// numpy so that they can be checked against them:
//
//   - std has ddof = 1 and is nil below two values; percentiles are
//     np.percentile's "linear" method; histograms are np.histogram with 10
//     equal-width bins over [min, max] (a constant column gets [v−0.5, v+0.5]).
//   - NaN in a float column is a null (pandas' isna), so it counts in
//     null_count and nowhere else. ±Inf are values: they count in count,
//     min, max and unique_count, make the mean ±Inf (NaN if both signs) and
//     the std NaN, and are left out of the histogram with a note, because
//     np.histogram rejects an infinite range.
//   - JSON cannot hold NaN or ±Inf, so Float writes them as the strings
//     "NaN", "Infinity" and "-Infinity" (never null: null means "no value").
//   - A column without non-null values has count 0 and every other
//     statistic null, and a null histogram.
//   - dtype is the pandas name of the column's type: int64, int32, …,
//     float64, bool, object (strings and anything else), datetime64[ns] for
//     timestamps without time zone and datetime64[ns, UTC] (pandas' spelling)
//     for timestamps with one. dtype follows the Arrow type even where pandas
//     would widen (an int column with nulls stays int64).
//   - Top values (distributions) are computed for every non-numeric column:
//     strings, bools rendered "True"/"False" as pandas prints them,
//     timestamps rendered in RFC 3339 UTC (ties are then ordered by that
//     text), dates as YYYY-MM-DD, other types as Arrow renders them.
//
// Exact results keep every numeric value (8 bytes each) and every distinct
// non-numeric value, in the structures of package tally: distinct values
// are counted in hash tables whose values sit in append-only arenas (no
// per-value allocation, nothing for the garbage collector to scan, equality
// checked on the bytes), top values are picked by a bounded selection
// rather than a sort of every distinct value, integer columns whose range
// is at most twice their count (identifiers, codes) get their percentiles,
// distinct count and histogram from counts per value, and other numeric
// columns are sorted by bucketing. Each worker keeps its own state; the
// per-worker tables of a column are combined once, at the end, without
// copying the larger one.
//
// When Options.MaxMemory is set and that state outgrows it, the largest
// columns switch to mergeable sketches — HyperLogLog for distinct counts,
// KLL for percentiles and histograms, Misra–Gries for top values — and the
// profile's "approximate" object records each such column's error bounds. Which columns switch depends on the order batches
// arrive in; the bounds hold regardless.
package profile

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
)

// Options control Compute.
type Options struct {
	// Workers is the Scan parallelism; 0 means GOMAXPROCS.
	Workers int
	// MaxMemory bounds the exact state in bytes; 0 (or less) means unlimited
	// (exact). Sketches come on top, per sketched column and worker: about
	// 26 KiB for a numeric column (HyperLogLog and KLL), and a HyperLogLog
	// plus at most 8192 counted values for any other column.
	MaxMemory int64
	// TopK is the number of top values kept per column; 0 means 20.
	TopK int
	// Bins is the number of histogram bins; 0 means 10.
	Bins int
	// RowsHint is the number of rows expected (a dataset's row count), or
	// 0 if unknown. It only sizes the tables of columns that look like
	// identifiers from their first batch, so that they do not grow step by
	// step, and is ignored under MaxMemory; results do not depend on it.
	RowsHint int64
}

// ScanFunc streams record batches to fn from `workers` goroutines; worker is
// in [0, workers) and no two concurrent calls share a worker index. It has
// the shape of dataset.(*Dataset).Scan.
type ScanFunc func(ctx context.Context, workers int, fn func(worker int, rec arrow.RecordBatch) error) error

// Records returns a ScanFunc over batches already in memory, handed out to
// the workers as they become free. The caller keeps ownership of recs.
func Records(recs ...arrow.RecordBatch) ScanFunc {
	return func(ctx context.Context, workers int, fn func(int, arrow.RecordBatch) error) error {
		workers = max(workers, 1)
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= len(recs) || ctx.Err() != nil {
						return
					}
					if err := fn(w, recs[i]); err != nil {
						errs[w] = err
						next.Store(int64(len(recs)))
						return
					}
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		return ctx.Err()
	}
}

// Kind is how a column is profiled.
type Kind int

const (
	// Numeric columns (integers and floats, not bool) get statistics and a histogram.
	Numeric Kind = iota
	// Bool columns get top values.
	Bool
	// Categorical columns (strings and everything else) get top values.
	Categorical
)

// KindOf classifies an Arrow type.
func KindOf(dt arrow.DataType) Kind {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		return Numeric
	case arrow.BOOL:
		return Bool
	}
	return Categorical
}

// DType returns the pandas dtype name reported for an Arrow type.
func DType(dt arrow.DataType) string {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		return dt.Name()
	case arrow.BOOL:
		return "bool"
	case arrow.TIMESTAMP:
		if tz := dt.(*arrow.TimestampType).TimeZone; tz != "" {
			if tz == "Z" || tz == "+00:00" || tz == "Etc/UTC" {
				tz = "UTC"
			}
			return "datetime64[ns, " + tz + "]"
		}
		return "datetime64[ns]"
	}
	return "object"
}

// accumulator is one column's state on one worker.
type accumulator interface {
	// add ingests an array and returns the bytes of exact state it added.
	add(arr arrow.Array) (int64, error)
	// toSketch switches to sketches and returns the bytes it freed.
	toSketch() int64
	mergeFrom(o accumulator)
	finish(name string, opt Options) colResult
}

// colResult is a finished column.
type colResult struct {
	nulls  int64
	unique int64
	stats  *Statistics
	hist   *Histogram
	dist   Object[int64]
	approx *Approximation
	notes  []string
}

// newAccumulator returns the accumulator of a column; rowsHint is the rows
// this worker is expected to see (0: unknown).
func newAccumulator(f arrow.Field, seed uint64, rowsHint int64) accumulator {
	switch KindOf(f.Type) {
	case Numeric:
		switch f.Type.ID() {
		case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.UINT64:
			return newNumAcc(false, seed)
		}
		return newNumAcc(true, seed)
	case Bool:
		return &boolAcc{}
	}
	switch dt := f.Type.(type) {
	case *arrow.TimestampType:
		return newIntKeyAcc(timestampRenderer(dt), timestampCoarse(dt))
	case *arrow.Date32Type:
		return newIntKeyAcc(date32Render, date32Coarse)
	}
	a := newStrAcc()
	a.rowsHint = rowsHint
	return a
}

// budget tracks the exact state of all workers against MaxMemory and picks
// the columns to sketch when it is exceeded.
type budget struct {
	max      int64
	used     atomic.Int64
	perCol   []atomic.Int64
	sketched []atomic.Bool
	eligible []bool
	mu       sync.Mutex
}

func (b *budget) charge(col int, delta int64) {
	if b.max <= 0 || delta == 0 {
		return
	}
	b.perCol[col].Add(delta)
	if b.used.Add(delta) > b.max {
		b.shed()
	}
}

// shed marks the largest unsketched columns until the state that remains
// exact fits the budget; workers convert their own state on their next batch.
func (b *budget) shed() {
	b.mu.Lock()
	defer b.mu.Unlock()
	type col struct {
		i     int
		bytes int64
	}
	var cands []col
	remaining := b.used.Load()
	for i := range b.perCol {
		n := b.perCol[i].Load()
		if b.sketched[i].Load() {
			remaining -= n
			continue
		}
		if b.eligible[i] && n > 0 {
			cands = append(cands, col{i, n})
		}
	}
	sort.Slice(cands, func(x, y int) bool { return cands[x].bytes > cands[y].bytes })
	for _, c := range cands {
		if remaining <= b.max {
			return
		}
		b.sketched[c.i].Store(true)
		remaining -= c.bytes
	}
}

// Compute profiles the batches that scan produces. schema is the dataset's
// schema; every batch must have its columns, in its order and types. The
// caller fills Path and FileSize, which the batches do not know.
func Compute(ctx context.Context, schema *arrow.Schema, scan ScanFunc, opt Options) (*Profile, error) {
	if schema == nil {
		return nil, errors.New("profile: no schema")
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.TopK <= 0 {
		opt.TopK = 20
	}
	if opt.Bins <= 0 {
		opt.Bins = 10
	}
	fields := schema.Fields()
	ncol := len(fields)
	b := &budget{max: opt.MaxMemory, perCol: make([]atomic.Int64, ncol), sketched: make([]atomic.Bool, ncol), eligible: make([]bool, ncol)}
	for i, f := range fields {
		b.eligible[i] = KindOf(f.Type) != Bool
	}
	// Batches go to whichever worker is free, so each sees about its share.
	// Under a memory budget tables are not sized ahead: which columns are
	// sketched must not depend on the hint.
	workerRows := opt.RowsHint / int64(opt.Workers) * 9 / 8
	if opt.MaxMemory > 0 {
		workerRows = 0
	}
	accs := make([][]accumulator, opt.Workers)
	rows := make([]int64, opt.Workers)
	err := scan(ctx, opt.Workers, func(w int, rec arrow.RecordBatch) error {
		if w < 0 || w >= opt.Workers {
			return fmt.Errorf("profile: scan used worker %d of %d", w, opt.Workers)
		}
		if int(rec.NumCols()) != ncol {
			return fmt.Errorf("profile: batch has %d columns, schema has %d", rec.NumCols(), ncol)
		}
		if accs[w] == nil {
			accs[w] = make([]accumulator, ncol)
			for c, f := range fields {
				accs[w][c] = newAccumulator(f, uint64(w)<<32|uint64(c)+1, workerRows)
			}
		}
		rows[w] += rec.NumRows()
		for c, f := range fields {
			col := rec.Column(c)
			if !arrow.TypeEqual(col.DataType(), f.Type) && !dictionaryOf(col.DataType(), f.Type) {
				return fmt.Errorf("profile: column %q is %s in a batch, %s in the schema", f.Name, col.DataType(), f.Type)
			}
			acc := accs[w][c]
			if b.max > 0 && b.sketched[c].Load() {
				b.charge(c, -acc.toSketch())
			}
			grew, err := acc.add(col)
			if err != nil {
				return fmt.Errorf("profile: column %q: %w", f.Name, err)
			}
			b.charge(c, grew)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	p := &Profile{NumColumns: ncol, Schema: Schema{Columns: make([]Column, ncol)}}
	for _, r := range rows {
		p.NumRows += r
	}
	results := make([]colResult, ncol)
	sem := make(chan struct{}, opt.Workers)
	var wg sync.WaitGroup
	for c, f := range fields {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var acc accumulator
			for w := range accs {
				if accs[w] == nil {
					continue
				}
				if b.sketched[c].Load() {
					accs[w][c].toSketch()
				}
				if acc == nil {
					acc = accs[w][c]
				} else {
					acc.mergeFrom(accs[w][c])
				}
				accs[w][c] = nil
			}
			if acc == nil {
				acc = newAccumulator(f, 1, 0)
			}
			results[c] = acc.finish(f.Name, opt)
		}()
	}
	wg.Wait()

	for c, f := range fields {
		r := results[c]
		p.Schema.Columns[c] = Column{
			Name: f.Name, DType: DType(f.Type),
			Nullable: r.nulls > 0, UniqueCount: r.unique, NullCount: r.nulls,
		}
		if KindOf(f.Type) == Numeric {
			p.Statistics = append(p.Statistics, Field[*Statistics]{f.Name, r.stats})
			p.Histograms = append(p.Histograms, Field[*Histogram]{f.Name, r.hist})
		} else {
			p.Distributions = append(p.Distributions, Field[Object[int64]]{f.Name, r.dist})
		}
		if r.approx != nil {
			p.Approximate = append(p.Approximate, Field[Approximation]{f.Name, *r.approx})
		}
		p.Notes = append(p.Notes, r.notes...)
	}
	if p.Statistics == nil {
		p.Statistics = Object[*Statistics]{}
	}
	if p.Histograms == nil {
		p.Histograms = Object[*Histogram]{}
	}
	if p.Distributions == nil {
		p.Distributions = Object[Object[int64]]{}
	}
	return p, nil
}

// dictionaryOf reports whether dt is a dictionary of string values standing
// for a column of type string (see dataset.Dataset.Columns), which string
// columns count by index.
func dictionaryOf(dt, t arrow.DataType) bool {
	d, ok := dt.(*arrow.DictionaryType)
	return ok && t.ID() == arrow.STRING && arrow.TypeEqual(d.ValueType, t)
}
