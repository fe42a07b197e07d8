package graph

//go:noescape
func keepPositiveAVX512(m, x, y *float32, n int)

// keepPositive32 is keepPositiveGo32 with the AVX-512 kernel where the
// avx512 SGEMM path runs (the same bits: it moves x's bits on the same
// integer test of m's), the Go loop otherwise.
func keepPositive32(m, x, y []float32) {
	if !dot8Available() || len(m) == 0 {
		keepPositiveGo32(m, x, y)
		return
	}
	_, _ = x[len(m)-1], y[len(m)-1]
	keepPositiveAVX512(&m[0], &x[0], &y[0], len(m))
}
