package parallel

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func emitN(n int) func(context.Context, func(int) error) error {
	return func(_ context.Context, emit func(int) error) error {
		for i := 0; i < n; i++ {
			if err := emit(i); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestOrderedKeepsOrder(t *testing.T) {
	for _, workers := range []int{0, 1, 3, 8} {
		var got []int
		var maxWorker atomic.Int64
		err := Ordered(context.Background(), workers, emitN(200),
			func(w int, i int) (int, error) {
				if int64(w) > maxWorker.Load() {
					maxWorker.Store(int64(w))
				}
				time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
				return i * i, nil
			},
			func(v int) error { got = append(got, v); return nil })
		if err != nil {
			t.Fatal(err)
		}
		want := make([]int, 200)
		for i := range want {
			want[i] = i * i
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("workers=%d: results out of order (-want +got):\n%s", workers, d)
		}
		if limit := max(workers, 1); maxWorker.Load() >= int64(limit) {
			t.Errorf("workers=%d: worker index %d out of range", workers, maxWorker.Load())
		}
	}
}

func TestOrderedBoundsInFlight(t *testing.T) {
	const workers = 2
	var inFlight, peak atomic.Int64
	err := Ordered(context.Background(), workers,
		emitCounting(100, &inFlight, &peak),
		func(_ int, i int) (int, error) { return i, nil },
		func(int) error {
			time.Sleep(100 * time.Microsecond) // a slow consumer
			inFlight.Add(-1)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	// 2n results wait, one is being consumed and one is being emitted.
	if p := peak.Load(); p > 2*workers+2 {
		t.Errorf("peak items in flight = %d, want <= %d", p, 2*workers+2)
	}
}

func TestOrderedLookahead(t *testing.T) {
	const workers = 3
	for _, tc := range []struct{ k, want int }{{0, 2*workers + 2}, {1, workers + 2}, {2, 2*workers + 2}, {3, 3*workers + 2}} {
		var inFlight, peak atomic.Int64
		release := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- Ordered(WithLookahead(context.Background(), tc.k), workers,
				emitCounting(50, &inFlight, &peak),
				func(_ int, i int) (int, error) { return i, nil },
				func(i int) error {
					if i == 0 {
						<-release // the consumer stalls on the first result
					}
					inFlight.Add(-1)
					return nil
				})
		}()
		// While the consumer stalls the producer fills the look-ahead and
		// then blocks: in flight stays at the bound, which it reaches.
		deadline := time.Now().Add(5 * time.Second)
		for peak.Load() < int64(tc.want) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // room to overshoot, were it unbounded
		if p := peak.Load(); p != int64(tc.want) {
			t.Errorf("k=%d: peak items in flight with a stalled consumer = %d, want %d", tc.k, p, tc.want)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestOrderedErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := map[string]struct {
		produce func(context.Context, func(int) error) error
		work    func(int, int) (int, error)
		consume func(int) error
	}{
		"work": {emitN(1000), func(_ int, i int) (int, error) {
			if i == 7 {
				return 0, boom
			}
			return i, nil
		}, func(int) error { return nil }},
		"consume": {emitN(1000), func(_ int, i int) (int, error) { return i, nil }, func(v int) error {
			if v == 3 {
				return boom
			}
			return nil
		}},
		"produce": {func(_ context.Context, emit func(int) error) error {
			_ = emit(1)
			return boom
		}, func(_ int, i int) (int, error) { return i, nil }, func(int) error { return nil }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := Ordered(context.Background(), 3, tc.produce, tc.work, tc.consume)
			if !errors.Is(err, boom) {
				t.Fatalf("got %v, want boom", err)
			}
		})
	}
}

func TestOrderedCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Ordered(ctx, 2, emitN(10), func(_ int, i int) (int, error) { return i, nil }, func(int) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestForEach(t *testing.T) {
	var sum atomic.Int64
	slots := make([]atomic.Int64, 3)
	err := ForEach(context.Background(), 3, 100, func(slot, i int) error {
		slots[slot].Add(1)
		sum.Add(int64(i))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Load() != 4950 {
		t.Errorf("sum = %d, want 4950", sum.Load())
	}
	var n int64
	for i := range slots {
		n += slots[i].Load()
	}
	if n != 100 {
		t.Errorf("ran %d items, want 100", n)
	}

	boom := errors.New("boom")
	err = ForEach(context.Background(), 2, 50, func(_, i int) error {
		if i == 5 || i == 9 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want boom", err)
	}
}

// emitCounting is a producer of the items 0..n-1 that counts the items in
// flight (the consumer takes one off) and records the peak.
func emitCounting(n int, inFlight, peak *atomic.Int64) func(context.Context, func(int) error) error {
	return func(_ context.Context, emit func(int) error) error {
		for i := 0; i < n; i++ {
			if v := inFlight.Add(1); v > peak.Load() {
				peak.Store(v)
			}
			if err := emit(i); err != nil {
				return err
			}
		}
		return nil
	}
}
