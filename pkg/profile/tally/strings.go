// Package tally counts values exactly, fast and in memory the garbage
// collector does not have to scan. Profiles use it for distinct counts and
// top values, drift checks for category counts; both need every distinct
// value of a column, which for an identifier column is one per row.
//
// A Go map[string]int64 costs a separately allocated string per distinct
// value, rehashes every key each time it grows, and is scanned by every
// garbage collection. Strings instead keeps the values' bytes in large
// append-only blocks, its entries (hash, position, count) in one slice and
// its index in another, none of which hold pointers; growing rehashes from
// the stored hashes. Equality is decided on the bytes, never on the hash
// alone, so the counts are exact.
package tally

import (
	"encoding/binary"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// Hash is the hash Strings uses; callers that look up the same value in
// several tables compute it once.
func Hash(s string) uint64 { return xxhash.Sum64String(s) }

// A slot of the index is 0 when empty, or the top tagBits of the value's
// hash above the entry's index + 1: most probes that miss are rejected on
// the tag without touching the entry.
const (
	tagShift = 40
	tagMask  = uint64(1<<64 - 1<<tagShift)
	idxMask  = 1<<tagShift - 1
)

type entry struct {
	hash uint64
	ref  uint64 // block << 32 | offset of the value's uvarint length in the block
	n    int64
}

// Strings counts strings. The zero value is an empty table.
type Strings struct {
	slots []uint64
	ents  []entry
	arena arena
	total int64
}

// Len returns the number of distinct values.
func (t *Strings) Len() int { return len(t.ents) }

// Total returns the number of values counted (the sum of the counts).
func (t *Strings) Total() int64 { return t.total }

// Bytes returns the memory the table holds.
func (t *Strings) Bytes() int64 {
	return 8*int64(cap(t.slots)) + int64(unsafe.Sizeof(entry{}))*int64(cap(t.ents)) + t.arena.size
}

// Add counts s once. s is copied: it may point into a buffer that is
// reused afterwards.
func (t *Strings) Add(s string) { t.AddHash(xxhash.Sum64String(s), s, 1) }

// AddHash counts s n times; h must be Hash(s).
func (t *Strings) AddHash(h uint64, s string, n int64) {
	t.total += n
	if 4*(len(t.ents)+1) > 3*len(t.slots) {
		t.grow(len(t.ents) + 1)
	}
	mask := uint64(len(t.slots) - 1)
	tag := h & tagMask
	for i := h & mask; ; i = (i + 1) & mask {
		sl := t.slots[i]
		if sl == 0 {
			t.slots[i] = tag | uint64(len(t.ents)+1)
			t.ents = append(t.ents, entry{hash: h, ref: t.arena.put(s), n: n})
			return
		}
		if sl&tagMask == tag {
			e := &t.ents[sl&idxMask-1]
			if e.hash == h && t.arena.view(e.ref) == s {
				e.n += n
				return
			}
		}
	}
}

// Find returns the index of s, whose hash is h, and whether it is present.
func (t *Strings) Find(h uint64, s string) (int, bool) {
	if len(t.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(t.slots) - 1)
	tag := h & tagMask
	for i := h & mask; ; i = (i + 1) & mask {
		sl := t.slots[i]
		if sl == 0 {
			return 0, false
		}
		if sl&tagMask == tag {
			j := int(sl&idxMask - 1)
			if e := &t.ents[j]; e.hash == h && t.arena.view(e.ref) == s {
				return j, true
			}
		}
	}
}

// At returns the i-th distinct value (in first-seen order), its hash and
// its count. The string stays valid for the table's lifetime and is never
// modified; copy it only to keep it longer.
func (t *Strings) At(i int) (value string, hash uint64, n int64) {
	e := &t.ents[i]
	return t.arena.view(e.ref), e.hash, e.n
}

// Count returns the count of the i-th distinct value.
func (t *Strings) Count(i int) int64 { return t.ents[i].n }

// Reserve makes room for n distinct values without growing.
func (t *Strings) Reserve(n int) {
	if 4*n > 3*len(t.slots) {
		t.grow(n)
	}
	if cap(t.ents) < n {
		ents := make([]entry, len(t.ents), n)
		copy(ents, t.ents)
		t.ents = ents
	}
}

// Merge adds o's counts to t. o is unchanged. Merging the smaller table
// into the larger one is cheaper.
func (t *Strings) Merge(o *Strings) {
	t.Reserve(t.Len() + o.Len())
	for i := range o.ents {
		e := &o.ents[i]
		t.AddHash(e.hash, o.arena.view(e.ref), e.n)
	}
}

// grow resizes the index to hold at least n entries at a load of at most
// ¾, and reinserts the entries from their stored hashes.
func (t *Strings) grow(n int) {
	size := max(16, len(t.slots))
	for 3*size < 4*n {
		size *= 2
	}
	if size == len(t.slots) {
		return
	}
	slots := make([]uint64, size)
	mask := uint64(size - 1)
	for j := range t.ents {
		h := t.ents[j].hash
		i := h & mask
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = h&tagMask | uint64(j+1)
	}
	t.slots = slots
}

// arena stores byte strings, each as a uvarint length and the bytes, in
// blocks that are only ever appended to: a stored string never moves or
// changes, so views of it stay valid.
type arena struct {
	blocks [][]byte
	size   int64
}

const (
	minBlock = 4 << 10
	maxBlock = 1 << 20
)

func (a *arena) put(s string) uint64 {
	need := binary.MaxVarintLen64 + len(s)
	last := len(a.blocks) - 1
	if last < 0 || cap(a.blocks[last])-len(a.blocks[last]) < need {
		size := maxBlock
		if last < 0 {
			size = minBlock
		} else if c := 2 * cap(a.blocks[last]); c < maxBlock {
			size = c
		}
		// A value larger than a block gets a block of its own.
		b := make([]byte, 0, max(size, need))
		a.blocks = append(a.blocks, b)
		a.size += int64(cap(b))
		last++
	}
	b := a.blocks[last]
	off := len(b)
	b = binary.AppendUvarint(b, uint64(len(s)))
	a.blocks[last] = append(b, s...)
	return uint64(last)<<32 | uint64(off)
}

// view returns the string stored at ref without copying it: blocks are
// never written below their length, so the bytes behind the string never
// change.
func (a *arena) view(ref uint64) string {
	b := a.blocks[ref>>32][uint32(ref):]
	n, k := binary.Uvarint(b)
	if n == 0 {
		return ""
	}
	return unsafe.String(&b[k], int(n))
}
