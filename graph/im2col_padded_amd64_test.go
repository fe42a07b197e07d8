package graph

import (
	"math"
	"math/rand"
	"testing"
)

// TestIm2colPadded: the padded-plane im2col and col2im of stride-1
// convolutions (the avx512 SGEMM path) give the other loops' bits
// (im2colAny, and col2im's per-row loop), on maps narrower than, as wide as
// and wider than the 16-value chunks, kernels 1 to 7, paddings 0 to 3 (same
// and shrinking convolutions), rows ld apart as in the batched GEMMs, with
// every column value written and nothing written past a row.
func TestIm2colPadded(t *testing.T) {
	if !cpuAVX512F() || !sgemmAsmOK {
		t.Skip("no AVX-512 here (or ZFNET_NOASM): only the Go loops run")
	}
	defer sgemmUse("avx512")()
	rng := rand.New(rand.NewSource(12))
	for _, hw := range [][2]int{{1, 1}, {7, 7}, {5, 16}, {14, 14}, {9, 17}, {28, 28}, {3, 33}} {
		for _, k := range []int{1, 3, 5, 7} {
			for _, pad := range []int{0, 1, 3} {
				g, err := newConvGeom(1, 3, hw[0], hw[1], 2, k, k, 1, pad)
				if err != nil {
					continue // kernel larger than the padded input
				}
				ld := g.colLn + 5
				x := make([]float32, g.C*g.H*g.W)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				var cols [2][]float32
				for i := range cols {
					cols[i] = make([]float32, g.colRows*ld)
					for j := range cols[i] {
						cols[i][j] = float32(math.NaN())
					}
				}
				if !im2colPadded(g, x, cols[1], ld) {
					t.Fatal("im2colPadded did not run on the avx512 path")
				}
				im2colAny(g, x, cols[0], ld)
				for j := range cols[0] {
					if math.Float32bits(cols[1][j]) != math.Float32bits(cols[0][j]) {
						t.Fatalf("%v k %d pad %d: im2col value %d (row %d, column %d) is %v, want %v",
							hw, k, pad, j, j/ld, j%ld, cols[1][j], cols[0][j])
					}
				}
				// col2im of random columns onto zeroed maps.
				col := make([]float32, g.colRows*ld)
				for i := range col {
					col[i] = float32(rng.NormFloat64())
				}
				var xs [2][]float32
				for i := range xs {
					xs[i] = make([]float32, len(x))
				}
				if !col2imPadded(g, col, xs[1], ld) {
					t.Fatal("col2imPadded did not run on the avx512 path")
				}
				defer func(on bool) { rowsOn = on }(rowsOn)
				rowsOn = false
				col2im(g, col, xs[0], ld)
				rowsOn = true
				for j := range xs[0] {
					if math.Float32bits(xs[1][j]) != math.Float32bits(xs[0][j]) {
						t.Fatalf("%v k %d pad %d: col2im value %d is %v, want %v", hw, k, pad, j, xs[1][j], xs[0][j])
					}
				}
			}
		}
	}
}
