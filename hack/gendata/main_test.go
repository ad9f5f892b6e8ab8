package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"
)

func gen(t testing.TB, args ...string) []byte {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(args, &out, &errOut); err != nil {
		t.Fatalf("run(%q): %v (stderr %q)", args, err, errOut.String())
	}
	return out.Bytes()
}

// The reference values are the published SplitMix64 outputs for seed 1234567
// (Rosetta Code, "Pseudo-random numbers/Splitmix64"), not values produced by this code.
func TestSplitmix64MatchesReference(t *testing.T) {
	r := splitmix64{state: 1234567}
	want := []uint64{6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821}
	var got []uint64
	for range want {
		got = append(got, r.next())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("splitmix64 stream (-want +got):\n%s", diff)
	}
}

func TestDeterministicBytes(t *testing.T) {
	for _, format := range []string{"csv", "jsonl"} {
		a := gen(t, "-rows", "2000", "-format", format, "-seed", "7", "-drift", "0.3")
		b := gen(t, "-rows", "2000", "-format", format, "-seed", "7", "-drift", "0.3")
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two runs with the same flags differ", format)
		}
		c := gen(t, "-rows", "2000", "-format", format, "-seed", "8", "-drift", "0.3")
		if bytes.Equal(a, c) {
			t.Errorf("%s: seeds 7 and 8 gave identical output", format)
		}
	}
}

// TestGoldenDigest pins the bytes of a small file. Benchmark data is cached and results are
// compared over time, so any change to the generator's output must be deliberate: update the
// digest only together with a note in the benchmark README.
func TestGoldenDigest(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{"csv", "d760fd6c5800055e74266a1adefb87eccf788d79ea372b119b7599758ec7cfa7"},
		{"jsonl", "48059633b5b9961020a8558b03225d7201c9eac202ae0322a69d12ed1a4c451c"},
	} {
		sum := sha256.Sum256(gen(t, "-rows", "1000", "-format", tc.format))
		if got := hex.EncodeToString(sum[:]); got != tc.want {
			t.Errorf("%s digest = %s, want %s", tc.format, got, tc.want)
		}
	}
}

