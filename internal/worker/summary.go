package worker

import (
	"encoding/json"
	"fmt"
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

	// DatasetProfile and DriftCheck.
	ReportURI     string `json:"reportURI,omitempty"`
	HTMLReportURI string `json:"htmlReportURI,omitempty"`
	SourceBuildID string `json:"sourceBuildID,omitempty"`
	ProfileRows   int64  `json:"profileRows,omitempty"`
	Columns       int32  `json:"columns,omitempty"`

	// DriftCheck.
	DriftDetected      bool                     `json:"driftDetected,omitempty"`
	MaxPSI             *float64                 `json:"maxPSI,omitempty"`
	ColumnsChecked     int32                    `json:"columnsChecked,omitempty"`
	DriftedColumnCount int32                    `json:"driftedColumnCount,omitempty"`
	DriftedColumns     []v1alpha1.DriftedColumn `json:"driftedColumns,omitempty"`
	BaselineBuildID    string                   `json:"baselineBuildID,omitempty"`
	CurrentBuildID     string                   `json:"currentBuildID,omitempty"`
}

// FailureSummary is the summary of a run that failed with err.
func FailureSummary(kind string, err error) *Summary {
	return &Summary{Kind: kind, Reason: ReasonOf(err), Message: err.Error()}
}

// maxMessage bounds a summary's message so that the JSON around it fits.
const maxMessage = 1024

// Encode returns the summary as JSON of at most MaxSummaryBytes: long
// messages are cut and the lists shortened (the counts stay exact), since a
// termination message beyond 4 KiB is truncated by the kubelet and would no
// longer parse.
func (s *Summary) Encode() ([]byte, error) {
	c := *s
	c.Message = Truncate(c.Message, maxMessage)
	for {
		data, err := json.Marshal(&c)
		if err != nil {
			return nil, fmt.Errorf("encoding summary: %w", err)
		}
		if len(data) <= MaxSummaryBytes {
			return data, nil
		}
		switch {
		case len(c.DriftedColumns) > 0:
			c.DriftedColumns = c.DriftedColumns[:len(c.DriftedColumns)/2]
		case len(c.Rows) > 0:
			c.Rows = c.Rows[:len(c.Rows)/2]
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
	return &s, nil
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
