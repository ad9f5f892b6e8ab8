package v1alpha1_test

import "testing"

// The split check and publish gate fields: what admission refuses, and
// what it keeps.
func TestAdmissionGateAndSplitCheck(t *testing.T) {
	needEnv(t)
	bad := []struct{ name, patch, field, msg string }{
		{"gate against a build and a profile",
			`spec: {publishGate: {against: {buildID: b1, profileURI: "s3://ml/p.json"}}}`,
			"spec.publishGate.against", "set either buildID or profileURI, not both"},
		{"changed files against a profile",
			`spec: {publishGate: {compare: ChangedFiles, against: {profileURI: "s3://ml/p.json"}}}`,
			"spec.publishGate", "compare ChangedFiles needs a build as baseline"},
		{"unknown onDrift", `spec: {publishGate: {onDrift: Ignore}}`,
			"spec.publishGate.onDrift", `Unsupported value: "Ignore"`},
		{"build id with a slash", `spec: {publishGate: {against: {buildID: "a/b"}}}`,
			"spec.publishGate.against.buildID", "should match"},
		{"zero split PSI", `spec: {validation: {splits: {psiThreshold: 0}}}`,
			"spec.validation.splits.psiThreshold", "should be greater than 0"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			wantInvalid(t, k8s.Create(ctx(t), manifest(t, "build", tc.patch, uniqueName("bad"))), tc.field, tc.msg)
		})
	}
	good := []string{
		`spec: {publishGate: {}}`,
		`spec: {publishGate: {compare: ChangedFiles, split: train, columns: {exclude: [id]}, metrics: {thresholds: {psi: 0.2}}, onDrift: Warn}}`,
		`spec: {publishGate: {against: {profileURI: "s3://ml/p.json"}}}`,
		`spec: {validation: {splits: {enabled: false, psiThreshold: 0.2, minRows: 50, exclude: [ts]}}}`,
	}
	for _, patch := range good {
		if err := k8s.Create(ctx(t), manifest(t, "build", patch, uniqueName("good"))); err != nil {
			t.Errorf("%s rejected: %v", patch, err)
		}
	}
}
