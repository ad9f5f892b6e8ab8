package worker

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/pipeline"
)

var fixedNow = time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC)

func sampleDir(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// readCSV reads every CSV file of dir with encoding/csv: an independent
// reader to compute expected values.
func readCSV(t *testing.T, dir string) (header []string, rows [][]string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	sort.Strings(files)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(fh).ReadAll()
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		header = recs[0]
		rows = append(rows, recs[1:]...)
	}
	return header, rows
}

func column(header []string, rows [][]string, name string) []string {
	i := -1
	for j, h := range header {
		if h == name {
			i = j
		}
	}
	var out []string
	for _, r := range rows {
		out = append(out, r[i])
	}
	return out
}

// psi is the PSI of docs/statistics.md over category shares with epsilon 0.001.
func psi(base, cur []string) float64 {
	cb, cc := map[string]float64{}, map[string]float64{}
	for _, v := range base {
		cb[v]++
	}
	for _, v := range cur {
		cc[v]++
	}
	keys := map[string]bool{}
	for k := range cb {
		keys[k] = true
	}
	for k := range cc {
		keys[k] = true
	}
	sum := 0.0
	for k := range keys {
		p, q := cb[k]/float64(len(base)), cc[k]/float64(len(cur))
		if p == 0 {
			p = 0.001
		}
		if q == 0 {
			q = 0.001
		}
		sum += (q - p) * math.Log(q/p)
	}
	return sum
}

