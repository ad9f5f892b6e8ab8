package split

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"
)

// mixedBatch has one column of every type Partition gathers by hand, plus
// types that go through Take, with nulls sprinkled in.
func mixedBatch(t testing.TB, n int, seed uint64) arrow.RecordBatch {
	rng := rand.New(rand.NewPCG(seed, 99))
	var nulls []int
	for i := range n {
		if rng.IntN(10) == 0 {
			nulls = append(nulls, i)
		}
	}
	v := valid(n, nulls...)
	i8 := array.NewInt8Builder(mem)
	i16 := array.NewInt16Builder(mem)
	i32 := array.NewInt32Builder(mem)
	i64 := array.NewInt64Builder(mem)
	f32 := array.NewFloat32Builder(mem)
	f64 := array.NewFloat64Builder(mem)
	bo := array.NewBooleanBuilder(mem)
	st := array.NewStringBuilder(mem)
	ls := array.NewLargeStringBuilder(mem)
	ts := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"})
	dict := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}).(*array.BinaryDictionaryBuilder)
	list := array.NewListBuilder(mem, arrow.PrimitiveTypes.Int64)
	dec := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 10, Scale: 2})
	builders := []array.Builder{i8, i16, i32, i64, f32, f64, bo, st, ls, ts, dict, list, dec}
	for i := range n {
		if !v[i] {
			for _, b := range builders {
				b.AppendNull()
			}
			continue
		}
		x := rng.Int64N(1_000_000)
		i8.Append(int8(x))
		i16.Append(int16(x))
		i32.Append(int32(x))
		i64.Append(x)
		f32.Append(float32(x) / 7)
		f64.Append(float64(x) / 7)
		bo.Append(x%3 == 0)
		st.Append("s" + strconv.FormatInt(x, 36))
		ls.Append(strconv.FormatInt(x, 10))
		ts.Append(arrow.Timestamp(1_700_000_000_000_000 + x))
		if err := dict.AppendString([]string{"red", "green", "blue"}[x%3]); err != nil {
			t.Fatal(err)
		}
		list.Append(true)
		list.ValueBuilder().(*array.Int64Builder).AppendValues([]int64{x, x + 1}[:1+x%2], nil)
		if err := dec.AppendValueFromString(strconv.FormatInt(x%10000, 10) + ".25"); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{"i8", "i16", "i32", "i64", "f32", "f64", "bool", "str", "lstr", "ts", "dict", "list", "dec"}
	cols := make([]col, len(builders))
	for i, b := range builders {
		cols[i] = col{names[i], b.NewArray()}
		b.Release()
	}
	return newBatch(t, cols...)
}

func TestPartition(t *testing.T) {
	const n = 3000
	full := mixedBatch(t, n, 1)
	// A slice with a non-zero offset checks that every gather honours it.
	rec := full.NewSlice(17, n-5)
	defer rec.Release()
	for _, key := range []string{"", "i64"} {
		s := spec811
		s.Key = key
		a := mustAssigner(t, s, rec)
		assigned := assign(a, rec)
		rows := texts(rec)
		want := make([][][]string, 3)
		for i, sp := range assigned {
			want[sp] = append(want[sp], rows[i])
		}

		parts, err := a.Partition(rec)
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != 3 {
			t.Fatalf("key %q: %d parts, want 3", key, len(parts))
		}
		for sp, part := range parts {
			if !part.Schema().Equal(rec.Schema()) {
				t.Errorf("key %q split %d: schema %v, want %v", key, sp, part.Schema(), rec.Schema())
			}
			if len(want[sp]) == 0 {
				t.Fatalf("key %q: split %d is empty; the test needs rows in every split", key, sp)
			}
			if diff := cmp.Diff(want[sp], texts(part)); diff != "" {
				t.Errorf("key %q split %d rows (-want +got):\n%s", key, sp, diff)
			}
			for c := range int(part.NumCols()) {
				arr := part.Column(c)
				if v, ok := arr.(interface{ ValidateFull() error }); ok {
					if err := v.ValidateFull(); err != nil {
						t.Errorf("key %q split %d column %s invalid: %v", key, sp, part.Schema().Field(c).Name, err)
					}
				}
				nulls := 0
				for i := range arr.Len() {
					if arr.IsNull(i) {
						nulls++
					}
				}
				if nulls != arr.NullN() {
					t.Errorf("key %q split %d column %s: NullN %d, but %d rows are null", key, sp, part.Schema().Field(c).Name, arr.NullN(), nulls)
				}
			}
			// Re-assigning a partition's rows gives its own index: the
			// split travels with the row.
			for i, got := range assign(a, part) {
				if int(got) != sp {
					t.Fatalf("key %q: row %d of split %d re-assigns to %d", key, i, sp, got)
				}
			}
			part.Release()
		}
	}
}

