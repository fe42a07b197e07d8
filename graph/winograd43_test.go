package graph

import (
	"math"
	"math/rand"
	"slices"
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
			// conv2's phase form (384 maps of 28x28), and zfnet's 13x13
			// layers' longest sums: conv5's 1024 input maps (forward) and
			// conv4's 1024 output maps (input gradient), with few maps on
			// the other side to keep the float64 reference quick.
			cases = append(cases, [7]int{1, 384, 28, 16, 0, 1, 0}, [7]int{1, 1024, 13, 16, 1, 1, 0}, [7]int{2, 16, 13, 1024, 1, 1, 0})
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

// TestWino43Pays: by default, on the avx512 path, F(4x4, 3x3) from 128
// 4x4 output blocks in the batch (zfnet's 13x13 layers from batch 8,
// conv2's phase form from batch 3), F(2x2, 3x3) below and on the other
// paths; ZFNET_WINOGRAD=2 or 4 forces either.
func TestWino43Pays(t *testing.T) {
	defer func(tile int) { winogradTile = tile }(winogradTile)
	if slices.Contains(sgemmAvailable(), "avx2") {
		defer sgemmUse("avx2")()
		winogradTile = 0
		g, err := newConvGeom(8, 256, 13, 13, 512, 3, 3, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if wino43Pays(g) {
			t.Errorf("avx2 path: F(4x4, 3x3) by default, want F(2x2, 3x3) (no assembly transforms)")
		}
	}
	if !slices.Contains(sgemmAvailable(), "avx512") {
		t.Skip("no avx512 SGEMM path on this CPU: the default takes F(2x2, 3x3) everywhere")
	}
	defer sgemmUse("avx512")()
	geom := func(n, c, h, o, k, stride, pad int) convGeom {
		g, err := newConvGeom(n, c, h, h, o, k, k, stride, pad)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	for _, c := range []struct {
		env  string
		g    convGeom
		want bool
	}{
		{"", geom(8, 256, 13, 512, 3, 1, 1), true},
		{"", geom(7, 256, 13, 512, 3, 1, 1), false},
		{"", geom(1, 256, 13, 512, 3, 1, 1), false},
		{"", phaseGeom(geom(3, 96, 55, 256, 5, 2, 0)), true},
		{"", phaseGeom(geom(2, 96, 55, 256, 5, 2, 0)), false},
		{"2", geom(64, 256, 13, 512, 3, 1, 1), false},
		{"4", geom(1, 256, 13, 512, 3, 1, 1), true},
		{"x", geom(8, 256, 13, 512, 3, 1, 1), true},
	} {
		winogradTile = winogradTileFrom(c.env)
		if got := wino43Pays(c.g); got != c.want {
			t.Errorf("ZFNET_WINOGRAD=%q, %d images of %dx%d outputs: F(4x4, 3x3) %v, want %v", c.env, c.g.N, c.g.OH, c.g.OW, got, c.want)
		}
	}
}

// TestWino43Chunks: on the avx512 path, F(4x4, 3x3) over chunks of the
// batch's images (as winogradMaxBuf asks for large layers) gives the same
// bits as one chunk, forward and input gradient, and so does the phase
// form's forward pass (whose chunks gather from their own images of x).
// Not on the others: their SGEMM transforms run over all the chunk's maps
// and tiles as one matrix, and the AVX2 kernel of a narrow last panel sums
// even and odd k apart, so where a tile falls changes its rounding.
func TestWino43Chunks(t *testing.T) {
	if !slices.Contains(sgemmAvailable(), "avx512") {
		t.Skip("no avx512 SGEMM path on this CPU: the property is the assembly transforms'")
	}
	defer sgemmUse("avx512")()
	defer func(tile, m int) { winogradTile, winogradMaxBuf = tile, m }(winogradTile, winogradMaxBuf)
	winogradTile = 4
	rng := rand.New(rand.NewSource(5))
	g, err := newConvGeom(3, 6, 9, 11, 5, 3, 3, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	ph, err := newConvGeom(3, 2, 23, 21, 4, 5, 5, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	x, w, b := f32(randF64(rng, 3*6*9*11)), f32(randF64(rng, 5*6*9)), f32(randF64(rng, 5))
	dy := f32(randF64(rng, 3*5*g.OH*g.OW))
	xp, wp := f32(randF64(rng, 3*2*23*21)), f32(randF64(rng, 4*2*25))
	run := func() [][]float32 {
		y, dx := make([]float32, len(dy)), make([]float32, len(x))
		yp := make([]float32, 3*4*ph.OH*ph.OW)
		wino43Forward(g, x, w, b, y)
		wino43BackwardInput(g, dy, w, dx)
		phaseForward(ph, xp, wp, b[:4], yp)
		return [][]float32{y, dx, yp}
	}
	want := run()
	for _, imgs := range []int{1, 2} {
		winogradMaxBuf = imgs * 36 * 6 * 9 // g's 6 maps of 3x3 tiles: chunks of 1 or 2 images, and 1 of the phase form's
		got := run()
		for k, name := range []string{"forward", "input gradient", "phase forward"} {
			for i := range want[k] {
				if math.Float32bits(got[k][i]) != math.Float32bits(want[k][i]) {
					t.Fatalf("chunks of %d images: %s differs at %d: %v vs %v", imgs, name, i, got[k][i], want[k][i])
				}
			}
		}
	}
}