// TestFirstNineColumnsUnchanged checks that adding product, quantity and latency_ms left the
// other columns' values as they were: without those three, the file has the digest it had
// before they were added.
func TestFirstNineColumnsUnchanged(t *testing.T) {
	recs, err := csv.NewReader(bytes.NewReader(gen(t, "-rows", "1000"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for _, rec := range recs {
		if err := w.Write(rec[:9]); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	sum := sha256.Sum256(buf.Bytes())
	if got, want := hex.EncodeToString(sum[:]), "673d5db5f6d64c1b9a0c65052dbc1d3141f312bb5833ea97ab597c8dc4771aa8"; got != want {
		t.Errorf("digest of the first nine columns = %s, want %s", got, want)
	}
}

func TestFirstRowsCSV(t *testing.T) {
	got := strings.SplitN(string(gen(t, "-rows", "2", "-seed", "1")), "\n", 4)
	want := []string{
		"id,user_id,amount,score,country,session,is_active,ts,note,product,quantity,latency_ms",
		// The first nine fields are the values files had before product, quantity and
		// latency_ms were added: those three draw from their own stream.
		`1,18187,943.13,0.444359,AU,e099ec6c-d736-3ca5-85e7-bb0f12278575,true,2024-10-17T14:27:58Z,"fragile, handle with care",sku-0010,19,40.679`,
		"2,22191,284.57,0.435965,BR,d0bad0da-572b-aaf1-ae84-379630af89ee,false,2024-01-25T03:23:39Z,ok,sku-0501,7,11.501",
		"",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("first rows (-want +got):\n%s", diff)
	}
}

func TestFormatting(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"amount", appendAmount(nil, 12345), "123.45"},
		{"amount under a dollar", appendAmount(nil, 5), "0.05"},
		{"amount whole", appendAmount(nil, 100000), "1000.00"},
		{"score small", appendScore(nil, 42), "0.000042"},
		{"product first", appendProduct(nil, 0), "sku-0000"},
		{"product last", appendProduct(nil, products-1), "sku-0999"},
		{"latency", appendLatency(nil, 12345), "12.345"},
		{"latency small", appendLatency(nil, 7), "0.007"},
		{"latency cap", appendLatency(nil, maxLatencyUS), "60000.000"},
		{"score zero", appendScore(nil, 0), "0.000000"},
		{"score max", appendScore(nil, 999999), "0.999999"},
		{"session", appendSession(nil, 0x0123456789abcdef, 0xfedcba9876543210), "01234567-89ab-cdef-fedc-ba9876543210"},
		{"session zero", appendSession(nil, 0, 0), "00000000-0000-0000-0000-000000000000"},
		{"ts first second of 2024", appendTS(nil, 1704067200), "2024-01-01T00:00:00Z"},
		{"ts last second of 2024", appendTS(nil, ts2024+secondsIn2024-1), "2024-12-31T23:59:59Z"},
		{"ts leap day", appendTS(nil, ts2024+59*86400+3723), "2024-02-29T01:02:03Z"},
		{"csv plain", csvField("ok"), "ok"},
		{"csv comma", csvField("a,b"), `"a,b"`},
		{"csv quote", csvField(`say "hi"`), `"say ""hi"""`},
		{"csv newline", csvField("a\nb"), "\"a\nb\""},
		{"json quote", jsonString(`say "hi"`), `"say \"hi\""`},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

// table holds a parsed CSV file with the summary values the tests check.
type table struct {
	rows        int
	nullAmounts int
	amountSum   float64
	scoreSum    float64
	active      int
	country     map[string]int
	notes       map[string]bool
	sessions    map[string]bool
	products    map[string]int
	quantitySum int64
	nullLatency int
}

func parseCSV(t *testing.T, data []byte) table {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	head, err := r.Read()
	if err != nil {
		t.Fatalf("read header: %v", err)
	}
	if diff := cmp.Diff(header, head); diff != "" {
		t.Fatalf("header (-want +got):\n%s", diff)
	}
	tb := table{country: map[string]int{}, notes: map[string]bool{}, sessions: map[string]bool{}, products: map[string]int{}}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("row %d: %v", tb.rows+1, err)
		}
		tb.rows++
		if id, _ := strconv.ParseInt(rec[0], 10, 64); id != int64(tb.rows) {
			t.Fatalf("row %d: id %q, want %d", tb.rows, rec[0], tb.rows)
		}
		if u, err := strconv.ParseInt(rec[1], 10, 64); err != nil || u < 1 || u > userIDs {
			t.Fatalf("row %d: user_id %q out of [1, %d]", tb.rows, rec[1], userIDs)
		}
		if rec[2] == "" {
			tb.nullAmounts++
		} else {
			a, err := strconv.ParseFloat(rec[2], 64)
			if err != nil {
				t.Fatalf("row %d: amount %q: %v", tb.rows, rec[2], err)
			}
			tb.amountSum += a
		}
		s, err := strconv.ParseFloat(rec[3], 64)
		if err != nil || s < 0 || s >= 1 {
			t.Fatalf("row %d: score %q not in [0,1)", tb.rows, rec[3])
		}
		tb.scoreSum += s
		tb.country[rec[4]]++
		tb.sessions[rec[5]] = true
		switch rec[6] {
		case "true":
			tb.active++
		case "false":
		default:
			t.Fatalf("row %d: is_active %q", tb.rows, rec[6])
		}
		if _, err := time.Parse(time.RFC3339, rec[7]); err != nil || !strings.HasPrefix(rec[7], "2024-") {
			t.Fatalf("row %d: ts %q: %v", tb.rows, rec[7], err)
		}
		tb.notes[rec[8]] = true
		if !strings.HasPrefix(rec[9], "sku-") || len(rec[9]) != 8 {
			t.Fatalf("row %d: product %q", tb.rows, rec[9])
		}
		tb.products[rec[9]]++
		q, err := strconv.ParseInt(rec[10], 10, 64)
		if err != nil || q < 1 || q > maxQuantity {
			t.Fatalf("row %d: quantity %q out of [1, %d]", tb.rows, rec[10], maxQuantity)
		}
		tb.quantitySum += q
		if rec[11] == "" {
			tb.nullLatency++
		} else if l, err := strconv.ParseFloat(rec[11], 64); err != nil || l < 10 {
			t.Fatalf("row %d: latency_ms %q below 10 or not a number", tb.rows, rec[11])
		}
	}
	return tb
}

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.4f, want %.4f ± %.4f", name, got, want, tol)
	}
}

