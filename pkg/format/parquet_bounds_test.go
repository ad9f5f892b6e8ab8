package format

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// DictionaryBombParquet is a Parquet file of one string column "s" whose
// rows all reference one dictionary value of valueLen bytes: a few KiB
// on disk, rows × valueLen bytes once read. With storeSchema the file
// records the column as dictionary<string> (the reader returns the
// dictionary and this package expands it); without, as string (the
// reader expands it). The rows are never materialized by the writer.
func DictionaryBombParquet(t testing.TB, valueLen, rows int, storeSchema bool) []byte {
	t.Helper()
	mem := memory.DefaultAllocator
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	sb := array.NewStringBuilder(mem)
	sb.Append(strings.Repeat("x", valueLen))
	dict := sb.NewStringArray()
	defer dict.Release()
	ib := array.NewInt32Builder(mem)
	ib.AppendValues(make([]int32, rows), nil)
	idx := ib.NewInt32Array()
	defer idx.Release()
	col := array.NewDictionaryArray(dt, idx, dict)
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "s", Type: dt, Nullable: true}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(rows))
	defer rec.Release()
	props := parquet.NewWriterProperties(parquet.WithDictionaryDefault(true), parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithDictionaryPageSizeLimit(int64(valueLen)+(1<<20)), parquet.WithMaxRowGroupLength(int64(rows)))
	aprops := pqarrow.NewArrowWriterProperties()
	if storeSchema {
		aprops = pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())
	}
	var out bytes.Buffer
	fw, err := pqarrow.NewFileWriter(schema, &out, props, aprops)
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

// PageClaimParquet is a valid Parquet file of one string column "s" whose
// first page header is then made to claim 128 MiB - 1 uncompressed, while
// the footer keeps the true sizes (about 2 MiB).
func PageClaimParquet(t testing.TB) []byte {
	t.Helper()
	data := DictionaryBombParquet(t, 2<<20, 4, false)
	r, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := r.MetaData().RowGroup(0).ColumnChunk(0)
	if err != nil {
		t.Fatal(err)
	}
	off := cc.DataPageOffset()
	if d := cc.DictionaryPageOffset(); cc.HasDictionaryPage() && d > 0 && d < off {
		off = d
	}
	r.Close()
	// The page header (Thrift compact): field 1 type (i32), then field 2
	// uncompressed_page_size (i32, zigzag varint; 4 bytes for 2 MiB).
	p := int(off)
	if data[p] != 0x15 {
		t.Fatalf("page header at %d starts with %#x, not field 1 (i32)", p, data[p])
	}
	p += 2 // the header byte and the one-byte type
	if data[p] != 0x15 {
		t.Fatalf("page header at %d: %#x, not field 2 (i32)", p, data[p])
	}
	p++
	n := 0
	for data[p+n]&0x80 != 0 {
		n++
	}
	if n != 3 {
		t.Fatalf("uncompressed_page_size is a %d-byte varint, want 4", n+1)
	}
	out := bytes.Clone(data)
	copy(out[p:], []byte{0xfe, 0xff, 0xff, 0x7f}) // zigzag 2^28-2: 2^27-1 bytes
	return out
}

// A page header that claims more than its file's footer, or than the
// chunk limit, is refused before its buffer is allocated; the error names
// the file, row group, column and limit.
func TestParquetPageClaims(t *testing.T) {
	data := PageClaimParquet(t)
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
		data := DictionaryBombParquet(t, 256<<10, 4096, stored)
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
	small := DictionaryBombParquet(t, 1<<10, 64, true)
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
