package worker

import (
	"github.com/mldata-io/mldata/api/v1alpha1"
	"github.com/mldata-io/mldata/pkg/storage"
)

// ReasonURIRefused is the condition reason of a URI the cluster's policy
// refuses (see storage.Policy).
const ReasonURIRefused = "URIRefused"

// URIField is one URI of a resource with the field it came from.
type URIField struct {
	Field string
	URI   string
}

// TaskURIs are the URIs a task opens, with their fields. Inputs that
// references resolved into URIs are named after the reference's field.
func TaskURIs(t *Task) []URIField {
	var out []URIField
	add := func(field, uri string) {
		if uri != "" {
			out = append(out, URIField{Field: field, URI: uri})
		}
	}
	addIn := func(field string, in *Input) {
		if in != nil {
			add(field, in.URI)
		}
	}
	switch {
	case t.Build != nil:
		out = append(out, BuildURIs(t.Build)...)
	case t.Profile != nil:
		addIn("spec.source", t.Source)
		add("spec.output.uri", string(t.Profile.Output.URI))
	case t.Drift != nil:
		addIn("spec.baseline", t.Baseline)
		addIn("spec.current", t.Current)
		add("spec.output.uri", string(t.Drift.Output.URI))
	}
	return out
}

// BuildURIs are a DatasetBuild's URIs.
func BuildURIs(s *v1alpha1.DatasetBuildSpec) []URIField {
	var profile string
	if g := s.PublishGate; g != nil && g.Against != nil {
		profile = string(g.Against.ProfileURI)
	}
	return nonEmpty(
		URIField{"spec.source.uri", string(s.Source.URI)},
		URIField{"spec.output.uri", string(s.Output.URI)},
		URIField{"spec.publishGate.against.profileURI", profile},
	)
}

// ProfileURIs are a DatasetProfile's own URIs (not those of references).
func ProfileURIs(s *v1alpha1.DatasetProfileSpec) []URIField {
	return nonEmpty(
		URIField{"spec.source.uri", string(s.Source.URI)},
		URIField{"spec.output.uri", string(s.Output.URI)},
	)
}

// DriftURIs are a DriftCheck's own URIs (not those of references).
func DriftURIs(s *v1alpha1.DriftCheckSpec) []URIField {
	return nonEmpty(
		URIField{"spec.baseline.uri", string(s.Baseline.URI)},
		URIField{"spec.current.uri", string(s.Current.URI)},
		URIField{"spec.output.uri", string(s.Output.URI)},
	)
}

func nonEmpty(fs ...URIField) []URIField {
	out := fs[:0]
	for _, f := range fs {
		if f.URI != "" {
			out = append(out, f)
		}
	}
	return out
}

// CheckURIs checks every URI against p; the first refusal names its field.
// The error is a *Failure with ReasonURIRefused.
func CheckURIs(p *storage.Policy, uris []URIField) error {
	for _, f := range uris {
		if err := p.CheckURI(f.Field, f.URI); err != nil {
			return &Failure{Reason: ReasonURIRefused, Err: err}
		}
	}
	return nil
}
