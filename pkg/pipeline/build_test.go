package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/manifest"
	"github.com/mldata-io/mldata/pkg/schema"
	"github.com/mldata-io/mldata/pkg/split"
	"github.com/mldata-io/mldata/pkg/validate"
)

const sampleDir = "../../testdata/sample"

func sampleConfig(t *testing.T, src, out string) Config {
	t.Helper()
	spec, err := split.Parse("train=0.8,validation=0.1,test=0.1")
	if err != nil {
		t.Fatal(err)
	}
	spec.Seed = 42
	spec.Key = "customer_id"
	return Config{
		Source: src, Output: out,
		Read:         format.Options{ChunkRows: 64, InferTimestamps: true},
		OutputFormat: format.Parquet, Compression: format.Zstd,
		Split: spec, PartRows: 256, Workers: 3,
	}
}

// buildManifest runs a build and returns its manifest.
func buildManifest(cfg Config) (*manifest.Manifest, error) {
	res, err := Build(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	return res.Manifest, nil
}

func readPointer(t *testing.T, out string) manifest.Pointer {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, manifest.PointerKey))
	if err != nil {
		t.Fatal(err)
	}
	var p manifest.Pointer
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// readParquet reads a Parquet file with parquet-go, an implementation
// independent of the one that wrote it, as rows of canonical text.
func readParquet(t *testing.T, path string) (cols []string, rows [][]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, c := range f.Schema().Columns() {
		cols = append(cols, c[0])
	}
	leaves := f.Schema().Fields()
	for _, rg := range f.RowGroups() {
		rr := rg.Rows()
		buf := make([]parquet.Row, 128)
		for {
			n, err := rr.ReadRows(buf)
			for _, row := range buf[:n] {
				out := make([]string, len(cols))
				for _, v := range row {
					out[v.Column()] = canonParquet(v, leaves[v.Column()])
				}
				rows = append(rows, out)
			}
			if err != nil {
				break
			}
		}
		rr.Close()
	}
	return cols, rows
}

func canonParquet(v parquet.Value, f parquet.Field) string {
	if v.IsNull() {
		return "<null>"
	}
	switch v.Kind() {
	case parquet.Boolean:
		return strconv.FormatBool(v.Boolean())
	case parquet.Int32, parquet.Int64:
		if lt := f.Type().LogicalType(); lt != nil && strings.HasPrefix(lt.String(), "TIMESTAMP") {
			return time.UnixMicro(v.Int64()).UTC().Format(time.RFC3339Nano)
		}
		return strconv.FormatInt(v.Int64(), 10)
	case parquet.Float, parquet.Double:
		return strconv.FormatFloat(v.Double(), 'g', -1, 64)
	default:
		return string(v.ByteArray())
	}
}

