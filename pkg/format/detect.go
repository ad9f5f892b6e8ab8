package format

import (
	"fmt"
	"strings"
)

const detectHint = "name the file .csv, .tsv, .jsonl, .ndjson or .parquet (text formats may end in .gz or .zst), or set --format"

// Detect returns the format and compression of a file from its name,
// case-insensitively: .csv and .tsv are CSV, .jsonl and .ndjson are JSONL,
// .parquet and .pq are Parquet; a trailing .gz or .zst compresses a text
// file. Parquet compresses its pages itself, so a wrapped Parquet file is an
// error. A URI's query string and fragment are ignored.
func Detect(name string) (Kind, Compression, error) {
	base := strings.ToLower(stripQuery(name))
	c := None
	switch {
	case strings.HasSuffix(base, ".gz"):
		c, base = Gzip, strings.TrimSuffix(base, ".gz")
	case strings.HasSuffix(base, ".zst"):
		c, base = Zstd, strings.TrimSuffix(base, ".zst")
	}
	var k Kind
	switch {
	case strings.HasSuffix(base, ".csv"), strings.HasSuffix(base, ".tsv"):
		k = CSV
	case strings.HasSuffix(base, ".jsonl"), strings.HasSuffix(base, ".ndjson"):
		k = JSONL
	case strings.HasSuffix(base, ".parquet"), strings.HasSuffix(base, ".pq"):
		if c != None {
			return "", "", &Error{File: name, Msg: fmt.Sprintf("a Parquet file cannot be %s-compressed as a whole", c),
				Hint: "Parquet compresses its pages itself; decompress the file or write it with Parquet compression"}
		}
		k = Parquet
	default:
		return "", "", &Error{File: name, Msg: "cannot tell the file format from the name", Hint: detectHint}
	}
	return k, c, nil
}

// DefaultDelimiter is the CSV field delimiter for a file name: a tab for
// .tsv (optionally compressed), a comma otherwise.
func DefaultDelimiter(name string) byte {
	base := strings.ToLower(stripQuery(name))
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".gz"), ".zst")
	if strings.HasSuffix(base, ".tsv") {
		return '\t'
	}
	return ','
}

// compressionSuffix reads only the compression part of a name, for inputs
// whose format is given explicitly.
func compressionSuffix(name string) Compression {
	base := strings.ToLower(stripQuery(name))
	switch {
	case strings.HasSuffix(base, ".gz"):
		return Gzip
	case strings.HasSuffix(base, ".zst"):
		return Zstd
	}
	return None
}

func stripQuery(name string) string {
	if strings.Contains(name, "://") {
		if i := strings.IndexAny(name, "?#"); i >= 0 {
			return name[:i]
		}
	}
	return name
}

// CheckCompression reports whether compression c can be used for files of
// kind k: Parquet takes snappy, gzip, zstd or none; text formats take gzip,
// zstd or none. "" is the default: snappy for Parquet, none for text.
func CheckCompression(k Kind, c Compression) error {
	switch k {
	case Parquet:
		switch c {
		case "", None, Snappy, Gzip, Zstd:
			return nil
		}
		return fmt.Errorf("compression %q is not available for Parquet output; use snappy, gzip, zstd or none", c)
	case CSV, JSONL:
		switch c {
		case "", None, Gzip, Zstd:
			return nil
		case Snappy:
			return fmt.Errorf("snappy compression is only available for Parquet output; use gzip, zstd or none for %s", k)
		}
		return fmt.Errorf("compression %q is not available for %s output; use gzip, zstd or none", c, k)
	}
	return fmt.Errorf("unknown format %q; use csv, jsonl or parquet", k)
}

// Ext is the file name extension of an output file: ".parquet" whatever the
// (internal) Parquet compression, and ".csv", ".csv.gz", ".csv.zst",
// ".jsonl", ".jsonl.gz", ".jsonl.zst" for text. Combinations that
// CheckCompression rejects give the uncompressed extension.
func Ext(kind Kind, c Compression) string {
	if kind == Parquet {
		return ".parquet"
	}
	ext := "." + string(kind)
	switch c {
	case Gzip:
		ext += ".gz"
	case Zstd:
		ext += ".zst"
	}
	return ext
}
