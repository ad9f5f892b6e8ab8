package main

import (
	"math"

	"github.com/spf13/pflag"

	"github.com/mldata-io/mldata/pkg/format"
)

// limitFlags are the input limits shared by build, profile and drift: they
// keep memory bounded whatever a file holds, and a file beyond one fails
// with an error naming the file, the line or row, and the flag to raise.
type limitFlags struct {
	columns                int
	recordBytes, fileBytes string
	chunkBytes             string
}

func addLimitFlags(fl *pflag.FlagSet, f *limitFlags) {
	fl.IntVar(&f.columns, "max-columns", format.DefaultMaxColumns, "most columns one input file may have (CSV header fields, distinct JSONL keys, Parquet columns)")
	fl.StringVar(&f.recordBytes, "max-record-bytes", "64MiB", "longest CSV record or JSONL line, after decompression")
	fl.StringVar(&f.fileBytes, "max-file-bytes", "64GiB", "most bytes one input file may expand to when decompressed (gzip/zstd text, Parquet pages)")
	fl.StringVar(&f.chunkBytes, "max-chunk-bytes", "512MiB", "memory per chunk of work: text chunks are cut at this size, and wider-than-this decoded chunks are refused")
}

// addLimitCeilingFlags adds the limit flags to the manager, where each is
// both the default and the ceiling of a resource's spec.limits field.
func addLimitCeilingFlags(fl *pflag.FlagSet, f *limitFlags) {
	addLimitFlags(fl, f)
	for flag, field := range map[string]string{"max-columns": "maxColumns", "max-record-bytes": "maxRecordBytes", "max-file-bytes": "maxFileBytes", "max-chunk-bytes": "maxChunkBytes"} {
		fl.Lookup(flag).Usage = "default and ceiling of spec.limits." + field + " of every resource: " + fl.Lookup(flag).Usage
	}
}

func (f limitFlags) limits() (format.Limits, error) {
	var l format.Limits
	if f.columns <= 0 {
		return l, usagef("--max-columns must be > 0")
	}
	l.MaxColumns = f.columns
	for _, b := range []struct {
		flag, val string
		dst       *int64
	}{{"max-record-bytes", f.recordBytes, nil}, {"max-file-bytes", f.fileBytes, &l.MaxFileBytes}, {"max-chunk-bytes", f.chunkBytes, &l.MaxChunkBytes}} {
		v, err := parseBytes(b.val)
		if err != nil {
			return l, usagef("--%s: %v", b.flag, err)
		}
		if v <= 0 {
			return l, usagef("--%s must be > 0", b.flag)
		}
		if b.dst == nil {
			if v > math.MaxInt32 {
				return l, usagef("--%s must be below 2GiB", b.flag)
			}
			l.MaxRecordBytes = int(v)
			continue
		}
		*b.dst = v
	}
	return l, nil
}
