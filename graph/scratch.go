package graph

import (
	"math/bits"
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

var pools sync.Map // poolKey -> *sync.Pool of *[]T

// poolKey names a pool: element type and size class. Buffers of class c
// hold 2^c elements, so a small request never keeps a large buffer busy
// and the pools hold at most twice what is in use at once.
type poolKey struct {
	t     reflect.Type
	class int
}

func poolOf[T any](class int) *sync.Pool {
	key := poolKey{reflect.TypeFor[T](), class}
	if p, ok := pools.Load(key); ok {
		return p.(*sync.Pool)
	}
	p, _ := pools.LoadOrStore(key, &sync.Pool{})
	return p.(*sync.Pool)
}

// borrowPtr lends a buffer of n elements, of undefined contents, as a
// pointer the borrower may grow (up to its capacity, 2^class); give it back
// with the returned function (and not use it after).
func borrowPtr[T any](n int) (*[]T, func()) {
	class := bits.Len(uint(max(n, 1) - 1)) // smallest c with 2^c >= n
	p := poolOf[T](class)
	b, _ := p.Get().(*[]T)
	if b == nil || cap(*b) < n {
		s := make([]T, n, 1<<class)
		b = &s
	}
	*b = (*b)[:n]
	return b, func() {
		if c := cap(*b); c&(c-1) == 0 { // grown past its class: let it go
			poolOf[T](bits.Len(uint(c - 1))).Put(b)
		}
	}
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
