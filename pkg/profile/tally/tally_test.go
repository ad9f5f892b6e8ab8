package tally

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"

	gocmp "github.com/google/go-cmp/cmp"
)

// refTop is the top k of a map by count descending, value ascending,
// computed by sorting everything.
func refTop(m map[string]int64, k int) []Count {
	var all []Count
	for v, n := range m {
		all = append(all, Count{v, n})
	}
	slices.SortFunc(all, func(a, b Count) int {
		if a.N != b.N {
			return cmp.Compare(b.N, a.N)
		}
		return strings.Compare(a.Value, b.Value)
	})
	return all[:min(k, len(all))]
}

func counts(t *Strings) map[string]int64 {
	m := map[string]int64{}
	for i := range t.Len() {
		v, h, n := t.At(i)
		if h != Hash(v) {
			panic("stored hash is not the value's")
		}
		m[v] += n
	}
	return m
}

func randomStrings(r *rand.Rand, n, distinct int) []string {
	pool := make([]string, distinct)
	for i := range pool {
		switch i % 4 {
		case 0:
			pool[i] = fmt.Sprint(i)
		case 1:
			pool[i] = strings.Repeat("x", r.IntN(300)) + fmt.Sprint(i) // shared prefixes
		case 2:
			pool[i] = fmt.Sprintf("%08x-%04x", r.Uint32(), i)
		default:
			pool[i] = string(rune('a'+i%26)) + fmt.Sprint(i)
		}
	}
	pool[0] = "" // the empty string is a value like any other
	out := make([]string, n)
	for i := range out {
		out[i] = pool[int(r.ExpFloat64()*float64(distinct)/4)%distinct]
	}
	return out
}

func TestStringsAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ n, distinct int }{{0, 1}, {1, 1}, {1000, 7}, {50_000, 20_000}, {20_000, 20_000}} {
		vals := randomStrings(r, tc.n, tc.distinct)
		want := map[string]int64{}
		var a, b Strings
		for i, v := range vals {
			want[v]++
			// Split across two tables, as scan workers do.
			if i%3 == 0 {
				a.Add(v)
			} else {
				b.Add(v)
			}
		}
		a.Merge(&b)
		if diff := gocmp.Diff(want, counts(&a)); diff != "" {
			t.Errorf("n=%d: counts (-map +table):\n%s", tc.n, diff)
		}
		if a.Len() != len(want) || a.Total() != int64(tc.n) {
			t.Errorf("n=%d: len %d total %d, want %d %d", tc.n, a.Len(), a.Total(), len(want), tc.n)
		}
		for v, n := range want {
			i, ok := a.Find(Hash(v), v)
			if !ok || a.Count(i) != n {
				t.Fatalf("Find(%q) = %d, %v", v, i, ok)
			}
		}
		if _, ok := a.Find(Hash("never added"), "never added"); ok {
			t.Error("found a value never added")
		}
		if diff := gocmp.Diff(refTop(want, 20), a.Top(20)); diff != "" {
			t.Errorf("n=%d: top (-sorted +table):\n%s", tc.n, diff)
		}
		if tc.n > 0 && a.Bytes() <= 0 {
			t.Errorf("Bytes = %d", a.Bytes())
		}
	}
}

// Values whose 64-bit hashes collide stay distinct: equality is decided on
// the bytes.
func TestStringsHashCollision(t *testing.T) {
	var s Strings
	const h = 0xbeef << 40
	s.AddHash(h, "a", 1)
	s.AddHash(h, "b", 2)
	s.AddHash(h, "a", 3)
	s.AddHash(h|7, "c", 1) // same tag, different hash
	if s.Len() != 3 || s.Total() != 7 {
		t.Fatalf("len %d total %d, want 3 7", s.Len(), s.Total())
	}
	for v, want := range map[string]int64{"a": 4, "b": 2} {
		i, ok := s.Find(h, v)
		if !ok || s.Count(i) != want {
			t.Errorf("%s: found %v, count %d, want %d", v, ok, s.Count(i), want)
		}
	}
	if _, ok := s.Find(h, "c"); ok {
		t.Error("found c under another hash")
	}
}

// A value larger than an arena block gets a block of its own, and views of
// earlier values stay valid as the table grows.
func TestStringsLargeValues(t *testing.T) {
	var s Strings
	big := strings.Repeat("é", maxBlock)
	first := "first"
	s.Add(first)
	v0, _, _ := s.At(0)
	s.Add(big)
	for i := range 10_000 {
		s.Add(fmt.Sprint(i))
	}
	s.Add(big)
	if v, _, n := s.At(1); v != big || n != 2 {
		t.Errorf("big value: len %d, count %d", len(v), n)
	}
	if v0 != first {
		t.Errorf("earlier view changed to %q", v0)
	}
}

