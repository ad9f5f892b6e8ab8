package v1alpha1_test

import "testing"

// TestAdmissionDriftMethods: the API server refuses verdict methods that
// cannot decide the columns they select, and accepts every valid form.
func TestAdmissionDriftMethods(t *testing.T) {
	needEnv(t)
	bad := []struct{ name, patch, field, msg string }{
		{"unknown method", `spec: {metrics: {methods: [{type: numeric, method: emd}]}}`,
			"spec.metrics.methods[0].method", `Unsupported value: "emd"`},
		{"columns and type", `spec: {metrics: {methods: [{type: numeric, columns: [age], method: ks}]}}`,
			"spec.metrics.methods[0]", "set either columns or type"},
		{"neither", `spec: {metrics: {methods: [{method: ks}]}}`,
			"spec.metrics.methods[0]", "set either columns or type"},
		{"linf for numeric", `spec: {metrics: {methods: [{type: numeric, method: linf}]}}`,
			"spec.metrics.methods[0]", "linf and chisquare apply to categorical columns only"},
		{"wasserstein for categorical", `spec: {metrics: {methods: [{type: categorical, method: wasserstein}]}}`,
			"spec.metrics.methods[0]", "ks and wasserstein apply to numeric columns only"},
		{"p-value of 1", `spec: {metrics: {methods: [{columns: [age], method: ks, threshold: 1}]}}`,
			"spec.metrics.methods[0]", "thresholds are p-values"},
		{"hellinger above 1", `spec: {metrics: {methods: [{columns: [age], method: hellinger, threshold: 1.5}]}}`,
			"spec.metrics.methods[0]", "distances are at most 1"},
		{"zero threshold", `spec: {metrics: {methods: [{columns: [age], method: psi, threshold: 0}]}}`,
			"spec.metrics.methods[0].threshold", "should be greater than 0"},
		{"type twice", `spec: {metrics: {methods: [{type: numeric, method: ks}, {type: numeric, method: psi}]}}`,
			"spec.metrics.methods", "give each type (numeric, categorical) at most one rule"},
		{"unknown type", `spec: {metrics: {methods: [{type: text, method: psi}]}}`,
			"spec.metrics.methods[0].type", `Unsupported value: "text"`},
		{"drift share 0", `spec: {metrics: {driftShare: 0}}`,
			"spec.metrics.driftShare", "should be greater than 0"},
		{"drift share above 1", `spec: {metrics: {driftShare: 1.5}}`,
			"spec.metrics.driftShare", "should be less than or equal to 1"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			wantInvalid(t, k8s.Create(ctx(t), manifest(t, "drift", tc.patch, uniqueName("bad"))), tc.field, tc.msg)
		})
	}
	good := []struct{ name, patch string }{
		{"every method", `spec: {metrics: {driftShare: 0.5, methods: [
			{type: numeric, method: wasserstein, threshold: 0.2}, {type: categorical, method: chisquare},
			{columns: [age, income], method: ks, threshold: 0.01}, {columns: [plan], method: linf, threshold: 0.05},
			{columns: [nps], method: hellinger}, {columns: [region], method: js, threshold: 1}, {columns: [tenure], method: psi, threshold: 0.25}]}}`},
		{"integer threshold", `spec: {metrics: {methods: [{columns: [age], method: wasserstein, threshold: 2}]}}`},
		{"drift share 1", `spec: {metrics: {driftShare: 1}}`},
		{"bounded memory", `spec: {maxMemory: 512Mi}`},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			if err := k8s.Create(ctx(t), manifest(t, "drift", tc.patch, uniqueName("good"))); err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}
}
