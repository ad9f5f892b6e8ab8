package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/mldata-io/mldata/pkg/dataset"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/storage"
)

// A sharded build runs in three phases, each its own process (a pod, a
// task of a workflow, a line of a shell loop), sharing nothing but the
// output location:
//
//  1. Plan (PlanShards) lists the source, compares it with the published
//     build, inspects the new and changed files once (schema, rows,
//     SHA-256), unifies the schema and cuts the work into units; it writes
//     all of that to staging/<build id>/plan.json before any shard starts.
//  2. Shard i of n (RunShard) takes the units the plan's deterministic
//     assignment gives it, decodes them with the plan's schema, splits and
//     exports their rows, and writes its result (parts, row and null
//     counts, validation state) to staging/<build id>/shard-i-of-n.json.
//  3. Commit (Commit) gathers the n results, checks the validation rules
//     and the schema policy across all of them, writes the manifest and
//     publishes with the same claim and pointer as a one-process build.
//
// Part files never depend on n: a unit is a whole file or a run of whole
// part groups of one file (see partOf), part numbers come from the plan,
// and a part is written by exactly one unit, with the rows of the same
// chunks as in a one-process build. The published parts of shards = 1, 2
// or 7 are the same bytes as Build's.

// DefaultRangeBytes is the size above which a source file is cut into
// ranges processed by different shards.
const DefaultRangeBytes = 256 << 20

// MaxShards bounds the shards of one build.
const MaxShards = 1024

// StagingDir is where the phases of a sharded build exchange their plan and
// results, under the output location. Commit deletes a build's folder once
// the build is published.
func StagingDir(buildID string) string { return path.Join("staging", buildID) }

// PlanKey is the key of a sharded build's plan.
func PlanKey(buildID string) string { return path.Join(StagingDir(buildID), "plan.json") }

// ShardResultKey is the key of shard i's result (0-based i of n shards).
func ShardResultKey(buildID string, i, n int) string {
	return path.Join(StagingDir(buildID), fmt.Sprintf("shard-%05d-of-%05d.json", i, n))
}

// shardPlanVersion is the version of the plan's JSON layout.
const shardPlanVersion = 1

// ShardPlan is what the plan phase decided, for the shards and the commit.
type ShardPlan struct {
	FormatVersion int       `json:"format_version"`
	BuildID       string    `json:"build_id"`
	CreatedAt     time.Time `json:"created_at"`
	ConfigHash    string    `json:"config_hash"`
	Source        string    `json:"source"`
	Shards        int       `json:"shards"`
	// Pointer is the publish pointer the plan started from: the commit
	// publishes the next generation, or fails if another build did first.
	Pointer *manifest.Pointer `json:"pointer,omitempty"`
	// PreviousDamaged: the published build's manifest could not be read, so
	// nothing is reused and the schema history restarts.
	PreviousDamaged bool   `json:"previous_damaged,omitempty"`
	Plan            *Plan  `json:"plan"`
	Reuse           *Reuse `json:"reuse"`
	// Schema is the unified, normalized schema every shard decodes with
	// (an Arrow IPC schema message).
	Schema []byte `json:"schema"`
	// Files are every source file, in key order.
	Files []PlanFile `json:"files"`
	// Units are the pieces of work, in (file, range) order.
	Units   []Unit `json:"units"`
	ListMS  int64  `json:"list_ms"`
	InferMS int64  `json:"infer_ms"`

	// digest is the SHA-256 of the plan as stored: shards record it, so
	// that the commit never mixes results of two plans of one build id.
	digest string
}

