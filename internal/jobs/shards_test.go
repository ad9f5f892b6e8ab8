package jobs

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/utils/ptr"
)

// TestShards checks the Indexed Job of a sharded build against the one-pod
// Job it extends: only the fields of shards differ.
func TestShards(t *testing.T) {
	settings := Settings{Image: "mldata:test", BackoffLimit: 2, TTLSecondsAfterFinished: ptr.To[int32](3600)}
	run := Run{Owner: owner("churn"), GVK: gvk, ID: "abc123-shard", Task: task}
	for _, tc := range []struct {
		shards, maxParallel, wantParallel int32
	}{{4, 0, 4}, {4, 2, 2}, {4, 9, 4}, {1, 0, 1}} {
		j, err := Shards(settings, run, tc.shards, tc.maxParallel)
		if err != nil {
			t.Fatal(err)
		}
		if ptr.Deref(j.Spec.Completions, 0) != tc.shards || ptr.Deref(j.Spec.Parallelism, 0) != tc.wantParallel {
			t.Errorf("shards %d maxParallel %d: completions %v parallelism %v", tc.shards, tc.maxParallel, j.Spec.Completions, j.Spec.Parallelism)
		}
		if ptr.Deref(j.Spec.CompletionMode, "") != batchv1.IndexedCompletion || j.Spec.BackoffLimit != nil || ptr.Deref(j.Spec.BackoffLimitPerIndex, 0) != 2 {
			t.Errorf("mode %v backoffLimit %v perIndex %v", j.Spec.CompletionMode, j.Spec.BackoffLimit, j.Spec.BackoffLimitPerIndex)
		}
		one, err := Build(settings, run)
		if err != nil {
			t.Fatal(err)
		}
		// Apart from those fields, the same Job as a one-pod build's.
		j.Spec.CompletionMode, j.Spec.Completions, j.Spec.Parallelism = nil, nil, nil
		j.Spec.BackoffLimit, j.Spec.BackoffLimitPerIndex, j.Spec.PodFailurePolicy = one.Spec.BackoffLimit, nil, nil
		j.Spec.Template.Spec.TopologySpreadConstraints = nil
		if d := cmp.Diff(one, j); d != "" {
			t.Errorf("beyond the shard fields (-one-pod +shards):\n%s", d)
		}
	}
	if _, err := Shards(settings, run, 0, 0); err == nil {
		t.Error("0 shards accepted")
	}
}
