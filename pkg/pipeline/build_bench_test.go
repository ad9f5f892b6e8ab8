package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/split"
)

// writeBenchCSV writes rows of a mixed table like the benchmark's (ints,
// floats with nulls, strings of 20, 1,000 and about rows distinct values,
// quoted free text, bools, timestamps) and returns its path and size.
func writeBenchCSV(b *testing.B, dir string, rows int) (string, int64) {
	b.Helper()
	p := filepath.Join(dir, "bench.csv")
	fh, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(fh)
	rng := rand.New(rand.NewPCG(3, 5))
	notes := []string{"ok", "late delivery", `"refund, partial"`, `"said ""great"""`, "n/a"}
	fmt.Fprintln(w, "id,user_id,amount,score,country,city,session,note,is_active,ts")
	for i := 1; i <= rows; i++ {
		u := rng.Float64()
		amount := fmt.Sprintf("%.2f", 5+995*u*u)
		if rng.IntN(20) == 0 {
			amount = ""
		}
		fmt.Fprintf(w, "%d,%d,%s,%.6f,c%02d,city%04d,%016x,%s,%v,2024-%02d-%02dT%02d:%02d:%02dZ\n",
			i, 1+int(100000*u*u*u), amount, rng.Float64(), rng.IntN(20), rng.IntN(1000), rng.Uint64(),
			notes[rng.IntN(len(notes))], rng.IntN(10) < 7,
			1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60))
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	st, err := fh.Stat()
	if err != nil {
		b.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		b.Fatal(err)
	}
	return p, st.Size()
}

// BenchmarkBuild builds one CSV file of 200,000 rows into zstd Parquet with
// two workers, as `mldata build --split all=1 --compression zstd` does:
// inference (with the file's SHA-256), decoding, writing and publishing.
func BenchmarkBuild(b *testing.B) {
	dir := b.TempDir()
	src, size := writeBenchCSV(b, dir, 200_000)
	spec, err := split.Parse("all=1")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	var out int64
	for b.Loop() {
		o := b.TempDir()
		res, err := Build(context.Background(), Config{Source: src, Output: o, OutputFormat: format.Parquet,
			Compression: format.Zstd, Split: spec, Workers: 2})
		if err != nil {
			b.Fatal(err)
		}
		if res.Manifest.Rows() != 200_000 {
			b.Fatalf("built %d rows, want 200000", res.Manifest.Rows())
		}
		out = 0
		for _, s := range res.Manifest.Splits {
			out += s.Bytes
		}
	}
	b.ReportMetric(float64(out)/(1<<20), "MiB-out")
}
