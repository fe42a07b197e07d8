package graph

import "math"

// The inner loops of cross-map LRN, written once in Go (here, for float32
// and float64) and once with AVX (lrn_kernels_amd64.s) for the bulk of each
// float32 slice. The two give the same bits: every step is one IEEE
// operation in the same order (no fused multiply-add), and square root and
// division are correctly rounded in both. The entry points without the Go
// suffix pick the AVX loop where it exists (lrn_kernels_amd64.go).

// accumulateGo adds (sub: subtracts) v, widened to float64, onto run.
func accumulateGo[T float](run []float64, v []T, sub bool) {
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

// scaleGo is lrnScale's inner loop: from window sums of squares it writes
// scale = K + a*max(s, 0) and pw = scale^-beta.
func scaleGo[T float](sums []float64, k, a, beta float64, scale, pw []T) {
	scale, pw = scale[:len(sums)], pw[:len(sums)]
	for j, s := range sums {
		sc := k + a*max(s, 0) // the running sum may dip below 0 by rounding
		scale[j] = T(sc)
		if beta == 0.75 {
			pw[j] = pow075(T(sc))
		} else {
			pw[j] = T(math.Pow(sc, -beta))
		}
	}
}

// pow075 is s^-0.75 for the paper's beta as 1/(r*sqrt(r)) with r =
// sqrt(s), every step one correctly rounded operation in T's precision
// (float32's sqrt through float64 is correctly rounded: float64 has more
// than twice float32's bits). For float32 that is what scale075AVX
// computes, four single-precision square roots and divisions at a time
// where float64 ones took three times as long; the result is within 4.5
// roundoffs of float32 (2.7e-7 relative) of the exact power: the first
// square root's error counts 1.5 times, the three other steps' once.
func pow075[T float](s T) T {
	r := T(math.Sqrt(float64(s)))
	return 1 / (r * T(math.Sqrt(float64(r))))
}

// squareGo writes sq = x*x.
func squareGo[T float](x, sq []T) {
	sq = sq[:len(x)]
	for i, v := range x {
		sq[i] = v * v
	}
}

// productGo writes out = x*y (the forward output x*pw).
func productGo[T float](x, y, out []T) {
	y, out = y[:len(x)], out[:len(x)]
	for i, v := range x {
		out[i] = v * y[i]
	}
}

// backwardTermsGo writes t = dy*x*pw/scale (the terms the backward window
// sums) and dx = dy*pw (the gradient's direct part).
func backwardTermsGo[T float](dy, x, pw, scale, t, dx []T) {
	n := len(x)
	dy, pw, scale, t, dx = dy[:n], pw[:n], scale[:n], t[:n], dx[:n]
	for i, v := range x {
		t[i] = dy[i] * v * pw[i] / scale[i]
		dx[i] = dy[i] * pw[i]
	}
}

// backwardCrossGo subtracts the cross-map part: dx -= f*x*s.
func backwardCrossGo[T float](dx, x []T, sums []float64, f float64) {
	dx, x = dx[:len(sums)], x[:len(sums)]
	for q, s := range sums {
		dx[q] -= T(f * float64(x[q]) * s)
	}
}

// The entry points: float32 slices go to the AVX dispatchers (which fall
// back to the Go loops themselves), everything else to the Go loops.

func accumulate[T float](run []float64, v []T, sub bool) {
	if v32, ok := any(v).([]float32); ok {
		accumulate32(run, v32, sub)
		return
	}
	accumulateGo(run, v, sub)
}

func scaleRow[T float](sums []float64, k, a, beta float64, scale, pw []T) {
	if s32, ok := any(scale).([]float32); ok && beta == 0.75 {
		scale075(sums, k, a, s32, any(pw).([]float32))
		return
	}
	scaleGo(sums, k, a, beta, scale, pw)
}

func square[T float](x, sq []T) {
	if x32, ok := any(x).([]float32); ok {
		square32(x32, any(sq).([]float32))
		return
	}
	squareGo(x, sq)
}

func product[T float](x, y, out []T) {
	if x32, ok := any(x).([]float32); ok {
		product32(x32, any(y).([]float32), any(out).([]float32))
		return
	}
	productGo(x, y, out)
}

func backwardTerms[T float](dy, x, pw, scale, t, dx []T) {
	if x32, ok := any(x).([]float32); ok {
		backwardTerms32(any(dy).([]float32), x32, any(pw).([]float32), any(scale).([]float32), any(t).([]float32), any(dx).([]float32))
		return
	}
	backwardTermsGo(dy, x, pw, scale, t, dx)
}

func backwardCross[T float](dx, x []T, sums []float64, f float64) {
	if x32, ok := any(x).([]float32); ok {
		backwardCross32(any(dx).([]float32), x32, sums, f)
		return
	}
	backwardCrossGo(dx, x, sums, f)
}
