package v1alpha1

import "k8s.io/apimachinery/pkg/api/resource"

// InputLimits bound what reading one input file may take in memory, whatever
// the file holds. A file beyond a limit fails the run with an error naming
// the file, the line or row (and, for Parquet, the row group and column) and
// the limit to raise; it is not retried.
//
// Decision: an omitted field is not defaulted by the API server but takes
// the operator's value, which is also the ceiling: the manager's flags
// (--max-columns, --max-record-bytes, --max-file-bytes, --max-chunk-bytes,
// the same flags as the CLI's, with the same defaults) are what a platform
// team sets for its nodes, and a resource may lower a limit or raise it up
// to that ceiling, never beyond. A value above the ceiling stalls the
// resource (reason LimitAboveCeiling) with a message naming the field and
// the flag. Defaulting in the CRD would store today's defaults in every
// resource, and lowering a flag would then stall them all.
//
// Byte sizes are quantities: 64Mi, 512Mi, 1Gi (or a plain number of bytes).
type InputLimits struct {
	// maxColumns is the most columns one input file may have: CSV header
	// fields, distinct JSONL keys, Parquet leaf columns (--max-columns;
	// default 10000).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000000
	// +optional
	MaxColumns *int32 `json:"maxColumns,omitempty"`

	// maxRecordBytes is the longest CSV record or JSONL line, after
	// decompression (--max-record-bytes; default 64Mi). Between 1Ki and
	// 2Gi, exclusive.
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isInteger() && quantity(string(self)).compareTo(quantity('1Ki')) >= 0 && quantity(string(self)).compareTo(quantity('2Gi')) < 0",message="maxRecordBytes must be a whole number of bytes from 1Ki to below 2Gi"
	// +optional
	MaxRecordBytes *resource.Quantity `json:"maxRecordBytes,omitempty"`

	// maxFileBytes is the most bytes one input file may expand to: the
	// text after gzip or zstd decompression, the uncompressed size of a
	// Parquet file's column chunks (--max-file-bytes; default 64Gi).
	// Between 1Mi and 1Ti.
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isInteger() && quantity(string(self)).compareTo(quantity('1Mi')) >= 0 && quantity(string(self)).compareTo(quantity('1Ti')) <= 0",message="maxFileBytes must be a whole number of bytes from 1Mi to 1Ti"
	// +optional
	MaxFileBytes *resource.Quantity `json:"maxFileBytes,omitempty"`

	// maxChunkBytes is the memory of one chunk of work: text chunks are
	// cut at this size, and a decoded chunk, a Parquet column chunk, page
	// or column slice larger than it is refused (--max-chunk-bytes;
	// default 512Mi). Size the pod's memory for a few chunks per worker.
	// Between 1Mi and 64Gi.
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isInteger() && quantity(string(self)).compareTo(quantity('1Mi')) >= 0 && quantity(string(self)).compareTo(quantity('64Gi')) <= 0",message="maxChunkBytes must be a whole number of bytes from 1Mi to 64Gi"
	// +optional
	MaxChunkBytes *resource.Quantity `json:"maxChunkBytes,omitempty"`
}
