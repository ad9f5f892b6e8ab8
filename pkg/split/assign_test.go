package split

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/google/go-cmp/cmp"
)

var spec811 = Spec{Names: []string{"train", "validation", "test"}, Ratios: []float64{0.8, 0.1, 0.1}, Seed: 42}

func mustAssigner(t testing.TB, spec Spec, rec arrow.RecordBatch) *Assigner {
	t.Helper()
	a, err := NewAssigner(spec, rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func hashes(a *Assigner, rec arrow.RecordBatch) []uint64 {
	out := make([]uint64, rec.NumRows())
	a.eachHash(rec, func(i int, h uint64) { out[i] = h })
	return out
}

func assign(a *Assigner, rec arrow.RecordBatch) []uint8 {
	out := make([]uint8, rec.NumRows())
	a.Assign(rec, out)
	return out
}

// TestKnownRows pins the hash and split of a few rows. Each expected hash is
// `xxhsum -H64` (XXH64, seed 0) of the bytes given in the comment, built by
// hand from the encoding in the package doc; the split follows from
// h/2^64 against the cumulative ratios 0.8 and 0.9:
//
//	0x279c79bd3d7570f1/2^64 = 0.1547 → train
//	0xe4f02516e1cf83da/2^64 = 0.8943 → validation
//	0xf119094bf20bb9f5/2^64 = 0.9418 → test
func TestKnownRows(t *testing.T) {
	content := newBatch(t,
		col{"name", strs([]string{"x", "x"}, nil)},
		col{"id", ints([]int64{1, 10}, nil)},
	)
	// 2a00000000000000 | 02 'id' 'i' 0100000000000000 | 04 'name' 's' 01 'x'
	// (seed 42 LE; columns in name order whatever the batch order)
	a := mustAssigner(t, spec811, content)
	if diff := cmp.Diff([]uint64{0x279c79bd3d7570f1, 0xe4f02516e1cf83da}, hashes(a, content)); diff != "" {
		t.Errorf("content hashes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint8{0, 1}, assign(a, content)); diff != "" {
		t.Errorf("content splits (-want +got):\n%s", diff)
	}

	keyed := newBatch(t,
		col{"user", ints([]int64{7, 2, 0}, valid(3, 2))},
		col{"ts", anyArray(t, &arrow.TimestampType{Unit: arrow.Millisecond}, int64(1_700_000_000_500), nil, nil)},
		col{"f", floats([]float64{1.5, 0, 0}, nil)},
	)
	tests := []struct {
		key   string
		want  []uint64
		split []uint8
	}{
		// 2a00000000000000 'i' 0700000000000000; …0200…; null key: 2a00000000000000 'n'
		{"user", []uint64{0xf119094bf20bb9f5, 0xe32c749777596f3c, 0xcc92cc96e234db28}, []uint8{2, 1, 0}},
		// 2a00000000000000 't' 00f1536500000000 (1700000000 s) 0065cd1d (5e8 ns)
		{"ts", []uint64{0x4ee15a720637bc7d, 0xcc92cc96e234db28, 0xcc92cc96e234db28}, []uint8{0, 0, 0}},
		// 2a00000000000000 'f' 000000000000f83f (1.5); 0.0 is the integer 0
		{"f", []uint64{0x19b8056ab6855e04}, []uint8{0}},
	}
	for _, tt := range tests {
		s := spec811
		s.Key = tt.key
		a := mustAssigner(t, s, keyed)
		got := hashes(a, keyed)[:len(tt.want)]
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("key %s: hashes (-want +got):\n%s", tt.key, diff)
		}
		if diff := cmp.Diff(tt.split, assign(a, keyed)[:len(tt.split)]); diff != "" {
			t.Errorf("key %s: splits (-want +got):\n%s", tt.key, diff)
		}
	}

	// Stratified: 2a00000000000000 | 's' 01 'a' | 'i' 0100000000000000
	strat := newBatch(t, col{"user", ints([]int64{1}, nil)}, col{"label", strs([]string{"a"}, nil)})
	s := spec811
	s.Key, s.StratifyBy = "user", "label"
	if got := hashes(mustAssigner(t, s, strat), strat)[0]; got != 0x5ea3e36d7d481852 {
		t.Errorf("stratified hash = %#x, want 0x5ea3e36d7d481852", got)
	}
}

// keyHash hashes a one-row, one-column batch used as the key.
func keyHash(t *testing.T, arr arrow.Array) uint64 {
	t.Helper()
	rec := newBatch(t, col{"k", arr})
	s := spec811
	s.Key = "k"
	return hashes(mustAssigner(t, s, rec), rec)[0]
}

func TestCanonicalValues(t *testing.T) {
	f16 := array.NewFloat16Builder(mem)
	f16.Append(float16.New(5))
	f16arr := f16.NewArray()
	f16.Release()

	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}
	groups := []struct {
		name string
		arrs []arrow.Array
	}{
		{"five", []arrow.Array{
			anyArray(t, arrow.PrimitiveTypes.Int64, int64(5)),
			anyArray(t, arrow.PrimitiveTypes.Int32, int32(5)),
			anyArray(t, arrow.PrimitiveTypes.Int16, int16(5)),
			anyArray(t, arrow.PrimitiveTypes.Int8, int8(5)),
			anyArray(t, arrow.PrimitiveTypes.Uint8, uint8(5)),
			anyArray(t, arrow.PrimitiveTypes.Uint16, uint16(5)),
			anyArray(t, arrow.PrimitiveTypes.Uint32, uint32(5)),
			anyArray(t, arrow.PrimitiveTypes.Uint64, uint64(5)),
			anyArray(t, arrow.PrimitiveTypes.Float64, 5.0),
			anyArray(t, arrow.PrimitiveTypes.Float32, float32(5)),
			f16arr,
		}},
		{"zero", []arrow.Array{
			anyArray(t, arrow.PrimitiveTypes.Int64, int64(0)),
			anyArray(t, arrow.PrimitiveTypes.Float64, math.Copysign(0, -1)),
		}},
		{"nan", []arrow.Array{
			anyArray(t, arrow.PrimitiveTypes.Float64, math.NaN()),
			anyArray(t, arrow.PrimitiveTypes.Float64, math.Float64frombits(0xfff8000000000001)),
			anyArray(t, arrow.PrimitiveTypes.Float32, float32(math.NaN())),
		}},
		{"2^63", []arrow.Array{
			anyArray(t, arrow.PrimitiveTypes.Uint64, uint64(1)<<63),
			anyArray(t, arrow.PrimitiveTypes.Float64, 0x1p63),
		}},
		{"-2^63", []arrow.Array{
			anyArray(t, arrow.PrimitiveTypes.Int64, int64(math.MinInt64)),
			anyArray(t, arrow.PrimitiveTypes.Float64, -0x1p63),
		}},
		{"instant -1.5 s", []arrow.Array{
			anyArray(t, &arrow.TimestampType{Unit: arrow.Millisecond}, int64(-1500)),
			anyArray(t, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, int64(-1_500_000)),
			anyArray(t, &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "Europe/Paris"}, int64(-1_500_000_000)),
			anyArray(t, arrow.FixedWidthTypes.Date64, int64(-1500)),
		}},
		{"instant 86400 s", []arrow.Array{
			anyArray(t, &arrow.TimestampType{Unit: arrow.Second}, int64(86400)),
			anyArray(t, &arrow.TimestampType{Unit: arrow.Nanosecond}, int64(86400_000_000_000)),
		}},
		{"day 1", []arrow.Array{
			anyArray(t, arrow.FixedWidthTypes.Date32, int32(1)),
			anyArray(t, arrow.FixedWidthTypes.Date64, int64(86_400_000)),
		}},
		{"text", []arrow.Array{
			anyArray(t, arrow.BinaryTypes.String, "héllo"),
			anyArray(t, arrow.BinaryTypes.LargeString, "héllo"),
			anyArray(t, arrow.BinaryTypes.StringView, "héllo"),
			anyArray(t, dictType, "héllo"),
		}},
		{"bytes", []arrow.Array{
			anyArray(t, arrow.BinaryTypes.Binary, []byte("héllo")),
			anyArray(t, arrow.BinaryTypes.LargeBinary, "aMOpbGxv"), // base64 of héllo
			anyArray(t, arrow.BinaryTypes.BinaryView, "aMOpbGxv"),
			anyArray(t, &arrow.FixedSizeBinaryType{ByteWidth: 6}, "aMOpbGxv"),
		}},
		{"decimal", []arrow.Array{
			anyArray(t, &arrow.Decimal128Type{Precision: 5, Scale: 2}, "1.50"),
		}},
		{"bool", []arrow.Array{anyArray(t, arrow.FixedWidthTypes.Boolean, "true")}},
		{"bool false", []arrow.Array{anyArray(t, arrow.FixedWidthTypes.Boolean, "false")}},
		{"1.5", []arrow.Array{
			anyArray(t, arrow.PrimitiveTypes.Float64, 1.5),
			anyArray(t, arrow.PrimitiveTypes.Float32, float32(1.5)),
		}},
		{"+Inf", []arrow.Array{anyArray(t, arrow.PrimitiveTypes.Float64, math.Inf(1))}},
	}
	seen := map[uint64]string{}
	for _, g := range groups {
		want := keyHash(t, g.arrs[0])
		for _, arr := range g.arrs[1:] {
			if got := keyHash(t, arr); got != want {
				t.Errorf("%s: %s hashes to %#x, %s to %#x; want equal", g.name, g.arrs[0].DataType(), want, arr.DataType(), got)
			}
		}
		if other, dup := seen[want]; dup {
			t.Errorf("%s hashes like %s", g.name, other)
		}
		seen[want] = g.name
	}
}

