package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/pipeline"
	"github.com/mldata-io/mldata/pkg/report"
	"github.com/mldata-io/mldata/pkg/schema"
	"github.com/mldata-io/mldata/pkg/split"
	"github.com/mldata-io/mldata/pkg/storage"
	"github.com/mldata-io/mldata/pkg/validate"
)

// Defaults the CRD also sets; repeated here because `mldata run -f` reads
// manifests that never went through the API server's defaulting.
const (
	defaultHistoryLimit = 10
	// defaultHistoryGrace is historyGraceSeconds' default.
	defaultHistoryGrace = time.Hour
	defaultSeed         = 42
)

// BuildConfig converts a DatasetBuild spec into the pipeline's Config. It is
// the one place that knows how spec fields map onto build settings.
func BuildConfig(spec *v1alpha1.DatasetBuildSpec, opt Options) (pipeline.Config, error) {
	var cfg pipeline.Config
	src := spec.Source
	kind, err := sourceKind(src.Format)
	if err != nil {
		return cfg, err
	}
	read := format.Options{NullValues: src.NullValues, InferTimestamps: true, Limits: opt.Limits}
	if src.InferTimestamps != nil {
		read.InferTimestamps = *src.InferTimestamps
	}
	if src.CSV != nil && src.CSV.Delimiter != "" {
		if len(src.CSV.Delimiter) != 1 {
			return cfg, fmt.Errorf("source.csv.delimiter %q: use one ASCII character", src.CSV.Delimiter)
		}
		read.Delimiter = src.CSV.Delimiter[0]
	}
	switch src.Compression {
	case "", v1alpha1.InputCompressionAuto:
	case v1alpha1.InputCompressionNone, v1alpha1.InputCompressionGzip, v1alpha1.InputCompressionZstd:
		read.Compression = format.Compression(src.Compression)
	default:
		return cfg, fmt.Errorf("source.compression %q: use auto, none, gzip or zstd", src.Compression)
	}

	outKind := format.Parquet
	if spec.Output.Format != "" {
		outKind = format.Kind(spec.Output.Format)
	}
	sp, err := splitSpec(spec.Split)
	if err != nil {
		return cfg, err
	}
	var rules []validate.Rule
	onFailure := pipeline.OnFailureFail
	if v := spec.Validation; v != nil {
		for _, r := range v.Rules {
			rules = append(rules, validate.Rule{
				Type: string(r.Type), Column: string(r.Column), DType: string(r.DType),
				Min: r.Min, Max: r.Max, Values: r.Values, Fraction: r.Fraction, Rows: r.Rows,
			})
		}
		for i, r := range rules {
			if err := r.Validate(); err != nil {
				return cfg, fmt.Errorf("validation.rules[%d]: %w", i, err)
			}
		}
		if v.OnFailure == v1alpha1.OnFailureWarn {
			onFailure = pipeline.OnFailureWarn
		}
	}
	policy, err := schema.ParsePolicy(string(spec.SchemaPolicy))
	if err != nil {
		return cfg, fmt.Errorf("schemaPolicy: %w", err)
	}
	history := defaultHistoryLimit
	if spec.HistoryLimit != nil {
		history = int(*spec.HistoryLimit)
	}
	grace := defaultHistoryGrace
	if g := spec.HistoryGraceSeconds; g != nil {
		if *g < 0 {
			return cfg, fmt.Errorf("historyGraceSeconds %d: must be >= 0", *g)
		}
		grace = time.Duration(*g) * time.Second
		if grace == 0 {
			grace = pipeline.NoHistoryGrace
		}
	}
	cfg = pipeline.Config{
		Source: string(src.URI), Include: src.Include, Format: kind, Read: read,
		Output: string(spec.Output.URI), OutputFormat: outKind, Compression: format.Compression(spec.Output.Compression),
		Split: sp, Rules: rules, OnFailure: onFailure, SchemaPolicy: policy, SplitCheck: SplitCheckConfig(spec.Validation),
		Full:         spec.Incremental != nil && !*spec.Incremental,
		HistoryLimit: history, HistoryGrace: grace, ScratchDir: opt.ScratchDir, Now: opt.Now,
	}
	if cfg.Gate, err = GateConfig(spec.PublishGate); err != nil {
		return cfg, err
	}
	if p := spec.Parallelism; p != nil {
		if p.Workers != nil {
			cfg.Workers = int(*p.Workers)
		}
		if p.ChunkRows != nil {
			cfg.Read.ChunkRows = int(*p.ChunkRows)
		}
		if p.PartRows != nil {
			cfg.PartRows = *p.PartRows
		}
	}
	return cfg, nil
}

