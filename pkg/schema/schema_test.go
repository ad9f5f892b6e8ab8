package schema

import (
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/google/go-cmp/cmp"
)

func TestTypeName(t *testing.T) {
	tests := []struct {
		typ  arrow.DataType
		want string
	}{
		{nil, "null"},
		{arrow.Null, "null"},
		{arrow.FixedWidthTypes.Boolean, "bool"},
		{arrow.PrimitiveTypes.Int8, "int8"},
		{arrow.PrimitiveTypes.Int16, "int16"},
		{arrow.PrimitiveTypes.Int32, "int32"},
		{arrow.PrimitiveTypes.Int64, "int64"},
		{arrow.PrimitiveTypes.Uint8, "uint8"},
		{arrow.PrimitiveTypes.Uint16, "uint16"},
		{arrow.PrimitiveTypes.Uint32, "uint32"},
		{arrow.PrimitiveTypes.Uint64, "uint64"},
		{arrow.FixedWidthTypes.Float16, "float16"},
		{arrow.PrimitiveTypes.Float32, "float32"},
		{arrow.PrimitiveTypes.Float64, "float64"},
		{arrow.BinaryTypes.String, "string"},
		{arrow.BinaryTypes.LargeString, "string"},
		{arrow.BinaryTypes.StringView, "string"},
		{arrow.BinaryTypes.Binary, "binary"},
		{arrow.BinaryTypes.LargeBinary, "binary"},
		{&arrow.FixedSizeBinaryType{ByteWidth: 16}, "fixed_size_binary[16]"},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, "timestamp"},
		{&arrow.TimestampType{Unit: arrow.Second}, "timestamp"},
		{arrow.FixedWidthTypes.Date32, "date32"},
		{arrow.FixedWidthTypes.Date64, "date64"},
		{arrow.FixedWidthTypes.Time32ms, "time32"},
		{arrow.FixedWidthTypes.Time64us, "time64"},
		{arrow.FixedWidthTypes.Duration_ms, "duration"},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, "decimal(10,2)"},
		{&arrow.Decimal256Type{Precision: 40, Scale: 0}, "decimal(40,0)"},
		{&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, "string"},
		{arrow.ListOf(arrow.PrimitiveTypes.Float64), "list<float64>"},
		{arrow.LargeListOf(arrow.BinaryTypes.String), "list<string>"},
		{arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64), "map<string,int64>"},
		{arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32}, arrow.Field{Name: "b", Type: arrow.BinaryTypes.String}), "struct<a:int32,b:string>"},
		{arrow.FixedWidthTypes.MonthInterval, "month_interval"},
	}
	for _, tt := range tests {
		if got := TypeName(tt.typ); got != tt.want {
			t.Errorf("TypeName(%v) = %q, want %q", tt.typ, got, tt.want)
		}
	}
}

