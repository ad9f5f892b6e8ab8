// Package pipeline runs a dataset build: fetch → normalize → split → validate
// → export, over chunks of rows processed in parallel and merged in order, so
// that the output files are byte-identical whatever the worker count, and
// memory is bounded by chunk size × workers rather than by the dataset.
package pipeline

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/mldata-io/mldata/pkg/dataset"
	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/schema"
	"github.com/mldata-io/mldata/pkg/split"
	"github.com/mldata-io/mldata/pkg/storage"
	"github.com/mldata-io/mldata/pkg/validate"
)

// OnFailure values for validation.
const (
	OnFailureFail = "Fail"
	OnFailureWarn = "Warn"
)

// DefaultPartRows is the number of source rows that go into one part file
// (per split) when Config.PartRows is 0.
const DefaultPartRows = 1 << 20

// Config is everything a build needs.
type Config struct {
	Source  string
	Include []string
	// Format of the source files; "" detects each file's format from its name.
	Format format.Kind
	Read   format.Options

	Output       string
	OutputFormat format.Kind
	Compression  format.Compression

	Split        split.Spec
	Rules        []validate.Rule
	OnFailure    string // OnFailureFail (default) or OnFailureWarn
	SchemaPolicy schema.Policy
	// SplitCheck configures the split integrity check (splitcheck.go).
	SplitCheck SplitCheck
	// Gate, when set, compares the build with a baseline before it is
	// published (gate.go).
	Gate *Gate

	// Workers is the number of goroutines; 0 means all cores.
	Workers int
	// PartRows is about the number of source rows per part file (see
	// Stripes); rounded up to a multiple of the chunk size. 0 means
	// DefaultPartRows.
	PartRows int64
	// Full processes every file even when an incremental rebuild could
	// reuse earlier parts.
	Full bool
	// DryRun stops after planning: nothing is read or written.
	DryRun bool
	// HistoryLimit keeps this many published builds (0 keeps all).
	HistoryLimit int
	// HistoryGrace keeps replaced builds this long beyond the history
	// limit, so that readers of the build just replaced can finish (see
	// Prune). 0 means DefaultHistoryGrace; NoHistoryGrace keeps none.
	HistoryGrace time.Duration
	// storeRetry governs publish writes whose outcome is unknown; zero
	// means storage.DefaultRetry (tests shorten it).
	storeRetry storage.Retry
	// OnPlan, when set, is called with the plan before any data is read.
	OnPlan func(*Plan)
	// BuildID names the build; "" generates one from the start time.
	BuildID    string
	ScratchDir string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Stats, when set, is updated as the build runs (for progress displays).
	Stats *Stats

	// afterInspect, when set, runs between the inspection and the
	// processing of the sources (tests use it to change a file mid-build).
	afterInspect func()
}

// Stats are live counters of a running build. Read them with the atomic
// methods from another goroutine.
type Stats struct {
	stage      atomic.Value // string
	FilesTotal atomic.Int64
	FilesDone  atomic.Int64
	Rows       atomic.Int64
	Bytes      atomic.Int64 // source bytes processed
	// BytesRead counts source bytes read, by inspection and processing.
	BytesRead atomic.Int64
}

// Stage is the stage the build is in.
func (s *Stats) Stage() string {
	v, _ := s.stage.Load().(string)
	return v
}

func (s *Stats) setStage(v string) { s.stage.Store(v) }

// ValidationError is returned when validation rules fail and OnFailure is Fail.
type ValidationError struct {
	Failed []validate.Result
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Failed))
	for i, r := range e.Failed {
		msgs[i] = "  - " + r.Message
	}
	return fmt.Sprintf("validation failed (%d rule(s)); nothing was published:\n%s", len(e.Failed), strings.Join(msgs, "\n"))
}

// Result is what a build did.
type Result struct {
	// Manifest is the published build's (the previous one when UpToDate).
	Manifest *manifest.Manifest
	Plan     *Plan
	Reuse    *Reuse
	// UpToDate: nothing changed, nothing was read or published.
	UpToDate bool
	// Pruned lists the builds deleted by the history limit.
	Pruned []string
	// GateReport is the publish gate's drift report (nil without a gate or
	// when it had nothing to compare).
	GateReport *drift.Report
	// Warnings are problems that did not stop the build from being
	// published (latest.json left behind the claim, pruning failed).
	Warnings []string
}

