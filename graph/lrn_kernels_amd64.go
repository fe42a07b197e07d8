package graph

//go:noescape
func accumulateAVX(run *float64, v *float32, n int, sub bool)

//go:noescape
func scale075AVX(sums *float64, n int, k, a float64, scale, pw *float32)

//go:noescape
func squareAVX(x, sq *float32, n int)

//go:noescape
func backwardTermsAVX(dy, x, pw, scale, t, dx *float32, n int)

//go:noescape
func productAVX(x, y, out *float32, n int)

//go:noescape
func backwardCrossAVX(dx, x *float32, sums *float64, n int, f float64)

// The dispatchers run the AVX loop over the largest multiple of its width
// and the Go loop over the rest (sgemmAsmOK: AVX2 present, ZFNET_NOASM unset).

func accumulate32(run []float64, v []float32, sub bool) {
	if m := len(v) &^ 3; sgemmAsmOK && m > 0 {
		_ = run[len(v)-1]
		accumulateAVX(&run[0], &v[0], m, sub)
		run, v = run[m:], v[m:]
	}
	accumulateGo(run, v, sub)
}

func scale075(sums []float64, k, a float64, scale, pw []float32) {
	if m := len(sums) &^ 3; sgemmAsmOK && m > 0 {
		_, _ = scale[len(sums)-1], pw[len(sums)-1]
		scale075AVX(&sums[0], m, k, a, &scale[0], &pw[0])
		sums, scale, pw = sums[m:], scale[m:], pw[m:]
	}
	scaleGo(sums, k, a, 0.75, scale, pw)
}

func square32(x, sq []float32) {
	if m := len(x) &^ 7; sgemmAsmOK && m > 0 {
		_ = sq[len(x)-1]
		squareAVX(&x[0], &sq[0], m)
		x, sq = x[m:], sq[m:]
	}
	squareGo(x, sq)
}

func backwardTerms32(dy, x, pw, scale, t, dx []float32) {
	if n, m := len(x), len(x)&^7; sgemmAsmOK && m > 0 {
		_, _, _, _, _ = dy[n-1], pw[n-1], scale[n-1], t[n-1], dx[n-1]
		backwardTermsAVX(&dy[0], &x[0], &pw[0], &scale[0], &t[0], &dx[0], m)
		dy, x, pw, scale, t, dx = dy[m:], x[m:], pw[m:], scale[m:], t[m:], dx[m:]
	}
	backwardTermsGo(dy, x, pw, scale, t, dx)
}

func backwardCross32(dx, x []float32, sums []float64, f float64) {
	if n, m := len(sums), len(sums)&^3; sgemmAsmOK && m > 0 {
		_, _ = dx[n-1], x[n-1]
		backwardCrossAVX(&dx[0], &x[0], &sums[0], m, f)
		dx, x, sums = dx[m:], x[m:], sums[m:]
	}
	backwardCrossGo(dx, x, sums, f)
}

func product32(x, y, out []float32) {
	if n, m := len(x), len(x)&^7; sgemmAsmOK && m > 0 {
		_, _ = y[n-1], out[n-1]
		productAVX(&x[0], &y[0], &out[0], m)
		x, y, out = x[m:], y[m:], out[m:]
	}
	productGo(x, y, out)
}
