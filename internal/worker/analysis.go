package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/dataset"
	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/profile"
	"github.com/mldata-io/mldata/pkg/storage"
)

// This file is the one place where profile and drift settings become calls
// of pkg/dataset, pkg/profile and pkg/drift. `mldata worker`, `mldata run`
// and the `mldata profile` and `mldata drift` commands all come through it,
// so that a profile or a drift check computes the same numbers, at the same
// cost, wherever it runs.

// AnalysisChunkRows is the chunk size profile and drift read with. They keep
// nothing of a chunk once it is counted, so smaller chunks than a build's
// (format.DefaultChunkRows) only shrink what is in flight: a quarter of the
// default takes about 90 MiB off the peak memory of reading a file on two
// cores, at no measurable cost in time.
const AnalysisChunkRows = format.DefaultChunkRows / 4

// OpenInput opens a resolved input as a dataset for profile or drift. It
// skips the SHA-256 pass, since these runs record no provenance, and reads
// text with the format's own inference (no timestamp inference,
// as pandas' read_csv). A pinned build id must be the published one:
// pkg/dataset reads the build latest.json names.
func OpenInput(ctx context.Context, in *Input, workers int, opt Options) (*dataset.Dataset, error) {
	kind, err := sourceKind(v1alpha1.SourceFormat(in.Format))
	if err != nil {
		return nil, &Failure{Reason: v1alpha1.ReasonInvalidSpec, Err: err}
	}
	ds, err := dataset.Open(ctx, in.URI, dataset.Options{
		Format: kind, Include: in.Include, Split: in.Split, ScratchDir: opt.ScratchDir, Workers: workers,
		SkipHash: true, Read: format.Options{ChunkRows: AnalysisChunkRows, Limits: opt.Limits},
	})
	if err != nil {
		return nil, err
	}
	if in.BuildID != "" && (ds.Build == nil || ds.Build.BuildID != in.BuildID) {
		published := "none"
		if ds.Build != nil {
			published = ds.Build.BuildID
		}
		ds.Close()
		return nil, &Failure{Reason: v1alpha1.ReasonReferenceNotReady,
			Err: fmt.Errorf("%s: pinned build %s is not the published build (%s); only the published build can be read", in.URI, in.BuildID, published)}
	}
	return ds, nil
}

// ProfileOptions converts a DatasetProfile's options into profile.Options.
// Fields the spec leaves out keep profile's defaults.
func ProfileOptions(o *v1alpha1.ProfileOptions) profile.Options {
	var popt profile.Options
	if o == nil {
		return popt
	}
	if o.Workers != nil {
		popt.Workers = int(*o.Workers)
	}
	if o.TopK != nil {
		popt.TopK = int(*o.TopK)
	}
	if o.HistogramBins != nil {
		popt.Bins = int(*o.HistogramBins)
	}
	if o.MaxMemory != nil {
		popt.MaxMemory = o.MaxMemory.Value()
	}
	return popt
}

// ProfileInput profiles an input. The result has no report URIs: the
// caller decides where the profile goes.
func ProfileInput(ctx context.Context, in *Input, popt profile.Options, opt Options) (*ProfileResult, error) {
	ds, err := OpenInput(ctx, in, popt.Workers, opt)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	// The row count sizes the tables of identifier-like columns once
	// instead of growing them step by step; results do not depend on it.
	popt.RowsHint = ds.Rows
	p, err := profile.Compute(ctx, ds.Schema, ds.Columns(nil), popt)
	if err != nil {
		return nil, fmt.Errorf("profiling %s: %w", ds.Location(), err)
	}
	p.Path, p.FileSize = ds.Location().String(), ds.Size
	r := &ProfileResult{Profile: p}
	if ds.Build != nil {
		r.SourceBuildID = ds.Build.BuildID
	}
	return r, nil
}