// readCSV reads the sample with encoding/csv and canonicalises each cell as
// the schema inference gives it (int64, float64, bool, timestamp, string).
func readCSV(t *testing.T, path string, types map[string]string) (cols []string, rows [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	cols = recs[0]
	nulls := map[string]bool{}
	for _, n := range format.DefaultNullValues {
		nulls[n] = true
	}
	for _, r := range recs[1:] {
		out := make([]string, len(r))
		for i, cell := range r {
			if nulls[cell] {
				out[i] = "<null>"
				continue
			}
			switch types[cols[i]] {
			case "float64":
				v, err := strconv.ParseFloat(cell, 64)
				if err != nil {
					t.Fatal(err)
				}
				out[i] = strconv.FormatFloat(v, 'g', -1, 64)
			case "timestamp":
				ts, err := time.Parse(time.RFC3339Nano, cell)
				if err != nil {
					t.Fatal(err)
				}
				out[i] = ts.UTC().Format(time.RFC3339Nano)
			default:
				out[i] = cell
			}
		}
		rows = append(rows, out)
	}
	return cols, rows
}

var sampleTypes = map[string]string{
	"customer_id": "int64", "signup_time": "timestamp", "country": "string", "plan": "string",
	"monthly_fee": "float64", "tenure_months": "int64", "support_calls": "int64", "nps": "int64",
	"churned": "bool", "note": "string",
}

func TestBuildSampleReadsBackCellByCell(t *testing.T) {
	out := t.TempDir()
	m, err := buildManifest(sampleConfig(t, sampleDir, out))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Rows(); got != 1000 {
		t.Fatalf("rows = %d, want 1000", got)
	}
	if p := readPointer(t, out); p.BuildID != m.BuildID || p.Manifest != manifest.Key(m.BuildID) {
		t.Fatalf("latest.json = %+v, want build %s", p, m.BuildID)
	}
	var gotTypes = map[string]string{}
	for _, c := range m.Schema.Columns {
		gotTypes[c.Name] = c.Type
	}
	wantTypes := map[string]string{}
	for k, v := range sampleTypes {
		wantTypes[k] = v
	}
	wantTypes["signup_time"] = gotTypes["signup_time"] // the name of the timestamp type is pkg/schema's
	if !strings.HasPrefix(gotTypes["signup_time"], "timestamp") {
		t.Errorf("signup_time type = %q, want a timestamp", gotTypes["signup_time"])
	}
	if d := cmp.Diff(wantTypes, gotTypes); d != "" {
		t.Errorf("schema types (-want +got):\n%s", d)
	}
	nullable := map[string]bool{}
	for _, c := range m.Schema.Columns {
		nullable[c.Name] = c.Nullable
	}
	if !nullable["nps"] || nullable["customer_id"] {
		t.Errorf("nullable = %v; want nps nullable and customer_id not", nullable)
	}

	// Every input row is in exactly one split, cell for cell.
	var want [][]string
	for _, name := range []string{"customers-2024a.csv", "customers-2024b.csv"} {
		_, rows := readCSV(t, filepath.Join(sampleDir, name), sampleTypes)
		want = append(want, rows...)
	}
	var got [][]string
	var cols []string
	splitRows := map[string]int64{}
	for _, s := range m.Splits {
		for _, p := range s.Parts {
			c, rows := readParquet(t, filepath.Join(out, p.Path))
			cols = c
			if int64(len(rows)) != p.Rows {
				t.Errorf("%s: %d rows, manifest says %d", p.Path, len(rows), p.Rows)
			}
			got = append(got, rows...)
			splitRows[s.Name] += int64(len(rows))
		}
	}
	wantCols := []string{"customer_id", "signup_time", "country", "plan", "monthly_fee", "tenure_months", "support_calls", "nps", "churned", "note"}
	if d := cmp.Diff(wantCols, cols); d != "" {
		t.Fatalf("columns (-want +got):\n%s", d)
	}
	sortRows(want)
	sortRows(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rows read back differ from the input (-want +got):\n%s", d)
	}
	// 1000 rows at 80/10/10: each split within a few percent.
	for name, ratio := range map[string]float64{"train": 0.8, "validation": 0.1, "test": 0.1} {
		if f := float64(splitRows[name]) / 1000; f < ratio-0.04 || f > ratio+0.04 {
			t.Errorf("split %s has %.3f of the rows, want about %.2f", name, f, ratio)
		}
	}
	// Manifest provenance: both files with their sizes, hashes and rows.
	if len(m.Source.Files) != 2 || m.Source.Files[0].Rows != 600 || m.Source.Files[1].Rows != 400 {
		t.Fatalf("source files = %+v", m.Source.Files)
	}
	for _, f := range m.Source.Files {
		data, err := os.ReadFile(filepath.Join(sampleDir, f.Key))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); f.SHA256 != hex.EncodeToString(sum[:]) || f.Size != int64(len(data)) {
			t.Errorf("source file %s: sha256 %q size %d; want the file's %x, %d", f.Key, f.SHA256, f.Size, sum, len(data))
		}
	}
	if m.Schema.Version != 1 || len(m.Schema.Fingerprint) != 64 {
		t.Errorf("schema version %d fingerprint %q", m.Schema.Version, m.Schema.Fingerprint)
	}
}

func sortRows(rows [][]string) {
	sort.Slice(rows, func(i, j int) bool { return strings.Join(rows[i], "\x00") < strings.Join(rows[j], "\x00") })
}

