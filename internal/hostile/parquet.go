// Package hostile writes the hostile inputs that the readers' tests and
// the CLI's memory tests share: files of a few KiB whose bytes claim, or
// expand to, far more memory than they hold.
package hostile

import (
	"bytes"
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
