//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// TestE2EPublishGate: a DatasetBuild with a publish gate publishes its
// first build; a second whose tenure and support calls moved
// (testdata/sample-drifted) is refused before latest.json moves, the
// resource says DriftGateFailed naming the columns, and the first build
// stays published. It uses names of its own (DatasetBuild gated, prefixes
// raw/gated/ and datasets/gated/), so it runs beside TestE2E or alone
// (go test -tags e2e -run TestE2EPublishGate ./test/e2e/).
func TestE2EPublishGate(t *testing.T) {
	t.Parallel()
	if err := uploadDir("testdata/sample", "raw/gated/"); err != nil {
		t.Fatal(err)
	}
	apply(t, fmt.Sprintf(`apiVersion: mldata.io/v1alpha1
kind: DatasetBuild
metadata:
  name: gated
spec:
  source:
    uri: %s
    format: csv
    secretRef: {name: mldata-s3}
  output:
    uri: %s
    secretRef: {name: mldata-s3}
  split:
    ratios:
    - {name: train, ratio: 0.8}
    - {name: test, ratio: 0.2}
    key: customer_id
  publishGate:
    columns: {include: [tenure_months, support_calls, monthly_fee]}
    metrics: {thresholds: {psi: 0.15}}
    onDrift: Fail
`, bucketURI("raw/gated/"), bucketURI("datasets/gated/")))
	wait(t, 3*time.Minute, "condition=Ready", "datasetbuild/gated")
	first := latest(t, "datasets/gated/")
	if first == nil || first.PublishGate == nil || first.PublishGate.Against != "none" {
		t.Fatalf("first build %+v: want it published with the gate passed against nothing", first)
	}
	if b := getBuild(t, "gated"); b.Status.BuildID != first.BuildID ||
		!strings.HasPrefix(cond(b.Status.Conditions, v1alpha1.ConditionSplitsConsistent), "True/") {
		t.Errorf("status build %s (published %s), SplitsConsistent %s", b.Status.BuildID, first.BuildID, cond(b.Status.Conditions, v1alpha1.ConditionSplitsConsistent))
	}

	put(t, "raw/gated/", "customers-2025.csv", readFile(t, "testdata/sample-drifted/customers-2025.csv"))
	request(t, "datasetbuild/gated")
	var msg string
	eventually(t, 3*time.Minute, "the drifted build refused", func() error {
		b := getBuild(t, "gated")
		msg = cond(b.Status.Conditions, v1alpha1.ConditionReady)
		if !strings.HasPrefix(msg, "False/"+v1alpha1.ReasonDriftGateFailed) {
			return fmt.Errorf("Ready %s", msg)
		}
		return nil
	})
	// PSI against the published build: tenure_months 0.21, support_calls
	// 0.22 drift; monthly_fee (0.07) does not.
	for _, s := range []string{"in 2 column(s)", "support_calls: psi ", "tenure_months: psi ", " >= 0.15", "build " + first.BuildID + " stays the published one"} {
		if !strings.Contains(msg, s) {
			t.Errorf("Ready %q lacks %q", msg, s)
		}
	}
	if strings.Contains(msg, "monthly_fee") {
		t.Errorf("Ready %q names monthly_fee, which did not drift", msg)
	}
	if m := latest(t, "datasets/gated/"); m == nil || m.BuildID != first.BuildID {
		t.Errorf("published build after the refusal: %+v, want %s", m, first.BuildID)
	}
	if b := getBuild(t, "gated"); b.Status.BuildID != first.BuildID || b.Status.TotalRows != first.Rows() {
		t.Errorf("status build %s rows %d, want the first build's (%s, %d)", b.Status.BuildID, b.Status.TotalRows, first.BuildID, first.Rows())
	}
	mustKubectl(t, "-n", ns, "delete", "datasetbuild/gated", "--wait=false")
}
