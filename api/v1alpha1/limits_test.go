package v1alpha1_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// spec.limits: the API server refuses values outside each limit's bounds,
// on all three kinds, and names the field.
func TestAdmissionLimitBounds(t *testing.T) {
	needEnv(t)
	cases := []struct {
		name, base, patch string
		field, msg        string
	}{
		{"no columns", "build", `spec: {limits: {maxColumns: 0}}`,
			"spec.limits.maxColumns", "should be greater than or equal to 1"},
		{"a million and one columns", "profile", `spec: {limits: {maxColumns: 1000001}}`,
			"spec.limits.maxColumns", "should be less than or equal to 1000000"},
		{"record of 2Gi", "drift", `spec: {limits: {maxRecordBytes: 2Gi}}`,
			"spec.limits.maxRecordBytes", "maxRecordBytes must be a whole number of bytes from 1Ki to below 2Gi"},
		{"record of 1000 bytes", "build", `spec: {limits: {maxRecordBytes: 1000}}`,
			"spec.limits.maxRecordBytes", "from 1Ki to below 2Gi"},
		{"fractional record bytes", "build", `spec: {limits: {maxRecordBytes: 1500m}}`,
			"spec.limits.maxRecordBytes", "whole number of bytes"},
		{"negative file bytes", "profile", `spec: {limits: {maxFileBytes: "-1Gi"}}`,
			"spec.limits.maxFileBytes", "maxFileBytes must be a whole number of bytes from 1Mi to 1Ti"},
		{"file bytes above 1Ti", "drift", `spec: {limits: {maxFileBytes: 1025Gi}}`,
			"spec.limits.maxFileBytes", "from 1Mi to 1Ti"},
		{"chunk of 512Ki", "build", `spec: {limits: {maxChunkBytes: 512Ki}}`,
			"spec.limits.maxChunkBytes", "maxChunkBytes must be a whole number of bytes from 1Mi to 64Gi"},
		{"chunk of 65Gi", "profile", `spec: {limits: {maxChunkBytes: 65Gi}}`,
			"spec.limits.maxChunkBytes", "from 1Mi to 64Gi"},
		{"not a quantity", "drift", `spec: {limits: {maxChunkBytes: lots}}`,
			"spec.limits.maxChunkBytes", "quantities must match the regular expression"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := k8s.Create(ctx(t), manifest(t, tc.base, tc.patch, uniqueName("limits")))
			wantInvalid(t, err, tc.field, tc.msg)
		})
	}
}

// Values at the bounds are accepted and stored as written: the API server
// fills in no default, so an omitted limit stays omitted (the operator's
// flag applies).
func TestAdmissionLimitsStoredAsWritten(t *testing.T) {
	needEnv(t)
	for _, tc := range []struct{ name, base, patch string }{
		{"lowest", "build", `spec: {limits: {maxColumns: 1, maxRecordBytes: 1Ki, maxFileBytes: 1Mi, maxChunkBytes: 1Mi}}`},
		{"highest", "profile", `spec: {limits: {maxColumns: 1000000, maxRecordBytes: 2147483647, maxFileBytes: 1Ti, maxChunkBytes: 64Gi}}`},
		{"plain numbers", "drift", `spec: {limits: {maxRecordBytes: 1048576, maxChunkBytes: 268435456}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := manifest(t, tc.base, tc.patch, uniqueName("limits-ok"))
			if err := k8s.Create(ctx(t), obj); err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}

	// Read back through the typed API.
	b := manifest(t, "build", `spec: {limits: {maxRecordBytes: 8Mi, maxChunkBytes: 256Mi}}`, uniqueName("limits-typed"))
	if err := k8s.Create(ctx(t), b); err != nil {
		t.Fatal(err)
	}
	var got v1alpha1.DatasetBuild
	if err := k8s.Get(ctx(t), client.ObjectKeyFromObject(b), &got); err != nil {
		t.Fatal(err)
	}
	l := got.Spec.Limits
	if l == nil || l.MaxColumns != nil || l.MaxFileBytes != nil {
		t.Fatalf("limits %+v: want maxRecordBytes and maxChunkBytes only, no defaults", l)
	}
	if want := resource.MustParse("8Mi"); l.MaxRecordBytes == nil || l.MaxRecordBytes.Value() != want.Value() {
		t.Errorf("maxRecordBytes %v, want 8Mi", l.MaxRecordBytes)
	}
	if l.MaxChunkBytes == nil || l.MaxChunkBytes.Value() != 256<<20 {
		t.Errorf("maxChunkBytes %v, want 256Mi", l.MaxChunkBytes)
	}
	var plain v1alpha1.DatasetBuild
	if err := k8s.Get(ctx(t), client.ObjectKeyFromObject(manifestCreated(t)), &plain); err != nil {
		t.Fatal(err)
	}
	if plain.Spec.Limits != nil {
		t.Errorf("a build without limits reads back with %+v; want none", plain.Spec.Limits)
	}
}

// manifestCreated creates the base build and returns it.
func manifestCreated(t *testing.T) client.Object {
	t.Helper()
	obj := manifest(t, "build", `{}`, uniqueName("limits-none"))
	if err := k8s.Create(ctx(t), obj); err != nil {
		t.Fatal(err)
	}
	return obj
}
