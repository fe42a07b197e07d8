package graph

import "math"

// The inner loops of cross-map LRN on float32 data, written once in Go
// (here) and once with AVX (lrn_kernels_amd64.s) for the bulk of each
// slice. The two give the same bits: every step is one IEEE operation in
// the same order (no fused multiply-add), and square root and division
// are correctly rounded in both.

// accumulateGo adds (sub: subtracts) v, widened to float64, onto run.
func accumulateGo(run []float64, v []float32, sub bool) {
	run = run[:len(v)]
	if sub {
		for j, x := range v {
			run[j] -= float64(x)
		}
		return
	}
	for j, x := range v {
		run[j] += float64(x)
	}
}

// scale075Go is lrnScale's inner loop for beta = 0.75: from window sums of
// squares it writes scale = K + a*max(s, 0) and pw = scale^-0.75.
func scale075Go(sums []float64, k, a float64, scale, pw []float32) {
	scale, pw = scale[:len(sums)], pw[:len(sums)]
	for j, s := range sums {
		sc := k + a*max(s, 0) // the running sum may dip below 0 by rounding
		r := math.Sqrt(sc)
		scale[j], pw[j] = float32(sc), float32(1/(r*math.Sqrt(r)))
	}
}

// squareGo writes sq = x*x.
func squareGo(x, sq []float32) {
	sq = sq[:len(x)]
	for i, v := range x {
		sq[i] = v * v
	}
}

// backwardTermsGo writes t = dy*x*pw/scale (the terms the backward window
// sums) and dx = dy*pw (the gradient's direct part).
func backwardTermsGo(dy, x, pw, scale, t, dx []float32) {
	n := len(x)
	dy, pw, scale, t, dx = dy[:n], pw[:n], scale[:n], t[:n], dx[:n]
	for i, v := range x {
		t[i] = dy[i] * v * pw[i] / scale[i]
		dx[i] = dy[i] * pw[i]
	}
}

// backwardCrossGo subtracts the cross-map part: dx -= f*x*s.
func backwardCrossGo(dx, x []float32, sums []float64, f float64) {
	dx, x = dx[:len(sums)], x[:len(sums)]
	for q, s := range sums {
		dx[q] -= float32(f * float64(x[q]) * s)
	}
}
