package drift

import (
	"fmt"
	"sync"
	"testing"

	"github.com/mldata-io/mldata/pkg/profile/tally"
)

// The shared set counts each key once however many workers add it, and
// says the limit is passed exactly when more distinct keys than the limit
// have been added.
func TestDistinctSetCountsDistinctKeys(t *testing.T) {
	for _, tc := range []struct{ keys, limit int }{{100, 100}, {101, 100}, {5000, 4999}, {3, 1}} {
		s := newDistinctSet(tc.limit, 4)
		var wg sync.WaitGroup
		passed := make([]bool, 4)
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Every worker adds every key, starting at a different one.
				for j := range tc.keys {
					k := (j + w*tc.keys/4) % tc.keys
					if s.add(tally.Mix64(uint64(k))) {
						passed[w] = true
					}
				}
			}()
		}
		wg.Wait()
		want := tc.keys > tc.limit
		if s.passed() != want {
			t.Errorf("%d keys, limit %d: passed %v, want %v", tc.keys, tc.limit, s.passed(), want)
		}
		if !want && s.n.Load() != int64(tc.keys) {
			t.Errorf("%d keys, limit %d: set holds %d", tc.keys, tc.limit, s.n.Load())
		}
		if want && !(passed[0] || passed[1] || passed[2] || passed[3]) {
			t.Errorf("%d keys, limit %d: no worker was told", tc.keys, tc.limit)
		}
	}
	// Key 0 is stored as 1: the two count once, which only lowers the bound.
	s := newDistinctSet(10, 1)
	s.add(0)
	s.add(1)
	if s.n.Load() != 1 {
		t.Errorf("keys 0 and 1 counted %d times", s.n.Load())
	}
	if newDistinctSet(0, 2) != nil || newDistinctSet(-1, 2) != nil || newDistinctSet(maxDistinctSet+1, 2) != nil {
		t.Error("a set for no limit or a limit too large")
	}
}

// Two workers whose own tables stay under the limit prove together that
// the side passes it, through the values they publish; overlapping values
// count once.
func TestDistinctSetAcrossWorkers(t *testing.T) {
	table := func(prefix string, from, n int) *tally.Strings {
		var tb tally.Strings
		for i := from; i < from+n; i++ {
			tb.Add(fmt.Sprint(prefix, i))
			tb.Add(fmt.Sprint(prefix, i)) // repeats add nothing
		}
		return &tb
	}
	for _, tc := range []struct {
		name     string
		a, b     *tally.Strings
		limit    int
		wantPass bool
	}{
		{"disjoint, over", table("v", 0, 60), table("v", 60, 60), 100, true},
		{"overlapping, at the limit", table("v", 0, 70), table("v", 30, 70), 100, false},
		{"overlapping, one over", table("v", 0, 70), table("v", 31, 70), 100, true},
	} {
		s := newDistinctSet(tc.limit, 2)
		var da, db int
		if s.publishStrings(tc.a, &da) {
			t.Errorf("%s: the first table alone passed the limit", tc.name)
		}
		if got := s.publishStrings(tc.b, &db); got != tc.wantPass {
			t.Errorf("%s: passed %v, want %v", tc.name, got, tc.wantPass)
		}
		// Publishing again adds nothing new.
		if got := s.publishStrings(tc.a, &da); got != tc.wantPass {
			t.Errorf("%s: passed %v after publishing again", tc.name, got)
		}
	}

	// Integers: the whole table once it is large enough, then new values.
	s := newDistinctSet(100, 2) // publishes from 25 values
	var a, b tally.Ints
	var pa, pb intPublisher
	for v := range int64(20) {
		a.Add(v)
	}
	if s.publishInts(&a, &pa) || pa.on || s.n.Load() != 0 {
		t.Fatalf("a table of 20 published (on %v, %d keys)", pa.on, s.n.Load())
	}
	for v := range int64(60) {
		a.Add(v)
	}
	if s.publishInts(&a, &pa) || !pa.on || s.n.Load() != 60 {
		t.Fatalf("a table of 60: on %v, %d keys", pa.on, s.n.Load())
	}
	for v := int64(60); v < 100; v++ {
		a.Add(v)
		pa.fresh = append(pa.fresh, v)
	}
	if s.publishInts(&a, &pa) || s.n.Load() != 100 || len(pa.fresh) != 0 {
		t.Fatalf("100 values: %d keys, %d fresh left", s.n.Load(), len(pa.fresh))
	}
	for v := int64(50); v < 101; v++ {
		b.Add(v)
	}
	if !s.publishInts(&b, &pb) {
		t.Errorf("101 distinct values between two tables did not pass a limit of 100 (%d keys)", s.n.Load())
	}
}
