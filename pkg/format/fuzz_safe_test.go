package format

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/mldata-io/mldata/internal/hostile"
)

// fuzzLimits keep fuzzed inputs from allocating more than a fuzz worker
// can afford, as the defaults do for real inputs on a node.
var fuzzLimits = Limits{MaxColumns: 1000, MaxRecordBytes: 1 << 20, MaxFileBytes: 64 << 20, MaxChunkBytes: 16 << 20}

// wantFileError checks that a failed read names the file: a *Error for
// problems with the bytes.
func wantFileError(t *testing.T, name string, err error) {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) || fe.File != name {
		t.Fatalf("error %T %q is not a *format.Error naming %s", err, err, name)
	}
}

// FuzzParquet reads arbitrary bytes as Parquet: no panic escapes (arrow-go
// panics on some corrupt pages; the decoder turns those into errors), and
// every failure is an *Error naming the file. Seeds are valid files and
// files with bytes flipped in their pages and footers.
func FuzzParquet(f *testing.F) {
	valid := [][]byte{limitParquet(f, 2, 5, "abc"), limitParquet(f, 1, 3, strings.Repeat("x", 300))}
	for _, v := range valid {
		f.Add(v)
		for _, at := range []int{4, len(v) / 3, len(v) / 2, len(v) - 12, len(v) - 9} {
			c := bytes.Clone(v)
			c[at] ^= 0xff
			f.Add(c)
		}
		f.Add(v[:len(v)/2])
	}
	f.Add([]byte("PAR1PAR1"))
	// Files whose bytes claim far more than they hold: a page header
	// claiming 128 MiB, and dictionaries expanding to 32 MiB (above
	// fuzzLimits' chunk) as a string and as a dictionary column.
	f.Add(hostile.PageClaimParquet(f))
	f.Add(hostile.DictionaryBombParquet(f, 64<<10, 512, false))
	f.Add(hostile.DictionaryBombParquet(f, 64<<10, 512, true))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := read(t, memInput("f.parquet", data), Options{Limits: fuzzLimits})
		if err != nil {
			wantFileError(t, "f.parquet", err)
		}
	})
}

func compressBytes(t testing.TB, c Compression, data []byte) []byte {
	t.Helper()
	if c == Gzip {
		return gzipBytes(t, data)
	}
	var b bytes.Buffer
	zw, err := zstd.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readAllocs reads in and returns the bytes allocated meanwhile.
func readAllocs(t *testing.T, in Input, opt Options) (*result, uint64, error) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := read(t, in, opt)
	runtime.ReadMemStats(&after)
	return res, after.TotalAlloc - before.TotalAlloc, err
}

// FuzzCompressedText reads CSV and JSONL inputs compressed with gzip and
// zstd: the compressed file reads exactly as the plain one (same rows or
// an error at the same line), allocations stay within a fixed overhead plus
// a multiple of the decompressed size, and the raw fuzz bytes read as a
// compressed file fail, if they fail, with an *Error naming the file.
func FuzzCompressedText(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n3,4\n", `{"a":1}` + "\n" + `{"b":"x"}` + "\n", "a\n\"open\n", `{"a":[1,{"b":2}]}`, "x,y\n" + strings.Repeat("1,2\n", 500),
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Add(gzipBytes(f, []byte("a,b\n1,2\n")), true)
	f.Fuzz(func(t *testing.T, data []byte, csv bool) {
		ext := ".jsonl"
		if csv {
			ext = ".csv"
		}
		opt := Options{Limits: fuzzLimits}
		plain, perr := read(t, memInput("f"+ext, data), opt)
		for _, c := range []Compression{Gzip, Zstd} {
			name := "f" + ext + map[Compression]string{Gzip: ".gz", Zstd: ".zst"}[c]
			res, alloc, err := readAllocs(t, memInput(name, compressBytes(t, c, data)), opt)
			// Fixed: the scanner's first buffer, the codec's window and
			// tables, Arrow builders. Per byte: chunk copies, field
			// offsets and decoded values.
			if bound := uint64(16<<20) + 64*uint64(len(data)); alloc > bound {
				t.Errorf("%s: %d bytes allocated reading %d decompressed bytes (bound %d)", name, alloc, len(data), bound)
			}
			switch {
			case (err == nil) != (perr == nil):
				t.Fatalf("%s: %v, plain: %v", name, err, perr)
			case err == nil && len(res.rows) != len(plain.rows):
				t.Fatalf("%s: %d rows, plain %d", name, len(res.rows), len(plain.rows))
			case err != nil:
				var fe, pe *Error
				if errors.As(err, &fe) && errors.As(perr, &pe) && (fe.Line != pe.Line || fe.Row != pe.Row) {
					t.Fatalf("%s: error at line %d row %d, plain at line %d row %d", name, fe.Line, fe.Row, pe.Line, pe.Row)
				}
			}
			// The fuzz bytes themselves as a compressed stream.
			if _, err := read(t, memInput(name, data), opt); err != nil {
				wantFileError(t, name, err)
			}
		}
	})
}
