package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/mldata-io/mldata/pkg/dataset"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/parallel"
	"github.com/mldata-io/mldata/pkg/split"
	"github.com/mldata-io/mldata/pkg/storage"
	"github.com/mldata-io/mldata/pkg/validate"
)

// task is one file's share of some work: the whole file, or some of its
// part groups.
type task struct {
	file    *dataset.File
	index   int    // among the build's processed files (validation locations)
	base    int    // number of the file's first part
	version string // the file's change token when planned
	// groups are ranges [first, end) of part groups to process; nil: all.
	groups [][2]int
	// ranges are the byte ranges of groups, when the plan has them (see
	// Unit.Range), in file order.
	ranges []dataset.Range
	// counted: file counts the bytes it reads (dataset.File.BytesRead).
	counted bool
}

// taskResult is what one task produced.
type taskResult struct {
	Parts  []groupPart   `json:"parts"` // in creation order
	Rows   int64         `json:"rows"`
	Nulls  []int64       `json:"nulls"`
	Strata *split.Counts `json:"strata,omitempty"`
}

// groupPart is a part and the part group it belongs to (parts of a file
// are listed group by group, in each group in creation order).
type groupPart struct {
	Group int           `json:"group"`
	Part  manifest.Part `json:"part"`
}

func (t *task) keeps(group int) bool {
	if t.groups == nil {
		return true
	}
	for _, g := range t.groups {
		if group >= g[0] && group < g[1] {
			return true
		}
	}
	return false
}

// runTasks normalizes, splits, validates and exports the rows of the tasks,
// files in parallel, each file's chunks on the cores left over. Part
// numbers come from the tasks' bases and the rows' positions, so the parts
// do not depend on which tasks run together or in what order.
func (b *builder) runTasks(ctx context.Context, src, out *storage.Location, tasks []task, sch *arrow.Schema) ([]taskResult, *validate.Validator, []*validate.Partial, error) {
	cfg := b.cfg
	assigner, err := split.NewAssigner(cfg.Split, sch)
	if err != nil {
		return nil, nil, nil, err
	}
	validator, err := validate.New(cfg.Rules, sch)
	if err != nil {
		return nil, nil, nil, err
	}
	results := make([]taskResult, len(tasks))
	if len(tasks) == 0 {
		return results, validator, nil, nil
	}
	stratified := cfg.Split.StratifyBy != ""
	keep, plain := keepDictionaries(cfg, sch)
	ext := format.Ext(cfg.OutputFormat, cfg.Compression)
	fileWorkers := min(cfg.Workers, len(tasks))
	chunkWorkers := max(1, (cfg.Workers+fileWorkers-1)/fileWorkers)
	partials := make([][]*validate.Partial, fileWorkers)
	var all []*validate.Partial
	for s := range partials {
		for w := 0; w < chunkWorkers; w++ {
			partials[s] = append(partials[s], validator.NewPartial())
			all = append(all, partials[s][w])
		}
	}
	var mu sync.Mutex // guards results
	err = parallel.ForEach(ctx, fileWorkers, len(tasks), func(slot, i int) error {
		t := &tasks[i]
		f := t.file
		if t.groups != nil {
			f.Only(func(c *format.Chunk) bool {
				_, g := partOf(c.FirstRow, cfg.Read.ChunkRows, cfg.PartRows)
				return t.keeps(g)
			})
			defer f.Only(nil)
		}
		ex := newExporter(ctx, out, sch, cfg, b.cfg.BuildID, ext, t.base, chunkWorkers)
		nulls := make([]int64, sch.NumFields())
		var strata *split.Counts
		var groups []int // group of each writer, in creation order
		scan := dataset.ScanFile[chunkResult]
		if keep {
			scan = dataset.ScanFileDictionaries[chunkResult]
		}
		// A chunk's split batches are its decoded columns, and the consumer
		// only hands them to the part writers: one waiting result per worker
		// keeps the decoders busy and holds fewer decoded chunks at once.
		err := scan(parallel.WithLookahead(ctx, 1), sch, f, t.index, cfg.Read, chunkWorkers,
			func(w int, bt dataset.Batch) (chunkResult, error) {
				rec := plainColumns(bt.Record, plain)
				bt.Record.Release()
				defer rec.Release()
				partials[slot][w].Observe(rec, f.Object.Key, t.index, bt.Chunk.FirstRow+1)
				nc := make([]int64, rec.NumCols())
				for c := range nc {
					nc[c] = int64(rec.Column(c).NullN())
				}
				parts, err := assigner.Partition(rec)
				if err != nil {
					return chunkResult{}, err
				}
				part, group := partOf(bt.Chunk.FirstRow, cfg.Read.ChunkRows, cfg.PartRows)
				r := chunkResult{part: part, group: group, rows: rec.NumRows(), nulls: nc, splits: parts}
				if stratified {
					assigned := make([]uint8, rec.NumRows())
					assigner.Assign(rec, assigned)
					r.strata = assigner.NewCounts()
					assigner.Count(r.strata, rec, assigned)
				}
				return r, nil
			},
			func(r chunkResult) error {
				b.stats.Rows.Add(r.rows)
				for c, v := range r.nulls {
					nulls[c] += v
				}
				if r.strata != nil {
					if strata == nil {
						strata = assigner.NewCounts()
					}
					if err := strata.Merge(r.strata); err != nil {
						return err
					}
				}
				before := len(ex.written)
				err := ex.write(r)
				for range len(ex.written) - before {
					groups = append(groups, r.group)
				}
				return err
			})
		_, cerr := ex.close(err != nil)
		res := taskResult{Rows: ex.rows, Nulls: nulls, Strata: strata}
		for k, w := range ex.written { // groups[k] is w's group
			if p, werr := w.wait(); werr == nil {
				res.Parts = append(res.Parts, groupPart{Group: groups[k], Part: p})
			}
		}
		mu.Lock()
		results[i] = res
		mu.Unlock()
		if err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		// A file rewritten while it was read would mix two versions: check
		// that it is still the object that was planned.
		now, err := src.Attributes(ctx, f.Object.Key)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Object.Key, err)
		}
		if now.Version() != t.version {
			return fmt.Errorf("%s changed while it was read (%s, now %s); nothing was published — run the build again", f.Object.Key, t.version, now.Version())
		}
		b.stats.FilesDone.Add(1)
		b.stats.Bytes.Add(f.Object.Size)
		if t.counted {
			b.stats.BytesRead.Add(f.BytesRead())
		} else {
			b.stats.BytesRead.Add(f.Object.Size)
		}
		return nil
	})
	return results, validator, all, err
}