// PlanFile is one source file of a sharded build.
type PlanFile struct {
	Key     string    `json:"key"`
	Size    int64     `json:"size"`
	ETag    string    `json:"etag,omitempty"`
	MD5     string    `json:"md5,omitempty"`
	ModTime time.Time `json:"mod_time"`
	// Version is the listing's change token (storage.Object.Version).
	Version string      `json:"version"`
	SHA256  string      `json:"sha256"`
	Rows    int64       `json:"rows"`
	Kind    format.Kind `json:"kind,omitempty"`
	// Schema is the file's own inferred schema (Arrow IPC), for the manifest.
	Schema []byte `json:"schema,omitempty"`
	// Index is the file's position among the processed files (validation
	// samples are located by it); -1 for a reused file.
	Index int `json:"index"`
	// Base is the number of the file's first part.
	Base int `json:"base"`
	// Head is the number of bytes before the file's first chunk (a CSV
	// file's header), which a shard reading a range of the file reads
	// too; 0 for files whose units have no byte ranges.
	Head int64 `json:"head,omitempty"`
	// Reused is the published build's entry of a file whose parts are reused.
	Reused *manifest.SourceFile `json:"reused,omitempty"`
}

// Unit is a file, or a run of its part groups [FirstGroup, EndGroup).
type Unit struct {
	File       int   `json:"file"`
	FirstGroup int   `json:"first_group"`
	EndGroup   int   `json:"end_group"`
	Bytes      int64 `json:"bytes"` // source bytes (estimated without a range), for balancing
	// Range, for a unit of an uncompressed CSV or JSONL file that is not
	// the whole file: where the unit's first chunk starts and the byte
	// where its last chunk ends. A shard reads only those bytes (and the
	// file's Head).
	Range *dataset.Range `json:"range,omitempty"`
}

// ShardOptions shape a sharded build's plan.
type ShardOptions struct {
	// Shards is the number of shards (1–MaxShards).
	Shards int
	// RangeBytes: files larger than this are cut into ranges of whole part
	// groups of about this size; 0 means DefaultRangeBytes. It changes
	// which shard does what, never the parts.
	RangeBytes int64
}

// PlanResult is what the plan phase did.
type PlanResult struct {
	// Plan is the incremental plan (what changed).
	Plan *Plan
	// Shard is the written plan; nil when the output is up to date or on a
	// dry run.
	Shard *ShardPlan
	// Manifest is the published build's when UpToDate.
	Manifest *manifest.Manifest
	UpToDate bool
}

// PlanShards runs the plan phase of a sharded build and writes the plan to
// the output's staging area. cfg.BuildID names the build ("" generates one,
// returned in the plan); the shards and the commit must be given the same
// settings and build id.
func PlanShards(ctx context.Context, cfg Config, opt ShardOptions) (*PlanResult, error) {
	if opt.Shards < 1 || opt.Shards > MaxShards {
		return nil, fmt.Errorf("shards %d: use 1 to %d", opt.Shards, MaxShards)
	}
	if opt.RangeBytes <= 0 {
		opt.RangeBytes = DefaultRangeBytes
	}
	b, err := newBuilder(cfg)
	if err != nil {
		return nil, err
	}
	f, err := b.fetch(ctx)
	if err != nil {
		return nil, err
	}
	defer f.close()
	cfg = b.cfg
	src, out, objs, ptr, prev, prevErr := f.src, f.out, f.objs, f.ptr, f.prev, f.prevErr
	res := &PlanResult{Plan: f.plan}
	if res.Plan.UpToDate {
		res.Manifest, res.UpToDate = prev, true
		return res, nil
	}
	if cfg.DryRun {
		return res, nil
	}
	listMS := ms(b.now().Sub(b.start))
	damaged := prevErr != nil
	if damaged {
		prev = nil
	}
	w, err := b.prepare(ctx, src, out, objs, prev, res.Plan)
	if err != nil {
		return nil, err
	}
	defer w.close()
	sp, err := b.shardPlan(w, ptr, opt)
	if err != nil {
		return nil, err
	}
	sp.Plan, sp.PreviousDamaged, sp.ListMS = res.Plan, damaged, listMS
	sp.InferMS = ms(b.now().Sub(b.start)) - listMS
	data, err := json.Marshal(sp)
	if err != nil {
		return nil, err
	}
	if err := out.WriteFile(ctx, PlanKey(cfg.BuildID), data); err != nil {
		return nil, fmt.Errorf("write the plan: %w", err)
	}
	res.Shard = sp
	b.stats.setStage("planned")
	return res, nil
}

