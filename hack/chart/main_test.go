package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestChartInSync fails when the chart's copies of config/ (CRDs, RBAC
// rules, dashboard) are stale: run `make chart` and commit.
func TestChartInSync(t *testing.T) {
	root := filepath.Join("..", "..")
	files, err := generate(root)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := stale(root, files)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("the chart differs from config/ (run make chart and commit): %s", strings.Join(bad, ", "))
	}
}

// TestStaleDetected: a changed rule, a missing CRD and an extra file in
// crds/ are each reported.
func TestStaleDetected(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"config/crd/bases", "config/rbac", "config/grafana"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, path), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("config/crd/bases/a.yaml", "kind: CustomResourceDefinition\n")
	for _, src := range rulesFiles {
		write(src, "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\nrules:\n- apiGroups: [\"\"]\n  resources: [pods]\n  verbs: [get]\n")
	}
	write("config/grafana/mldata.json", "{}\n")
	files, err := generate(root)
	if err != nil {
		t.Fatal(err)
	}
	for p, data := range files {
		write(p, string(data))
	}
	if bad, _ := stale(root, files); len(bad) != 0 {
		t.Fatalf("fresh copy reported stale: %v", bad)
	}
	if got := string(files["charts/mldata/files/manager-rules.yaml"]); !strings.Contains(got, "- apiGroups:\n  - \"\"\n  resources:\n  - pods\n  verbs:\n  - get\n") {
		t.Errorf("rules copy:\n%s", got)
	}
	write("config/rbac/role.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\nrules:\n- apiGroups: [\"\"]\n  resources: [pods]\n  verbs: [get, list]\n")
	write("charts/mldata/crds/old.yaml", "x")
	if err := os.Remove(filepath.Join(root, "charts/mldata/crds/a.yaml")); err != nil {
		t.Fatal(err)
	}
	files, err = generate(root)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := stale(root, files)
	if err != nil {
		t.Fatal(err)
	}
	want := "charts/mldata/crds/a.yaml,charts/mldata/crds/old.yaml (not in config/crd/bases),charts/mldata/files/manager-rules.yaml"
	if strings.Join(bad, ",") != want {
		t.Errorf("stale = %v, want %s", bad, want)
	}
	// A role file with a misspelt field is an error naming the file.
	write("config/rbac/metrics_reader_role.yaml", "kind: ClusterRole\nrulez: []\n")
	if _, err := generate(root); err == nil || !strings.Contains(err.Error(), "config/rbac/metrics_reader_role.yaml") {
		t.Errorf("generate with a bad role: %v", err)
	}
}
