package worker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mldata-io/mldata/api/v1alpha1"
)

// Summary is the short result a Job's container leaves in its termination
// message. It carries what status needs that the controller cannot cheaply
// read elsewhere; the bounded lists of a build's status (source hashes,
// columns, schema history) come from the manifest, which manifestURI names.
type Summary struct {
	Kind string `json:"kind"`
	OK   bool   `json:"ok"`
	// Reason is the condition reason of a failure (ValidationFailed,
	// BreakingSchemaChange, JobFailed).
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Permanent says that the failure cannot go away by running again
	// (invalid spec, unreadable input, failed validation, refused schema
	// change, missing reference); the controller then waits for a change
	// instead of retrying. False for transient failures (storage errors,
	// timeouts) and for a Job that ended without a summary.
	Permanent bool `json:"permanent,omitempty"`

	// DatasetBuild.
	BuildID           string               `json:"buildID,omitempty"`
	UpToDate          bool                 `json:"upToDate,omitempty"`
	ManifestURI       string               `json:"manifestURI,omitempty"`
	Rows              []v1alpha1.SplitRows `json:"rows,omitempty"`
	FilesProcessed    int64                `json:"filesProcessed,omitempty"`
	FilesReused       int64                `json:"filesReused,omitempty"`
	SourceCount       int64                `json:"sourceCount,omitempty"`
	SourceDigest      string               `json:"sourceDigest,omitempty"`
	SchemaVersion     int32                `json:"schemaVersion,omitempty"`
	SchemaFingerprint string               `json:"schemaFingerprint,omitempty"`
	ValidationFailed  int32                `json:"validationFailed,omitempty"`
	// Warnings are problems that did not stop the build from being
	// published (the pointer not updated, pruning failed), at most
	// v1alpha1.MaxWarnings, each cut to maxWarning bytes.
	Warnings []string `json:"warnings,omitempty"`
	Digest   string   `json:"digest,omitempty"` // manifest.Digest of the build

	// DatasetBuild's split check (SplitsConsistent).
	SplitsChecked    bool   `json:"splitsChecked,omitempty"`
	SplitsLeakedKeys int64  `json:"splitsLeakedKeys,omitempty"`
	SplitsDissimilar int32  `json:"splitsDissimilar,omitempty"`
	SplitsMessage    string `json:"splitsMessage,omitempty"`

	// DatasetProfile and DriftCheck; a DatasetBuild's publish gate
	// reports.
	ReportURI     string `json:"reportURI,omitempty"`
	HTMLReportURI string `json:"htmlReportURI,omitempty"`
	SourceBuildID string `json:"sourceBuildID,omitempty"`
	ProfileRows   int64  `json:"profileRows,omitempty"`
	Columns       int32  `json:"columns,omitempty"`

	// DatasetProfile: the summaries of the first columns (see ColumnList)
	// and whether sketches replaced exact counts.
	ColumnSummaries ColumnList `json:"columnSummaries,omitempty"`
	Approximate     bool       `json:"approximate,omitempty"`

	// DriftCheck.
	DriftDetected      bool                     `json:"driftDetected,omitempty"`
	MaxPSI             *float64                 `json:"maxPSI,omitempty"`
	ColumnsChecked     int32                    `json:"columnsChecked,omitempty"`
	DriftedColumnCount int32                    `json:"driftedColumnCount,omitempty"`
	DriftShare         *float64                 `json:"driftShare,omitempty"`
	DriftedColumns     []v1alpha1.DriftedColumn `json:"driftedColumns,omitempty"`
	ColumnPSI          []v1alpha1.ColumnPSI     `json:"columnPSI,omitempty"`
	BaselineBuildID    string                   `json:"baselineBuildID,omitempty"`
	CurrentBuildID     string                   `json:"currentBuildID,omitempty"`
}

// FailureSummary is the summary of a run that failed with err.
func FailureSummary(kind string, err error) *Summary {
	s := &Summary{Kind: kind, Reason: ReasonOf(err), Message: err.Error(), Permanent: Permanent(err)}
	var f *Failure
	if errors.As(err, &f) {
		s.HTMLReportURI = f.HTMLReportURI
	}
	return s
}

// maxMessage bounds a summary's message so that the JSON around it fits;
// maxWarning bounds each warning.
const (
	maxMessage = 1024
	maxWarning = 512
)

// boundWarnings returns at most v1alpha1.MaxWarnings of ws, each cut to
// max bytes, and, when some were left out, a last one that says how many.
func boundWarnings(ws []string, max int) []string {
	if len(ws) == 0 {
		return nil
	}
	out := make([]string, 0, min(len(ws), v1alpha1.MaxWarnings))
	for i, w := range ws {
		if i == v1alpha1.MaxWarnings-1 && len(ws) > v1alpha1.MaxWarnings {
			out = append(out, fmt.Sprintf("%d more warning(s) left out", len(ws)-i))
			break
		}
		out = append(out, Truncate(w, max))
	}
	return out
}

