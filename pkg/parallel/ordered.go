// Package parallel runs work on a bounded number of goroutines: an
// order-preserving parallel map, and an indexed worker pool.
package parallel

import (
	"context"
	"sync"
)

// Ordered runs work over the items that produce emits, on n goroutines, and
// hands the results to consume one at a time in the order the items were
// emitted. At most 2n+2 items are in flight (k·n+2 under a context from
// WithLookahead(ctx, k)), so memory is bounded by the item size times the
// worker count, not by the input.
//
// work receives the index of the goroutine running it (0 ≤ worker < n), so
// callers can keep per-worker accumulators without locks. The first error
// from produce, work or consume cancels the rest and is returned.
func Ordered[T, U any](ctx context.Context, n int,
	produce func(ctx context.Context, emit func(T) error) error,
	work func(worker int, item T) (U, error),
	consume func(U) error,
) error {
	if n < 1 {
		n = 1
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	type job struct {
		item T
		out  chan result[U]
	}
	jobs := make(chan job, n)
	// pending carries each job's result channel in emission order; its
	// capacity bounds the number of items in flight.
	pending := make(chan chan result[U], lookahead(ctx)*n)

	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func(worker int) {
			defer wg.Done()
			for j := range jobs {
				if ctx.Err() != nil {
					j.out <- result[U]{err: context.Cause(ctx)}
					continue
				}
				u, err := work(worker, j.item)
				j.out <- result[U]{val: u, err: err}
			}
		}(w)
	}

	prodErr := make(chan error, 1)
	go func() {
		defer close(pending)
		defer close(jobs)
		prodErr <- produce(ctx, func(item T) error {
			out := make(chan result[U], 1)
			select {
			case pending <- out:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			select {
			case jobs <- job{item: item, out: out}:
				return nil
			case <-ctx.Done():
				// The slot in pending must still be answered.
				out <- result[U]{err: context.Cause(ctx)}
				return context.Cause(ctx)
			}
		})
	}()

	var firstErr error
	for out := range pending {
		r := <-out
		if firstErr != nil {
			continue // drain
		}
		if r.err == nil {
			r.err = consume(r.val)
		}
		if r.err != nil {
			firstErr = r.err
			cancel(r.err)
		}
	}
	wg.Wait()
	if err := <-prodErr; firstErr == nil && err != nil {
		firstErr = err
	}
	return firstErr
}

type lookaheadKey struct{}

// WithLookahead returns a context under which Ordered lets at most k items
// per worker wait for the consumer (k·n+2 in flight in all) instead of 2.
// k = 1 still keeps every worker busy while the consumer handles an item,
// and holds fewer results at once: for work whose results are large and
// whose consumer is quick, that lowers peak memory at no cost in CPU. With
// a slow or uneven consumer a look-ahead of 2 lets workers run on while it
// catches up. k < 1 means the default.
func WithLookahead(ctx context.Context, k int) context.Context {
	return context.WithValue(ctx, lookaheadKey{}, k)
}

func lookahead(ctx context.Context) int {
	if k, ok := ctx.Value(lookaheadKey{}).(int); ok && k >= 1 {
		return k
	}
	return 2
}

type result[U any] struct {
	val U
	err error
}
