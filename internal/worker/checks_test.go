package worker

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/pipeline"
)

// leakyCSV has users under several segments: a split keyed by user and
// stratified by segment puts some users' rows in two splits.
func leakyCSV(users int) string {
	var b strings.Builder
	b.WriteString("user,segment,amount\n")
	for u := range users {
		for k := range 3 {
			fmt.Fprintf(&b, "%d,s%d,%d\n", u, k, (u+k)%50)
		}
	}
	return b.String()
}

func TestSplitsConsistentCondition(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "src/a.csv", leakyCSV(200))
	spec := func(out string, stratify v1alpha1.ColumnName, on v1alpha1.OnFailure) *v1alpha1.DatasetBuildSpec {
		return &v1alpha1.DatasetBuildSpec{
			Source: v1alpha1.SourceSpec{URI: v1alpha1.BucketURI(src)},
			Output: v1alpha1.OutputSpec{URI: v1alpha1.BucketURI(filepath.Join(dir, out))},
			Split: &v1alpha1.SplitSpec{Ratios: []v1alpha1.SplitRatio{{Name: "train", Ratio: 0.5}, {Name: "test", Ratio: 0.5}},
				Key: "user", StratifyBy: stratify},
			Validation: &v1alpha1.ValidationSpec{OnFailure: on},
		}
	}
	cond := func(st *v1alpha1.DatasetBuildStatus, typ string) *metav1.Condition {
		c := apimeta.FindStatusCondition(st.Conditions, typ)
		if c == nil {
			t.Fatalf("no %s condition in %+v", typ, st.Conditions)
		}
		return c
	}

	// Keyed by user alone: a user's rows share a split.
	var ok v1alpha1.DatasetBuildStatus
	res, err := Run(ctx, &Task{Kind: KindDatasetBuild, Build: spec("ok", "", v1alpha1.OnFailureFail)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ApplyBuild(&ok, 1, terminated(res.Summary), res.Build.Result.Manifest, fixedNow)
	if c := cond(&ok, v1alpha1.ConditionSplitsConsistent); c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonSplitsConsistent || !strings.Contains(c.Message, "column user") {
		t.Errorf("SplitsConsistent %+v", c)
	}

	// Stratified by segment, Fail: refused, permanently, nothing published.
	var failed v1alpha1.DatasetBuildStatus
	_, err = RunBuild(ctx, spec("fail", "segment", v1alpha1.OnFailureFail), Options{})
	if ReasonOf(err) != v1alpha1.ReasonSplitsLeak || !Permanent(err) {
		t.Fatalf("leaking build: reason %s permanent %v: %v", ReasonOf(err), Permanent(err), err)
	}
	ApplyBuild(&failed, 1, terminated(FailureSummary(KindDatasetBuild, err)), nil, fixedNow)
	if c := cond(&failed, v1alpha1.ConditionSplitsConsistent); c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonSplitsLeak || !strings.Contains(c.Message, "appear in more than one split") {
		t.Errorf("SplitsConsistent %+v", c)
	}
	if c := cond(&failed, v1alpha1.ConditionReady); c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonSplitsLeak || failed.BuildID != "" {
		t.Errorf("Ready %+v, build %q", c, failed.BuildID)
	}

	// Warn: published, and the condition says the splits leak.
	var warned v1alpha1.DatasetBuildStatus
	res, err = Run(ctx, &Task{Kind: KindDatasetBuild, Build: spec("warn", "segment", v1alpha1.OnFailureWarn)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Build.Result.Manifest
	if m.SplitIntegrity == nil || m.SplitIntegrity.LeakedKeys == 0 || res.Summary.SplitsLeakedKeys != m.SplitIntegrity.LeakedKeys {
		t.Fatalf("manifest %+v, summary leaked %d", m.SplitIntegrity, res.Summary.SplitsLeakedKeys)
	}
	ApplyBuild(&warned, 1, terminated(res.Summary), m, fixedNow)
	c := cond(&warned, v1alpha1.ConditionSplitsConsistent)
	want := fmt.Sprintf("splits leak: %d key(s) (column user)", m.SplitIntegrity.LeakedKeys)
	if c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonSplitsLeak || !strings.HasPrefix(c.Message, want) || !strings.Contains(c.Message, "published anyway") {
		t.Errorf("SplitsConsistent %+v, want message starting %q", c, want)
	}
	if c := cond(&warned, v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue || warned.BuildID != m.BuildID {
		t.Errorf("Ready %+v", c)
	}
}

func TestDriftGateFailedStatus(t *testing.T) {
	dir := t.TempDir()
	rows := func(lo, hi, base int) string {
		var b strings.Builder
		b.WriteString("id,fee\n")
		for id := lo; id < hi; id++ {
			fmt.Fprintf(&b, "%d,%d\n", id, base+id%50)
		}
		return b.String()
	}
	writeFile(t, dir, "src/jan.csv", rows(0, 500, 10))
	spec := &v1alpha1.DatasetBuildSpec{
		Source:      v1alpha1.SourceSpec{URI: v1alpha1.BucketURI(filepath.Join(dir, "src"))},
		Output:      v1alpha1.OutputSpec{URI: v1alpha1.BucketURI(filepath.Join(dir, "out"))},
		Split:       &v1alpha1.SplitSpec{Ratios: []v1alpha1.SplitRatio{{Name: "train", Ratio: 0.8}, {Name: "test", Ratio: 0.2}}, Key: "id"},
		PublishGate: &v1alpha1.PublishGateSpec{Columns: &v1alpha1.ColumnSelector{Exclude: []string{"id"}}},
	}
	var st v1alpha1.DatasetBuildStatus
	res, err := Run(ctx, &Task{Kind: KindDatasetBuild, Build: spec}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := res.Build.Result.Manifest.BuildID
	ApplyBuild(&st, 1, terminated(res.Summary), res.Build.Result.Manifest, fixedNow)

	writeFile(t, dir, "src/feb.csv", rows(500, 1000, 200))
	_, err = RunBuild(ctx, spec, Options{})
	if ReasonOf(err) != v1alpha1.ReasonDriftGateFailed || !Permanent(err) {
		t.Fatalf("drifted build: reason %s: %v", ReasonOf(err), err)
	}
	ApplyBuild(&st, 2, terminated(FailureSummary(KindDatasetBuild, err)), nil, fixedNow)
	c := apimeta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonDriftGateFailed ||
		!strings.Contains(c.Message, "in 1 column(s): fee: psi ") || !strings.Contains(c.Message, "build "+first+" stays the published one") {
		t.Fatalf("Ready %+v", c)
	}
	// The last good build stays in status.
	if st.BuildID != first || st.TotalRows != 500 {
		t.Errorf("status build %s rows %d, want %s with 500", st.BuildID, st.TotalRows, first)
	}
	// The refused build's gate reports are beside where its manifest
	// would be, and Ready names the page.
	_, uri, ok := strings.Cut(c.Message, "; the gate's report: ")
	if !ok || !strings.HasSuffix(uri, "/"+GateHTML) {
		t.Fatalf("Ready %q names no gate report", c.Message)
	}
	page := readLocal(t, uri)
	if !strings.Contains(page, "refused: drifted") || !strings.Contains(page, "Columns by severity") {
		t.Errorf("refused build's gate page lacks its verdict or drift report")
	}
	var rep pipeline.GateReport
	if err := json.Unmarshal([]byte(readLocal(t, strings.TrimSuffix(uri, GateHTML)+GateJSON)), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.PublishGate == nil || rep.PublishGate.Passed || len(rep.PublishGate.Drifted) != 1 || rep.Drift == nil || !rep.Drift.HasDrift {
		t.Errorf("refused build's gate.json %+v", rep)
	}

	// Under Warn the build is published and Ready says what drifted.
	warn := spec.DeepCopy()
	warn.PublishGate.OnDrift = v1alpha1.OnDriftWarn
	res, err = Run(ctx, &Task{Kind: KindDatasetBuild, Build: warn}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ApplyBuild(&st, 3, terminated(res.Summary), res.Build.Result.Manifest, fixedNow)
	c = apimeta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
	if c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "publish gate: drifted from published build "+first+" in fee: psi ") ||
		!strings.Contains(c.Message, "published anyway") || st.BuildID == first || st.TotalRows != 1000 {
		t.Errorf("Ready %+v, build %s rows %d", c, st.BuildID, st.TotalRows)
	}
	if !strings.HasSuffix(st.GateReportURI, st.BuildID+"/"+GateHTML) || !strings.Contains(readLocal(t, st.GateReportURI), "drifted; published anyway (onDrift Warn)") {
		t.Errorf("status.gateReportURI %q", st.GateReportURI)
	}

	// A spec whose gate cannot work is InvalidSpec.
	bad := spec.DeepCopy()
	bad.PublishGate.OnDrift = "Maybe"
	if _, err := RunBuild(ctx, bad, Options{}); ReasonOf(err) != v1alpha1.ReasonInvalidSpec {
		t.Errorf("bad onDrift: %v", err)
	}
}

// publishGate.maxMemory bounds the gate's comparison as a DriftCheck's
// spec.maxMemory does: past it the columns are sketched and the gate's
// drift report states the bounds.
func TestGateMaxMemory(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,fee\n")
	for id := range 2000 {
		fmt.Fprintf(&b, "%d,%d\n", id, 10+id%50)
	}
	writeFile(t, dir, "src/jan.csv", b.String())
	q := resource.MustParse("1Ki") // 128 values
	spec := &v1alpha1.DatasetBuildSpec{
		Source: v1alpha1.SourceSpec{URI: v1alpha1.BucketURI(filepath.Join(dir, "src"))},
		Output: v1alpha1.OutputSpec{URI: v1alpha1.BucketURI(filepath.Join(dir, "out"))},
		Split:  &v1alpha1.SplitSpec{Ratios: []v1alpha1.SplitRatio{{Name: "train", Ratio: 0.8}, {Name: "test", Ratio: 0.2}}, Key: "id"},
		PublishGate: &v1alpha1.PublishGateSpec{Columns: &v1alpha1.ColumnSelector{Include: []string{"fee"}}, MaxMemory: &q,
			OnDrift: v1alpha1.OnDriftWarn},
	}
	g, err := GateConfig(spec.PublishGate)
	if err != nil || g.Drift.MaxMemory != 1024 {
		t.Fatalf("gate config %+v, %v: want MaxMemory 1024", g, err)
	}
	if _, err := Run(ctx, &Task{Kind: KindDatasetBuild, Build: spec}, Options{}); err != nil {
		t.Fatal(err)
	}
	full := spec.DeepCopy()
	full.Incremental = ptr.To(false)
	res, err := Run(ctx, &Task{Kind: KindDatasetBuild, Build: full}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Build.Result.GateReport
	if r == nil {
		t.Fatal("no gate report")
	}
	fee, ok := r.NumericDrift.Get("fee")
	if !ok || fee.Approximate == nil || fee.Approximate.KSStatistic[1] <= 0 {
		t.Errorf("fee under a 1 KiB bound: %+v, want sketched with KS bounds", fee)
	}
}

// readLocal reads a file named by a local path or file:// URI.
func readLocal(t *testing.T, uri string) string {
	t.Helper()
	data, err := os.ReadFile(strings.TrimPrefix(uri, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A sharded build's commit goes through the gate and writes its reports
// as a one-process build does.
func TestShardedBuildGateReports(t *testing.T) {
	dir := t.TempDir()
	rows := func(lo, hi, base int) string {
		var b strings.Builder
		b.WriteString("id,fee\n")
		for id := lo; id < hi; id++ {
			fmt.Fprintf(&b, "%d,%d\n", id, base+id%50)
		}
		return b.String()
	}
	writeFile(t, dir, "src/jan.csv", rows(0, 500, 10))
	build := &v1alpha1.DatasetBuild{}
	build.Name = "gated"
	build.Spec = v1alpha1.DatasetBuildSpec{
		Source:      v1alpha1.SourceSpec{URI: v1alpha1.BucketURI(filepath.Join(dir, "src"))},
		Output:      v1alpha1.OutputSpec{URI: v1alpha1.BucketURI(filepath.Join(dir, "out"))},
		Split:       &v1alpha1.SplitSpec{Ratios: []v1alpha1.SplitRatio{{Name: "train", Ratio: 0.8}, {Name: "test", Ratio: 0.2}}, Key: "id"},
		Parallelism: &v1alpha1.ParallelismSpec{Shards: ptr.To[int32](2)},
		PublishGate: &v1alpha1.PublishGateSpec{Columns: &v1alpha1.ColumnSelector{Exclude: []string{"id"}}},
	}
	if ran := RunLocal(ctx, []Resource{{Build: build}}, Options{}); ran[0].Err != nil {
		t.Fatal(ran[0].Err)
	}
	first := build.Status.BuildID
	if !strings.HasSuffix(first, "-s2") {
		t.Fatalf("build %s was not sharded", first)
	}
	writeFile(t, dir, "src/feb.csv", rows(500, 1000, 200))
	ran := RunLocal(ctx, []Resource{{Build: build}}, Options{})
	if ReasonOf(ran[0].Err) != v1alpha1.ReasonDriftGateFailed {
		t.Fatalf("drifted sharded build: %v", ran[0].Err)
	}
	c := apimeta.FindStatusCondition(build.Status.Conditions, v1alpha1.ConditionReady)
	_, uri, ok := strings.Cut(c.Message, "; the gate's report: ")
	if !ok || !strings.Contains(readLocal(t, uri), "refused: drifted") || build.Status.BuildID != first {
		t.Errorf("Ready %q, build %s (want %s)", c.Message, build.Status.BuildID, first)
	}
}