func TestStringsReserve(t *testing.T) {
	var s Strings
	s.Reserve(1000)
	slots := len(s.slots)
	for i := range 1000 {
		s.Add(fmt.Sprint(i))
	}
	if len(s.slots) != slots || s.Len() != 1000 {
		t.Errorf("grew from %d to %d slots after Reserve", slots, len(s.slots))
	}
}

func FuzzStrings(f *testing.F) {
	f.Add([]byte("a,b,,a,ccc,b,a"), uint8(2))
	f.Add([]byte(""), uint8(0))
	f.Add([]byte(",,,"), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, k uint8) {
		want := map[string]int64{}
		var a, b Strings
		for i, v := range strings.Split(string(data), ",") {
			want[v]++
			if i%2 == 0 {
				a.Add(v)
			} else {
				b.Add(v)
			}
		}
		b.Merge(&a)
		if diff := gocmp.Diff(want, counts(&b)); diff != "" {
			t.Fatalf("counts (-map +table):\n%s", diff)
		}
		if diff := gocmp.Diff(refTop(want, int(k)), b.Top(int(k)), gocmp.Comparer(func(x, y []Count) bool {
			return len(x) == len(y) && (len(x) == 0 || slices.Equal(x, y))
		})); diff != "" {
			t.Fatalf("top %d (-sorted +table):\n%s", k, diff)
		}
	})
}

func TestTop(t *testing.T) {
	less := func(a, b int) bool { return a < b }
	top := NewTop(3, less)
	if _, full := top.Last(); full {
		t.Error("empty Top is full")
	}
	for _, v := range []int{5, 1, 9, 3, 7, 1, 0} {
		top.Offer(v)
	}
	if diff := gocmp.Diff([]int{0, 1, 1}, top.Sorted()); diff != "" {
		t.Errorf("sorted (-want +got):\n%s", diff)
	}
	if last, full := top.Last(); !full || last != 1 {
		t.Errorf("Last = %d, %v", last, full)
	}
	if top.Would(2) || !top.Would(0) {
		t.Error("Would disagrees with the kept items")
	}
	zero := NewTop(0, less)
	zero.Offer(1)
	if len(zero.Sorted()) != 0 || zero.Would(1) {
		t.Error("Top(0) kept an item")
	}
	if _, full := zero.Last(); full {
		t.Error("Top(0) reports full")
	}
}

func TestInts(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	want := map[int64]int64{}
	var a, b Ints
	for i := range 30_000 {
		v := int64(r.IntN(5000)) - 2500
		if i%7 == 0 {
			v = math.MinInt64 + int64(i%3) // extreme keys hash like any other
		}
		want[v]++
		if i%2 == 0 {
			a.Add(v)
		} else {
			b.Add(v)
		}
	}
	a.Merge(&b)
	got := map[int64]int64{}
	for v, n := range a.All() {
		got[v] = n
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("counts (-map +table):\n%s", diff)
	}
	if a.Len() != len(want) || a.Total() != 30_000 || a.Bytes() <= 0 {
		t.Errorf("len %d total %d bytes %d", a.Len(), a.Total(), a.Bytes())
	}
	for range a.All() {
		break // stopping early is allowed
	}
}

func TestValues(t *testing.T) {
	var a, b Values[int64]
	var want []int64
	for i := range 200_000 {
		v := int64(i*7919) % 100_003
		want = append(want, v)
		if i%5 == 0 {
			b.Append(v)
		} else {
			a.Append(v)
		}
	}
	a.Append() // nothing
	a.Merge(&b)
	b.Merge(&Values[int64]{})
	if a.Len() != len(want) || b.Len() != 0 || a.Bytes() < 8*int64(len(want)) {
		t.Fatalf("len %d (want %d), merged-from len %d, bytes %d", a.Len(), len(want), b.Len(), a.Bytes())
	}
	var fromChunks int
	for c := range a.Chunks() {
		fromChunks += len(c)
		if cap(c) > maxValuesBlock {
			t.Errorf("block of %d values", cap(c))
		}
	}
	got := a.Collect()
	slices.Sort(got)
	slices.Sort(want)
	if fromChunks != len(want) || !slices.Equal(got, want) || a.Len() != 0 {
		t.Error("Collect did not return every value once")
	}
}