// SpecRules converts rules read from a rules file (validate.ParseRules) into
// the spec's; BuildConfig converts them back. The two have the same fields,
// so a rules file and a manifest's validation.rules mean the same.
func SpecRules(rules []validate.Rule) []v1alpha1.ValidationRule {
	var out []v1alpha1.ValidationRule
	for _, r := range rules {
		out = append(out, v1alpha1.ValidationRule{
			Type: v1alpha1.RuleType(r.Type), Column: v1alpha1.ColumnName(r.Column), DType: v1alpha1.DType(r.DType),
			Min: r.Min, Max: r.Max, Values: r.Values, Fraction: r.Fraction, Rows: r.Rows,
		})
	}
	return out
}

func sourceKind(f v1alpha1.SourceFormat) (format.Kind, error) {
	switch f {
	case "", v1alpha1.SourceFormatAuto:
		return "", nil
	case v1alpha1.SourceFormatCSV, v1alpha1.SourceFormatJSONL, v1alpha1.SourceFormatParquet:
		return format.Kind(f), nil
	}
	return "", fmt.Errorf("format %q: use auto, csv, jsonl or parquet", f)
}

func splitSpec(s *v1alpha1.SplitSpec) (split.Spec, error) {
	sp := split.Spec{Names: []string{"train", "validation", "test"}, Ratios: []float64{0.8, 0.1, 0.1}, Seed: defaultSeed}
	if s != nil {
		sp.Names, sp.Ratios = nil, nil
		for _, r := range s.Ratios {
			sp.Names = append(sp.Names, string(r.Name))
			sp.Ratios = append(sp.Ratios, r.Ratio)
		}
		if s.Seed != nil {
			if *s.Seed < 0 {
				return sp, fmt.Errorf("split.seed %d: must be >= 0", *s.Seed)
			}
			sp.Seed = uint64(*s.Seed)
		}
		sp.Key, sp.StratifyBy = string(s.Key), string(s.StratifyBy)
	}
	if err := sp.Validate(); err != nil {
		return sp, fmt.Errorf("split: %w", err)
	}
	return sp, nil
}

// BuildResult is what a DatasetBuild run did.
type BuildResult struct {
	Result      *pipeline.Result
	ManifestURI string
	// GateReportURI and GateHTMLURI are the publish gate's reports (""
	// without a gate, or when writing them failed: see the warnings).
	GateReportURI, GateHTMLURI string
}

// Names of a publish gate's reports, beside the candidate's manifest.
const (
	GateJSON = "gate.json"
	GateHTML = "gate.html"
)

// RunBuild runs the build the spec describes and publishes it.
func RunBuild(ctx context.Context, spec *v1alpha1.DatasetBuildSpec, opt Options) (*BuildResult, error) {
	opt, err := limitOptions(spec.Limits, opt)
	if err != nil {
		return nil, err
	}
	cfg, err := BuildConfig(spec, opt)
	if err != nil {
		return nil, &Failure{Reason: v1alpha1.ReasonInvalidSpec, Err: err}
	}
	res, err := pipeline.Build(ctx, cfg)
	return finishBuild(ctx, spec, cfg, res, err)
}

// finishBuild turns a build's or a sharded build's commit's outcome into
// the run's: the gate's reports written, a failure given its reason.
func finishBuild(ctx context.Context, spec *v1alpha1.DatasetBuildSpec, cfg pipeline.Config, res *pipeline.Result, err error) (*BuildResult, error) {
	jsonURI, htmlURI, gerr := writeGateReports(ctx, cfg.Output, res, err)
	if err != nil {
		if gerr != nil {
			err = fmt.Errorf("%w (%v)", err, gerr)
		}
		err = buildFailure(spec, err)
		var f *Failure
		if errors.As(err, &f) {
			f.HTMLReportURI = htmlURI
		}
		return nil, err
	}
	if gerr != nil {
		res.Warnings = append(res.Warnings, gerr.Error())
	}
	br, err := buildResult(ctx, cfg, res)
	if err != nil {
		return nil, err
	}
	br.GateReportURI, br.GateHTMLURI = jsonURI, htmlURI
	return br, nil
}

