package graph

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestLRNKernelsAVXMatchGo holds each AVX loop to its Go twin, bit for bit,
// on random data with special values, at every length up to 40 (the Go loop
// takes the tail). It calls the assembly directly, so it runs under
// ZFNET_NOASM too.
func TestLRNKernelsAVXMatchGo(t *testing.T) {
	if !cpuAVX2FMA() {
		t.Skip("SKIP: this CPU has no AVX2: the AVX loops cannot run here")
	}
	r := rand.New(rand.NewPCG(5, 6))
	f32 := func(n int, positive bool) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(9)-4)))
			if positive {
				v[i] = float32(math.Abs(float64(v[i]))) + 1
			}
			if i%13 == 5 && !positive {
				v[i] = specialFloats[r.IntN(len(specialFloats))]
			}
		}
		return v
	}
	f64 := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = r.NormFloat64() * math.Pow(10, float64(r.IntN(9)-4))
		}
		if n > 3 {
			v[1], v[2], v[3] = math.Copysign(0, -1), -1e-30, math.NaN()
		}
		return v
	}
	same32 := func(name string, n int, a, b []float32) {
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
				t.Fatalf("%s n=%d [%d]: AVX %v, Go %v", name, n, i, a[i], b[i])
			}
		}
	}
	same64 := func(name string, n int, a, b []float64) {
		for i := range a {
			if math.Float64bits(a[i]) != math.Float64bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
				t.Fatalf("%s n=%d [%d]: AVX %v, Go %v", name, n, i, a[i], b[i])
			}
		}
	}
	for n := 8; n <= 40; n += 8 {
		m4 := n // multiples of 8 serve both widths
		v, run := f32(n, false), f64(n)
		for _, sub := range []bool{false, true} {
			a, b := append([]float64(nil), run...), append([]float64(nil), run...)
			accumulateAVX(&a[0], &v[0], m4, sub)
			accumulateGo(b, v, sub)
			same64("accumulate", n, a, b)
		}
		sums := f64(n)
		sa, pa, sb, pb := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		scale075AVX(&sums[0], n, 2, 2e-5, &sa[0], &pa[0])
		scaleGo(sums, 2, 2e-5, 0.75, sb, pb)
		same32("scale", n, sa, sb)
		same32("pw", n, pa, pb)

		qa, qb := make([]float32, n), make([]float32, n)
		squareAVX(&v[0], &qa[0], n)
		squareGo(v, qb)
		same32("square", n, qa, qb)

		dy, pw, sc := f32(n, false), f32(n, true), f32(n, true)
		ta, da, tb, db := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		backwardTermsAVX(&dy[0], &v[0], &pw[0], &sc[0], &ta[0], &da[0], n)
		backwardTermsGo(dy, v, pw, sc, tb, db)
		same32("terms t", n, ta, tb)
		same32("terms dx", n, da, db)

		oa, ob := make([]float32, n), make([]float32, n)
		productAVX(&v[0], &dy[0], &oa[0], n)
		productGo(v, dy, ob)
		same32("product", n, oa, ob)

		dxa, dxb := f32(n, false), make([]float32, n)
		copy(dxb, dxa)
		backwardCrossAVX(&dxa[0], &v[0], &sums[0], n, 1.5e-5)
		backwardCrossGo(dxb, v, sums, 1.5e-5)
		same32("cross", n, dxa, dxb)
	}
	// The dispatchers: every length, AVX bulk plus Go tail against Go alone.
	if !sgemmAsmOK {
		return
	}
	for n := 1; n <= 40; n++ {
		sums := f64(n)
		sa, pa, sb, pb := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		scale075(sums, 2, 2e-5, sa, pa)
		scaleGo(sums, 2, 2e-5, 0.75, sb, pb)
		same32("scale075", n, pa, pb)
		x, y, oa, ob := f32(n, false), f32(n, false), make([]float32, n), make([]float32, n)
		product32(x, y, oa)
		productGo(x, y, ob)
		same32("product32", n, oa, ob)
		v, a := f32(n, false), f64(n)
		b := append([]float64(nil), a...)
		accumulate(a, v, true)
		accumulateGo(b, v, true)
		same64("accumulate", n, a, b)
	}
}