func TestDenseFits(t *testing.T) {
	for _, tc := range []struct {
		lo, hi, n int64
		want      bool
	}{
		{1, 1_000_000, 1_000_000, true},
		{0, 1_999_999, 1_000_000, true},
		{0, 2_000_000, 1_000_000, false},
		{5, 5, 1, true},
		{0, 10, 0, false},
		{3, 2, 5, false},
		{-(1 << 53), 0, 1 << 54, false},
		{math.MinInt64, math.MaxInt64, math.MaxInt64, false},
		{0, 1, math.MaxUint32 + 1, false},
	} {
		if got := DenseFits(tc.lo, tc.hi, tc.n); got != tc.want {
			t.Errorf("DenseFits(%d, %d, %d) = %v", tc.lo, tc.hi, tc.n, got)
		}
	}
}

// Dense answers what binary searches on the sorted values answer.
func TestDenseAgainstSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	xs := make([]int64, 5000)
	for i := range xs {
		xs[i] = int64(r.IntN(4000)) - 1000
	}
	lo, hi := slices.Min(xs), slices.Max(xs)
	d := NewDense(lo, hi)
	d.Add(xs[:2000])
	d.Add(xs[2000:])
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	if d.Len() != int64(len(xs)) || d.Bytes() != 4*(hi-lo+1) {
		t.Errorf("len %d bytes %d", d.Len(), d.Bytes())
	}
	if got, want := d.Distinct(), int64(len(slices.Compact(slices.Clone(sorted)))); got != want {
		t.Errorf("distinct = %d, want %d", got, want)
	}
	ranks := []int64{0, 0, 1, 2499, 2500, 4999}
	var want []int64
	for _, k := range ranks {
		want = append(want, sorted[k])
	}
	if diff := gocmp.Diff(want, d.ValuesAt(ranks)); diff != "" {
		t.Errorf("order statistics (-sorted +dense):\n%s", diff)
	}
	edges := []float64{math.Inf(-1), -5000, -1000, -999.5, 0, 0.25, 17, 2998.9999, 2999, 1e300, math.Inf(1)}
	var wantBelow, wantAtMost []int64
	for _, e := range edges {
		b, _ := slices.BinarySearchFunc(sorted, e, func(v int64, e float64) int { return cmp.Compare(float64(v), e) })
		wantBelow = append(wantBelow, int64(b))
		a := len(sorted)
		for i, v := range sorted {
			if float64(v) > e {
				a = i
				break
			}
		}
		wantAtMost = append(wantAtMost, int64(a))
	}
	if diff := gocmp.Diff(wantBelow, d.Below(edges)); diff != "" {
		t.Errorf("below (-sorted +dense):\n%s", diff)
	}
	if diff := gocmp.Diff(wantAtMost, d.AtMost(edges)); diff != "" {
		t.Errorf("at most (-sorted +dense):\n%s", diff)
	}
}

func TestWalkSkipsGaps(t *testing.T) {
	a, b := NewDense(1<<50, 1<<50+1), NewDense(-3, -2)
	a.Add([]int64{1 << 50, 1<<50 + 1})
	b.Add([]int64{-3, -3, -2})
	var got [][2]int64
	Walk(a, b, func(x, y int64) { got = append(got, [2]int64{x, y}) })
	want := [][2]int64{{0, 2}, {0, 3}, {1, 3}, {2, 3}}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("walk (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff([]float64{-3, -3, -2}, b.AppendSorted(nil)); diff != "" {
		t.Errorf("sorted (-want +got):\n%s", diff)
	}
}

func TestWalk(t *testing.T) {
	a, b := NewDense(0, 3), NewDense(2, 5)
	a.Add([]int64{0, 1, 1, 3})
	b.Add([]int64{2, 5, 5})
	var got [][2]int64
	Walk(a, b, func(x, y int64) { got = append(got, [2]int64{x, y}) })
	// Values 0…5: a's CDF counts 1,3,3,4,4,4; b's 0,0,1,1,1,3.
	want := [][2]int64{{1, 0}, {3, 0}, {3, 1}, {4, 1}, {4, 1}, {4, 3}}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("walk (-want +got):\n%s", diff)
	}
}