// writeGateReports writes a finished build's publish gate verdict with its
// drift report (gate.json) and the gate's page (gate.html) beside the
// candidate's manifest, builds/<id>/, for a published build and a refused
// one alike: a refused build's folder then holds its reports only, and
// pruning removes it as it does any unpublished build's.
func writeGateReports(ctx context.Context, output string, res *pipeline.Result, buildErr error) (jsonURI, htmlURI string, err error) {
	rep, id := pipeline.GateOutcome(res, buildErr)
	if rep == nil {
		return "", "", nil
	}
	loc, err := storage.OpenOutput(ctx, output)
	if err != nil {
		return "", "", fmt.Errorf("publish gate report: %w", err)
	}
	defer loc.Close()
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return "", "", fmt.Errorf("publish gate report: %w", err)
	}
	var page bytes.Buffer
	if err := report.Gate(&page, rep.PublishGate, rep.Drift); err != nil {
		return "", "", err
	}
	dir := manifest.BuildDir(id)
	for _, f := range []struct {
		name string
		data []byte
		uri  *string
	}{{GateJSON, append(data, '\n'), &jsonURI}, {GateHTML, page.Bytes(), &htmlURI}} {
		key := dir + "/" + f.name
		if err := loc.WriteFile(ctx, key, f.data); err != nil {
			return "", "", fmt.Errorf("writing the publish gate's report %s: %w", loc.URIOf(key), err)
		}
		*f.uri = loc.URIOf(key)
	}
	return jsonURI, htmlURI, nil
}

// buildFailure gives a failed build's error its condition reason.
func buildFailure(spec *v1alpha1.DatasetBuildSpec, err error) error {
	var ve *pipeline.ValidationError
	var pe *schema.PolicyError
	var le *pipeline.SplitLeakError
	var ge *pipeline.GateError
	switch {
	case errors.As(err, &ve):
		return &Failure{Reason: v1alpha1.ReasonValidationFailed, Err: err}
	case errors.As(err, &le):
		return &Failure{Reason: v1alpha1.ReasonSplitsLeak, Err: err}
	case errors.As(err, &ge):
		return &Failure{Reason: v1alpha1.ReasonDriftGateFailed, Err: err}
	case errors.As(err, &pe):
		return &Failure{Reason: v1alpha1.ReasonBreakingSchemaChange, Err: err}
	}
	return fmt.Errorf("building %s: %w", spec.Output.URI, err)
}

// buildResult names the manifest of a published (or up-to-date) build.
func buildResult(ctx context.Context, cfg pipeline.Config, res *pipeline.Result) (*BuildResult, error) {
	out, err := storage.OpenOutput(ctx, cfg.Output)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	return &BuildResult{Result: res, ManifestURI: out.URIOf(manifest.Key(res.Manifest.BuildID))}, nil
}

// Summary is the termination message of the build.
func (b *BuildResult) Summary() *Summary {
	m := b.Result.Manifest
	s := &Summary{
		Kind: KindDatasetBuild, OK: true, BuildID: m.BuildID, UpToDate: b.Result.UpToDate, ManifestURI: b.ManifestURI, Digest: manifest.Digest(m),
		SourceCount: int64(len(m.Source.Files)), SourceDigest: m.Source.Digest,
		SchemaVersion: int32(m.Schema.Version), SchemaFingerprint: m.Schema.Fingerprint,
		ValidationFailed: int32(len(validate.Failed(m.Validation.Results))),
		ReportURI:        b.GateReportURI,
		HTMLReportURI:    b.GateHTMLURI,
		Warnings:         boundWarnings(b.Result.Warnings, maxWarning),
	}
	for _, sp := range m.Splits {
		s.Rows = append(s.Rows, v1alpha1.SplitRows{Name: v1alpha1.SplitName(sp.Name), Rows: sp.Rows})
	}
	splitSummary(s, m.SplitIntegrity)
	if r := b.Result.Reuse; r != nil && !b.Result.UpToDate {
		s.FilesProcessed, s.FilesReused = int64(len(r.Processed)), int64(len(r.Reused))
	}
	if b.Result.UpToDate {
		s.FilesReused = s.SourceCount
	}
	switch {
	case b.Result.UpToDate:
		s.Message = fmt.Sprintf("sources unchanged: build %s stays published (%d rows)", m.BuildID, m.Rows())
	default:
		s.Message = fmt.Sprintf("published build %s: %d rows from %d source file(s), schema v%d", m.BuildID, m.Rows(), len(m.Source.Files), m.Schema.Version)
		s.Message += gateNote(m.PublishGate)
	}
	return s
}

