package profile

import (
	"math"
	"math/bits"
	"slices"
)

// The sketches below replace exact state when Options.MaxMemory is exceeded.
// All three are mergeable, so per-worker sketches combine into the same
// result a single sketch would give (up to the sketches' own randomness).

// hllPrecision gives 2^14 registers: 16 KiB per sketch and a relative
// standard error of 1.04/√16384 ≈ 0.81%.
const hllPrecision = 14

// hllErrorBound is the relative error bound reported for distinct counts:
// three standard errors.
var hllErrorBound = 3 * 1.04 / math.Sqrt(1<<hllPrecision)

// hll is a HyperLogLog distinct counter with Ertl's improved estimator
// ("New cardinality estimation algorithms for HyperLogLog sketches", 2017),
// which needs neither empirical bias tables nor a switch to linear counting.
type hll struct {
	reg [1 << hllPrecision]uint8
}

func (h *hll) add(hash uint64) {
	idx := hash >> (64 - hllPrecision)
	w := hash<<hllPrecision | 1<<(hllPrecision-1)
	r := uint8(bits.LeadingZeros64(w) + 1)
	if r > h.reg[idx] {
		h.reg[idx] = r
	}
}

func (h *hll) merge(o *hll) {
	for i, r := range o.reg {
		if r > h.reg[i] {
			h.reg[i] = r
		}
	}
}

func (h *hll) estimate() float64 {
	const q = 64 - hllPrecision
	const m = float64(1 << hllPrecision)
	var c [q + 2]float64
	for _, r := range h.reg {
		c[r]++
	}
	z := m * hllTau(1-c[q+1]/m)
	for k := q; k >= 1; k-- {
		z = 0.5 * (z + c[k])
	}
	z += m * hllSigma(c[0]/m)
	return m * m / (2 * math.Ln2) / z
}

func hllSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		prev := z
		z += x * y
		y += y
		if z == prev {
			return z
		}
	}
}

func hllTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		prev := z
		y *= 0.5
		z -= (1 - x) * (1 - x) * y
		if z == prev {
			return z / 3
		}
	}
}

// mix64 is splitmix64's finaliser: a bijective mixer that spreads integer
// keys over all 64 bits, as HyperLogLog needs.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// misraGries keeps approximate counts of the most frequent keys in bounded
// memory. Each estimate is at most the true count and at least the true
// count minus offset, and offset ≤ n/(capacity+1). Merging adds counters and
// prunes again, which keeps the same guarantee (Agarwal et al., 2012).
type misraGries[K comparable] struct {
	capacity int
	counts   map[K]int64
	offset   int64
}

func newMisraGries[K comparable](capacity int) *misraGries[K] {
	return &misraGries[K]{capacity: capacity, counts: make(map[K]int64, 2*capacity)}
}

// add counts key c times; clone copies a key that is about to be stored,
// because keys may point into a record batch that will be released.
func (s *misraGries[K]) add(key K, c int64, clone func(K) K) {
	if v, ok := s.counts[key]; ok {
		s.counts[key] = v + c
		return
	}
	s.counts[clone(key)] = c
	if len(s.counts) > 2*s.capacity {
		s.prune()
	}
}

func (s *misraGries[K]) prune() {
	if len(s.counts) <= s.capacity {
		return
	}
	vals := make([]int64, 0, len(s.counts))
	for _, v := range s.counts {
		vals = append(vals, v)
	}
	slices.Sort(vals)
	t := vals[len(vals)-1-s.capacity] // the (capacity+1)-th largest
	for k, v := range s.counts {
		if v <= t {
			delete(s.counts, k)
		} else {
			s.counts[k] = v - t
		}
	}
	s.offset += t
}

func (s *misraGries[K]) merge(o *misraGries[K]) {
	for k, v := range o.counts {
		s.counts[k] += v
	}
	s.offset += o.offset
	s.prune()
}
