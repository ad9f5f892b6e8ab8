package format

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// slowHash takes its time over each write, as a hash on a busy machine
// does, so that the reader gets ahead of it.
type slowHash struct{ hash.Hash }

func (s slowHash) Write(p []byte) (int, error) {
	time.Sleep(5 * time.Millisecond)
	return s.Hash.Write(p)
}

// oddReader returns at most n bytes per Read, so that reads end in the
// middle of records, of quoted fields and of CRLFs.
type oddReader struct {
	r io.Reader
	n int
}

func (o oddReader) Read(p []byte) (int, error) {
	if len(p) > o.n {
		p = p[:o.n]
	}
	return o.r.Read(p)
}

// reuseCSV is a CSV body of about size bytes whose records vary in length
// and hold quoted fields with delimiters, doubled quotes, LF and CRLF
// newlines, so that records and quoted newlines straddle the scanner's
// buffer boundaries.
func reuseCSV(size int) (data []byte, records int) {
	rng := rand.New(rand.NewPCG(7, 11))
	var b bytes.Buffer
	b.WriteString("id,note,n\n")
	i := 0
	for ; b.Len() < size; i++ {
		fmt.Fprintf(&b, "%d,", i)
		switch rng.IntN(4) {
		case 0:
			fmt.Fprintf(&b, "\"line one\nline two, %d\"", rng.IntN(1000))
		case 1:
			fmt.Fprintf(&b, "\"said \"\"hi\"\"\r\nand %s\"", bytes.Repeat([]byte("x"), rng.IntN(300)))
		default:
			b.Write(bytes.Repeat([]byte("y"), rng.IntN(80)))
		}
		fmt.Fprintf(&b, ",%d\n", rng.IntN(1<<20))
		if rng.IntN(50) == 0 {
			b.WriteString("\n") // a blank line
		}
	}
	return b.Bytes(), i
}

