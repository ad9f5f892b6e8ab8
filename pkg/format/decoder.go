package format

import (
	"fmt"
)

// NewDecoder returns the decoder for one input. The format comes from
// opt.Kind or else from the file name (Detect); the compression of text
// inputs from opt.Compression or else from the name, so that a file named
// without an extension can still be read with an explicit format.
//
// The decoder turns its own panics into an *Error naming the file, and
// checks Parquet footers against opt's limits before reading pages.
func NewDecoder(in Input, opt Options) (Decoder, error) {
	if in.Footer == nil {
		// The guard's footer check and the decoder share one parse.
		in.Footer = new(Footer)
	}
	d, kind, err := newDecoder(in, opt)
	if err != nil {
		return nil, err
	}
	return guard(d, in, kind, opt.limits()), nil
}

func newDecoder(in Input, opt Options) (Decoder, Kind, error) {
	kind, comp := opt.Kind, opt.Compression
	if kind == "" {
		k, c, err := Detect(in.Name)
		if err != nil {
			return nil, "", err
		}
		kind = k
		if comp == "" {
			comp = c
		}
	}
	if comp == "" {
		comp = compressionSuffix(in.Name)
	}
	rows := opt.ChunkRows
	if rows <= 0 {
		rows = DefaultChunkRows
	}
	switch kind {
	case CSV:
		if comp != None && comp != Gzip && comp != Zstd {
			return nil, "", &Error{File: in.Name, Msg: fmt.Sprintf("cannot read %s-compressed CSV", comp), Hint: "text inputs may be gzip or zstd compressed"}
		}
		delim := opt.Delimiter
		if delim == 0 {
			delim = DefaultDelimiter(in.Name)
		}
		if delim == '"' || delim == '\n' || delim == '\r' {
			return nil, "", fmt.Errorf("%s: %q cannot be the CSV delimiter", in.Name, delim)
		}
		return &csvDecoder{in: in, comp: comp, delim: delim, rows: rows, nulls: newNullSet(opt.NullValues), ts: opt.InferTimestamps, hash: opt.Hash, lim: opt.limits()}, kind, nil
	case JSONL:
		if comp != None && comp != Gzip && comp != Zstd {
			return nil, "", &Error{File: in.Name, Msg: fmt.Sprintf("cannot read %s-compressed JSONL", comp), Hint: "text inputs may be gzip or zstd compressed"}
		}
		return &jsonlDecoder{in: in, comp: comp, rows: rows, ts: opt.InferTimestamps, hash: opt.Hash, lim: opt.limits()}, kind, nil
	case Parquet:
		if comp != None {
			return nil, "", &Error{File: in.Name, Msg: fmt.Sprintf("a Parquet file cannot be %s-compressed as a whole", comp),
				Hint: "Parquet compresses its pages itself; decompress the file first"}
		}
		return &parquetDecoder{in: in, rows: rows, lim: opt.limits()}, kind, nil
	}
	return nil, "", &Error{File: in.Name, Msg: fmt.Sprintf("unknown format %q", kind), Hint: "use csv, jsonl or parquet"}
}
