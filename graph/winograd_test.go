package graph

import (
	"math"
	"math/rand"
	"testing"
)

// convDirect64 is the direct convolution in float64, the reference.
func convDirect64(g convGeom, x, w, b []float64) []float64 {
	y := make([]float64, g.N*g.O*g.OH*g.OW)
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.O; o++ {
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					var s float64
					if b != nil {
						s = b[o]
					}
					for c := 0; c < g.C; c++ {
						for kh := 0; kh < g.KH; kh++ {
							ih := oh*g.Stride - g.Pad + kh
							if ih < 0 || ih >= g.H {
								continue
							}
							for kw := 0; kw < g.KW; kw++ {
								iw := ow*g.Stride - g.Pad + kw
								if iw < 0 || iw >= g.W {
									continue
								}
								s += x[((n*g.C+c)*g.H+ih)*g.W+iw] * w[((o*g.C+c)*g.KH+kh)*g.KW+kw]
							}
						}
					}
					y[((n*g.O+o)*g.OH+oh)*g.OW+ow] = s
				}
			}
		}
	}
	return y
}

// TestWinograd: F(2x2, 3x3) in float32 against the float64 direct
// convolution (convForward, convBackwardInput and convBackwardWeight take
// the direct path for float64), under every SGEMM path, on odd and even
// maps and paddings 0 to 2: forward, input gradient and weight gradient.
// The largest error relative to the result's largest magnitude stays under
// 1e-5 (the bound; oneDNN's Winograd is about 1e-7 in L2); the
// float32 direct convolution's own is about 1e-7.
func TestWinograd(t *testing.T) {
	defer func(tile int) { winogradTile = tile }(winogradTile)
	winogradTile = 2 // F(4x4, 3x3) has its own test
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewSource(7))
		// n, c, h, o, pad, bias, and the width minus the height
		for _, s := range [][7]int{{2, 5, 13, 7, 1, 1, 1}, {1, 3, 8, 4, 0, 0, 1}, {3, 16, 9, 20, 2, 1, 1}, {2, 64, 13, 24, 1, 1, 1}, {1, 2, 1, 3, 1, 0, 1}, {1, 3, 4, 2, 0, 1, -1}, {2, 130, 6, 129, 1, 1, 1}} {
			n, c, h, o, pad, bias, w := s[0], s[1], s[2], s[3], s[4], s[5], s[2]+s[6]
			g, err := newConvGeom(n, c, h, w, o, 3, 3, 1, pad)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainstDirect(t, rng, g, [6]int(s[:6]), bias == 1, winogradForward[float32], winogradBackwardInput[float32], winogradBackwardWeight[float32])
		}
	})
}

// checkAgainstDirect runs a float32 convolution's forward pass (fwd),
// input gradient (in) and weight gradient (wt) for g on random operands
// and compares each with the float64 direct convolution (convDirect64, and
// convBackwardInput and convBackwardWeight, which take the direct path for
// float64) under checkRel's bound; id names the case.
func checkAgainstDirect(t *testing.T, rng *rand.Rand, g convGeom, id [6]int, bias bool,
	fwd func(g convGeom, x, w, b, y []float32), in func(g convGeom, dy, w, dx []float32), wt func(g convGeom, x, dy, dw []float32)) {
	t.Helper()
	x64, w64, b64 := randF64(rng, g.N*g.C*g.H*g.W), randF64(rng, g.O*g.C*g.KH*g.KW), randF64(rng, g.O)
	if !bias {
		b64 = nil
	}
	want := convDirect64(g, x64, w64, b64)
	y := make([]float32, len(want))
	fwd(g, f32(x64), f32(w64), f32(b64), y)
	checkRel(t, "forward", id, y, want)

	dy := randF64(rng, g.N*g.O*g.OH*g.OW)
	dx64 := make([]float64, len(x64))
	convBackwardInput(g, dy, w64, dx64)
	dx := make([]float32, len(dx64))
	in(g, f32(dy), f32(w64), dx)
	checkRel(t, "input gradient", id, dx, dx64)

	dw64 := make([]float64, len(w64))
	convBackwardWeight(g, x64, dy, dw64)
	dw := make([]float32, len(dw64))
	wt(g, f32(x64), f32(dy), dw)
	checkRel(t, "weight gradient", id, dw, dw64)
}

