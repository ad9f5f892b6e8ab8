package format

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// benchTable is the mixed table the product is benchmarked on (see
// hack/gendata): ints, floats with nulls, low- and high-cardinality strings,
// bools, timestamps and quoted free text.
func benchTable(rows int, kind Kind) []byte {
	rng := rand.New(rand.NewPCG(7, 11))
	countries := []string{"US", "DE", "FR", "GB", "JP", "CN", "IN", "BR", "CA", "AU", "ES", "IT", "NL", "SE", "PL", "MX", "KR", "RU", "ZA", "NG"}
	notes := []string{"ok", "late delivery", "refund, partial", `said "great"`, "n/a"}
	var b bytes.Buffer
	if kind == CSV {
		b.WriteString("id,user_id,amount,score,country,session,is_active,ts,note\n")
	}
	for i := 1; i <= rows; i++ {
		u := rng.Float64()
		amount := fmt.Sprintf("%.2f", 5+995*u*u)
		if rng.IntN(20) == 0 {
			amount = ""
		}
		session := fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff)
		ts := fmt.Sprintf("2024-%02d-%02dT%02d:%02d:%02dZ", 1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60))
		note := notes[rng.IntN(len(notes))]
		if kind == CSV {
			q := note
			if bytes.ContainsAny([]byte(note), ",\"") {
				q = `"` + string(bytes.ReplaceAll([]byte(note), []byte(`"`), []byte(`""`))) + `"`
			}
			fmt.Fprintf(&b, "%d,%d,%s,%.6f,%s,%s,%v,%s,%s\n", i, 1+int(100000*u*u*u), amount, rng.Float64(), countries[rng.IntN(len(countries))], session, rng.IntN(10) < 7, ts, q)
			continue
		}
		if amount == "" {
			amount = "null"
		}
		fmt.Fprintf(&b, `{"id":%d,"user_id":%d,"amount":%s,"score":%.6f,"country":%q,"session":%q,"is_active":%v,"ts":%q,"note":%q}`+"\n",
			i, 1+int(100000*u*u*u), amount, rng.Float64(), countries[rng.IntN(len(countries))], session, rng.IntN(10) < 7, ts, note)
	}
	return b.Bytes()
}

// plainInput serves data without the small-read wrapper of memInput.
func plainInput(name string, data []byte) Input {
	return Input{Name: name, Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, ReaderAt: bytes.NewReader(data), Size: int64(len(data))}
}

var (
	benchOnce sync.Once
	benchCSV  []byte
	benchJSON []byte
)

func benchData() ([]byte, []byte) {
	benchOnce.Do(func() {
		benchCSV = benchTable(200_000, CSV)
		benchJSON = benchTable(200_000, JSONL)
	})
	return benchCSV, benchJSON
}

// benchDecode runs the three reading steps over a whole file on one
// goroutine, so that the figure is per core.
func benchDecode(b *testing.B, name string, data []byte) {
	opt := Options{InferTimestamps: true}
	d, err := NewDecoder(plainInput(name, data), opt)
	if err != nil {
		b.Fatal(err)
	}
	var chunks []*Chunk
	if err := d.Chunks(context.Background(), func(c *Chunk) error { chunks = append(chunks, c); return nil }); err != nil {
		b.Fatal(err)
	}
	var ev Evidence
	for _, c := range chunks {
		e, err := d.Infer(c)
		if err != nil {
			b.Fatal(err)
		}
		if err := ev.Merge(e); err != nil {
			b.Fatal(err)
		}
	}
	schema := Finalize(ev.Schema())
	b.Run("chunks", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := d.Chunks(context.Background(), func(*Chunk) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("infer", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			for _, c := range chunks {
				if _, err := d.Infer(c); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			for _, c := range chunks {
				rec, err := d.Decode(c, schema)
				if err != nil {
					b.Fatal(err)
				}
				rec.Release()
			}
		}
	})
}

func BenchmarkDecodeCSV(b *testing.B) {
	data, _ := benchData()
	benchDecode(b, "bench.csv", data)
}

func BenchmarkDecodeJSONL(b *testing.B) {
	_, data := benchData()
	benchDecode(b, "bench.jsonl", data)
}

// writeBenchTable is the 12-column table the Parquet writer is benchmarked
// on: sequential and skewed ints, floats with and without nulls, strings of
// 20, 1,000 and ~all-distinct values, a bool and a timestamp, in batches of
// DefaultChunkRows rows as the pipeline hands them to a writer.
func writeBenchTable(rows int) (*arrow.Schema, []arrow.RecordBatch) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "qty", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "f_normal", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "f_lognormal", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "cat_small", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "cat_med", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "session", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "is_active", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "ts", Type: TimestampType, Nullable: true},
	}, nil)
	rng := rand.New(rand.NewPCG(3, 5))
	small := make([]string, 20)
	for i := range small {
		small[i] = fmt.Sprintf("country-%02d", i)
	}
	med := make([]string, 1000)
	for i := range med {
		med[i] = fmt.Sprintf("category-%04d", i)
	}
	notes := []string{"ok", "late delivery", "refund, partial", `said "great"`, "n/a"}
	var recs []arrow.RecordBatch
	for start := 0; start < rows; start += DefaultChunkRows {
		n := min(DefaultChunkRows, rows-start)
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := start; i < start+n; i++ {
			u := rng.Float64()
			b.Field(0).(*array.Int64Builder).Append(int64(i + 1))
			b.Field(1).(*array.Int64Builder).Append(1 + int64(100000*u*u*u))
			b.Field(2).(*array.Int64Builder).Append(int64(rng.IntN(100)))
			b.Field(3).(*array.Float64Builder).Append(rng.NormFloat64())
			if rng.IntN(20) == 0 {
				b.Field(4).(*array.Float64Builder).AppendNull()
			} else {
				b.Field(4).(*array.Float64Builder).Append(math.Exp(rng.NormFloat64()))
			}
			if rng.IntN(20) == 0 {
				b.Field(5).(*array.Float64Builder).AppendNull()
			} else {
				b.Field(5).(*array.Float64Builder).Append(math.Round((5+995*u*u)*100) / 100)
			}
			b.Field(6).(*array.StringBuilder).Append(small[int(20*u*u)])
			b.Field(7).(*array.StringBuilder).Append(med[rng.IntN(1000)])
			b.Field(8).(*array.StringBuilder).Append(fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff))
			b.Field(9).(*array.StringBuilder).Append(notes[rng.IntN(len(notes))])
			b.Field(10).(*array.BooleanBuilder).Append(rng.IntN(10) < 7)
			b.Field(11).(*array.TimestampBuilder).Append(arrow.Timestamp(1704067200_000000 + rng.Int64N(366*86400)*1_000_000))
		}
		recs = append(recs, b.NewRecordBatch())
		b.Release()
	}
	return schema, recs
}

// BenchmarkParquetWrite encodes 1 Mi rows of the 12-column table into one
// Parquet file per iteration, as a build writes one part.
func BenchmarkParquetWrite(b *testing.B) {
	schema, recs := writeBenchTable(1 << 20)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	for _, c := range []Compression{Zstd, Snappy} {
		b.Run(string(c), func(b *testing.B) {
			b.ReportAllocs()
			var size int64
			for b.Loop() {
				cw := &countWriter{}
				w, err := NewWriter(cw, schema, Parquet, c)
				if err != nil {
					b.Fatal(err)
				}
				for _, rec := range recs {
					if err := w.Write(rec); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				size = cw.n
			}
			b.ReportMetric(float64(size)/(1<<20), "MiB/file")
		})
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