// The union of any number of tables, overlapping or not, counts what one
// table of every value would.
func TestUnion(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, tables := range []int{0, 1, 2, 3, 5} {
		for _, distinct := range []int{3, 500, 5000} {
			vals := randomStrings(r, 6000, distinct)
			want := map[string]int64{}
			ts := make([]*Strings, tables)
			for i := range ts {
				ts[i] = new(Strings)
			}
			for i, v := range vals {
				if tables == 0 {
					break
				}
				want[v]++
				ts[(i*7/3)%tables].Add(v)
			}
			if tables > 1 {
				ts = append(ts, nil, new(Strings)) // empty tables are allowed
			}
			u := NewUnion(ts...)
			got := map[string]int64{}
			seen := map[int]bool{}
			u.All(func(pos int, v string, h uint64, n int64) {
				if seen[pos] || pos >= u.Positions() || h != Hash(v) {
					t.Fatalf("position %d repeated or out of range, or wrong hash", pos)
				}
				seen[pos] = true
				got[v] += n
				if p, c, ok := u.Find(h, v); !ok || p != pos || c != n {
					t.Fatalf("Find(%q) = %d, %d, %v; All gave %d, %d", v, p, c, ok, pos, n)
				}
			})
			if diff := gocmp.Diff(want, got, gocmp.Comparer(func(a, b map[string]int64) bool {
				return len(a) == len(b) && fmt.Sprint(a) == fmt.Sprint(b)
			})); diff != "" {
				t.Errorf("%d tables, %d values: counts (-map +union):\n%s", tables, distinct, diff)
			}
			if u.Len() != len(want) || u.Total() != int64(len(vals))*int64(min(tables, 1)) {
				t.Errorf("%d tables: len %d total %d", tables, u.Len(), u.Total())
			}
			if diff := gocmp.Diff(refTop(want, 20), u.Top(20), gocmp.Comparer(func(x, y []Count) bool {
				return len(x) == len(y) && (len(x) == 0 || slices.Equal(x, y))
			})); diff != "" {
				t.Errorf("%d tables: top (-sorted +union):\n%s", tables, diff)
			}
			if _, _, ok := u.Find(Hash("absent"), "absent"); ok {
				t.Error("found an absent value")
			}
			if tables > 0 && u.Bytes() <= 0 {
				t.Error("no bytes")
			}
		}
	}
}

func TestSortedFloats(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	inf := math.Inf(1)
	gens := map[string]func(i int) float64{
		"normal":      func(int) float64 { return r.NormFloat64() },
		"decimals":    func(int) float64 { return float64(int(r.ExpFloat64()*30000)) / 100 },
		"long tail":   func(i int) float64 { return math.Exp(r.NormFloat64() * 8) },
		"one outlier": func(i int) float64 { return map[bool]float64{true: 1e300, false: r.Float64()}[i == 7] },
		"infinities":  func(i int) float64 { return []float64{inf, -inf, r.Float64(), 0, math.Copysign(0, -1)}[i%5] },
		"constant":    func(int) float64 { return 3.5 },
		"full range":  func(i int) float64 { return []float64{-math.MaxFloat64, math.MaxFloat64, 1}[i%3] },
		"tiny range":  func(i int) float64 { return 1 + float64(i%3)*5e-324 },
		"subnormals":  func(i int) float64 { return float64(i%1000) * 5e-324 },
	}
	for name, gen := range gens {
		for _, n := range []int{0, 1, 31, 64, 5000, 100_000} {
			var v Values[float64]
			want := make([]float64, n)
			for i := range want {
				want[i] = gen(i)
				v.Append(want[i])
			}
			got := SortedFloats(&v)
			slices.Sort(want)
			if !slices.Equal(want, got) || v.Len() != 0 {
				t.Errorf("%s, %d values: not sorted as slices.Sort sorts them", name, n)
			}
		}
	}
}

// SortFloatKeys sorts in the memory it is given: the result is in keys or
// scratch, the other comes back for the next sort, and a scratch buffer
// too small for the keys is replaced.
func TestSortFloatKeysReusesScratch(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var spare []uint64
	for _, n := range []int{100_000, 5000, 100_000, 250_000, 10} {
		want := make([]float64, n)
		keys := make([]uint64, n)
		for i := range want {
			want[i] = math.Round(r.NormFloat64()*1e4) / 100
			keys[i] = FloatKey(want[i])
		}
		given := spare
		got, next := SortFloatKeys(keys, given)
		slices.Sort(want)
		if !slices.Equal(want, got) {
			t.Fatalf("%d values: not sorted", n)
		}
		if n >= radixMin {
			gotMem := unsafe.Pointer(unsafe.SliceData(got))
			nextMem := unsafe.Pointer(unsafe.SliceData(next))
			keysMem := unsafe.Pointer(unsafe.SliceData(keys))
			if gotMem != keysMem && nextMem != keysMem {
				t.Errorf("%d values: the keys' memory is neither the result nor the spare", n)
			}
			if cap(given) >= n && gotMem != unsafe.Pointer(unsafe.SliceData(given)) && nextMem != unsafe.Pointer(unsafe.SliceData(given)) {
				t.Errorf("%d values: a scratch buffer large enough was not used", n)
			}
		}
		if KeyFloat(FloatKey(-2.5)) != -2.5 || FloatKey(-1) >= FloatKey(math.Copysign(0, -1)) || FloatKey(math.Copysign(0, -1)) >= FloatKey(0) {
			t.Fatal("FloatKey does not order as floats")
		}
		spare = next
	}
}

