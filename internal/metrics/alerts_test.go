package metrics_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

// repoTool is bin/<name> of the repository, built by `make <name>`
// (hack/tools/install.sh); tests without it skip, except under CI.
func repoTool(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "bin", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no %s: run make %s (it builds it through the Go module proxy into bin/)", p, name)
		}
		t.Skipf("no %s: run make %s (it builds it through the Go module proxy into bin/)", p, name)
	}
	return p
}

// TestAlertRules runs the unit tests of config/prometheus/alerts_test.yaml
// with promtool on the rule groups of config/prometheus/alerts.yaml.
func TestAlertRules(t *testing.T) {
	promtool := repoTool(t, "promtool")
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Kind string         `json:"kind"`
		Spec map[string]any `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &rule); err != nil {
		t.Fatalf("config/prometheus/alerts.yaml: %v", err)
	}
	if rule.Kind != "PrometheusRule" || rule.Spec["groups"] == nil {
		t.Fatalf("config/prometheus/alerts.yaml: kind %q, want a PrometheusRule with spec.groups", rule.Kind)
	}
	// promtool reads plain rule files: the PrometheusRule's spec is one.
	rules, err := yaml.Marshal(rule.Spec)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(filepath.Join("..", "..", "config", "prometheus", "alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts_test.yaml"), tests, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
