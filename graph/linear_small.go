package graph

// A fully connected layer's forward pass for a few images at once (a
// projection or a click in zfnet serve: one image; the benchmarks and
// ImageNet training: 8) reads each weight once and uses it for only that
// many multiply-adds. Through the SGEMM, W (out x in, 302 MB for ZFNet's
// fc6) is first packed into the micro-kernel's panels: read, written and
// read again, three times the traffic of the product itself, which made
// the fully connected layers a sixth of a batch-8 forward pass. Up to
// linearSmallBatch images, each group of 8 weight rows is instead dotted
// with every image's input straight from W (the rows stay in L2 for the
// images after the first), by the AVX-512 kernel dot8AVX512 where the
// SGEMM path is avx512.
//
// Each output is then a sum of 16 lane sums (lane i over k = i mod 16, in
// order, then added in a fixed tree): deterministic, and the same for a
// given image whatever the batch, up to linearSmallBatch; beyond it, the
// SGEMM's order (the same bits from run to run, but not the same as here).

// linearSmallBatch is the most images linearForwardSmall takes.
const linearSmallBatch = 8

// linearForwardSmall computes y = x w^T (n x out) for n <= linearSmallBatch
// with dot8AVX512; false, doing nothing, where that kernel does not run.
func linearForwardSmall[T float](n, in, out int, x, w, y []T) bool {
	x32, ok := any(x).([]float32)
	if !ok || n > linearSmallBatch || out < 8 || !dot8Available() {
		return false
	}
	w32, y32 := any(w).([]float32), any(y).([]float32)
	_, _, _ = x32[n*in-1], w32[out*in-1], y32[n*out-1]
	groups := out / 8
	parallelRange(groups, func(lo, hi int) {
		var sums [8]float32
		for gi := lo; gi < hi; gi++ {
			for b := range n {
				dot8AVX512(in, &x32[b*in], &w32[gi*8*in], in, &sums[0])
				copy(y32[b*out+gi*8:][:8], sums[:])
			}
		}
	})
	if rest := out - groups*8; rest > 0 { // the last rows: the SGEMM
		j := groups * 8
		tmp := make([]float32, n*rest)
		gemm(false, true, n, rest, in, 1, x32, in, w32[j*in:], in, 0, tmp, rest)
		for b := range n {
			copy(y32[b*out+j:][:rest], tmp[b*rest:])
		}
	}
	return true
}
