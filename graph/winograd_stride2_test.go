package graph

import (
	"math/rand"
	"testing"
)

// TestPhaseWinograd: stride-2 5x5 and 6x6 convolutions through the phase
// split and F(2x2, 3x3), in float32, against the float64 direct
// convolution (forward, input gradient, weight gradient) under every SGEMM
// path: odd and even maps, paddings 0 to 2, a 6x6 kernel whose last input
// row no output reads, and zfnet conv2's 5x5/2 without padding. Same bound
// as TestWinograd: max error under 1e-5 of the largest magnitude.
func TestPhaseWinograd(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewSource(9))
		// n, c, h, w, o, k, pad
		for _, s := range [][7]int{{2, 3, 11, 11, 5, 5, 0}, {1, 4, 12, 13, 3, 6, 1}, {2, 5, 15, 14, 4, 5, 2}, {1, 2, 7, 7, 3, 6, 0}, {2, 33, 27, 27, 130, 5, 0}} {
			n, c, h, w, o, k, pad := s[0], s[1], s[2], s[3], s[4], s[5], s[6]
			g, err := newConvGeom(n, c, h, w, o, k, k, 2, pad)
			if err != nil {
				t.Fatal(err)
			}
			if !phaseOK(g) {
				t.Fatalf("%v: not phaseOK", s)
			}
			id := [6]int{n, c, h, o, k, pad}
			x64, w64, b64 := randF64(rng, n*c*h*w), randF64(rng, o*c*k*k), randF64(rng, o)
			want := convDirect64(g, x64, w64, b64)
			y := make([]float32, len(want))
			phaseForward(g, f32(x64), f32(w64), f32(b64), y)
			checkRel(t, "forward", id, y, want)

			dy := randF64(rng, n*o*g.OH*g.OW)
			dx64 := make([]float64, len(x64))
			convBackwardInput(g, dy, w64, dx64)
			dx := make([]float32, len(dx64))
			phaseBackwardInput(g, f32(dy), f32(w64), dx)
			checkRel(t, "input gradient", id, dx, dx64)

			dw64 := make([]float64, len(w64))
			convBackwardWeight(g, x64, dy, dw64)
			dw := make([]float32, len(dw64))
			phaseBackwardWeight(g, f32(x64), f32(dy), dw)
			checkRel(t, "weight gradient", id, dw, dw64)
		}
	})
}
