package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/utils/ptr"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/worker"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/pipeline"
	"github.com/mldata-io/mldata/pkg/report"
	"github.com/mldata-io/mldata/pkg/schema"
	"github.com/mldata-io/mldata/pkg/split"
	"github.com/mldata-io/mldata/pkg/validate"
)

func init() { subcommands = append(subcommands, newBuildCmd) }

type buildFlags struct {
	limits                                            limitFlags
	source, output, format, outputFormat, compression string
	include, nullValues                               []string
	delimiter                                         string
	inferTimestamps                                   bool
	split, splitKey, stratifyBy                       string
	seed                                              uint64
	rules, onFailure, schemaPolicy                    string
	workers, chunkRows                                int
	partRows                                          int64
	buildID                                           string
	json, full, dryRun, incremental                   bool
	historyLimit                                      int
	historyGrace                                      time.Duration
	phase                                             phaseFlags
	checkSplits                                       bool
	gate                                              string
	gateOut                                           gateOutput
}

func newBuildCmd() *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Annotations: map[string]string{largeHeap: "yes"},
		Use:         "build --source URI --output URI",
		Short:       "Build a split, validated dataset from tabular source files",
		Long: `Build reads every source file (CSV, JSONL or Parquet; .gz/.zst text is
decompressed on the fly), infers one schema, splits rows deterministically by
a hash of their key or content, validates them, and writes the splits under
OUTPUT/builds/<build id>/<split>/part-NNNNN.<ext> with a manifest.json. The
build becomes visible only when OUTPUT/latest.json is written, last: a failed
or interrupted build never replaces the previous one.

URIs are local paths or bucket URLs: file://, s3://, gs://, azblob://, mem://.`,
		Example: `  mldata build --source data/ --output out/ --split train=0.8,validation=0.1,test=0.1 --split-key id
  mldata build --source s3://raw/events/ --include '*.csv.gz' --output s3://ml/events/ --compression zstd

  # The same build in phases (any scheduler can run the shards, anywhere):
  mldata build --source s3://raw/ --output s3://ml/ --build-id b42 --plan-only --shards 4
  for i in 0 1 2 3; do mldata build --source s3://raw/ --output s3://ml/ --build-id b42 --shard $i/4; done
  mldata build --source s3://raw/ --output s3://ml/ --build-id b42 --commit`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config()
			if err != nil {
				return err
			}
			if f.phase.set() {
				return runPhase(cmd.Context(), cfg, f.phase, f.json, f.gateOut, cmd.OutOrStdout(), cmd.ErrOrStderr())
			}
			return runBuild(cmd.Context(), cfg, f.json, f.gateOut, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.source, "source", "", "source file, folder or bucket URL (required)")
	fl.StringVar(&f.output, "output", "", "output folder or bucket URL (required)")
	fl.StringVar(&f.format, "format", "auto", "source format: auto|csv|jsonl|parquet (auto: from each file's extension)")
	fl.StringArrayVar(&f.include, "include", nil, "only source files matching this glob (repeatable), e.g. '*.csv' or '**/part-*.parquet'")
	fl.StringVar(&f.delimiter, "delimiter", "", "CSV field delimiter (default ',' or tab for .tsv)")
	fl.StringArrayVar(&f.nullValues, "null-value", nil, "text read as null (repeatable; replaces the default list: '', NA, NULL, NaN, n/a, ...)")
	fl.BoolVar(&f.inferTimestamps, "infer-timestamps", true, "read ISO-8601 date-time text columns as timestamps")
	fl.StringVar(&f.outputFormat, "output-format", "parquet", "output format: parquet|csv|jsonl")
	fl.StringVar(&f.compression, "compression", "", "output compression: snappy|gzip|zstd|none (default snappy for parquet, none for csv/jsonl)")
	fl.StringVar(&f.split, "split", "train=0.8,validation=0.1,test=0.1", "split names and ratios, summing to 1")
	fl.StringVar(&f.splitKey, "split-key", "", "column whose value decides a row's split (default: the whole row's content)")
	fl.StringVar(&f.stratifyBy, "stratify-by", "", "column to stratify the split by")
	fl.Uint64Var(&f.seed, "seed", 42, "split seed")
	fl.StringVar(&f.rules, "rules", "", "validation rules file (YAML or JSON list)")
	fl.StringVar(&f.onFailure, "on-failure", "fail", "when a validation rule fails: fail (publish nothing) or warn (publish and report)")
	fl.StringVar(&f.schemaPolicy, "schema-policy", string(schema.AllowAdditive), "schema changes allowed against the published build: AllowAll|AllowAdditive|Strict")
	fl.IntVar(&f.workers, "workers", 0, "parallel workers (default: all cores)")
	fl.IntVar(&f.chunkRows, "chunk-rows", format.DefaultChunkRows, "rows per chunk of work; memory is about chunk-rows x workers rows")
	fl.Int64Var(&f.partRows, "part-rows", pipeline.DefaultPartRows, "source rows per output part file")
	fl.StringVar(&f.buildID, "build-id", "", "build id (default: from the start time)")
	fl.BoolVar(&f.full, "full", false, "process every source file, reusing nothing from the published build")
	fl.BoolVar(&f.incremental, "incremental", true, "reuse the published build's parts for unchanged source files (the default; --full turns it off)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan (new, changed, unchanged, removed files) and stop")
	fl.IntVar(&f.historyLimit, "history-limit", 0, "keep this many published builds and delete older ones (0 keeps all)")
	fl.DurationVar(&f.historyGrace, "history-grace", time.Hour, "keep a replaced build this long after it was replaced, beyond --history-limit, for readers still on it (0: none)")
	fl.BoolVar(&f.json, "json", false, "print the build manifest as JSON on stdout")
	fl.StringVar(&f.gate, "gate", "", "publish gate file (YAML, a DatasetBuild's spec.publishGate): compare the build with the published one before publishing; a drifted build is refused (exit 3) under onDrift: Fail")
	fl.StringVar(&f.gateOut.json, "gate-report", "", "write the publish gate's verdict and drift report as JSON here (path or bucket URL), whether the build is published or refused")
	fl.StringVar(&f.gateOut.html, "gate-html", "", "write the publish gate's HTML page here (path or bucket URL): what decided each drifted column and, with compare: ChangedFiles, each one's PSI by changed file")
	fl.BoolVar(&f.checkSplits, "check-splits", true, "read the splits back before publishing: a key in two splits fails the build under --on-failure fail (see 'mldata splits check')")
	addLimitFlags(fl, &f.limits)
	addPhaseFlags(fl, &f.phase)
	return cmd
}