func TestRunLocalSample(t *testing.T) {
	sample, drifted := sampleDir(t, "sample"), sampleDir(t, "sample-drifted")
	out := t.TempDir()
	manifestYAML := `apiVersion: mldata.io/v1alpha1
kind: DriftCheck
metadata:
  name: plan-drift
spec:
  baseline:
    datasetProfileRef: {name: raw}
  current:
    uri: ` + drifted + `
  columns:
    include: [plan]
  output:
    uri: ` + out + `/drift
    html: false
---
apiVersion: mldata.io/v1alpha1
kind: DatasetProfile
metadata:
  name: raw
spec:
  source:
    uri: ` + sample + `
    format: csv
  output:
    uri: ` + out + `/profile
---
apiVersion: mldata.io/v1alpha1
kind: DatasetBuild
metadata:
  name: churn
spec:
  source:
    uri: ` + sample + `
    include: ["customers-*.csv"]
  output:
    uri: ` + out + `/churn
  split:
    ratios: [{name: train, ratio: 0.8}, {name: validation, ratio: 0.1}, {name: test, ratio: 0.1}]
    key: customer_id
`
	rs, err := ParseManifests([]byte(manifestYAML))
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{Now: func() time.Time { return fixedNow }}
	ran := RunLocal(context.Background(), rs, opt)
	if len(ran) != 3 {
		t.Fatalf("ran %d resources, want 3", len(ran))
	}
	for _, r := range ran {
		if r.Err != nil {
			t.Fatalf("%s %s: %v", r.Kind(), r.Name(), r.Err)
		}
	}
	// Builds run first whatever the order in the file.
	if ran[0].Kind() != KindDatasetBuild || ran[1].Kind() != KindDatasetProfile || ran[2].Kind() != KindDriftCheck {
		t.Fatalf("order: %s %s %s", ran[0].Kind(), ran[1].Kind(), ran[2].Kind())
	}

	header, rows := readCSV(t, sample)
	b := ran[0].Build.Status
	if b.TotalRows != int64(len(rows)) {
		t.Errorf("totalRows = %d, want %d", b.TotalRows, len(rows))
	}
	var sum int64
	for _, r := range b.Rows {
		sum += r.Rows
	}
	if sum != b.TotalRows || len(b.Rows) != 3 || b.Rows[0].Name != "train" {
		t.Errorf("rows = %+v, total %d", b.Rows, b.TotalRows)
	}
	var wantSources []v1alpha1.SourceFile
	for _, n := range []string{"customers-2024a.csv", "customers-2024b.csv"} {
		data, err := os.ReadFile(filepath.Join(sample, n))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(data)
		wantSources = append(wantSources, v1alpha1.SourceFile{Key: n, Size: int64(len(data)), SHA256: hex.EncodeToString(h[:])})
	}
	if d := cmp.Diff(wantSources, b.Sources); d != "" {
		t.Errorf("sources (-want +got):\n%s", d)
	}
	var lines []string
	for _, s := range wantSources {
		lines = append(lines, s.Key+":"+s.SHA256+"\n")
	}
	sort.Strings(lines)
	dg := sha256.Sum256([]byte(strings.Join(lines, "")))
	if got, want := b.SourceDigest, hex.EncodeToString(dg[:]); got != want {
		t.Errorf("sourceDigest = %s, want %s", got, want)
	}
	if b.Schema == nil || b.Schema.Version != 1 || b.Schema.ColumnCount != int32(len(header)) || b.FilesProcessed != 2 {
		t.Errorf("schema %+v, filesProcessed %d", b.Schema, b.FilesProcessed)
	}
	for _, c := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionValidated, v1alpha1.ConditionSchemaCompatible} {
		if !apimeta.IsStatusConditionTrue(b.Conditions, c) {
			t.Errorf("condition %s not True: %+v", c, b.Conditions)
		}
	}
	if !strings.HasSuffix(b.ManifestURI, "/builds/"+b.BuildID+"/manifest.json") {
		t.Errorf("manifestURI %s", b.ManifestURI)
	}

	p := ran[1].Profile.Status
	if p.Rows != int64(len(rows)) || p.Columns != int32(len(header)) {
		t.Errorf("profile rows %d columns %d", p.Rows, p.Columns)
	}
	fee := column(header, rows, "monthly_fee")
	mean := 0.0
	for _, v := range fee {
		f, _ := strconv.ParseFloat(v, 64)
		mean += f
	}
	mean /= float64(len(fee))
	var got *float64
	for _, c := range p.ColumnSummaries {
		if c.Name == "monthly_fee" {
			got = c.Mean
		}
	}
	if got == nil || math.Abs(*got-mean) > 1e-9 {
		t.Errorf("monthly_fee mean = %v, want %v", got, mean)
	}
	if !strings.HasSuffix(p.ReportURI, "/"+fixedNow.Format("20060102T150405Z")+"/profile.json") || p.HTMLReportURI == "" {
		t.Errorf("report URIs %q %q", p.ReportURI, p.HTMLReportURI)
	}

	d := ran[2].Drift.Status
	dh, drows := readCSV(t, drifted)
	want := psi(column(header, rows, "plan"), column(dh, drows, "plan"))
	if d.LastRun == nil || d.LastRun.MaxPSI == nil || math.Abs(*d.LastRun.MaxPSI-want) > 1e-12 {
		t.Fatalf("plan PSI = %+v, want %v", d.LastRun, want)
	}
	wantDrift := want >= 0.1
	if d.LastRun.DriftDetected != wantDrift || apimeta.IsStatusConditionTrue(d.Conditions, v1alpha1.ConditionDriftDetected) != wantDrift {
		t.Errorf("driftDetected = %v, want %v", d.LastRun.DriftDetected, wantDrift)
	}
	if d.LastRun.ColumnsChecked != 1 || d.LastRun.ReportURI == "" || len(d.RecentRuns) != 1 {
		t.Errorf("lastRun %+v", d.LastRun)
	}
	if _, err := os.Stat(filepath.Join(out, "drift", fixedNow.Format("20060102T150405Z"), DriftHTML)); !os.IsNotExist(err) {
		t.Errorf("html: false still wrote the page (%v)", err)
	}

	// The same build again reads nothing and says so.
	again := RunLocal(context.Background(), rs[2:], opt)
	st := again[0].Build.Status
	if c := apimeta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady); c == nil || c.Reason != v1alpha1.ReasonUpToDate || st.FilesReused != 2 || st.FilesProcessed != 0 {
		t.Errorf("rebuild: ready %+v, reused %d processed %d", c, st.FilesReused, st.FilesProcessed)
	}
}

