//go:build !amd64

package graph

// Without AVX the float32 entry points are the Go loops.

func accumulate32(run []float64, v []float32, sub bool) { accumulateGo(run, v, sub) }

func scale075(sums []float64, k, a float64, scale, pw []float32) {
	scaleGo(sums, k, a, 0.75, scale, pw)
}

func square32(x, sq []float32) { squareGo(x, sq) }

func backwardTerms32(dy, x, pw, scale, t, dx []float32) { backwardTermsGo(dy, x, pw, scale, t, dx) }

func backwardCross32(dx, x []float32, sums []float64, f float64) { backwardCrossGo(dx, x, sums, f) }

func product32(x, y, out []float32) { productGo(x, y, out) }
