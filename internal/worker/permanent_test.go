package worker

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// The termination summary tells the controller whether running again can
// help: real runs that fail on bad input, validation or the schema policy
// are permanent; a store that cannot be reached, or a run cut short, is
// transient.
func TestFailureSummaryPermanent(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good/a.csv", "id,x\n1,2\n2,3\n")
	// Row 2 has three fields where the header has two.
	bad := writeFile(t, dir, "bad/a.csv", "id,x\n1,2\n2,3,4\n")
	out := filepath.Join(dir, "out")
	build := func(src string, mut func(*v1alpha1.DatasetBuildSpec)) error {
		s := &v1alpha1.DatasetBuildSpec{Source: v1alpha1.SourceSpec{URI: v1alpha1.BucketURI(src), Format: v1alpha1.SourceFormatCSV}, Output: v1alpha1.OutputSpec{URI: v1alpha1.BucketURI(out)}}
		if mut != nil {
			mut(s)
		}
		_, err := RunBuild(ctx, s, Options{})
		return err
	}
	rows := int64(100)
	tests := []struct {
		name          string
		err           error
		wantReason    string
		wantPermanent bool
	}{
		{"unparsable row", build(bad, nil), v1alpha1.ReasonInvalidInput, true},
		{"validation failed", build(good, func(s *v1alpha1.DatasetBuildSpec) {
			s.Validation = &v1alpha1.ValidationSpec{Rules: []v1alpha1.ValidationRule{{Type: v1alpha1.RuleMinRows, Rows: &rows}}}
		}), v1alpha1.ReasonValidationFailed, true},
		{"invalid spec", build(good, func(s *v1alpha1.DatasetBuildSpec) { s.Source.Format = "xml" }), v1alpha1.ReasonInvalidSpec, true},
		{"missing source", build(filepath.Join(dir, "none"), nil), v1alpha1.ReasonJobFailed, false},
		{"storage error", fmt.Errorf("writing part-00000.parquet: %w", errors.New("503 SlowDown")), v1alpha1.ReasonJobFailed, false},
		{"deadline inside a typed failure", &Failure{Reason: v1alpha1.ReasonInvalidSpec, Err: context.DeadlineExceeded}, v1alpha1.ReasonInvalidSpec, false},
		{"reference not ready", &Failure{Reason: v1alpha1.ReasonReferenceNotReady, Err: errors.New("no build yet")}, v1alpha1.ReasonReferenceNotReady, false},
		{"reference not found", &Failure{Reason: v1alpha1.ReasonReferenceNotFound, Err: errors.New("gone")}, v1alpha1.ReasonReferenceNotFound, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("the run did not fail")
			}
			s := FailureSummary(KindDatasetBuild, tc.err)
			if s.Reason != tc.wantReason || s.Permanent != tc.wantPermanent {
				t.Errorf("reason %s permanent %v, want %s %v (error: %v)", s.Reason, s.Permanent, tc.wantReason, tc.wantPermanent, tc.err)
			}
			// It survives the termination message.
			data, err := s.Encode()
			if err != nil {
				t.Fatal(err)
			}
			back, err := DecodeSummary(data)
			if err != nil || back.Permanent != tc.wantPermanent {
				t.Errorf("decoded permanent %v, err %v", back.Permanent, err)
			}
		})
	}
}
