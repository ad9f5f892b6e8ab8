package tally

import (
	"slices"
	"strings"
)

// Union is the union of several tables' counts (one per scan worker, say)
// without building one table of it all: merging would insert every value
// of the smaller tables into the largest, growing it while both copies are
// alive. With two tables, the values of the smaller one that the larger one
// also has are added to the larger one's counts and left out of the
// smaller; the two then hold disjoint values. With more, the smaller ones
// are first merged into the second largest.
type Union struct {
	big, rest *Strings
	dead      []bool // values of rest that big has
	distinct  int
	total     int64
}

// NewUnion takes ownership of ts, which may be changed.
func NewUnion(ts ...*Strings) *Union {
	ts = slices.DeleteFunc(slices.Clone(ts), func(t *Strings) bool { return t == nil || t.Len() == 0 })
	slices.SortStableFunc(ts, func(a, b *Strings) int { return b.Len() - a.Len() })
	u := &Union{big: new(Strings), rest: new(Strings)}
	switch len(ts) {
	case 0:
		return u
	case 1:
		u.big = ts[0]
	default:
		u.big, u.rest = ts[0], ts[1]
		for _, t := range ts[2:] {
			u.rest.Merge(t)
		}
	}
	u.dead = make([]bool, u.rest.Len())
	u.distinct = u.big.Len()
	for i := range u.rest.ents {
		e := &u.rest.ents[i]
		if j, ok := u.big.Find(e.hash, u.rest.arena.view(e.ref)); ok {
			u.big.ents[j].n += e.n
			u.big.total += e.n
			u.dead[i] = true
			continue
		}
		u.distinct++
	}
	u.total = u.big.total
	for i := range u.rest.ents {
		if !u.dead[i] {
			u.total += u.rest.ents[i].n
		}
	}
	return u
}

// Len returns the number of distinct values.
func (u *Union) Len() int { return u.distinct }

// Total returns the number of values counted.
func (u *Union) Total() int64 { return u.total }

// Bytes returns the memory the union holds.
func (u *Union) Bytes() int64 { return u.big.Bytes() + u.rest.Bytes() + int64(len(u.dead)) }

// Positions returns a bound on the positions All and Find give: callers
// size per-value flags with it.
func (u *Union) Positions() int { return u.big.Len() + u.rest.Len() }

// Find returns the position and count of s, whose hash is h, and whether it
// is present.
func (u *Union) Find(h uint64, s string) (pos int, n int64, ok bool) {
	if i, ok := u.big.Find(h, s); ok {
		return i, u.big.ents[i].n, true
	}
	if i, ok := u.rest.Find(h, s); ok && !u.dead[i] {
		return u.big.Len() + i, u.rest.ents[i].n, true
	}
	return 0, 0, false
}

// All calls fn for every distinct value with its position, hash and count;
// the string stays valid for the union's lifetime.
func (u *Union) All(fn func(pos int, v string, h uint64, n int64)) {
	for i := range u.big.ents {
		e := &u.big.ents[i]
		fn(i, u.big.arena.view(e.ref), e.hash, e.n)
	}
	off := u.big.Len()
	for i := range u.rest.ents {
		if !u.dead[i] {
			e := &u.rest.ents[i]
			fn(off+i, u.rest.arena.view(e.ref), e.hash, e.n)
		}
	}
}

// Top returns the k most frequent values, count descending and ties by
// value ascending in byte order. The values are copies.
func (u *Union) Top(k int) []Count {
	top := NewTop(k, ByCount)
	u.All(func(_ int, v string, _ uint64, n int64) {
		if last, full := top.Last(); full && n < last.N {
			return
		}
		top.Offer(Count{v, n})
	})
	out := top.Sorted()
	for i := range out {
		out[i].Value = strings.Clone(out[i].Value)
	}
	return out
}
