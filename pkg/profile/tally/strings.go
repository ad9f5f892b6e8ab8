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
	"math/bits"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// Hash is the hash Strings uses; callers that look up the same value in
// several tables compute it once. Values of up to 16 bytes (codes, short
// labels: the values that repeat on every row) are hashed as wyhash does,
// in a couple of nanoseconds, longer ones with xxhash. It is a hash for
// tables, not a sketch: HyperLogLog wants xxhash's distribution.
func Hash(s string) uint64 {
	n := len(s)
	if n > 16 {
		return xxhash.Sum64String(s)
	}
	var a, b uint64
	if n > 0 {
		p := unsafe.Slice(unsafe.StringData(s), n)
		switch {
		case n >= 8:
			a, b = binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint64(p[n-8:])
		case n >= 4:
			a, b = uint64(binary.LittleEndian.Uint32(p)), uint64(binary.LittleEndian.Uint32(p[n-4:]))
		default:
			a = uint64(p[0])<<16 | uint64(p[n>>1])<<8 | uint64(p[n-1])
		}
	}
	return mum(mum(a^0xa0761d6478bd642f, b^0xe7037ed1a0b428db)^uint64(n), 0x8ebc6af09c88c6e3)
}

// mum is wyhash's mixer: the 128-bit product's halves, xored.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

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
	ref  uint64 // where the value is in the arena (see arena.put)
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
func (t *Strings) Add(s string) { t.AddHash(Hash(s), s, 1) }

// AddHash counts s n times; h must be Hash(s).
func (t *Strings) AddHash(h uint64, s string, n int64) {
	if len(t.slots) == 0 {
		t.grow(1)
	}
	mask := uint64(len(t.slots) - 1)
	tag := h & tagMask
	for i := h & mask; ; i = (i + 1) & mask {
		sl := t.slots[i]
		if sl == 0 {
			if 4*(len(t.ents)+1) > 3*len(t.slots) {
				t.grow(len(t.ents) + 1)
				t.AddHash(h, s, n)
				return
			}
			t.total += n
			t.slots[i] = tag | uint64(len(t.ents)+1)
			t.ents = append(t.ents, entry{hash: h, ref: t.arena.put(s), n: n})
			return
		}
		if sl&tagMask == tag {
			e := &t.ents[sl&idxMask-1]
			if e.hash == h && t.arena.view(e.ref) == s {
				e.n += n
				t.total += n
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
	// The entries get room for what the index now holds, so that they
	// are copied once per doubling (append would copy them every quarter
	// of growth once they are many).
	if want := 3 * size / 4; cap(t.ents) < want {
		ents := make([]entry, len(t.ents), want)
		copy(ents, t.ents)
		t.ents = ents
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

// arena stores byte strings in blocks that are only ever appended to: a
// stored string never moves or changes, so views of it stay valid. A
// reference packs the block (24 bits), the offset in it (24 bits) and the
// length (16 bits); a value of 65535 bytes or more is preceded by its
// uvarint length instead, and its reference holds the length 65535.
type arena struct {
	blocks [][]byte
	size   int64
}

const (
	minBlock = 4 << 10
	maxBlock = 1 << 20
	longLen  = 1<<16 - 1
)

func (a *arena) put(s string) uint64 {
	need := len(s)
	if len(s) >= longLen {
		need += binary.MaxVarintLen64
	}
	last := len(a.blocks) - 1
	if last < 0 || cap(a.blocks[last])-len(a.blocks[last]) < need {
		size := maxBlock
		if last < 0 {
			size = minBlock
		} else if c := 2 * cap(a.blocks[last]); c < maxBlock {
			size = c
		}
		// A value larger than a block gets a block of its own, at offset 0.
		b := make([]byte, 0, max(size, need))
		a.blocks = append(a.blocks, b)
		a.size += int64(cap(b))
		last++
	}
	b := a.blocks[last]
	off := len(b)
	l := uint64(len(s))
	if len(s) >= longLen {
		b = binary.AppendUvarint(b, l)
		l = longLen
	}
	a.blocks[last] = append(b, s...)
	return uint64(last)<<40 | uint64(off)<<16 | l
}

// view returns the string stored at ref without copying it: blocks are
// never written below their length, so the bytes behind the string never
// change.
func (a *arena) view(ref uint64) string {
	n := int(ref & longLen)
	if n == 0 {
		return ""
	}
	b := a.blocks[ref>>40][ref>>16&(1<<24-1):]
	if n == longLen {
		l, k := binary.Uvarint(b)
		b, n = b[k:], int(l)
	}
	return unsafe.String(&b[0], n)
}
