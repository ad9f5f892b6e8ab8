package v1alpha1_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/randfill"
	"sigs.k8s.io/yaml"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// roots are every top-level type; filling them reaches every nested type.
func roots() []runtime.Object {
	return []runtime.Object{
		&v1alpha1.DatasetBuild{}, &v1alpha1.DatasetBuildList{},
		&v1alpha1.DatasetProfile{}, &v1alpha1.DatasetProfileList{},
		&v1alpha1.DriftCheck{}, &v1alpha1.DriftCheckList{},
	}
}

func filler(seed int64) *randfill.Filler {
	return randfill.NewWithSeed(seed).NilChance(0.2).NumElements(1, 3).Funcs(
		// A random Quantity's internals are not a valid quantity.
		func(q *resource.Quantity, c randfill.Continue) {
			*q = *resource.NewQuantity(c.Int63n(1<<40), resource.BinarySI)
		},
		// Object metadata is apimachinery's, tested there; random managed
		// fields do not survive JSON.
		func(m *metav1.ObjectMeta, c randfill.Continue) {
			*m = metav1.ObjectMeta{Name: c.String(20), Namespace: c.String(10), Labels: map[string]string{c.String(5): c.String(5)}}
		},
		// JSON keeps times to the second.
		func(t *metav1.Time, c randfill.Continue) {
			*t = metav1.Unix(c.Int63n(4e9), 0).Rfc3339Copy()
		},
	)
}

// TestDeepCopy checks the generated deepcopy functions on randomly filled
// objects: the copy is equal, and shares no memory with the original (a
// change to the copy's JSON-visible fields leaves the original's JSON as it
// was).
func TestDeepCopy(t *testing.T) {
	for seed := int64(0); seed < 20; seed++ {
		for _, obj := range roots() {
			filler(seed).Fill(obj)
			before, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			cp := obj.DeepCopyObject()
			if d := cmp.Diff(obj, cp); d != "" {
				t.Fatalf("%T: copy differs (-orig +copy):\n%s", obj, d)
			}
			filler(seed + 1000).Fill(cp)
			after, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			if string(before) != string(after) {
				t.Fatalf("%T: filling the copy changed the original", obj)
			}
		}
	}
	// Nil in, nil out: controllers copy optional parts without checks.
	var b *v1alpha1.DatasetBuild
	if b.DeepCopy() != nil || b.DeepCopyObject() != nil {
		t.Error("DeepCopy of a nil DatasetBuild is not nil")
	}
	var s *v1alpha1.SplitSpec
	if s.DeepCopy() != nil {
		t.Error("DeepCopy of a nil SplitSpec is not nil")
	}
}

// TestJSONRoundTrip checks that every field survives JSON, the form the API
// server stores, and that field names are the documented camelCase ones.
func TestJSONRoundTrip(t *testing.T) {
	for seed := int64(0); seed < 20; seed++ {
		for _, obj := range roots() {
			filler(seed).Fill(obj)
			data, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			back := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(runtime.Object)
			if err := json.Unmarshal(data, back); err != nil {
				t.Fatalf("%T: %v", obj, err)
			}
			if d := cmp.Diff(obj, back); d != "" {
				t.Fatalf("%T: JSON round trip differs (-orig +back):\n%s", obj, d)
			}
		}
	}
	data, err := json.Marshal(v1alpha1.DriftThresholds{PSI: ptrTo(0.2), KSPValue: ptrTo(0.05), JSDistance: ptrTo(0.1), Chi2PValue: ptrTo(0.01)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), `{"psi":0.2,"ksPValue":0.05,"jsDistance":0.1,"chi2PValue":0.01}`; got != want {
		t.Errorf("thresholds JSON = %s, want %s", got, want)
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestScheme(t *testing.T) {
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	for _, obj := range roots() {
		gvks, _, err := s.ObjectKinds(obj)
		if err != nil {
			t.Fatalf("%T: %v", obj, err)
		}
		want := v1alpha1.GroupVersion.WithKind(reflect.TypeOf(obj).Elem().Name())
		if len(gvks) != 1 || gvks[0] != want {
			t.Errorf("%T registered as %v, want %v", obj, gvks, want)
		}
	}
	if v1alpha1.GroupVersion.String() != "mldata.io/v1alpha1" {
		t.Errorf("group version %s", v1alpha1.GroupVersion)
	}
}

func TestConditionsAccessors(t *testing.T) {
	conds := []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonSucceeded}}
	type conditioned interface {
		GetConditions() []metav1.Condition
		SetConditions([]metav1.Condition)
	}
	for _, obj := range []conditioned{&v1alpha1.DatasetBuild{}, &v1alpha1.DatasetProfile{}, &v1alpha1.DriftCheck{}} {
		obj.SetConditions(conds)
		if d := cmp.Diff(conds, obj.GetConditions()); d != "" {
			t.Errorf("%T conditions (-set +got):\n%s", obj, d)
		}
	}
	var d v1alpha1.DriftCheck
	d.SetConditions(conds)
	if len(d.Status.Conditions) != 1 || d.Status.Conditions[0].Type != "Ready" {
		t.Errorf("SetConditions did not write status.conditions: %+v", d.Status)
	}
}

// loadCRDs reads the generated CRDs, keyed by plural.
func loadCRDs(t testing.TB) map[string]*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil || len(files) != 3 {
		t.Fatalf("CRDs in %s: %v %v; want 3 (run make manifests)", crdDir, files, err)
	}
	crds := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		crds[crd.Spec.Names.Plural] = &crd
	}
	return crds
}

