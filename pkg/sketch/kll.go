// Package sketch holds mergeable summaries of data too large to keep:
// per-worker sketches combine into the result one sketch would give (up to
// the sketches' own randomness).
package sketch

import (
	"math"
	"slices"
)

// K sets the KLL sketch's accuracy: about 3K items (≈10 KiB) per sketch.
const K = 400

// RankError is the normalised rank error of one rank or quantile query:
// Apache DataSketches' empirical 99th-percentile bound for a single query,
// 2.296/K^0.9723 ≈ 0.0068.
var RankError = 2.296 / math.Pow(K, 0.9723)

// AllRanksError bounds the normalised rank error of every query at once
// (a whole CDF, as the Kolmogorov–Smirnov statistic reads it): Apache
// DataSketches' 99th-percentile bound for PMF and CDF queries,
// 2.446/K^0.9433 ≈ 0.0086.
var AllRanksError = 2.446 / math.Pow(K, 0.9433)

// KLL is a KLL quantile sketch (Karnin, Lang, Liberty 2016) in the lazy
// form Apache DataSketches uses: level h holds items of weight 2^h and has
// capacity max(8, ⌈k·(2/3)^depth⌉); when the sketch is full, the lowest
// level at capacity is sorted and every other item, from a random offset,
// is promoted.
type KLL struct {
	levels [][]float64
	n      int64
	size   int
	rng    uint64
}

// NewKLL returns an empty sketch whose compactions draw from seed.
func NewKLL(seed uint64) *KLL {
	return &KLL{levels: make([][]float64, 1), rng: seed | 1}
}

func (s *KLL) capacity(h int) int {
	depth := len(s.levels) - h - 1
	c := int(math.Ceil(K * math.Pow(2.0/3.0, float64(depth))))
	return max(c, 8)
}

func (s *KLL) totalCapacity() int {
	t := 0
	for h := range s.levels {
		t += s.capacity(h)
	}
	return t
}

// Add adds one value.
func (s *KLL) Add(x float64) {
	s.levels[0] = append(s.levels[0], x)
	s.n++
	s.size++
	if len(s.levels[0]) >= s.capacity(0) {
		s.compress()
	}
}

func (s *KLL) coin() int {
	s.rng ^= s.rng << 13
	s.rng ^= s.rng >> 7
	s.rng ^= s.rng << 17
	return int(s.rng >> 63)
}

func (s *KLL) compress() {
	for s.size >= s.totalCapacity() {
		for h := range s.levels {
			if len(s.levels[h]) >= s.capacity(h) {
				s.compact(h)
				break
			}
		}
	}
}

func (s *KLL) compact(h int) {
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

// Merge adds the values o holds.
func (s *KLL) Merge(o *KLL) {
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

// Weighted is a retained item and the number of values it stands for.
type Weighted struct {
	V float64
	W int64
}

// Sorted returns the retained items with their weights, ascending.
func (s *KLL) Sorted() []Weighted {
	out := make([]Weighted, 0, s.size)
	for h, lv := range s.levels {
		for _, v := range lv {
			out = append(out, Weighted{v, 1 << h})
		}
	}
	slices.SortFunc(out, func(a, b Weighted) int {
		switch {
		case a.V < b.V:
			return -1
		case a.V > b.V:
			return 1
		}
		return 0
	})
	return out
}

// Quantile returns the item of Sorted at normalised rank q (0-based rank
// (n−1)·q): the first whose cumulative weight exceeds it.
func Quantile(items []Weighted, n int64, q float64) float64 {
	if len(items) == 0 {
		return math.NaN()
	}
	target := float64(n-1) * q
	var cum int64
	for _, it := range items {
		cum += it.W
		if float64(cum) > target {
			return it.V
		}
	}
	return items[len(items)-1].V
}

// RankBelow returns the estimated number of values < x from Sorted.
func RankBelow(items []Weighted, x float64) int64 {
	var cum int64
	for _, it := range items {
		if !(it.V < x) {
			break
		}
		cum += it.W
	}
	return cum
}

// N returns the number of values added.
func (s *KLL) N() int64 { return s.n }

// Retained returns the number of items the sketch keeps (8 bytes each).
func (s *KLL) Retained() int { return s.size }
