package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"sigs.k8s.io/yaml"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/pipeline"
	"github.com/mldata-io/mldata/pkg/report"
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
		return nil, usagef("--gate %s: %v (the file has the fields of a DatasetBuild's spec.publishGate: against, compare, split, columns, metrics, maxMemory, onDrift)", path, err)
	}
	return &g, nil
}

// gateLine says what a published build's gate found.
func gateLine(g *manifest.PublishGate) string {
	switch {
	case g.Against == "none":
		return "passed (no published build to compare with)"
	case g.Passed && len(g.Drifted) > 0:
		return fmt.Sprintf("passed against %s: %d column(s), max PSI %.4g; %s drifted, a share of %.4g, below the drift share",
			g.Against, g.ColumnsCompared, g.MaxPSI, pipeline.GateColumns(g), g.DriftShare)
	case g.Passed:
		return fmt.Sprintf("passed against %s: %d column(s), max PSI %.4g", g.Against, g.ColumnsCompared, g.MaxPSI)
	}
	return fmt.Sprintf("drifted from %s in %s%s; published anyway (onDrift %s)", g.Against, pipeline.GateColumns(g), pipeline.MovedMost(g), g.OnDrift)
}

// gateOutput names where --gate-report and --gate-html go.
type gateOutput struct{ json, html string }

// write finishes a build (res, err) that may have run a publish gate: it
// writes the gate's reports when asked and the gate ran, and returns the
// build's error, with exit code 3 for a build the gate refused. A build
// that was up to date ran no gate and writes nothing.
func (o gateOutput) write(ctx context.Context, res *pipeline.Result, err error) error {
	rep, _ := pipeline.GateOutcome(res, err)
	var werr error
	if rep != nil {
		werr = o.writeReports(ctx, rep)
	}
	var ge *pipeline.GateError
	switch {
	case errors.As(err, &ge):
		return &exitError{code: exitDrift, err: errors.Join(err, werr)}
	case err != nil:
		return err
	}
	return werr
}

func (o gateOutput) writeReports(ctx context.Context, rep *pipeline.GateReport) error {
	if o.json != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			err = writeOutput(ctx, o.json, append(data, '\n'))
		}
		if err != nil {
			return fmt.Errorf("--gate-report: %w", err)
		}
	}
	if o.html != "" {
		var page bytes.Buffer
		err := report.Gate(&page, rep.PublishGate, rep.Drift)
		if err == nil {
			err = writeOutput(ctx, o.html, page.Bytes())
		}
		if err != nil {
			return fmt.Errorf("--gate-html: %w", err)
		}
	}
	return nil
}
