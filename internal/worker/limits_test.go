package worker

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/format"
)

func qty(s string) *resource.Quantity { q := resource.MustParse(s); return &q }

func TestResolveLimits(t *testing.T) {
	defaults := Limits{MaxColumns: 10000, MaxRecordBytes: 64 << 20, MaxFileBytes: 64 << 30, MaxChunkBytes: 512 << 20}
	ceiling := format.Limits{MaxColumns: 500, MaxRecordBytes: 1 << 20, MaxFileBytes: 1 << 30, MaxChunkBytes: 64 << 20}
	for _, tc := range []struct {
		name    string
		spec    *v1alpha1.InputLimits
		ceiling format.Limits
		want    Limits
		err     string
	}{
		{"no spec, no ceilings: the defaults", nil, format.Limits{}, defaults, ""},
		{"no spec: the ceilings", nil, ceiling, Limits{500, 1 << 20, 1 << 30, 64 << 20}, ""},
		{"lower than the ceilings", &v1alpha1.InputLimits{MaxColumns: ptr.To[int32](20), MaxRecordBytes: qty("4Ki"), MaxFileBytes: qty("16Mi"), MaxChunkBytes: qty("2Mi")},
			ceiling, Limits{20, 4 << 10, 16 << 20, 2 << 20}, ""},
		{"some fields", &v1alpha1.InputLimits{MaxChunkBytes: qty("256Mi")}, format.Limits{},
			Limits{10000, 64 << 20, 64 << 30, 256 << 20}, ""},
		{"equal to the ceilings", &v1alpha1.InputLimits{MaxColumns: ptr.To[int32](500), MaxChunkBytes: qty("64Mi")}, ceiling, Limits{500, 1 << 20, 1 << 30, 64 << 20}, ""},
		{"columns above", &v1alpha1.InputLimits{MaxColumns: ptr.To[int32](501)}, ceiling, Limits{},
			"spec.limits.maxColumns 501 is above the operator's ceiling of 500 (flag --max-columns): lower it, or have the operator's administrators raise --max-columns"},
		{"chunk above the default ceiling", &v1alpha1.InputLimits{MaxChunkBytes: qty("2Gi")}, format.Limits{}, Limits{},
			"spec.limits.maxChunkBytes 2Gi is above the operator's ceiling of 512Mi (flag --max-chunk-bytes)"},
		{"record above", &v1alpha1.InputLimits{MaxRecordBytes: qty("2Mi")}, ceiling, Limits{},
			"spec.limits.maxRecordBytes 2Mi is above the operator's ceiling of 1Mi (flag --max-record-bytes)"},
		{"file bytes above", &v1alpha1.InputLimits{MaxFileBytes: qty("1073741825")}, ceiling, Limits{},
			"spec.limits.maxFileBytes 1073741825 is above the operator's ceiling of 1Gi (flag --max-file-bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveLimits(tc.spec, tc.ceiling)
			if tc.err != "" {
				var le *LimitError
				if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want a *LimitError containing %q", err, tc.err)
				}
				return
			}
			if err != nil || *got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// The Task's limits, and a spec's own, are what the readers use.
func TestTaskLimitsReachTheReader(t *testing.T) {
	src := filepath.Join(sampleDir(t, "sample"), "customers-2024a.csv") // 10 columns
	profile := func(spec *v1alpha1.InputLimits, task *Limits) (*Result, error) {
		tk := &Task{Kind: KindDatasetProfile, Name: "p", RunID: "r",
			Profile: &v1alpha1.DatasetProfileSpec{Output: v1alpha1.ReportOutputSpec{URI: v1alpha1.BucketURI(t.TempDir())}, Limits: spec},
			Source:  &Input{URI: src}, Limits: task}
		// Through JSON, as a Job receives it.
		data, err := json.Marshal(tk)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeTask(data)
		if err != nil {
			t.Fatal(err)
		}
		return Run(context.Background(), back, Options{})
	}
	wide := "customers-2024a.csv: line 1: header has 10 columns, more than the limit of 9; raise the limit with --max-columns"
	task := &Limits{MaxColumns: 9, MaxRecordBytes: 1 << 20, MaxFileBytes: 1 << 30, MaxChunkBytes: 64 << 20}
	if _, err := profile(nil, task); err == nil || !strings.Contains(err.Error(), wide) || ReasonOf(err) != v1alpha1.ReasonInvalidInput {
		t.Errorf("task limit of 9 columns: %v (%s)", err, ReasonOf(err))
	}
	// A local run (no resolved limits) applies the spec's.
	if _, err := profile(&v1alpha1.InputLimits{MaxColumns: ptr.To[int32](9)}, nil); err == nil || !strings.Contains(err.Error(), wide) {
		t.Errorf("spec limit of 9 columns: %v", err)
	}
	// The spec cannot go above the resolved limits.
	_, err := profile(&v1alpha1.InputLimits{MaxColumns: ptr.To[int32](10)}, task)
	if err == nil || ReasonOf(err) != v1alpha1.ReasonInvalidSpec || !strings.Contains(err.Error(), "spec.limits.maxColumns 10 is above the operator's ceiling of 9") {
		t.Errorf("spec above the task's limits: %v (%s)", err, ReasonOf(err))
	}
	res, err := profile(&v1alpha1.InputLimits{MaxColumns: ptr.To[int32](10)}, &Limits{MaxColumns: 10, MaxRecordBytes: 1 << 20, MaxFileBytes: 1 << 30, MaxChunkBytes: 64 << 20})
	if err != nil || res.Summary.Columns != 10 {
		t.Fatalf("at the limit: %v", err)
	}
}