// treeBytes returns the bytes of every file under dir's builds/<id>/ keyed by path below it.
func buildFiles(t *testing.T, out, id string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	root := filepath.Join(out, manifest.BuildDir(id))
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || filepath.Base(p) == "manifest.json" {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[rel], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestBuildIsByteIdenticalForAnyWorkerCount(t *testing.T) {
	for _, tc := range []struct {
		kind format.Kind
		comp format.Compression
	}{{format.Parquet, format.Zstd}, {format.Parquet, format.Snappy}, {format.CSV, format.Gzip}, {format.JSONL, format.None}} {
		t.Run(string(tc.kind)+"-"+string(tc.comp), func(t *testing.T) {
			var first map[string][]byte
			for _, workers := range []int{1, 4} {
				out := t.TempDir()
				cfg := sampleConfig(t, sampleDir, out)
				cfg.OutputFormat, cfg.Compression, cfg.Workers, cfg.BuildID = tc.kind, tc.comp, workers, "fixed"
				if _, err := buildManifest(cfg); err != nil {
					t.Fatal(err)
				}
				files := buildFiles(t, out, "fixed")
				if len(files) < 6 {
					t.Fatalf("only %d part files; the test wants several parts per split", len(files))
				}
				if first == nil {
					first = files
					continue
				}
				if d := cmp.Diff(first, files); d != "" {
					t.Errorf("workers=%d output differs from workers=1", workers)
				}
			}
		})
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// listBuilds returns the build folders under out that hold files.
func listBuilds(t *testing.T, out string) []string {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(out, "builds"))
	var ids []string
	for _, e := range entries {
		n := 0
		filepath.Walk(filepath.Join(out, "builds", e.Name()), func(_ string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				n++
			}
			return nil
		})
		if n > 0 {
			ids = append(ids, e.Name())
		}
	}
	return ids
}

// assertOnlyBuild checks that the published build is still good and that
// no other build left files behind.
func assertOnlyBuild(t *testing.T, out string, good *manifest.Manifest) {
	t.Helper()
	if p := readPointer(t, out); p.BuildID != good.BuildID {
		t.Fatalf("latest.json now names %s, want the previous good build %s", p.BuildID, good.BuildID)
	}
	// Earlier published builds keep their files; a failed build has no
	// manifest and must leave no part files.
	for _, id := range listBuilds(t, out) {
		_, err := os.Stat(filepath.Join(out, manifest.Key(id)))
		if id != good.BuildID && os.IsNotExist(err) && len(buildFiles(t, out, id)) > 0 {
			t.Errorf("failed build %s left part files behind", id)
		}
		if id > good.BuildID && err == nil {
			t.Errorf("failed build %s left a manifest behind", id)
		}
	}
	for _, s := range good.Splits {
		for _, p := range s.Parts {
			if _, rows := readParquet(t, filepath.Join(out, p.Path)); int64(len(rows)) != p.Rows {
				t.Errorf("published part %s damaged", p.Path)
			}
		}
	}
}

func TestFailedBuildKeepsPreviousBuild(t *testing.T) {
	tests := map[string]struct {
		file    string
		content string
		wantErr []string
	}{
		"wrong field count": {"zz-bad.csv", "customer_id,signup_time,country,plan,monthly_fee,tenure_months,support_calls,nps,churned,note\n" +
			"5000,2024-01-01T00:00:00Z,US,basic,9.99,3,1,5,false,ok\n5001,2024-01-01T00:00:00Z,US,basic,9.99,3\n",
			[]string{"zz-bad.csv", "line 3"}},
		"unterminated quote": {"zz-bad.csv", "customer_id,signup_time,country,plan,monthly_fee,tenure_months,support_calls,nps,churned,note\n" +
			"5000,2024-01-01T00:00:00Z,US,basic,9.99,3,1,5,false,\"never closed\n",
			[]string{"zz-bad.csv", "line 2"}},
		"empty file":   {"zz-empty.csv", "", []string{"zz-empty.csv", "empty"}},
		"mixed schema": {"zz-other.csv", "customer_id,country\n1,US\n", []string{"zz-other.csv"}},
		"non utf8": {"zz-latin1.csv", "customer_id,signup_time,country,plan,monthly_fee,tenure_months,support_calls,nps,churned,note\n" +
			"5000,2024-01-01T00:00:00Z,US,basic,9.99,3,1,5,false,caf\xe9\n", []string{"zz-latin1.csv", "line 2", "UTF-8"}},
		"not parquet": {"zz-fake.parquet", "this is not parquet at all", []string{"zz-fake.parquet"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src, out := filepath.Join(t.TempDir(), "src"), t.TempDir()
			copyDir(t, sampleDir, src)
			good, err := buildManifest(sampleConfig(t, src, out))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(src, tc.file), []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = buildManifest(sampleConfig(t, src, out))
			if err == nil {
				t.Fatal("build succeeded on bad input")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			assertOnlyBuild(t, out, good)
		})
	}
}

func TestCancelledBuildPublishesNothing(t *testing.T) {
	out := t.TempDir()
	good, err := buildManifest(sampleConfig(t, sampleDir, out))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg := sampleConfig(t, sampleDir, out)
	cfg.Workers, cfg.Full = 1, true
	stats := &Stats{}
	cfg.Stats = stats
	// Cancel as soon as rows start flowing: the process stage is under way.
	go func() {
		for stats.Rows.Load() == 0 {
			time.Sleep(50 * time.Microsecond)
		}
		cancel()
	}()
	_, err = Build(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	assertOnlyBuild(t, out, good)
}

func TestUnwritableOutput(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := buildManifest(sampleConfig(t, sampleDir, filepath.Join(blocker, "out")))
	if err == nil || !strings.Contains(err.Error(), "out") {
		t.Fatalf("got %v, want an error naming the output", err)
	}
}

func TestMissingSource(t *testing.T) {
	_, err := buildManifest(sampleConfig(t, filepath.Join(t.TempDir(), "nope"), t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("got %v, want an error naming the missing source", err)
	}
}

func TestValidation(t *testing.T) {
	rules, err := validate.ParseRules([]byte(`
- {type: notNull, column: nps}
- {type: min, column: tenure_months, min: 0}
`))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("fail publishes nothing", func(t *testing.T) {
		out := t.TempDir()
		cfg := sampleConfig(t, sampleDir, out)
		cfg.Rules = rules
		_, err := buildManifest(cfg)
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Failed) != 1 || ve.Failed[0].Rule.Type != "notNull" {
			t.Fatalf("got %v, want one failed notNull rule", err)
		}
		if _, err := os.Stat(filepath.Join(out, manifest.PointerKey)); !os.IsNotExist(err) {
			t.Errorf("latest.json exists after a failed validation")
		}
	})
	t.Run("warn publishes and records", func(t *testing.T) {
		cfg := sampleConfig(t, sampleDir, t.TempDir())
		cfg.Rules, cfg.OnFailure = rules, OnFailureWarn
		m, err := buildManifest(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if m.Validation.Passed || len(m.Validation.Results) != 2 || !m.Validation.Results[1].Passed {
			t.Errorf("validation = %+v", m.Validation)
		}
	})
}

func TestSchemaPolicyAgainstPublishedBuild(t *testing.T) {
	src, out := filepath.Join(t.TempDir(), "src"), t.TempDir()
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(content string) {
		if err := os.WriteFile(filepath.Join(src, "a.csv"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := func(p schema.Policy) (*manifest.Manifest, error) {
		cfg := sampleConfig(t, src, out)
		cfg.Split.Key = "id"
		cfg.SchemaPolicy = p
		return buildManifest(cfg)
	}
	write("id,x\n1,2\n2,3\n")
	first, err := build(schema.Strict)
	if err != nil {
		t.Fatal(err)
	}
	write("id,x,y\n1,2,a\n2,3,b\n")
	if _, err := build(schema.Strict); err == nil || !strings.Contains(err.Error(), "y") {
		t.Fatalf("Strict accepted an added column: %v", err)
	}
	assertOnlyBuild(t, out, first)
	second, err := build(schema.AllowAdditive)
	if err != nil {
		t.Fatal(err)
	}
	if second.Schema.Version != 2 || len(second.SchemaHistory) != 2 {
		t.Errorf("schema version %d, history %d; want 2 and 2", second.Schema.Version, len(second.SchemaHistory))
	}
	write("id\n1\n2\n")
	if _, err := build(schema.AllowAdditive); err == nil || !strings.Contains(err.Error(), "x") {
		t.Fatalf("AllowAdditive accepted removed columns: %v", err)
	}
	assertOnlyBuild(t, out, second)
}
