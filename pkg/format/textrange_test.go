package format

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"
)

// rangeFixture is a file whose records defeat a line-based split: CSV
// records with quoted newlines, commas and doubled quotes, CRLF and blank
// lines, a byte order mark; JSONL lines with escaped newlines and blank
// lines.
func rangeFixture(kind Kind) (string, []byte) {
	var b strings.Builder
	if kind == CSV {
		b.WriteString("\xEF\xBB\xBF\n\nid,note,v\r\n\n")
		for k := 0; k < 230; k++ {
			switch {
			case k%7 == 0:
				fmt.Fprintf(&b, "%d,\"a\nb, \"\"c\"\"\n\nd\",%d.5\n", k, k)
			case k%11 == 0:
				fmt.Fprintf(&b, "%d,plain,%d\r\n\n\n", k, k)
			default:
				fmt.Fprintf(&b, "%d,\"x,%d, padded to make a long record\",%d\n", k, k, k)
			}
		}
		b.WriteString("230,last,1") // no final newline
		return "r.csv", []byte(b.String())
	}
	b.WriteString("\n")
	for k := 0; k < 200; k++ {
		fmt.Fprintf(&b, `{"id": %d, "note": "a\nb, \"c\"", "v": %d}`+"\n", k, k)
		if k%13 == 0 {
			b.WriteString("  \n")
		}
	}
	return "r.jsonl", []byte(b.String())
}

// A range that starts at any chunk's cut and ends at any later cut (or at
// the end of the file) gives exactly the chunks a pass over the whole file
// gave there: same numbers, rows, lines, bytes and decoded values.
func TestChunksFromMatchesWholePass(t *testing.T) {
	ctx := context.Background()
	// Chunks cut at 17 records, and chunks cut by size (300 bytes) with
	// fewer records per chunk for the chunk limit.
	opts := map[string]Options{"rows": {ChunkRows: 17}, "bytes": {ChunkRows: 17, Limits: Limits{MaxChunkBytes: 300}}}
	for _, kind := range []Kind{CSV, JSONL} {
		for on, opt := range opts {
			t.Run(string(kind)+"/"+on, func(t *testing.T) {
				name, data := rangeFixture(kind)
				in := memInput(name, data)
				whole := mustRead(t, in, opt)
				if len(whole.chunks) < 10 {
					t.Fatalf("%d chunks; the test wants many", len(whole.chunks))
				}
				dec, err := NewDecoder(in, opt)
				if err != nil {
					t.Fatal(err)
				}
				cuts := make([]Cut, len(whole.chunks))
				for i, c := range whole.chunks {
					cut, ok := CutOf(c)
					if !ok {
						t.Fatalf("chunk %d has no cut", i)
					}
					cuts[i] = cut
				}
				short := 0 // chunks cut by size before their count of records
				for i := 0; i+1 < len(cuts); i++ {
					if whole.chunks[i].Rows < cuts[i].PerChunk {
						short++
					}
				}
				if (on == "bytes") != (short > 0) || cuts[0].PerChunk > 17 {
					t.Fatalf("%d chunks cut by size, %d records per chunk", short, cuts[0].PerChunk)
				}
				head := data[:cuts[0].Offset]
				if kind == JSONL {
					head = nil
				}
				for i := range cuts {
					for j := i + 1; j <= len(cuts); j++ {
						end := int64(len(data))
						if j < len(cuts) {
							end = cuts[j].Offset
						}
						r := iotest.HalfReader(bytes.NewReader(data[cuts[i].Offset:end]))
						k := i
						err := ChunksFrom(ctx, Input{Name: name}, opt, head, r, cuts[i], func(c *Chunk) error {
							if k >= j {
								return fmt.Errorf("chunk %d beyond the range's end %d", k, j)
							}
							w := whole.chunks[k]
							wt, gt := w.payload.(*textChunk), c.payload.(*textChunk)
							if c.Seq != w.Seq || c.FirstRow != w.FirstRow || c.FirstLine != w.FirstLine || c.Rows != w.Rows ||
								gt.offset != wt.offset || !bytes.Equal(gt.data, wt.data) {
								return fmt.Errorf("chunk %d: got %+v at %d, want %+v at %d", k, *c, gt.offset, *w, wt.offset)
							}
							rec, err := dec.Decode(c, whole.schema)
							if err != nil {
								return err
							}
							defer rec.Release()
							if d := cmpDiff(whole.rows[w.FirstRow:w.FirstRow+int64(w.Rows)], recordRows(t, rec)); d != "" {
								return fmt.Errorf("chunk %d decodes differently (-want +got):\n%s", k, d)
							}
							k++
							return nil
						})
						if err != nil {
							t.Fatalf("range [%d, %d): %v", i, j, err)
						}
						if k != j {
							t.Fatalf("range [%d, %d) gave chunks up to %d", i, j, k)
						}
					}
				}
			})
		}
	}
}

// A range whose start is no longer a record (the file changed) or whose
// CSV head holds no header is an error naming the file.
func TestChunksFromRefusesBadRanges(t *testing.T) {
	ctx := context.Background()
	name, data := rangeFixture(CSV)
	in := memInput(name, data)
	opt := Options{ChunkRows: 17}
	whole := mustRead(t, in, opt)
	c1, _ := CutOf(whole.chunks[1])
	head := data[:0]
	err := ChunksFrom(ctx, Input{Name: name}, opt, head, bytes.NewReader(data[c1.Offset:]), c1, func(*Chunk) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "r.csv") || !strings.Contains(err.Error(), "header") {
		t.Errorf("empty head: %v", err)
	}
	head = data[:whole.chunks[0].payload.(*textChunk).offset]
	err = ChunksFrom(ctx, Input{Name: name}, opt, head, bytes.NewReader(nil), c1, func(*Chunk) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "no record at byte offset") {
		t.Errorf("empty range: %v", err)
	}
	err = ChunksFrom(ctx, Input{Name: name}, Options{ChunkRows: 16}, head, bytes.NewReader(data[c1.Offset:]), c1, func(*Chunk) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "17 records per chunk") {
		t.Errorf("other chunk size: %v", err)
	}
	// A panic in emit is the caller's: it is passed on, not turned into an
	// error about the file.
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("panic in emit: recovered %v", v)
			}
		}()
		ChunksFrom(ctx, Input{Name: name}, opt, head, bytes.NewReader(data[c1.Offset:]), c1, func(*Chunk) error { panic("boom") })
		t.Error("ChunksFrom returned after emit panicked")
	}()
	gz := Input{Name: "r.csv.gz"}
	if err := ChunksFrom(ctx, gz, opt, head, bytes.NewReader(nil), c1, nil); err == nil || !strings.Contains(err.Error(), "compressed") {
		t.Errorf("compressed: %v", err)
	}
	// Chunks of a compressed file have no cuts: their offsets are not
	// offsets in the file.
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(data)
	zw.Close()
	for i, c := range mustRead(t, memInput("r.csv.gz", z.Bytes()), opt).chunks {
		if _, ok := CutOf(c); ok {
			t.Fatalf("chunk %d of a gzip file has a cut", i)
		}
	}
}
