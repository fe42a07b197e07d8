//go:build !amd64

package graph

func dot8AVX512(k int, x, w *float32, ldw int, out *float32) { panic("dot8AVX512: amd64 only") }

// dot8Available is false without assembly: the SGEMM computes every batch.
func dot8Available() bool { return false }
