package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/profile"
	"github.com/mldata-io/mldata/pkg/schema"
	"github.com/mldata-io/mldata/pkg/storage"
)

// Three builds of one output: the second adds a column (a new schema
// version, not breaking), the third removes it under Strict (refused, with
// BreakingSchemaChange). Status follows the manifest the summary names.
func TestBuildSchemaVersions(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	src := writeFile(t, dir, "v1/a.csv", "id,x\n1,2\n2,3\n")
	spec := func(src string, policy v1alpha1.SchemaPolicy) *v1alpha1.DatasetBuildSpec {
		return &v1alpha1.DatasetBuildSpec{Source: v1alpha1.SourceSpec{URI: v1alpha1.BucketURI(src)}, Output: v1alpha1.OutputSpec{URI: v1alpha1.BucketURI(out)}, SchemaPolicy: policy}
	}
	var st v1alpha1.DatasetBuildStatus
	res, err := Run(ctx, &Task{Kind: KindDatasetBuild, Build: spec(src, "")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ApplyBuild(&st, 1, res.Summary, res.Build.Result.Manifest, fixedNow)
	if st.Schema.Version != 1 || st.SchemaChanges != nil || len(st.SchemaHistory) != 1 {
		t.Fatalf("first build: schema %+v, changes %+v", st.Schema, st.SchemaChanges)
	}

	src2 := writeFile(t, dir, "v2/a.csv", "id,x,label\n1,2,a\n2,3,b\n")
	res, err = Run(ctx, &Task{Kind: KindDatasetBuild, Build: spec(src2, "")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The controller reads the manifest back from the URI the summary names.
	m, err := readManifest(ctx, res.Summary.ManifestURI)
	if err != nil {
		t.Fatal(err)
	}
	ApplyBuild(&st, 2, terminated(res.Summary), m, fixedNow)
	want := &v1alpha1.SchemaChanges{FromVersion: 1, ToVersion: 2, Added: []string{"label"}}
	if d := cmp.Diff(want, st.SchemaChanges); d != "" || st.Schema.Version != 2 || st.Schema.ColumnCount != 3 || len(st.SchemaHistory) != 2 {
		t.Errorf("second build: changes (-want +got) %s; schema %+v", d, st.Schema)
	}
	if st.SchemaHistory[1].Time == nil || st.SchemaHistory[1].BuildID != m.BuildID {
		t.Errorf("history %+v", st.SchemaHistory)
	}

	_, err = RunBuild(ctx, spec(src, v1alpha1.SchemaPolicyStrict), Options{})
	if ReasonOf(err) != v1alpha1.ReasonBreakingSchemaChange || !strings.Contains(err.Error(), "label") {
		t.Fatalf("strict build without label: %v", err)
	}
	ApplyBuild(&st, 3, FailureSummary(KindDatasetBuild, err), nil, fixedNow)
	if c := apimeta.FindStatusCondition(st.Conditions, v1alpha1.ConditionSchemaCompatible); c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonBreakingSchemaChange || st.Schema.Version != 2 {
		t.Errorf("refused build: %v, schema %+v", st.Conditions, st.Schema)
	}

	for _, bad := range []string{"file:///x/manifest.json", filepath.Join(dir, "out/builds/none/manifest.json")} {
		if _, err := readManifest(ctx, bad); err == nil {
			t.Errorf("readManifest(%s) succeeded", bad)
		}
	}
}

// status.artifact names the published build with the digest of the manifest
// that build wrote: from the summary, or from the manifest for a summary of
// an older worker; a failed build leaves it, and a summary that cannot give
// a digest for a new build clears it rather than pair the build with another
// build's digest.
func TestBuildArtifact(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	src := writeFile(t, dir, "v1/a.csv", "id,x\n1,2\n2,3\n3,4\n")
	spec := &v1alpha1.DatasetBuildSpec{Source: v1alpha1.SourceSpec{URI: v1alpha1.BucketURI(filepath.Dir(src))}, Output: v1alpha1.OutputSpec{URI: v1alpha1.BucketURI(out)}}
	res, err := Run(ctx, &Task{Kind: KindDatasetBuild, Build: spec}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := terminated(res.Summary)
	m, err := readManifest(ctx, s.ManifestURI)
	if err != nil {
		t.Fatal(err)
	}
	var st v1alpha1.DatasetBuildStatus
	ApplyBuild(&st, 1, s, m, fixedNow)
	want := &v1alpha1.ArtifactStatus{BuildID: m.BuildID, Digest: manifest.Digest(m), ManifestURI: filepath.Join(out, "builds", m.BuildID, "manifest.json")}
	if d := cmp.Diff(want, st.Artifact); d != "" {
		t.Fatalf("artifact (-want +got):\n%s", d)
	}
	if len(want.Digest) != len("sha256:")+64 || !strings.HasPrefix(want.Digest, "sha256:") {
		t.Errorf("digest %q", want.Digest)
	}

	// A summary without a digest (an older worker): the manifest gives it.
	old := *s
	old.Digest = ""
	var st2 v1alpha1.DatasetBuildStatus
	ApplyBuild(&st2, 1, &old, m, fixedNow)
	if d := cmp.Diff(want, st2.Artifact); d != "" {
		t.Errorf("artifact from the manifest (-want +got):\n%s", d)
	}
	// Without a manifest either, the same build keeps its artifact ...
	ApplyBuild(&st2, 2, &old, nil, fixedNow)
	if d := cmp.Diff(want, st2.Artifact); d != "" {
		t.Errorf("artifact of the same build (-want +got):\n%s", d)
	}
	// ... and another build has none.
	other := old
	other.BuildID = "20261127T010203000Z-aaaaaa"
	ApplyBuild(&st2, 3, &other, nil, fixedNow)
	if st2.Artifact != nil {
		t.Errorf("artifact %+v for a build without a digest", st2.Artifact)
	}

	// A failed build publishes nothing: the artifact stays.
	ApplyBuild(&st, 2, FailureSummary(KindDatasetBuild, errors.New("storage down")), nil, fixedNow)
	if d := cmp.Diff(want, st.Artifact); d != "" {
		t.Errorf("artifact after a failure (-want +got):\n%s", d)
	}

	// New rows: a new build and a new digest.
	writeFile(t, dir, "v1/b.csv", "id,x\n4,5\n")
	res, err = Run(ctx, &Task{Kind: KindDatasetBuild, Build: spec}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := readManifest(ctx, res.Summary.ManifestURI)
	if err != nil {
		t.Fatal(err)
	}
	ApplyBuild(&st, 3, terminated(res.Summary), m2, fixedNow)
	if st.Artifact == nil || st.Artifact.BuildID != m2.BuildID || st.Artifact.Digest != manifest.Digest(m2) || st.Artifact.Digest == want.Digest {
		t.Errorf("artifact after a second build %+v; first digest %s", st.Artifact, want.Digest)
	}
}

func TestSchemaChangesBounded(t *testing.T) {
	var changes []schema.Change
	for i := 0; i < v1alpha1.MaxSchemaChanges+1; i++ {
		changes = append(changes,
			schema.Change{Kind: schema.Added, Column: fmt.Sprintf("a%d", i)},
			schema.Change{Kind: schema.Removed, Column: fmt.Sprintf("r%d", i), Breaking: true},
			schema.Change{Kind: schema.TypeChanged, Column: fmt.Sprintf("t%d", i), From: "int64", To: "float64"})
	}
	sc := schemaChanges(changes, 4)
	if len(sc.Added) != v1alpha1.MaxSchemaChanges || len(sc.Removed) != v1alpha1.MaxSchemaChanges || len(sc.TypeChanges) != v1alpha1.MaxSchemaChanges {
		t.Errorf("lists %d %d %d", len(sc.Added), len(sc.Removed), len(sc.TypeChanges))
	}
	if !sc.Truncated || !sc.Breaking || sc.FromVersion != 3 || sc.ToVersion != 4 || sc.Removed[1] != "r1" {
		t.Errorf("%+v", sc)
	}
	if tc := sc.TypeChanges[0]; tc != (v1alpha1.TypeChange{Column: "t0", From: "int64", To: "float64"}) {
		t.Errorf("type change %+v", tc)
	}
}

func TestDriftedColumns(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	r := &drift.Report{Conventions: drift.Conventions{Thresholds: drift.Thresholds{PSI: 0.1}}}
	for i, v := range []float64{0.3, 0.05, 0.9} {
		r.NumericDrift = append(r.NumericDrift, profile.Field[*drift.NumericDrift]{Key: fmt.Sprintf("n%d", i),
			Value: &drift.NumericDrift{PSI: v, DriftDetected: v >= 0.1, Severity: "high", Method: drift.MethodPSI, Threshold: f(0.1)}})
	}
	// n3's method is Wasserstein: it drifted with a low PSI.
	r.NumericDrift = append(r.NumericDrift, profile.Field[*drift.NumericDrift]{Key: "n3",
		Value: &drift.NumericDrift{PSI: 0.01, WassersteinNormed: f(0.31), DriftDetected: true, Severity: "low", Method: drift.MethodWasserstein, Threshold: f(0.1)}})
	r.NumericDrift = append(r.NumericDrift, profile.Field[*drift.NumericDrift]{Key: "empty"})
	r.CategoricalDrift = append(r.CategoricalDrift,
		profile.Field[*drift.CategoricalDrift]{Key: "c", Value: &drift.CategoricalDrift{PSI: 0.3, Chi2PValue: 0.001, DriftDetected: true, Severity: "high", Method: drift.MethodChiSquare, Threshold: f(0.01)}})
	cols, n := DriftedColumns(r)
	want := []v1alpha1.DriftedColumn{
		{Name: "n2", PSI: 0.9, Severity: "high", Method: "psi", Metric: "psi", Value: f(0.9), Threshold: f(0.1)},
		{Name: "c", Categorical: true, PSI: 0.3, Severity: "high", Method: "chisquare", Metric: "chi2_pvalue", Value: f(0.001), Threshold: f(0.01)}, // ties by name
		{Name: "n0", PSI: 0.3, Severity: "high", Method: "psi", Metric: "psi", Value: f(0.3), Threshold: f(0.1)},
		{Name: "n3", PSI: 0.01, Severity: "low", Method: "wasserstein", Metric: "wasserstein_normed", Value: f(0.31), Threshold: f(0.1)},
	}
	if d := cmp.Diff(want, cols); d != "" || n != 4 {
		t.Errorf("n = %d, (-want +got):\n%s", n, d)
	}
	texts := make([]string, len(cols))
	for i, c := range cols {
		texts[i] = DriftedColumnText(c)
	}
	if got, want := strings.Join(texts, ", "), "n2: psi 0.9 >= 0.1, c: chi2_pvalue 0.001 < 0.01, n0: psi 0.3 >= 0.1, n3: wasserstein_normed 0.31 >= 0.1"; got != want {
		t.Errorf("texts %q\nwant  %q", got, want)
	}
	// A status written before columns kept their method.
	if got := DriftedColumnText(v1alpha1.DriftedColumn{Name: "x", PSI: 0.25}); got != "x: psi 0.25" {
		t.Errorf("old column: %q", got)
	}

	r = &drift.Report{}
	for i := 0; i < v1alpha1.MaxDriftedColumns+8; i++ {
		r.NumericDrift = append(r.NumericDrift, profile.Field[*drift.NumericDrift]{Key: fmt.Sprintf("n%02d", i),
			Value: &drift.NumericDrift{PSI: float64(i), DriftDetected: true}})
	}
	cols, n = DriftedColumns(r)
	if n != v1alpha1.MaxDriftedColumns+8 || len(cols) != v1alpha1.MaxDriftedColumns || cols[0].Name != "n39" {
		t.Errorf("%d listed of %d, first %+v", len(cols), n, cols[0])
	}
}

// A DriftCheck against a DatasetProfile of the same manifest, run as
// `mldata run` runs it; its status is printed as the controller writes it.
func TestRunLocalProfileBaseline(t *testing.T) {
	dir := t.TempDir()
	base := writeFile(t, dir, "base/a.csv", baseCSV)
	cur := writeFile(t, dir, "cur/b.csv", curCSV)
	doc := `apiVersion: mldata.io/v1alpha1
kind: DriftCheck
metadata: {name: d}
spec:
  baseline: {datasetProfileRef: {name: p}}
  current: {uri: ` + cur + `}
  columns: {exclude: [id]}
  output: {uri: ` + dir + `/drift}
---
apiVersion: mldata.io/v1alpha1
kind: DatasetProfile
metadata: {name: p}
spec:
  source: {uri: ` + base + `}
  output: {uri: ` + dir + `/profile}
`
	rs, err := ParseManifests([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	ran := RunLocal(ctx, rs, Options{Now: func() time.Time { return fixedNow }})
	for _, r := range ran {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Name(), r.Err)
		}
	}
	p, d := ran[0].Profile.Status, ran[1].Drift.Status
	if d.LastRun == nil || !d.LastRun.DriftDetected || d.LastRun.ColumnsChecked != 2 || d.LastRun.DriftedColumnCount != 2 {
		t.Errorf("drift %+v", d.LastRun)
	}
	if !strings.HasSuffix(p.ReportURI, "/profile/20261127T010203Z/profile.json") {
		t.Errorf("reportURI %s", p.ReportURI)
	}
	if _, err := os.Stat(filepath.Join(dir, "profile", "20261127T010203Z", ProfileHTML)); err != nil {
		t.Errorf("html page: %v", err)
	}

	for _, r := range ran {
		out, err := StatusYAML(r.Resource)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Kind     string
			Metadata struct{ Name string }
			Status   map[string]any
		}
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Kind != r.Kind() || doc.Metadata.Name != r.Name() || doc.Status["conditions"] == nil {
			t.Errorf("StatusYAML:\n%s", out)
		}
	}
	// The profile's status is the column summary, in the YAML that
	// `mldata run` prints: price mean 11.125.
	out, _ := StatusYAML(ran[0].Resource)
	if !strings.Contains(string(out), "mean: 11.125\n") || !strings.Contains(string(out), "top: FR\n") {
		t.Errorf("profile status YAML:\n%s", out)
	}

	// A reference to a profile that is not in the file.
	rs, _ = ParseManifests([]byte(doc[:strings.Index(doc, "---")]))
	ran = RunLocal(ctx, rs, Options{})
	if ReasonOf(referenceReason(ran[0].Err)) != v1alpha1.ReasonReferenceNotFound {
		t.Errorf("missing profile: %v", ran[0].Err)
	}
}

func TestWriteTerminationError(t *testing.T) {
	s := &Summary{Kind: KindDatasetProfile, OK: true}
	if err := WriteTermination(filepath.Join(t.TempDir(), "no", "such", "dir"), s); err == nil || !strings.Contains(err.Error(), "termination message") {
		t.Errorf("err = %v", err)
	}
	if _, err := DecodeSummary([]byte(`{"kind":"DatasetProfile","columnSummaries":[["a"]]}`)); err == nil {
		t.Error("a damaged column list decoded")
	}
	if err := (&Failure{Reason: "X", Err: os.ErrNotExist}); !errors.Is(err, os.ErrNotExist) {
		t.Error("Failure does not unwrap")
	}
}

// readManifest reads the manifest a summary names with the credentials of
// the environment, as a local run would (the manager reads it through its
// reach, with the output's Secret only).
func readManifest(ctx context.Context, uri string) (*manifest.Manifest, error) {
	base, key, err := SplitManifestURI(uri)
	if err != nil {
		return nil, err
	}
	loc, err := storage.Open(ctx, base)
	if err != nil {
		return nil, err
	}
	defer loc.Close()
	return manifest.Read(ctx, loc, key)
}
