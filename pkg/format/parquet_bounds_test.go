package format

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/mldata-io/mldata/internal/hostile"
)

// A page header that claims more than its file's footer, or than the
// chunk limit, is refused before its buffer is allocated; the error names
// the file, row group, column and limit.
func TestParquetPageClaims(t *testing.T) {
	data := hostile.PageClaimParquet(t)
	fe := limitErr(t, memInput("claim.parquet", data), Options{})
	if got := placeOf(fe); got != (errorPlace{"claim.parquet", 0, 1, "s"}) {
		t.Errorf("error at %+v (%v)", got, fe)
	}
	if want := "row group 0: a page claims 128.0MiB uncompressed, more than any column chunk of the file holds according to its footer; the file is corrupt"; fe.Msg != want {
		t.Errorf("message %q, want %q", fe.Msg, want)
	}
	fe = limitErr(t, memInput("claim.parquet", data), Options{Limits: Limits{MaxChunkBytes: 64 << 20}})
	wantLimit(t, fe, "max-chunk-bytes", errorPlace{"claim.parquet", 0, 1, "s"}, "row group 0: a page claims 128.0MiB uncompressed, more than the limit of 64MiB")
}

// A dictionary expanding far beyond the file fails at the chunk limit,
// whether the reader expands it (string column) or this package does
// (dictionary column), and reads when the limit allows it.
func TestParquetDictionaryExpansion(t *testing.T) {
	for _, stored := range []bool{false, true} {
		// 4096 rows of one 256 KiB value: 1 GiB once read.
		data := hostile.DictionaryBombParquet(t, 256<<10, 4096, stored)
		if len(data) > 64<<10 {
			t.Fatalf("the test file is %d bytes; it should compress to almost nothing", len(data))
		}
		fe := limitErr(t, memInput("bomb.parquet", data), Options{Limits: Limits{MaxChunkBytes: 16 << 20}})
		wantLimit(t, fe, "max-chunk-bytes", errorPlace{"bomb.parquet", 0, 1, "s"}, "more than the limit of 16MiB")
		if !strings.Contains(fe.Msg, "row group 0: rows 1-4096 of the column") {
			t.Errorf("stored schema %v: message %q does not name the rows", stored, fe.Msg)
		}
		if stored && !strings.Contains(fe.Msg, "expand through their dictionary to 1GiB, more than the limit of 16MiB") {
			t.Errorf("message %q does not say what the dictionary expands to", fe.Msg)
		}
	}
	small := hostile.DictionaryBombParquet(t, 1<<10, 64, true)
	res := mustRead(t, memInput("small.parquet", small), Options{Limits: Limits{MaxChunkBytes: 1 << 20}})
	if len(res.rows) != 64 || len(res.rows[63][0].(string)) != 1<<10 {
		t.Fatalf("read %d rows", len(res.rows))
	}
}

// The footer may not place a column chunk beyond the end of the file: the
// reader would allocate that many bytes before reading them.
func TestParquetFooterBeyondFile(t *testing.T) {
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	for i := range 2000 {
		sb.Append(fmt.Sprintf("row-%06d", i))
	}
	col := sb.NewStringArray()
	defer col.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, nil), []arrow.Array{col}, 2000)
	defer rec.Release()
	data := parquetBytes(t, rec, parquet.NewWriterProperties())
	// Cut the file's middle (20 KB of pages) out, keeping its footer.
	r, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	footer := int(r.MetaData().Size()) + 8
	r.Close()
	cut := append(append([]byte{}, data[:4]...), data[len(data)-footer:]...)
	fe := limitErr(t, memInput("cut.parquet", cut), Options{})
	if got := placeOf(fe); got != (errorPlace{"cut.parquet", 0, 1, "s"}) || !strings.Contains(fe.Msg, "beyond the end of the") || !strings.Contains(fe.Hint, "truncated or corrupt") {
		t.Errorf("got %v", fe)
	}
}

