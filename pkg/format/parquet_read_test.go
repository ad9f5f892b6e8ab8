package format

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// wideParquet writes a 12-column table as other tools write Parquet:
// integers of several widths, floats with nulls, strings of 20, 1,000 and
// about `rows` distinct values (dictionary-encoded, the last falling back
// to plain pages), a bool and a millisecond timestamp, snappy-compressed,
// in row groups of rowGroup rows and data pages of pageSize bytes.
func wideParquet(t testing.TB, rows, rowGroup int, pageSize int64) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "qty", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "f_normal", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "f_lognormal", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "cat_small", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "cat_med", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "session", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	rng := rand.New(rand.NewPCG(3, 5))
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 0; i < rows; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.Int32Builder).Append(int32(1 + rng.IntN(100_000)))
		if i%17 == 5 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Int16Builder).Append(int16(rng.IntN(50)))
		}
		if rng.IntN(20) == 0 {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.Float64Builder).Append(math.Round((5+995*rng.Float64())*100) / 100)
		}
		b.Field(4).(*array.Float64Builder).Append(rng.NormFloat64())
		if rng.IntN(10) == 0 {
			b.Field(5).AppendNull()
		} else {
			b.Field(5).(*array.Float32Builder).Append(float32(math.Exp(rng.NormFloat64())))
		}
		b.Field(6).(*array.StringBuilder).Append(fmt.Sprintf("c%02d", int(rng.ExpFloat64()*4)%20))
		if i%31 == 7 {
			b.Field(7).AppendNull()
		} else {
			b.Field(7).(*array.StringBuilder).Append(fmt.Sprintf("city-%04d", rng.IntN(1000)))
		}
		b.Field(8).(*array.StringBuilder).Append(fmt.Sprintf("%08x-%04x-%012x", rng.Uint32(), i%65536, rng.Uint64()&0xffffffffffff))
		b.Field(9).(*array.BooleanBuilder).Append(rng.IntN(10) < 7)
		b.Field(10).(*array.TimestampBuilder).Append(arrow.Timestamp(1_704_067_200_000 + rng.Int64N(366*86_400_000)))
		b.Field(11).(*array.Float64Builder).Append(rng.Float64())
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithDictionaryDefault(true), parquet.WithStats(true),
		parquet.WithMaxRowGroupLength(int64(rowGroup)), parquet.WithDataPageSize(pageSize))
	return parquetBytes(t, rec, props)
}

// readLog records the byte ranges read from a file.
type readLog struct {
	io.ReaderAt
	mu     sync.Mutex
	ranges [][2]int64
}

func (r *readLog) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	r.ranges = append(r.ranges, [2]int64{off, off + int64(len(p))})
	r.mu.Unlock()
	return r.ReaderAt.ReadAt(p, off)
}

func (r *readLog) take() [][2]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ranges
	r.ranges = nil
	return out
}

// columnChunkRanges returns, per top-level column, the byte ranges of its
// column chunks in the file.
func columnChunkRanges(t testing.TB, data []byte) map[string][][2]int64 {
	t.Helper()
	r, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][][2]int64{}
	for rg := 0; rg < r.NumRowGroups(); rg++ {
		rgm := r.MetaData().RowGroup(rg)
		for c := 0; c < rgm.NumColumns(); c++ {
			cc, err := rgm.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			start := cc.DataPageOffset()
			if cc.HasDictionaryPage() && cc.DictionaryPageOffset() < start {
				start = cc.DictionaryPageOffset()
			}
			name := cc.PathInSchema()[0]
			out[name] = append(out[name], [2]int64{start, start + cc.TotalCompressedSize()})
		}
	}
	return out
}

func overlaps(a, b [2]int64) bool { return a[0] < b[1] && b[0] < a[1] }

