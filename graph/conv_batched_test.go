package graph

import (
	"math"
	"math/rand"
	"testing"
)

// TestConvBatched: with several images per GEMM (small maps) the forward
// pass, the input gradient and the weight gradient stay within checkRel's
// bound of the float64 direct convolution run per image; under every
// SGEMM path, with a partial last set of images, stride 2, 1x1 and 7x7
// kernels, grouped convolutions, and batches that split unevenly over the
// weight gradient's parts.
func TestConvBatched(t *testing.T) {
	defer func(on bool) { batchedOn = on }(batchedOn)
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewSource(11))
		// n, c, h, w, o, kernel, stride, pad, groups
		for _, s := range [][9]int{
			{13, 5, 7, 7, 7, 3, 1, 1, 1}, {5, 3, 14, 14, 6, 3, 1, 1, 1}, {9, 2, 9, 8, 4, 5, 2, 2, 1},
			{4, 6, 5, 5, 3, 1, 1, 0, 1}, {3, 4, 7, 7, 5, 7, 1, 3, 1}, {2, 3, 4, 6, 2, 3, 1, 0, 1},
			{6, 4, 7, 7, 6, 3, 1, 1, 2}, {5, 6, 9, 9, 3, 3, 2, 1, 3},
		} {
			g, err := newGroupedConvGeom(s[0], s[1], s[2], s[3], s[4], s[5], s[5], s[6], s[7], s[8])
			if err != nil {
				t.Fatal(err)
			}
			id := [6]int(s[:6])
			batchedOn = true
			per := imagesPerGEMM(g)
			if per < 2 {
				t.Fatalf("%v: imagesPerGEMM = %d, want the batched path", s, per)
			}
			x64, w64, b64 := randF64(rng, g.N*g.C*g.H*g.W), randF64(rng, g.O*g.C*g.KH*g.KW), randF64(rng, g.O)
			dy64 := randF64(rng, g.N*g.O*g.colLn)
			x, w, b, dy := f32(x64), f32(w64), f32(b64), f32(dy64)
			var y, dx, dw [2][]float32
			for i, on := range []bool{false, true} {
				batchedOn = on
				y[i], dx[i], dw[i] = make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w))
				for j := range dx[i] {
					dx[i][j] = float32(math.NaN()) // every element must be written
				}
				convForward(g, x, w, b, y[i])
				convBackwardInput(g, dy, w, dx[i])
				convBackwardWeight(g, x, dy, dw[i])
			}
			for j := range dx[1] {
				if math.IsNaN(float64(dx[1][j])) {
					t.Fatalf("%v per %d: input gradient element %d not written", s, per, j)
				}
			}
			batchedOn = false
			wantY, wantW, wantX := make([]float64, len(dy64)), make([]float64, len(w64)), make([]float64, len(x64))
			convForward(g, x64, w64, b64, wantY)
			convBackwardWeight(g, x64, dy64, wantW)
			convBackwardInput(g, dy64, w64, wantX)
			if g.Groups == 1 { // the per-image float64 loops, held to the plain sum
				checkRel(t, "float64 forward", id, f32(wantY), convDirect64(g, x64, w64, b64))
			}
			checkRel(t, "forward", id, y[1], wantY)
			checkRel(t, "input gradient", id, dx[1], wantX)
			checkRel(t, "weight gradient", id, dw[1], wantW)
			// The per-image float32 loops, for scale: the batched ones
			// must be as close to float64 as they are.
			checkRel(t, "forward per image", id, y[0], wantY)
		}
	})
}

// TestImagesPerGEMM: the per-image loops where one image fills a GEMM
// (zfnet's 224x224 layers, zfnet-small's 28x28 conv1), for a single image
// (a projection); several images on small maps, grouped or not.
func TestImagesPerGEMM(t *testing.T) {
	for _, c := range []struct {
		n, c, h, o, k, stride, pad, groups, want int
	}{
		{128, 1, 28, 32, 7, 1, 3, 1, 1},  // zfnet-small conv1: 784 positions
		{128, 32, 14, 48, 3, 1, 1, 1, 2}, // conv2: 196
		{128, 48, 7, 64, 3, 1, 1, 1, 10}, // conv3-5: 49
		{3, 48, 7, 64, 3, 1, 1, 1, 3},    // no more than the batch
		{1, 48, 7, 64, 3, 1, 1, 1, 1},    // one image
		{8, 48, 7, 64, 3, 1, 1, 2, 8},    // groups: per group
		{8, 3, 224, 96, 7, 2, 1, 1, 1},   // zfnet conv1
	} {
		g, err := newGroupedConvGeom(c.n, c.c, c.h, c.h, c.o, c.k, c.k, c.stride, c.pad, c.groups)
		if err != nil {
			t.Fatal(err)
		}
		if got := imagesPerGEMM(g); got != c.want {
			t.Errorf("%+v: imagesPerGEMM = %d, want %d", c, got, c.want)
		}
	}
}