func TestRunLocalFailures(t *testing.T) {
	sample := sampleDir(t, "sample")
	out := t.TempDir()
	doc := `apiVersion: mldata.io/v1alpha1
kind: DatasetBuild
metadata: {name: strict}
spec:
  source: {uri: ` + sample + `}
  output: {uri: ` + out + `/strict}
  validation:
    rules: [{type: minRows, rows: 1000000}]
---
apiVersion: mldata.io/v1alpha1
kind: DatasetProfile
metadata: {name: orphan}
spec:
  source: {datasetBuildRef: {name: missing}}
  output: {uri: ` + out + `/p}
---
apiVersion: mldata.io/v1alpha1
kind: DriftCheck
metadata: {name: after-failed}
spec:
  baseline: {datasetBuildRef: {name: strict}}
  current: {uri: ` + sample + `}
  output: {uri: ` + out + `/d}
`
	rs, err := ParseManifests([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	ran := RunLocal(context.Background(), rs, Options{})
	type verdict struct{ Ready, Stalled, Reason string }
	get := func(conds []metav1.Condition) verdict {
		r := apimeta.FindStatusCondition(conds, v1alpha1.ConditionReady)
		s := apimeta.FindStatusCondition(conds, v1alpha1.ConditionStalled)
		return verdict{string(r.Status), string(s.Status), r.Reason}
	}
	got := []verdict{get(ran[0].Build.Status.Conditions), get(ran[1].Profile.Status.Conditions), get(ran[2].Drift.Status.Conditions)}
	want := []verdict{
		{"False", "True", v1alpha1.ReasonValidationFailed},
		{"False", "True", v1alpha1.ReasonReferenceNotFound},
		{"False", "True", v1alpha1.ReasonReferenceNotReady},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("verdicts (-want +got):\n%s", d)
	}
	if c := apimeta.FindStatusCondition(ran[0].Build.Status.Conditions, v1alpha1.ConditionValidated); c == nil || c.Status != metav1.ConditionFalse {
		t.Errorf("Validated = %+v", c)
	}
	for _, r := range ran {
		if r.Err == nil {
			t.Errorf("%s: no error", r.Name())
		}
	}
	if ran[0].Build.Status.BuildID != "" {
		t.Errorf("a failed build has a build id in status")
	}
}

func TestParseManifests(t *testing.T) {
	ok := "apiVersion: mldata.io/v1alpha1\nkind: DriftCheck\nmetadata: {name: a}\nspec: {baseline: {uri: x}, current: {uri: y}, output: {uri: z}}\n"
	tests := []struct {
		name, doc, err string
		n              int
	}{
		{"one", ok, "", 1},
		{"comments and separators", "# c\n---\n" + ok + "---\n# only a comment\n", "", 1},
		{"empty", "# nothing\n", "no resources", 0},
		{"kind", "apiVersion: mldata.io/v1alpha1\nkind: Pod\nmetadata: {name: a}\n", `kind "Pod"`, 0},
		{"apiVersion", "apiVersion: v1\nkind: DriftCheck\n", `apiVersion "v1"`, 0},
		{"unknown field", strings.Replace(ok, "spec:", "spec: {bogus: 1}\nx:", 1), "unknown field", 0},
		{"no name", strings.Replace(ok, "{name: a}", "{}", 1), "metadata.name is required", 0},
		{"duplicate", ok + "---\n" + ok, "appears twice", 0},
		{"bad yaml", "apiVersion: [\n", "document 1", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := ParseManifests([]byte(tt.doc))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || len(rs) != tt.n {
				t.Fatalf("got %d, %v", len(rs), err)
			}
		})
	}
}

func FuzzParseManifests(f *testing.F) {
	f.Add([]byte("apiVersion: mldata.io/v1alpha1\nkind: DatasetBuild\nmetadata: {name: a}\nspec: {source: {uri: x}, output: {uri: y}}\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseManifests(data)
		if err == nil && len(rs) == 0 {
			t.Fatal("no error and no resources")
		}
	})
}

func TestSummaryEncodeBounded(t *testing.T) {
	s := &Summary{Kind: KindDriftCheck, OK: true, Message: strings.Repeat("é", 3000), DriftedColumnCount: 1000}
	for i := 0; i < 1000; i++ {
		s.DriftedColumns = append(s.DriftedColumns, v1alpha1.DriftedColumn{Name: "column_" + strconv.Itoa(i), PSI: 0.5, Severity: v1alpha1.SeverityHigh})
	}
	back := encodeDecode(t, s)
	if back.DriftedColumnCount != 1000 || len(back.DriftedColumns) == 0 || len(back.DriftedColumns) >= 1000 || len(back.Message) > maxMessage {
		t.Errorf("count %d, listed %d, message %d bytes", back.DriftedColumnCount, len(back.DriftedColumns), len(back.Message))
	}
	if len(s.DriftedColumns) != 1000 {
		t.Error("Encode changed its receiver")
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcdef", 5, "ab…"},
		{"ééé", 5, "é…"},
		{"ééé", 4, "…"}, // never cuts a rune in two
		{"abcdef", 1, "…"},
	}
	for _, tt := range tests {
		if got := Truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestBuildConfig(t *testing.T) {
	f := false
	seed, rows := int64(7), int64(5)
	spec := &v1alpha1.DatasetBuildSpec{
		Source: v1alpha1.SourceSpec{URI: "s3://b/raw", Format: v1alpha1.SourceFormatCSV, CSV: &v1alpha1.CSVOptions{Delimiter: ";"},
			Compression: v1alpha1.InputCompressionGzip, InferTimestamps: &f, NullValues: []string{"-"}},
		Output:      v1alpha1.OutputSpec{URI: "s3://b/out", Format: v1alpha1.OutputFormatCSV, Compression: v1alpha1.OutputCompressionZstd},
		Split:       &v1alpha1.SplitSpec{Ratios: []v1alpha1.SplitRatio{{Name: "a", Ratio: 0.5}, {Name: "b", Ratio: 0.5}}, Seed: &seed, Key: "id"},
		Validation:  &v1alpha1.ValidationSpec{Rules: []v1alpha1.ValidationRule{{Type: "minRows", Rows: &rows}}, OnFailure: v1alpha1.OnFailureWarn},
		Incremental: &f,
	}
	cfg, err := BuildConfig(spec, Options{ScratchDir: "/scratch"})
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Format, Out, Comp, InComp string
		Delim                     byte
		Infer, Full               bool
		Nulls, Names              []string
		Seed                      uint64
		Key, OnFailure, Scratch   string
		History, Rules            int
	}
	got := view{string(cfg.Format), string(cfg.OutputFormat), string(cfg.Compression), string(cfg.Read.Compression), cfg.Read.Delimiter,
		cfg.Read.InferTimestamps, cfg.Full, cfg.Read.NullValues, cfg.Split.Names, cfg.Split.Seed, cfg.Split.Key, cfg.OnFailure, cfg.ScratchDir, cfg.HistoryLimit, len(cfg.Rules)}
	want := view{"csv", "csv", "zstd", "gzip", ';', false, true, []string{"-"}, []string{"a", "b"}, 7, "id", "Warn", "/scratch", 10, 1}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	def, err := BuildConfig(&v1alpha1.DatasetBuildSpec{Source: v1alpha1.SourceSpec{URI: "x"}, Output: v1alpha1.OutputSpec{URI: "y"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"train", "validation", "test"}, def.Split.Names); d != "" || def.Split.Seed != 42 || def.OutputFormat != "parquet" || !def.Read.InferTimestamps || def.Full {
		t.Errorf("defaults: %+v", def)
	}
	// historyGraceSeconds: an hour by default, 0 for none, seconds otherwise.
	if def.HistoryGrace != time.Hour {
		t.Errorf("default history grace %s, want 1h", def.HistoryGrace)
	}
	for secs, want := range map[int64]time.Duration{0: pipeline.NoHistoryGrace, 90: 90 * time.Second} {
		g, err := BuildConfig(&v1alpha1.DatasetBuildSpec{Source: v1alpha1.SourceSpec{URI: "x"}, Output: v1alpha1.OutputSpec{URI: "y"}, HistoryGraceSeconds: &secs}, Options{})
		if err != nil || g.HistoryGrace != want {
			t.Errorf("historyGraceSeconds %d: %s, %v; want %s", secs, g.HistoryGrace, err, want)
		}
	}

	bad := []func(s *v1alpha1.DatasetBuildSpec){
		func(s *v1alpha1.DatasetBuildSpec) { s.Source.Format = "xml" },
		func(s *v1alpha1.DatasetBuildSpec) { s.Source.CSV = &v1alpha1.CSVOptions{Delimiter: ";;"} },
		func(s *v1alpha1.DatasetBuildSpec) { s.Source.Compression = "lz4" },
		func(s *v1alpha1.DatasetBuildSpec) {
			s.Split = &v1alpha1.SplitSpec{Ratios: []v1alpha1.SplitRatio{{Name: "a", Ratio: 0.5}}}
		},
		func(s *v1alpha1.DatasetBuildSpec) {
			s.Validation = &v1alpha1.ValidationSpec{Rules: []v1alpha1.ValidationRule{{Type: "bogus"}}}
		},
		func(s *v1alpha1.DatasetBuildSpec) { s.SchemaPolicy = "Whatever" },
	}
	for i, mut := range bad {
		s := &v1alpha1.DatasetBuildSpec{Source: v1alpha1.SourceSpec{URI: "x"}, Output: v1alpha1.OutputSpec{URI: "y"}}
		mut(s)
		if _, err := BuildConfig(s, Options{}); err == nil {
			t.Errorf("bad spec %d accepted", i)
		}
		if _, err := RunBuild(context.Background(), s, Options{}); ReasonOf(err) != v1alpha1.ReasonInvalidSpec {
			t.Errorf("bad spec %d: reason %q", i, ReasonOf(err))
		}
	}
}

func TestDriftOptions(t *testing.T) {
	bins, psiT, ks, eps := int32(5), 0.2, 0.05, 0.01
	o, err := DriftOptions(&v1alpha1.DriftCheckSpec{
		Columns: &v1alpha1.ColumnSelector{Include: []string{"a"}, Exclude: []string{"b"}},
		Metrics: &v1alpha1.DriftMetrics{Bins: &bins, Binning: v1alpha1.BinningQuantile, Epsilon: &eps,
			Thresholds: &v1alpha1.DriftThresholds{PSI: &psiT, KSPValue: &ks}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.Bins != 5 || o.Binning != "quantile" || o.Epsilon != 0.01 || o.Thresholds.PSI != 0.2 || *o.Thresholds.KSPValue != 0.05 || o.Columns[0] != "a" || o.Exclude[0] != "b" {
		t.Errorf("%+v", o)
	}
	one := int32(1)
	if _, err := DriftOptions(&v1alpha1.DriftCheckSpec{Metrics: &v1alpha1.DriftMetrics{Bins: &one}}); err == nil {
		t.Error("bins 1 accepted")
	}
	if _, err := DriftOptions(&v1alpha1.DriftCheckSpec{Metrics: &v1alpha1.DriftMetrics{Binning: "log"}}); err == nil {
		t.Error("binning log accepted")
	}
}

func TestTaskRoundTripAndTermination(t *testing.T) {
	sample := sampleDir(t, "sample")
	out := t.TempDir()
	task := &Task{Kind: KindDatasetProfile, Name: "p", RunID: "run-1",
		Profile: &v1alpha1.DatasetProfileSpec{Output: v1alpha1.ReportOutputSpec{URI: v1alpha1.BucketURI(out)}},
		Source:  &Input{URI: filepath.Join(sample, "customers-2024a.csv")}}
	data, err := json.Marshal(task)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeTask(data)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), back, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// customers-2024a.csv has 601 lines: a header and 600 rows.
	if res.Summary.ProfileRows != 600 || !strings.HasSuffix(res.Summary.ReportURI, "run-1/profile.json") {
		t.Errorf("summary %+v", res.Summary)
	}
	path := filepath.Join(t.TempDir(), "termination-log")
	if err := WriteTermination(path, res.Summary); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	s, err := DecodeSummary(raw)
	if err != nil || s.ProfileRows != 600 || !s.OK {
		t.Errorf("termination message %s: %v", raw, err)
	}

	for _, bad := range []string{`{"kind":"Pod"}`, `{`} {
		if _, err := DecodeTask([]byte(bad)); err == nil {
			t.Errorf("DecodeTask(%s) accepted", bad)
		}
	}
	for _, k := range []string{KindDatasetBuild, KindDatasetProfile, KindDriftCheck, "Other"} {
		if _, err := Run(context.Background(), &Task{Kind: k}, Options{}); err == nil {
			t.Errorf("Run of an empty %s task succeeded", k)
		}
	}
	if ReasonOf(errors.New("x")) != v1alpha1.ReasonJobFailed {
		t.Error("plain errors are not JobFailed")
	}
}
