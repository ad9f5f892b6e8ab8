package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"
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

// mldata run -f prints a DatasetProfile's status as the controller writes
// it: the column summaries that the worker's termination message carries.
func TestRunProfileManifest(t *testing.T) {
	dir := t.TempDir()
	src := pdWrite(t, dir, "a.csv", pdBaseCSV)
	file := pdWrite(t, dir, "p.yaml", `apiVersion: mldata.io/v1alpha1
kind: DatasetProfile
metadata: {name: prices}
spec:
  source: {uri: `+src+`}
  output: {uri: `+dir+`/reports, html: false}
`)
	stdout, stderr, code := pdRun(t, "run", "-f", file)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct{ Status v1alpha1.DatasetProfileStatus }
	if err := yaml.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	st := doc.Status
	// price: 10.5, 11, 13.25, 9.75 and a null; std sqrt(6.8125/3) to 8
	// significant digits.
	price := v1alpha1.ColumnSummary{Name: "price", DType: "float64", NullCount: 1, UniqueCount: 4,
		Mean: ptr.To(11.125), Std: ptr.To(1.5069284), Min: ptr.To(9.75), Max: ptr.To(13.25)}
	if len(st.ColumnSummaries) != 3 || st.Rows != 5 || st.Columns != 3 || st.OmittedColumns != 0 {
		t.Fatalf("status %+v", st)
	}
	if d := cmp.Diff(price, st.ColumnSummaries[1]); d != "" || st.ColumnSummaries[2].Top != "FR" {
		t.Errorf("top %q; price (-want +got):\n%s", st.ColumnSummaries[2].Top, d)
	}
	if !strings.Contains(stdout, "    mean: 11.125\n") || !strings.Contains(stdout, "    top: FR\n") {
		t.Errorf("printed status:\n%s", stdout)
	}
}

// mldata run -f applies spec.limits under its --max-* flags, as the
// manager does.
func TestRunManifestLimits(t *testing.T) {
	dir := t.TempDir()
	src := pdWrite(t, dir, "a.csv", pdBaseCSV) // 3 columns
	manifest := func(limits string) string {
		return pdWrite(t, t.TempDir(), "p.yaml", `apiVersion: mldata.io/v1alpha1
kind: DatasetProfile
metadata: {name: prices}
spec:
  source: {uri: `+src+`}
  output: {uri: `+dir+`/reports, html: false}
  limits: `+limits+`
`)
	}
	wide := "a.csv: line 1: header has 3 columns, more than the limit of 2; raise the limit with --max-columns"
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"spec limit", []string{"-f", manifest("{maxColumns: 2}")}, exitFailure, wide},
		{"flag limit", []string{"-f", manifest("{}"), "--max-columns", "2"}, exitFailure, wide},
		{"spec above the flag", []string{"-f", manifest("{maxColumns: 5}"), "--max-columns", "4"}, exitFailure,
			"spec.limits.maxColumns 5 is above the operator's ceiling of 4 (flag --max-columns)"},
		{"spec within the flag", []string{"-f", manifest("{maxColumns: 3, maxChunkBytes: 16Mi}"), "--max-columns", "4"}, exitOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := pdRun(t, append([]string{"run"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d; stderr %q lacks %q", code, tc.code, stderr, tc.want)
			}
		})
	}
}
