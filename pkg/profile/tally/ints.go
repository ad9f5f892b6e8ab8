package tally

import "iter"

// Ints counts int64 values (timestamps, dates) in an open-addressing table
// of two pointer-free slices.
type Ints struct {
	keys   []int64
	counts []int64 // 0 marks an empty slot
	n      int
	total  int64
}

// Mix64 is splitmix64's finaliser: a bijection that spreads integer keys
// over all 64 bits.
func Mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Len returns the number of distinct values.
func (t *Ints) Len() int { return t.n }

// Total returns the number of values counted.
func (t *Ints) Total() int64 { return t.total }

// Bytes returns the memory the table holds.
func (t *Ints) Bytes() int64 { return 16 * int64(cap(t.keys)) }

// Add counts v once.
func (t *Ints) Add(v int64) { t.AddN(v, 1) }

// AddN counts v n times; n must be positive.
func (t *Ints) AddN(v, n int64) {
	t.total += n
	if 2*(t.n+1) > len(t.keys) {
		t.grow(t.n + 1)
	}
	mask := uint64(len(t.keys) - 1)
	for i := Mix64(uint64(v)) & mask; ; i = (i + 1) & mask {
		switch {
		case t.counts[i] == 0:
			t.keys[i], t.counts[i] = v, n
			t.n++
			return
		case t.keys[i] == v:
			t.counts[i] += n
			return
		}
	}
}

// All yields every distinct value and its count, in an order that depends
// only on the values.
func (t *Ints) All() iter.Seq2[int64, int64] {
	return func(yield func(int64, int64) bool) {
		for i, c := range t.counts {
			if c != 0 && !yield(t.keys[i], c) {
				return
			}
		}
	}
}

// Merge adds o's counts to t.
func (t *Ints) Merge(o *Ints) {
	if 2*(t.n+o.n) > len(t.keys) {
		t.grow(t.n + o.n)
	}
	for v, c := range o.All() {
		t.AddN(v, c)
	}
}

func (t *Ints) grow(n int) {
	size := max(16, len(t.keys))
	for size < 2*n {
		size *= 2
	}
	if size == len(t.keys) {
		return
	}
	keys, counts := t.keys, t.counts
	t.keys, t.counts = make([]int64, size), make([]int64, size)
	mask := uint64(size - 1)
	for j, c := range counts {
		if c == 0 {
			continue
		}
		i := Mix64(uint64(keys[j])) & mask
		for t.counts[i] != 0 {
			i = (i + 1) & mask
		}
		t.keys[i], t.counts[i] = keys[j], c
	}
}
