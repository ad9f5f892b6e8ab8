package drift

import (
	"math"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A float dictionary array, sliced at offsets that do not fall on a byte of
// validity bits and with nulls and NaN, gives the keys its values give.
func TestAddDictionaryMatchesValues(t *testing.T) {
	addDictionaryMatchesValues(t, []float64{2.5, math.NaN(), -1, math.Copysign(0, -1), math.Inf(1), 7})
	addDictionaryMatchesValues(t, []float64{2.5, 3.25, -1, math.Copysign(0, -1), math.Inf(1), 7})
}

func addDictionaryMatchesValues(t *testing.T, dict []float64) {
	db := array.NewFloat64Builder(memory.DefaultAllocator)
	db.AppendValues(dict, nil)
	darr := db.NewArray()
	defer darr.Release()
	ib := array.NewInt32Builder(memory.DefaultAllocator)
	fb := array.NewFloat64Builder(memory.DefaultAllocator)
	for r := range 203 {
		if r%9 == 4 || r%31 == 0 {
			ib.AppendNull()
			fb.AppendNull()
			continue
		}
		c := int32((r * 7) % len(dict))
		if r%50 < 20 {
			c = int32((r * 7) % 3 * 2) // no NaN in these rows
		}
		ib.Append(c)
		fb.Append(dict[c])
	}
	idx, vals := ib.NewArray(), fb.NewArray()
	defer idx.Release()
	defer vals.Release()
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.PrimitiveTypes.Float64}
	full := array.NewDictionaryArray(dt, idx, darr)
	defer full.Release()
	for _, cut := range [][2]int64{{0, 203}, {3, 203}, {5, 77}, {11, 20}, {16, 200}, {0, 60}} {
		d := array.NewSlice(full, cut[0], cut[1]).(*array.Dictionary)
		v := array.NewSlice(vals, cut[0], cut[1])
		for _, hint := range []int64{0, 1000} {
			got, want := newNumSide(arrow.PrimitiveTypes.Float64, newKeyStore(hint), 0), newNumSide(arrow.PrimitiveTypes.Float64, newKeyStore(hint), 0)
			var fbuf []float64
			var ibuf []int64
			var dkeys []uint64
			if err := got.add(d, &fbuf, &ibuf, &dkeys); err != nil {
				t.Fatal(err)
			}
			if err := want.add(v, &fbuf, &ibuf, &dkeys); err != nil {
				t.Fatal(err)
			}
			g, w := slices.Clone(got.keys.all()), slices.Clone(want.keys.all())
			if got.n != want.n || !slices.Equal(g, w) || got.n == 0 {
				t.Errorf("rows %v, hint %d: %d keys %v, want %d %v", cut, hint, got.n, g, want.n, w)
			}
		}
		d.Release()
		v.Release()
	}
}

// One worker's side reading batches whose dictionaries change (a row
// group's dictionary serves several batches, the next one's may hold NaN)
// checks each new dictionary for NaN: the keys are those of the values.
func TestAddDictionarySequence(t *testing.T) {
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.PrimitiveTypes.Float64}
	dictOf := func(xs ...float64) arrow.Array {
		b := array.NewFloat64Builder(memory.DefaultAllocator)
		b.AppendValues(xs, nil)
		return b.NewArray()
	}
	clean, withNaN := dictOf(1.5, -2, 8), dictOf(math.NaN(), 4, -0.5)
	defer clean.Release()
	defer withNaN.Release()
	batch := func(dict arrow.Array, codes ...int32) (*array.Dictionary, arrow.Array) {
		ib := array.NewInt32Builder(memory.DefaultAllocator)
		ib.AppendValues(codes, nil)
		idx := ib.NewArray()
		defer idx.Release()
		fb := array.NewFloat64Builder(memory.DefaultAllocator)
		for _, c := range codes {
			fb.Append(dict.(*array.Float64).Value(int(c)))
		}
		return array.NewDictionaryArray(dt, idx, dict), fb.NewArray()
	}
	got := newNumSide(arrow.PrimitiveTypes.Float64, newKeyStore(0), 0)
	want := newNumSide(arrow.PrimitiveTypes.Float64, newKeyStore(0), 0)
	var fbuf []float64
	var ibuf []int64
	var dkeys []uint64
	for _, b := range []struct {
		dict  arrow.Array
		codes []int32
	}{{clean, []int32{0, 1, 2, 2}}, {clean, []int32{1}}, {withNaN, []int32{0, 1, 2, 0}}, {withNaN, []int32{2}}, {clean, []int32{2, 0}}} {
		d, v := batch(b.dict, b.codes...)
		if err := got.add(d, &fbuf, &ibuf, &dkeys); err != nil {
			t.Fatal(err)
		}
		if err := want.add(v, &fbuf, &ibuf, &dkeys); err != nil {
			t.Fatal(err)
		}
		d.Release()
		v.Release()
	}
	g, w := slices.Clone(got.keys.all()), slices.Clone(want.keys.all())
	slices.Sort(g)
	slices.Sort(w)
	if got.n != 10 || want.n != 10 || !slices.Equal(g, w) {
		t.Errorf("%d keys %v, want 10: %v", got.n, g, w)
	}
}
