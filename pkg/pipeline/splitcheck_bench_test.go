package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/split"
)

// BenchmarkCheckSplits times the split check of a build split 80/10/10 by
// id (MLDATA_BENCH_ROWS rows, default 1,000,000, written once per run as
// Parquet): the mixed table of the CLI benchmarks — integers, floats with
// nulls, strings of 20 and 1,000 distinct values, a flag and the id.
func BenchmarkCheckSplits(b *testing.B) {
	rows := 1_000_000
	if v := os.Getenv("MLDATA_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("MLDATA_BENCH_ROWS=%q: want a positive row count", v)
		}
		rows = n
	}
	src, out := b.TempDir(), b.TempDir()
	f, err := os.Create(filepath.Join(src, "data.csv"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "id,i_small,i_wide,f_normal,f_nulls,cat_low,cat_med,flag")
	x := uint64(88172645463325252)
	next := func() uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
	for i := range rows {
		r := next()
		fnulls := ""
		if r%10 != 0 {
			fnulls = strconv.FormatFloat(float64(r>>20%100000)/7, 'g', -1, 64)
		}
		fmt.Fprintf(w, "%d,%d,%d,%g,%s,c%d,m%d,%t\n", i, r%50, int64(next()>>24)-1<<39,
			float64(int64(next()>>11))/(1<<53)*6-3, fnulls, r>>8%20, r>>16%1000, r&1 == 1)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	spec, err := split.Parse("train=0.8,validation=0.1,test=0.1")
	if err != nil {
		b.Fatal(err)
	}
	spec.Key = "id"
	cfg := Config{Source: src, Output: out, OutputFormat: format.Parquet, Split: spec, Workers: 2,
		SplitCheck: SplitCheck{Disabled: true}}
	res, err := Build(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	m := res.Manifest
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	n := 0
	for b.Loop() {
		n++
		s, err := CheckSplits(context.Background(), out, m, SplitCheck{}, 2, format.Options{}, "")
		if err != nil {
			b.Fatal(err)
		}
		if s.LeakedKeys != 0 || len(s.Similarity.Columns) != 2*7 {
			b.Fatalf("split check %+v, want no leaks and 7 columns compared per other split", s)
		}
	}
	// CPU seconds beside wall time: on a shared machine they vary less.
	b.ReportMetric((cpuTime(b)-cpu0).Seconds()/float64(n), "cpu-s/op")
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
