package profile

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestObjectOrder(t *testing.T) {
	in := `{"z":1,"a":2,"m":3}`
	var o Object[int64]
	if err := json.Unmarshal([]byte(in), &o); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"z", "a", "m"}, o.Keys()); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	out, _ := json.Marshal(o)
	if string(out) != in {
		t.Errorf("marshal = %s, want %s", out, in)
	}
	if v, ok := o.Get("a"); !ok || v != 2 {
		t.Errorf("Get(a) = %v, %v", v, ok)
	}
	if _, ok := o.Get("nope"); ok {
		t.Error("Get(nope) found something")
	}
	var n Object[int64]
	if err := json.Unmarshal([]byte(`null`), &n); err != nil || n != nil {
		t.Errorf("null → %v, %v", n, err)
	}
	for _, bad := range []string{`[1]`, `{"a":"x"}`, `{"a":1`, `{1:2}`} {
		if err := json.Unmarshal([]byte(bad), &n); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		doc  string
		want string
	}{
		"not json":       {`{`, "parsing profile"},
		"no schema":      {`{"path":"x"}`, "not a profile"},
		"dup column":     {`{"schema":{"columns":[{"name":"a"},{"name":"a"}]}}`, "listed twice"},
		"negative count": {`{"schema":{"columns":[{"name":"a","null_count":-1}]}}`, "negative count"},
		"edges mismatch": {`{"schema":{"columns":[{"name":"a"}]},"histograms":{"a":{"edges":[0,1],"counts":[1,2]}}}`, "2 edges for 2 counts"},
		"unknown hist":   {`{"schema":{"columns":[{"name":"a"}]},"histograms":{"b":{"edges":[0,1],"counts":[1]}}}`, "unknown column"},
		"edges order":    {`{"schema":{"columns":[{"name":"a"}]},"histograms":{"a":{"edges":[1,0],"counts":[1]}}}`, "not increasing"},
		"neg hist":       {`{"schema":{"columns":[{"name":"a"}]},"histograms":{"a":{"edges":[0,1],"counts":[-1]}}}`, "negative count"},
		"unknown dist":   {`{"schema":{"columns":[{"name":"a"}]},"distributions":{"b":{"x":1}}}`, "unknown column"},
		"neg dist":       {`{"schema":{"columns":[{"name":"a"}]},"distributions":{"a":{"x":-1}}}`, "negative count"},
	} {
		_, err := Load(strings.NewReader(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, tc.want)
		}
	}
	_, err := Parse([]byte(`{"a":1}`))
	if !errors.Is(err, ErrNotProfile) {
		t.Errorf("err = %v, want ErrNotProfile", err)
	}
}

func TestColumnLookup(t *testing.T) {
	p := &Profile{Schema: Schema{Columns: []Column{{Name: "a", DType: "int64"}}}}
	if c, ok := p.Column("a"); !ok || c.DType != "int64" {
		t.Errorf("Column(a) = %v, %v", c, ok)
	}
	if _, ok := p.Column("b"); ok {
		t.Error("Column(b) found")
	}
}

// FuzzParse: any input either fails cleanly or loads into a profile that
// survives a marshal/parse round trip unchanged.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"path":"p","num_rows":3,"num_columns":1,"file_size":9,"schema":{"columns":[{"name":"x","dtype":"int64","nullable":false,"unique_count":2,"null_count":0}]},"statistics":{"x":{"count":3,"mean":1.5,"std":"NaN","min":1,"max":"Infinity","percentiles":{"25":1,"50":1,"75":1.5}}},"distributions":{},"histograms":{"x":{"edges":[1,2],"counts":[3]}}}`))
	f.Add([]byte(`{"schema":{"columns":[{"name":"s"}]},"distributions":{"s":{"b":2,"a":1}}}`))
	f.Add([]byte(`{"schema":{"columns":[]},"approximate":{"s":{"unique_count":0.02}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal of a parsed profile: %v", err)
		}
		q, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, out)
		}
		out2, _ := json.Marshal(q)
		if string(out) != string(out2) {
			t.Fatalf("round trip changed the document:\n%s\n%s", out, out2)
		}
	})
}