func TestPartitionEdgeCases(t *testing.T) {
	rec := idBatch(t, 0, 50)
	one := mustAssigner(t, Spec{Names: []string{"all", "none"}, Ratios: []float64{1, 1e-12}}, rec)
	parts, err := one.Partition(rec)
	if err != nil {
		t.Fatal(err)
	}
	if parts[0].NumRows() != 50 || parts[1].NumRows() != 0 || parts[1].NumCols() != 2 {
		t.Errorf("single-split partition sizes %d, %d (cols %d); want 50, 0 (cols 2)", parts[0].NumRows(), parts[1].NumRows(), parts[1].NumCols())
	}
	if parts[0].Column(0) != rec.Column(0) {
		t.Error("a batch entirely in one split was copied instead of shared")
	}
	for _, p := range parts {
		p.Release()
	}

	empty := rec.NewSlice(0, 0)
	defer empty.Release()
	parts, err = mustAssigner(t, spec811, rec).Partition(empty)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range parts {
		if p.NumRows() != 0 {
			t.Errorf("split %d of an empty batch has %d rows", i, p.NumRows())
		}
		p.Release()
	}

	// A split too small to receive any of 50 rows: the 0-row batch of a
	// multi-split partition is still well formed.
	s := Spec{Names: []string{"a", "b", "c"}, Ratios: []float64{0.5, 0.5 - 1e-12, 1e-12}}
	two := mustAssigner(t, s, rec)
	parts, err = two.Partition(rec)
	if err != nil {
		t.Fatal(err)
	}
	if parts[2].NumRows() != 0 || parts[0].NumRows()+parts[1].NumRows() != 50 {
		t.Errorf("sizes %d %d %d, want x, 50-x, 0", parts[0].NumRows(), parts[1].NumRows(), parts[2].NumRows())
	}
	for _, p := range parts {
		p.Release()
	}
}

func TestPartitionAllNullColumns(t *testing.T) {
	const n = 40
	v := valid(n, allRows(n)...)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)
	}
	rec := newBatch(t,
		col{"id", ints(ids, nil)},
		col{"nul", array.NewNull(n)},
		col{"s", strs(make([]string, n), v)},
		col{"f", floats(make([]float64, n), v)},
		col{"b", bools(make([]bool, n), v)},
	)
	a := mustAssigner(t, spec811, rec)
	parts, err := a.Partition(rec)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range parts {
		for c := 1; c < int(p.NumCols()); c++ {
			if p.Column(c).NullN() != p.Column(c).Len() {
				t.Errorf("column %d: %d nulls of %d", c, p.Column(c).NullN(), p.Column(c).Len())
			}
		}
		total += int(p.NumRows())
		p.Release()
	}
	if total != n {
		t.Errorf("partitions hold %d rows, want %d", total, n)
	}
}

// benchBatch is about what a build sees: 8 columns of mixed types.
func benchBatch(b *testing.B, n int) arrow.RecordBatch {
	rng := rand.New(rand.NewPCG(3, 4))
	ids := make([]int64, n)
	ages := make([]int64, n)
	x1 := make([]float64, n)
	x2 := make([]float64, n)
	cities := make([]string, n)
	notes := make([]string, n)
	flags := make([]bool, n)
	tsb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"})
	for i := range n {
		ids[i] = int64(i)
		ages[i] = 18 + rng.Int64N(70)
		x1[i] = rng.NormFloat64()
		x2[i] = rng.Float64() * 1000
		cities[i] = []string{"Paris", "Lyon", "Berlin", "Oslo", "Rome"}[rng.IntN(5)]
		notes[i] = fmt.Sprintf("note %d with some text", rng.IntN(100000))
		flags[i] = rng.IntN(2) == 0
		tsb.Append(arrow.Timestamp(1_700_000_000_000_000 + int64(i)*1000))
	}
	ts := tsb.NewArray()
	tsb.Release()
	return newBatch(b,
		col{"id", ints(ids, nil)}, col{"age", ints(ages, valid(n, 5, 50, 500))},
		col{"x1", floats(x1, nil)}, col{"x2", floats(x2, nil)},
		col{"city", strs(cities, nil)}, col{"note", strs(notes, valid(n, 7))},
		col{"flag", bools(flags, nil)}, col{"ts", ts},
	)
}