// Build runs a build and publishes it. On an error nothing is published and
// the previous build (if any) stays the published one, with one exception:
// an error wrapping manifest.ErrUnknownOutcome says that the store could not
// tell whether the build's claim was made; the build is then complete and
// may be the published one, and its files are kept (see manifest.Publish).
// A build that is published returns a Result and no error; problems after
// publishing (latest.json not updated, pruning failed) are Result.Warnings.
func Build(ctx context.Context, cfg Config) (*Result, error) {
	b, err := newBuilder(cfg)
	if err != nil {
		return nil, err
	}
	return b.run(ctx)
}

type builder struct {
	cfg   Config
	now   func() time.Time
	stats *Stats
	start time.Time
	m     *manifest.Manifest
}

func newBuilder(cfg Config) (*builder, error) {
	if cfg.Source == "" {
		return nil, errors.New("no source: set --source to a file, folder or bucket URL")
	}
	if cfg.Output == "" {
		return nil, errors.New("no output: set --output to a folder or bucket URL")
	}
	if err := cfg.Split.Validate(); err != nil {
		return nil, err
	}
	if cfg.OutputFormat == "" {
		cfg.OutputFormat = format.Parquet
	}
	if cfg.Compression == "" {
		if cfg.OutputFormat == format.Parquet {
			cfg.Compression = format.Snappy
		} else {
			cfg.Compression = format.None
		}
	}
	switch cfg.OnFailure {
	case "":
		cfg.OnFailure = OnFailureFail
	case OnFailureFail, OnFailureWarn:
	default:
		return nil, fmt.Errorf("onFailure %q: use %s or %s", cfg.OnFailure, OnFailureFail, OnFailureWarn)
	}
	if cfg.SchemaPolicy == "" {
		cfg.SchemaPolicy = schema.AllowAdditive
	}
	if err := cfg.Gate.validate(); err != nil {
		return nil, err
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Read.ChunkRows <= 0 {
		cfg.Read.ChunkRows = format.DefaultChunkRows
	}
	if cfg.PartRows <= 0 {
		cfg.PartRows = DefaultPartRows
	}
	chunk := int64(cfg.Read.ChunkRows)
	cfg.PartRows = (cfg.PartRows + chunk - 1) / chunk * chunk
	b := &builder{cfg: cfg, now: cfg.Now, stats: cfg.Stats}
	if b.now == nil {
		b.now = time.Now
	}
	if b.stats == nil {
		b.stats = &Stats{}
	}
	return b, nil
}

// fetched is what a build and a sharded build's plan start from: the
// source's listing and the published build.
type fetched struct {
	src, out *storage.Location
	objs     []storage.Object // the source's files, sorted by key
	ptr      *manifest.Pointer
	prev     *manifest.Manifest
	prevErr  error // the published manifest is damaged (the pointer was read)
	// plan is what changed since the published build.
	plan *Plan
}

func (f *fetched) close() {
	_ = f.src.Close() // read only: nothing is lost
	_ = f.out.Close()
}

// fetch starts a build: it sets the start time and the build id, lists
// the source, reads the published build and plans against it (calling
// OnPlan; an up-to-date output ends the build's stages).
func (b *builder) fetch(ctx context.Context) (*fetched, error) {
	cfg := b.cfg
	b.start = b.now()
	if cfg.BuildID == "" {
		b.cfg.BuildID = manifest.NewBuildID(b.start, randomSuffix())
	}
	b.stats.setStage("list")
	src, err := storage.Open(ctx, cfg.Source)
	if err != nil {
		return nil, err
	}
	objs, err := src.List(ctx, cfg.Include)
	if err != nil {
		src.Close()
		return nil, err
	}
	if len(objs) == 0 {
		src.Close()
		return nil, fmt.Errorf("source %s: no files match (include %v); check the URI and --include", src, cfg.Include)
	}
	out, err := storage.OpenOutput(ctx, cfg.Output)
	if err != nil {
		src.Close()
		return nil, err
	}
	f := &fetched{src: src, out: out, objs: objs}
	f.ptr, f.prev, f.prevErr = manifest.ReadLatest(ctx, out)
	if errors.Is(f.prevErr, manifest.ErrNoBuild) {
		f.ptr, f.prev, f.prevErr = nil, nil, nil
	}
	if f.prevErr != nil && f.ptr == nil {
		f.close()
		return nil, f.prevErr // the store itself failed
	}
	f.plan = plan(objs, f.prev, f.prevErr, configHash(b.cfg), !cfg.Full)
	if cfg.OnPlan != nil {
		cfg.OnPlan(f.plan)
	}
	if f.plan.UpToDate {
		b.stats.setStage("done")
	}
	return f, nil
}

func (b *builder) run(ctx context.Context) (*Result, error) {
	// Fetch: list the source and compare with the published build.
	f, err := b.fetch(ctx)
	if err != nil {
		return nil, err
	}
	defer f.close()
	cfg := b.cfg
	src, out, objs, ptr, prev, prevErr := f.src, f.out, f.objs, f.ptr, f.prev, f.prevErr
	res := &Result{Plan: f.plan}
	if res.Plan.UpToDate {
		res.Manifest, res.UpToDate = prev, true
		return res, nil
	}
	if cfg.DryRun {
		return res, nil
	}
	m := b.newManifest()
	m.Timings.ListMS = ms(b.now().Sub(b.start))
	if prevErr != nil {
		prev = nil // a damaged manifest: build from scratch, history restarts
	}

	w, err := b.prepare(ctx, src, out, objs, prev, res.Plan)
	if err != nil {
		return nil, err
	}
	defer w.close()
	res.Reuse = w.reuse
	if cfg.afterInspect != nil {
		cfg.afterInspect()
	}
	tInfer := b.now()
	m.Timings.InferMS = ms(tInfer.Sub(b.start)) - m.Timings.ListMS

	// Normalize, split, validate and export the files that need it.
	b.stats.setStage("process")
	proc, err := b.process(ctx, src, out, w.process, w.schema)
	if err != nil {
		b.discard(out, proc)
		return nil, err
	}
	if err := b.validateReused(ctx, out, w, proc); err != nil {
		b.discard(out, proc)
		return nil, err
	}
	m.Timings.ProcessMS = ms(b.now().Sub(tInfer))

	if err := b.finish(w, proc, prev); err != nil {
		b.discard(out, proc)
		return nil, err
	}
	return b.publish(ctx, out, ptr, prev, proc, res)
}

// publish checks a finished build (split integrity, the publish gate),
// publishes its manifest (b.m) behind the pointer ptr it started from and
// prunes old builds: the last step of a one-process build and of a sharded
// build's commit. A failed check discards the build's parts; nothing is
// published.
func (b *builder) publish(ctx context.Context, out *storage.Location, ptr *manifest.Pointer, prev *manifest.Manifest, proc *processed, res *Result) (*Result, error) {
	cfg, m := b.cfg, b.m
	if err := b.checkSplits(ctx, res); err != nil {
		b.discard(out, proc)
		return nil, err
	}
	if err := b.gate(ctx, out, prev, res); err != nil {
		b.discard(out, proc)
		return nil, err
	}

	// Publish: the manifest, the generation claim, then the pointer, last.
	b.stats.setStage("publish")
	tPub := b.now()
	m.Timings.TotalMS = ms(tPub.Sub(b.start))
	p, err := manifest.PublishWith(ctx, out, m, ptr, manifest.PublishOptions{Now: b.now(), Retry: cfg.storeRetry})
	switch {
	case p != nil && err != nil:
		res.Warnings = append(res.Warnings, err.Error())
	case errors.Is(err, manifest.ErrConflict):
		b.discard(out, proc) // another build's claim: nothing can name these parts
		return nil, err
	case err != nil:
		// The claim may have been made: the parts stay, and pruning
		// removes them if no claim names the build.
		return nil, err
	}
	m.Timings.PublishMS = ms(b.now().Sub(tPub))
	res.Manifest = m
	if cfg.HistoryLimit > 0 {
		b.stats.setStage("prune")
		grace := cfg.HistoryGrace
		switch {
		case grace == 0:
			grace = DefaultHistoryGrace
		case grace < 0:
			grace = 0
		}
		if res.Pruned, err = Prune(ctx, out, PruneOptions{Keep: cfg.HistoryLimit, Grace: grace, Now: b.now()}); err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("build %s is published, but pruning old builds failed: %v", m.BuildID, err))
		}
	}
	b.stats.setStage("done")
	return res, nil
}

