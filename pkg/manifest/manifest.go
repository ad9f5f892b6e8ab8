// Package manifest defines a build's manifest — the provenance of a published
// dataset — and the storage layout of builds under an output location:
//
//	builds/<buildID>/<split>/part-NNNNN.<ext>   the dataset's part files
//	builds/<buildID>/manifest.json              what was built, from what, how
//	generations/<n>.json                        the claim of publish generation n
//	latest.json                                 the publish pointer, written last
//
// Readers follow latest.json and the claims, so a build that fails or is
// killed before its claim is never visible, and the previous build stays
// intact.
//
// Part files are recorded per source file. An incremental rebuild may list
// parts that an earlier build wrote (under that build's folder) for source
// files that did not change; pruning never deletes a part that a kept
// manifest lists.
//
// # The publish protocol
//
// Object stores answer most requests at least once but not always visibly:
// a response can be lost after the store applied the write (a connection
// reset, a timeout), and the SDK then resends the request. The protocol is
// built so that every such case ends in a state readers can trust, and the
// build reports what really happened:
//
//  1. Manifest. The build writes builds/<id>/manifest.json after its parts.
//     Nothing names it yet, so a failure here publishes nothing.
//  2. Claim. The build then claims generation n+1, where n is the
//     generation of the build it started from, with a create-if-absent
//     write of generations/<n+1>.json whose content names the build. Of
//     builds racing from the same generation exactly one claim succeeds.
//     The claim is the moment of publishing.
//  3. Read-back. A claim whose answer is anything but success (a 412
//     "precondition failed", which is also what the SDK's resend of our own
//     successful write gets; a timeout; a reset; a 5xx) is settled by
//     reading the claim: our content means published, another build's
//     means the race was lost (ErrConflict, and only then are the build's
//     files deleted), absent means the write did not land and it is sent
//     again. When the claim cannot be read the outcome is unknown
//     (ErrUnknownOutcome) and nothing is deleted: if the claim landed, the
//     build is published and complete; if not, pruning removes its files.
//  4. Pointer. latest.json is rewritten last, for readers that only read
//     one object; a failed write is read back (a pointer at this generation
//     or a later one is fine). It may lag behind the claims — a build that
//     died after its claim, a pointer write that failed for good, an older
//     pointer written late — so ReadLatest takes the highest claim when it
//     is above latest.json and repairs latest.json.
//  5. Grace and ordering. Builds are ordered by their claim's generation,
//     never by build id or by a pod's clock. Pruning (in the pipeline)
//     keeps the newest builds by generation, every build replaced less than
//     a grace period ago (one hour by default), the build latest.json names
//     and every part a kept manifest lists; it deletes a pruned build's
//     claim before its manifest and its manifest before its parts, so no
//     claim or pointer ever names a missing file. A reader that resolved
//     the previous build just before a publish can read it for the whole
//     grace period.
package manifest

import (
	"encoding/json"
	"fmt"
	"path"
	"time"

	"github.com/mldata-io/mldata/pkg/schema"
	"github.com/mldata-io/mldata/pkg/split"
	"github.com/mldata-io/mldata/pkg/validate"
)

// FormatVersion is the version of the manifest's JSON layout.
const FormatVersion = 1

// PointerKey is the key of the publish pointer under the output location.
const PointerKey = "latest.json"

// Manifest records one build.
type Manifest struct {
	FormatVersion int       `json:"format_version"`
	BuildID       string    `json:"build_id"`
	CreatedAt     time.Time `json:"created_at"`
	// ConfigHash covers every build setting that affects what a source file
	// turns into (format options, nulls, split, output format, rules). A part
	// file is reused only by a build with the same ConfigHash and the same
	// schema fingerprint.
	ConfigHash string `json:"config_hash"`

	// PartsSchema is the fingerprint of the normalized schema the part files
	// were written with (nullability as declared, not as observed).
	PartsSchema string `json:"parts_schema"`

	Source Source `json:"source"`
	Output Output `json:"output"`

	Schema        Schema           `json:"schema"`
	SchemaHistory []schema.Version `json:"schema_history,omitempty"`
	SchemaChanges []schema.Change  `json:"schema_changes,omitempty"`

	Split  SplitSettings `json:"split"`
	Splits []Split       `json:"splits"`
	// Strata totals the rows per (stratum value, split) of a stratified
	// split, so a skew in any stratum is visible.
	Strata     *split.Counts `json:"strata,omitempty"`
	Validation Validation    `json:"validation"`
	Timings    Timings       `json:"timings"`

	// SplitIntegrity is the split check's result (see checks.go); nil
	// when the check did not run.
	SplitIntegrity *SplitIntegrity `json:"split_integrity,omitempty"`
	// PublishGate is the publish gate's verdict; nil without a gate.
	PublishGate *PublishGate `json:"publish_gate,omitempty"`
}

