package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/klauspost/compress/gzip"

	"github.com/mldata-io/mldata/internal/hostile"
)

// gzipMembers returns a gzip file of count members, the first holding
// first and the others one MiB of 'x' each: a file of about a kilobyte per
// member that expands to count MiB. Readers treat concatenated members as
// one stream.
func gzipMembers(t *testing.T, first string, count int) []byte {
	t.Helper()
	member := func(s string) []byte {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		if _, err := zw.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	out := member(first)
	mib := member(strings.Repeat("x", 1<<20))
	for range count - 1 {
		out = append(out, mib...)
	}
	return out
}

// dictParquet writes one string column holding value in rows rows,
// dictionary-encoded and zstd-compressed: the file is tiny and its
// dictionary page as long as value.
func dictParquet(t *testing.T, value string, rows int) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for range rows {
		b.Field(0).(*array.StringBuilder).Append(value)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var out bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithDictionaryDefault(true), parquet.WithCompression(compress.Codecs.Zstd))
	fw, err := pqarrow.NewFileWriter(schema, &out, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// Hostile inputs fail with an error naming the limit instead of exhausting
// memory. Each runs `mldata profile` in a child process, whose peak resident
// memory and CPU time (from /usr/bin/time) the test reports; it fails when
// the child does not fail with the right error, or when its peak memory
// reaches 256 MiB.
func TestHostileInputsFailWithinMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes inputs expanding to a GiB; skipped with -short")
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var keys, header, row strings.Builder
	for i := range 100000 {
		fmt.Fprintf(&keys, "{\"k%05d\":1}\n", i) // 100k distinct keys in 1.3 MB
		if i > 0 {
			header.WriteByte(',')
			row.WriteByte(',')
		}
		fmt.Fprintf(&header, "c%d", i)
		row.WriteByte('1')
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"100k distinct JSONL keys", []string{write("keys.jsonl", []byte(keys.String()))},
			`line 10001 (row 10001): key "k10000" is key number 10001 of the file, more than the limit of 10000 columns; raise the limit with --max-columns`},
		{"gzip of one 1 GiB line", []string{write("line.jsonl.gz", gzipMembers(t, `{"a":"`, 1024))},
			"line 1 (row 1): record is longer than 64MiB; raise the limit with --max-record-bytes"},
		{"100k-column CSV header", []string{write("wide.csv", []byte(header.String()+"\n"+row.String()+"\n"))},
			"line 1: header has 100000 columns, more than the limit of 10000; raise the limit with --max-columns"},
		// A 16 MiB dictionary value in a file of a few KiB, against a
		// limit of 8 MiB: the same check refuses gigabytes at the default
		// limit, without the test writing them.
		{"Parquet dictionary beyond the chunk limit", []string{write("dict.parquet", dictParquet(t, strings.Repeat("x", 16<<20), 4)), "--max-chunk-bytes", "8MiB"},
			`(row 1), column "s": row group 0's column chunk expands to 16.0MiB, more than the limit of 8MiB; raise the limit with --max-chunk-bytes`},
		// A page header claiming 128 MiB in a file whose footer says
		// 2 MiB: refused before its buffer is allocated.
		{"Parquet page header claiming 128 MiB", []string{write("claim.parquet", hostile.PageClaimParquet(t))},
			`claim.parquet (row 1), column "s": row group 0: a page claims 128.0MiB uncompressed, more than any column chunk of the file holds according to its footer; the file is corrupt`},
		// 4096 rows referencing one 256 KiB dictionary value: 1 GiB once
		// read from a file of a few KiB whose footer and pages are honest.
		// The buffer that would exceed the limit is refused before it is
		// allocated (at the default limit, 512 MiB).
		{"Parquet dictionary expanding to 1 GiB", []string{write("bomb.parquet", hostile.DictionaryBombParquet(t, 256<<10, 4096, false)), "--max-chunk-bytes", "32MiB"},
			`bomb.parquet (row 1), column "s": row group 0: rows 1-4096 of the column need a buffer of`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fi, _ := os.Stat(tc.args[0])
			// The child's own rusage would report the parent's memory:
			// Go starts children with vfork, and exec records the
			// shared address space's peak as the child's. /usr/bin/time
			// forks on its own and reports the child's peak alone.
			args := append([]string{"profile"}, tc.args...)
			cmd := cliCommand(args...)
			timed := false
			if tp, err := exec.LookPath("/usr/bin/time"); err == nil {
				cmd.Args = append([]string{tp, "-f", "rss=%M user=%U sys=%S", os.Args[0]}, args...)
				cmd.Path, timed = tp, true
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			err := cmd.Run()
			took := time.Since(start)
			if err == nil || cmd.ProcessState.ExitCode() != exitFailure {
				t.Fatalf("profile: %v, exit %d, want exit %d\n%s", err, cmd.ProcessState.ExitCode(), exitFailure, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %q does not contain %q", stderr.String(), tc.want)
			}
			if !timed {
				t.Logf("%s: %d-byte file failed in %v; install GNU time (/usr/bin/time) to measure peak memory", tc.name, fi.Size(), took.Round(time.Millisecond))
				return
			}
			var rssKiB int64
			var user, sys float64
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if _, err := fmt.Sscanf(lines[len(lines)-1], "rss=%d user=%g sys=%g", &rssKiB, &user, &sys); err != nil {
				t.Fatalf("reading /usr/bin/time's line %q: %v", lines[len(lines)-1], err)
			}
			t.Logf("%s: %d-byte file failed after %.2fs of CPU (%v wall) at %d MiB peak RSS", tc.name, fi.Size(), user+sys, took.Round(time.Millisecond), rssKiB>>10)
			if raceEnabled {
				// The child is this race-instrumented test binary: its
				// memory says nothing of the product's. `go test` without
				// -race (a line of make test) checks the bound.
				return
			}
			if rssKiB>>10 >= 256 {
				t.Errorf("peak RSS %d MiB, want below 256 MiB", rssKiB>>10)
			}
		})
	}
}

// The limit flags reach the readers of build, profile and drift, and bad
// values are usage errors.
func TestLimitFlags(t *testing.T) {
	dir := t.TempDir()
	csv := pdWrite(t, dir, "three.csv", "a,b,c\n1,2,3\n")
	want := "three.csv: line 1: header has 3 columns, more than the limit of 2; raise the limit with --max-columns"
	for _, args := range [][]string{
		{"profile", csv, "--max-columns", "2"},
		{"drift", csv, csv, "--max-columns", "2"},
		{"build", "--source", csv, "--output", filepath.Join(dir, "out"), "--max-columns", "2"},
	} {
		_, stderr, code := pdRun(t, args...)
		if code != exitFailure || !strings.Contains(stderr, want) {
			t.Errorf("%v: exit %d, %s", args, code, stderr)
		}
	}
	if _, _, code := pdRun(t, "profile", csv, "--max-columns", "3"); code != exitOK {
		t.Errorf("profile at the column limit: exit %d", code)
	}
	for _, bad := range [][]string{{"--max-record-bytes", "12XB"}, {"--max-chunk-bytes", "0"}, {"--max-columns", "-1"}, {"--max-record-bytes", "3GiB"}} {
		if _, stderr, code := pdRun(t, append([]string{"profile", csv}, bad...)...); code != exitUsage || !strings.Contains(stderr, bad[0]) {
			t.Errorf("%v: exit %d, %s", bad, code, stderr)
		}
	}
}
