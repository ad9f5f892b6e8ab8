package format

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// A pass with Options.Hash set hashes the file as stored, every byte once,
// in order, whatever the reads look like and whatever the records hold.
func TestChunksHashTheInput(t *testing.T) {
	big := benchTable(40_000, CSV) // several reads of tapRead bytes
	if len(big) < 3*tapRead {
		t.Fatalf("test file is %d bytes; it must span several reads", len(big))
	}
	odd := []byte("\xEF\xBB\xBFa,b\r\n1,\"x\r\ny\"\r\n\r\n2,\"say \"\"hi\"\"\"\r\n3,z")
	jsonl := benchTable(2_000, JSONL)
	cases := []struct {
		name string
		in   Input
		file []byte
	}{
		{"bom, crlf, quoted newlines, blank line, no final newline", memInput("odd.csv", odd), odd},
		{"large file, small reads", memInput("big.csv", big), big},
		{"large file, large reads", plainInput("big.csv", big), big},
		{"header only", memInput("h.csv", []byte("a,b\n")), []byte("a,b\n")},
		{"gzip", memInput("big.csv.gz", gz(t, big)), gz(t, big)},
		{"zstd", memInput("big.csv.zst", zst(t, big)), zst(t, big)},
		{"jsonl", plainInput("t.jsonl", jsonl), jsonl},
		{"jsonl gzip", memInput("t.jsonl.gz", gz(t, jsonl)), gz(t, jsonl)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := sha256.Sum256(tc.file)
			h := sha256.New()
			d, err := NewDecoder(tc.in, Options{Hash: h})
			if err != nil {
				t.Fatal(err)
			}
			rows := 0
			// Twice: each pass starts the hash afresh.
			for pass := 0; pass < 2; pass++ {
				rows = 0
				if err := d.Chunks(context.Background(), func(c *Chunk) error { rows += c.Rows; return nil }); err != nil {
					t.Fatal(err)
				}
				if got := h.Sum(nil); string(got) != string(want[:]) {
					t.Fatalf("pass %d: hash %s, want %s (sha256 of the file)", pass+1, hex.EncodeToString(got), hex.EncodeToString(want[:]))
				}
			}
			// Hashing does not change what is read.
			plain, err := NewDecoder(tc.in, Options{})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			if err := plain.Chunks(context.Background(), func(c *Chunk) error { n += c.Rows; return nil }); err != nil {
				t.Fatal(err)
			}
			if n != rows {
				t.Errorf("%d rows with a hash, %d without", rows, n)
			}
		})
	}
}

// A pass that fails still ends its hashing goroutine and reports the
// file's error.
func TestChunksHashFailedPass(t *testing.T) {
	data := append(benchTable(20_000, CSV), []byte("1,\"open\n")...)
	d, err := NewDecoder(plainInput("bad.csv", data), Options{Hash: sha256.New()})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Chunks(context.Background(), func(*Chunk) error { return nil })
	if e := asError(t, err); e.Line != 20_002 {
		t.Errorf("error at line %d, want 20002: %v", e.Line, err)
	}
}
