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

// kllK sets the KLL sketch's accuracy: about 3k items (≈10 KiB) per sketch.
const kllK = 400

// kllErrorBound is the normalised rank error reported for sketched
// percentiles: Apache DataSketches' empirical 99th-percentile bound for a
// single rank query, 2.296/k^0.9723.
var kllErrorBound = 2.296 / math.Pow(kllK, 0.9723)

// kll is a KLL quantile sketch (Karnin, Lang, Liberty 2016) in the lazy
// form Apache DataSketches uses: level h holds items of weight 2^h and has
// capacity max(8, ⌈k·(2/3)^depth⌉); when the sketch is full, the lowest
// level at capacity is sorted and every other item, from a random offset,
// is promoted.
type kll struct {
	levels [][]float64
	n      int64
	size   int
	rng    uint64
}

func newKLL(seed uint64) *kll {
	return &kll{levels: make([][]float64, 1), rng: seed | 1}
}

func (s *kll) capacity(h int) int {
	depth := len(s.levels) - h - 1
	c := int(math.Ceil(kllK * math.Pow(2.0/3.0, float64(depth))))
	return max(c, 8)
}

func (s *kll) totalCapacity() int {
	t := 0
	for h := range s.levels {
		t += s.capacity(h)
	}
	return t
}

func (s *kll) add(x float64) {
	s.levels[0] = append(s.levels[0], x)
	s.n++
	s.size++
	if len(s.levels[0]) >= s.capacity(0) {
		s.compress()
	}
}

func (s *kll) coin() int {
	s.rng ^= s.rng << 13
	s.rng ^= s.rng >> 7
	s.rng ^= s.rng << 17
	return int(s.rng >> 63)
}

func (s *kll) compress() {
	for s.size >= s.totalCapacity() {
		for h := range s.levels {
			if len(s.levels[h]) >= s.capacity(h) {
				s.compact(h)
				break
			}
		}
	}
}

func (s *kll) compact(h int) {
	if h+1 == len(s.levels) {
		s.levels = append(s.levels, nil)
	}
	lv := s.levels[h]
	slices.Sort(lv)
	var keep []float64
	if len(lv)%2 == 1 {
		keep = append(keep, lv[len(lv)-1])
		lv = lv[:len(lv)-1]
	}
	off := s.coin()
	for i := off; i < len(lv); i += 2 {
		s.levels[h+1] = append(s.levels[h+1], lv[i])
	}
	s.size -= len(lv) / 2
	s.levels[h] = append(lv[:0], keep...)
}

func (s *kll) merge(o *kll) {
	for len(s.levels) < len(o.levels) {
		s.levels = append(s.levels, nil)
	}
	for h, lv := range o.levels {
		s.levels[h] = append(s.levels[h], lv...)
		s.size += len(lv)
	}
	s.n += o.n
	s.compress()
}

type weighted struct {
	v float64
	w int64
}

// sorted returns the retained items with their weights, ascending.
func (s *kll) sorted() []weighted {
	out := make([]weighted, 0, s.size)
	for h, lv := range s.levels {
		for _, v := range lv {
			out = append(out, weighted{v, 1 << h})
		}
	}
	slices.SortFunc(out, func(a, b weighted) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	return out
}

// quantile returns the item at normalised rank q (0-based rank (n−1)·q).
func quantileOf(items []weighted, n int64, q float64) float64 {
	if len(items) == 0 {
		return math.NaN()
	}
	target := float64(n-1) * q
	var cum int64
	for _, it := range items {
		cum += it.w
		if float64(cum) > target {
			return it.v
		}
	}
	return items[len(items)-1].v
}

// rankBelow returns the estimated number of values < x.
func rankBelow(items []weighted, x float64) int64 {
	var cum int64
	for _, it := range items {
		if !(it.v < x) {
			break
		}
		cum += it.w
	}
	return cum
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
