package graph

import (
	"math"
	"math/rand"
	"testing"
)

// TestWinogradTransformsAsm: the AVX-512 transforms (taken with the avx512
// SGEMM path) give the Go transforms' bits, on maps whose tile rows fill
// one 16-tile chunk, part of one, and more than one (33 tiles), with odd
// and even output sizes and paddings 0 to 2, with and without bias.
func TestWinogradTransformsAsm(t *testing.T) {
	if !cpuAVX512F() || !sgemmAsmOK {
		t.Skip("no AVX-512 here (or ZFNET_NOASM): only the Go transforms run")
	}
	rng := rand.New(rand.NewSource(3))
	randF := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	// n, c, h, w, pad
	for _, s := range [][5]int{{2, 3, 13, 13, 1}, {1, 2, 30, 32, 1}, {2, 2, 7, 66, 0}, {1, 3, 9, 5, 2}, {3, 1, 2, 3, 1}} {
		g, err := newConvGeom(s[0], s[1], s[2], s[3], 2, 3, 3, 1, s[4])
		if err != nil {
			t.Fatal(err)
		}
		th, tw, nt := winogradTiles(g)
		x := randF(g.N * g.C * g.H * g.W)
		m := randF(16 * g.O * nt)
		for _, b := range [][]float32{nil, randF(g.O)} {
			var vs, ys [2][]float32
			for i, path := range []string{"avx2", "avx512"} {
				restore := sgemmUse(path)
				vs[i] = make([]float32, 16*g.C*nt)
				for j := range vs[i] {
					vs[i][j] = float32(math.NaN()) // every value must be written
				}
				winogradInputs(g, x, th, tw, vs[i])
				ys[i] = make([]float32, g.N*g.O*g.OH*g.OW)
				winogradOutputs(g, m, b, ys[i], th, tw)
				restore()
			}
			sameBits(t, s, "input transform", vs[1], vs[0])
			sameBits(t, s, "output transform", ys[1], ys[0])
		}
	}
}

func sameBits(t *testing.T, s [5]int, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Errorf("%v %s: AVX-512 %v, Go %v at %d (of %d)", s, what, got[i], want[i], i, len(want))
			return
		}
	}
}