// ApplyBuild records a finished build in status: the summary, and, when the
// manifest could be read, the bounded lists that only the manifest has. It
// sets every condition of a finished build, with observedGeneration gen.
// A failed summary leaves the published build's fields as they were, since
// a failed build publishes nothing.
func ApplyBuild(st *v1alpha1.DatasetBuildStatus, gen int64, s *Summary, m *manifest.Manifest, now time.Time) {
	t := metav1.NewTime(now)
	set := conditionSetter(&st.Conditions, gen)
	st.ObservedGeneration = gen
	set(v1alpha1.ConditionReconciling, false, v1alpha1.ReasonSucceeded, "no build is running")
	if !s.OK {
		msg := s.Message
		if s.HTMLReportURI != "" {
			msg += "; the gate's report: " + s.HTMLReportURI
		}
		set(v1alpha1.ConditionReady, false, s.Reason, msg)
		set(v1alpha1.ConditionStalled, true, s.Reason, msg)
		switch s.Reason {
		case v1alpha1.ReasonValidationFailed:
			set(v1alpha1.ConditionValidated, false, s.Reason, s.Message)
		case v1alpha1.ReasonBreakingSchemaChange:
			set(v1alpha1.ConditionSchemaCompatible, false, s.Reason, s.Message)
		case v1alpha1.ReasonSplitsLeak:
			set(v1alpha1.ConditionSplitsConsistent, false, s.Reason, s.Message)
		}
		return
	}
	reason := v1alpha1.ReasonSucceeded
	if s.UpToDate {
		reason = v1alpha1.ReasonUpToDate
	}
	st.Warnings = boundWarnings(s.Warnings, v1alpha1.MaxWarningLength)
	msg := s.Message
	if len(st.Warnings) > 0 {
		msg += fmt.Sprintf(" (%d warning(s), see status.warnings: %s)", len(st.Warnings), st.Warnings[0])
	}
	set(v1alpha1.ConditionReady, true, reason, msg)
	set(v1alpha1.ConditionStalled, false, reason, "")
	if s.ValidationFailed > 0 {
		set(v1alpha1.ConditionValidated, false, v1alpha1.ReasonValidationWarning,
			fmt.Sprintf("%d rule(s) failed; published anyway (onFailure Warn); see %s", s.ValidationFailed, s.ManifestURI))
	} else {
		set(v1alpha1.ConditionValidated, true, v1alpha1.ReasonValidationPassed, "every validation rule passed")
	}
	set(v1alpha1.ConditionSchemaCompatible, true, v1alpha1.ReasonSchemaCompatible, fmt.Sprintf("schema version %d", s.SchemaVersion))
	applySplits(set, s)

	if st.BuildID != s.BuildID || st.LastBuildTime == nil {
		st.LastBuildTime = &t
	}
	st.LastCheckTime = &t
	st.BuildID, st.ManifestURI = s.BuildID, s.ManifestURI
	if !s.UpToDate {
		st.GateReportURI = s.HTMLReportURI
	}
	st.Rows, st.TotalRows = s.Rows, 0
	for _, r := range s.Rows {
		st.TotalRows += r.Rows
	}
	st.FilesProcessed, st.FilesReused = s.FilesProcessed, s.FilesReused
	st.SourceCount, st.SourceDigest = s.SourceCount, s.SourceDigest
	if st.Schema == nil || st.Schema.Fingerprint != s.SchemaFingerprint {
		st.Schema = &v1alpha1.SchemaStatus{Version: s.SchemaVersion, Fingerprint: s.SchemaFingerprint}
	}
	st.Artifact = artifact(st.Artifact, s, m)
	if m == nil || m.BuildID != s.BuildID {
		return
	}
	applyManifest(st, m)
}