func (b *builder) newManifest() *manifest.Manifest {
	cfg := b.cfg
	m := &manifest.Manifest{
		FormatVersion: manifest.FormatVersion,
		BuildID:       cfg.BuildID,
		CreatedAt:     b.start.UTC(),
		ConfigHash:    configHash(cfg),
		Source:        manifest.Source{URI: cfg.Source, Format: string(cfg.Format), Include: cfg.Include},
		Output:        manifest.Output{URI: cfg.Output, Format: string(cfg.OutputFormat), Compression: string(cfg.Compression)},
		Split:         splitSettings(cfg.Split),
		Validation:    manifest.Validation{OnFailure: cfg.OnFailure, Passed: true},
	}
	if m.Source.Format == "" {
		m.Source.Format = "auto"
	}
	b.m = m
	return m
}

// work is the set of source files of a build, split into those to process
// and those whose earlier parts are reused.
type work struct {
	objs    []storage.Object // every source file, sorted by key
	schema  *arrow.Schema    // the unified, normalized schema
	process []*dataset.File  // in key order
	reused  map[string]manifest.SourceFile
	opened  []*dataset.File // every inspected file (to close)
	reuse   *Reuse
}

// close closes the source files the build opened; they were only read, so
// an error closing them loses nothing.
func (w *work) close() { _ = dataset.CloseFiles(w.opened) }

