package validate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"
)

var mem = memory.DefaultAllocator

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "age", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64},
	{Name: "color", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
}, nil)

// row is one test row; nil fields are null.
type row struct {
	id    int64
	age   *int64
	score float64
	color *string
	name  *string
	ts    int64
}

func s(v string) *string { return &v }

// fileA and fileB are two source files (file indexes 0 and 1).
var (
	fileA = []row{
		{1, i64(30), 0.5, s("red"), s("ann"), 1_700_000_000_000},
		{2, nil, 1.5, s("blue"), s("bob"), 1_700_000_000_000},
		{3, i64(-2), math.NaN(), s("green"), nil, 1_700_000_000_000},
		{2, i64(150), 2, s("red"), s("cy"), 1_700_000_000_000},
		{5, i64(40), -1, s("purple"), s("dee"), 1_700_000_000_000},
	}
	fileB = []row{
		{1, nil, 3.25, s("red"), s("ann"), 1_700_000_000_000},
		{6, i64(20), 0, nil, s("ed"), 1_700_000_000_000},
		{7, i64(-5), 10, s("Red"), s("fay"), 1_700_000_000_000},
		{2, i64(25), 0.25, s("blue"), s("gus"), 1_700_000_000_500},
	}
)

func toBatch(t testing.TB, rows []row) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, testSchema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(r.id)
		if r.age == nil {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Int64Builder).Append(*r.age)
		}
		b.Field(2).(*array.Float64Builder).Append(r.score)
		for c, v := range []*string{r.color, r.name} {
			if v == nil {
				b.Field(3 + c).AppendNull()
			} else {
				b.Field(3 + c).(*array.StringBuilder).Append(*v)
			}
		}
		b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(r.ts))
	}
	rec := b.NewRecordBatch()
	t.Cleanup(rec.Release)
	return rec
}

var testRules = []Rule{
	{Type: Required, Column: "id"},
	{Type: Required, Column: "label"},
	{Type: Type, Column: "age", DType: "int64"},
	{Type: Type, Column: "score", DType: "float64"},
	{Type: Type, Column: "name", DType: "numeric"},
	{Type: Type, Column: "ts", DType: "timestamp"},
	{Type: Type, Column: "zip", DType: "string"},
	{Type: NotNull, Column: "age"},
	{Type: NotNull, Column: "id"},
	{Type: NotNull, Column: "zip"},
	{Type: Unique, Column: "id"},
	{Type: Unique, Column: "name"},
	{Type: Unique, Column: "ts"},
	{Type: Unique, Column: "score"},
	{Type: Min, Column: "age", Min: f64(0)},
	{Type: Max, Column: "age", Max: f64(120)},
	{Type: Min, Column: "score", Min: f64(-0.5)},
	{Type: Max, Column: "score", Max: f64(5)},
	{Type: Min, Column: "name", Min: f64(0)},
	{Type: Max, Column: "id", Max: f64(7)},
	{Type: AllowedValues, Column: "color", Values: []string{"red", "green", "blue"}},
	{Type: AllowedValues, Column: "score", Values: []string{"0.5", "1.5", "2", "-1", "3.25", "0", "10", "0.25", "NaN"}},
	{Type: AllowedValues, Column: "ts", Values: []string{"2023-11-14T22:13:20Z"}},
	{Type: MaxNullFraction, Column: "name", Fraction: f64(0.1)},
	{Type: MaxNullFraction, Column: "age", Fraction: f64(0.25)},
	{Type: MinRows, Rows: i64(9)},
	{Type: MinRows, Rows: i64(10)},
}

