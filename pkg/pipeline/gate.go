package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/mldata-io/mldata/pkg/dataset"
	"github.com/mldata-io/mldata/pkg/drift"
	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/profile"
	"github.com/mldata-io/mldata/pkg/storage"
)

// OnDrift values of a publish gate.
const (
	OnDriftFail = "Fail"
	OnDriftWarn = "Warn"
)

// Gate compares a candidate build with a baseline before the build is
// published. The baseline is the published build, unless BuildID or
// ProfileURI names another.
type Gate struct {
	// BuildID pins a build of the same output as the baseline.
	BuildID string
	// ProfileURI names a stored profile (JSON) as the baseline.
	ProfileURI string
	// Split compares one split of both builds; "" compares all rows.
	Split string
	// Drift are the comparison's options: bins, thresholds, columns. The
	// verdict is drift's: a column drifts when its metrics cross the
	// thresholds drift.Options sets, whatever methods those name.
	Drift drift.Options
	// OnDrift is OnDriftFail (the default) or OnDriftWarn.
	OnDrift string
	// ChangedFiles compares the rows of the source files the candidate
	// added or changed against the baseline build with the rows of the
	// files it kept, instead of the candidate with the baseline
	// (changed.go).
	ChangedFiles bool
}

func (g *Gate) validate() error {
	if g == nil {
		return nil
	}
	switch g.OnDrift {
	case "", OnDriftFail, OnDriftWarn:
	default:
		return fmt.Errorf("publish gate: onDrift %q: use %s or %s", g.OnDrift, OnDriftFail, OnDriftWarn)
	}
	if g.BuildID != "" && g.ProfileURI != "" {
		return fmt.Errorf("publish gate: set a baseline build id or a profile URI, not both")
	}
	if g.ChangedFiles && g.ProfileURI != "" {
		return fmt.Errorf("publish gate: compare changedFiles needs a baseline build to tell changed files from kept ones, not a profile")
	}
	return nil
}

// GateReport is a publish gate's verdict (the manifest's publish_gate)
// with the drift report it decided on (absent when nothing was compared),
// as `mldata build --gate-report` and a DatasetBuild write it.
type GateReport struct {
	PublishGate *manifest.PublishGate `json:"publish_gate"`
	Drift       *drift.Report         `json:"drift,omitempty"`
}

// GateOutcome returns the gate report of a finished build (res, err): a
// refused build's or a published one's, nil when no gate ran (no gate, an
// up-to-date build, another error).
func GateOutcome(res *Result, err error) (rep *GateReport, buildID string) {
	var ge *GateError
	switch {
	case errors.As(err, &ge):
		return &GateReport{PublishGate: ge.Gate, Drift: ge.Report}, ge.BuildID
	case err == nil && res != nil && !res.UpToDate && res.Manifest != nil && res.Manifest.PublishGate != nil:
		return &GateReport{PublishGate: res.Manifest.PublishGate, Drift: res.GateReport}, res.Manifest.BuildID
	}
	return nil, ""
}

// GateError is returned when the candidate drifted under OnDrift Fail.
type GateError struct {
	Gate    *manifest.PublishGate
	BuildID string
	// Report is the gate's drift report (nil when nothing was compared):
	// the candidate against the baseline, or the changed files' rows
	// against the kept ones.
	Report *drift.Report
	// Published is the build that stays published ("" for none).
	Published string
}

func (e *GateError) Error() string {
	msg := fmt.Sprintf("publish gate: build %s drifted from %s in %d column(s): %s; nothing was published",
		e.BuildID, e.Gate.Against, len(e.Gate.Drifted), GateColumns(e.Gate))
	msg += MovedMost(e.Gate)
	if e.Published != "" {
		msg += fmt.Sprintf(", build %s stays the published one", e.Published)
	}
	return msg
}

// MovedMost names, for a changed-files gate, the file that moved each
// drifted column most: "; amount moved most by 2026/03.csv" ("" for other
// gates).
func MovedMost(g *manifest.PublishGate) string {
	msg := ""
	if cf := g.ChangedFiles; cf != nil {
		for _, b := range cf.Breakdown {
			if len(b.Files) > 0 {
				msg += fmt.Sprintf("; %s moved most by %s", b.Column, b.Files[0].File)
			}
		}
	}
	return msg
}

// GateColumns lists a gate's drifted columns with what decided each:
// "amount: wasserstein_normed 0.3102 >= 0.1, country: psi 0.21 >= 0.1".
func GateColumns(g *manifest.PublishGate) string {
	parts := make([]string, len(g.Drifted))
	for i, c := range g.Drifted {
		if c.Metric == "" { // recorded before gates kept the method
			parts[i] = fmt.Sprintf("%s (PSI %.4g)", c.Column, c.PSI)
			continue
		}
		parts[i] = c.Column + ": " + drift.RecordedDecision(c.Method, c.Metric, c.Value, c.Threshold).String()
	}
	return strings.Join(parts, ", ")
}

// gate runs the publish gate on the finished candidate (b.m) before it is
// published. prev is the published build (nil for the first build).
func (b *builder) gate(ctx context.Context, out *storage.Location, prev *manifest.Manifest, res *Result) error {
	g := b.cfg.Gate
	if g == nil {
		return nil
	}
	b.stats.setStage("publish gate")
	opt := g.Drift
	opt.Now = b.now
	if opt.Workers == 0 {
		opt.Workers = b.cfg.Workers
	}
	v, r, err := compareGate(ctx, b.cfg, g, out, b.m, prev, opt)
	if err != nil {
		return err
	}
	b.m.PublishGate, res.GateReport = v, r
	if v.Passed {
		return nil
	}
	if g.OnDrift == OnDriftWarn {
		res.Warnings = append(res.Warnings, fmt.Sprintf("publish gate: drifted from %s in %s%s (published anyway: onDrift Warn)", v.Against, GateColumns(v), MovedMost(v)))
		return nil
	}
	e := &GateError{Gate: v, BuildID: b.m.BuildID, Report: r}
	if prev != nil {
		e.Published = prev.BuildID
	}
	return e
}

