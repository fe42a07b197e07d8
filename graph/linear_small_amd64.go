package graph

//go:noescape
func dot8AVX512(k int, x, w *float32, ldw int, out *float32)

// dot8Available says whether dot8AVX512 runs: with the avx512 SGEMM path.
func dot8Available() bool { return sgCur != nil && sgCur.avx512 }