// artifact is status.artifact after the successful build s: the summary's
// digest, or the manifest's when the summary has none (a worker older than
// the digest). Without either it keeps the previous artifact only if that
// names the same build, so that status never pairs a build with another
// build's digest.
func artifact(prev *v1alpha1.ArtifactStatus, s *Summary, m *manifest.Manifest) *v1alpha1.ArtifactStatus {
	digest := s.Digest
	if digest == "" && m != nil && m.BuildID == s.BuildID {
		digest = manifest.Digest(m)
	}
	switch {
	case digest != "" && s.BuildID != "" && s.ManifestURI != "":
		return &v1alpha1.ArtifactStatus{BuildID: s.BuildID, Digest: digest, ManifestURI: s.ManifestURI}
	case prev != nil && prev.BuildID == s.BuildID:
		return prev
	}
	return nil
}

func applyManifest(st *v1alpha1.DatasetBuildStatus, m *manifest.Manifest) {
	st.LastBuildTime = &metav1.Time{Time: m.CreatedAt}
	st.Sources = nil
	if len(m.Source.Files) <= v1alpha1.MaxStatusSources {
		for _, f := range m.Source.Files {
			st.Sources = append(st.Sources, v1alpha1.SourceFile{Key: f.Key, Size: f.Size, SHA256: f.SHA256})
		}
	}
	sc := &v1alpha1.SchemaStatus{Version: int32(m.Schema.Version), Fingerprint: m.Schema.Fingerprint, ColumnCount: int32(len(m.Schema.Columns))}
	for i, c := range m.Schema.Columns {
		if i == v1alpha1.MaxSchemaColumns {
			break
		}
		sc.Columns = append(sc.Columns, v1alpha1.ColumnSchema{Name: StatusName(c.Name), Type: c.Type, Nullable: c.Nullable})
	}
	st.Schema = sc
	hist := m.SchemaHistory
	if len(hist) > v1alpha1.MaxSchemaHistory {
		hist = hist[len(hist)-v1alpha1.MaxSchemaHistory:]
	}
	st.SchemaHistory = nil
	for _, v := range hist {
		e := v1alpha1.SchemaVersion{Version: int32(v.Version), Fingerprint: v.Fingerprint, BuildID: v.FirstBuild, ColumnCount: int32(len(v.Columns))}
		if v.FirstBuild == m.BuildID {
			e.Time = &metav1.Time{Time: m.CreatedAt}
		}
		st.SchemaHistory = append(st.SchemaHistory, e)
	}
	// The manifest lists the changes of the build that introduced its
	// schema; a build with the same schema lists none, and status keeps
	// the last diff.
	if len(m.SchemaChanges) > 0 {
		st.SchemaChanges = schemaChanges(m.SchemaChanges, int32(m.Schema.Version))
	}
}

func schemaChanges(changes []schema.Change, version int32) *v1alpha1.SchemaChanges {
	sc := &v1alpha1.SchemaChanges{FromVersion: version - 1, ToVersion: version}
	add := func(list *[]string, v string) {
		if len(*list) == v1alpha1.MaxSchemaChanges {
			sc.Truncated = true
			return
		}
		*list = append(*list, v)
	}
	for _, c := range changes {
		sc.Breaking = sc.Breaking || c.Breaking
		switch c.Kind {
		case schema.Added:
			add(&sc.Added, StatusName(c.Column))
		case schema.Removed:
			add(&sc.Removed, StatusName(c.Column))
		default:
			if len(sc.TypeChanges) == v1alpha1.MaxSchemaChanges {
				sc.Truncated = true
				continue
			}
			sc.TypeChanges = append(sc.TypeChanges, v1alpha1.TypeChange{Column: StatusName(c.Column), From: c.From, To: c.To, Breaking: c.Breaking})
		}
	}
	return sc
}

// SplitManifestURI splits a manifest's URI into the URI of its dataset's
// output (the query kept) and the manifest's key under it.
func SplitManifestURI(uri string) (base, key string, err error) {
	i := strings.LastIndex(strings.SplitN(uri, "?", 2)[0], "/builds/")
	if i < 0 {
		return "", "", fmt.Errorf("manifest URI %s: no builds/ folder", uri)
	}
	base, key = uri[:i], uri[i+1:]
	q := ""
	if j := strings.IndexByte(key, '?'); j >= 0 {
		key, q = key[:j], key[j:]
	}
	return base + "/" + q, key, nil
}
