//go:build !amd64

package graph

// sgemmAsmOK reports whether the assembly SGEMM is in use; only amd64 has one.
const sgemmAsmOK = false

// sgemmFast is the assembly SGEMM; elsewhere it declines and gemm.go falls
// back to gonum.
func sgemmFast(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	return false
}

// sgemmPrepackA has nothing to pack for: there is no assembly SGEMM.
func sgemmPrepackA(tA bool, m, k int, a []float32, lda int, buf *[]float32) []float32 { return nil }

// sgemmWith declines like sgemmFast.
func sgemmWith(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, preA []float32, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	return false
}

// sgemmPackedSize: nothing is packed without the assembly SGEMM.
func sgemmPackedSize(m, k int) int { return 0 }

// sgemmPackedLayout: there is no packed layout without the assembly SGEMM.
func sgemmPackedLayout() (mr, kc int, ok bool) { return 0, 0, false }
