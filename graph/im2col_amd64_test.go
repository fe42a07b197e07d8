package graph

import (
	"math"
	"math/rand"
	"testing"
)

// TestIm2colStride2Asm: im2col of stride-2 convolutions with the AVX-512
// copy (the avx512 SGEMM path) gives the Go loop's columns bit for bit, on
// widths below, at and above the 16-output chunks, kernels 1 to 7 and
// paddings 0 to 3 (outputs left and right of the plane are zeros).
func TestIm2colStride2Asm(t *testing.T) {
	if !cpuAVX512F() || !sgemmAsmOK {
		t.Skip("no AVX-512 here (or ZFNET_NOASM): only the Go loop runs")
	}
	rng := rand.New(rand.NewSource(10))
	for _, w := range []int{1, 7, 31, 33, 34, 65, 224} {
		for _, k := range []int{1, 3, 7} {
			for _, pad := range []int{0, 1, 3} {
				g, err := newConvGeom(1, 2, 9, w, 4, k, k, 2, pad)
				if err != nil {
					continue // kernel larger than the padded input
				}
				x := make([]float32, g.C*g.H*g.W)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				var cols [2][]float32
				for i, path := range []string{"avx2", "avx512"} {
					restore := sgemmUse(path)
					cols[i] = make([]float32, g.colRows*g.colLn)
					for j := range cols[i] {
						cols[i][j] = float32(math.NaN()) // every value must be written
					}
					im2colAny(g, x, cols[i], g.colLn)
					restore()
				}
				for j := range cols[0] {
					if math.Float32bits(cols[1][j]) != math.Float32bits(cols[0][j]) {
						t.Fatalf("w=%d k=%d pad=%d: column value %d is %v with AVX-512, %v in Go", w, k, pad, j, cols[1][j], cols[0][j])
					}
				}
			}
		}
	}
}

// TestAddScalarAsm: the AVX-512 bias add equals the Go loop bit for bit on
// lengths around the 16-lane chunks (the tail masked: nothing past the row
// changes).
func TestAddScalarAsm(t *testing.T) {
	if !cpuAVX512F() || !sgemmAsmOK {
		t.Skip("no AVX-512 here (or ZFNET_NOASM): only the Go loop runs")
	}
	rng := rand.New(rand.NewSource(11))
	for _, n := range []int{1, 15, 16, 17, 100} {
		row := make([]float32, n+3)
		for i := range row {
			row[i] = float32(rng.NormFloat64())
		}
		v := float32(rng.NormFloat64())
		want := append([]float32(nil), row...)
		for i := range want[:n] {
			want[i] += v
		}
		addScalar(row[:n], v)
		for i := range row {
			if math.Float32bits(row[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d: element %d is %v, want %v", n, i, row[i], want[i])
			}
		}
	}
}
