package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/split"
	"github.com/mldata-io/mldata/pkg/validate"
)

// writeDictParquet writes rows of (id, color, city, note) to path in row
// groups of 700 rows; dict turns dictionary encoding on for the string
// columns, each row group getting a dictionary of its own (colors and
// cities appear in another order in each).
func writeDictParquet(t *testing.T, path string, rows int, dict bool) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "color", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	colors := []string{"red", "green", "blue", "teal", "plum"}
	for i := range rows {
		g := i / 700 // row group
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%11 == 5 {
			b.Field(1).(*array.StringBuilder).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(colors[(i+g)%len(colors)])
		}
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("city%02d", (i*7+g*3)%40))
		if i%13 == 0 {
			b.Field(3).(*array.StringBuilder).AppendNull()
		} else {
			b.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("note %d", i%4))
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithDictionaryDefault(dict), parquet.WithMaxRowGroupLength(700))
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// A Parquet input whose string columns are dictionary-encoded is split with
// its dictionaries kept (keepDictionaries): the parts are byte for byte
// those of the same rows stored plain, for any worker count, and hold the
// input's rows. The rule column and the stratification column go plain.
func TestBuildKeepsParquetDictionaries(t *testing.T) {
	const rows = 5000
	dir := t.TempDir()
	dictSrc, plainSrc := filepath.Join(dir, "dict"), filepath.Join(dir, "plain")
	for _, d := range []string{dictSrc, plainSrc} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeDictParquet(t, filepath.Join(dictSrc, "rows.parquet"), rows, true)
	writeDictParquet(t, filepath.Join(plainSrc, "rows.parquet"), rows, false)

	spec, err := split.Parse("train=0.8,validation=0.1,test=0.1")
	if err != nil {
		t.Fatal(err)
	}
	spec.Key = "id"
	spec.StratifyBy = "city"
	rules, err := validate.ParseRules([]byte(`[{"type":"allowedValues","column":"note","values":["note 0","note 1","note 2","note 3"]}]`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Read: format.Options{ChunkRows: 500}, OutputFormat: format.Parquet, Compression: format.Snappy,
		Split: spec, PartRows: 2000, Rules: rules}
	keep, plain := keepDictionaries(cfg, arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "color", Type: arrow.BinaryTypes.String},
		{Name: "city", Type: arrow.BinaryTypes.String}, {Name: "note", Type: arrow.BinaryTypes.String}}, nil))
	if !keep || !slices.Equal(plain, []int{2, 3}) {
		t.Fatalf("keepDictionaries: %v %v, want true [2 3]", keep, plain)
	}

	build := func(src string, workers int) (sums []string, got [][]string) {
		c := cfg
		c.Source, c.Output, c.Workers = src, t.TempDir(), workers
		m, err := buildManifest(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range m.Splits {
			for _, p := range s.Parts {
				sums = append(sums, s.Name+" "+p.SHA256)
				_, r := readParquet(t, filepath.Join(c.Output, p.Path))
				got = append(got, r...)
			}
		}
		return sums, got
	}
	want, rowsPlain := build(plainSrc, 2)
	for _, w := range []int{1, 2, 4} {
		sums, got := build(dictSrc, w)
		if !slices.Equal(sums, want) {
			t.Errorf("workers %d: parts of the dictionary-encoded input differ from the plain input's:\n%v\n%v", w, sums, want)
		}
		if len(got) != rows {
			t.Fatalf("workers %d: %d rows, want %d", w, len(got), rows)
		}
		if w == 2 && !slices.EqualFunc(got, rowsPlain, slices.Equal) {
			t.Error("rows differ from the plain input's")
		}
	}
	// Every input row is in the output once, with its values.
	slices.SortFunc(rowsPlain, func(a, b []string) int { return atoi(t, a[0]) - atoi(t, b[0]) })
	nulls := 0
	for i, r := range rowsPlain {
		if r[0] != fmt.Sprint(i) {
			t.Fatalf("row %d has id %s", i, r[0])
		}
		wantNote := fmt.Sprintf("note %d", i%4)
		if i%13 == 0 {
			wantNote = "<null>"
		}
		if r[3] != wantNote {
			t.Fatalf("row %d: note %q, want %q", i, r[3], wantNote)
		}
		if r[1] == "<null>" {
			nulls++
		}
	}
	if nulls != (rows+5)/11 {
		t.Errorf("%d null colors, want %d", nulls, (rows+5)/11)
	}
}

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
