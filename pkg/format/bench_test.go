package format

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
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

func BenchmarkWriteParquet(b *testing.B) {
	data, _ := benchData()
	d, err := NewDecoder(plainInput("bench.csv", data), Options{InferTimestamps: true})
	if err != nil {
		b.Fatal(err)
	}
	var chunks []*Chunk
	var ev Evidence
	err = d.Chunks(context.Background(), func(c *Chunk) error {
		chunks = append(chunks, c)
		e, err := d.Infer(c)
		if err != nil {
			return err
		}
		return ev.Merge(e)
	})
	if err != nil {
		b.Fatal(err)
	}
	schema := Finalize(ev.Schema())
	var recs []arrow.RecordBatch
	for _, c := range chunks {
		rec, err := d.Decode(c, schema)
		if err != nil {
			b.Fatal(err)
		}
		defer rec.Release()
		recs = append(recs, rec)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w, err := NewWriter(io.Discard, schema, Parquet, Snappy)
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
	}
}
