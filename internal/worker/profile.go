package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mldata-io/mldata/api/v1alpha1"
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
	opt, err := limitOptions(t.Profile.Limits, opt)
	if err != nil {
		return nil, err
	}
	r, err := ProfileInput(ctx, t.Source, ProfileOptions(t.Profile.Options), opt)
	if err != nil {
		return nil, err
	}
	p := r.Profile
	r.ReportURI, r.HTMLReportURI, err = writeReport(ctx, t.Profile.Output, runID(t, opt), ProfileJSON, ProfileHTML, p,
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
		ColumnSummaries: ColumnSummaries(p), Approximate: len(p.Approximate) > 0,
		Message: fmt.Sprintf("profiled %d rows, %d columns", p.NumRows, p.NumColumns),
	}
}

// Bounds of a column summary's values, so that many columns fit in a
// termination message (see ColumnList).
const (
	summaryDigits = 8
	summaryTopLen = 64
)

// ColumnSummaries is the bounded per-column summary of a profile: the
// first MaxProfileColumns columns, with mean and std rounded to 8
// significant digits (min and max are values of the data and stay exact)
// and the top value cut to 64 bytes.
func ColumnSummaries(p *profile.Profile) []v1alpha1.ColumnSummary {
	var out []v1alpha1.ColumnSummary
	for i, c := range p.Schema.Columns {
		if i == v1alpha1.MaxProfileColumns {
			break
		}
		cs := v1alpha1.ColumnSummary{Name: c.Name, DType: c.DType, NullCount: c.NullCount, UniqueCount: c.UniqueCount}
		if st, ok := p.Statistics.Get(c.Name); ok && st != nil {
			cs.Mean, cs.Std = round(finite(st.Mean)), round(finite(st.Std))
			cs.Min, cs.Max = finite(st.Min), finite(st.Max)
		}
		if d, ok := p.Distributions.Get(c.Name); ok && len(d) > 0 {
			cs.Top = Truncate(d[0].Key, summaryTopLen)
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

// round rounds to summaryDigits significant digits.
func round(f *float64) *float64 {
	if f == nil {
		return nil
	}
	v, _ := strconv.ParseFloat(strconv.FormatFloat(*f, 'g', summaryDigits, 64), 64)
	return &v
}

// ApplyProfile records a finished profile run in status, from its summary
// alone (the controller reads nothing else; `mldata run` passes the summary
// through the same encoding, so that both show the same). A failed run
// leaves the last profile's numbers as they were.
func ApplyProfile(st *v1alpha1.DatasetProfileStatus, gen int64, s *Summary, now time.Time) {
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
	st.Rows, st.Columns, st.Approximate = s.ProfileRows, s.Columns, s.Approximate
	st.ColumnSummaries = s.ColumnSummaries
	if len(st.ColumnSummaries) > v1alpha1.MaxProfileColumns {
		st.ColumnSummaries = st.ColumnSummaries[:v1alpha1.MaxProfileColumns]
	}
	st.OmittedColumns = max(s.Columns-int32(len(st.ColumnSummaries)), 0)
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