// wantResults are worked out by hand from fileA and fileB above.
var wantResults = []Result{
	{Passed: true, Message: `required: column "id" is present`},
	{Failures: 1, Message: `required: column "label" is missing; the data has columns id, age, score, color, name, ts`},
	{Passed: true, Message: `type: column "age" is int64, as expected (int64)`},
	{Passed: true, Message: `type: column "score" is float64, as expected (float64)`},
	{Failures: 1, Message: `type: column "name" is string; expected numeric`},
	{Passed: true, Message: `type: column "ts" is timestamp, as expected (timestamp)`},
	{Failures: 1, Message: `type: column "zip" is not in the data (columns: id, age, score, color, name, ts); add it to the sources or fix the rule's column`},
	{Failures: 2, Message: `notNull: column "age" has 2 nulls in 9 rows; expected none`,
		Samples: []Sample{{File: "a.csv", Row: 2, Value: "null"}, {File: "b.csv", Row: 1, Value: "null"}}},
	{Passed: true, Message: `notNull: column "id" has no nulls`},
	{Failures: 1, Message: `notNull: column "zip" is not in the data (columns: id, age, score, color, name, ts); add it to the sources or fix the rule's column`},
	// id: 1 2 3 2 5 | 1 6 7 2 → 9 values, 6 distinct; a4 repeats a2, b1 a1, b4 a2.
	{Failures: 3, Message: `unique: column "id" has 3 rows whose value appears in an earlier row; expected each non-null value once`,
		Samples: []Sample{
			{File: "a.csv", Row: 4, Value: "2", FirstFile: "a.csv", FirstRow: 2},
			{File: "b.csv", Row: 1, Value: "1", FirstFile: "a.csv", FirstRow: 1},
			{File: "b.csv", Row: 4, Value: "2", FirstFile: "a.csv", FirstRow: 2},
		}},
	// name: 8 non-null values, "ann" twice.
	{Failures: 1, Message: `unique: column "name" has 1 rows whose value appears in an earlier row; expected each non-null value once`,
		Samples: []Sample{{File: "b.csv", Row: 1, Value: "ann", FirstFile: "a.csv", FirstRow: 1}}},
	// ts: 8 rows at …20.000 s, then one at …20.500 s → 7 repeats, first 5 shown.
	{Failures: 7, Message: `unique: column "ts" has 7 rows whose value appears in an earlier row; expected each non-null value once`,
		Samples: []Sample{
			{File: "a.csv", Row: 2, Value: "2023-11-14T22:13:20Z", FirstFile: "a.csv", FirstRow: 1},
			{File: "a.csv", Row: 3, Value: "2023-11-14T22:13:20Z", FirstFile: "a.csv", FirstRow: 1},
			{File: "a.csv", Row: 4, Value: "2023-11-14T22:13:20Z", FirstFile: "a.csv", FirstRow: 1},
			{File: "a.csv", Row: 5, Value: "2023-11-14T22:13:20Z", FirstFile: "a.csv", FirstRow: 1},
			{File: "b.csv", Row: 1, Value: "2023-11-14T22:13:20Z", FirstFile: "a.csv", FirstRow: 1},
		}},
	{Passed: true, Message: `unique: column "score" has no duplicate values`},
	// age: 30 -2 150 40 | 20 -5 25
	{Failures: 2, Message: `min: column "age" has 2 values below 0 (smallest -5); expected each value >= 0`,
		Samples: []Sample{{File: "a.csv", Row: 3, Value: "-2"}, {File: "b.csv", Row: 3, Value: "-5"}}},
	{Failures: 1, Message: `max: column "age" has 1 values above 120 (largest 150); expected each value <= 120`,
		Samples: []Sample{{File: "a.csv", Row: 4, Value: "150"}}},
	// score: 0.5 1.5 NaN 2 -1 | 3.25 0 10 0.25; NaN fails both bounds.
	{Failures: 2, Message: `min: column "score" has 2 values below -0.5 (smallest -1); expected each value >= -0.5`,
		Samples: []Sample{{File: "a.csv", Row: 3, Value: "NaN"}, {File: "a.csv", Row: 5, Value: "-1"}}},
	{Failures: 2, Message: `max: column "score" has 2 values above 5 (largest 10); expected each value <= 5`,
		Samples: []Sample{{File: "a.csv", Row: 3, Value: "NaN"}, {File: "b.csv", Row: 3, Value: "10"}}},
	{Failures: 1, Message: `min: column "name" is string; min applies to integer and float columns`},
	{Passed: true, Message: `max: column "id" has no value above 7`},
	// color: purple (a5) and Red (b3) are not allowed; the null (b2) is not checked.
	{Failures: 2, Message: `allowedValues: column "color" has 2 values that are not one of ["red", "green", "blue"]`,
		Samples: []Sample{{File: "a.csv", Row: 5, Value: "purple"}, {File: "b.csv", Row: 3, Value: "Red"}}},
	{Passed: true, Message: `allowedValues: every value of column "score" is one of ["0.5", "1.5", "2", "-1", "3.25", "0", "10", "0.25", "NaN"]`},
	{Failures: 1, Message: `allowedValues: column "ts" has 1 values that are not one of ["2023-11-14T22:13:20Z"]`,
		Samples: []Sample{{File: "b.csv", Row: 4, Value: "2023-11-14T22:13:20.5Z"}}},
	// name: 1 null of 9 = 11.11%; age: 2 of 9 = 22.22%.
	{Failures: 1, Message: `maxNullFraction: column "name" is 11.11% null (1 of 9 rows); expected at most 10%`},
	{Passed: true, Message: `maxNullFraction: column "age" is 22.22% null (2 of 9 rows); at most 25% allowed`},
	{Passed: true, Message: `minRows: the dataset has 9 rows; at least 9 required`},
	{Failures: 1, Message: `minRows: the dataset has 9 rows; expected at least 10`},
}

