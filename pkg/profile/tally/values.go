package tally

import (
	"iter"
	"unsafe"
)

const (
	minValuesBlock = 1 << 10
	maxValuesBlock = 1 << 16
)

// Values holds numbers, in no particular order, in blocks: appending never copies what is already
// stored (a growing slice would, and would briefly need twice the memory),
// and merging two holders moves blocks, not values. Blocks start small and
// double, so a dataset with many short columns stays small.
type Values[T any] struct {
	blocks [][]T
	n      int
}

// Len returns the number of values held.
func (v *Values[T]) Len() int { return v.n }

// Bytes returns the memory the values take.
func (v *Values[T]) Bytes() int64 {
	var zero T
	var c int64
	for _, b := range v.blocks {
		c += int64(cap(b))
	}
	return c * int64(unsafe.Sizeof(zero))
}

// Append stores xs.
func (v *Values[T]) Append(xs ...T) {
	v.n += len(xs)
	for len(xs) > 0 {
		last := len(v.blocks) - 1
		if last < 0 || len(v.blocks[last]) == cap(v.blocks[last]) {
			size := minValuesBlock
			if last >= 0 {
				size = min(2*cap(v.blocks[last]), maxValuesBlock)
			}
			v.blocks = append(v.blocks, make([]T, 0, size))
			last++
		}
		b := v.blocks[last]
		k := min(len(xs), cap(b)-len(b))
		v.blocks[last] = append(b, xs[:k]...)
		xs = xs[k:]
	}
}

// Chunks yields the values block by block.
func (v *Values[T]) Chunks() iter.Seq[[]T] {
	return func(yield func([]T) bool) {
		for _, b := range v.blocks {
			if !yield(b) {
				return
			}
		}
	}
}

// Merge moves o's values to v and empties o.
func (v *Values[T]) Merge(o *Values[T]) {
	if o.n == 0 {
		return
	}
	// A partly filled block of v may end up in the middle, never to be
	// filled: that wastes at most one block per merge.
	v.blocks = append(v.blocks, o.blocks...)
	v.n += o.n
	o.blocks, o.n = nil, 0
}

// Collect returns every value in one slice and releases the blocks.
func (v *Values[T]) Collect() []T {
	out := make([]T, 0, v.n)
	for i, b := range v.blocks {
		out = append(out, b...)
		v.blocks[i] = nil // let the collector take it while the rest copies
	}
	v.blocks, v.n = nil, 0
	return out
}