// A refused allocation in one chunk's read fails the column for every
// chunk of its row group: chunks decoding in parallel, waiting for the
// column's reader, get the error instead of waiting for ever.
func TestParquetRefusalReleasesTheColumn(t *testing.T) {
	data := hostile.DictionaryBombParquet(t, 256<<10, 4096, false)
	in := memInput("bomb.parquet", data)
	d, err := NewDecoder(in, Options{ChunkRows: 512, Limits: Limits{MaxChunkBytes: 16 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	var chunks []*Chunk
	if err := d.Chunks(context.Background(), func(c *Chunk) error { chunks = append(chunks, c); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 8 {
		t.Fatalf("%d chunks, want 8 of 512 rows", len(chunks))
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	errs := make([]error, len(chunks))
	var wg sync.WaitGroup
	for i, c := range chunks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, err := d.Decode(c, schema)
			if rec != nil {
				rec.Release()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		var fe *Error
		if !errors.As(err, &fe) || fe.Column != "s" || !strings.Contains(fe.Hint, "--max-chunk-bytes") {
			t.Errorf("chunk %d: %v", i, err)
		}
	}
}

// The page readers' pool hands a freed buffer out again for a request of
// its class, never one smaller than asked for, and refuses what the
// bounded allocator refuses.
func TestPagePool(t *testing.T) {
	for _, tc := range []struct{ size, class, capacity int }{
		{4096, -1, 0}, {4097, 0, 5120}, {5120, 0, 5120}, {5121, 1, 6144}, {8192, 3, 8192},
		{8193, 4, 10240}, {278790, 24, 327680}, {1 << 20, 31, 1 << 20}, {1<<32 + 1, -1, 0},
	} {
		c, capacity := pageClass(tc.size)
		if c != tc.class || capacity != tc.capacity || c >= 0 && capacity < tc.size {
			t.Errorf("class of %d: %d (%d bytes), want %d (%d)", tc.size, c, capacity, tc.class, tc.capacity)
		}
	}
	p := newPagePool(newBoundedAllocator(1 << 20))
	b := p.Allocate(300_000)
	if len(b) != 300_000 || cap(b) != 327680 {
		t.Fatalf("len %d cap %d", len(b), cap(b))
	}
	b[0] = 7
	b = p.Reallocate(320_000, b) // fits the class: the same buffer
	if len(b) != 320_000 || b[0] != 7 {
		t.Fatalf("reallocated within the class: len %d, first byte %d", len(b), b[0])
	}
	b = p.Reallocate(400_000, b) // a larger class: copied
	if len(b) != 400_000 || cap(b) != 458752 || b[0] != 7 {
		t.Fatalf("reallocated to a larger class: len %d cap %d, first byte %d", len(b), cap(b), b[0])
	}
	p.Free(b)
	// The freed buffer comes back for a request of its class, whatever
	// garbage collections happened between.
	runtime.GC()
	runtime.GC()
	if c := p.Allocate(420_000); len(c) != 420_000 || cap(c) != 458752 || &c[0] != &b[0] {
		t.Errorf("after a free: len %d cap %d, the same buffer %v", len(c), cap(c), &c[0] == &b[0])
	}
	defer func() {
		if _, ok := recover().(*allocLimit); !ok {
			t.Error("a buffer above the limit was not refused")
		}
	}()
	p.Allocate(1<<20 + 1)
}

// A freed buffer serves a request of its class or of up to pagePoolReach
// classes below, never a larger one; a kept buffer is held back when freed
// until reuse, and the pool keeps at most pagePoolKeep bytes.
func TestPagePoolReuse(t *testing.T) {
	p := newPagePool(newBoundedAllocator(1 << 30))
	same := func(a, b []byte) bool { return unsafe.SliceData(a[:1]) == unsafe.SliceData(b[:1]) }

	b := p.Allocate(300_000) // class 24, 327680 bytes
	p.Free(b)
	if c := p.Allocate(400_000); same(b, c) {
		t.Error("a buffer served a request larger than its class")
	} else {
		p.Free(c)
	}
	if c := p.Allocate(170_000); !same(b, c) || len(c) != 170_000 || cap(c) != 327680 {
		t.Errorf("a request 3 classes below did not get the freed buffer (len %d cap %d)", len(c), cap(c))
	}
	if c := p.Allocate(150_000); same(b, c) {
		t.Error("the buffer was handed out twice")
	}

	// Kept: freed by its reader, held until reuse, then handed out again.
	k := p.Allocate(300_000)
	p.keep(k[100:200])
	p.Free(k)
	if c := p.Allocate(300_000); same(k, c) {
		t.Fatal("a kept buffer was handed out before its page was read")
	}
	p.reuse(k[100:200])
	if c := p.Allocate(300_000); !same(k, c) {
		t.Error("a kept buffer was not handed out after reuse")
	}
	// Reuse before the reader frees it: reused once freed.
	k2 := p.Allocate(600_000)
	p.keep(k2[5:])
	p.reuse(k2[5:])
	p.Free(k2)
	if c := p.Allocate(600_000); !same(k2, c) {
		t.Error("a buffer reused before its free was not handed out after it")
	}
	if len(p.kept) != 0 || len(p.held) != 0 {
		t.Errorf("%d marks and %d held buffers left", len(p.kept), len(p.held))
	}

	// The pool keeps at most pagePoolKeep bytes.
	var bufs [][]byte
	for range pagePoolKeep/(1<<20) + 8 {
		bufs = append(bufs, p.Allocate(1<<20))
	}
	for _, b := range bufs {
		p.Free(b)
	}
	if p.freeBytes > pagePoolKeep || p.freeBytes < pagePoolKeep-(1<<20) {
		t.Errorf("the pool keeps %d bytes, want at most %d and close to it", p.freeBytes, pagePoolKeep)
	}
}
