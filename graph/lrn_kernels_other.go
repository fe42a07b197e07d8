//go:build !amd64

package graph

func accumulate(run []float64, v []float32, sub bool) { accumulateGo(run, v, sub) }

func scale075(sums []float64, k, a float64, scale, pw []float32) { scale075Go(sums, k, a, scale, pw) }

func square(x, sq []float32) { squareGo(x, sq) }

func backwardTerms(dy, x, pw, scale, t, dx []float32) { backwardTermsGo(dy, x, pw, scale, t, dx) }

func backwardCross(dx, x []float32, sums []float64, f float64) { backwardCrossGo(dx, x, sums, f) }