// config turns the flags into a DatasetBuild spec and that into the
// pipeline's Config with the worker's converter, so that `mldata build` and
// a DatasetBuild run the same settings. The flags' own syntax (--split
// lists, --rules files, --delimiter tab) is checked here, with messages that
// name the flag.
func (f *buildFlags) config() (pipeline.Config, error) {
	var cfg pipeline.Config
	if f.source == "" || f.output == "" {
		return cfg, usagef("--source and --output are required; see 'mldata build --help'")
	}
	kind, err := parseKind(f.format, true)
	if err != nil {
		return cfg, err
	}
	outKind, err := parseKind(f.outputFormat, false)
	if err != nil {
		return cfg, err
	}
	comp, err := parseCompression(f.compression, outKind)
	if err != nil {
		return cfg, err
	}
	sp, err := split.Parse(f.split)
	if err != nil {
		return cfg, usagef("--split: %v", err)
	}
	var rules []validate.Rule
	if f.rules != "" {
		data, err := os.ReadFile(f.rules)
		if err != nil {
			return cfg, usagef("--rules: %v", err)
		}
		if rules, err = validate.ParseRules(data); err != nil {
			return cfg, usagef("--rules %s: %v", f.rules, err)
		}
	}
	var onFailure v1alpha1.OnFailure
	switch strings.ToLower(f.onFailure) {
	case "fail":
		onFailure = v1alpha1.OnFailureFail
	case "warn":
		onFailure = v1alpha1.OnFailureWarn
	default:
		return cfg, usagef("--on-failure %q: use fail or warn", f.onFailure)
	}
	policy, err := schema.ParsePolicy(f.schemaPolicy)
	if err != nil {
		return cfg, usagef("--schema-policy: %v", err)
	}
	var csv *v1alpha1.CSVOptions
	switch d := f.delimiter; {
	case d == "":
	case d == `\t` || d == "tab":
		csv = &v1alpha1.CSVOptions{Delimiter: "\t"}
	case len(d) == 1:
		csv = &v1alpha1.CSVOptions{Delimiter: d}
	default:
		return cfg, usagef("--delimiter %q: use a single character (or \\t)", d)
	}
	if f.workers < 0 || f.chunkRows <= 0 || f.partRows <= 0 || f.historyLimit < 0 {
		return cfg, usagef("--workers and --history-limit must be >= 0, --chunk-rows and --part-rows > 0")
	}
	if f.historyGrace < 0 {
		return cfg, usagef("--history-grace %s: must be >= 0", f.historyGrace)
	}
	if f.workers > math.MaxInt32 || f.chunkRows > math.MaxInt32 || f.historyLimit > math.MaxInt32 {
		return cfg, usagef("--workers, --chunk-rows and --history-limit must be below 2^31")
	}
	spec := &v1alpha1.DatasetBuildSpec{
		Source: v1alpha1.SourceSpec{URI: v1alpha1.BucketURI(f.source), Format: v1alpha1.SourceFormat(kind), Include: f.include,
			CSV: csv, NullValues: f.nullValues, InferTimestamps: &f.inferTimestamps},
		Output:              v1alpha1.OutputSpec{URI: v1alpha1.BucketURI(f.output), Format: v1alpha1.OutputFormat(outKind), Compression: v1alpha1.OutputCompression(comp)},
		Split:               &v1alpha1.SplitSpec{Key: v1alpha1.ColumnName(f.splitKey), StratifyBy: v1alpha1.ColumnName(f.stratifyBy)},
		Validation:          &v1alpha1.ValidationSpec{Rules: worker.SpecRules(rules), OnFailure: onFailure, Splits: &v1alpha1.SplitCheckSpec{Enabled: &f.checkSplits}},
		SchemaPolicy:        v1alpha1.SchemaPolicy(policy),
		Incremental:         ptr.To(f.incremental && !f.full),
		Parallelism:         &v1alpha1.ParallelismSpec{ChunkRows: ptr.To(int32(f.chunkRows)), PartRows: &f.partRows},
		HistoryLimit:        ptr.To(int32(f.historyLimit)),
		HistoryGraceSeconds: ptr.To(int64(f.historyGrace / time.Second)),
	}
	if f.workers > 0 {
		spec.Parallelism.Workers = ptr.To(int32(f.workers))
	}
	if f.gate != "" {
		if spec.PublishGate, err = readGate(f.gate); err != nil {
			return cfg, err
		}
	} else if f.gateOut.json != "" || f.gateOut.html != "" {
		return cfg, usagef("--gate-report and --gate-html need --gate")
	}
	for i, name := range sp.Names {
		spec.Split.Ratios = append(spec.Split.Ratios, v1alpha1.SplitRatio{Name: v1alpha1.SplitName(name), Ratio: sp.Ratios[i]})
	}
	lim, err := f.limits.limits()
	if err != nil {
		return cfg, err
	}
	if cfg, err = worker.BuildConfig(spec, worker.Options{Limits: lim}); err != nil {
		return cfg, usagef("%v", err)
	}
	// Beyond the spec: the seed flag is a uint64 (the spec's an int64, as
	// the API has no unsigned integers), and a build id and dry runs are
	// for people at a terminal.
	cfg.Split.Seed = f.seed
	cfg.BuildID, cfg.DryRun = f.buildID, f.dryRun
	return cfg, nil
}