// schemaAt walks dotted property names; "[]" steps into array items.
func schemaAt(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition, path string) apiextensionsv1.JSONSchemaProps {
	t.Helper()
	s := *crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	for _, p := range strings.Split(path, ".") {
		if p == "[]" {
			s = *s.Items.Schema
			continue
		}
		next, ok := s.Properties[p]
		if !ok {
			t.Fatalf("%s: no %q in %s", crd.Name, p, path)
		}
		s = next
	}
	return s
}

// TestBoundsMatchConstants keeps the exported limits, which controllers use
// to trim status, equal to the CRD's maxItems, which the API server enforces.
func TestBoundsMatchConstants(t *testing.T) {
	crds := loadCRDs(t)
	cases := []struct {
		crd, path string
		want      int64
	}{
		{"datasetbuilds", "status.conditions", v1alpha1.MaxConditions},
		{"datasetbuilds", "spec.split.ratios", v1alpha1.MaxSplits},
		{"datasetbuilds", "status.rows", v1alpha1.MaxSplits},
		{"datasetbuilds", "status.sources", v1alpha1.MaxStatusSources},
		{"datasetbuilds", "status.schema.columns", v1alpha1.MaxSchemaColumns},
		{"datasetbuilds", "status.schemaHistory", v1alpha1.MaxSchemaHistory},
		{"datasetbuilds", "status.schemaChanges.added", v1alpha1.MaxSchemaChanges},
		{"datasetbuilds", "status.schemaChanges.removed", v1alpha1.MaxSchemaChanges},
		{"datasetbuilds", "status.schemaChanges.typeChanges", v1alpha1.MaxSchemaChanges},
		{"datasetprofiles", "status.conditions", v1alpha1.MaxConditions},
		{"datasetprofiles", "status.columnSummaries", v1alpha1.MaxProfileColumns},
		{"driftchecks", "status.conditions", v1alpha1.MaxConditions},
		{"driftchecks", "status.lastRun.driftedColumns", v1alpha1.MaxDriftedColumns},
		{"driftchecks", "status.recentRuns", v1alpha1.MaxRecentRuns},
		{"driftchecks", "status.activeJobs", v1alpha1.MaxRecentRuns},
		{"datasetbuilds", "status.warnings", v1alpha1.MaxWarnings},
	}
	for _, tc := range cases {
		s := schemaAt(t, crds[tc.crd], tc.path)
		if s.MaxItems == nil || *s.MaxItems != tc.want {
			t.Errorf("%s %s: maxItems %v, want %d", tc.crd, tc.path, s.MaxItems, tc.want)
		}
	}
}