// prepare reads the new and changed files (inferring, counting, hashing),
// decides which unchanged files' parts can be reused, and unifies the schema.
func (b *builder) prepare(ctx context.Context, src, out *storage.Location, objs []storage.Object, prev *manifest.Manifest, p *Plan) (*work, error) {
	b.stats.setStage("infer")
	w := &work{objs: objs, reused: map[string]manifest.SourceFile{}, reuse: &Reuse{Rebuilt: map[string]string{}}}
	before := map[string]manifest.SourceFile{}
	if prev != nil && !p.Full {
		for _, f := range prev.Source.Files {
			before[f.Key] = f
		}
	}
	byKey := map[string]storage.Object{}
	for _, o := range objs {
		byKey[o.Key] = o
	}
	inspected := map[string]*dataset.File{}
	inspect := func(keys []string) error {
		var todo []storage.Object
		for _, k := range keys {
			if inspected[k] == nil {
				todo = append(todo, byKey[k])
			}
		}
		if len(todo) == 0 {
			return nil
		}
		b.stats.FilesTotal.Add(int64(len(todo)))
		files, err := dataset.Inspect(ctx, src, todo, dataset.Options{Format: b.cfg.Format, Read: b.cfg.Read, ScratchDir: b.cfg.ScratchDir, Workers: b.cfg.Workers})
		if err != nil {
			return err
		}
		for _, f := range files {
			inspected[f.Object.Key] = f
			b.stats.BytesRead.Add(f.Object.Size)
		}
		w.opened = append(w.opened, files...)
		return nil
	}
	if err := inspect(append(append([]string(nil), p.New...), p.Changed...)); err != nil {
		w.close()
		return nil, err
	}
	// Unchanged by metadata, or changed by metadata but not in content.
	for _, k := range p.Unchanged {
		w.reused[k] = before[k]
	}
	for _, k := range p.Changed {
		if f := before[k]; f.SHA256 == inspected[k].SHA256 {
			o := byKey[k]
			f.Size, f.ETag, f.Version = o.Size, o.ETag, o.Version()
			w.reused[k] = f
		}
	}
	// Unify, taking unchanged files' schemas from the manifest.
	sch, err := b.unify(src, w, inspected, inspect)
	if err != nil {
		w.close()
		return nil, err
	}
	if len(w.reused) > 0 && schemaFingerprint(sch) != prev.PartsSchema {
		p.Full, p.Reason = true, ReasonSchema
		keys := make([]string, 0, len(w.reused))
		for k := range w.reused {
			keys = append(keys, k)
			w.reuse.Rebuilt[k] = "schema changed"
		}
		w.reused = map[string]manifest.SourceFile{}
		if err := inspect(keys); err != nil {
			w.close()
			return nil, err
		}
	}
	// A reused file whose parts were deleted behind our back is processed again.
	missing, err := missingParts(ctx, out, w.reused, b.cfg.Workers)
	if err != nil {
		w.close()
		return nil, err
	}
	if len(missing) > 0 {
		keys := make([]string, 0, len(missing))
		for k, part := range missing {
			keys = append(keys, k)
			delete(w.reused, k)
			w.reuse.Rebuilt[k] = "cached part " + part + " is missing"
		}
		if err := inspect(keys); err != nil {
			w.close()
			return nil, err
		}
	}
	w.schema = sch
	for _, o := range objs {
		if _, ok := w.reused[o.Key]; ok {
			w.reuse.Reused = append(w.reuse.Reused, o.Key)
			continue
		}
		w.process = append(w.process, inspected[o.Key])
		w.reuse.Processed = append(w.reuse.Processed, o.Key)
	}
	if len(w.reuse.Rebuilt) == 0 {
		w.reuse.Rebuilt = nil
	}
	return w, nil
}

