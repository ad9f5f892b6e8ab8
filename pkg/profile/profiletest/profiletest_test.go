package profiletest

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "d.json")
	doc := `{"columns":[{"name":"i","type":"int64","values":[1,null,3]},{"name":"f","type":"float64","values":["NaN","Infinity","-Infinity"]},` +
		`{"name":"b","type":"bool","values":[true,false,null]},{"name":"s","type":"string","values":["a","b","c"]}]}`
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := Load(p, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(recs)
	if len(recs) != 2 || recs[0].NumRows() != 2 || recs[1].NumRows() != 1 {
		t.Fatalf("batches: %d", len(recs))
	}
	if recs[0].Column(0).NullN() != 1 || recs[0].Column(0).DataType().ID() != arrow.INT64 {
		t.Error("int column wrong")
	}
	f := recs[0].Column(1).ValueStr(1)
	if f != "+Inf" && f != "Inf" && !strings.Contains(f, "Inf") {
		t.Errorf("Infinity read as %q", f)
	}
	for name, bad := range map[string]string{
		"type":   `{"columns":[{"name":"x","type":"date","values":[]}]}`,
		"length": `{"columns":[{"name":"x","type":"int64","values":[1]},{"name":"y","type":"int64","values":[]}]}`,
		"value":  `{"columns":[{"name":"x","type":"int64","values":["a"]}]}`,
		"float":  `{"columns":[{"name":"x","type":"float64","values":["nope"]}]}`,
		"json":   `{`,
	} {
		if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p, 0); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Load(filepath.Join(dir, "none.json"), 0); err == nil {
		t.Error("missing file: no error")
	}
	if err := os.WriteFile(p, []byte(`{"columns":[{"name":"x","type":"string","values":[]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if recs, err := Load(p, 0); err != nil || len(recs) != 1 || recs[0].NumRows() != 0 {
		t.Errorf("empty dataset: %v", err)
	}
}

func TestBatch(t *testing.T) {
	rec, err := Batch(Col{"a", arrow.PrimitiveTypes.Int64, []any{1, nil}}, Col{"b", arrow.BinaryTypes.String, []any{"x", "y"}},
		Col{"c", arrow.FixedWidthTypes.Boolean, []any{true, nil}}, Col{"d", arrow.PrimitiveTypes.Float64, []any{0.5, math.NaN()}})
	if err != nil || rec.NumRows() != 2 || rec.NumCols() != 4 {
		t.Fatalf("Batch: %v", err)
	}
	if _, err := Batch(Col{"a", arrow.PrimitiveTypes.Int64, []any{1}}, Col{"b", arrow.PrimitiveTypes.Int64, nil}); err == nil {
		t.Error("ragged columns: no error")
	}
	if _, err := Batch(Col{"a", arrow.PrimitiveTypes.Int32, []any{1}}); err == nil {
		t.Error("unsupported type: no error")
	}
}

func TestDiff(t *testing.T) {
	want := map[string]any{"a": 1.0, "b": []any{1.0, "NaN"}, "c": map[string]any{"d": 0.0}, "e": true}
	got := map[string]any{"a": 1.0 + 1e-12, "b": []any{1.0, "NaN"}, "c": map[string]any{"d": 1e-16}, "e": true, "extra": 1.0}
	if d := Diff(want, got, 1e-9); d != "" {
		t.Errorf("equal within tolerance, got diff:\n%s", d)
	}
	got["a"] = 1.1
	got["b"] = []any{1.0}
	got["c"] = "x"
	got["e"] = false
	delete(got, "extra")
	d := Diff(want, got, 1e-9)
	for _, w := range []string{".a: want 1", ".b: want", ".c: want an object", ".e: want true"} {
		if !strings.Contains(d, w) {
			t.Errorf("diff lacks %q:\n%s", w, d)
		}
	}
	if d := Diff(map[string]any{"x": 1.0}, map[string]any{}, 1e-9); !strings.Contains(d, ".x: missing") {
		t.Errorf("missing key not reported: %s", d)
	}
	if d := Diff(1.0, "1", 1e-9); d == "" {
		t.Error("number vs string not reported")
	}
}