// compareGate returns the gate's verdict and its drift report (nil when
// there was nothing to compare).
func compareGate(ctx context.Context, cfg Config, g *Gate, out *storage.Location, cand, prev *manifest.Manifest, opt drift.Options) (*manifest.PublishGate, *drift.Report, error) {
	v := &manifest.PublishGate{OnDrift: g.OnDrift, Passed: true}
	if v.OnDrift == "" {
		v.OnDrift = OnDriftFail
	}
	dopt := dataset.Options{Read: format.Options{ChunkRows: cfg.Read.ChunkRows, Limits: cfg.Read.Limits},
		ScratchDir: cfg.ScratchDir, Workers: cfg.Workers, SkipHash: true}
	var base drift.Input
	switch {
	case g.ProfileURI != "":
		v.Against = "profile " + g.ProfileURI
		p, err := readProfile(ctx, g.ProfileURI)
		if err != nil {
			return nil, nil, fmt.Errorf("publish gate: %w", err)
		}
		base = drift.Input{Name: g.ProfileURI, Profile: p}
	default:
		bm := prev
		v.Against = "published build"
		if g.BuildID != "" {
			v.Against = "build " + g.BuildID
			m, err := manifest.Read(ctx, out, manifest.Key(g.BuildID))
			if err != nil {
				return nil, nil, fmt.Errorf("publish gate: baseline build %s: %w", g.BuildID, err)
			}
			bm = m
		}
		if bm == nil {
			v.Against = "none"
			return v, nil, nil // the first build: nothing to compare with
		}
		v.BaselineBuild = bm.BuildID
		if g.BuildID == "" {
			v.Against = "published build " + bm.BuildID
		}
		if g.ChangedFiles {
			dopt.Format = format.Kind(cand.Output.Format)
			r, err := compareChanged(ctx, cfg.Output, g.Split, cand, bm, opt, dopt, v)
			return v, r, err
		}
		dopt.Format = format.Kind(bm.Output.Format)
		d, err := dataset.OpenBuild(ctx, cfg.Output, bm, g.Split, dopt)
		if err != nil {
			return nil, nil, fmt.Errorf("publish gate: reading baseline build %s: %w", bm.BuildID, err)
		}
		defer d.Close()
		base = drift.Input{Name: "build " + bm.BuildID, Schema: d.Schema, Scan: d.Scan, Columns: columnsOf(d)}
	}
	dopt.Format = format.Kind(cand.Output.Format)
	cur, err := dataset.OpenBuild(ctx, cfg.Output, cand, g.Split, dopt)
	if err != nil {
		return nil, nil, fmt.Errorf("publish gate: reading candidate build %s: %w", cand.BuildID, err)
	}
	defer cur.Close()
	r, err := drift.Compare(ctx, base, drift.Input{Name: "build " + cand.BuildID, Schema: cur.Schema, Scan: cur.Scan, Columns: columnsOf(cur)}, opt)
	if err != nil {
		return nil, nil, fmt.Errorf("publish gate: %w", err)
	}
	verdict(v, r)
	return v, r, nil
}

// verdict fills v from a drift report.
func verdict(v *manifest.PublishGate, r *drift.Report) {
	v.ColumnsCompared = len(r.NumericDrift) + len(r.CategoricalDrift)
	v.MaxPSI, v.DriftShare = r.MaxPSI(), r.DriftShare
	th := r.Conventions.Thresholds
	col := func(name string, psi float64, severity string, d drift.Decision) manifest.GateColumn {
		return manifest.GateColumn{Column: name, PSI: psi, Severity: severity,
			Method: string(d.Method), Metric: d.Metric, Value: d.Value, Threshold: d.Threshold}
	}
	for _, f := range r.NumericDrift {
		if f.Value.DriftDetected {
			v.Drifted = append(v.Drifted, col(f.Key, f.Value.PSI, f.Value.Severity, f.Value.Decision(th)))
		}
	}
	for _, f := range r.CategoricalDrift {
		if f.Value.DriftDetected {
			v.Drifted = append(v.Drifted, col(f.Key, f.Value.PSI, f.Value.Severity, f.Value.Decision(th)))
		}
	}
	sort.SliceStable(v.Drifted, func(i, j int) bool { return v.Drifted[i].PSI > v.Drifted[j].PSI })
	for _, s := range r.Skipped {
		v.Skipped = append(v.Skipped, manifest.SplitSkipped{Column: s.Column, Reason: s.Reason})
	}
	v.Passed = !r.HasDrift
}

// readProfile reads a stored profile JSON.
func readProfile(ctx context.Context, uri string) (*profile.Profile, error) {
	loc, err := storage.Open(ctx, uri)
	if err != nil {
		return nil, err
	}
	defer loc.Close()
	if loc.Object == "" {
		return nil, fmt.Errorf("%s is a folder, not a profile JSON", loc)
	}
	data, err := loc.ReadFile(ctx, loc.Object)
	if err != nil {
		return nil, err
	}
	p, err := profile.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", loc, err)
	}
	return p, nil
}
