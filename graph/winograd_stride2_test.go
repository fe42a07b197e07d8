package graph

import (
	"math/rand"
	"testing"
)

// TestPhaseWinograd: stride-2 5x5 and 6x6 convolutions through the phase
// split and F(2x2, 3x3), and F(4x4, 3x3) (whose assembly path gathers the
// phases from the input itself), in float32, against the float64 direct convolution (forward, input
// gradient, weight gradient) under every SGEMM path: odd and even maps,
// paddings 0 to 2, a 6x6 kernel whose last input row no output reads,
// outputs of 22x22, and zfnet conv2's 5x5/2
// without padding. Same bound as TestWinograd: max error under 1e-5 of the
// largest magnitude.
func TestPhaseWinograd(t *testing.T) {
	defer func(tile int) { winogradTile = tile }(winogradTile)
	for _, tile := range []int{2, 4} {
		winogradTile = tile
		t.Run(map[int]string{2: "F2x2", 4: "F4x4"}[tile], testPhaseWinograd)
	}
}

func testPhaseWinograd(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewSource(9))
		// n, c, h, w, o, k, pad
		for _, s := range [][7]int{{2, 3, 11, 11, 5, 5, 0}, {1, 4, 12, 13, 3, 6, 1}, {2, 5, 15, 14, 4, 5, 2}, {1, 2, 7, 7, 3, 6, 0}, {2, 33, 27, 27, 130, 5, 0}, {1, 3, 45, 46, 4, 5, 1}, {1, 2, 47, 45, 3, 6, 2}} {
			n, c, h, w, o, k, pad := s[0], s[1], s[2], s[3], s[4], s[5], s[6]
			g, err := newConvGeom(n, c, h, w, o, k, k, 2, pad)
			if err != nil {
				t.Fatal(err)
			}
			if !phaseOK(g) {
				t.Fatalf("%v: not phaseOK", s)
			}
			checkAgainstDirect(t, rng, g, [6]int{n, c, h, o, k, pad}, true, phaseForward[float32], phaseBackwardInput[float32], phaseBackwardWeight[float32])
		}
	})
}