// Expected values are derived from the documented distributions, not from the code:
//   - amount = 5 + 995·u², E = 5 + 995/3 = 336.667; drift F multiplies it by 1+F;
//   - score: with probability p = min(F,1) the max of two uniforms (mean 2/3), else uniform
//     (mean 1/2), so E = 1/2 + p/6;
//   - country weights ⌊1000/k⌋, k = 1..20, sum to 3590 (added by hand), so P(US) = 1000/3590
//     = 0.2786; with blend p towards the reversed weights, P(US) = ((1−p)·1000 + p·50)/3590;
//   - product ⌊1000·u²⌋ is sku-0000 when u < √0.001, P = 0.0316; drawn uniformly with
//     probability p, so P(sku-0000) = (1−p)·0.0316 + p·0.001;
//   - quantity 1 + ⌊50·u²⌋ has mean 1 + (50/3 − 1/2) = 17.17 (E⌊X⌋ ≈ E X − 1/2).
func TestDistributions(t *testing.T) {
	const n = 40000
	for _, tc := range []struct {
		drift                    string
		amount, score, us, usTol float64
		amountTol                float64
		sku0                     float64
	}{
		{drift: "0", amount: 336.667, score: 0.5, us: 1000.0 / 3590, usTol: 0.01, amountTol: 5, sku0: 0.0316},
		{drift: "0.2", amount: 336.667 * 1.2, score: 0.5 + 0.2/6, us: 810.0 / 3590, usTol: 0.01, amountTol: 6, sku0: 0.8*0.0316 + 0.2*0.001},
		{drift: "1", amount: 336.667 * 2, score: 2.0 / 3, us: 50.0 / 3590, usTol: 0.005, amountTol: 10, sku0: 0.001},
		{drift: "3", amount: 336.667 * 4, score: 2.0 / 3, us: 50.0 / 3590, usTol: 0.005, amountTol: 20, sku0: 0.001},
	} {
		t.Run("drift="+tc.drift, func(t *testing.T) {
			tb := parseCSV(t, gen(t, "-rows", strconv.Itoa(n), "-seed", "3", "-drift", tc.drift))
			if tb.rows != n {
				t.Fatalf("rows = %d, want %d", tb.rows, n)
			}
			near(t, "null amount share", float64(tb.nullAmounts)/n, 0.05, 0.005)
			near(t, "mean amount", tb.amountSum/float64(n-tb.nullAmounts), tc.amount, tc.amountTol)
			near(t, "mean score", tb.scoreSum/n, tc.score, 0.01)
			near(t, "active share", float64(tb.active)/n, 0.7, 0.01)
			near(t, "US share", float64(tb.country["US"])/n, tc.us, tc.usTol)
			if len(tb.country) != len(countries) {
				t.Errorf("distinct countries = %d, want %d", len(tb.country), len(countries))
			}
			near(t, "null latency share", float64(tb.nullLatency)/n, 0.02, 0.003)
			near(t, "sku-0000 share", float64(tb.products["sku-0000"])/n, tc.sku0, 0.004)
			near(t, "mean quantity", float64(tb.quantitySum)/n, 17.17, 0.3)
			if len(tb.products) < 990 || len(tb.products) > products {
				t.Errorf("distinct products = %d, want nearly all of %d", len(tb.products), products)
			}
			if len(tb.sessions) != n {
				t.Errorf("distinct sessions = %d, want %d (one per row)", len(tb.sessions), n)
			}
			// Every note must survive a CSV round trip, including the quoted ones.
			wantNotes := map[string]bool{}
			for _, s := range notes {
				wantNotes[s] = true
			}
			if diff := cmp.Diff(wantNotes, tb.notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestJSONLMatchesCSV checks that both formats carry the same values for the same seed, so a
// benchmark may switch formats without changing the data.
func TestJSONLMatchesCSV(t *testing.T) {
	const n = 3000
	csvRows, err := csv.NewReader(bytes.NewReader(gen(t, "-rows", strconv.Itoa(n), "-seed", "5"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(gen(t, "-rows", strconv.Itoa(n), "-seed", "5", "-format", "jsonl")), "\n"), "\n")
	if len(lines) != n || len(csvRows) != n+1 {
		t.Fatalf("jsonl lines = %d, csv rows = %d, want %d", len(lines), len(csvRows)-1, n)
	}
	for i, line := range lines {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if len(obj) != len(header) {
			t.Fatalf("line %d has %d keys, want %d", i+1, len(obj), len(header))
		}
		var got []string
		for _, h := range header {
			switch v := obj[h].(type) {
			case nil:
				got = append(got, "")
			case json.Number:
				got = append(got, v.String())
			case bool:
				got = append(got, strconv.FormatBool(v))
			case string:
				got = append(got, v)
			default:
				t.Fatalf("line %d: %s has type %T", i+1, h, v)
			}
		}
		if diff := cmp.Diff(csvRows[i+1], got); diff != "" {
			t.Fatalf("row %d differs between csv and jsonl (-csv +jsonl):\n%s", i+1, diff)
		}
	}
}

func TestOutputFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data.csv")
	if out := gen(t, "-rows", "100", "-o", path); len(out) != 0 {
		t.Errorf("wrote %d bytes to stdout with -o set", len(out))
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := gen(t, "-rows", "100"); !bytes.Equal(got, want) {
		t.Error("file output differs from stdout output")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only data.csv (temp file left behind?)", len(entries))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, %v; want 0644", fi.Mode().Perm(), err)
	}

	var errOut bytes.Buffer
	if err := run([]string{"-o", filepath.Join(dir, "missing", "x.csv")}, io.Discard, &errOut); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

func TestZeroRows(t *testing.T) {
	if got := string(gen(t, "-rows", "0")); got != strings.Join(header, ",")+"\n" {
		t.Errorf("csv with 0 rows = %q, want the header only", got)
	}
	if got := gen(t, "-rows", "0", "-format", "jsonl"); len(got) != 0 {
		t.Errorf("jsonl with 0 rows = %q, want empty", got)
	}
}

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-rows", "-1"}, "-rows must be >= 0"},
		{[]string{"-format", "xml"}, "-format must be csv, jsonl or parquet"},
		{[]string{"-row-group-rows", "0"}, "-row-group-rows must be >= 1"},
		{[]string{"-drift", "-0.5"}, "-drift must be a number in [0, 1000]"},
		{[]string{"-drift", "NaN"}, "-drift must be a number in [0, 1000]"},
		{[]string{"-drift", "+Inf"}, "-drift must be a number in [0, 1000]"},
		{[]string{"-drift", "1000.5"}, "-drift must be a number in [0, 1000]"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-nope"}, "flag provided but not defined"},
		{[]string{"-rows", "many"}, "invalid value"},
	} {
		var errOut bytes.Buffer
		err := run(tc.args, io.Discard, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) error = %v, want it to contain %q", tc.args, err, tc.want)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrShortWrite }

func TestWriteErrorIsReported(t *testing.T) {
	for _, rows := range []string{"10", "100000"} {
		if err := run([]string{"-rows", rows}, failWriter{}, io.Discard); err == nil {
			t.Errorf("rows=%s: a failing writer did not produce an error", rows)
		}
	}
}

// FuzzGenerateCSV checks that any seed and drift give well-formed CSV with the right shape.
func FuzzGenerateCSV(f *testing.F) {
	f.Add(uint64(1), 0.0, uint8(10))
	f.Add(uint64(0), 0.2, uint8(1))
	f.Add(^uint64(0), 1000.0, uint8(200))
	f.Fuzz(func(t *testing.T, seed uint64, drift float64, rows uint8) {
		if math.IsNaN(drift) || math.IsInf(drift, 0) || drift < 0 || drift > maxDrift {
			t.Skip()
		}
		var out bytes.Buffer
		c := config{rows: int64(rows), format: "csv", seed: seed, drift: drift}
		if err := generate(&out, c); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatalf("output is not valid CSV: %v", err)
		}
		if len(recs) != int(rows)+1 {
			t.Fatalf("got %d records, want %d", len(recs), int(rows)+1)
		}
		for i, rec := range recs {
			if len(rec) != len(header) {
				t.Fatalf("record %d has %d fields", i, len(rec))
			}
		}
	})
}

// TestParquetMatchesCSV reads a Parquet file back with arrow-go and checks every value against
// the CSV of the same seed, the row group layout, and the column types.
func TestParquetMatchesCSV(t *testing.T) {
	const n = 2500
	csvRows, err := csv.NewReader(bytes.NewReader(gen(t, "-rows", strconv.Itoa(n), "-seed", "5", "-drift", "0.3"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	data := gen(t, "-rows", strconv.Itoa(n), "-seed", "5", "-drift", "0.3", "-format", "parquet", "-row-group-rows", "1000")
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := pf.NumRowGroups(); got != 3 {
		t.Errorf("row groups = %d, want 3 (1000 + 1000 + 500)", got)
	}
	if cc, err := pf.MetaData().RowGroup(0).ColumnChunk(0); err != nil || cc.Compression() != compress.Codecs.Snappy {
		t.Errorf("compression of the first column chunk: %v, %v; want snappy", cc, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	for i, f := range tbl.Schema().Fields() {
		want := parquetSchema.Field(i)
		if f.Name != want.Name || !arrow.TypeEqual(f.Type, want.Type) || f.Nullable != want.Nullable {
			t.Errorf("column %d is %s %v nullable=%v, want %s %v nullable=%v", i, f.Name, f.Type, f.Nullable, want.Name, want.Type, want.Nullable)
		}
	}
	if tbl.NumRows() != n {
		t.Fatalf("rows = %d, want %d", tbl.NumRows(), n)
	}
	// text renders row i of column c the way the CSV writes it.
	text := func(c, i int) string {
		chunks := tbl.Column(c).Data().Chunks()
		for _, ch := range chunks {
			if i >= ch.Len() {
				i -= ch.Len()
				continue
			}
			if ch.IsNull(i) {
				return ""
			}
			switch a := ch.(type) {
			case *array.Int64:
				return strconv.FormatInt(a.Value(i), 10)
			case *array.Float64:
				return strconv.FormatFloat(a.Value(i), 'g', -1, 64)
			case *array.String:
				return a.Value(i)
			case *array.Boolean:
				return strconv.FormatBool(a.Value(i))
			case *array.Timestamp:
				return time.UnixMicro(int64(a.Value(i))).UTC().Format(time.RFC3339)
			}
			t.Fatalf("column %d has type %T", c, ch)
		}
		t.Fatalf("row %d out of range", i)
		return ""
	}
	for i := range n {
		for c, want := range csvRows[i+1] {
			if f, err := strconv.ParseFloat(want, 64); err == nil && strings.Contains(want, ".") {
				// The CSV's decimal text and the Parquet double must be the same float64.
				want = strconv.FormatFloat(f, 'g', -1, 64)
			}
			if got := text(c, i); got != want {
				t.Fatalf("row %d column %s: parquet %q, csv %q", i+1, header[c], got, want)
			}
		}
	}
}