// ShardResult is what one shard of a sharded build wrote for the commit.
type ShardResult struct {
	BuildID string `json:"build_id"`
	Shard   int    `json:"shard"`
	Shards  int    `json:"shards"`
	// Plan is the SHA-256 of the plan the shard ran.
	Plan string `json:"plan"`
	// Units are the plan's units this shard processed, and Results what
	// each of the shard's files gave (Files[k] is Results[k]'s file).
	Units   []int        `json:"units"`
	Files   []int        `json:"files"`
	Results []taskResult `json:"results"`
	// Validation holds the encoded validation state of the shard's rows.
	Validation [][]byte `json:"validation,omitempty"`
	// Error is set when the shard failed: what failed, naming the file.
	Error     string `json:"error,omitempty"`
	ProcessMS int64  `json:"process_ms"`
	// BytesRead is how many source bytes the shard read from the store:
	// its files' ranges (and headers) and, for Parquet, the footers and
	// column chunks it decoded; whole files it processes whole.
	BytesRead int64 `json:"bytes_read"`
}

// RunShard runs shard i (0-based) of n of a planned build (cfg.BuildID) and
// writes its result to the staging area. A shard run again overwrites its
// result; parts it writes again are the same bytes. On failure it records
// the error for the commit, best effort, and returns it.
func RunShard(ctx context.Context, cfg Config, i, n int) (*ShardResult, error) {
	if n < 1 || n > MaxShards || i < 0 || i >= n {
		return nil, fmt.Errorf("shard %d/%d: use I/N with 0 <= I < N <= %d", i, n, MaxShards)
	}
	b, out, sp, err := openPlanned(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	b.start = b.now()
	if sp.Shards != n {
		return nil, fmt.Errorf("build %s was planned for %d shards, not %d", sp.BuildID, sp.Shards, n)
	}
	res := &ShardResult{BuildID: sp.BuildID, Shard: i, Shards: n, Plan: sp.digest, Units: Assign(sp.Units, n)[i]}
	err = b.shard(ctx, sp, res)
	res.ProcessMS = ms(b.now().Sub(b.start))
	if err != nil {
		res.Error, res.Results, res.Validation = err.Error(), nil, nil
	}
	data, merr := json.Marshal(res)
	if merr == nil {
		merr = out.WriteFile(ctx, ShardResultKey(sp.BuildID, i, n), data)
	}
	if err != nil {
		return res, fmt.Errorf("shard %d of %d: %w", i, n, err)
	}
	if merr != nil {
		return nil, fmt.Errorf("shard %d of %d: write its result: %w", i, n, merr)
	}
	return res, nil
}

func (b *builder) shard(ctx context.Context, sp *ShardPlan, res *ShardResult) error {
	cfg := b.cfg
	sch, err := decodeSchema(sp.Schema)
	if err != nil {
		return err
	}
	src, err := storage.Open(ctx, cfg.Source)
	if err != nil {
		return err
	}
	defer src.Close()
	out, err := storage.OpenOutput(ctx, cfg.Output)
	if err != nil {
		return err
	}
	defer out.Close()
	// The shard's units, grouped by file (in plan order).
	byFile := map[int]*task{}
	for _, u := range res.Units {
		if u < 0 || u >= len(sp.Units) {
			return fmt.Errorf("the plan of build %s is damaged: no unit %d", sp.BuildID, u)
		}
		un := sp.Units[u]
		t := byFile[un.File]
		if t == nil {
			pf := sp.Files[un.File]
			t = &task{index: pf.Index, base: pf.Base, version: pf.Version, groups: [][2]int{}}
			byFile[un.File] = t
			res.Files = append(res.Files, un.File)
		}
		t.groups = append(t.groups, [2]int{un.FirstGroup, un.EndGroup})
		if un.Range != nil {
			t.ranges = append(t.ranges, *un.Range)
		}
	}
	sort.Ints(res.Files)
	// A shard with every unit of a file processes the file whole.
	units := map[int]int{} // file → its number of units in the plan
	for _, u := range sp.Units {
		units[u.File]++
	}
	tasks := make([]task, len(res.Files))
	for k, fi := range res.Files {
		t := byFile[fi]
		if len(t.groups) == units[fi] {
			t.groups, t.ranges = nil, nil
		}
		if len(t.ranges) != len(t.groups) {
			t.ranges = nil // some units have no byte range: read from the start
		}
		t.ranges = joinRanges(t.ranges)
		t.counted = true
		tasks[k] = *t
	}
	b.stats.setStage("open")
	b.stats.FilesTotal.Store(int64(len(tasks)))
	err = parallel.ForEach(ctx, max(1, min(cfg.Workers, len(tasks))), len(tasks), func(_, k int) error {
		pf := sp.Files[res.Files[k]]
		now, err := src.Attributes(ctx, pf.Key)
		if err != nil {
			return fmt.Errorf("%s: %w", pf.Key, err)
		}
		if now.Version() != pf.Version {
			return fmt.Errorf("%s changed since the build was planned (%s, now %s); nothing was published — plan the build again", pf.Key, pf.Version, now.Version())
		}
		opt := dataset.Options{Format: pf.Kind, Read: cfg.Read, ScratchDir: cfg.ScratchDir}
		var f *dataset.File
		switch t := &tasks[k]; {
		case t.ranges != nil:
			// Only the ranges' bytes (and the header) are read.
			f, err = dataset.OpenRanges(ctx, src, now, opt, pf.Head, t.ranges)
		case t.groups != nil && pf.Kind == format.Parquet:
			// The footer, then the column chunks of the groups' row groups.
			f, err = dataset.OpenRanges(ctx, src, now, opt, 0, nil)
		default:
			// The whole file (or a compressed text file, read from its start).
			f, err = dataset.OpenFile(ctx, src, now, opt)
		}
		if err != nil {
			return err
		}
		if f.SHA256 != "" && f.SHA256 != pf.SHA256 {
			f.Close()
			return fmt.Errorf("%s changed since the build was planned (its SHA-256 is now %s); nothing was published — plan the build again", pf.Key, f.SHA256)
		}
		tasks[k].file = f
		return nil
	})
	defer func() {
		for _, t := range tasks {
			if t.file != nil {
				t.file.Close()
			}
		}
	}()
	if err != nil {
		return err
	}
	b.stats.setStage("process")
	// Parts of a failed shard stay: its retry writes the same bytes under
	// the same names, and deleting them could race with that retry.
	// Nothing names them unless a commit publishes them; pruning removes
	// those of a build that is never published.
	results, _, partials, err := b.runTasks(ctx, src, out, tasks, sch)
	for _, t := range tasks {
		res.BytesRead += t.file.BytesRead()
	}
	if err != nil {
		return err
	}
	res.Results = results
	for _, p := range partials {
		data, err := p.MarshalBinary()
		if err != nil {
			return err
		}
		res.Validation = append(res.Validation, data)
	}
	b.stats.setStage("done")
	return nil
}

// joinRanges sorts byte ranges and joins those that touch, so that a shard
// given consecutive units of a file reads them in one request.
func joinRanges(rs []dataset.Range) []dataset.Range {
	if len(rs) == 0 {
		return nil
	}
	sort.Slice(rs, func(a, b int) bool { return rs[a].From.Offset < rs[b].From.Offset })
	out := []dataset.Range{rs[0]}
	for _, r := range rs[1:] {
		if last := &out[len(out)-1]; last.End == r.From.Offset {
			last.End = r.End
			continue
		}
		out = append(out, r)
	}
	return out
}
