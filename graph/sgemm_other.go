//go:build !amd64

package graph

// sgemmAsmOK reports whether the assembly SGEMM is in use; only amd64 has one.
const sgemmAsmOK = false

// sgemmFast is the assembly SGEMM; elsewhere it declines and gemm.go falls
// back to gonum.
func sgemmFast(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	return false
}