// CompareInputs compares current with baseline. The baseline is a stored
// profile when it is marked so (a datasetProfileRef) or when its URI names a
// JSON file that is a profile; otherwise both sides are data. The result has
// no report URIs: the caller decides where the report goes. Errors in what
// was asked (quantile bins against a profile, columns in neither dataset)
// are Failures with reason InvalidSpec.
func CompareInputs(ctx context.Context, baseline, current *Input, dopt drift.Options, opt Options) (*DriftResult, error) {
	res := &DriftResult{}
	var base drift.Input
	p, err := baselineProfile(ctx, baseline)
	switch {
	case err != nil:
		return nil, fmt.Errorf("baseline: %w", err)
	case p != nil:
		if dopt.Binning == drift.Quantile {
			return nil, &Failure{Reason: v1alpha1.ReasonInvalidSpec,
				Err: fmt.Errorf("quantile binning needs the baseline's values; %s is a profile, whose histogram pins the bins: use uniform binning", redacted(baseline.URI))}
		}
		base = drift.Input{Name: redacted(baseline.URI), Profile: p}
	default:
		ds, err := OpenInput(ctx, baseline, dopt.Workers, opt)
		if err != nil {
			return nil, fmt.Errorf("baseline: %w", err)
		}
		defer ds.Close()
		base = drift.Input{Name: ds.Location().String(), Schema: ds.Schema, Scan: ds.Scan, Columns: columns(ds), Rows: ds.Rows}
		if ds.Build != nil {
			res.BaselineBuildID = ds.Build.BuildID
		}
	}
	cur, err := OpenInput(ctx, current, dopt.Workers, opt)
	if err != nil {
		return nil, fmt.Errorf("current: %w", err)
	}
	defer cur.Close()
	if cur.Build != nil {
		res.CurrentBuildID = cur.Build.BuildID
	}
	r, err := drift.Compare(ctx, base, drift.Input{Name: cur.Location().String(), Schema: cur.Schema, Scan: cur.Scan, Columns: columns(cur), Rows: cur.Rows}, dopt)
	if err != nil {
		// pkg/drift has no error type for this; its message is the contract.
		var oe *drift.OptionError
		if strings.Contains(err.Error(), "in neither dataset") || errors.As(err, &oe) {
			return nil, &Failure{Reason: v1alpha1.ReasonInvalidSpec, Err: err}
		}
		return nil, fmt.Errorf("comparing: %w", err)
	}
	res.Report = r
	return res, nil
}

// columns lets a drift check read only the columns it compares.
func columns(ds *dataset.Dataset) func([]int) profile.ScanFunc {
	return func(cols []int) profile.ScanFunc { return ds.Columns(cols) }
}

// baselineProfile returns the stored profile a baseline names, or nil when
// the baseline is data. A baseline marked as a profile must be one; an
// unmarked one is a profile only if its URI names a JSON file with a
// schema (a build's latest.json is JSON too, and is read as data).
func baselineProfile(ctx context.Context, in *Input) (*profile.Profile, error) {
	name := strings.ToLower(in.URI)
	if i := strings.IndexAny(name, "?#"); i >= 0 && strings.Contains(name, "://") {
		name = name[:i]
	}
	if !in.Profile && !strings.HasSuffix(name, ".json") {
		return nil, nil
	}
	loc, err := storage.Open(ctx, in.URI)
	if err != nil {
		return nil, err
	}
	defer loc.Close()
	if loc.Object == "" {
		if in.Profile {
			return nil, fmt.Errorf("%s is a folder, not a profile JSON", loc)
		}
		return nil, nil
	}
	data, err := loc.ReadFile(ctx, loc.Object)
	if err != nil {
		return nil, err
	}
	if !in.Profile {
		var probe map[string]json.RawMessage
		if json.Unmarshal(data, &probe) != nil {
			return nil, nil
		}
		if _, ok := probe["schema"]; !ok {
			return nil, nil
		}
	}
	p, err := profile.Parse(data)
	if err != nil {
		if !in.Profile && errors.Is(err, profile.ErrNotProfile) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w", loc, err)
	}
	return p, nil
}

// redacted prints a URI the way storage does, without secret query values.
func redacted(uri string) string {
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		return uri[:i] + "?…"
	}
	return uri
}
