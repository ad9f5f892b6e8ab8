package worker

import (
	"fmt"

	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/pipeline"
)

// This file converts the checks a build runs before publishing — the split
// check and the publish gate — between the spec, the pipeline and status.

// SplitCheckConfig converts validation.splits into the pipeline's split
// check settings.
func SplitCheckConfig(v *v1alpha1.ValidationSpec) pipeline.SplitCheck {
	var c pipeline.SplitCheck
	if v == nil || v.Splits == nil {
		return c
	}
	s := v.Splits
	c.Disabled = s.Enabled != nil && !*s.Enabled
	if s.PSIThreshold != nil {
		c.PSI = *s.PSIThreshold
	}
	if s.MinRows != nil {
		c.MinRows = *s.MinRows
	}
	c.Exclude = s.Exclude
	return c
}

// splitSummary copies a manifest's split check into the summary.
func splitSummary(s *Summary, si *manifest.SplitIntegrity) {
	if si == nil {
		return
	}
	s.SplitsChecked = true
	s.SplitsLeakedKeys = si.LeakedKeys
	switch {
	case si.LeakedKeys > 0:
		s.SplitsMessage = pipeline.LeakMessage(si)
	case si.Similarity != nil && len(si.Similarity.Dissimilar) > 0:
		s.SplitsDissimilar = int32(len(si.Similarity.Dissimilar))
		s.SplitsMessage = pipeline.DissimilarMessage(si)
	default:
		s.SplitsMessage = fmt.Sprintf("no key is in two splits (%s)", si.Key)
		if sim := si.Similarity; sim != nil {
			judged := 0
			for _, c := range sim.Columns {
				if c.Judged {
					judged++
				}
			}
			s.SplitsMessage += fmt.Sprintf("; %d of %d column comparison(s) judged, all below PSI %g", judged, len(sim.Columns), sim.Threshold)
		}
	}
}

// applySplits sets SplitsConsistent from a successful build's summary.
func applySplits(set func(typ string, ok bool, reason, msg string), s *Summary) {
	switch {
	case !s.SplitsChecked:
		set(v1alpha1.ConditionSplitsConsistent, true, v1alpha1.ReasonSplitsNotChecked, "the published build was not split-checked (one split, or the check is off)")
	case s.SplitsLeakedKeys > 0:
		set(v1alpha1.ConditionSplitsConsistent, false, v1alpha1.ReasonSplitsLeak, s.SplitsMessage+"; published anyway (onFailure Warn)")
	case s.SplitsDissimilar > 0:
		set(v1alpha1.ConditionSplitsConsistent, false, v1alpha1.ReasonSplitsDissimilar, s.SplitsMessage)
	default:
		set(v1alpha1.ConditionSplitsConsistent, true, v1alpha1.ReasonSplitsConsistent, s.SplitsMessage)
	}
}

// GateConfig converts spec.publishGate into the pipeline's gate. Its columns
// and metrics go through DriftOptions, as a DriftCheck's do, so that the
// gate and a DriftCheck with the same settings give the same verdict.
func GateConfig(g *v1alpha1.PublishGateSpec) (*pipeline.Gate, error) {
	if g == nil {
		return nil, nil
	}
	opt, err := DriftOptions(&v1alpha1.DriftCheckSpec{Columns: g.Columns, Metrics: g.Metrics, MaxMemory: g.MaxMemory})
	if err != nil {
		return nil, fmt.Errorf("publishGate.%w", err)
	}
	out := &pipeline.Gate{Drift: opt, Split: string(g.Split), OnDrift: pipeline.OnDriftFail}
	switch g.OnDrift {
	case "", v1alpha1.OnDriftFail:
	case v1alpha1.OnDriftWarn:
		out.OnDrift = pipeline.OnDriftWarn
	default:
		return nil, fmt.Errorf("publishGate.onDrift %q: use Fail or Warn", g.OnDrift)
	}
	switch g.Compare {
	case "", v1alpha1.GateCompareBuild:
	case v1alpha1.GateCompareChangedFiles:
		out.ChangedFiles = true
	default:
		return nil, fmt.Errorf("publishGate.compare %q: use Build or ChangedFiles", g.Compare)
	}
	if a := g.Against; a != nil {
		if a.BuildID != "" && a.ProfileURI != "" {
			return nil, fmt.Errorf("publishGate.against: set either buildID or profileURI, not both")
		}
		out.BuildID, out.ProfileURI = a.BuildID, string(a.ProfileURI)
	}
	if out.ChangedFiles && out.ProfileURI != "" {
		return nil, fmt.Errorf("publishGate: compare ChangedFiles needs a build as baseline, not against.profileURI")
	}
	return out, nil
}

// gateNote is what a published build's Ready message says of a gate that
// found drift under onDrift Warn ("" otherwise).
func gateNote(g *manifest.PublishGate) string {
	if g == nil || g.Passed {
		return ""
	}
	return fmt.Sprintf("; publish gate: drifted from %s in %s%s (published anyway: onDrift Warn)", g.Against, pipeline.GateColumns(g), pipeline.MovedMost(g))
}
