package worker

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/pipeline"
	"github.com/mldata-io/mldata/pkg/profile"
)

var ctx = context.Background()

const (
	baseCSV = "id,price,country\n1,10.5,FR\n2,11.0,DE\n3,,FR\n4,13.25,US\n5,9.75,FR\n"
	curCSV  = "id,price,country\n1,20.5,BR\n2,21.0,BR\n3,22,FR\n4,23.25,US\n5,19.75,BR\n"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProfileOptions(t *testing.T) {
	got := ProfileOptions(&v1alpha1.ProfileOptions{Workers: ptr.To[int32](3), TopK: ptr.To[int32](5), HistogramBins: ptr.To[int32](7),
		MaxMemory: ptr.To(resource.MustParse("2Gi"))})
	if d := cmp.Diff(profile.Options{Workers: 3, TopK: 5, Bins: 7, MaxMemory: 2 << 30}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if d := cmp.Diff(profile.Options{}, ProfileOptions(nil)); d != "" {
		t.Errorf("nil options: %s", d)
	}
}

// Profile and drift read through OpenInput; a pinned build that is not the
// published one, and an unknown format, are refused with their reasons.
func TestOpenInput(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "raw/a.csv", baseCSV)
	out := filepath.Join(dir, "out")
	cfg, err := BuildConfig(&v1alpha1.DatasetBuildSpec{Source: v1alpha1.SourceSpec{URI: v1alpha1.BucketURI(src)}, Output: v1alpha1.OutputSpec{URI: v1alpha1.BucketURI(out)}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.BuildID = "b1"
	if _, err := pipeline.Build(ctx, cfg); err != nil {
		t.Fatal(err)
	}

	ds, err := OpenInput(ctx, &Input{URI: out, BuildID: "b1"}, 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The analysis reads skip the SHA-256 pass.
	if ds.Rows != 5 || ds.Build.BuildID != "b1" || ds.Files[0].SHA256 != "" {
		t.Errorf("rows %d, build %s, sha256 %q", ds.Rows, ds.Build.BuildID, ds.Files[0].SHA256)
	}
	ds.Close()

	_, err = OpenInput(ctx, &Input{URI: out, BuildID: "b0"}, 1, Options{})
	if ReasonOf(err) != v1alpha1.ReasonReferenceNotReady || !strings.Contains(err.Error(), "pinned build b0 is not the published build (b1)") {
		t.Errorf("pinned b0: %v", err)
	}
	_, err = OpenInput(ctx, &Input{URI: src, BuildID: "b1"}, 1, Options{})
	if ReasonOf(err) != v1alpha1.ReasonReferenceNotReady || !strings.Contains(err.Error(), "(none)") {
		t.Errorf("pinned build on raw files: %v", err)
	}
	if _, err := OpenInput(ctx, &Input{URI: src, Format: "xml"}, 1, Options{}); ReasonOf(err) != v1alpha1.ReasonInvalidSpec {
		t.Errorf("format xml: %v", err)
	}
	if _, err := OpenInput(ctx, &Input{URI: filepath.Join(dir, "none")}, 1, Options{}); err == nil || ReasonOf(err) != v1alpha1.ReasonJobFailed {
		t.Errorf("missing input: %v", err)
	}

	// A profile of the build names it.
	r, err := ProfileInput(ctx, &Input{URI: out, Split: "train"}, profile.Options{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceBuildID != "b1" || r.Profile.NumRows >= 5 {
		t.Errorf("profile of the train split: build %q, %d rows", r.SourceBuildID, r.Profile.NumRows)
	}
}

func TestCompareInputs(t *testing.T) {
	dir := t.TempDir()
	base := writeFile(t, dir, "a.csv", baseCSV)
	cur := writeFile(t, dir, "b.csv", curCSV)
	dopt := drift.Options{Bins: 10, Binning: drift.Uniform, Thresholds: drift.Thresholds{PSI: 0.1}, Exclude: []string{"id"}}

	res, err := CompareInputs(ctx, &Input{URI: base}, &Input{URI: cur}, dopt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Every current price is above the baseline's maximum: KS D = 1.
	price, ok := res.Report.NumericDrift.Get("price")
	if !ok || price.KSStatistic == nil || *price.KSStatistic != 1 || !price.DriftDetected {
		t.Fatalf("price = %+v", price)
	}
	// country: baseline FR 3/5, DE 1/5, US 1/5; current BR 3/5, FR 1/5, US 1/5.
	wantPSI := psi([]string{"FR", "DE", "FR", "US", "FR"}, []string{"BR", "BR", "FR", "US", "BR"})
	if c, _ := res.Report.CategoricalDrift.Get("country"); c == nil || !near(c.PSI, wantPSI) {
		t.Errorf("country = %+v, want PSI %v", c, wantPSI)
	}

	// A stored profile as the baseline: by its .json name, or marked.
	r, err := ProfileInput(ctx, &Input{URI: base}, profile.Options{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(r.Profile)
	prof := writeFile(t, dir, "p/profile.json", string(data))
	for _, in := range []*Input{{URI: prof}, {URI: prof, Profile: true}, {URI: "file://" + prof}} {
		res, err := CompareInputs(ctx, in, &Input{URI: cur}, dopt, Options{})
		if err != nil {
			t.Fatalf("%+v: %v", in, err)
		}
		p, _ := res.Report.NumericDrift.Get("price")
		if p == nil || p.KSStatistic != nil || res.Report.Conventions.Binning != drift.Pinned {
			t.Errorf("%+v: price %+v, binning %s", in, p, res.Report.Conventions.Binning)
		}
		if c, _ := res.Report.CategoricalDrift.Get("country"); c == nil || !near(c.PSI, wantPSI) {
			t.Errorf("%+v: country against the profile = %+v", in, c)
		}
	}
	if got := redacted("s3://b/p.json?access_key=x"); got != "s3://b/p.json?…" || redacted(prof) != prof {
		t.Errorf("redacted: %s", got)
	}

	q := dopt
	q.Binning = drift.Quantile
	if _, err := CompareInputs(ctx, &Input{URI: prof}, &Input{URI: cur}, q, Options{}); ReasonOf(err) != v1alpha1.ReasonInvalidSpec || !strings.Contains(err.Error(), "use uniform binning") {
		t.Errorf("quantile against a profile: %v", err)
	}
	cols := dopt
	cols.Columns = []string{"nope"}
	if _, err := CompareInputs(ctx, &Input{URI: base}, &Input{URI: cur}, cols, Options{}); ReasonOf(err) != v1alpha1.ReasonInvalidSpec || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown column: %v", err)
	}

	// JSON that is not a profile is data when not marked (and fails as
	// such), and an error when marked.
	other := writeFile(t, dir, "x.json", `{"hello": 1}`)
	if _, err := CompareInputs(ctx, &Input{URI: other}, &Input{URI: cur}, dopt, Options{}); err == nil || !strings.HasPrefix(err.Error(), "baseline: ") {
		t.Errorf("non-profile JSON as data: %v", err)
	}
	for _, in := range []*Input{{URI: other, Profile: true}, {URI: dir, Profile: true}, {URI: filepath.Join(dir, "none.json")}} {
		if _, err := CompareInputs(ctx, in, &Input{URI: cur}, dopt, Options{}); err == nil || !strings.HasPrefix(err.Error(), "baseline: ") {
			t.Errorf("%+v: %v", in, err)
		}
	}
	broken := writeFile(t, dir, "broken.json", `{"schema":{"columns":[{"name":"a"},{"name":"a"}]}}`)
	if _, err := CompareInputs(ctx, &Input{URI: broken}, &Input{URI: cur}, dopt, Options{}); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("damaged profile: %v", err)
	}
	// Not JSON at all, but named .json: read as data.
	notJSON := writeFile(t, dir, "n.json", "id,price\n1,2\n")
	if _, err := CompareInputs(ctx, &Input{URI: notJSON}, &Input{URI: cur}, dopt, Options{}); err == nil || !strings.HasPrefix(err.Error(), "baseline: ") {
		t.Errorf("CSV named .json: %v", err)
	}
	if _, err := CompareInputs(ctx, &Input{URI: base}, &Input{URI: filepath.Join(dir, "none.csv")}, dopt, Options{}); err == nil || !strings.HasPrefix(err.Error(), "current: ") {
		t.Errorf("missing current: %v", err)
	}
}

func near(a, b float64) bool { return a-b < 1e-12 && b-a < 1e-12 }

func TestSpecRulesRoundTrip(t *testing.T) {
	rules := []v1alpha1.ValidationRule{
		{Type: "notNull", Column: "id"},
		{Type: "min", Column: "price", Min: ptr.To(0.0)},
		{Type: "allowedValues", Column: "country", Values: []string{"FR", "DE"}},
		{Type: "minRows", Rows: ptr.To[int64](3)},
	}
	cfg, err := BuildConfig(&v1alpha1.DatasetBuildSpec{Source: v1alpha1.SourceSpec{URI: "x"}, Output: v1alpha1.OutputSpec{URI: "y"},
		Validation: &v1alpha1.ValidationSpec{Rules: rules}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rules, SpecRules(cfg.Rules)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if SpecRules(nil) != nil {
		t.Error("no rules became some")
	}
}
