package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"

	"github.com/mldata-io/mldata/internal/testservers"
	"github.com/mldata-io/mldata/pkg/storage"
)

// countingProxy is a reverse proxy on loopback in front of an S3 server
// that counts the body bytes of the objects it serves, by key: what a
// reader really fetched over the network. It measures; it changes nothing
// (requests keep their Host header, so signatures still verify).
type countingProxy struct {
	endpoint string
	mu       sync.Mutex
	bytes    map[string]int64
}

func newCountingProxy(t *testing.T, upstream string) *countingProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{endpoint: "http://" + ln.Addr().String(), bytes: map[string]int64{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(r *http.Response) error {
		if r.Request.Method == http.MethodGet && r.StatusCode/100 == 2 {
			// /bucket/key, path style; listings are GETs of /bucket.
			if parts := strings.SplitN(strings.TrimPrefix(r.Request.URL.Path, "/"), "/", 2); len(parts) == 2 && parts[1] != "" {
				r.Body = &countedBody{r.Body, p, parts[1]}
			}
		}
		return nil
	}
	srv := &http.Server{Handler: rp}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

type countedBody struct {
	io.ReadCloser
	p   *countingProxy
	key string
}

func (b *countedBody) Read(q []byte) (int, error) {
	n, err := b.ReadCloser.Read(q)
	b.p.mu.Lock()
	b.p.bytes[b.key] += int64(n)
	b.p.mu.Unlock()
	return n, err
}

// take returns the bytes served per key under prefix (the key relative to
// it) since the last call.
func (p *countingProxy) take(prefix string) map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	got := map[string]int64{}
	for k, v := range p.bytes {
		got[strings.TrimPrefix(k, prefix)] = v
	}
	p.bytes = map[string]int64{}
	return got
}

// A shard of a build from S3 fetches only its ranges: for a CSV file cut
// into ranges, exactly the ranges' bytes and the header; for Parquet, the
// footer and the column chunks of its row groups. The bytes are measured
// on the wire (a counting proxy in front of a real S3 server), match what
// the shard reports, and the published parts equal a one-process build's.
func TestShardsReadOnlyTheirRanges(t *testing.T) {
	srv := testservers.S3(t)
	testservers.SetEnv(t, srv)
	ctx := context.Background()
	if err := srv.CreateBucket(ctx, "raw"); err != nil {
		t.Fatal(err)
	}
	proxy := newCountingProxy(t, srv.Endpoint)
	direct := srv.URI("raw", "ev/")
	srcURI := strings.Replace(direct, url.QueryEscape(srv.Endpoint), url.QueryEscape(proxy.endpoint), 1)
	if srcURI == direct {
		t.Fatal("the source URI does not go through the proxy")
	}
	src, err := storage.OpenOutput(ctx, direct)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	// big.csv: 20,000 rows of about 200 bytes, every one with a quoted
	// newline and comma; f.parquet: 40,000 rows in row groups of 2,000.
	var b strings.Builder
	b.WriteString("id,v,label,note\n")
	for k := 0; k < 20_000; k++ {
		fmt.Fprintf(&b, "%d,%d.25,l%d,\"line %d\n%s, \"\"q\"\"\"\n", 10_000_000+k, k%89, k%3, k, strings.Repeat(fmt.Sprintf("%08x", k*2654435761), 18))
	}
	files := map[string][]byte{"big.csv": []byte(b.String()), "small.csv": []byte("id,v,label,note\n1,2.25,l0,x\n2,3.25,l1,y\n")}
	files["f.parquet"] = rangeParquet(t, 40_000, 2_000)
	for k, v := range files {
		if err := src.WriteFile(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	config := func(out, id string) Config {
		cfg := shardConfig(t, srcURI, out, id)
		// Groups of 4 stripes × 500 rows: 10 groups in big.csv, 20 in
		// f.parquet, one row group each.
		cfg.Read.ChunkRows, cfg.PartRows = 500, 500
		cfg.ScratchDir = t.TempDir()
		return cfg
	}
	plainOut := t.TempDir()
	mustBuild(t, config(plainOut, "b1"))
	proxy.take("ev/")

	const n = 4
	out := t.TempDir()
	cfg := config(out, "b1")
	pr, err := PlanShards(ctx, cfg, ShardOptions{Shards: n, RangeBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	sp := pr.Shard
	// The plan reads every byte once, for the SHA-256 and the cuts.
	planned := proxy.take("ev/")
	for k, v := range files {
		if planned[k] != int64(len(v)) {
			t.Errorf("plan fetched %d bytes of %s, want its %d", planned[k], k, len(v))
		}
	}
	fileOf := map[string]int{}
	for i, f := range sp.Files {
		fileOf[f.Key] = i
	}
	bigUnits, pqUnits := 0, 0
	for _, u := range sp.Units {
		switch sp.Files[u.File].Key {
		case "big.csv":
			bigUnits++
		case "f.parquet":
			pqUnits++
		}
	}
	if bigUnits < 4 || pqUnits < 3 {
		t.Fatalf("big.csv in %d units, f.parquet in %d; want both cut", bigUnits, pqUnits)
	}
	meta := parquetMeta(t, files["f.parquet"])
	assign := Assign(sp.Units, n)
	var pqTotal int64
	for i := 0; i < n; i++ {
		res, err := RunShard(ctx, cfg, i, n)
		if err != nil {
			t.Fatal(err)
		}
		got := proxy.take("ev/")
		t.Logf("shard %d of %d fetched %v", i, n, got)
		var total int64
		for _, v := range got {
			total += v
		}
		if res.BytesRead != total {
			t.Errorf("shard %d reports %d bytes read, the wire says %d (%v)", i, res.BytesRead, total, got)
		}
		// What the shard should fetch, from the plan.
		var csvWant int64
		groups := map[int]bool{} // f.parquet's part groups of this shard
		whole := map[string]bool{}
		for _, ui := range assign[i] {
			u := sp.Units[ui]
			switch key := sp.Files[u.File].Key; key {
			case "big.csv":
				csvWant += u.Range.End - u.Range.From.Offset
			case "f.parquet":
				for g := u.FirstGroup; g < u.EndGroup; g++ {
					groups[g] = true
				}
			default:
				whole[key] = true
			}
		}
		if csvWant > 0 {
			csvWant += sp.Files[fileOf["big.csv"]].Head // the header
		}
		if got["big.csv"] != csvWant {
			t.Errorf("shard %d fetched %d bytes of big.csv, want its ranges' %d", i, got["big.csv"], csvWant)
		}
		if whole["small.csv"] != (got["small.csv"] == int64(len(files["small.csv"]))) {
			t.Errorf("shard %d fetched %d bytes of small.csv (its unit: %v)", i, got["small.csv"], whole["small.csv"])
		}
		// Parquet: the column chunks of its row groups (one per part
		// group here), plus the footer, which the reader fetches with
		// the bytes just before it.
		var chunks int64
		for g := range groups {
			start, end := chunkSpan(meta, g)
			chunks += end - start
		}
		_, last := chunkSpan(meta, meta.NumRowGroups()-1)
		footer := int64(len(files["f.parquet"])) - last
		pqGot := got["f.parquet"]
		pqTotal += pqGot
		if len(groups) == 0 && pqGot != 0 || len(groups) > 0 && (pqGot < chunks || pqGot > chunks+footer+64<<10) {
			t.Errorf("shard %d fetched %d bytes of f.parquet; its %d row groups hold %d, the footer %d", i, pqGot, len(groups), chunks, footer)
		}
		if len(groups) > 0 && 2*pqGot > int64(len(files["f.parquet"])) && len(groups) < 10 {
			t.Errorf("shard %d fetched %d of f.parquet's %d bytes for %d of 20 row groups", i, pqGot, len(files["f.parquet"]), len(groups))
		}
	}
	if pqTotal > int64(len(files["f.parquet"]))+int64(n)*(64<<10) {
		t.Errorf("the shards fetched %d bytes of f.parquet (%d bytes)", pqTotal, len(files["f.parquet"]))
	}
	if _, err := Commit(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(buildFiles(t, plainOut, "b1"), buildFiles(t, out, "b1")); d != "" {
		t.Errorf("parts differ from the one-process build's")
	}
}

// rangeParquet is a Parquet file of rows rows in row groups of group rows.
func rangeParquet(t *testing.T, rows, group int) []byte {
	t.Helper()
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "v", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer rb.Release()
	for k := 0; k < rows; k++ {
		rb.Field(0).(*array.Int64Builder).Append(int64(20_000_000 + k))
		rb.Field(1).(*array.Float64Builder).Append(float64(k%89) + 0.25)
		rb.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("l%d", k%3))
		rb.Field(3).(*array.StringBuilder).Append(strings.Repeat(fmt.Sprintf("%08x", k*2654435761), 6))
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	fw, err := pqarrow.NewFileWriter(sch, &buf, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(group)), parquet.WithStats(true)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func parquetMeta(t *testing.T, data []byte) *metadata.FileMetaData {
	t.Helper()
	r, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return r.MetaData()
}

// chunkSpan is where row group g's column chunks start and end.
func chunkSpan(m *metadata.FileMetaData, g int) (start, end int64) {
	rg := m.RowGroup(g)
	start = -1
	for c := 0; c < rg.NumColumns(); c++ {
		cc, _ := rg.ColumnChunk(c)
		s := cc.DataPageOffset()
		if cc.HasDictionaryPage() && cc.DictionaryPageOffset() < s {
			s = cc.DictionaryPageOffset()
		}
		if start < 0 || s < start {
			start = s
		}
		end = max(end, s+cc.TotalCompressedSize())
	}
	return start, end
}

// A gzip-compressed CSV file has no byte ranges (its offsets are not file
// offsets): its units are read by decompressing from the start, and the
// parts still equal a one-process build's.
func TestShardedCompressedRanges(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,v,label,note\n")
	for k := 0; k < 1500; k++ {
		fmt.Fprintf(&b, "%d,%d.25,l%d,\"a\nb, %016x\"\n", 3000+k, k%89, k%3, uint64(k)*0x9E3779B97F4A7C15)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(b.String()))
	zw.Close()
	writeFile(t, dir, "big.csv.gz", z.String())
	writeFile(t, dir, "a.csv", "id,v,label,note\n1,2.25,l0,x\n")
	plainOut := t.TempDir()
	mustBuild(t, shardConfig(t, dir, plainOut, "b1"))
	out := t.TempDir()
	pr, _ := buildSharded(t, shardConfig(t, dir, out, "b1"), 3)
	units := 0
	for _, u := range pr.Shard.Units {
		if pr.Shard.Files[u.File].Key == "big.csv.gz" {
			units++
			if u.Range != nil {
				t.Errorf("unit %+v of a gzip file has a byte range", u)
			}
		}
	}
	if units < 3 {
		t.Fatalf("big.csv.gz in %d units; want it cut", units)
	}
	if d := cmp.Diff(buildFiles(t, plainOut, "b1"), buildFiles(t, out, "b1")); d != "" {
		t.Errorf("parts differ from the one-process build's")
	}
}