// Source describes what the build read.
type Source struct {
	URI     string   `json:"uri"`
	Format  string   `json:"format"`
	Include []string `json:"include,omitempty"`
	// Digest is sha256 over the sorted "key:sha256\n" list of the files.
	Digest string       `json:"digest"`
	Files  []SourceFile `json:"files"`
}

// SourceFile is one input file and what it produced.
type SourceFile struct {
	Key     string `json:"key"`
	Size    int64  `json:"size"`
	ETag    string `json:"etag,omitempty"`
	Version string `json:"version"` // cheap change token from listing metadata
	SHA256  string `json:"sha256"`
	Rows    int64  `json:"rows"`
	// Columns is the file's own inferred schema, before unification.
	Columns []schema.Column `json:"columns,omitempty"`
	Parts   []Part          `json:"parts"`
	// NullCounts per dataset column (Schema.Columns order).
	NullCounts []int64 `json:"null_counts,omitempty"`
	// Strata are the file's rows per (stratum value, split) when the split
	// is stratified, kept per file so that incremental builds can total
	// them without reading reused files.
	Strata *split.Counts `json:"strata,omitempty"`
	// Reused is true when the parts were written by an earlier build.
	Reused bool `json:"reused,omitempty"`
}

// Part is one output file.
type Part struct {
	Path  string `json:"path"` // relative to the output location
	Split string `json:"split"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
	// SHA256 is the hex SHA-256 of the part file's bytes, as written.
	// Manifests written before parts were hashed leave it empty.
	SHA256 string `json:"sha256,omitempty"`
}

// Output describes where and how the dataset was written.
type Output struct {
	URI         string `json:"uri"`
	Format      string `json:"format"`
	Compression string `json:"compression"`
}

// Schema is the dataset's schema and its version in this output's history.
type Schema struct {
	Version     int             `json:"version"`
	Fingerprint string          `json:"fingerprint"`
	Columns     []schema.Column `json:"columns"`
}

// SplitSettings are the split parameters.
type SplitSettings struct {
	Ratios     map[string]float64 `json:"ratios"`
	Order      []string           `json:"order"`
	Seed       uint64             `json:"seed"`
	Key        string             `json:"key,omitempty"`
	StratifyBy string             `json:"stratify_by,omitempty"`
}

// Split is one named split of the dataset.
type Split struct {
	Name  string `json:"name"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
	Parts []Part `json:"parts"`
}

// Validation holds the rule results.
type Validation struct {
	OnFailure string            `json:"on_failure"`
	Passed    bool              `json:"passed"`
	Results   []validate.Result `json:"results,omitempty"`
}

// Timings are wall-clock durations of the build's stages, in milliseconds.
type Timings struct {
	ListMS    int64 `json:"list_ms"`
	InferMS   int64 `json:"infer_ms"`
	ProcessMS int64 `json:"process_ms"`
	PublishMS int64 `json:"publish_ms"`
	TotalMS   int64 `json:"total_ms"`
}

// Rows is the dataset's total row count.
func (m *Manifest) Rows() int64 {
	var n int64
	for _, s := range m.Splits {
		n += s.Rows
	}
	return n
}

// Pointer is the content of latest.json.
type Pointer struct {
	// Generation counts publishes: each build publishes Generation+1 of the
	// pointer it started from (see Publish).
	Generation  int64     `json:"generation"`
	BuildID     string    `json:"build_id"`
	Manifest    string    `json:"manifest"` // key relative to the output location
	PublishedAt time.Time `json:"published_at"`
}

// BuildDir is the folder of one build.
func BuildDir(buildID string) string { return path.Join("builds", buildID) }

// Key is the manifest key of a build.
func Key(buildID string) string { return path.Join(BuildDir(buildID), "manifest.json") }

// PartKey is the key of part n of a split in a build; ext includes the dot.
func PartKey(buildID, split string, n int, ext string) string {
	return path.Join(BuildDir(buildID), split, fmt.Sprintf("part-%05d%s", n, ext))
}

// GenerationKey is the claim object of publish generation n.
func GenerationKey(n int64) string { return fmt.Sprintf("generations/%010d.json", n) }

// NewBuildID returns a sortable build id for a build started at t: the UTC
// time to the millisecond, and a suffix that tells apart builds started in
// the same millisecond.
func NewBuildID(t time.Time, suffix string) string {
	id := t.UTC().Format("20060102T150405.000Z")
	id = id[:15] + id[16:] // drop the dot: 20060102T150405000Z
	if suffix != "" {
		id += "-" + suffix
	}
	return id
}

// Marshal encodes m as indented JSON.
func Marshal(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Unmarshal decodes a manifest and checks its format version.
func Unmarshal(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	if m.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("manifest format version %d is not supported (want %d)", m.FormatVersion, FormatVersion)
	}
	if m.BuildID == "" {
		return nil, fmt.Errorf("manifest has no build_id")
	}
	return &m, nil
}