func expected() []Result {
	want := make([]Result, len(wantResults))
	for i, r := range wantResults {
		want[i] = r
		want[i].Rule = testRules[i]
	}
	return want
}

func TestResultsKnownValues(t *testing.T) {
	v, err := New(testRules, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	p := v.NewPartial()
	p.Observe(toBatch(t, fileA), "a.csv", 0, 1)
	p.Observe(toBatch(t, fileB), "b.csv", 1, 1)
	got := v.Results(p)
	if diff := cmp.Diff(expected(), got); diff != "" {
		t.Errorf("Results mismatch (-want +got):\n%s", diff)
	}

	var wantFailed []Result
	for _, r := range expected() {
		if !r.Passed {
			wantFailed = append(wantFailed, r)
		}
	}
	if diff := cmp.Diff(wantFailed, Failed(got)); diff != "" {
		t.Errorf("Failed mismatch (-want +got):\n%s", diff)
	}
}

// TestResultsIndependentOfPartials observes the same rows as single-row and
// multi-row batches spread over several partials in random ways, merged in
// random order: every result, samples included, must be the same.
func TestResultsIndependentOfPartials(t *testing.T) {
	v, err := New(testRules, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	want := expected()
	type chunk struct {
		rows      []row
		file      string
		fileIndex int
		firstRow  int64
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := range 30 {
		var chunks []chunk
		for fi, f := range [][]row{fileA, fileB} {
			for start := 0; start < len(f); {
				end := min(len(f), start+1+rng.IntN(3))
				chunks = append(chunks, chunk{f[start:end], []string{"a.csv", "b.csv"}[fi], fi, int64(start + 1)})
				start = end
			}
		}
		rng.Shuffle(len(chunks), func(i, j int) { chunks[i], chunks[j] = chunks[j], chunks[i] })
		parts := make([]*Partial, 1+rng.IntN(4))
		for i := range parts {
			parts[i] = v.NewPartial()
		}
		for _, c := range chunks {
			parts[rng.IntN(len(parts))].Observe(toBatch(t, c.rows), c.file, c.fileIndex, c.firstRow)
		}
		rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		if diff := cmp.Diff(want, v.Results(parts...)); diff != "" {
			t.Fatalf("trial %d with %d partials (-want +got):\n%s", trial, len(parts), diff)
		}
	}
}

// TestUniqueAcrossManyPartials checks sample selection when the smallest
// duplicates are first occurrences inside their own partials, for exact
// (int) and hashed (string) keys, against a direct computation.
func TestUniqueAcrossManyPartials(t *testing.T) {
	sch := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64}, {Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	v, err := New([]Rule{{Type: Unique, Column: "k"}, {Type: Unique, Column: "s"}}, sch)
	if err != nil {
		t.Fatal(err)
	}
	const files, perFile = 6, 50
	rng := rand.New(rand.NewPCG(1, 1))
	keys := make([][]int64, files)
	long := strings.Repeat("x", 90) // texts over 64 bytes are clipped alike everywhere
	for f := range keys {
		for range perFile {
			keys[f] = append(keys[f], rng.Int64N(200))
		}
	}
	// Direct computation: walk rows in (file, row) order.
	seen := map[int64][2]int64{}
	var want []Sample
	var dups int64
	for f := range files {
		for r, k := range keys[f] {
			if first, ok := seen[k]; ok {
				dups++
				if len(want) < maxSamples {
					want = append(want, Sample{File: fmt.Sprint("f", f), Row: int64(r + 1), Value: fmt.Sprint(k), FirstFile: fmt.Sprint("f", first[0]), FirstRow: first[1]})
				}
				continue
			}
			seen[k] = [2]int64{int64(f), int64(r + 1)}
		}
	}
	batch := func(vals []int64) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, sch)
		defer b.Release()
		for _, k := range vals {
			b.Field(0).(*array.Int64Builder).Append(k)
			b.Field(1).(*array.StringBuilder).Append(long + fmt.Sprint(k))
		}
		rec := b.NewRecordBatch()
		t.Cleanup(rec.Release)
		return rec
	}
	for trial := range 20 {
		parts := []*Partial{v.NewPartial(), v.NewPartial(), v.NewPartial()}
		// Files observed backwards, in pieces, on random partials: first
		// occurrences are often found late.
		for f := files - 1; f >= 0; f-- {
			for start := perFile; start > 0; {
				from := max(0, start-1-rng.IntN(10))
				parts[rng.IntN(3)].Observe(batch(keys[f][from:start]), fmt.Sprint("f", f), f, int64(from+1))
				start = from
			}
		}
		got := v.Results(parts...)
		if got[0].Failures != dups || got[1].Failures != dups {
			t.Fatalf("trial %d: failures %d, %d; want %d", trial, got[0].Failures, got[1].Failures, dups)
		}
		if diff := cmp.Diff(want, got[0].Samples); diff != "" {
			t.Fatalf("trial %d: int samples (-want +got):\n%s", trial, diff)
		}
		wantS := make([]Sample, len(want))
		for i, s := range want {
			s.Value = clip(long+s.Value, uniqueTextBytes)
			wantS[i] = s
		}
		if diff := cmp.Diff(wantS, got[1].Samples); diff != "" {
			t.Fatalf("trial %d: string samples (-want +got):\n%s", trial, diff)
		}
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(nil, nil); err == nil || err.Error() != "validate: no schema given" {
		t.Errorf("New(nil schema) = %v", err)
	}
	_, err := New([]Rule{{Type: NotNull, Column: "id"}, {Type: "between"}}, testSchema)
	want := `rules[1] (between): unknown rule type "between": use one of required, type, notNull, unique, min, max, allowedValues, maxNullFraction, minRows`
	if err == nil || err.Error() != want {
		t.Errorf("New(bad rule) = %v, want %s", err, want)
	}
	v, err := New(testRules[:1], testSchema)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(testRules[:1], v.Rules()); diff != "" {
		t.Errorf("Rules (-want +got):\n%s", diff)
	}
}

func TestEdgeCases(t *testing.T) {
	rules := []Rule{
		{Type: NotNull, Column: "age"},
		{Type: MaxNullFraction, Column: "age", Fraction: f64(0)},
		{Type: Unique, Column: "id"},
		{Type: Min, Column: "age", Min: f64(0)},
		{Type: AllowedValues, Column: "color", Values: []string{"red"}},
	}
	v, err := New(rules, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	// No data at all: nothing fails.
	for _, r := range v.Results() {
		if !r.Passed {
			t.Errorf("empty dataset: %s", r.Message)
		}
	}
	if got := v.Results()[1].Message; got != `maxNullFraction: column "age" has no rows, so no nulls` {
		t.Errorf("empty maxNullFraction message = %q", got)
	}

	// A batch without the age and color columns: age is null there.
	narrow := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(mem, narrow)
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4, 5, 6, 7}, nil)
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()
	p := v.NewPartial()
	p.Observe(rec, "c.csv", 2, 10)
	empty := rec.NewSlice(0, 0)
	defer empty.Release()
	p.Observe(empty, "d.csv", 3, 1)
	res := v.Results(p, nil, (&Validator{}).NewPartial())
	if res[0].Failures != 7 || len(res[0].Samples) != 5 || res[0].Samples[4] != (Sample{File: "c.csv", Row: 14, Value: "null"}) {
		t.Errorf("missing column notNull = %+v", res[0])
	}
	if res[1].Passed || res[1].Message != `maxNullFraction: column "age" is 100% null (7 of 7 rows); expected at most 0%` {
		t.Errorf("missing column maxNullFraction = %+v", res[1])
	}
	for _, i := range []int{2, 3, 4} {
		if !res[i].Passed {
			t.Errorf("rule %d: %s", i, res[i].Message)
		}
	}
}

func TestValueListShortened(t *testing.T) {
	vals := make([]string, 12)
	for i := range vals {
		vals[i] = fmt.Sprint(i)
	}
	want := `["0", "1", "2", "3", "4", "5", "6", "7", "8", "9" … (12 values)]`
	if got := valueList(vals); got != want {
		t.Errorf("valueList = %s, want %s", got, want)
	}
}