// unify computes the dataset schema over every source file in key order.
func (b *builder) unify(src *storage.Location, w *work, inspected map[string]*dataset.File, inspect func([]string) error) (*arrow.Schema, error) {
	var s *arrow.Schema
	var first string
	for _, o := range w.objs {
		var fs *arrow.Schema
		if f, ok := w.reused[o.Key]; ok {
			var ok2 bool
			if fs, ok2 = schemaOf(f.Columns); !ok2 {
				if err := inspect([]string{o.Key}); err != nil {
					return nil, err
				}
				fs = inspected[o.Key].Schema
			}
		} else {
			fs = inspected[o.Key].Schema
		}
		name := dataset.DisplayName(src, o.Key)
		if s == nil {
			s, first = fs, name
			continue
		}
		u, err := format.Unify(s, first, fs, name)
		if err != nil {
			return nil, err
		}
		s = u
	}
	return format.Finalize(s), nil
}

// processed is what the export stage produced, per processed file.
type processed struct {
	files      []*dataset.File
	parts      [][]manifest.Part // parts of each file, in (part, split) order
	rows       []int64
	nullCounts [][]int64
	strata     []*split.Counts // per file, with a stratified split
	partials   []*validate.Partial
	validator  *validate.Validator
}

func (b *builder) process(ctx context.Context, src, out *storage.Location, files []*dataset.File, sch *arrow.Schema) (*processed, error) {
	// Part numbers are fixed before any work starts, from row counts, so
	// they do not depend on which file finishes first.
	tasks := make([]task, len(files))
	n := 0
	for i, f := range files {
		tasks[i] = task{file: f, index: i, base: n, version: f.Object.Version()}
		n += partsOf(f.Rows, b.cfg.Read.ChunkRows, b.cfg.PartRows)
	}
	results, validator, partials, err := b.runTasks(ctx, src, out, tasks, sch)
	if validator == nil {
		return nil, err
	}
	res := &processed{
		files: files, validator: validator, partials: partials,
		parts: make([][]manifest.Part, len(files)), rows: make([]int64, len(files)), nullCounts: make([][]int64, len(files)),
		strata: make([]*split.Counts, len(files)),
	}
	for i, r := range results {
		for _, p := range r.Parts {
			res.parts[i] = append(res.parts[i], p.Part)
		}
		res.rows[i], res.nullCounts[i], res.strata[i] = r.Rows, r.Nulls, r.Strata
		if err == nil && r.Rows != files[i].Rows {
			err = fmt.Errorf("%s: read %d rows but found %d when inspecting it; the file changed while it was read — run the build again", files[i].Object.Key, r.Rows, files[i].Rows)
		}
	}
	return res, err
}

