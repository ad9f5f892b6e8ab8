package dataset

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/mldata-io/mldata/internal/testservers"
	"github.com/mldata-io/mldata/pkg/storage"
)

// Against a real S3 server (versitygw): Parquet files that are only read
// (SkipHash) are read with ranged requests and never copied to scratch;
// hashed ones and text files are spooled there once, and Close removes the
// copies. Both read the same rows.
func TestRemoteParquetReadInPlace(t *testing.T) {
	srv := testservers.S3(t)
	testservers.SetEnv(t, srv)
	ctx := context.Background()
	if err := srv.CreateBucket(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	out, err := storage.OpenOutput(ctx, srv.URI("data", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	const parts = 5
	var wantRows, wantSum int64
	for i := 0; i < parts; i++ {
		if err := out.WriteFile(ctx, fmt.Sprintf("pq/part-%d.parquet", i), partBytes(t, i)); err != nil {
			t.Fatal(err)
		}
		for k := 0; k < manyPartRows(i); k++ {
			wantRows++
			wantSum += int64(i*10 + k)
		}
	}
	if err := out.WriteFile(ctx, "csv/a.csv", []byte("id,name\n1,x\n2,y\n")); err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	copies := func() int {
		ents, err := os.ReadDir(scratch)
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	for _, c := range []struct {
		prefix    string
		skipHash  bool
		rows, sum int64
		copies    int // scratch copies while the dataset is open
		hashed    bool
	}{
		{"pq/", true, wantRows, wantSum, 0, false},
		{"pq/", false, wantRows, wantSum, parts, true},
		{"csv/", true, 2, 3, 1, true}, // the spool hashes on the way
	} {
		d, err := Open(ctx, srv.URI("data", c.prefix), Options{SkipHash: c.skipHash, ScratchDir: scratch, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		var rows, sum atomic.Int64
		err = d.Scan(ctx, 2, func(_ int, rec arrow.RecordBatch) error {
			if n := copies(); n != c.copies {
				t.Errorf("%s skip hash %v: %d scratch copies during the scan, want %d", c.prefix, c.skipHash, n, c.copies)
			}
			rows.Add(rec.NumRows())
			for r := 0; r < int(rec.NumRows()); r++ {
				var v int64
				fmt.Sscan(rec.Column(0).ValueStr(r), &v)
				sum.Add(v)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if d.Rows != c.rows || rows.Load() != c.rows || sum.Load() != c.sum {
			t.Errorf("%s skip hash %v: %d rows inspected, %d scanned with sum(id) %d; want %d rows, sum %d",
				c.prefix, c.skipHash, d.Rows, rows.Load(), sum.Load(), c.rows, c.sum)
		}
		if got := len(d.Files[0].SHA256) == 64; got != c.hashed {
			t.Errorf("%s skip hash %v: file 0 has SHA-256 %q", c.prefix, c.skipHash, d.Files[0].SHA256)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if n := copies(); n != 0 {
			t.Errorf("%s skip hash %v: %d scratch copies left after Close", c.prefix, c.skipHash, n)
		}
	}
}