func TestContentIgnoresNullsAndOrder(t *testing.T) {
	const n = 2000
	ids := make([]int64, n)
	names := make([]string, n)
	for i := range ids {
		ids[i] = int64(i * 7919)
		names[i] = "n" + strconv.Itoa(i%37)
	}
	base := newBatch(t, col{"id", ints(ids, nil)}, col{"name", strs(names, valid(n, 3, 5))})
	a := mustAssigner(t, spec811, base)
	want := assign(a, base)

	floatsIDs := make([]float64, n)
	for i, v := range ids {
		floatsIDs[i] = float64(v)
	}
	// New rows carry a value in the added column, old rows do not: the
	// column is not all-null, so the per-row skip is exercised.
	extra := make([]string, n)
	extraValid := valid(n)
	for i := range extraValid {
		extraValid[i] = i >= n/2
	}
	variants := map[string]arrow.RecordBatch{
		"reordered":   newBatch(t, col{"name", strs(names, valid(n, 3, 5))}, col{"id", ints(ids, nil)}),
		"widened":     newBatch(t, col{"id", floats(floatsIDs, nil)}, col{"name", strs(names, valid(n, 3, 5))}),
		"null column": newBatch(t, col{"id", ints(ids, nil)}, col{"name", strs(names, valid(n, 3, 5))}, col{"new", strs(extra, valid(n, allRows(n)...))}),
		"null type":   newBatch(t, col{"id", ints(ids, nil)}, col{"zz", array.NewNull(n)}, col{"name", strs(names, valid(n, 3, 5))}),
		"half null":   newBatch(t, col{"id", ints(ids, nil)}, col{"a_new", strs(extra, extraValid)}, col{"name", strs(names, valid(n, 3, 5))}),
	}
	for name, rec := range variants {
		got := assign(a, rec)
		limit := n
		if name == "half null" {
			limit = n / 2 // only old rows must keep their split
		}
		if diff := cmp.Diff(want[:limit], got[:limit]); diff != "" {
			t.Errorf("%s moved rows (-want +got):\n%s", name, diff)
		}
	}
	// A value in a new column does change the content, so some new rows move.
	got := assign(a, variants["half null"])
	if cmp.Equal(want[n/2:], got[n/2:]) {
		t.Error("non-null values of an added column did not change any row's content hash")
	}
}