// statusBound is an upper bound of the JSON size of any value the schema
// admits, in characters; ok is false when something is unbounded.
func statusBound(s apiextensionsv1.JSONSchemaProps, path string, unbounded *[]string) int64 {
	switch s.Type {
	case "object":
		if s.AdditionalProperties != nil {
			*unbounded = append(*unbounded, path+" (map)")
			return 0
		}
		n := int64(2)
		for name, p := range s.Properties {
			n += int64(len(name)) + 4 + statusBound(p, path+"."+name, unbounded)
		}
		return n
	case "array":
		if s.MaxItems == nil {
			*unbounded = append(*unbounded, path)
			return 0
		}
		return 2 + *s.MaxItems*(1+statusBound(*s.Items.Schema, path+"[]", unbounded))
	case "string":
		switch {
		case s.Format == "date-time":
			return 32
		case len(s.Enum) > 0:
			var n int64
			for _, e := range s.Enum {
				n = max(n, int64(len(e.Raw)))
			}
			return n
		case s.MaxLength != nil:
			// Characters, not bytes; JSON escaping can double them, which
			// the margin below allows for.
			return 2 + *s.MaxLength
		}
		*unbounded = append(*unbounded, path)
		return 0
	case "integer", "number":
		return 24
	case "boolean":
		return 5
	}
	*unbounded = append(*unbounded, path+" (type "+s.Type+")")
	return 0
}

// TestStatusIsBounded proves the promise that status stays below
// etcd's object size limit (1.5 MiB) whatever the dataset: every list and
// string in status is bounded, and even the worst case — every list full,
// every string at its longest, eight 32 KiB condition messages — leaves
// half a MiB for metadata and spec. Real statuses are a few KiB: the
// per-file list stops at 256 files.
func TestStatusIsBounded(t *testing.T) {
	const etcdLimit = 1536 * 1024
	for plural, crd := range loadCRDs(t) {
		var unbounded []string
		n := statusBound(schemaAt(t, crd, "status"), "status", &unbounded)
		if len(unbounded) > 0 {
			t.Errorf("%s: unbounded status fields: %v", plural, unbounded)
		}
		t.Logf("%s: status is at most %d characters", plural, n)
		if n > etcdLimit-512*1024 {
			t.Errorf("%s: worst-case status is %d characters, leaving less than 512 KiB of etcd's %d-byte limit", plural, n, etcdLimit)
		}
	}
}

// TestCRDShape checks what `kubectl get` relies on: names, categories, the
// status subresource and printer columns.
func TestCRDShape(t *testing.T) {
	crds := loadCRDs(t)
	want := map[string]struct {
		kind, short string
		columns     []string
	}{
		"datasetbuilds":   {"DatasetBuild", "dsb", []string{"Ready", "Status", "Rows", "Schema", "Shards", "Build", "Output", "Digest", "Age"}},
		"datasetprofiles": {"DatasetProfile", "dsp", []string{"Ready", "Status", "Rows", "Columns", "Build", "Report", "Age"}},
		"driftchecks":     {"DriftCheck", "dc", []string{"Ready", "Status", "Drift", "Max PSI", "Schedule", "Last Run", "Report", "Age"}},
	}
	for plural, w := range want {
		crd := crds[plural]
		if crd == nil {
			t.Fatalf("no CRD for %s", plural)
		}
		if crd.Spec.Group != "mldata.io" || crd.Spec.Names.Kind != w.kind || crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
			t.Errorf("%s: group %s kind %s scope %s", plural, crd.Spec.Group, crd.Spec.Names.Kind, crd.Spec.Scope)
		}
		if d := cmp.Diff([]string{w.short}, crd.Spec.Names.ShortNames); d != "" {
			t.Errorf("%s short names (-want +got):\n%s", plural, d)
		}
		if d := cmp.Diff([]string{"mldata"}, crd.Spec.Names.Categories); d != "" {
			t.Errorf("%s categories (-want +got):\n%s", plural, d)
		}
		v := crd.Spec.Versions[0]
		if v.Name != "v1alpha1" || !v.Served || !v.Storage || v.Subresources == nil || v.Subresources.Status == nil {
			t.Errorf("%s: version %s served=%v storage=%v subresources=%v", plural, v.Name, v.Served, v.Storage, v.Subresources)
		}
		var cols []string
		for _, c := range v.AdditionalPrinterColumns {
			cols = append(cols, c.Name)
		}
		if d := cmp.Diff(w.columns, cols); d != "" {
			t.Errorf("%s printer columns (-want +got):\n%s", plural, d)
		}
	}
}
