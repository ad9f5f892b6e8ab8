package format

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// pagesParquet writes rows of every type the page decoder reads (and a
// few it leaves to pqarrow), nullable and not, with props.
func pagesParquet(t testing.TB, rows int, props *parquet.WriterProperties) []byte {
	t.Helper()
	utc := func(u arrow.TimeUnit) arrow.DataType { return &arrow.TimestampType{Unit: u, TimeZone: "UTC"} }
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "i16", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "u8", Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
		{Name: "u16", Type: arrow.PrimitiveTypes.Uint16},
		{Name: "u32", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "req", Type: arrow.PrimitiveTypes.Float64},
		{Name: "cat", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "ts_s", Type: utc(arrow.Second), Nullable: true},
		{Name: "ts_ms", Type: utc(arrow.Millisecond), Nullable: true},
		{Name: "ts_us", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		{Name: "ts_ns", Type: utc(arrow.Nanosecond), Nullable: true},
		{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	}, nil)
	rng := rand.New(rand.NewPCG(11, 12))
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range rows {
		null := func() bool { return rng.IntN(7) == 0 }
		app := func(f int, fn func()) {
			if schema.Field(f).Nullable && null() {
				b.Field(f).AppendNull()
				return
			}
			fn()
		}
		app(0, func() { b.Field(0).(*array.Int8Builder).Append(int8(rng.IntN(256) - 128)) })
		app(1, func() { b.Field(1).(*array.Int16Builder).Append(int16(rng.IntN(65536) - 32768)) })
		app(2, func() { b.Field(2).(*array.Int32Builder).Append(rng.Int32() - 1<<30) })
		app(3, func() { b.Field(3).(*array.Int64Builder).Append(rng.Int64() - 1<<62) })
		app(4, func() { b.Field(4).(*array.Uint8Builder).Append(uint8(rng.IntN(256))) })
		app(5, func() { b.Field(5).(*array.Uint16Builder).Append(uint16(rng.IntN(20))) })
		app(6, func() { b.Field(6).(*array.Uint32Builder).Append(rng.Uint32()) })
		app(7, func() { b.Field(7).(*array.Float32Builder).Append(float32(rng.NormFloat64())) })
		app(8, func() {
			x := []float64{math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), float64(rng.IntN(10))}
			if k := rng.IntN(20); k < len(x) {
				b.Field(8).(*array.Float64Builder).Append(x[k])
			} else {
				b.Field(8).(*array.Float64Builder).Append(rng.ExpFloat64())
			}
		})
		app(9, func() { b.Field(9).(*array.Float64Builder).Append(math.Round(rng.NormFloat64()*100) / 100) })
		app(10, func() {
			b.Field(10).(*array.StringBuilder).Append([]string{"red", "green", "blue", "é", ""}[rng.IntN(5)])
		})
		app(11, func() { b.Field(11).(*array.StringBuilder).Append(fmt.Sprintf("row-%06d-%x", i, rng.Uint32())) })
		app(12, func() { b.Field(12).(*array.TimestampBuilder).Append(arrow.Timestamp(rng.Int64N(4e9) - 2e9)) })
		app(13, func() { b.Field(13).(*array.TimestampBuilder).Append(arrow.Timestamp(rng.Int64N(4e12) - 2e12)) })
		app(14, func() { b.Field(14).(*array.TimestampBuilder).Append(arrow.Timestamp(rng.Int64N(100))) })
		app(15, func() { b.Field(15).(*array.TimestampBuilder).Append(arrow.Timestamp(rng.Int64() - 1<<62)) })
		app(16, func() { b.Field(16).(*array.BooleanBuilder).Append(rng.IntN(2) == 0) })
		app(17, func() { b.Field(17).(*array.Date32Builder).Append(arrow.Date32(rng.IntN(40000) - 20000)) })
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return parquetBytes(t, rec, props)
}