func parseKind(s string, allowAuto bool) (format.Kind, error) {
	switch k := format.Kind(strings.ToLower(s)); k {
	case format.CSV, format.JSONL, format.Parquet:
		return k, nil
	case "auto", "":
		if allowAuto {
			return "", nil
		}
	}
	if allowAuto {
		return "", usagef("--format %q: use auto, csv, jsonl or parquet", s)
	}
	return "", usagef("--output-format %q: use parquet, csv or jsonl", s)
}

func parseCompression(s string, kind format.Kind) (format.Compression, error) {
	c := format.Compression(strings.ToLower(s))
	switch c {
	case "":
		return "", nil
	case format.None, format.Gzip, format.Zstd:
		return c, nil
	case format.Snappy:
		if kind == format.Parquet {
			return c, nil
		}
		return "", usagef("--compression snappy is for parquet output; use gzip, zstd or none for %s", kind)
	}
	return "", usagef("--compression %q: use snappy, gzip, zstd or none", s)
}

func runBuild(ctx context.Context, cfg pipeline.Config, asJSON bool, gate gateOutput, stdout, stderr io.Writer) error {
	stats := &pipeline.Stats{}
	cfg.Stats = stats
	// The plan goes to stderr so that --json keeps stdout for the manifest.
	planOut := stderr
	if cfg.DryRun && !asJSON {
		planOut = stdout
	}
	cfg.OnPlan = func(p *pipeline.Plan) { printPlan(planOut, p, cfg.DryRun) }
	stop := startProgress(stats, stderr)
	start := time.Now()
	res, err := pipeline.Build(ctx, cfg)
	stop()
	if err := gate.write(ctx, res, err); err != nil {
		return err
	}
	return printBuild(cfg, res, start, asJSON, stdout, stderr)
}

