package split

import (
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Spec
		wantErr string
	}{
		{in: "train=0.8,validation=0.1,test=0.1",
			want: Spec{Names: []string{"train", "validation", "test"}, Ratios: []float64{0.8, 0.1, 0.1}}},
		{in: " test = 0.3 , train=0.7 ", // order kept, spaces ignored
			want: Spec{Names: []string{"test", "train"}, Ratios: []float64{0.3, 0.7}}},
		{in: "all=1", want: Spec{Names: []string{"all"}, Ratios: []float64{1}}},
		{in: "a=0.333333333333,b=0.333333333333,c=0.333333333334",
			want: Spec{Names: []string{"a", "b", "c"}, Ratios: []float64{0.333333333333, 0.333333333333, 0.333333333334}}},
		{in: "", wantErr: `split list is empty: give name=ratio pairs separated by commas, e.g. "train=0.8,validation=0.1,test=0.1"`},
		{in: "  ", wantErr: `split list is empty: give name=ratio pairs separated by commas, e.g. "train=0.8,validation=0.1,test=0.1"`},
		{in: "train=0.8,test=0.2,", wantErr: `split list "train=0.8,test=0.2," has an empty entry: remove the extra comma`},
		{in: "train0.8,test=0.2", wantErr: `split "train0.8" has no ratio: write name=ratio, e.g. "train=0.8"`},
		{in: "train=80%,test=20%", wantErr: `split "train": ratio "80%" is not a number: write a fraction such as 0.8`},
		{in: "train=,test=1", wantErr: `split "train": ratio "" is not a number: write a fraction such as 0.8`},
		{in: "=0.8,test=0.2", wantErr: `split 1 has no name: write name=ratio, e.g. "train=0.8"`},
		{in: "my train=0.8,test=0.2", wantErr: `split name "my train" is not allowed: use letters, digits, '-' and '_', starting with a letter or digit (it becomes a folder name)`},
		{in: "../x=0.8,test=0.2", wantErr: `split name "../x" is not allowed: use letters, digits, '-' and '_', starting with a letter or digit (it becomes a folder name)`},
		{in: "train=0.8,train=0.2", wantErr: `split "train" is given twice: give each split once`},
		{in: "train=1,test=0", wantErr: `split "test": ratio 0 must be greater than 0 and at most 1 (leave the split out instead of giving it 0)`},
		{in: "train=1.2,test=-0.2", wantErr: `split "train": ratio 1.2 must be greater than 0 and at most 1 (leave the split out instead of giving it 0)`},
		{in: "train=NaN", wantErr: `split "train": ratio NaN must be greater than 0 and at most 1 (leave the split out instead of giving it 0)`},
		{in: "train=0.8,test=0.1", wantErr: `split ratios sum to 0.9, not 1: adjust them so that they add up to 1`},
		{in: "train=0.8,test=0.2000001", wantErr: `split ratios sum to 1.0000001, not 1: adjust them so that they add up to 1`},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if gotErr != tt.wantErr {
			t.Errorf("Parse(%q) error\n got %s\nwant %s", tt.in, gotErr, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestValidate(t *testing.T) {
	many := Spec{}
	for i := range MaxSplits + 1 {
		many.Names = append(many.Names, "s"+strings.Repeat("x", i))
		many.Ratios = append(many.Ratios, 1.0/float64(MaxSplits+1))
	}
	tests := []struct {
		spec    Spec
		wantErr string
	}{
		{Spec{}, `no splits given: give at least one name=ratio pair, e.g. "train=0.8,validation=0.1,test=0.1"`},
		{Spec{Names: []string{"a", "b"}, Ratios: []float64{1}}, "2 split names but 1 ratios: give one ratio per split"},
		{many, "256 splits given: use at most 255"},
		{Spec{Names: []string{"a"}, Ratios: []float64{math.Inf(1)}}, `split "a": ratio +Inf must be greater than 0 and at most 1 (leave the split out instead of giving it 0)`},
		{Spec{Names: []string{"a", "b"}, Ratios: []float64{0.5, 0.5}, Seed: 7, Key: "id"}, ""},
	}
	for _, tt := range tests {
		gotErr := ""
		if err := tt.spec.Validate(); err != nil {
			gotErr = err.Error()
		}
		if gotErr != tt.wantErr {
			t.Errorf("Validate(%v) = %q, want %q", tt.spec, gotErr, tt.wantErr)
		}
	}
}

func TestSpecString(t *testing.T) {
	s := Spec{Names: []string{"train", "test", "extra"}, Ratios: []float64{0.75, 0.25}}
	if got, want := s.String(), "train=0.75,test=0.25,extra=NaN"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"train=0.8,validation=0.1,test=0.1", "a=1", "a=0.5,,b=0.5", "=", "a=1e-300,b=1", " x = 0.25 ,y=0.75"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := Parse(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if err := spec.Validate(); err != nil {
			t.Fatalf("Parse(%q) accepted a spec that Validate rejects: %v", s, err)
		}
		again, err := Parse(spec.String())
		if err != nil {
			t.Fatalf("Parse(String()) of %q: %v", s, err)
		}
		if diff := cmp.Diff(spec, again); diff != "" {
			t.Fatalf("round trip of %q (-first +second):\n%s", s, diff)
		}
		sch := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
		if _, err := NewAssigner(spec, sch); err != nil {
			t.Fatalf("NewAssigner(%v): %v", spec, err)
		}
	})
}

func TestNewAssignerErrors(t *testing.T) {
	sch := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "y", Type: arrow.BinaryTypes.String}}, nil)
	spec := Spec{Names: []string{"a", "b"}, Ratios: []float64{0.5, 0.5}}
	tests := []struct {
		name    string
		spec    Spec
		schema  *arrow.Schema
		wantErr string
	}{
		{"bad spec", Spec{}, sch, `invalid split: no splits given: give at least one name=ratio pair, e.g. "train=0.8,validation=0.1,test=0.1"`},
		{"no schema", spec, nil, "split: no schema given"},
		{"missing key", Spec{Names: spec.Names, Ratios: spec.Ratios, Key: "user"}, sch,
			`split key column "user" is not in the data (columns: id, y): fix split.key`},
		{"missing stratum", Spec{Names: spec.Names, Ratios: spec.Ratios, StratifyBy: "label"}, sch,
			`split stratify column "label" is not in the data (columns: id, y): fix split.stratifyBy`},
	}
	for _, tt := range tests {
		_, err := NewAssigner(tt.spec, tt.schema)
		if err == nil || err.Error() != tt.wantErr {
			t.Errorf("%s: NewAssigner error = %v, want %s", tt.name, err, tt.wantErr)
		}
	}
	a, err := NewAssigner(spec, sch)
	if err != nil {
		t.Fatal(err)
	}
	spec.Names[0] = "changed"
	if a.Spec().Names[0] != "a" {
		t.Error("Assigner shares the caller's Names slice")
	}
}

func TestBounds(t *testing.T) {
	// ceil(0.5·2^64) = 2^63 exactly; 0.5+0.25 = 0.75 → 3·2^62.
	a, err := NewAssigner(Spec{Names: []string{"a", "b", "c"}, Ratios: []float64{0.5, 0.25, 0.25}},
		arrow.NewSchema(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint64{1 << 63, 3 << 62}, a.bounds); diff != "" {
		t.Fatalf("bounds (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		h    uint64
		want uint8
	}{{0, 0}, {1<<63 - 1, 0}, {1 << 63, 1}, {3<<62 - 1, 1}, {3 << 62, 2}, {math.MaxUint64, 2}} {
		if got := a.index(tt.h); got != tt.want {
			t.Errorf("index(%#x) = %d, want %d", tt.h, got, tt.want)
		}
	}
	// A cumulative ratio that rounds to 1 before the last split saturates.
	b, err := NewAssigner(Spec{Names: []string{"a", "b"}, Ratios: []float64{1, 1e-10}}, arrow.NewSchema(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if b.bounds[0] != math.MaxUint64 {
		t.Errorf("bound = %#x, want saturation", b.bounds[0])
	}
}