// decodeAll decodes every chunk of data with the page decoder on or off,
// by DecodeDictionaries (dict) or DecodeColumns, to schema (nil: the
// inferred one).
func decodeAll(t *testing.T, data []byte, chunkRows int, pages, dict bool, schema *arrow.Schema) []arrow.RecordBatch {
	t.Helper()
	d := &parquetDecoder{in: memInput("p.parquet", data), rows: chunkRows, lim: Limits{}.limits(), pqarrowOnly: !pages}
	chunks, inferred := parquetChunks(t, d)
	if schema == nil {
		schema = inferred
	}
	var out []arrow.RecordBatch
	for _, c := range chunks {
		var rec arrow.RecordBatch
		var err error
		if dict {
			rec, err = d.DecodeDictionaries(c, schema, nil, nil)
		} else {
			rec, err = d.DecodeColumns(c, schema, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}

// TestParquetPagesMatchPqarrow reads files written with dictionaries or
// without, data pages v1 and v2, small pages, dictionaries that fall back
// to plain pages, and each codec, through the page decoder and through
// pqarrow alone: the batches hold the same values with the same types, and
// the page decoder did read the columns it qualifies for.
func TestParquetPagesMatchPqarrow(t *testing.T) {
	const rows = 2500
	variants := map[string]*parquet.WriterProperties{
		"dict-v1-snappy": parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy),
			parquet.WithDictionaryDefault(true), parquet.WithMaxRowGroupLength(1000), parquet.WithDataPageVersion(parquet.DataPageV1)),
		"plain-v2-zstd": parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd),
			parquet.WithDictionaryDefault(false), parquet.WithMaxRowGroupLength(700), parquet.WithDataPageVersion(parquet.DataPageV2)),
		"dict-v2-small-pages-fallback": parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Uncompressed),
			parquet.WithDictionaryDefault(true), parquet.WithDictionaryPageSizeLimit(512), parquet.WithDataPageSize(300),
			parquet.WithMaxRowGroupLength(1200), parquet.WithDataPageVersion(parquet.DataPageV2)),
		"dict-v1-small-pages-fallback": parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Gzip),
			parquet.WithDictionaryDefault(true), parquet.WithDictionaryPageSizeLimit(1024), parquet.WithDataPageSize(200),
			parquet.WithMaxRowGroupLength(rows), parquet.WithDataPageVersion(parquet.DataPageV1)),
	}
	for name, props := range variants {
		data := pagesParquet(t, rows, props)
		for _, chunkRows := range []int{1000, 333, 64} {
			for _, dict := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/chunk=%d/dict=%v", name, chunkRows, dict), func(t *testing.T) {
					want := decodeAll(t, data, chunkRows, false, dict, nil)
					got := decodeAll(t, data, chunkRows, true, dict, nil)
					sameBatches(t, want, got)
				})
			}
		}
	}

	// Integers read as float64 (a schema unified with a file where they
	// are floats) convert as castColumn converts them.
	data := pagesParquet(t, 900, variants["dict-v1-snappy"])
	d := &parquetDecoder{in: memInput("p.parquet", data), rows: 300, lim: Limits{}.limits()}
	_, inferred := parquetChunks(t, d)
	fields := inferred.Fields()
	for i, f := range fields {
		if f.Type.ID() == arrow.INT64 {
			fields[i].Type = arrow.PrimitiveTypes.Float64
		}
	}
	asFloats := arrow.NewSchema(fields, nil)
	sameBatches(t, decodeAll(t, data, 300, false, false, asFloats), decodeAll(t, data, 300, true, false, asFloats))

	// The columns of the types above take the page decoder; booleans and
	// dates do not.
	chunks, schema := parquetChunks(t, d)
	g := chunks[0].payload.(*parquetChunk).rg
	for i, f := range schema.Fields() {
		pc, err := g.pagesColumn(i, f.Type, false)
		if err != nil {
			t.Fatal(err)
		}
		if want := f.Name != "flag" && f.Name != "day"; (pc != nil) != want {
			t.Errorf("column %s: page decoder used %v, want %v", f.Name, pc != nil, want)
		}
		if pc != nil {
			pc.release()
		}
	}
}

// sameBatches checks that two decodes gave the same columns: equal types,
// and equal values (a dictionary compared by the values it stands for).
func sameBatches(t *testing.T, want, got []arrow.RecordBatch) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d batches, want %d", len(got), len(want))
	}
	for b := range want {
		w, g := want[b], got[b]
		if !w.Schema().Equal(g.Schema()) {
			t.Fatalf("batch %d: schema %s, want %s", b, g.Schema(), w.Schema())
		}
		for c := range int(w.NumCols()) {
			wa, ga := expand(t, w.Column(c)), expand(t, g.Column(c))
			if !array.Equal(wa, ga) {
				t.Errorf("batch %d column %s: got %v, want %v", b, w.ColumnName(c), ga, wa)
			}
			if wa.NullN() != ga.NullN() {
				t.Errorf("batch %d column %s: %d nulls, want %d", b, w.ColumnName(c), ga.NullN(), wa.NullN())
			}
			wa.Release()
			ga.Release()
		}
		w.Release()
		g.Release()
	}
}

// expand gives a dictionary array's values as strings, other arrays as
// they are.
func expand(t *testing.T, a arrow.Array) arrow.Array {
	t.Helper()
	d, ok := a.(*array.Dictionary)
	if !ok {
		a.Retain()
		return a
	}
	out, err := takeDictionary(d.Dictionary(), d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Reading every row group of a file through the page decoder hands each
// chunk's page buffers back to the file's pool, the last data page's too
// once its column is read: no buffer is left held or marked, and the
// buffers freed serve the later row groups, so the pool ends with some.
func TestParquetPagesReturnBuffers(t *testing.T) {
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithDictionaryDefault(true), parquet.WithMaxRowGroupLength(1000), parquet.WithDataPageVersion(parquet.DataPageV1))
	data := pagesParquet(t, 5000, props)
	want := decodeAll(t, data, 500, false, false, nil)
	d := &parquetDecoder{in: memInput("p.parquet", data), rows: 500, lim: Limits{}.limits()}
	chunks, schema := parquetChunks(t, d)
	var got []arrow.RecordBatch
	for _, c := range chunks {
		rec, err := d.DecodeColumns(c, schema, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec)
	}
	sameBatches(t, want, got)
	pool := chunks[0].payload.(*parquetChunk).file.pool
	if pool == nil {
		t.Fatal("the page decoder has no pool")
	}
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if len(pool.kept) != 0 || len(pool.held) != 0 {
		t.Errorf("%d pages still marked kept and %d buffers held after every column was read", len(pool.kept), len(pool.held))
	}
	if pool.freeBytes == 0 {
		t.Error("no buffer came back to the pool")
	}
}
