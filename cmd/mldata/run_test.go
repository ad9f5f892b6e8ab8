package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/internal/worker"
)

func TestRunCommand(t *testing.T) {
	dir := t.TempDir()
	abs, _ := filepath.Abs(sample)
	drifted, _ := filepath.Abs("../../testdata/sample-drifted")
	file := filepath.Join(dir, "m.yaml")
	doc := `apiVersion: mldata.io/v1alpha1
kind: DatasetBuild
metadata: {name: churn}
spec:
  source: {uri: ` + abs + `}
  output: {uri: ` + dir + `/churn}
  split: {ratios: [{name: train, ratio: 0.8}, {name: test, ratio: 0.2}], key: customer_id}
---
apiVersion: mldata.io/v1alpha1
kind: DriftCheck
metadata: {name: fee}
spec:
  baseline: {datasetBuildRef: {name: churn, split: train}}
  current: {uri: ` + drifted + `}
  columns: {include: [monthly_fee]}
  output: {uri: ` + dir + `/drift}
`
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := pdRun(t, "run", "-f", file)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	docs := strings.Split(stdout, "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("%d documents:\n%s", len(docs), stdout)
	}
	var b struct{ Status v1alpha1.DatasetBuildStatus }
	if err := yaml.Unmarshal([]byte(docs[0]), &b); err != nil {
		t.Fatal(err)
	}
	if b.Status.TotalRows != 1000 || len(b.Status.Rows) != 2 || b.Status.Rows[0].Rows+b.Status.Rows[1].Rows != 1000 {
		t.Errorf("build status %+v", b.Status)
	}
	var d struct{ Status v1alpha1.DriftCheckStatus }
	if err := yaml.Unmarshal([]byte(docs[1]), &d); err != nil {
		t.Fatal(err)
	}
	if d.Status.LastRun == nil || d.Status.LastRun.ColumnsChecked != 1 || d.Status.LastRun.MaxPSI == nil {
		t.Errorf("drift status %+v", d.Status)
	}

	if _, _, code := pdRun(t, "run"); code != exitUsage {
		t.Errorf("run without -f: exit %d", code)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("apiVersion: mldata.io/v1alpha1\nkind: DatasetBuild\nmetadata: {name: x}\nspec: {source: {uri: "+dir+"/none}, output: {uri: "+dir+"/o}}\n"), 0o644)
	if _, stderr, code := pdRun(t, "run", "-f", bad); code != exitFailure || !strings.Contains(stderr, "1 of 1 resource(s) failed") {
		t.Errorf("failing run: exit %d, %s", code, stderr)
	}
}

func TestWorkerCommand(t *testing.T) {
	dir := t.TempDir()
	abs, _ := filepath.Abs(sample)
	term := filepath.Join(dir, "term")
	t.Setenv(worker.TaskEnv, `{"kind":"DatasetBuild","build":{"source":{"uri":"`+abs+`"},"output":{"uri":"`+dir+`/out"}}}`)
	if _, stderr, code := pdRun(t, "worker", "datasetbuild", "--termination-log", term); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	raw, _ := os.ReadFile(term)
	s, err := worker.DecodeSummary(raw)
	if err != nil || !s.OK || s.SourceCount != 2 || s.FilesProcessed != 2 {
		t.Errorf("summary %s: %v", raw, err)
	}
	if _, _, code := pdRun(t, "worker", "driftcheck", "--termination-log", term); code != exitUsage {
		t.Errorf("kind mismatch: exit %d", code)
	}
	if _, _, code := pdRun(t, "worker", "pods"); code != exitUsage {
		t.Errorf("unknown kind: exit %d", code)
	}
	t.Setenv(worker.TaskEnv, `{"kind":"DatasetBuild","build":{"source":{"uri":"`+dir+`/missing"},"output":{"uri":"`+dir+`/out2"}}}`)
	if _, _, code := pdRun(t, "worker", "datasetbuild", "--termination-log", term); code != exitFailure {
		t.Errorf("failing build: exit %d", code)
	}
	raw, _ = os.ReadFile(term)
	if s, err := worker.DecodeSummary(raw); err != nil || s.OK || s.Reason != v1alpha1.ReasonJobFailed || s.Message == "" {
		t.Errorf("failure summary %s", raw)
	}
}