// Encode returns the summary as JSON of at most MaxSummaryBytes: long
// messages are cut and the lists shortened (the counts stay exact, so that
// status can say how much was left out), since a termination message beyond
// 4 KiB is truncated by the kubelet and would no longer parse.
func (s *Summary) Encode() ([]byte, error) {
	c := *s
	c.statusNames()
	c.Message = Truncate(c.Message, maxMessage)
	c.Warnings = boundWarnings(c.Warnings, maxWarning)
	for {
		data, err := json.Marshal(&c)
		if err != nil {
			return nil, fmt.Errorf("encoding summary: %w", err)
		}
		if len(data) <= MaxSummaryBytes {
			return data, nil
		}
		switch {
		case len(c.ColumnPSI) > 0:
			c.ColumnPSI = c.ColumnPSI[:len(c.ColumnPSI)/2]
		case len(c.DriftedColumns) > 0:
			c.DriftedColumns = c.DriftedColumns[:len(c.DriftedColumns)/2]
		case len(c.Rows) > 0:
			c.Rows = c.Rows[:len(c.Rows)/2]
		case len(c.ColumnSummaries) > 0:
			// One at a time: every column that fits is one more that
			// status shows, and the count in status says how many are
			// left out.
			c.ColumnSummaries = c.ColumnSummaries[:len(c.ColumnSummaries)-1]
		case len(c.Warnings) > 0:
			c.Warnings = c.Warnings[:len(c.Warnings)-1]
		case c.Message != "":
			c.Message = Truncate(c.Message, len(c.Message)/2)
		default:
			return nil, fmt.Errorf("summary of %d bytes does not fit in %d", len(data), MaxSummaryBytes)
		}
	}
}

// DecodeSummary parses a termination message.
func DecodeSummary(data []byte) (*Summary, error) {
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decoding summary: %w", err)
	}
	s.statusNames()
	return &s, nil
}

// MaxStatusName is the longest column name status holds, the API's
// maxLength on column names there.
const MaxStatusName = 256

// StatusName returns a column name as status records it: valid UTF-8 (the
// API takes nothing else), and when longer than MaxStatusName bytes, cut on
// a character boundary and ended with "…~" and the first 8 hex digits of
// the full name's SHA-256, so that two long names sharing a prefix stay
// distinct and the reports, which keep names whole, can be searched for the
// prefix.
func StatusName(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	if len(name) <= MaxStatusName {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := "…~" + hex.EncodeToString(sum[:4])
	cut := MaxStatusName - len(suffix)
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + suffix
}

// statusNames makes every column name of the summary fit in status. The
// worker applies it before writing a summary and the controller after
// reading one, so that summaries of older workers are safe too.
func (s *Summary) statusNames() {
	s.ColumnSummaries = append(ColumnList(nil), s.ColumnSummaries...)
	for i := range s.ColumnSummaries {
		s.ColumnSummaries[i].Name = StatusName(s.ColumnSummaries[i].Name)
	}
	s.DriftedColumns = append([]v1alpha1.DriftedColumn(nil), s.DriftedColumns...)
	for i := range s.DriftedColumns {
		s.DriftedColumns[i].Name = StatusName(s.DriftedColumns[i].Name)
	}
	s.ColumnPSI = append([]v1alpha1.ColumnPSI(nil), s.ColumnPSI...)
	for i := range s.ColumnPSI {
		s.ColumnPSI[i].Name = StatusName(s.ColumnPSI[i].Name)
	}
}

// Truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// ColumnList is a profile's per-column summaries in the compact form of the
// termination message: each column is a JSON array
//
//	[name, dtype, nullCount, uniqueCount, top, mean, std, min, max]
//
// with trailing nulls left out, so a text column is
// ["plan","object",0,3,"basic"] and a numeric one
// ["fee","float64",2,40,"",48.73,21.5,9.99,99.99]. Objects with field names
// would take twice the bytes, and the message has 4 KiB for everything.
//
// Decision: the controller fills status.columnSummaries from this list
// alone rather than reading profile.json back, because reading it would
// need the output bucket's credentials in the manager, which otherwise
// never touches data; the price is that wide tables or long names show
// fewer than 64 columns in status (status.omittedColumns says how many are
// left out, and the report has them all).
type ColumnList []v1alpha1.ColumnSummary

// MarshalJSON writes the compact form.
func (l ColumnList) MarshalJSON() ([]byte, error) {
	rows := make([][]any, len(l))
	for i, c := range l {
		row := []any{c.Name, c.DType, c.NullCount, c.UniqueCount, c.Top}
		nums := []*float64{c.Mean, c.Std, c.Min, c.Max}
		last := -1
		for j, v := range nums {
			if v != nil {
				last = j
			}
		}
		for _, v := range nums[:last+1] {
			row = append(row, v)
		}
		if last < 0 && c.Top == "" {
			row = row[:4]
		}
		rows[i] = row
	}
	return json.Marshal(rows)
}

// UnmarshalJSON reads the compact form.
func (l *ColumnList) UnmarshalJSON(data []byte) error {
	var rows [][]json.RawMessage
	if err := json.Unmarshal(data, &rows); err != nil {
		return fmt.Errorf("columnSummaries: %w", err)
	}
	out := make(ColumnList, len(rows))
	for i, row := range rows {
		if len(row) < 4 || len(row) > 9 {
			return fmt.Errorf("columnSummaries[%d]: %d fields, want 4 to 9", i, len(row))
		}
		c := &out[i]
		dst := []any{&c.Name, &c.DType, &c.NullCount, &c.UniqueCount, &c.Top, &c.Mean, &c.Std, &c.Min, &c.Max}
		for j, raw := range row {
			if err := json.Unmarshal(raw, dst[j]); err != nil {
				return fmt.Errorf("columnSummaries[%d][%d]: %w", i, j, err)
			}
		}
	}
	*l = out
	return nil
}
