package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/dataset"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/profile"
	"github.com/mldata-io/mldata/pkg/report"
	"github.com/mldata-io/mldata/pkg/storage"
)

// Report file names under <output.uri>/<runID>/.
const (
	ProfileJSON = "profile.json"
	ProfileHTML = "profile.html"
	DriftJSON   = "drift.json"
	DriftHTML   = "drift.html"
)

// ProfileResult is what a DatasetProfile run produced.
type ProfileResult struct {
	Profile       *profile.Profile
	ReportURI     string
	HTMLReportURI string
	// SourceBuildID is the build profiled when the source is a published
	// build.
	SourceBuildID string
}

// openInput opens a resolved input as a dataset. A pinned build id must be
// the published one: pkg/dataset reads the build latest.json names.
func openInput(ctx context.Context, in *Input, workers int, opt Options) (*dataset.Dataset, error) {
	kind, err := sourceKind(v1alpha1.SourceFormat(in.Format))
	if err != nil {
		return nil, err
	}
	ds, err := dataset.Open(ctx, in.URI, dataset.Options{
		Format: kind, Include: in.Include, Split: in.Split, ScratchDir: opt.ScratchDir, Workers: workers,
		Read: format.Options{InferTimestamps: true},
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

// writeReport writes the JSON report and, when html is set, the HTML page
// under <out>/<runID>/, and returns their URIs.
func writeReport(ctx context.Context, out v1alpha1.ReportOutputSpec, runID, jsonName, htmlName string, v any, html func(*bytes.Buffer) error) (jsonURI, htmlURI string, err error) {
	loc, err := storage.OpenOutput(ctx, string(out.URI))
	if err != nil {
		return "", "", err
	}
	defer loc.Close()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", "", fmt.Errorf("encoding %s: %w", jsonName, err)
	}
	key := runID + "/" + jsonName
	if err := loc.WriteFile(ctx, key, append(data, '\n')); err != nil {
		return "", "", fmt.Errorf("writing %s: %w", loc.URIOf(key), err)
	}
	jsonURI = loc.URIOf(key)
	if out.HTML == nil || *out.HTML {
		var page bytes.Buffer
		if err := html(&page); err != nil {
			return "", "", err
		}
		key := runID + "/" + htmlName
		if err := loc.WriteFile(ctx, key, page.Bytes()); err != nil {
			return "", "", fmt.Errorf("writing %s: %w", loc.URIOf(key), err)
		}
		htmlURI = loc.URIOf(key)
	}
	return jsonURI, htmlURI, nil
}

// RunProfile profiles the task's source and writes the reports.
func RunProfile(ctx context.Context, t *Task, opt Options) (*ProfileResult, error) {
	spec := t.Profile
	popt := profile.Options{}
	if o := spec.Options; o != nil {
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
	}
	ds, err := openInput(ctx, t.Source, popt.Workers, opt)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	p, err := profile.Compute(ctx, ds.Schema, ds.Scan, popt)
	if err != nil {
		return nil, fmt.Errorf("profiling %s: %w", ds.Location(), err)
	}
	p.Path, p.FileSize = ds.Location().String(), ds.Size
	r := &ProfileResult{Profile: p}
	if ds.Build != nil {
		r.SourceBuildID = ds.Build.BuildID
	}
	r.ReportURI, r.HTMLReportURI, err = writeReport(ctx, spec.Output, runID(t, opt), ProfileJSON, ProfileHTML, p,
		func(b *bytes.Buffer) error { return report.Profile(b, p) })
	if err != nil {
		return nil, err
	}
	return r, nil
}

func runID(t *Task, opt Options) string {
	if t.RunID != "" {
		return t.RunID
	}
	return opt.now().Format("20060102T150405Z")
}

// Summary is the termination message of the profile.
func (r *ProfileResult) Summary() *Summary {
	p := r.Profile
	return &Summary{
		Kind: KindDatasetProfile, OK: true, ReportURI: r.ReportURI, HTMLReportURI: r.HTMLReportURI,
		SourceBuildID: r.SourceBuildID, ProfileRows: p.NumRows, Columns: int32(p.NumColumns),
		Message: fmt.Sprintf("profiled %d rows, %d columns", p.NumRows, p.NumColumns),
	}
}

// ColumnSummaries is the bounded per-column summary of a profile for status:
// the first MaxProfileColumns columns.
func ColumnSummaries(p *profile.Profile) []v1alpha1.ColumnSummary {
	var out []v1alpha1.ColumnSummary
	for i, c := range p.Schema.Columns {
		if i == v1alpha1.MaxProfileColumns {
			break
		}
		cs := v1alpha1.ColumnSummary{Name: c.Name, DType: c.DType, NullCount: c.NullCount, UniqueCount: c.UniqueCount}
		if st, ok := p.Statistics.Get(c.Name); ok && st != nil {
			cs.Mean, cs.Std, cs.Min, cs.Max = finite(st.Mean), finite(st.Std), finite(st.Min), finite(st.Max)
		}
		if d, ok := p.Distributions.Get(c.Name); ok && len(d) > 0 {
			cs.Top = Truncate(d[0].Key, 256)
		}
		out = append(out, cs)
	}
	return out
}

// finite drops NaN and ±Inf, which JSON (and so the API server) cannot
// carry as numbers.
func finite(f *profile.Float) *float64 {
	if f == nil || math.IsNaN(float64(*f)) || math.IsInf(float64(*f), 0) {
		return nil
	}
	v := float64(*f)
	return &v
}

// ApplyProfile records a finished profile run in status. p may be nil (the
// controller reads only the summary); columnSummaries then stay as they were.
func ApplyProfile(st *v1alpha1.DatasetProfileStatus, gen int64, s *Summary, p *profile.Profile, now time.Time) {
	setCond := conditionSetter(&st.Conditions, gen)
	st.ObservedGeneration = gen
	setCond(v1alpha1.ConditionReconciling, false, v1alpha1.ReasonSucceeded, "no profile is running")
	if !s.OK {
		setCond(v1alpha1.ConditionReady, false, s.Reason, s.Message)
		setCond(v1alpha1.ConditionStalled, true, s.Reason, s.Message)
		return
	}
	setCond(v1alpha1.ConditionReady, true, v1alpha1.ReasonSucceeded, s.Message)
	setCond(v1alpha1.ConditionStalled, false, v1alpha1.ReasonSucceeded, "")
	t := metav1.NewTime(now)
	st.LastProfileTime = &t
	st.ReportURI, st.HTMLReportURI, st.SourceBuildID = s.ReportURI, s.HTMLReportURI, s.SourceBuildID
	st.Rows, st.Columns = s.ProfileRows, s.Columns
	if p != nil {
		st.ColumnSummaries = ColumnSummaries(p)
		st.Approximate = len(p.Approximate) > 0
	}
}

// conditionSetter returns a function that sets one condition with
// observedGeneration gen and a bounded message.
func conditionSetter(conds *[]metav1.Condition, gen int64) func(typ string, ok bool, reason, msg string) {
	return func(typ string, ok bool, reason, msg string) {
		status := metav1.ConditionFalse
		if ok {
			status = metav1.ConditionTrue
		}
		apimeta.SetStatusCondition(conds, metav1.Condition{
			Type: typ, Status: status, Reason: reason, Message: Truncate(msg, 32768), ObservedGeneration: gen,
		})
	}
}
