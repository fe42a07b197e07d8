package graph

import (
	"reflect"
	"sync"
)

// Working memory (im2col matrices, packed weights, partial sums, LRN
// squares, pooling keys) is borrowed from pools shared by every op and
// given back when the op returns. The ops of a graph run one at a time, so
// a few buffers of the largest size serve a whole network: kept per op,
// ZFNet's scratch held about 200 MB between runs; allocated per call, a
// training step dropped 275 MB for the garbage collector, which let the
// heap (and peak memory) grow by as much before collecting.

var pools sync.Map // reflect.Type of T -> *sync.Pool of *[]T

func poolOf[T any]() *sync.Pool {
	key := reflect.TypeFor[T]()
	if p, ok := pools.Load(key); ok {
		return p.(*sync.Pool)
	}
	p, _ := pools.LoadOrStore(key, &sync.Pool{})
	return p.(*sync.Pool)
}

// borrowPtr lends a buffer holding at least n elements, of undefined
// contents, as a pointer the borrower may grow; give it back with the
// returned function (and not use it after).
func borrowPtr[T any](n int) (*[]T, func()) {
	p := poolOf[T]()
	b, _ := p.Get().(*[]T)
	if b == nil || cap(*b) < n {
		s := make([]T, n) // a smaller pooled buffer is dropped
		b = &s
	}
	*b = (*b)[:n]
	return b, func() { p.Put(b) }
}

// borrowSet lends k buffers of n elements each, contents undefined.
func borrowSet[T any](k, n int) ([][]T, func()) {
	bufs, gives := make([][]T, k), make([]func(), k)
	for i := range bufs {
		b, give := borrowPtr[T](n)
		bufs[i], gives[i] = *b, give
	}
	return bufs, func() {
		for _, give := range gives {
			give()
		}
	}
}
