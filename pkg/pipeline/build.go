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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/mldata-io/mldata/pkg/dataset"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/parallel"
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

	// Workers is the number of goroutines; 0 means all cores.
	Workers int
	// PartRows bounds the source rows per part file; rounded up to a
	// multiple of the chunk size. 0 means DefaultPartRows.
	PartRows int64
	// BuildID names the build; "" generates one from the start time.
	BuildID    string
	ScratchDir string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Stats, when set, is updated as the build runs (for progress displays).
	Stats *Stats
}

// Stats are live counters of a running build. Read them with the atomic
// methods from another goroutine.
type Stats struct {
	stage      atomic.Value // string
	FilesTotal atomic.Int64
	FilesDone  atomic.Int64
	Rows       atomic.Int64
	Bytes      atomic.Int64 // source bytes processed
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

// Build runs a build and publishes it. On any error nothing is published:
// the previous build (if any) stays the one latest.json names.
func Build(ctx context.Context, cfg Config) (*manifest.Manifest, error) {
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

func (b *builder) run(ctx context.Context) (_ *manifest.Manifest, err error) {
	cfg := b.cfg
	b.start = b.now()
	if cfg.BuildID == "" {
		cfg.BuildID = manifest.NewBuildID(b.start, randomSuffix())
	}
	m := &manifest.Manifest{
		FormatVersion: manifest.FormatVersion,
		BuildID:       cfg.BuildID,
		CreatedAt:     b.start.UTC(),
		Source:        manifest.Source{URI: cfg.Source, Format: string(cfg.Format), Include: cfg.Include},
		Output:        manifest.Output{URI: cfg.Output, Format: string(cfg.OutputFormat), Compression: string(cfg.Compression)},
		Split:         splitSettings(cfg.Split),
		Validation:    manifest.Validation{OnFailure: cfg.OnFailure, Passed: true},
	}
	if m.Source.Format == "" {
		m.Source.Format = "auto"
	}
	b.m = m

	// Fetch: list the source and read each file once to infer, count and hash.
	b.stats.setStage("list")
	src, err := storage.Open(ctx, cfg.Source)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	objs, err := src.List(ctx, cfg.Include)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("source %s: no files match (include %v); check the URI and --include", src, cfg.Include)
	}
	out, err := storage.OpenOutput(ctx, cfg.Output)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	prev, err := previous(ctx, out)
	if err != nil {
		return nil, err
	}
	tList := b.now()
	m.Timings.ListMS = ms(tList.Sub(b.start))

	b.stats.setStage("infer")
	b.stats.FilesTotal.Store(int64(len(objs)))
	dopt := dataset.Options{Format: cfg.Format, Read: cfg.Read, ScratchDir: cfg.ScratchDir, Workers: cfg.Workers}
	files, err := dataset.Inspect(ctx, src, objs, dopt)
	if err != nil {
		return nil, err
	}
	defer dataset.CloseFiles(files)
	sch, err := dataset.UnifyFiles(files)
	if err != nil {
		return nil, err
	}
	tInfer := b.now()
	m.Timings.InferMS = ms(tInfer.Sub(tList))
	m.SettingsHash = settingsHash(cfg, sch)

	// Normalize, split, validate and export every file.
	b.stats.setStage("process")
	res, err := b.process(ctx, out, files, sch)
	if err != nil {
		b.discard(out, res)
		return nil, err
	}
	m.Timings.ProcessMS = ms(b.now().Sub(tInfer))

	if err := b.finish(files, sch, res, prev); err != nil {
		b.discard(out, res)
		return nil, err
	}

	// Publish: the manifest, then the pointer, last.
	b.stats.setStage("publish")
	tPub := b.now()
	m.Timings.TotalMS = ms(tPub.Sub(b.start))
	if _, err := manifest.Publish(ctx, out, m, b.now()); err != nil {
		b.discard(out, res)
		return nil, err
	}
	m.Timings.PublishMS = ms(b.now().Sub(tPub))
	b.stats.setStage("done")
	return m, nil
}

// previous returns the published build's manifest, or nil when there is none.
func previous(ctx context.Context, out *storage.Location) (*manifest.Manifest, error) {
	_, m, err := manifest.ReadLatest(ctx, out)
	if errors.Is(err, manifest.ErrNoBuild) {
		return nil, nil
	}
	return m, err
}

// processed is what the export stage produced.
type processed struct {
	perFile    [][]manifest.Part // parts of each file, in (part, split) order
	rows       []int64           // rows of each file
	nullCounts []int64
	validation []validate.Result
}

func (b *builder) process(ctx context.Context, out *storage.Location, files []*dataset.File, sch *arrow.Schema) (*processed, error) {
	cfg := b.cfg
	assigner, err := split.NewAssigner(cfg.Split, sch)
	if err != nil {
		return nil, err
	}
	validator, err := validate.New(cfg.Rules, sch)
	if err != nil {
		return nil, err
	}
	ext := format.Ext(cfg.OutputFormat, cfg.Compression)

	// Files run in parallel; each file's chunks get the leftover cores.
	fileWorkers := min(cfg.Workers, len(files))
	chunkWorkers := max(1, (cfg.Workers+fileWorkers-1)/fileWorkers)

	// Part numbers are fixed before any work starts, from row counts, so
	// they do not depend on which file finishes first.
	base := make([]int, len(files))
	n := 0
	for i, f := range files {
		base[i] = n
		n += int((f.Rows + cfg.PartRows - 1) / cfg.PartRows)
	}

	res := &processed{perFile: make([][]manifest.Part, len(files)), rows: make([]int64, len(files))}
	type slotState struct {
		partials []*validate.Partial
		nulls    [][]int64
	}
	slots := make([]slotState, fileWorkers)
	for s := range slots {
		for w := 0; w < chunkWorkers; w++ {
			slots[s].partials = append(slots[s].partials, validator.NewPartial())
			slots[s].nulls = append(slots[s].nulls, make([]int64, sch.NumFields()))
		}
	}

	var mu sync.Mutex // guards res.perFile writes from file goroutines
	err = parallel.ForEach(ctx, fileWorkers, len(files), func(slot, i int) error {
		f := files[i]
		st := slots[slot]
		ex := newExporter(ctx, out, sch, cfg, b.m.BuildID, ext, base[i])
		err := dataset.ScanFile(ctx, sch, f, i, cfg.Read, chunkWorkers,
			func(w int, bt dataset.Batch) (chunkResult, error) {
				rec := bt.Record
				defer rec.Release()
				st.partials[w].Observe(rec, f.Object.Key, i, bt.Chunk.FirstRow+1)
				for c := 0; c < int(rec.NumCols()); c++ {
					st.nulls[w][c] += int64(rec.Column(c).NullN())
				}
				parts, err := assigner.Partition(rec)
				if err != nil {
					return chunkResult{}, err
				}
				return chunkResult{part: int(bt.Chunk.FirstRow / cfg.PartRows), rows: rec.NumRows(), splits: parts}, nil
			},
			func(r chunkResult) error {
				b.stats.Rows.Add(r.rows)
				return ex.write(r)
			})
		parts, cerr := ex.close(err != nil)
		mu.Lock()
		res.perFile[i] = parts
		res.rows[i] = ex.rows
		mu.Unlock()
		if err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if ex.rows != f.Rows {
			return fmt.Errorf("%s: read %d rows but found %d when inspecting it; the file changed while it was read — run the build again", f.Object.Key, ex.rows, f.Rows)
		}
		b.stats.FilesDone.Add(1)
		b.stats.Bytes.Add(f.Object.Size)
		return nil
	})
	if err != nil {
		return res, err
	}
	var all []*validate.Partial
	res.nullCounts = make([]int64, sch.NumFields())
	for _, s := range slots {
		all = append(all, s.partials...)
		for _, nc := range s.nulls {
			for c, v := range nc {
				res.nullCounts[c] += v
			}
		}
	}
	res.validation = validator.Results(all...)
	return res, nil
}

// finish fills the manifest from the processed files and applies the
// validation and schema policies.
func (b *builder) finish(files []*dataset.File, sch *arrow.Schema, res *processed, prev *manifest.Manifest) error {
	cfg, m := b.cfg, b.m
	m.Validation.Results = res.validation
	failed := validate.Failed(res.validation)
	m.Validation.Passed = len(failed) == 0
	if len(failed) > 0 && cfg.OnFailure == OnFailureFail {
		return &ValidationError{Failed: failed}
	}

	cols := schema.FromArrow(sch, res.nullCounts)
	var history []schema.Version
	var prevCols []schema.Column
	if prev != nil {
		history = prev.SchemaHistory
		prevCols = prev.Schema.Columns
	}
	if prevCols != nil {
		changes := schema.Diff(prevCols, cols)
		if err := cfg.SchemaPolicy.Check(changes); err != nil {
			return fmt.Errorf("schema policy %s: %w", cfg.SchemaPolicy, err)
		}
		m.SchemaChanges = changes
	}
	v, changed := schema.Next(history, cols)
	if changed {
		history = append(history, v)
	}
	m.Schema = manifest.Schema{Version: v.Version, Fingerprint: v.Fingerprint, Columns: cols}
	m.SchemaHistory = history

	splits := make([]manifest.Split, len(cfg.Split.Names))
	for s, name := range cfg.Split.Names {
		splits[s].Name = name
	}
	sums := make([]string, 0, len(files))
	for i, f := range files {
		sf := manifest.SourceFile{
			Key: f.Object.Key, Size: f.Object.Size, ETag: f.Object.ETag, Version: f.Object.Version(),
			SHA256: f.SHA256, Rows: res.rows[i], Columns: schema.FromArrow(f.Schema, nil), Parts: res.perFile[i],
		}
		m.Source.Files = append(m.Source.Files, sf)
		sums = append(sums, f.Object.Key+":"+f.SHA256)
		for _, p := range sf.Parts {
			s := indexOf(cfg.Split.Names, p.Split)
			splits[s].Rows += p.Rows
			splits[s].Bytes += p.Bytes
			splits[s].Parts = append(splits[s].Parts, p)
		}
	}
	for s := range splits {
		sort.Slice(splits[s].Parts, func(i, j int) bool { return splits[s].Parts[i].Path < splits[s].Parts[j].Path })
	}
	m.Splits = splits
	m.Source.Digest = Digest(sums)
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
	for _, parts := range res.perFile {
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
		io.WriteString(h, l)
		io.WriteString(h, "\n")
	}
	return hex.EncodeToString(h.Sum(nil))
}

// settingsHash covers every setting that changes what a source file turns into.
func settingsHash(cfg Config, sch *arrow.Schema) string {
	cols := schema.FromArrow(sch, nil)
	v := struct {
		Format       format.Kind
		Read         format.Options
		Split        split.Spec
		OutputFormat format.Kind
		Compression  format.Compression
		PartRows     int64
		Schema       string
	}{cfg.Format, cfg.Read, cfg.Split, cfg.OutputFormat, cfg.Compression, cfg.PartRows, schema.Fingerprint(cols)}
	data, _ := json.Marshal(v)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
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