// BenchmarkPartition measures assignment (content hash) plus gathering of
// one 64Ki-row batch of 8 mixed columns; rows/s extrapolates to a build.
func BenchmarkPartition(b *testing.B) {
	const n = 1 << 16
	rec := benchBatch(b, n)
	for _, key := range []string{"", "id"} {
		name := "content"
		if key != "" {
			name = "key"
		}
		b.Run(name, func(b *testing.B) {
			s := spec811
			s.Key = key
			a := mustAssigner(b, s, rec)
			b.ReportAllocs()
			for b.Loop() {
				parts, err := a.Partition(rec)
				if err != nil {
					b.Fatal(err)
				}
				for _, p := range parts {
					p.Release()
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	b.Run("assign-only", func(b *testing.B) {
		a := mustAssigner(b, spec811, rec)
		out := make([]uint8, n)
		for b.Loop() {
			a.Assign(rec, out)
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// TestConcurrentUse runs Assign and Partition from several goroutines on one
// Assigner (run with -race): results must match a sequential run.
func TestConcurrentUse(t *testing.T) {
	rec := mixedBatch(t, 2000, 5)
	a := mustAssigner(t, spec811, rec)
	want := assign(a, rec)
	errs := make(chan string, 8)
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			if g%2 == 0 {
				if got := assign(a, rec); !cmp.Equal(want, got) {
					errs <- "Assign differs under concurrency"
				}
				return
			}
			parts, err := a.Partition(rec)
			if err != nil {
				errs <- err.Error()
				return
			}
			for s, p := range parts {
				for _, got := range assign(a, p) {
					if int(got) != s {
						errs <- "a partition holds a row of another split"
						break
					}
				}
				p.Release()
			}
		}()
	}
	for range 8 {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// A dictionary column (int32 indices, as a Parquet reader gives a
// dictionary-encoded string column) is split by its indices: each split's
// array shares the dictionary, and its rows — nulls included — are the
// rows the split's plain strings would be.
func TestPartitionDictionaryColumn(t *testing.T) {
	const n = 2000
	db := array.NewStringBuilder(memory.DefaultAllocator)
	defer db.Release()
	db.AppendValues([]string{"red", "green", "blue", "never used"}, nil)
	dict := db.NewArray()
	defer dict.Release()
	ib := array.NewInt32Builder(memory.DefaultAllocator)
	defer ib.Release()
	keys := array.NewInt64Builder(memory.DefaultAllocator)
	defer keys.Release()
	for i := range n {
		keys.Append(int64(i))
		if i%9 == 4 {
			ib.AppendNull()
		} else {
			ib.Append(int32(i % 3))
		}
	}
	idx := ib.NewArray()
	defer idx.Release()
	da := array.NewDictionaryArray(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, idx, dict)
	defer da.Release()
	k := keys.NewArray()
	defer k.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "color", Type: da.DataType(), Nullable: true}}, nil)
	full := array.NewRecordBatch(schema, []arrow.Array{k, da}, n)
	defer full.Release()
	rec := full.NewSlice(5, n-3) // an offset, which the gather must honour
	defer rec.Release()

	s := spec811
	s.Key = "id"
	a := mustAssigner(t, s, rec)
	rows := texts(rec)
	want := make([][][]string, 3)
	for i, sp := range assign(a, rec) {
		want[sp] = append(want[sp], rows[i])
	}
	parts, err := a.Partition(rec)
	if err != nil {
		t.Fatal(err)
	}
	for sp, part := range parts {
		got, ok := part.Column(1).(*array.Dictionary)
		if !ok {
			t.Fatalf("split %d: color is a %s, want the dictionary type", sp, part.Column(1).DataType())
		}
		if !array.Equal(got.Dictionary(), dict) {
			t.Errorf("split %d: dictionary %v, want %v", sp, got.Dictionary(), dict)
		}
		if got.Len() != len(want[sp]) || got.Indices().Len() != got.Len() {
			t.Errorf("split %d: %d rows (%d indices), want %d", sp, got.Len(), got.Indices().Len(), len(want[sp]))
		}
		if len(want[sp]) == 0 {
			t.Fatalf("split %d is empty; the test needs rows in every split", sp)
		}
		if diff := cmp.Diff(want[sp], texts(part)); diff != "" {
			t.Errorf("split %d rows (-want +got):\n%s", sp, diff)
		}
		nulls := 0
		for _, r := range want[sp] {
			if r[1] == array.NullValueStr {
				nulls++
			}
		}
		if got.NullN() != nulls || nulls == 0 {
			t.Errorf("split %d: %d nulls, want %d (and some)", sp, got.NullN(), nulls)
		}
		part.Release()
	}
}
