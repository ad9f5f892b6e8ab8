package worker

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/schema"
)

// statusSchema returns the status schema of the generated CRD of plural.
func statusSchema(t testing.TB, plural string) *apiextensionsv1.JSONSchemaProps {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", "mldata.io_"+plural+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	s := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["status"]
	return &s
}

// checkBounds walks v (decoded JSON) along the schema and reports every
// string longer than its maxLength (counted in characters, as the API
// server does), invalid UTF-8, and every list longer than its maxItems:
// the checks a status patch fails with 422.
func checkBounds(s *apiextensionsv1.JSONSchemaProps, v any, path string) []string {
	var bad []string
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			bad = append(bad, path+": invalid UTF-8")
		}
		if s.MaxLength != nil && int64(utf8.RuneCountInString(x)) > *s.MaxLength {
			bad = append(bad, fmt.Sprintf("%s: %d characters, maxLength %d", path, utf8.RuneCountInString(x), *s.MaxLength))
		}
	case []any:
		if s.MaxItems != nil && int64(len(x)) > *s.MaxItems {
			bad = append(bad, fmt.Sprintf("%s: %d items, maxItems %d", path, len(x), *s.MaxItems))
		}
		if s.Items != nil && s.Items.Schema != nil {
			for i, e := range x {
				bad = append(bad, checkBounds(s.Items.Schema, e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case map[string]any:
		for k, e := range x {
			if p, ok := s.Properties[k]; ok {
				bad = append(bad, checkBounds(&p, e, path+"."+k)...)
			} else if s.XPreserveUnknownFields == nil {
				bad = append(bad, path+"."+k+": not in the schema")
			}
		}
	}
	return bad
}

func statusBounds(t testing.TB, plural string, st any) []string {
	t.Helper()
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return checkBounds(statusSchema(t, plural), v, "status")
}

func TestStatusName(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	got := StatusName(long)
	if len(got) > MaxStatusName || !utf8.ValidString(got) || !strings.HasPrefix(got, strings.Repeat("é", 122)) || !strings.Contains(got, "…~") {
		t.Fatalf("StatusName(300 bytes) = %q (%d bytes)", got, len(got))
	}
	other := StatusName(strings.Repeat("é", 149) + "e")
	if other == got {
		t.Fatalf("two long names sharing a prefix map to the same status name %q", got)
	}
	if n := strings.Repeat("a", 256); StatusName(n) != n {
		t.Fatal("a 256-byte name was changed")
	}
	if got := StatusName("a\xffb"); got != "a\uFFFDb" {
		t.Fatalf("StatusName(invalid UTF-8) = %q", got)
	}
}

// A 300-byte column name is recorded in status (cut, with a hash suffix)
// for builds, profiles and drift checks, and every status passes the
// CRD's bounds.
func TestLongColumnNameRecordedInStatus(t *testing.T) {
	name := "feature_" + strings.Repeat("x", 292) // 300 bytes
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	// Profile: through the termination message, as the controller sees it.
	enc, err := (&Summary{Kind: KindDatasetProfile, OK: true, Columns: 1, ProfileRows: 3,
		ColumnSummaries: ColumnList{{Name: name, DType: "object", NullCount: 0, UniqueCount: 3, Top: "a"}}}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	s, err := DecodeSummary(enc)
	if err != nil {
		t.Fatal(err)
	}
	var ps v1alpha1.DatasetProfileStatus
	ApplyProfile(&ps, 1, s, now)
	if len(ps.ColumnSummaries) != 1 || ps.ColumnSummaries[0].Name != StatusName(name) || ps.OmittedColumns != 0 {
		t.Fatalf("profile status columns %+v", ps.ColumnSummaries)
	}
	if bad := statusBounds(t, "datasetprofiles", &ps); len(bad) > 0 {
		t.Errorf("profile status: %v", bad)
	}

	// Drift.
	psi := 0.5
	enc, err = (&Summary{Kind: KindDriftCheck, OK: true, DriftDetected: true, MaxPSI: &psi, ColumnsChecked: 1, DriftedColumnCount: 1,
		DriftedColumns: []v1alpha1.DriftedColumn{{Name: name, PSI: 0.5, Severity: "high"}},
		ColumnPSI:      []v1alpha1.ColumnPSI{{Name: name, PSI: 0.5}}}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	if s, err = DecodeSummary(enc); err != nil {
		t.Fatal(err)
	}
	var ds v1alpha1.DriftCheckStatus
	ApplyDrift(&ds, 1, s, "job-1", nil, now)
	if ds.LastRun == nil || len(ds.LastRun.DriftedColumns) != 1 || ds.LastRun.DriftedColumns[0].Name != StatusName(name) {
		t.Fatalf("drift status %+v", ds.LastRun)
	}
	if bad := statusBounds(t, "driftchecks", &ds); len(bad) > 0 {
		t.Errorf("drift status: %v", bad)
	}

	// Build: the schema comes from the manifest.
	m := &manifest.Manifest{BuildID: "b1", CreatedAt: now}
	m.Schema.Version = 2
	m.Schema.Fingerprint = "sha256:00"
	m.Schema.Columns = []schema.Column{{Name: name, Type: "string", Nullable: true}}
	m.SchemaChanges = []schema.Change{{Kind: schema.Added, Column: name}}
	var bs v1alpha1.DatasetBuildStatus
	applyManifest(&bs, m)
	if bs.Schema == nil || len(bs.Schema.Columns) != 1 || bs.Schema.Columns[0].Name != StatusName(name) ||
		bs.SchemaChanges == nil || len(bs.SchemaChanges.Added) != 1 || bs.SchemaChanges.Added[0] != StatusName(name) {
		t.Fatalf("build status %+v %+v", bs.Schema, bs.SchemaChanges)
	}
	if bad := statusBounds(t, "datasetbuilds", &bs); len(bad) > 0 {
		t.Errorf("build status: %v", bad)
	}
}

// FuzzSummaryToStatus feeds arbitrary column names and messages through
// what a worker emits and the controller applies: the summary always
// encodes within MaxSummaryBytes, decodes, and gives a status within the
// CRD's bounds.
func FuzzSummaryToStatus(f *testing.F) {
	f.Add("a", "ok", 1)
	f.Add(strings.Repeat("x", 300), strings.Repeat("m", 5000), 70)
	f.Add("\xff\xfe", "bad\xffutf8", 3)
	f.Add(strings.Repeat("é", 200), "", 0)
	profile := statusSchema(f, "datasetprofiles")
	drift := statusSchema(f, "driftchecks")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, name, msg string, n int) {
		n = min(max(n, 0), 200)
		var cols ColumnList
		var drifted []v1alpha1.DriftedColumn
		var psis []v1alpha1.ColumnPSI
		for i := range n {
			nm := fmt.Sprintf("%s%d", name, i)
			cols = append(cols, v1alpha1.ColumnSummary{Name: nm, DType: "object", UniqueCount: int64(i), Top: Truncate(strings.ToValidUTF8(name, ""), 64)})
			drifted = append(drifted, v1alpha1.DriftedColumn{Name: nm, PSI: float64(i), Severity: "high"})
			psis = append(psis, v1alpha1.ColumnPSI{Name: nm, PSI: float64(i)})
		}
		psi := 1.0
		for _, sum := range []*Summary{
			{Kind: KindDatasetProfile, OK: true, Message: msg, Columns: int32(n), ColumnSummaries: cols},
			{Kind: KindDriftCheck, OK: true, Message: msg, MaxPSI: &psi, DriftedColumnCount: int32(n), ColumnsChecked: int32(n), DriftedColumns: drifted, ColumnPSI: psis},
			{Kind: KindDriftCheck, OK: false, Reason: v1alpha1.ReasonJobFailed, Message: msg},
		} {
			enc, err := sum.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if len(enc) > MaxSummaryBytes {
				t.Fatalf("summary of %d bytes", len(enc))
			}
			s, err := DecodeSummary(enc)
			if err != nil {
				t.Fatalf("DecodeSummary(%s): %v", enc, err)
			}
			var v any
			var sch *apiextensionsv1.JSONSchemaProps
			if sum.Kind == KindDatasetProfile {
				var st v1alpha1.DatasetProfileStatus
				ApplyProfile(&st, 1, s, now)
				v, sch = &st, profile
			} else {
				var st v1alpha1.DriftCheckStatus
				ApplyDrift(&st, 1, s, "job", nil, now)
				v, sch = &st, drift
			}
			data, _ := json.Marshal(v)
			var tree any
			_ = json.Unmarshal(data, &tree)
			if bad := checkBounds(sch, tree, "status"); len(bad) > 0 {
				t.Fatalf("%s status out of the CRD's bounds: %v", sum.Kind, bad)
			}
		}
	})
}
