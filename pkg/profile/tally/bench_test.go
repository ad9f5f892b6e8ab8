package tally

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

func benchValues(n, distinct int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	pool := make([]string, distinct)
	for i := range pool {
		if distinct <= 100 {
			pool[i] = fmt.Sprintf("%c%c", 'A'+i%26, 'A'+i/26)
		} else {
			pool[i] = fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint64()&0xffffffffffff)
		}
	}
	out := make([]string, n)
	for i := range out {
		if distinct == n {
			out[i] = pool[i]
		} else {
			out[i] = pool[r.IntN(distinct)]
		}
	}
	return out
}

// BenchmarkStrings counts 1M values: a 20-value column (country codes) and
// a column of 1M distinct uuid-like identifiers; map is the Go map it
// replaces.
func BenchmarkStrings(b *testing.B) {
	for _, tc := range []struct {
		name     string
		distinct int
	}{{"20", 20}, {"unique", 1_000_000}} {
		vals := benchValues(1_000_000, tc.distinct)
		b.Run(tc.name+"/tally", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				var t Strings
				for _, v := range vals {
					t.Add(v)
				}
			}
		})
		b.Run(tc.name+"/map", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				m := map[string]int64{}
				for _, v := range vals {
					m[v]++
				}
			}
		})
	}
}

// BenchmarkSortedFloats sorts 1M normal floats held in Values; slices is
// collecting them and sorting the copy with slices.Sort.
func BenchmarkSortedFloats(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	xs := make([]float64, 1_000_000)
	for i := range xs {
		xs[i] = r.NormFloat64()
	}
	fill := func() *Values[float64] {
		var v Values[float64]
		v.Append(xs...)
		return &v
	}
	b.Run("radix", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			v := fill()
			b.StartTimer()
			SortedFloats(v)
		}
	})
	b.Run("slices", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			v := fill()
			b.StartTimer()
			s := v.Collect()
			slices.Sort(s)
		}
	})
}

// BenchmarkSortFloatKeys sorts 1M keys with the second buffer reused, as
// the drift comparison does: values of both signs (every radix pass runs)
// and positive decimals with repeats (amounts).
func BenchmarkSortFloatKeys(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	gens := map[string]func() float64{
		"normal":   r.NormFloat64,
		"decimals": func() float64 { return float64(int(r.ExpFloat64()*30000)) / 100 },
	}
	for _, name := range []string{"normal", "decimals"} {
		keys := make([]uint64, 1_000_000)
		for i := range keys {
			keys[i] = FloatKey(gens[name]())
		}
		work, spare := make([]uint64, len(keys)), make([]uint64, len(keys))
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				copy(work, keys)
				var sorted []float64
				sorted, spare = SortFloatKeys(work, spare)
				work = unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(sorted))), len(sorted))
			}
		})
	}
}