// parquetChunks reads a Parquet file's chunks and their schema.
func parquetChunks(t testing.TB, d Decoder) ([]*Chunk, *arrow.Schema) {
	t.Helper()
	var chunks []*Chunk
	ev := &Evidence{}
	err := d.Chunks(context.Background(), func(c *Chunk) error {
		chunks = append(chunks, c)
		e, err := d.Infer(c)
		if err != nil {
			return err
		}
		return ev.Merge(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	return chunks, Finalize(ev.Schema())
}

// TestParquetProjectionReadsOnlyAskedColumns checks that DecodeColumns
// gives the same values as a full Decode, and that it reads no byte of the
// column chunks it was not asked for — and no byte of the file twice, so
// no page is decompressed twice.
func TestParquetProjectionReadsOnlyAskedColumns(t *testing.T) {
	data := wideParquet(t, 1000, 300, 512)
	chunkRanges := columnChunkRanges(t, data)
	full := mustRead(t, memInput("w.parquet", data), Options{ChunkRows: 64})
	for _, cols := range [][]int{{3, 7, 4}, {8}, {0, 11}, {}} {
		log := &readLog{ReaderAt: bytes.NewReader(data)}
		d, err := NewDecoder(Input{Name: "w.parquet", ReaderAt: log, Size: int64(len(data))}, Options{ChunkRows: 64})
		if err != nil {
			t.Fatal(err)
		}
		chunks, schema := parquetChunks(t, d)
		log.take() // the footer
		var rows [][]any
		for _, c := range chunks {
			rec, err := d.(ColumnDecoder).DecodeColumns(c, schema, cols)
			if err != nil {
				t.Fatal(err)
			}
			if int(rec.NumRows()) != c.Rows || int(rec.NumCols()) != len(cols) {
				t.Fatalf("cols %v chunk %d: %d rows × %d columns, want %d × %d", cols, c.Seq, rec.NumRows(), rec.NumCols(), c.Rows, len(cols))
			}
			for j, i := range cols {
				if rec.ColumnName(j) != schema.Field(i).Name {
					t.Fatalf("cols %v: column %d is %q, want %q", cols, j, rec.ColumnName(j), schema.Field(i).Name)
				}
			}
			rows = append(rows, recordRows(t, rec)...)
			rec.Release()
		}
		want := make([][]any, len(full.rows))
		for r, row := range full.rows {
			want[r] = make([]any, len(cols))
			for j, i := range cols {
				want[r][j] = row[i]
			}
		}
		diff(t, fmt.Sprintf("values of columns %v", cols), want, rows)

		asked := map[string]bool{}
		for _, i := range cols {
			asked[schema.Field(i).Name] = true
		}
		reads := log.take()
		if len(cols) == 0 && len(reads) > 0 {
			t.Errorf("no columns asked, but %d reads", len(reads))
		}
		for k, rd := range reads {
			for name, rs := range chunkRanges {
				for _, cr := range rs {
					if !asked[name] && overlaps(rd, cr) {
						t.Errorf("cols %v: read %v touches column chunk %v of %q, which was not asked for", cols, rd, cr, name)
					}
				}
			}
			for _, prev := range reads[:k] {
				if overlaps(rd, prev) {
					t.Errorf("cols %v: bytes %v read twice (also in %v)", cols, rd, prev)
				}
			}
		}
	}
}

// TestParquetDecodeInAnyOrder decodes the chunks of a file with several row
// groups, each cut into slices, in reverse, shuffled and concurrently: every
// order gives each chunk the same rows as decoding them in file order.
func TestParquetDecodeInAnyOrder(t *testing.T) {
	data := wideParquet(t, 2000, 450, 1024)
	want := mustRead(t, memInput("w.parquet", data), Options{ChunkRows: 100})
	if len(want.chunks) != 4*5+2 {
		t.Fatalf("%d chunks, want 4 row groups of 5 slices and one of 2", len(want.chunks))
	}
	orders := map[string]func([]int){
		"reverse":  slices.Reverse[[]int],
		"shuffled": func(o []int) { rand.New(rand.NewPCG(1, 2)).Shuffle(len(o), func(i, j int) { o[i], o[j] = o[j], o[i] }) },
	}
	decodeAll := func(d Decoder, chunks []*Chunk, schema *arrow.Schema, order []int, workers int) [][][]any {
		out := make([][][]any, len(chunks))
		var wg sync.WaitGroup
		next := make(chan int)
		errs := make(chan error, len(chunks))
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range next {
					rec, err := d.Decode(chunks[k], schema)
					if err != nil {
						errs <- err
						continue
					}
					out[k] = recordRows(t, rec)
					rec.Release()
				}
			}()
		}
		for _, k := range order {
			next <- k
		}
		close(next)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		return out
	}
	check := func(name string, got [][][]any) {
		var rows [][]any
		for _, r := range got {
			rows = append(rows, r...)
		}
		diff(t, name, want.rows, rows)
	}
	for name, shuffle := range orders {
		d, _ := NewDecoder(memInput("w.parquet", data), Options{ChunkRows: 100})
		chunks, schema := parquetChunks(t, d)
		order := make([]int, len(chunks))
		for i := range order {
			order[i] = i
		}
		shuffle(order)
		check(name, decodeAll(d, chunks, schema, order, 1))
	}
	for _, workers := range []int{2, 3, 8} {
		d, _ := NewDecoder(memInput("w.parquet", data), Options{ChunkRows: 100})
		chunks, schema := parquetChunks(t, d)
		order := make([]int, len(chunks))
		for i := range order {
			order[i] = i
		}
		check(fmt.Sprintf("%d workers", workers), decodeAll(d, chunks, schema, order, workers))
	}
}

func TestProject(t *testing.T) {
	md := arrow.NewMetadata([]string{"k"}, []string{"v"})
	s := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}, {Name: "b", Type: arrow.BinaryTypes.String}, {Name: "c", Type: arrow.FixedWidthTypes.Boolean}}, &md)
	if p, err := Project(s, nil); err != nil || p != s {
		t.Errorf("Project(nil) = %v, %v; want the schema itself", p, err)
	}
	p, err := Project(s, []int{2, 0})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "projected", []string{"c:bool", "a:int64"}, typeNames(p))
	if v, _ := p.Metadata().GetValue("k"); v != "v" {
		t.Errorf("metadata lost: %v", p.Metadata())
	}
	for _, bad := range [][]int{{3}, {-1}, {1, 1}} {
		if _, err := Project(s, bad); err == nil {
			t.Errorf("Project(%v) did not fail", bad)
		}
	}
}

// A chunk decoded a second time reads its slice again, with the same values.
func TestParquetDecodeTwice(t *testing.T) {
	data := wideParquet(t, 700, 300, 512)
	d, _ := NewDecoder(memInput("w.parquet", data), Options{ChunkRows: 64})
	chunks, schema := parquetChunks(t, d)
	var first [][][]any
	for _, c := range chunks {
		rec, err := d.Decode(c, schema)
		if err != nil {
			t.Fatal(err)
		}
		first = append(first, recordRows(t, rec))
		rec.Release()
	}
	for _, k := range []int{0, 3, 4, 5, len(chunks) - 1} {
		rec, err := d.Decode(chunks[k], schema)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, fmt.Sprintf("chunk %d decoded again", k), first[k], recordRows(t, rec))
		rec.Release()
	}
}