// TestWinogradChoice: the kernels take Winograd exactly for float32 3x3
// stride-1 ungrouped convolutions with padding <= 2 and at least
// winogradMinMaps maps on both sides (zfnet's conv3-5, not zfnet-small's
// layers, whose default MNIST run keeps its bits), its phase form for
// stride-2 5x5 and 6x6 ones as wide (zfnet's conv2), and neither with
// ZFNET_CONV=direct (winogradOn false).
func TestWinogradChoice(t *testing.T) {
	defer func(on bool) { winogradOn = on }(winogradOn)
	winogradOn = true // the rule itself, whatever ZFNET_CONV says for this run
	geom := func(c, h, o, k, stride, pad, groups int) convGeom {
		g, err := newGroupedConvGeom(8, c, h, h, o, k, k, stride, pad, groups)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	for _, c := range []struct {
		name string
		g    convGeom
		want bool
	}{
		{"zfnet conv3", geom(256, 13, 512, 3, 1, 1, 1), true},
		{"zfnet conv4", geom(512, 13, 1024, 3, 1, 1, 1), true},
		{"zfnet conv5", geom(1024, 13, 512, 3, 1, 1, 1), true},
		{"zfnet conv2 (5x5/2)", geom(96, 55, 256, 5, 2, 0, 1), false},
		{"zfnet-small conv5 (96 maps)", geom(96, 7, 64, 3, 1, 1, 1), false},
		{"grouped (AlexNet conv4)", geom(384, 13, 384, 3, 1, 1, 2), false},
		{"pad 3", geom(256, 13, 256, 3, 1, 3, 1), false},
		{"stride 2", geom(256, 13, 256, 3, 2, 1, 1), false},
		{"zfnet conv1 (7x7/2)", geom(3, 224, 96, 7, 2, 1, 1), false},
		{"AlexNet conv1 (11x11/4)", geom(3, 224, 64, 11, 4, 2, 1), false},
		{"5x5/2 of 16 maps", geom(16, 28, 32, 5, 2, 0, 1), false},
	} {
		if got := useWinograd[float32](c.g); got != c.want {
			t.Errorf("%s: useWinograd[float32] = %v, want %v", c.name, got, c.want)
		}
		if got, want := usePhaseWinograd[float32](c.g), c.name == "zfnet conv2 (5x5/2)"; got != want {
			t.Errorf("%s: usePhaseWinograd[float32] = %v, want %v", c.name, got, want)
		}

		if useWinograd[float64](c.g) {
			t.Errorf("%s: useWinograd[float64] = true, want false (the float64 reference stays direct)", c.name)
		}
	}
	winogradOn = false
	if useWinograd[float32](geom(512, 13, 1024, 3, 1, 1, 1)) || usePhaseWinograd[float32](geom(96, 55, 256, 5, 2, 0, 1)) {
		t.Error("ZFNET_CONV=direct: Winograd still taken on zfnet conv4 or conv2")
	}
}

func randF64(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(float32(rng.NormFloat64()))
	}
	return s
}

func f32(s []float64) []float32 {
	if s == nil {
		return nil
	}
	r := make([]float32, len(s))
	for i, v := range s {
		r[i] = float32(v)
	}
	return r
}

func checkRel(t *testing.T, what string, s [6]int, got []float32, want []float64) {
	t.Helper()
	var maxAbs, maxErr float64
	for i, w := range want {
		maxAbs = max(maxAbs, math.Abs(w))
		maxErr = max(maxErr, math.Abs(float64(got[i])-w))
	}
	rel := maxErr / maxAbs
	t.Logf("%s %v: max error / max |y| = %.2g", what, s, rel)
	if !(rel < 1e-5) {
		t.Errorf("%s %v: max error %.3g of max |y| %.3g (relative %.3g), want < 1e-5", what, s, maxErr, maxAbs, rel)
	}
}

// TestWinogradChunks: F(2x2, 3x3) over chunks of the images (as
// winogradMaxBuf asks for large layers) gives the same bits, forward and
// input gradient, with chunks of one image and of two out of three.
func TestWinogradChunks(t *testing.T) {
	defer func(tile int) { winogradTile = tile }(winogradTile)
	winogradTile = 2 // TestWino43Chunks has F(4x4, 3x3)'s
	rng := rand.New(rand.NewSource(4))
	g, err := newConvGeom(3, 6, 9, 11, 5, 3, 3, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	x, w, b := f32(randF64(rng, 3*6*9*11)), f32(randF64(rng, 5*6*9)), f32(randF64(rng, 5))
	dy := f32(randF64(rng, 3*5*g.OH*g.OW))
	run := func() ([]float32, []float32) {
		y, dx := make([]float32, len(dy)), make([]float32, len(x))
		winogradForward(g, x, w, b, y)
		winogradBackwardInput(g, dy, w, dx)
		return y, dx
	}
	y, dx := run()
	defer func(m int) { winogradMaxBuf = m }(winogradMaxBuf)
	_, tw, _ := winogradTiles(g)
	for _, imgs := range []int{1, 2} {
		winogradMaxBuf = imgs * 16 * 6 * ((g.OH + 1) / 2) * tw // 6 = max(C, O) both ways
		yc, dxc := run()
		for i := range y {
			if math.Float32bits(yc[i]) != math.Float32bits(y[i]) {
				t.Fatalf("chunks of %d images: forward differs at %d: %v vs %v", imgs, i, yc[i], y[i])
			}
		}
		for i := range dx {
			if math.Float32bits(dxc[i]) != math.Float32bits(dx[i]) {
				t.Fatalf("chunks of %d images: input gradient differs at %d: %v vs %v", imgs, i, dxc[i], dx[i])
			}
		}
	}
}
