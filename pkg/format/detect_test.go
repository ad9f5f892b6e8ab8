package format

import (
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name  string
		kind  Kind
		comp  Compression
		delim byte
		err   string
	}{
		{"a.csv", CSV, None, ',', ""},
		{"dir/A.CSV", CSV, None, ',', ""},
		{"a.tsv", CSV, None, '\t', ""},
		{"a.TSV.gz", CSV, Gzip, '\t', ""},
		{"a.csv.gz", CSV, Gzip, ',', ""},
		{"a.csv.zst", CSV, Zstd, ',', ""},
		{"a.jsonl", JSONL, None, ',', ""},
		{"a.ndjson.gz", JSONL, Gzip, ',', ""},
		{"a.JSONL.ZST", JSONL, Zstd, ',', ""},
		{"a.parquet", Parquet, None, ',', ""},
		{"a.pq", Parquet, None, ',', ""},
		{"s3://bucket/x/a.csv.gz?versionId=7", CSV, Gzip, ',', ""},
		{"gs://bucket/a.tsv#frag", CSV, None, '\t', ""},
		{"a.parquet.gz", "", "", ',', "a Parquet file cannot be gzip-compressed as a whole"},
		{"a.pq.zst", "", "", ',', "a Parquet file cannot be zstd-compressed as a whole"},
		{"a.json", "", "", ',', "cannot tell the file format from the name; name the file .csv, .tsv, .jsonl, .ndjson or .parquet (text formats may end in .gz or .zst), or set --format"},
		{"a.gz", "", "", ',', "or set --format"},
		{"csv", "", "", ',', "or set --format"},
		{"a.csv.bz2", "", "", ',', "or set --format"},
	}
	for _, tt := range tests {
		k, c, err := Detect(tt.name)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Detect(%q) error = %v, want %q", tt.name, err, tt.err)
				continue
			}
			if fe := asError(t, err); fe.File != tt.name || fe.Hint == "" {
				t.Errorf("Detect(%q) error %+v lacks the file or a hint", tt.name, fe)
			}
			continue
		}
		if err != nil || k != tt.kind || c != tt.comp {
			t.Errorf("Detect(%q) = %q, %q, %v; want %q, %q", tt.name, k, c, err, tt.kind, tt.comp)
		}
		if d := DefaultDelimiter(tt.name); d != tt.delim {
			t.Errorf("DefaultDelimiter(%q) = %q, want %q", tt.name, d, tt.delim)
		}
	}
}

func TestExtAndCheckCompression(t *testing.T) {
	tests := []struct {
		kind Kind
		c    Compression
		ext  string
		ok   bool
	}{
		{Parquet, Snappy, ".parquet", true},
		{Parquet, Gzip, ".parquet", true},
		{Parquet, Zstd, ".parquet", true},
		{Parquet, None, ".parquet", true},
		{Parquet, "", ".parquet", true},
		{CSV, None, ".csv", true},
		{CSV, "", ".csv", true},
		{CSV, Gzip, ".csv.gz", true},
		{CSV, Zstd, ".csv.zst", true},
		{JSONL, None, ".jsonl", true},
		{JSONL, Gzip, ".jsonl.gz", true},
		{JSONL, Zstd, ".jsonl.zst", true},
		{CSV, Snappy, ".csv", false},
		{JSONL, Snappy, ".jsonl", false},
	}
	for _, tt := range tests {
		if got := Ext(tt.kind, tt.c); got != tt.ext {
			t.Errorf("Ext(%s, %s) = %q, want %q", tt.kind, tt.c, got, tt.ext)
		}
		if err := CheckCompression(tt.kind, tt.c); (err == nil) != tt.ok {
			t.Errorf("CheckCompression(%s, %s) = %v, want ok=%v", tt.kind, tt.c, err, tt.ok)
		}
		if tt.ok {
			// The extension of every valid output detects back to its format.
			k, c, err := Detect("x" + tt.ext)
			want := tt.c
			if tt.kind == Parquet || want == "" {
				want = None
			}
			if err != nil || k != tt.kind || c != want {
				t.Errorf("Detect(x%s) = %s, %s, %v", tt.ext, k, c, err)
			}
		}
	}
}

func TestNewDecoderOptions(t *testing.T) {
	csvData := []byte("a|b\n1|2\n")
	res := mustRead(t, memInput("noext", csvData), Options{Kind: CSV, Delimiter: '|'})
	diff(t, "pipe-delimited", [][]any{{int64(1), int64(2)}}, res.rows)
	res = mustRead(t, memInput("data.gz", gz(t, csvData)), Options{Kind: CSV, Delimiter: '|'})
	diff(t, "compression from a bare .gz", [][]any{{int64(1), int64(2)}}, res.rows)
	res = mustRead(t, memInput("x.csv.gz", csvData), Options{Compression: None, Delimiter: '|'})
	diff(t, "compression override", [][]any{{int64(1), int64(2)}}, res.rows)

	for _, tt := range []struct {
		in  Input
		opt Options
		msg string
	}{
		{memInput("x.json", nil), Options{}, "or set --format"},
		{memInput("x", nil), Options{Kind: "xml"}, `unknown format "xml"`},
		{memInput("x", nil), Options{Kind: CSV, Compression: Snappy}, "cannot read snappy-compressed CSV"},
		{memInput("x", nil), Options{Kind: JSONL, Compression: Snappy}, "cannot read snappy-compressed JSONL"},
		{memInput("x", nil), Options{Kind: Parquet, Compression: Gzip}, "cannot be gzip-compressed"},
		{memInput("x.csv", nil), Options{Delimiter: '"'}, "cannot be the CSV delimiter"},
	} {
		if _, err := NewDecoder(tt.in, tt.opt); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("NewDecoder(%s, %+v) = %v, want %q", tt.in.Name, tt.opt, err, tt.msg)
		}
	}
}