// shardPlan turns the inspected work into files and units.
func (b *builder) shardPlan(w *work, ptr *manifest.Pointer, opt ShardOptions) (*ShardPlan, error) {
	cfg := b.cfg
	sch, err := encodeSchema(w.schema)
	if err != nil {
		return nil, err
	}
	sp := &ShardPlan{
		FormatVersion: shardPlanVersion, BuildID: cfg.BuildID, CreatedAt: b.start.UTC(),
		ConfigHash: configHash(cfg), Source: cfg.Source, Shards: opt.Shards, Pointer: ptr,
		Reuse: w.reuse, Schema: sch,
	}
	processed := map[string]*dataset.File{}
	for _, f := range w.process {
		processed[f.Object.Key] = f
	}
	groupRows := int64(Stripes) * max(1, cfg.PartRows/int64(cfg.Read.ChunkRows)) * int64(cfg.Read.ChunkRows)
	next, base := 0, 0
	for _, o := range w.objs {
		if r, ok := w.reused[o.Key]; ok {
			r := r
			sp.Files = append(sp.Files, PlanFile{Key: o.Key, Size: o.Size, ETag: o.ETag, MD5: o.MD5, ModTime: o.ModTime, Version: o.Version(),
				SHA256: r.SHA256, Rows: r.Rows, Index: -1, Reused: &r})
			continue
		}
		f := processed[o.Key]
		own, err := encodeSchema(f.Schema)
		if err != nil {
			return nil, err
		}
		fi := len(sp.Files)
		sp.Files = append(sp.Files, PlanFile{Key: o.Key, Size: f.Object.Size, ETag: f.Object.ETag, MD5: f.Object.MD5, ModTime: f.Object.ModTime, Version: f.Object.Version(),
			SHA256: f.SHA256, Rows: f.Rows, Kind: f.Kind, Schema: own, Index: next, Base: base})
		next++
		base += partsOf(f.Rows, cfg.Read.ChunkRows, cfg.PartRows)
		units := cutUnits(fi, f.Object.Size, f.Rows, groupRows, opt.RangeBytes)
		if len(units) > 1 && setRanges(units, f.Cuts(), f.Object.Size, cfg.Read.ChunkRows, cfg.PartRows) {
			sp.Files[fi].Head = f.Cuts()[0].Offset
		}
		sp.Units = append(sp.Units, units...)
	}
	return sp, nil
}

// setRanges gives each unit of one file the byte range of its part groups,
// from the cuts inspection recorded: a unit starts at the first chunk of
// its first group and ends where the first chunk of the next unit starts
// (or at the end of the file). Chunks start records outside quotes, so
// every range starts at a record, whatever the file's quoted newlines.
// It returns false, leaving the units as they are, when the file has no
// cuts (a compressed or Parquet file) or they do not cover the units.
func setRanges(units []Unit, cuts []format.Cut, size int64, chunkRows int, partRows int64) bool {
	if len(cuts) == 0 {
		return false
	}
	// first returns the index of the first cut in a group >= g.
	first := func(g int) int {
		return sort.Search(len(cuts), func(i int) bool {
			_, cg := partOf(cuts[i].Row, chunkRows, partRows)
			return cg >= g
		})
	}
	ranges := make([]dataset.Range, len(units))
	for k, u := range units {
		i, j := first(u.FirstGroup), first(u.EndGroup)
		if i >= j {
			return false
		}
		end := size
		if j < len(cuts) {
			end = cuts[j].Offset
		}
		ranges[k] = dataset.Range{From: cuts[i], End: end}
	}
	for k := range units {
		units[k].Range = &ranges[k]
		units[k].Bytes = ranges[k].End - ranges[k].From.Offset
	}
	return true
}

// cutUnits cuts a file of size bytes and rows rows into units of whole
// part groups (groupRows rows each) of about rangeBytes.
func cutUnits(file int, size, rows, groupRows, rangeBytes int64) []Unit {
	groups := int((rows + groupRows - 1) / groupRows)
	if groups <= 1 || size <= rangeBytes {
		return []Unit{{File: file, FirstGroup: 0, EndGroup: max(groups, 1), Bytes: size}}
	}
	perGroup := max(1, size/int64(groups))
	per := int(max(1, rangeBytes/perGroup))
	var us []Unit
	for g := 0; g < groups; g += per {
		end := min(groups, g+per)
		us = append(us, Unit{File: file, FirstGroup: g, EndGroup: end, Bytes: perGroup * int64(end-g)})
	}
	return us
}

