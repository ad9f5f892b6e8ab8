package schema

import (
	"fmt"
	"strings"
)

// Policy decides which schema changes a build may publish.
type Policy string

const (
	// AllowAll publishes every change, breaking or not.
	AllowAll Policy = "AllowAll"
	// AllowAdditive publishes changes that are not breaking: added columns,
	// safe widenings and nullability changes. It is the default.
	AllowAdditive Policy = "AllowAdditive"
	// Strict publishes no change at all: any change fails the build.
	Strict Policy = "Strict"
)

// DefaultPolicy applies when none is given.
const DefaultPolicy = AllowAdditive

var policies = []Policy{AllowAll, AllowAdditive, Strict}

// ParsePolicy returns the policy named s, ignoring case; "" is DefaultPolicy.
func ParsePolicy(s string) (Policy, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultPolicy, nil
	}
	for _, p := range policies {
		if strings.EqualFold(s, string(p)) {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown schema policy %q: use one of AllowAll, AllowAdditive (the default) or Strict", s)
}

// PolicyError is a policy's refusal of one or more changes.
type PolicyError struct {
	Policy  Policy
	Changes []Change // the offending changes, in Diff order
}

func (e *PolicyError) Error() string {
	var b strings.Builder
	noun := "change"
	if e.Policy != Strict {
		noun = "breaking change"
	}
	if len(e.Changes) != 1 {
		noun += "s"
	}
	fmt.Fprintf(&b, "schema policy %s rejects %d %s", e.Policy, len(e.Changes), noun)
	for _, c := range e.Changes {
		b.WriteString("; ")
		b.WriteString(c.String())
		b.WriteString(": ")
		b.WriteString(remedy(e.Policy, c))
	}
	return b.String()
}

// remedy says what the user can do about a refused change: undo it in the
// sources, or choose the loosest policy that would accept it.
func remedy(p Policy, c Change) string {
	accept := "set schemaPolicy to AllowAll"
	if !c.Breaking {
		accept = "set schemaPolicy to AllowAdditive"
	}
	switch c.Kind {
	case Added:
		return fmt.Sprintf("remove column %q from the sources, or %s to accept it", c.Column, accept)
	case Removed:
		return fmt.Sprintf("restore column %q (%s) in the sources, or %s to drop it", c.Column, c.From, accept)
	case TypeChanged:
		return fmt.Sprintf("make the sources' values of %q read as %s again (find the values that changed its type), or %s to accept %s", c.Column, c.From, accept, c.To)
	case NullabilityChanged:
		return fmt.Sprintf("make column %q %s again in the sources, or %s to accept it", c.Column, c.From, accept)
	}
	return accept
}

// Check returns a *PolicyError listing each change that p refuses, or nil.
// An unknown policy refuses like Strict, so a typo never loosens checking.
func (p Policy) Check(changes []Change) error {
	var bad []Change
	for _, c := range changes {
		switch p {
		case AllowAll:
		case AllowAdditive:
			if c.Breaking {
				bad = append(bad, c)
			}
		default:
			bad = append(bad, c)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	shown := p
	if shown != AllowAll && shown != AllowAdditive {
		shown = Strict
	}
	return &PolicyError{Policy: shown, Changes: bad}
}

// Version is one numbered schema in a dataset's history.
type Version struct {
	Version     int      `json:"version"`
	Fingerprint string   `json:"fingerprint"`
	Columns     []Column `json:"columns,omitempty"`
	// FirstBuild is the build that first produced this schema; Next leaves
	// it for the caller to fill in.
	FirstBuild string `json:"firstBuild,omitempty"`
}

// Latest returns the version with the highest number, whatever the order of
// history, and false when history is empty.
func Latest(history []Version) (Version, bool) {
	var latest Version
	found := false
	for _, v := range history {
		if !found || v.Version > latest.Version {
			latest, found = v, true
		}
	}
	return latest, found
}

// Next returns the version for cols given the history: the latest version
// when cols has its fingerprint (changed = false), else a new version
// numbered latest+1 (1 for an empty history). Numbers only grow: going back
// to an older schema is a new version, so "latest" always means "newest".
func Next(history []Version, cols []Column) (v Version, changed bool) {
	fp := Fingerprint(cols)
	latest, ok := Latest(history)
	if ok && latest.Fingerprint == fp {
		return latest, false
	}
	return Version{Version: latest.Version + 1, Fingerprint: fp, Columns: cols}, true
}

// Append adds v to history unless its number is already there, and keeps the
// limit newest versions (limit <= 0 keeps all), ordered by number; status
// keeps a bounded history. The input slice is not modified.
func Append(history []Version, v Version, limit int) []Version {
	out := make([]Version, 0, len(history)+1)
	present := false
	for _, h := range history {
		present = present || h.Version == v.Version
		out = append(out, h)
	}
	if !present {
		out = append(out, v)
	}
	// Insertion sort: history is short and almost always already sorted.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Version < out[j-1].Version; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out
}