func allRows(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// idBatch builds rows id = from … to-1 with a second column derived from id.
func idBatch(t testing.TB, from, to int) arrow.RecordBatch {
	ids := make([]int64, to-from)
	vals := make([]float64, to-from)
	for i := range ids {
		ids[i] = int64(from + i)
		vals[i] = float64(from+i) / 3
	}
	return newBatch(t, col{"id", ints(ids, nil)}, col{"v", floats(vals, nil)})
}

func TestRatios(t *testing.T) {
	const n = 100_000
	rec := idBatch(t, 0, n)
	for _, ratios := range [][]float64{{0.8, 0.1, 0.1}, {0.7, 0.3}} {
		names := []string{"a", "b", "c"}[:len(ratios)]
		for _, key := range []string{"", "id"} {
			a := mustAssigner(t, Spec{Names: names, Ratios: ratios, Seed: 1, Key: key}, rec)
			counts := make([]int, len(ratios))
			for _, s := range assign(a, rec) {
				counts[s]++
			}
			for i, r := range ratios {
				share := float64(counts[i]) / n
				if math.Abs(share-r) > 0.005 {
					t.Errorf("ratios %v key %q: split %d has share %.4f, want %.2f ± 0.005", ratios, key, i, share, r)
				}
			}
		}
	}
}

func TestDeterministicAcrossBatches(t *testing.T) {
	const n = 10_000
	whole := idBatch(t, 0, n)
	for _, key := range []string{"", "id"} {
		s := spec811
		s.Key = key
		a := mustAssigner(t, s, whole)
		want := assign(a, whole)

		rng := rand.New(rand.NewPCG(1, 2))
		var got []uint8
		for start := 0; start < n; {
			end := min(n, start+1+rng.IntN(900))
			// Half the chunks are slices (non-zero offsets), half fresh batches.
			var chunk arrow.RecordBatch
			if start%2 == 0 {
				chunk = whole.NewSlice(int64(start), int64(end))
				defer chunk.Release()
			} else {
				chunk = idBatch(t, start, end)
			}
			got = append(got, assign(a, chunk)...)
			start = end
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("key %q: chunked assignment differs (-whole +chunked):\n%s", key, diff)
		}
		// Reversing the rows must reverse the assignment: position plays no part.
		rev := idBatchReversed(t, n)
		back := assign(a, rev)
		for i := range back {
			if back[i] != want[n-1-i] {
				t.Fatalf("key %q: reversed row %d assigned %d, want %d", key, i, back[i], want[n-1-i])
			}
		}
	}
}

func idBatchReversed(t testing.TB, n int) arrow.RecordBatch {
	ids := make([]int64, n)
	vals := make([]float64, n)
	for i := range ids {
		ids[i] = int64(n - 1 - i)
		vals[i] = float64(n-1-i) / 3
	}
	return newBatch(t, col{"id", ints(ids, nil)}, col{"v", floats(vals, nil)})
}

func TestSeedChangesAssignments(t *testing.T) {
	const n = 20_000
	rec := idBatch(t, 0, n)
	s1, s2 := spec811, spec811
	s1.Seed, s2.Seed = 1, 2
	a1, a2 := assign(mustAssigner(t, s1, rec), rec), assign(mustAssigner(t, s2, rec), rec)
	moved := 0
	for i := range a1 {
		if a1[i] != a2[i] {
			moved++
		}
	}
	// Independent assignments agree with probability 0.8² + 0.1² + 0.1² =
	// 0.66, so about 34% of rows move; allow ±2 points (≈ 6 sigma).
	if share := float64(moved) / n; share < 0.32 || share > 0.36 {
		t.Errorf("changing the seed moved %.3f of rows, want about 0.34", share)
	}
}

func TestKeySplit(t *testing.T) {
	// Three users, each with rows whose other columns differ: every row of a
	// user lands in the user's split.
	users := []int64{7, 7, 2, 2, 2, 22, 7, 22}
	other := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	rec := newBatch(t, col{"user", ints(users, nil)}, col{"x", strs(other, nil)})
	s := spec811
	s.Key = "user"
	a := mustAssigner(t, s, rec)
	// user 7 → test (hash 0xf119…, u = 0.94), 2 → validation (u = 0.89),
	// 22 → test (0xff52…, u = 0.997), all computed with xxhsum as in TestKnownRows.
	want := []uint8{2, 2, 1, 1, 1, 2, 2, 2}
	if diff := cmp.Diff(want, assign(a, rec)); diff != "" {
		t.Errorf("key split (-want +got):\n%s", diff)
	}
	// A batch without the key column reads as null keys: one split for all.
	noKey := newBatch(t, col{"x", strs(other, nil)})
	for i, got := range assign(a, noKey) {
		if got != 0 { // the null tag hashes to u = 0.799 → train
			t.Errorf("row %d without key assigned %d, want 0", i, got)
		}
	}
}

func TestStratifyMixesStratum(t *testing.T) {
	const n = 20_000
	ids := make([]int64, n)
	labels := make([]string, n)
	for i := range ids {
		ids[i] = int64(i)
		labels[i] = []string{"cat", "dog"}[i%2]
	}
	rec := newBatch(t, col{"id", ints(ids, nil)}, col{"label", strs(labels, valid(n, 0))})
	plain, strat := spec811, spec811
	plain.Key, strat.Key, strat.StratifyBy = "id", "id", "label"
	a := mustAssigner(t, strat, rec)
	p, q := assign(mustAssigner(t, plain, rec), rec), assign(a, rec)
	if cmp.Equal(p, q) {
		t.Fatal("the stratum value did not change any assignment")
	}
	c := a.NewCounts()
	a.Count(c, rec, q)
	for label, rows := range c.Strata {
		total := rows[0] + rows[1] + rows[2]
		if share := float64(rows[0]) / float64(total); math.Abs(share-0.8) > 0.015 {
			t.Errorf("stratum %s: train share %.3f, want 0.8 ± 0.015", label, share)
		}
	}
	if got := c.NullStratum; len(got) != 3 || got[0]+got[1]+got[2] != 1 {
		t.Errorf("NullStratum = %v, want one row", got)
	}
	if got := c.Strata["cat"]; got[0]+got[1]+got[2] != n/2-1 {
		t.Errorf("cat rows = %v, want %d in all", got, n/2-1)
	}
}

func TestCountsMerge(t *testing.T) {
	rec := newBatch(t, col{"id", ints([]int64{7, 2, 22, 1}, nil)}, col{"label", strs([]string{"a", "b", "a", ""}, valid(4, 3))})
	s := spec811
	s.Key, s.StratifyBy = "id", "label"
	a := mustAssigner(t, s, rec)
	assigned := assign(a, rec)

	whole := a.NewCounts()
	a.Count(whole, rec, assigned)

	// The same rows counted in two parts and merged give the same counts.
	part1, part2 := a.NewCounts(), a.NewCounts()
	r1, r2 := rec.NewSlice(0, 2), rec.NewSlice(2, 4)
	defer r1.Release()
	defer r2.Release()
	a.Count(part1, r1, assigned[:2])
	a.Count(part2, r2, assigned[2:])
	merged := &Counts{Names: whole.Names}
	for _, p := range []*Counts{part1, part2} {
		if err := merged.Merge(p); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(whole, merged); diff != "" {
		t.Errorf("merged counts differ (-whole +merged):\n%s", diff)
	}
	var total int64
	for _, r := range whole.Rows {
		total += r
	}
	if total != 4 {
		t.Errorf("counted %d rows, want 4", total)
	}
	if err := merged.Merge(&Counts{Names: []string{"x"}}); err == nil {
		t.Error("merging counts of other splits succeeded")
	}
	plain := mustAssigner(t, spec811, rec)
	c := plain.NewCounts()
	plain.Count(c, rec, assign(plain, rec))
	if c.Strata != nil || c.NullStratum != nil {
		t.Errorf("counts without stratify have strata: %+v", c)
	}
}

// TestEncodersAgree checks that the column-major writers produce, row for
// row, the same bytes as the per-value encoders (which dictionaries and rare
// types use), nulls included, so a value hashes alike whichever path
// encodes it.
func TestEncodersAgree(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes: a two-byte length
	huge := strings.Repeat("x", 20000)
	arrs := []arrow.Array{
		anyArray(t, arrow.PrimitiveTypes.Int8, int8(-3), nil, int8(4)),
		anyArray(t, arrow.PrimitiveTypes.Int16, int16(-300), nil),
		anyArray(t, arrow.PrimitiveTypes.Int32, nil, int32(70000)),
		anyArray(t, arrow.PrimitiveTypes.Int64, int64(math.MinInt64), nil, int64(math.MaxInt64)),
		anyArray(t, arrow.PrimitiveTypes.Uint8, uint8(255), nil),
		anyArray(t, arrow.PrimitiveTypes.Uint16, uint16(65535), nil),
		anyArray(t, arrow.PrimitiveTypes.Uint32, uint32(math.MaxUint32), nil),
		anyArray(t, arrow.PrimitiveTypes.Uint64, uint64(math.MaxUint64), nil, uint64(3)),
		anyArray(t, arrow.PrimitiveTypes.Float32, float32(0.1), nil, float32(math.Inf(-1))),
		anyArray(t, arrow.PrimitiveTypes.Float64, 0.1, nil, math.NaN(), -0x1p70, 0x1p63, 1e300),
		anyArray(t, arrow.FixedWidthTypes.Boolean, "true", nil, "false"),
		anyArray(t, arrow.BinaryTypes.String, "", nil, long, huge),
		anyArray(t, arrow.BinaryTypes.LargeString, "a", nil, long),
		anyArray(t, &arrow.TimestampType{Unit: arrow.Nanosecond}, int64(-1), nil, int64(1_700_000_000_123_456_789)),
		anyArray(t, arrow.FixedWidthTypes.Date64, int64(86_400_000), nil, int64(5)),
		anyArray(t, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, "b", nil, "a"),
		anyArray(t, &arrow.Decimal128Type{Precision: 5, Scale: 1}, "12.5", nil),
	}
	for _, arr := range arrs {
		defer arr.Release()
		n := arr.Len()
		for _, skipNull := range []bool{false, true} {
			seg := newSegment(arr, []byte{1, 'c'}, skipNull)
			size := make([]int, n)
			seg.sizes(0, n, size)
			start := make([]int, n+1)
			for i, sz := range size {
				start[i+1] = start[i] + sz
			}
			buf := make([]byte, start[n])
			pos := append([]int(nil), start[:n]...)
			seg.write(0, n, buf, pos)

			enc := newEncoder(arr)
			for i := range n {
				var want []byte
				switch {
				case arr.IsNull(i) && !skipNull:
					want = []byte{tagNull}
				case !arr.IsNull(i):
					want = enc(append([]byte(nil), 1, 'c'), i)
				}
				got := buf[start[i]:start[i+1]]
				if pos[i] != start[i+1] || string(got) != string(want) {
					t.Errorf("%s row %d (skipNull %v): writer %x (end %d), encoder %x (end %d)",
						arr.DataType(), i, skipNull, got, pos[i], want, start[i+1])
				}
			}
		}
	}
	if newSegment(nil, nil, false).kind != kindNull {
		t.Error("a missing column is not the null kind")
	}
}

// With one split every row is assigned to it without hashing, and Partition
// hands the batch on whole.
func TestOneSplit(t *testing.T) {
	rec := idBatch(t, 0, 5000)
	for _, key := range []string{"", "id"} {
		a := mustAssigner(t, Spec{Names: []string{"all"}, Ratios: []float64{1}, Seed: 3, Key: key}, rec)
		out := make([]uint8, rec.NumRows())
		for i := range out {
			out[i] = 7 // Assign must overwrite every entry
		}
		a.Assign(rec, out)
		for i, s := range out {
			if s != 0 {
				t.Fatalf("key %q: row %d assigned to split %d, want 0", key, i, s)
			}
		}
		parts, err := a.Partition(rec)
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != 1 || parts[0] != rec {
			t.Errorf("key %q: Partition gave %d batches, the first the input: %v; want the input batch", key, len(parts), len(parts) == 1 && parts[0] == rec)
		}
		for _, p := range parts {
			p.Release()
		}
	}
}