// TestScannerReusesBuffers cuts a file of many buffers into chunks with
// buffer recycling on, holding each chunk for a while (as chunks in
// flight are) and hashing the bytes on the way. A buffer must never be
// read into while a chunk or the hash still reads it: every chunk still
// has its bytes of the file when it is released, and the hash is the
// file's. And the pass must reuse buffers instead of allocating one per
// buffer's worth of input.
func TestScannerReusesBuffers(t *testing.T) {
	data, records := reuseCSV(12 << 20)
	for _, tc := range []struct {
		held int  // chunks in flight
		read int  // most bytes per read
		slow bool // the hash lags behind the reading
	}{{0, 65521, false}, {1, 65521, false}, {5, 65521, false}, {40, 65521, false}, {0, 1 << 30, true}, {3, 1 << 30, true}} {
		held := tc.held
		t.Run(fmt.Sprintf("held=%d,read=%d,slow=%v", tc.held, tc.read, tc.slow), func(t *testing.T) {
			s := newRecordScanner(oddReader{bytes.NewReader(data), tc.read}, "reuse.csv", true, blankCSV)
			s.delim = ','
			s.pool = new(bufPool)
			var h hash.Hash = sha256.New()
			if tc.slow {
				h = slowHash{h}
			}
			var err error
			end := s.hashTo(h, nil, &err)
			if ok, err := s.next(); !ok || err != nil {
				t.Fatalf("header: %v %v", ok, err)
			}
			type chunk struct {
				data   []byte
				offset int64
				buf    *textBuf
			}
			var fifo []chunk
			check := func(c chunk) {
				t.Helper()
				want := data[c.offset : c.offset+int64(len(c.data))]
				if !bytes.Equal(c.data, want) {
					t.Fatalf("chunk at offset %d no longer holds its bytes of the file", c.offset)
				}
				c.buf.drop()
			}
			var rows, chunks int
			next := int64(len("id,note,n\n"))
			err = s.chunks(context.Background(), 997, func(b []byte, line, offset int64, n int) error {
				if offset < next {
					t.Fatalf("chunk at offset %d overlaps the chunk before, which ends at %d", offset, next)
				}
				next = offset + int64(len(b))
				rows += n
				chunks++
				fifo = append(fifo, chunk{b, offset, s.holdBuf()})
				if len(fifo) > held {
					check(fifo[0])
					fifo = fifo[1:]
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			end()
			for _, c := range fifo {
				check(c)
			}
			s.close()
			if rows != records {
				t.Fatalf("chunks hold %d records, want %d", rows, records)
			}
			if got, want := h.Sum(nil), sha256.Sum256(data); !bytes.Equal(got, want[:]) {
				t.Fatal("the hash of the bytes read is not the file's")
			}
			// Buffers hold 1 MiB here (chunks of ~80 KiB): without reuse
			// the 12 MiB file takes a dozen. Chunks in flight, and a hash
			// up to four reads behind, keep theirs from being reused.
			if s.pool.fresh > 6+held || !tc.slow && held < 12 && s.pool.fresh > 2 {
				t.Errorf("%d buffers allocated for %d chunks of a %d-byte file; want them reused", s.pool.fresh, chunks, len(data))
			}
			t.Logf("%d chunks, %d rows, %d buffers allocated", chunks, rows, s.pool.fresh)
		})
	}
}

// TestReleasedChunks reads a CSV file of many buffers as a build's
// inspection does: chunks inferred on two goroutines, each released once
// inferred, the file hashed on the way. The evidence and hash must be
// those of a pass that keeps every chunk, the chunks must decode to the
// same rows, and a released chunk must fail to be read again rather than
// read memory that now holds other chunks.
func TestReleasedChunks(t *testing.T) {
	data, records := reuseCSV(6 << 20)
	in := Input{Name: "released.csv", Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(oddReader{bytes.NewReader(data), 100_003}), nil
	}, Size: int64(len(data))}
	opt := Options{Kind: CSV, ChunkRows: 700}

	keep := mustRead(t, in, opt) // keeps every chunk

	h := sha256.New()
	opt.Hash = h
	dec, err := NewDecoder(in, opt)
	if err != nil {
		t.Fatal(err)
	}
	var released []*Chunk
	evs := map[int]*Evidence{}
	var mu sync.Mutex
	jobs := make(chan *Chunk, 4)
	var wg sync.WaitGroup
	var inferErr error
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				ev, err := dec.Infer(c)
				Release(c)
				mu.Lock()
				evs[c.Seq] = ev
				released = append(released, c)
				if err != nil && inferErr == nil {
					inferErr = err
				}
				mu.Unlock()
			}
		}()
	}
	err = dec.Chunks(context.Background(), func(c *Chunk) error { jobs <- c; return nil })
	close(jobs)
	wg.Wait()
	if err != nil || inferErr != nil {
		t.Fatal(err, inferErr)
	}
	var ev *Evidence
	for i := range len(evs) {
		if ev == nil {
			ev = evs[i]
		} else if err := ev.Merge(evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if ev.Rows() != int64(records) || ev.Rows() != keep.evidence.Rows() {
		t.Fatalf("%d rows inferred, want %d", ev.Rows(), records)
	}
	diff(t, "columns", keep.evidence.Columns(), ev.Columns())
	if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("the hash is not the file's")
	}
	if len(released) < 20 {
		t.Fatalf("only %d chunks; the file should span many", len(released))
	}

	// The replayed chunks decode to the rows of the pass that kept its
	// chunks; Replay reads them into the memory of those decoded.
	r := dec.(Replayer)
	var rows [][]any
	err = r.Replay(context.Background(), r.Index(), func(c *Chunk) error {
		rec, err := dec.Decode(c, keep.schema)
		if err != nil {
			return err
		}
		defer rec.Release()
		rows = append(rows, recordRows(t, rec)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(keep.rows) {
		t.Fatalf("%d rows decoded, want %d", len(rows), len(keep.rows))
	}
	diff(t, "rows", keep.rows, rows)

	c := released[len(released)/2]
	if _, err := dec.Infer(c); err == nil {
		t.Error("Infer of a released chunk succeeded")
	}
	if _, err := dec.Decode(c, keep.schema); err == nil {
		t.Error("Decode of a released chunk succeeded")
	}
}

// TestScannerBufferSize: with the stream's length known, a buffer is no
// larger than what is left of it; and the first chunk's buffer is sized
// from the records read so far instead of doubled from 1 MiB (1, 2, 4, 8
// MiB …), each time copying the chunk so far.
func TestScannerBufferSize(t *testing.T) {
	data, records := reuseCSV(300 << 10)
	s := newRecordScanner(bytes.NewReader(data), "small.csv", true, blankCSV)
	s.pool, s.size = new(bufPool), int64(len(data))
	rows := 0
	err := s.chunks(context.Background(), 1<<20, func(b []byte, _, _ int64, n int) error { rows += n; return nil })
	if err != nil || rows != records+1 { // the header is a record here
		t.Fatalf("%d rows, %v", rows, err)
	}
	if len(s.buf) > len(data)+1 {
		t.Errorf("a %d-byte buffer for a %d-byte stream", len(s.buf), len(data))
	}
	s.close()

	data, records = reuseCSV(24 << 20)
	s = newRecordScanner(bytes.NewReader(data), "big.csv", true, blankCSV)
	s.pool = new(bufPool)
	var sizes []int
	rows = 0
	err = s.chunks(context.Background(), records/2, func(b []byte, _, _ int64, n int) error {
		rows += n
		sizes = append(sizes, len(s.buf))
		return nil
	})
	if err != nil || rows != records+1 {
		t.Fatalf("%d rows, %v", rows, err)
	}
	// The first chunk, about 12 MiB, needs a buffer of 1 MiB, then one of
	// at most 8 times that, then one for two such chunks: three buffers
	// (doubling takes five).
	if s.pool.fresh > 3 || sizes[0] < 12<<20 {
		t.Errorf("%d buffers for the first chunk (the buffer holding it is %d bytes); want 3", s.pool.fresh, sizes[0])
	}
	s.close()
}