// KeyFloat undoes FloatKey bit for bit, for every kind of float: the
// radix sort's last pass writes the floats' bits straight from the keys.
func TestKeyFloatInvertsFloatKey(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	xs := []float64{0, math.Copysign(0, -1), 1, -1, math.Inf(1), math.Inf(-1), math.NaN(), -math.NaN(),
		math.Float64frombits(0x7ff0000000000001), math.Float64frombits(0xfff8000000000001),
		5e-324, -5e-324, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64}
	for range 10_000 {
		xs = append(xs, math.Float64frombits(r.Uint64()))
	}
	for _, x := range xs {
		if got := math.Float64bits(KeyFloat(FloatKey(x))); got != math.Float64bits(x) {
			t.Fatalf("KeyFloat(FloatKey(%#x)) = %#x", math.Float64bits(x), got)
		}
	}
	// Keys order as the floats, the sign bit first: −1 < −0 < +0 < 1.
	if k := []uint64{FloatKey(-1), FloatKey(math.Copysign(0, -1)), FloatKey(0), FloatKey(1)}; !slices.IsSorted(k) {
		t.Fatalf("keys %x are out of order", k)
	}
}

// SortFloatKeys runs only the passes whose digit differs between keys,
// and the last of them writes the floats: whichever pass that is, and
// whether the result ends in keys' memory or scratch's, the floats come
// out sorted and bit for bit those given.
func TestSortFloatKeysPasses(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const n = 3 * radixMin
	ulp := func(base float64, k uint64) float64 { return math.Float64frombits(math.Float64bits(base) + k) }
	cases := map[string]func(i int) float64{
		// Only the low digit varies (pass 0 alone runs).
		"low digit only": func(int) float64 { return ulp(1, r.Uint64N(1<<radixBits)) },
		// Low two digits vary, the high bits are those of 1.
		"high bits equal": func(int) float64 { return ulp(1, r.Uint64N(1<<(2*radixBits))) },
		// Only sign and exponent vary: the lower passes are skipped and
		// the top two run.
		"powers of two": func(int) float64 { return math.Ldexp(float64(1-2*int(r.Uint64N(2))), int(r.Uint64N(200))-100) },
		// Negative floats only: keys with every bit flipped.
		"negative": func(int) float64 { return -math.Exp(r.NormFloat64() * 3) },
		// Both signs, zeros of both signs, infinities.
		"mixed": func(i int) float64 {
			return []float64{r.NormFloat64(), 0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), -r.Float64()}[i%6]
		},
		"all equal":          func(int) float64 { return -2.75 },
		"all negative zeros": func(int) float64 { return math.Copysign(0, -1) },
	}
	for name, gen := range cases {
		want := make([]float64, n)
		keys := make([]uint64, n)
		for i := range want {
			want[i] = gen(i)
			keys[i] = FloatKey(want[i])
		}
		slices.SortFunc(want, func(a, b float64) int { return cmp.Compare(FloatKey(a), FloatKey(b)) })
		scratch := make([]uint64, n)
		got, spare := SortFloatKeys(keys, scratch)
		if len(got) != n {
			t.Fatalf("%s: %d floats, want %d", name, len(got), n)
		}
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%s: float %d is %v (%#x), want %v (%#x)", name, i, got[i], math.Float64bits(got[i]), want[i], math.Float64bits(want[i]))
			}
		}
		gotMem, spareMem := unsafe.Pointer(unsafe.SliceData(got)), unsafe.Pointer(unsafe.SliceData(spare))
		keysMem, scratchMem := unsafe.Pointer(unsafe.SliceData(keys)), unsafe.Pointer(unsafe.SliceData(scratch))
		if !(gotMem == keysMem && spareMem == scratchMem || gotMem == scratchMem && spareMem == keysMem) {
			t.Errorf("%s: the result and the spare are not the keys' and the scratch's memory", name)
		}
	}
}
