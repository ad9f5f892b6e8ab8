package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mldata-io/mldata/internal/worker"
	"github.com/mldata-io/mldata/pkg/storage"
)

// TestWorkerEnforcesPolicy: a Job's worker refuses what the operator's
// policy (handed over in its environment) refuses, before reading
// anything, and says so in its termination message; without the policy
// (a local run) the same task runs.
func TestWorkerEnforcesPolicy(t *testing.T) {
	dir := t.TempDir()
	abs, _ := filepath.Abs(sample)
	term := filepath.Join(dir, "term")
	t.Setenv(worker.TaskEnv, `{"kind":"DatasetBuild","build":{"source":{"uri":"file://`+abs+`"},"output":{"uri":"file://`+dir+`/out"}}}`)
	t.Setenv(storage.EnvAllowedSchemes, "s3,gs,azblob")
	t.Setenv(storage.EnvAllowedEndpoints, "")
	if _, _, code := pdRun(t, "worker", "datasetbuild", "--termination-log", term); code != exitFailure {
		t.Fatalf("refused task: exit %d", code)
	}
	raw, _ := os.ReadFile(term)
	s, err := worker.DecodeSummary(raw)
	if err != nil || s.OK || s.Reason != worker.ReasonURIRefused || !strings.Contains(s.Message, "spec.source.uri") || !strings.Contains(s.Message, "--allowed-schemes") {
		t.Errorf("summary %s: %v", raw, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("the refused build wrote its output: %v", err)
	}

	// An endpoint from a Secret's keys (envFrom) is checked too.
	t.Setenv(storage.EnvAllowedSchemes, "s3,file")
	t.Setenv(storage.AWSEndpointURL, "http://127.0.0.1:9")
	if _, _, code := pdRun(t, "worker", "datasetbuild", "--termination-log", term); code != exitFailure {
		t.Fatalf("refused endpoint: exit %d", code)
	}
	raw, _ = os.ReadFile(term)
	if s, err := worker.DecodeSummary(raw); err != nil || s.Reason != worker.ReasonURIRefused || !strings.Contains(s.Message, "AWS_ENDPOINT_URL") {
		t.Errorf("summary %s: %v", raw, err)
	}

	// Allowed explicitly, it runs.
	t.Setenv(storage.EnvAllowedEndpoints, "127.0.0.1/32")
	if _, stderr, code := pdRun(t, "worker", "datasetbuild", "--termination-log", term); code != exitOK {
		t.Fatalf("allowed task: exit %d: %s", code, stderr)
	}
}
