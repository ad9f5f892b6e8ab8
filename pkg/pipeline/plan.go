package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/schema"
	"github.com/mldata-io/mldata/pkg/split"
	"github.com/mldata-io/mldata/pkg/storage"
	"github.com/mldata-io/mldata/pkg/validate"
)

// Plan is what an incremental build does with each source file, decided
// from listing metadata and the published build's manifest before any data
// is read.
type Plan struct {
	PreviousBuild string   `json:"previous_build,omitempty"`
	Full          bool     `json:"full"`
	Reason        string   `json:"reason,omitempty"` // why the build is full
	New           []string `json:"new,omitempty"`
	Changed       []string `json:"changed,omitempty"` // by listing metadata; content may prove them unchanged
	Unchanged     []string `json:"unchanged,omitempty"`
	Removed       []string `json:"removed,omitempty"`
	// UpToDate is set when no source and no setting changed: nothing is read
	// and nothing is published.
	UpToDate bool `json:"up_to_date"`
}

// Reuse is what an incremental build did after reading the changed files.
type Reuse struct {
	Processed []string `json:"processed"`
	Reused    []string `json:"reused"`
	// Rebuilt lists unchanged files that were processed anyway, with why
	// (a cached part was missing, the schema changed).
	Rebuilt map[string]string `json:"rebuilt,omitempty"`
}

// Reasons for a full build.
const (
	ReasonNoPrevious     = "no published build"
	ReasonForced         = "full rebuild requested"
	ReasonSettings       = "build settings changed"
	ReasonSchema         = "the dataset schema changed, so every file is normalized again"
	reasonBadPreviousFmt = "the published build's manifest cannot be read (%v)"
)

// plan compares the listing with the previous manifest. prevErr is the error
// from reading it, if any (a damaged manifest makes a full build).
func plan(objs []storage.Object, prev *manifest.Manifest, prevErr error, configHash string, incremental bool) *Plan {
	p := &Plan{}
	switch {
	case prevErr != nil:
		p.Full, p.Reason = true, fmt.Sprintf(reasonBadPreviousFmt, prevErr)
	case prev == nil:
		p.Full, p.Reason = true, ReasonNoPrevious
	case !incremental:
		p.Full, p.Reason = true, ReasonForced
	case prev.ConfigHash != configHash:
		p.Full, p.Reason = true, ReasonSettings
	}
	if prev != nil {
		p.PreviousBuild = prev.BuildID
	}
	if p.Full {
		for _, o := range objs {
			p.New = append(p.New, o.Key)
		}
		return p
	}
	before := make(map[string]manifest.SourceFile, len(prev.Source.Files))
	for _, f := range prev.Source.Files {
		before[f.Key] = f
	}
	for _, o := range objs {
		f, ok := before[o.Key]
		switch {
		case !ok:
			p.New = append(p.New, o.Key)
		case f.Version == o.Version() && f.Size == o.Size:
			p.Unchanged = append(p.Unchanged, o.Key)
		default:
			p.Changed = append(p.Changed, o.Key)
		}
		delete(before, o.Key)
	}
	for k := range before {
		p.Removed = append(p.Removed, k)
	}
	sort.Strings(p.Removed)
	p.UpToDate = len(p.New)+len(p.Changed)+len(p.Removed) == 0
	return p
}

// configHash covers every setting, other than the data's schema, that
// changes what a source file turns into or how it is validated. Rules are
// included so that a rule change re-validates every row.
func configHash(cfg Config) string {
	v := struct {
		Format       format.Kind
		Read         format.Options
		Split        split.Spec
		OutputFormat format.Kind
		Compression  format.Compression
		PartRows     int64
		Rules        []validate.Rule
		OnFailure    string
	}{cfg.Format, cfg.Read, cfg.Split, cfg.OutputFormat, cfg.Compression, cfg.PartRows, cfg.Rules, cfg.OnFailure}
	data, _ := json.Marshal(v)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// schemaFingerprint identifies the normalized schema that part files have.
func schemaFingerprint(s *arrow.Schema) string {
	return schema.Fingerprint(schema.FromArrow(s, nil))
}

// arrowType maps the type names the format readers infer back to Arrow
// types, so an unchanged file's schema can come from the manifest instead
// of from reading it.
func arrowType(name string) (arrow.DataType, bool) {
	switch name {
	case "null":
		return arrow.Null, true
	case "int64":
		return arrow.PrimitiveTypes.Int64, true
	case "float64":
		return arrow.PrimitiveTypes.Float64, true
	case "bool":
		return arrow.FixedWidthTypes.Boolean, true
	case "string":
		return arrow.BinaryTypes.String, true
	case "timestamp":
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, true
	}
	return nil, false
}

// schemaOf rebuilds a file's inferred schema from its manifest entry.
func schemaOf(cols []schema.Column) (*arrow.Schema, bool) {
	if len(cols) == 0 {
		return nil, false
	}
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		t, ok := arrowType(c.Type)
		if !ok {
			return nil, false
		}
		fields[i] = arrow.Field{Name: c.Name, Type: t, Nullable: true}
	}
	return arrow.NewSchema(fields, nil), true
}

// String renders the plan for people.
func (p *Plan) String() string {
	if p.UpToDate {
		return fmt.Sprintf("up to date: %d source file(s) unchanged since build %s", len(p.Unchanged), p.PreviousBuild)
	}
	if p.Full {
		return fmt.Sprintf("full build of %d source file(s): %s", len(p.New), p.Reason)
	}
	return fmt.Sprintf("incremental build on %s: %d new, %d changed, %d unchanged, %d removed",
		p.PreviousBuild, len(p.New), len(p.Changed), len(p.Unchanged), len(p.Removed))
}
