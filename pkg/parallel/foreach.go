package parallel

import (
	"context"
	"sync"
	"sync/atomic"
)

// ForEach runs fn(slot, i) for i in [0, n) on `workers` goroutines; slot
// is the goroutine's index. It stops handing out work after the first error
// and returns the error of the lowest failing index.
func ForEach(ctx context.Context, workers, n int, fn func(slot, i int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var failed atomic.Bool
	var wg sync.WaitGroup
	for s := 0; s < max(1, workers); s++ {
		wg.Add(1)
		go func(slot int) {
			defer wg.Done()
			for i := range next {
				if errs[i] = fn(slot, i); errs[i] != nil {
					failed.Store(true)
				}
			}
		}(s)
	}
	for i := 0; i < n && ctx.Err() == nil && !failed.Load(); i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}
