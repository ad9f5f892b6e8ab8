package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/yaml"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/pipeline"
)

// readGate reads a --gate file: a DatasetBuild's spec.publishGate in YAML
// or JSON, e.g.
//
//	against: {buildID: 20261206T080000000Z-a1b2c3}   # omit for the published build
//	columns: {exclude: [id]}
//	metrics: {thresholds: {psi: 0.2}}
//	onDrift: Fail
func readGate(path string) (*v1alpha1.PublishGateSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("--gate: %v", err)
	}
	var g v1alpha1.PublishGateSpec
	if err := yaml.UnmarshalStrict(data, &g); err != nil {
		return nil, usagef("--gate %s: %v (the file has the fields of a DatasetBuild's spec.publishGate: against, split, columns, metrics, onDrift)", path, err)
	}
	return &g, nil
}

// gateLine says what a published build's gate found.
func gateLine(g *manifest.PublishGate) string {
	switch {
	case g.Against == "none":
		return "passed (no published build to compare with)"
	case g.Passed:
		return fmt.Sprintf("passed against %s: %d column(s), max PSI %.4g", g.Against, g.ColumnsCompared, g.MaxPSI)
	}
	return fmt.Sprintf("drifted from %s in %s; published anyway (onDrift %s)", g.Against, pipeline.GateColumns(g), g.OnDrift)
}
