package worker

import (
	"errors"
	"strings"
	"testing"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/storage"
)

func TestCheckTaskURIs(t *testing.T) {
	build := &v1alpha1.DatasetBuildSpec{}
	build.Source.URI = "s3://in/data/"
	build.Output.URI = "file:///var/run/secrets/kubernetes.io/"
	drift := &v1alpha1.DriftCheckSpec{}
	drift.Output.URI = "s3://out/drift/"
	tests := []struct {
		name string
		task *Task
		want string // field named in the refusal; "" allowed
	}{
		{name: "build output on the pod's filesystem", task: &Task{Kind: KindDatasetBuild, Build: build}, want: "spec.output.uri"},
		{name: "drift input resolved from a reference", task: &Task{Kind: KindDriftCheck, Drift: drift,
			Baseline: &Input{URI: "s3://b/base/"}, Current: &Input{URI: "s3://b/cur/?endpoint=http://127.0.0.1:9000"}}, want: "spec.current"},
		{name: "drift allowed", task: &Task{Kind: KindDriftCheck, Drift: drift,
			Baseline: &Input{URI: "s3://b/base/"}, Current: &Input{URI: "gs://b/cur/"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckURIs(storage.DefaultPolicy(), TaskURIs(tc.task))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var f *Failure
			if !errors.As(err, &f) || f.Reason != ReasonURIRefused || !strings.HasPrefix(err.Error(), tc.want+" ") {
				t.Fatalf("got %v, want a %s refusal naming %s", err, ReasonURIRefused, tc.want)
			}
		})
	}
}
