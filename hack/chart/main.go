// Command chart writes the parts of the Helm chart (charts/mldata) that are
// copies of config/: the CustomResourceDefinitions (crds/), the manager's
// RBAC rules and those of leader election and metrics (files/*-rules.yaml),
// and the Grafana dashboard (files/dashboard.json). config/ stays the one
// place they are edited or generated; `make chart` runs this, and
// `make verify` (chart-verify) fails when the chart's copies differ.
//
// Usage: go run ./hack/chart [-check]   (from the repository root)
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

const chartDir = "charts/mldata"

// rulesFiles maps the chart's rules files to the config/rbac role they copy.
var rulesFiles = map[string]string{
	"files/manager-rules.yaml":         "config/rbac/role.yaml",
	"files/leader-election-rules.yaml": "config/rbac/leader_election_role.yaml",
	"files/metrics-auth-rules.yaml":    "config/rbac/metrics_auth_role.yaml",
	"files/metrics-reader-rules.yaml":  "config/rbac/metrics_reader_role.yaml",
}

const header = "# Generated from %s by hack/chart (make chart); do not edit.\n"

// generate returns the chart's generated files, by path under root.
func generate(root string) (map[string][]byte, error) {
	out := map[string][]byte{}
	crds, err := filepath.Glob(filepath.Join(root, "config/crd/bases/*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(crds) == 0 {
		return nil, fmt.Errorf("no CRDs in %s/config/crd/bases: run make manifests", root)
	}
	for _, f := range crds {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		rel := "config/crd/bases/" + filepath.Base(f)
		out[filepath.Join(chartDir, "crds", filepath.Base(f))] = append([]byte(fmt.Sprintf(header, rel)), data...)
	}
	for dst, src := range rulesFiles {
		data, err := os.ReadFile(filepath.Join(root, src))
		if err != nil {
			return nil, err
		}
		// Role and ClusterRole share the rules field.
		var role rbacv1.ClusterRole
		if err := yaml.UnmarshalStrict(data, &role); err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		if len(role.Rules) == 0 {
			return nil, fmt.Errorf("%s: no rules", src)
		}
		rules, err := yaml.Marshal(role.Rules)
		if err != nil {
			return nil, err
		}
		out[filepath.Join(chartDir, dst)] = append([]byte(fmt.Sprintf(header, src)), rules...)
	}
	dash, err := os.ReadFile(filepath.Join(root, "config/grafana/mldata.json"))
	if err != nil {
		return nil, err
	}
	// JSON has no comments: the dashboard is copied as it is.
	out[filepath.Join(chartDir, "files/dashboard.json")] = dash
	return out, nil
}

// stale lists the generated files that differ from what is on disk under
// root, and the files in crds/ that generate does not write.
func stale(root string, files map[string][]byte) ([]string, error) {
	var bad []string
	for path, want := range files {
		got, err := os.ReadFile(filepath.Join(root, path))
		if err != nil || !bytes.Equal(got, want) {
			bad = append(bad, path)
		}
	}
	extra, err := filepath.Glob(filepath.Join(root, chartDir, "crds", "*"))
	if err != nil {
		return nil, err
	}
	for _, f := range extra {
		rel, _ := filepath.Rel(root, f)
		if _, ok := files[rel]; !ok {
			bad = append(bad, rel+" (not in config/crd/bases)")
		}
	}
	sort.Strings(bad)
	return bad, nil
}

func main() {
	check := flag.Bool("check", false, "only report chart files that differ from config/ (exit status 1)")
	flag.Parse()
	files, err := generate(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hack/chart:", err)
		os.Exit(1)
	}
	if *check {
		bad, err := stale(".", files)
		if err != nil {
			fmt.Fprintln(os.Stderr, "hack/chart:", err)
			os.Exit(1)
		}
		for _, b := range bad {
			fmt.Fprintln(os.Stderr, "hack/chart: stale:", b)
		}
		if len(bad) > 0 {
			fmt.Fprintln(os.Stderr, "hack/chart: the chart differs from config/: run make chart and commit")
			os.Exit(1)
		}
		return
	}
	old, _ := filepath.Glob(filepath.Join(chartDir, "crds", "*"))
	for _, f := range old {
		if _, ok := files[f]; !ok {
			if err := os.Remove(f); err != nil {
				fmt.Fprintln(os.Stderr, "hack/chart:", err)
				os.Exit(1)
			}
		}
	}
	for path, data := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "hack/chart:", err)
			os.Exit(1)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "hack/chart:", err)
			os.Exit(1)
		}
	}
}
