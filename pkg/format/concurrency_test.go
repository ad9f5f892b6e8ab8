package format

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/snappy"
)

// Infer and Decode run concurrently on the chunks of one decoder (the
// pipeline's use); results must equal a sequential read.
func TestConcurrentInferAndDecode(t *testing.T) {
	csvData := mixedCSV(3000)
	pq, _ := writeParquet(t, memInput("m.csv", csvData), Options{ChunkRows: 700, InferTimestamps: true}, Snappy)
	inputs := []Input{
		memInput("m.csv", csvData),
		memInput("b.jsonl", benchTable(3000, JSONL)),
		memInput("m.parquet", pq),
	}
	for _, in := range inputs {
		t.Run(in.Name, func(t *testing.T) {
			opt := Options{ChunkRows: 250, InferTimestamps: true}
			want := mustRead(t, in, opt)
			d, err := NewDecoder(in, opt)
			if err != nil {
				t.Fatal(err)
			}
			var chunks []*Chunk
			if err := d.Chunks(context.Background(), func(c *Chunk) error { chunks = append(chunks, c); return nil }); err != nil {
				t.Fatal(err)
			}
			evs := make([]*Evidence, len(chunks))
			var wg sync.WaitGroup
			errs := make(chan error, 2*len(chunks))
			for i, c := range chunks {
				wg.Go(func() {
					ev, err := d.Infer(c)
					evs[i] = ev
					if err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			var ev Evidence
			for _, e := range evs {
				if err := ev.Merge(e); err != nil {
					t.Fatal(err)
				}
			}
			schema := Finalize(ev.Schema())
			diff(t, "schema", typeNames(want.schema), typeNames(schema))
			rows := make([][][]any, len(chunks))
			for i, c := range chunks {
				wg.Go(func() {
					rec, err := d.Decode(c, schema)
					if err != nil {
						errs <- err
						return
					}
					rows[i] = recordRows(t, rec)
					rec.Release()
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			var got [][]any
			for _, r := range rows {
				got = append(got, r...)
			}
			if !cmpRows(want.rows, got) {
				t.Error("concurrent read differs from the sequential read")
			}
		})
	}
}

func TestChunksStopsOnEmitErrorAndCancel(t *testing.T) {
	stop := errors.New("stop")
	for _, in := range []Input{memInput("m.csv", mixedCSV(100)), memInput("b.jsonl", benchTable(100, JSONL))} {
		d, err := NewDecoder(in, Options{ChunkRows: 10})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		err = d.Chunks(context.Background(), func(*Chunk) error {
			n++
			if n == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 3 {
			t.Errorf("%s: emit error: got %v after %d chunks", in.Name, err, n)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := d.Chunks(ctx, func(*Chunk) error { return nil }); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: canceled context: %v", in.Name, err)
		}
	}
	pq, _ := writeParquet(t, memInput("m.csv", mixedCSV(100)), Options{}, Snappy)
	d, _ := NewDecoder(memInput("m.parquet", pq), Options{ChunkRows: 10})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Chunks(ctx, func(*Chunk) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("parquet: canceled context: %v", err)
	}
}

func TestOpenFailure(t *testing.T) {
	boom := errors.New("boom")
	in := Input{Name: "x.csv", Open: func(context.Context) (io.ReadCloser, error) { return nil, boom }}
	if _, err := read(t, in, Options{}); !errors.Is(err, boom) {
		t.Errorf("open error: %v", err)
	}
	if _, err := read(t, Input{Name: "x.csv"}, Options{}); err == nil {
		t.Error("an input without Open was read")
	}
}

// Pages compressed by the faster snappy encoder are standard snappy.
func TestFastSnappyIsStandardSnappy(t *testing.T) {
	codec, err := compress.GetCodec(compress.Codecs.Snappy)
	if err != nil {
		t.Fatal(err)
	}
	src := []byte(fmt.Sprint(benchTable(200, CSV)))
	for _, enc := range [][]byte{codec.Encode(nil, src), codec.EncodeLevel(nil, src, 3)} {
		got, err := snappy.Decode(nil, enc)
		if err != nil || string(got) != string(src) {
			t.Fatalf("standard snappy cannot decode the page: %v", err)
		}
		back, err := compress.Decode(codec, nil, enc)
		if err != nil || string(back) != string(src) {
			t.Fatalf("codec round trip: %v", err)
		}
	}
}
