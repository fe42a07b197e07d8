package graph

import (
	"math"
	"math/rand"
	"slices"
	"testing"

	"gorgonia.org/tensor"
)

// TestMaxPoolAsm: the AVX-512 3x3/2 argmax (the avx512 SGEMM path) records
// the Go loop's switches and outputs exactly, on planes of many ties
// (values from a handful of levels, -0 beside +0), sizes around the
// 16-window chunks (rows of 1 to 40 windows), padding 0 and 1, and ceil
// mode.
func TestMaxPoolAsm(t *testing.T) {
	if !cpuAVX512F() || !sgemmAsmOK {
		t.Skip("no AVX-512 here (or ZFNET_NOASM): only the Go loop runs")
	}
	rng := rand.New(rand.NewSource(6))
	levels := []float32{-2, -1, float32(math.Copysign(0, -1)), 0, 0.5, 1, 3}
	for _, hw := range [][2]int{{3, 3}, {7, 9}, {13, 13}, {31, 33}, {34, 35}, {55, 55}, {40, 81}} {
		for _, pad := range []int{0, 1} {
			for _, ceil := range []bool{false, true} {
				n, c := 2, 3
				x := make([]float32, n*c*hw[0]*hw[1])
				for i := range x {
					x[i] = levels[rng.Intn(len(levels))]
				}
				var idx [2][]int32
				var ys [2][]float32
				for i, path := range []string{"avx2", "avx512"} {
					restore := sgemmUse(path)
					op := &maxPoolOp{K: 3, S: 2, P: pad, Ceil: ceil, Sw: &Switches{}}
					y, err := op.Do(tensor.New(tensor.WithShape(n, c, hw[0], hw[1]), tensor.WithBacking(slices.Clone(x))))
					restore()
					if err != nil {
						t.Fatal(err)
					}
					idx[i], ys[i] = slices.Clone(op.Sw.Index), slices.Clone(y.(*tensor.Dense).Data().([]float32))
				}
				if !slices.Equal(idx[1], idx[0]) {
					for i := range idx[0] {
						if idx[1][i] != idx[0][i] {
							t.Fatalf("%v pad %d ceil %v: switch %d is %d with AVX-512, %d in Go", hw, pad, ceil, i, idx[1][i], idx[0][i])
						}
					}
				}
				for i := range ys[0] {
					if math.Float32bits(ys[1][i]) != math.Float32bits(ys[0][i]) {
						t.Fatalf("%v pad %d ceil %v: output %d differs", hw, pad, ceil, i)
					}
				}
			}
		}
	}
}

// TestOrderKeysAsm: the AVX-512 keys equal the Go loop's on every kind of
// float32 (signed zeros, subnormals, infinities, the largest finite values)
// and lengths around the 16-value chunks, and a NaN anywhere, of either
// sign, is reported.
func TestOrderKeysAsm(t *testing.T) {
	if !cpuAVX512F() || !sgemmAsmOK {
		t.Skip("no AVX-512 here (or ZFNET_NOASM): only the Go loop runs")
	}
	defer sgemmUse("avx512")() // whatever ZFNET_SGEMM chose for this run
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, math.MaxFloat32, -math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1)), 1, -1}
	rng := rand.New(rand.NewSource(8))
	for _, n := range []int{1, 15, 16, 17, 33, 100} {
		plane := make([]float32, n)
		for i := range plane {
			if i%3 == 0 {
				plane[i] = special[rng.Intn(len(special))]
			} else {
				plane[i] = float32(rng.NormFloat64())
			}
		}
		want := make([]int32, n)
		wantNaN := false
		restore := sgemmUse("avx2")
		wantNaN = orderKeys32(plane, want)
		restore()
		got := make([]int32, n)
		gotNaN, ok := orderKeysAsm(plane, got)
		if !ok || gotNaN != wantNaN || !slices.Equal(got, want) {
			t.Fatalf("n=%d: keys differ or NaN %v vs %v (ran %v)", n, gotNaN, wantNaN, ok)
		}
		for _, nan := range []float32{float32(math.NaN()), -float32(math.NaN())} {
			p := slices.Clone(plane)
			p[rng.Intn(n)] = nan
			if has, _ := orderKeysAsm(p, got); !has {
				t.Fatalf("n=%d: a NaN (%x) not reported", n, math.Float32bits(nan))
			}
		}
	}
}
