package graph

import (
	"runtime"
	"sync"
)

// workers is how many goroutines a kernel splits its outer loop over.
func workers(n int) int {
	p := runtime.GOMAXPROCS(0)
	if n < p {
		return n
	}
	return p
}

// parallelFor runs fn(w, i) for i in [0, n) on workers(n) goroutines; w is
// the worker's index, so a worker can own scratch buffers.
func parallelFor(n int, fn func(w, i int)) {
	p := workers(n)
	if p <= 1 {
		for i := 0; i < n; i++ {
			fn(0, i)
		}
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for w := 0; w < p; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				fn(w, i)
			}
		}(w)
	}
	wg.Wait()
}

// parallelRange splits [0, n) into contiguous chunks, one per worker.
func parallelRange(n int, fn func(lo, hi int)) {
	p := workers(n)
	if p <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + p - 1) / p
	for lo := 0; lo < n; lo += chunk {
		hi := lo + chunk
		if hi > n {
			hi = n
		}
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, hi)
	}
	wg.Wait()
}
