package drift

import (
	"sync"
	"sync/atomic"

	"github.com/mldata-io/mldata/pkg/profile/tally"
)

// Stopping early at the category limit. Each scan worker counts the
// categories of the batches it reads in a table of its own, and a side
// passes the limit when the union of those tables does. A worker whose own
// table passes the limit proves it alone; for an identifier column read by
// W workers that takes W times the limit in rows. The workers therefore
// also publish the keys of the categories they have found to a set they
// share (distinctSet), whose size is a lower bound of the union's: once it
// holds more keys than the limit, the side has more distinct values than
// the limit, and every worker stops counting the column (and the scan stops
// decoding it) after about limit rows in all. A key is the value's hash
// (tally.Hash for strings, tally.Mix64 for integers): equal values have
// equal keys, so the set never holds more keys than there are values and
// the bound stays a bound even if two values' hashes collide. The set only
// decides earlier what the union decides once the side is read, so the
// report is the same.

// distinctFrom is the size from which a worker's table is published: the
// columns far below the limit (codes, labels) never touch the set.
const distinctFrom = 4096

// maxDistinctSet is the largest limit the shared set serves (its memory is
// 16 bytes per unit of the limit); above it only a worker's own table can
// prove the limit passed before the side is read.
const maxDistinctSet = 1 << 22

// distinctSet is the set of category keys the workers of one side share,
// for one column: an open-addressing table of atomic slots, filled to at
// most half.
type distinctSet struct {
	limit int64
	from  int // a worker publishes once its table has this many values
	once  sync.Once
	slots []atomic.Uint64
	n     atomic.Int64
}

// newDistinctSet returns the set for a side with the category limit limit,
// or nil when the limit is off or too large for a set.
func newDistinctSet(limit, workers int) *distinctSet {
	if limit <= 0 || limit > maxDistinctSet {
		return nil
	}
	return &distinctSet{limit: int64(limit), from: min(distinctFrom, max(1, limit/(2*max(workers, 1))))}
}

// passed reports whether the set holds more keys than the limit.
func (s *distinctSet) passed() bool { return s != nil && s.n.Load() > s.limit }

// add inserts key and reports whether the set now holds more keys than
// the limit. Once it does, nothing more is inserted.
func (s *distinctSet) add(key uint64) bool {
	if s.n.Load() > s.limit {
		return true
	}
	s.once.Do(func() {
		size := 1
		for size < 2*int(s.limit)+64 {
			size *= 2
		}
		s.slots = make([]atomic.Uint64, size)
	})
	if key == 0 {
		key = 1 // 0 marks an empty slot; a shared key only lowers the bound
	}
	mask := uint64(len(s.slots) - 1)
	for i := key & mask; ; i = (i + 1) & mask {
		switch v := s.slots[i].Load(); v {
		case key:
			return s.n.Load() > s.limit
		case 0:
			if !s.slots[i].CompareAndSwap(0, key) {
				i = (i - 1) & mask // taken meanwhile: look at the slot again
				continue
			}
			return s.n.Add(1) > s.limit
		}
	}
}

// publishStrings adds the keys of t's values from entry *done on (a
// table's entries keep their order) and reports whether the side has
// passed the limit.
func (s *distinctSet) publishStrings(t *tally.Strings, done *int) bool {
	if s == nil || t.Len() < s.from {
		return false
	}
	for ; *done < t.Len(); *done++ {
		_, h, _ := t.At(*done)
		if s.add(h) {
			return true
		}
	}
	return s.passed()
}

// intPublisher is one worker's publishing of an integer column's values:
// the whole table once it is large enough, then the values new to it.
type intPublisher struct {
	on    bool
	fresh []int64 // values counted for the first time since the last publish
}

// publishInts publishes t's values (see intPublisher) and reports whether
// the side has passed the limit.
func (s *distinctSet) publishInts(t *tally.Ints, p *intPublisher) bool {
	if s == nil {
		return false
	}
	if !p.on {
		if t.Len() < s.from {
			return false
		}
		p.on, p.fresh = true, p.fresh[:0]
		for v := range t.All() {
			if s.add(tally.Mix64(uint64(v))) {
				return true
			}
		}
		return s.passed()
	}
	for _, v := range p.fresh {
		if s.add(tally.Mix64(uint64(v))) {
			return true
		}
	}
	p.fresh = p.fresh[:0]
	return s.passed()
}
