package graph

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Row-major GEMM: c = alpha*op(a)*op(b) + beta*c with op(a) m x k and op(b)
// k x n. float32 runs on the AVX2/FMA assembly kernels (sgemm_amd64.go)
// where the CPU has them, and on gonum's pure-Go kernels otherwise (and
// for float64).
var sgemm = func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if sgemmFast(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	gonum.Implementation{}.Sgemm(trans(tA), trans(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

var dgemm = func(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	gonum.Implementation{}.Dgemm(trans(tA), trans(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// gemm dispatches on the element type. Leading dimensions are those of the
// row-major storage, as gonum expects.
func gemm[T float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	switch cs := any(c).(type) {
	case []float32:
		sgemm(tA, tB, m, n, k, float32(alpha), any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), cs, ldc)
	case []float64:
		dgemm(tA, tB, m, n, k, float64(alpha), any(a).([]float64), lda, any(b).([]float64), ldb, float64(beta), cs, ldc)
	}
}

// prepackA packs op(a) (m x k) once for a series of gemmPrepacked calls
// that share it, as a convolution's weights meet every image of a batch,
// into a borrowed buffer that give returns; nil when there is nothing to
// gain (no assembly SGEMM, float64).
func prepackA[T float](tA bool, m, k int, a []T, lda int) (pre []float32, give func()) {
	a32, ok := any(a).([]float32)
	if !ok {
		return nil, func() {}
	}
	buf, give := borrowPtr[float32](sgemmPackedSize(m, k))
	return sgemmPrepackA(tA, m, k, a32, lda, buf), give
}

// gemmPrepacked is gemm with op(a) packed by prepackA (pre; nil: gemm).
func gemmPrepacked[T float](pre []float32, tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if cs, ok := any(c).([]float32); ok && pre != nil {
		a32, b32 := any(a).([]float32), any(b).([]float32)
		if sgemmWith(tA, tB, m, n, k, float32(alpha), a32, lda, pre, b32, ldb, float32(beta), cs, ldc) {
			return
		}
	}
	gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// BLAS names the GEMM in use, for benchmarks and logs.
func BLAS() string { return sgemmBLASName() }