func TestFromArrow(t *testing.T) {
	s := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "label", Type: arrow.BinaryTypes.String, Nullable: false},
		{Name: "x", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	}, nil)
	tests := []struct {
		name   string
		counts []int64
		want   []Column
	}{
		{"declared", nil, []Column{{"id", "int64", true}, {"label", "string", false}, {"x", "float32", true}}},
		{"observed", []int64{0, 3, 0}, []Column{{"id", "int64", false}, {"label", "string", true}, {"x", "float32", false}}},
		{"short counts fall back", []int64{0}, []Column{{"id", "int64", false}, {"label", "string", false}, {"x", "float32", true}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, FromArrow(s, tt.counts)); diff != "" {
			t.Errorf("%s: FromArrow mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
	if got := FromArrow(nil, nil); got != nil {
		t.Errorf("FromArrow(nil) = %v, want nil", got)
	}
}

func TestFingerprint(t *testing.T) {
	// Expected values are `printf '<encoding>' | sha256sum` of the encoding
	// documented on Fingerprint.
	tests := []struct {
		name string
		cols []Column
		want string
	}{
		{
			// printf 'mldata-schema-v1\n2:id,5:int64,0;5:label,6:string,1;'
			"two columns",
			[]Column{{"id", "int64", false}, {"label", "string", true}},
			"63787dec0ed14e1288d2f5e9e02c65c5285a820de341e5d7337cabf5a9ccb710",
		},
		{
			// printf 'mldata-schema-v1\n5:label,6:string,1;2:id,5:int64,0;'
			"reordered",
			[]Column{{"label", "string", true}, {"id", "int64", false}},
			"b7143fe4013fcbaa305601e6d3825e0b153e9fcd18ca533a3ab10bd4b5b624f3",
		},
		{
			// printf 'mldata-schema-v1\n'
			"empty", nil,
			"2d5391bac2781fca24d74bc557b2e0e5126da5c46545be7928c476169666e3aa",
		},
		{
			// printf 'mldata-schema-v1\n3:a,b,6:string,0;': a name with the
			// separator in it stays unambiguous.
			"comma in name",
			[]Column{{"a,b", "string", false}},
			"5223315c69e27724ed0c10f51cf89fb26bf88f67b4f20fd5ed5c02fdea3842b7",
		},
	}
	for _, tt := range tests {
		if got := Fingerprint(tt.cols); got != tt.want {
			t.Errorf("%s: Fingerprint = %s, want %s", tt.name, got, tt.want)
		}
	}
	if Fingerprint([]Column{{"id", "int64", false}}) == Fingerprint([]Column{{"id", "int64", true}}) {
		t.Error("nullability does not change the fingerprint")
	}
}

func TestDiff(t *testing.T) {
	base := []Column{{"id", "int64", false}, {"age", "int32", true}, {"name", "string", true}}
	tests := []struct {
		name     string
		old, new []Column
		want     []Change
	}{
		{"identical", base, base, nil},
		{"reorder is no change", base, []Column{base[2], base[0], base[1]}, nil},
		{
			"added and removed",
			base,
			[]Column{{"id", "int64", false}, {"score", "float64", true}, {"name", "string", true}},
			[]Change{
				{Kind: Added, Column: "score", To: "float64", Reason: "new column; rows built before it read as null"},
				{Kind: Removed, Column: "age", From: "int32", Breaking: true, Reason: "consumers that read this column break"},
			},
		},
		{
			"widening and nullability in new order",
			base,
			[]Column{{"name", "string", false}, {"age", "int64", true}, {"id", "float64", true}},
			[]Change{
				{Kind: NullabilityChanged, Column: "name", From: "nullable", To: "non-null", Reason: "the column no longer contains nulls; every value is still valid"},
				{Kind: TypeChanged, Column: "age", From: "int32", To: "int64", Reason: "every int32 value fits in int64"},
				{Kind: TypeChanged, Column: "id", From: "int64", To: "float64", Reason: "integers convert to float64"},
				{Kind: NullabilityChanged, Column: "id", From: "non-null", To: "nullable", Reason: "the column now contains nulls; every earlier value is still valid"},
			},
		},
		{
			"narrowing",
			base,
			[]Column{{"id", "int32", false}, {"age", "int32", true}, {"name", "int64", true}},
			[]Change{
				{Kind: TypeChanged, Column: "id", From: "int64", To: "int32", Breaking: true, Reason: "int64 narrows to int32; larger values no longer fit"},
				{Kind: TypeChanged, Column: "name", From: "string", To: "int64", Breaking: true, Reason: "values are no longer text; consumers reading strings break and text that is not a valid int64 cannot be read as one"},
			},
		},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, Diff(tt.old, tt.new)); diff != "" {
			t.Errorf("%s: Diff mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestWidening(t *testing.T) {
	tests := []struct {
		from, to string
		safe     bool
	}{
		{"int8", "int16", true},
		{"int32", "int64", true},
		{"int64", "int32", false},
		{"uint8", "uint64", true},
		{"uint32", "uint16", false},
		{"uint32", "int64", true},
		{"uint32", "int32", false},
		{"uint64", "int64", false},
		{"int32", "uint64", false},
		{"int64", "float64", true},
		{"uint64", "float64", true},
		{"int16", "float32", true},
		{"uint16", "float32", true},
		{"int32", "float32", false},
		{"int8", "float16", true},
		{"int16", "float16", false},
		{"float32", "float64", true},
		{"float16", "float32", true},
		{"float64", "float32", false},
		{"float64", "int64", false},
		{"float32", "uint32", false},
		{"decimal(10,2)", "decimal(12,2)", true},
		{"decimal(10,2)", "decimal(12,4)", true},
		{"decimal(10,2)", "decimal(10,3)", false},
		{"decimal(10,2)", "decimal(12,1)", false},
		{"decimal(10,2)", "float64", false},
		{"date32", "date64", true},
		{"date64", "date32", false},
		{"time32", "time64", true},
		{"null", "int64", true},
		{"int64", "null", false},
		{"string", "int64", false},
		{"int64", "string", false},
		{"bool", "int64", false},
		{"timestamp", "string", false},
		{"list<int32>", "list<int64>", false},
		{"decimal(x,2)", "decimal(12,2)", false},
		{"decimal(10,2", "decimal(12,2)", false},
		{"intx", "int64", false},
	}
	for _, tt := range tests {
		got, reason := widening(tt.from, tt.to)
		if got != tt.safe {
			t.Errorf("widening(%s, %s) = %v (%s), want %v", tt.from, tt.to, got, reason, tt.safe)
		}
		if reason == "" {
			t.Errorf("widening(%s, %s) gave no reason", tt.from, tt.to)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    Policy
		wantErr string
	}{
		{"", AllowAdditive, ""},
		{"AllowAll", AllowAll, ""},
		{"allowadditive", AllowAdditive, ""},
		{" Strict ", Strict, ""},
		{"strictest", "", `unknown schema policy "strictest": use one of AllowAll, AllowAdditive (the default) or Strict`},
	}
	for _, tt := range tests {
		got, err := ParsePolicy(tt.in)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tt.want || gotErr != tt.wantErr {
			t.Errorf("ParsePolicy(%q) = %q, %q; want %q, %q", tt.in, got, gotErr, tt.want, tt.wantErr)
		}
	}
}

func TestPolicyCheck(t *testing.T) {
	old := []Column{{"id", "int64", false}, {"age", "int64", true}, {"city", "string", true}}
	changes := Diff(old, []Column{{"id", "int64", true}, {"age", "int32", true}, {"zip", "string", true}})
	tests := []struct {
		policy Policy
		want   string
		nBad   int
	}{
		{AllowAll, "", 0},
		{AllowAdditive,
			`schema policy AllowAdditive rejects 2 breaking changes; ` +
				`column "age": type int64 → int32 (breaking: int64 narrows to int32; larger values no longer fit): ` +
				`make the sources' values of "age" read as int64 again (find the values that changed its type), or set schemaPolicy to AllowAll to accept int32; ` +
				`column "city": removed (was string) (breaking: consumers that read this column break): ` +
				`restore column "city" (string) in the sources, or set schemaPolicy to AllowAll to drop it`,
			2},
		{Strict,
			`schema policy Strict rejects 4 changes; ` +
				`column "id": non-null → nullable (not breaking: the column now contains nulls; every earlier value is still valid): ` +
				`make column "id" non-null again in the sources, or set schemaPolicy to AllowAdditive to accept it; ` +
				`column "age": type int64 → int32 (breaking: int64 narrows to int32; larger values no longer fit): ` +
				`make the sources' values of "age" read as int64 again (find the values that changed its type), or set schemaPolicy to AllowAll to accept int32; ` +
				`column "zip": added as string (not breaking: new column; rows built before it read as null): ` +
				`remove column "zip" from the sources, or set schemaPolicy to AllowAdditive to accept it; ` +
				`column "city": removed (was string) (breaking: consumers that read this column break): ` +
				`restore column "city" (string) in the sources, or set schemaPolicy to AllowAll to drop it`,
			4},
		{"Bogus", "", 4}, // unknown policies refuse like Strict
	}
	for _, tt := range tests {
		err := tt.policy.Check(changes)
		if tt.nBad == 0 {
			if err != nil {
				t.Errorf("%s: Check = %v, want nil", tt.policy, err)
			}
			continue
		}
		var pe *PolicyError
		if !errors.As(err, &pe) {
			t.Fatalf("%s: Check = %v, want *PolicyError", tt.policy, err)
		}
		if len(pe.Changes) != tt.nBad {
			t.Errorf("%s: %d offending changes, want %d", tt.policy, len(pe.Changes), tt.nBad)
		}
		if tt.want != "" && err.Error() != tt.want {
			t.Errorf("%s: error\n got %s\nwant %s", tt.policy, err, tt.want)
		}
	}
	if err := Strict.Check(nil); err != nil {
		t.Errorf("Strict.Check(nil) = %v, want nil", err)
	}
	one := &PolicyError{Policy: AllowAdditive, Changes: changes[1:2]}
	if got, want := one.Error()[:48], "schema policy AllowAdditive rejects 1 breaking c"; got != want {
		t.Errorf("singular message starts %q, want %q", got, want)
	}
}

func TestNext(t *testing.T) {
	v1cols := []Column{{"id", "int64", false}}
	v2cols := []Column{{"id", "int64", false}, {"x", "float64", true}}
	v, changed := Next(nil, v1cols)
	want := Version{Version: 1, Fingerprint: Fingerprint(v1cols), Columns: v1cols}
	if diff := cmp.Diff(want, v); diff != "" || !changed {
		t.Fatalf("Next(empty) changed=%v (-want +got):\n%s", changed, diff)
	}
	v.FirstBuild = "b1"
	history := []Version{v}

	same, changed := Next(history, v1cols)
	if changed || same.Version != 1 || same.FirstBuild != "b1" {
		t.Errorf("Next(same schema) = %+v, %v; want version 1 from b1, unchanged", same, changed)
	}
	v2, changed := Next(history, v2cols)
	if !changed || v2.Version != 2 || v2.Fingerprint != Fingerprint(v2cols) {
		t.Errorf("Next(new schema) = %+v, %v; want version 2, changed", v2, changed)
	}
	// Going back to the first schema is a new version, and an unsorted
	// history still finds the newest.
	history = []Version{v2, v}
	v3, changed := Next(history, v1cols)
	if !changed || v3.Version != 3 {
		t.Errorf("Next(revert) = %+v, %v; want version 3, changed", v3, changed)
	}
}

func TestAppend(t *testing.T) {
	h := []Version{{Version: 2}, {Version: 1}}
	got := Append(h, Version{Version: 3}, 2)
	want := []Version{{Version: 2}, {Version: 3}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Append mismatch (-want +got):\n%s", diff)
	}
	if h[0].Version != 2 || h[1].Version != 1 {
		t.Errorf("Append modified its input: %+v", h)
	}
	got = Append(h, Version{Version: 2, FirstBuild: "other"}, 0)
	want = []Version{{Version: 1}, {Version: 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Append of a present version (-want +got):\n%s", diff)
	}
}

func TestChangeStringUnknownKind(t *testing.T) {
	c := Change{Kind: "renamed", Column: "a", Reason: "r"}
	if got, want := c.String(), `column "a": renamed (not breaking: r)`; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got, want := remedy(Strict, c), "set schemaPolicy to AllowAdditive"; got != want {
		t.Errorf("remedy = %q, want %q", got, want)
	}
}

// FuzzWidening checks that any pair of type names, however malformed, gets a
// verdict with a reason, and that a type never widens to a narrower integer.
func FuzzWidening(f *testing.F) {
	for _, s := range []string{"int8", "uint64", "float32", "decimal(10,2)", "decimal(", "string", "null", "int"} {
		f.Add(s, "int64")
	}
	f.Fuzz(func(t *testing.T, from, to string) {
		safe, reason := widening(from, to)
		if reason == "" {
			t.Fatalf("widening(%q, %q) gave no reason", from, to)
		}
		if from == "int64" && to == "int32" && safe {
			t.Fatal("int64 → int32 called safe")
		}
	})
}
