package graph

import (
	"math"
	"math/rand"
	"testing"
)

// TestLinearForwardSmall: the fully connected forward pass for 1 to 8
// images (dot8AVX512 on the avx512 path, the SGEMM on the others) against
// a float64 reference, with the SGEMM tests' bound (1e-5 sqrt(k) of the
// sum of magnitudes), on input sizes around the 16-lane chunks and output
// sizes around the 8-row groups; and each image's outputs the same bits
// whether it runs alone or in a batch of up to 8.
func TestLinearForwardSmall(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewSource(12))
		for _, n := range []int{1, 3, 8} {
			for _, in := range []int{1, 15, 16, 17, 100, 300} {
				for _, out := range []int{8, 9, 16, 23} {
					x, w, b := sgemmRandSlice(rng, n*in), sgemmRandSlice(rng, out*in), sgemmRandSlice(rng, out)
					y := make([]float32, n*out)
					linearForward(n, in, out, x, w, b, y)
					for i := range n {
						for j := range out {
							want, scale := float64(b[j]), math.Abs(float64(b[j]))
							for k := range in {
								p := float64(x[i*in+k]) * float64(w[j*in+k])
								want, scale = want+p, scale+math.Abs(p)
							}
							if d := math.Abs(float64(y[i*out+j]) - want); !(d <= 1e-5*math.Sqrt(float64(in))*scale) {
								t.Fatalf("n=%d in=%d out=%d: y[%d][%d] = %v, want %v", n, in, out, i, j, y[i*out+j], want)
							}
						}
					}
					last := make([]float32, out)
					linearForward(1, in, out, x[(n-1)*in:], w, b, last)
					for j := range out {
						if math.Float32bits(last[j]) != math.Float32bits(y[(n-1)*out+j]) {
							t.Fatalf("n=%d in=%d out=%d: image %d alone gives %v at %d, in the batch %v", n, in, out, n-1, last[j], j, y[(n-1)*out+j])
						}
					}
				}
			}
		}
	})
}