// finish fills the manifest from the processed and reused files and applies
// the validation and schema policies.
func (b *builder) finish(w *work, res *processed, prev *manifest.Manifest) error {
	cfg, m := b.cfg, b.m
	m.Validation.Results = res.validator.Results(res.partials...)
	failed := validate.Failed(m.Validation.Results)
	m.Validation.Passed = len(failed) == 0
	if len(failed) > 0 && cfg.OnFailure == OnFailureFail {
		return &ValidationError{Failed: failed}
	}

	// Source files in key order, processed or reused.
	idx := map[string]int{}
	for i, f := range res.files {
		idx[f.Object.Key] = i
	}
	nulls := make([]int64, w.schema.NumFields())
	sums := make([]string, 0, len(w.objs))
	for _, o := range w.objs {
		var sf manifest.SourceFile
		if r, ok := w.reused[o.Key]; ok {
			sf = r
			sf.Reused = true
		} else {
			i := idx[o.Key]
			f := res.files[i]
			sf = manifest.SourceFile{
				Key: f.Object.Key, Size: f.Object.Size, ETag: f.Object.ETag, Version: f.Object.Version(),
				SHA256: f.SHA256, Rows: res.rows[i], Columns: schema.FromArrow(f.Schema, nil),
				Parts: res.parts[i], NullCounts: res.nullCounts[i], Strata: res.strata[i],
			}
		}
		if sf.Strata != nil {
			if m.Strata == nil {
				m.Strata = &split.Counts{Names: cfg.Split.Names, Rows: make([]int64, len(cfg.Split.Names))}
			}
			if err := m.Strata.Merge(sf.Strata); err != nil {
				return err
			}
		}
		for c, v := range sf.NullCounts {
			if c < len(nulls) {
				nulls[c] += v
			}
		}
		m.Source.Files = append(m.Source.Files, sf)
		sums = append(sums, sf.Key+":"+sf.SHA256)
	}
	m.Source.Digest = Digest(sums)
	m.PartsSchema = schemaFingerprint(w.schema)

	cols := schema.FromArrow(w.schema, nulls)
	var history []schema.Version
	if prev != nil {
		history = prev.SchemaHistory
		changes := schema.Diff(prev.Schema.Columns, cols)
		if err := cfg.SchemaPolicy.Check(changes); err != nil {
			return fmt.Errorf("%w\nnothing was published; build %s stays the published one", err, prev.BuildID)
		}
		m.SchemaChanges = changes
	}
	v, changed := schema.Next(history, cols)
	if changed {
		v.FirstBuild = m.BuildID
		history = schema.Append(history, v, 0)
	}
	m.Schema = manifest.Schema{Version: v.Version, Fingerprint: v.Fingerprint, Columns: cols}
	m.SchemaHistory = history

	splits := make([]manifest.Split, len(cfg.Split.Names))
	for s, name := range cfg.Split.Names {
		splits[s].Name = name
	}
	for _, sf := range m.Source.Files {
		for _, p := range sf.Parts {
			s := indexOf(cfg.Split.Names, p.Split)
			if s < 0 {
				return fmt.Errorf("part %s of %s belongs to unknown split %q", p.Path, sf.Key, p.Split)
			}
			splits[s].Rows += p.Rows
			splits[s].Bytes += p.Bytes
			splits[s].Parts = append(splits[s].Parts, p)
		}
	}
	for s := range splits {
		sort.Slice(splits[s].Parts, func(i, j int) bool { return splits[s].Parts[i].Path < splits[s].Parts[j].Path })
	}
	m.Splits = splits
	return nil
}

// discard deletes the parts a failed build wrote. Nothing points at them,
// so this is tidiness, not safety: errors are ignored.
func (b *builder) discard(out *storage.Location, res *processed) {
	if res == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, parts := range res.parts {
		for _, p := range parts {
			_ = out.Delete(ctx, p.Path)
		}
	}
}

// Digest is sha256 over the sorted "key:sha256" lines.
func Digest(keySums []string) string {
	s := append([]string(nil), keySums...)
	sort.Strings(s)
	h := sha256.New()
	for _, l := range s {
		h.Write([]byte(l))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func splitSettings(s split.Spec) manifest.SplitSettings {
	r := make(map[string]float64, len(s.Names))
	for i, n := range s.Names {
		r[n] = s.Ratios[i]
	}
	return manifest.SplitSettings{Ratios: r, Order: s.Names, Seed: s.Seed, Key: s.Key, StratifyBy: s.StratifyBy}
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

func randomSuffix() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