// Assign gives each of n shards its units: the largest unit first, each to
// the least loaded shard (the lowest-numbered on a tie). It depends only on
// the units and n, so every shard computes the same assignment. Each
// shard's units are in plan order.
func Assign(units []Unit, n int) [][]int {
	order := make([]int, len(units))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return units[order[a]].Bytes > units[order[b]].Bytes })
	load := make([]int64, n)
	out := make([][]int, n)
	for _, u := range order {
		best := 0
		for s := 1; s < n; s++ {
			if load[s] < load[best] {
				best = s
			}
		}
		load[best] += max(1, units[u].Bytes)
		out[best] = append(out[best], u)
	}
	for s := range out {
		sort.Ints(out[s])
	}
	return out
}

// openPlanned starts a shard or the commit of a planned build: the
// builder for cfg, the output location (the caller closes it) and the plan,
// checked against cfg's settings.
func openPlanned(ctx context.Context, cfg Config) (*builder, *storage.Location, *ShardPlan, error) {
	b, err := newBuilder(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	out, err := storage.OpenOutput(ctx, b.cfg.Output)
	if err != nil {
		return nil, nil, nil, err
	}
	sp, err := ReadPlan(ctx, out, b.cfg.BuildID)
	if err == nil {
		err = sp.check(b.cfg)
	}
	if err != nil {
		out.Close()
		return nil, nil, nil, err
	}
	return b, out, sp, nil
}

// ReadPlan reads a sharded build's plan from the output location.
func ReadPlan(ctx context.Context, out *storage.Location, buildID string) (*ShardPlan, error) {
	if buildID == "" {
		return nil, errors.New("no build id: give the build id the plan printed (--build-id)")
	}
	data, err := out.ReadFile(ctx, PlanKey(buildID))
	if storage.IsNotExist(err) {
		return nil, fmt.Errorf("%s: build %s has no plan (%s): run the plan phase first; if it said the output is up to date, there is nothing to run (and a committed build's plan is deleted)", out, buildID, PlanKey(buildID))
	}
	if err != nil {
		return nil, fmt.Errorf("read the plan of build %s: %w", buildID, err)
	}
	var sp ShardPlan
	if err := json.Unmarshal(data, &sp); err != nil {
		return nil, fmt.Errorf("%s: the plan is damaged: %w", PlanKey(buildID), err)
	}
	if sp.FormatVersion != shardPlanVersion || sp.BuildID != buildID {
		return nil, fmt.Errorf("%s: not a plan of build %s in format %d", PlanKey(buildID), buildID, shardPlanVersion)
	}
	sum := sha256.Sum256(data)
	sp.digest = hex.EncodeToString(sum[:])
	return &sp, nil
}

// object is the listing entry the plan was made from.
func (pf *PlanFile) object() storage.Object {
	return storage.Object{Key: pf.Key, Size: pf.Size, ETag: pf.ETag, MD5: pf.MD5, ModTime: pf.ModTime}
}

// check refuses to run a phase with other settings than the plan's.
func (sp *ShardPlan) check(cfg Config) error {
	if sp.ConfigHash != configHash(cfg) || sp.Source != cfg.Source {
		return fmt.Errorf("build %s was planned with other settings (source or build options differ); give every phase the same settings", sp.BuildID)
	}
	return nil
}

func encodeSchema(s *arrow.Schema) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(s))
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode schema: %w", err)
	}
	return buf.Bytes(), nil
}

func decodeSchema(data []byte) (*arrow.Schema, error) {
	r, err := ipc.NewReader(bytes.NewReader(data), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, fmt.Errorf("decode schema: %w", err)
	}
	defer r.Release()
	return r.Schema(), nil
}