// printBuild reports a published (or up-to-date) build.
func printBuild(cfg pipeline.Config, res *pipeline.Result, start time.Time, asJSON bool, stdout, stderr io.Writer) error {
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if cfg.DryRun {
		if asJSON {
			return writeJSON(stdout, res.Plan)
		}
		return nil
	}
	m := res.Manifest
	if asJSON {
		return writeJSON(stdout, m)
	}
	if res.UpToDate {
		fmt.Fprintf(stdout, "up to date: build %s is published (%d rows); nothing was read\n", m.BuildID, m.Rows())
		return nil
	}
	for _, r := range validate.Failed(m.Validation.Results) {
		fmt.Fprintf(stderr, "warning: %s\n", r.Message)
	}
	var parts []string
	for _, s := range m.Splits {
		parts = append(parts, fmt.Sprintf("%s %d", s.Name, s.Rows))
	}
	fmt.Fprintf(stdout, "published build %s: %d rows (%s), %d source file(s), schema v%d (%d columns) in %s\n",
		m.BuildID, m.Rows(), strings.Join(parts, ", "), len(m.Source.Files), m.Schema.Version, len(m.Schema.Columns),
		time.Since(start).Round(time.Millisecond))
	if r := res.Reuse; r != nil && len(r.Reused) > 0 {
		fmt.Fprintf(stdout, "  reused:   %d unchanged file(s); processed %d\n", len(r.Reused), len(r.Processed))
	}
	if r := res.Reuse; r != nil {
		for _, k := range sortedKeys(r.Rebuilt) {
			fmt.Fprintf(stdout, "  rebuilt:  %s (%s)\n", k, r.Rebuilt[k])
		}
	}
	for _, c := range m.SchemaChanges {
		fmt.Fprintf(stdout, "  schema:   %s\n", c)
	}
	if g := m.PublishGate; g != nil {
		fmt.Fprintf(stdout, "  gate:     %s\n", gateLine(g))
	}
	fmt.Fprintf(stdout, "  data:     %s\n", joinURI(cfg.Output, manifest.BuildDir(m.BuildID)+"/"))
	fmt.Fprintf(stdout, "  manifest: %s\n", joinURI(cfg.Output, manifest.Key(m.BuildID)))
	if len(res.Pruned) > 0 {
		fmt.Fprintf(stdout, "  pruned:   %d old build(s)\n", len(res.Pruned))
	}
	return nil
}

func printPlan(w io.Writer, p *pipeline.Plan, detailed bool) {
	fmt.Fprintf(w, "plan: %s\n", p)
	if !detailed {
		return
	}
	for _, g := range []struct {
		name string
		keys []string
	}{{"new", p.New}, {"changed", p.Changed}, {"unchanged", p.Unchanged}, {"removed", p.Removed}} {
		for _, k := range g.keys {
			fmt.Fprintf(w, "  %-9s %s\n", g.name, k)
		}
	}
}

func writeJSON(w io.Writer, v any) error {
	data, err := manifest.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// joinURI appends a key to a folder or bucket URI, keeping any query string.
func joinURI(base, key string) string {
	q := ""
	if i := strings.IndexByte(base, '?'); i >= 0 {
		base, q = base[:i], base[i:]
	}
	return strings.TrimSuffix(base, "/") + "/" + key + q
}

// startProgress shows the build's progress on w: a live line on a terminal,
// a log line every few seconds otherwise. The returned func stops it.
func startProgress(s *pipeline.Stats, w io.Writer) (stop func()) {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	every := 5 * time.Second
	if tty {
		every = 200 * time.Millisecond
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case <-t.C:
				line := progressLine(s, time.Since(start))
				if tty {
					fmt.Fprint(w, "\r\033[K"+line)
				} else {
					fmt.Fprintln(w, line)
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

func progressLine(s *pipeline.Stats, elapsed time.Duration) string {
	rows, bytes := s.Rows.Load(), s.Bytes.Load()
	total, done := s.FilesTotal.Load(), s.FilesDone.Load()
	bar := ""
	if total > 0 {
		const width = 20
		n := int(done * width / total)
		bar = "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "] "
	}
	rate := 0.0
	if secs := elapsed.Seconds(); secs > 0 {
		rate = float64(rows) / secs
	}
	return fmt.Sprintf("%s%s files %d/%d, %d rows, %s, %.0f rows/s, %s",
		bar, s.Stage(), done, total, rows, report.FormatBytes(bytes), rate, elapsed.Round(time.Second))
}
