package tally

import (
	"slices"
	"strings"
)

// Top keeps the k items that rank first among those offered, in O(log k)
// per item kept and one comparison per item rejected: a bounded heap whose
// root is the last-ranked item kept.
type Top[T any] struct {
	k      int
	before func(a, b T) bool
	h      []T
}

// NewTop returns a Top for k items ranked by before, a strict weak order
// ("a ranks before b").
func NewTop[T any](k int, before func(a, b T) bool) *Top[T] {
	return &Top[T]{k: max(k, 0), before: before}
}

// Offer considers x.
func (t *Top[T]) Offer(x T) {
	switch {
	case len(t.h) < t.k:
		t.h = append(t.h, x)
		t.up(len(t.h) - 1)
	case t.k > 0 && t.before(x, t.h[0]):
		t.h[0] = x
		t.down(0)
	}
}

// Would reports whether x would be kept if offered now, without offering
// it: callers use it to skip preparing items that cannot make the cut.
func (t *Top[T]) Would(x T) bool {
	return len(t.h) < t.k || (t.k > 0 && t.before(x, t.h[0]))
}

// Last returns the last-ranked item kept, and whether k items are kept
// (only then can an item be turned away).
func (t *Top[T]) Last() (T, bool) {
	if t.k == 0 || len(t.h) < t.k {
		var zero T
		return zero, false
	}
	return t.h[0], true
}

// Sorted returns the items kept, first-ranked first.
func (t *Top[T]) Sorted() []T {
	out := slices.Clone(t.h)
	slices.SortFunc(out, func(a, b T) int {
		switch {
		case t.before(a, b):
			return -1
		case t.before(b, a):
			return 1
		}
		return 0
	})
	return out
}

// The heap is ordered so that every parent ranks after its children.
func (t *Top[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.before(t.h[p], t.h[i]) {
			return
		}
		t.h[p], t.h[i] = t.h[i], t.h[p]
		i = p
	}
}

func (t *Top[T]) down(i int) {
	n := len(t.h)
	for {
		last := i
		if l := 2*i + 1; l < n && t.before(t.h[last], t.h[l]) {
			last = l
		}
		if r := 2*i + 2; r < n && t.before(t.h[last], t.h[r]) {
			last = r
		}
		if last == i {
			return
		}
		t.h[i], t.h[last] = t.h[last], t.h[i]
		i = last
	}
}

// Count is a value and how often it occurs.
type Count struct {
	Value string
	N     int64
}

// ByCount ranks counts descending, then values ascending in byte order:
// the order of profiles' top values.
func ByCount(a, b Count) bool {
	if a.N != b.N {
		return a.N > b.N
	}
	return a.Value < b.Value
}

// Top returns the k most frequent values, count descending and ties by
// value ascending in byte order. The values are copies.
func (t *Strings) Top(k int) []Count {
	top := NewTop(k, ByCount)
	for i := range t.ents {
		e := &t.ents[i]
		if last, full := top.Last(); full && e.n < last.N {
			continue // cannot make the cut: skip the value's bytes
		}
		top.Offer(Count{t.arena.view(e.ref), e.n})
	}
	out := top.Sorted()
	for i := range out {
		out[i].Value = strings.Clone(out[i].Value)
	}
	return out
}
