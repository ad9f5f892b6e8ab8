package testservers

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Op is the kind of a storage request, as fault rules match it.
type Op string

// Request kinds. A conditional PUT is a create-if-absent write (S3's
// If-None-Match: *); LIST is a listing, HEAD an attributes read.
const (
	OpGet         Op = "GET"
	OpPut         Op = "PUT"
	OpPutIfAbsent Op = "PUT-IF-ABSENT"
	OpDelete      Op = "DELETE"
	OpList        Op = "LIST"
	OpHead        Op = "HEAD"
	OpOther       Op = "OTHER" // multipart calls, copies, bucket calls
)

// Fault is what goes wrong with a request.
type Fault string

// Faults.
const (
	// FaultError answers 503 without passing the request on: nothing
	// happens in the store.
	FaultError Fault = "5xx"
	// FaultReset resets the client's connection before the request is
	// passed on: nothing happens in the store.
	FaultReset Fault = "reset"
	// FaultDrop passes the request on, lets the store apply it, and then
	// resets the client's connection instead of answering: a write that
	// happened, whose response was lost.
	FaultDrop Fault = "drop"
	// FaultSlow delays the request by the rule's Delay, then passes it on.
	FaultSlow Fault = "slow"
)

// Rule injects one fault into requests of one kind.
type Rule struct {
	Op Op
	// Key, when set, is a regular expression the object key (without the
	// bucket) must match, e.g. `^.*generations/`.
	Key string
	// Fault is injected with probability P into each matching request.
	Fault Fault
	P     float64
	// Delay is how long FaultSlow waits.
	Delay time.Duration
	// Max, when above 0, bounds the faults this rule injects (a store that
	// fails twice and then recovers: P 1, Max 2).
	Max int

	key *regexp.Regexp
}

// Injector decides which requests get which fault, deterministically: the
// decision for the n-th request of an (op, key) pair is a hash of the seed,
// the rule, op, key and n, so it does not depend on how concurrent
// requests interleave. It counts what it injected. It is safe for
// concurrent use, and its rules can be replaced while it serves.
type Injector struct {
	seed uint64

	mu     sync.Mutex
	rules  []Rule
	used   []int // faults injected per rule
	seen   map[string]uint64
	counts map[string]int // "OP fault" → n
}

// NewInjector returns an injector with the given seed and rules. A rule
// whose Key does not compile panics (rules are written in tests).
func NewInjector(seed uint64, rules ...Rule) *Injector {
	in := &Injector{seed: seed, seen: map[string]uint64{}, counts: map[string]int{}}
	in.SetRules(rules...)
	return in
}

// SetRules replaces the rules; the counts stay.
func (in *Injector) SetRules(rules ...Rule) {
	rs := make([]Rule, len(rules))
	for i, r := range rules {
		if r.Key != "" {
			r.key = regexp.MustCompile(r.Key)
		}
		rs[i] = r
	}
	in.mu.Lock()
	in.rules, in.used = rs, make([]int, len(rs))
	in.mu.Unlock()
}

// Decide returns the fault for a request (and the delay of FaultSlow), or
// "" for none, and counts it.
func (in *Injector) Decide(op Op, key string) (Fault, time.Duration) {
	in.mu.Lock()
	defer in.mu.Unlock()
	id := string(op) + " " + key
	n := in.seen[id]
	in.seen[id] = n + 1
	for i, r := range in.rules {
		if r.Op != op || r.key != nil && !r.key.MatchString(key) || r.Max > 0 && in.used[i] >= r.Max {
			continue
		}
		if in.draw(i, id, n) >= r.P {
			continue
		}
		in.used[i]++
		in.counts[string(op)+" "+string(r.Fault)]++
		return r.Fault, r.Delay
	}
	return "", 0
}

// Coin is a deterministic draw in [0, 1) for a named choice about a
// request that got a fault (the in-process bucket uses it to pick whether
// the SDK's resend of a dropped request is modelled).
func (in *Injector) Coin(what, key string) float64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	id := "coin " + what + " " + key
	n := in.seen[id]
	in.seen[id] = n + 1
	return in.draw(-1, id, n)
}

func (in *Injector) draw(rule int, id string, n uint64) float64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], in.seed)
	h.Write(b[:])
	binary.LittleEndian.PutUint64(b[:], uint64(rule))
	h.Write(b[:])
	binary.LittleEndian.PutUint64(b[:], n)
	h.Write(b[:])
	h.Write([]byte(id))
	// fnv's low bits mix poorly over short inputs: finish with splitmix64.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// Count returns how many faults of kind f were injected into requests of
// kind op.
func (in *Injector) Count(op Op, f Fault) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.counts[string(op)+" "+string(f)]
}

// Counts returns the injected faults as "OP fault" → n.
func (in *Injector) Counts() map[string]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[string]int, len(in.counts))
	for k, v := range in.counts {
		out[k] = v
	}
	return out
}

// Total is the number of faults injected.
func (in *Injector) Total() int {
	n := 0
	for _, v := range in.Counts() {
		n += v
	}
	return n
}

// String prints the counts, sorted, e.g. "GET 5xx=3, PUT drop=1".
func (in *Injector) String() string {
	c := in.Counts()
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, c[k])
	}
	return strings.Join(parts, ", ")
}
