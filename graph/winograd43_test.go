package graph

import (
	"math"
	"math/rand"
	"testing"
)

// TestWinograd43Identity: the F(4x4, 3x3) transforms compute the
// correlation, sum_j At[i][j] G[j][k] Bt[j][l] = 1 where l = i + k and 0
// elsewhere, exactly up to float64 rounding (G holds thirds and
// fifteenths).
func TestWinograd43Identity(t *testing.T) {
	for i := range 4 {
		for k := range 3 {
			for l := range 6 {
				var s float64
				for j := range 6 {
					s += wino43At[i][j] * wino43G[j][k] * wino43Bt[j][l]
				}
				want := 0.0
				if l == i+k {
					want = 1
				}
				if math.Abs(s-want) > 1e-12 {
					t.Errorf("output %d, tap %d, input %d: %v, want %v", i, k, l, s, want)
				}
			}
		}
	}
}

// TestWinograd43: F(4x4, 3x3) in float32 against the float64 direct
// convolution under every SGEMM path (the avx512 one with the assembly
// transforms, the others with the SGEMM ones): forward, input gradient and
// weight gradient within 1e-5 of the result's largest magnitude, on odd
// and even maps, paddings 0 to 2, maps wider than 16 tiles, and 384 input
// maps of 28x28 (zfnet's conv2 in phase form: the longest sums, where the
// usual points 0, +-1, +-2 exceed the bound).
func TestWinograd43(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewSource(43))
		// n, c, h, o, pad, bias, and the width minus the height
		cases := [][7]int{{2, 5, 13, 7, 1, 1, 1}, {1, 3, 8, 4, 0, 0, 1}, {3, 16, 9, 20, 2, 1, 1}, {2, 9, 26, 6, 0, 1, 0},
			{1, 3, 5, 2, 1, 1, 65}, {1, 2, 1, 3, 1, 0, 1}, {2, 130, 6, 129, 1, 1, 1}}
		if !testing.Short() {
			cases = append(cases, [7]int{1, 384, 28, 16, 0, 1, 0})
		}
		for _, s := range cases {
			n, c, h, o, pad, bias, w := s[0], s[1], s[2], s[3], s[4], s[5], s[2]+s[6]
			g, err := newConvGeom(n, c, h, w, o, 3, 3, 1, pad)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainstDirect(t, rng, g, [6]int(s[:6]), bias == 1, wino43Forward[float32], wino43BackwardInput[float32], wino43BackwardWeight[float32])
		}
	})
}

// TestWino43Pays: F(4x4, 3x3) by default for outputs of 20x20 and more
// (zfnet's conv2 in phase form), F(2x2, 3x3) on 13x13 maps (conv3-5);
// ZFNET_WINOGRAD forces either.
func TestWino43Pays(t *testing.T) {
	defer func(tile int) { winogradTile = tile }(winogradTile)
	conv2, err := newConvGeom(8, 96, 55, 55, 256, 5, 5, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	conv3, err := newConvGeom(8, 256, 13, 13, 512, 3, 3, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		env          string
		conv2, conv3 bool
	}{{"", true, false}, {"2", false, false}, {"4", true, true}, {"x", true, false}} {
		winogradTile = winogradTileFrom(c.env)
		if got := wino43Pays(phaseGeom(conv2)); got != c.conv2 {
			t.Errorf("ZFNET_WINOGRAD=%q: conv2's phase form takes F(4x4, 3x3) = %v, want %v", c.env, got, c.conv2)
		}
		if got := wino43Pays(conv3); got != c.conv3 {
			t.Errorf("ZFNET_WINOGRAD=%q: conv3 takes F(4x4, 3x3) = %v, want %v", c.env, got, c.conv3)
		}
	}
}
