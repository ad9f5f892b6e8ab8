package v1alpha1_test

import (
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// kubectl runs the kubectl on PATH against the envtest API server.
func kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kubectl is not installed: %v", err)
		}
		t.Skipf("kubectl is not installed: %v", err)
	}
	cmd := exec.Command(path, append([]string{"--kubeconfig", kubeconfigPath}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestKubectlDryRun is what a GitOps pipeline does before merging: apply the
// CRDs and the samples with server-side validation and no change.
func TestKubectlDryRun(t *testing.T) {
	needEnv(t)
	out, err := kubectl(t, "apply", "--dry-run=server", "-n", "default",
		"-f", "../../config/crd/bases", "-f", "../../config/samples")
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=server: %v\n%s", err, out)
	}
	for _, want := range []string{
		"customresourcedefinition.apiextensions.k8s.io/datasetbuilds.mldata.io",
		"datasetbuild.mldata.io/churn created (server dry run)",
		"datasetprofile.mldata.io/churn-train created (server dry run)",
		"driftcheck.mldata.io/churn-drift created (server dry run)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestKubectlDryRunRejects checks that a bad manifest fails the dry run with
// the field named, as a CI check of a pull request would see it.
func TestKubectlDryRunRejects(t *testing.T) {
	needEnv(t)
	bad := t.TempDir() + "/bad.yaml"
	if err := os.WriteFile(bad, []byte(`apiVersion: mldata.io/v1alpha1
kind: DriftCheck
metadata: {name: bad, namespace: default}
spec:
  baseline: {uri: "s3://a/b/"}
  current: {uri: "s3://a/c/"}
  output: {uri: "s3://a/d/"}
  metrics: {bins: 1}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := kubectl(t, "apply", "--dry-run=server", "-f", bad)
	if err == nil {
		t.Fatalf("bad manifest accepted:\n%s", out)
	}
	if !strings.Contains(out, "spec.metrics.bins") || !strings.Contains(out, "should be greater than or equal to 2") {
		t.Errorf("error does not name spec.metrics.bins:\n%s", out)
	}
}

// TestKubectlNames checks the short names, the mldata category and the
// printer columns.
func TestKubectlNames(t *testing.T) {
	needEnv(t)
	if _, err := kubectl(t, "create", "namespace", "names"); err != nil {
		t.Fatal(err)
	}
	if out, err := kubectl(t, "apply", "-n", "names", "-f", "../../config/samples"); err != nil {
		t.Fatalf("apply samples: %v\n%s", err, out)
	}
	out, err := kubectl(t, "get", "mldata", "-n", "names", "-o", "name")
	if err != nil {
		t.Fatalf("kubectl get mldata: %v\n%s", err, out)
	}
	got := strings.Fields(out)
	sort.Strings(got)
	want := []string{"datasetbuild.mldata.io/churn", "datasetprofile.mldata.io/churn-train", "driftcheck.mldata.io/churn-drift"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("kubectl get mldata = %q, want %q", got, want)
	}
	headers := map[string][]string{
		"dsb": {"NAME", "READY", "STATUS", "ROWS", "SCHEMA", "AGE"},
		"dsp": {"NAME", "READY", "STATUS", "ROWS", "COLUMNS", "AGE"},
		"dc":  {"NAME", "READY", "STATUS", "DRIFT", "MAX PSI", "SCHEDULE", "LAST RUN", "AGE"},
	}
	for short, cols := range headers {
		out, err := kubectl(t, "get", short, "-n", "names")
		if err != nil {
			t.Fatalf("kubectl get %s: %v\n%s", short, err, out)
		}
		header := strings.SplitN(out, "\n", 2)[0]
		if got := strings.Join(strings.Fields(header), " "); got != strings.Join(cols, " ") {
			t.Errorf("kubectl get %s header = %q, want %q", short, got, strings.Join(cols, " "))
		}
	}
}

// TestKubectlExplain checks that the field comments reach `kubectl explain`,
// which is the reference manual of the API.
func TestKubectlExplain(t *testing.T) {
	needEnv(t)
	out, err := kubectl(t, "explain", "datasetbuild.spec.split.ratios")
	if err != nil {
		t.Fatalf("kubectl explain: %v\n%s", err, out)
	}
	for _, want := range []string{"must sum", "to 1", "Order matters", "ratio", "name"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain datasetbuild.spec.split.ratios lacks %q:\n%s", want, out)
		}
	}
	out, err = kubectl(t, "explain", "driftcheck.spec", "--recursive")
	if err != nil {
		t.Fatalf("kubectl explain --recursive: %v\n%s", err, out)
	}
	for _, want := range []string{"baseline", "datasetProfileRef", "thresholds", "ksPValue", "concurrencyPolicy", "startingDeadlineSeconds"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain driftcheck.spec --recursive lacks %q", want)
		}
	}
}
