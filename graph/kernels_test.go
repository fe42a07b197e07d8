package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// The branch-free kernels select on bits; these tests hold them to the
// plain comparisons they replace, on every special value.

var specialFloats = []float32{
	0, float32(math.Copysign(0, -1)), 1, -1, 0.5, -0.5,
	math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
	math.MaxFloat32, -math.MaxFloat32,
	float32(math.Inf(1)), float32(math.Inf(-1)),
	float32(math.NaN()), -float32(math.NaN()),
	math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00000), // signalling, x86's default NaN
}

func TestKeepPositiveMatchesComparison(t *testing.T) {
	for _, m := range specialFloats {
		for _, x := range specialFloats {
			var y [1]float32
			keepPositive32([]float32{m}, []float32{x}, y[:])
			want := float32(0)
			if m > 0 {
				want = x
			}
			if math.Float32bits(y[0]) != math.Float32bits(want) {
				t.Errorf("m=%v (%#x) x=%v: got %v (%#x), want %v (%#x)", m, math.Float32bits(m), x, y[0], math.Float32bits(y[0]), want, math.Float32bits(want))
			}
		}
	}
	// ReLU and its mask through the ops' entry points, at a size that splits
	// over workers.
	x := benchData(1<<15, 7)
	for i := range x {
		if i%97 == 0 {
			x[i] = specialFloats[i%len(specialFloats)]
		}
	}
	y := make([]float32, len(x))
	relu(x, y)
	for i, v := range x {
		want := float32(0)
		if v > 0 {
			want = v
		}
		if math.Float32bits(y[i]) != math.Float32bits(want) {
			t.Fatalf("relu(%v) = %v, want %v", v, y[i], want)
		}
	}
}

func TestOrderKeysOrderLikeFloats(t *testing.T) {
	finite := []float32{}
	for _, v := range specialFloats {
		if v == v {
			finite = append(finite, v)
		}
	}
	keys := make([]int32, len(finite))
	if orderKeys32(finite, keys) {
		t.Fatal("orderKeys32 saw a NaN among finite values")
	}
	for i, a := range finite {
		for j, b := range finite {
			if (a > b) != (keys[i] > keys[j]) || (a == b) != (keys[i] == keys[j]) {
				t.Errorf("%v vs %v: keys %d vs %d", a, b, keys[i], keys[j])
			}
		}
	}
	if !orderKeys32([]float32{1, float32(math.NaN())}, make([]int32, 2)) {
		t.Error("orderKeys32 missed a NaN")
	}
}

// TestMaxPoolMatchesNaive compares float32 pooling (integer keys, the
// unrolled 3x3 path) with a direct float comparison loop on inputs full of
// ties, including -0 against +0, for several windows.
func TestMaxPoolMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	levels := []float32{-2, -1, float32(math.Copysign(0, -1)), 0, 1, 2}
	for _, c := range []struct{ k, s, p, h, w int }{{3, 2, 1, 9, 11}, {3, 2, 0, 13, 13}, {2, 2, 0, 8, 6}, {3, 1, 1, 5, 7}, {5, 3, 2, 12, 10}} {
		n, ch := 2, 3
		x := make([]float32, n*ch*c.h*c.w)
		for i := range x {
			x[i] = levels[r.IntN(len(levels))]
		}
		op := &maxPoolOp{K: c.k, S: c.s, P: c.p, Sw: &Switches{}}
		out, err := op.Do(denseOf(x, opShape{n: n, c: ch, h: c.h, w: c.w}))
		if err != nil {
			t.Fatal(err)
		}
		y := sliceOf[float32](denseOf32(out))
		oh, ow := PoolOutputSize(c.h, c.k, c.s, c.p), PoolOutputSize(c.w, c.k, c.s, c.p)
		for p := 0; p < n*ch; p++ {
			plane := x[p*c.h*c.w : (p+1)*c.h*c.w]
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					arg, best := -1, float32(0)
					for h := max(i*c.s-c.p, 0); h < min(i*c.s-c.p+c.k, c.h); h++ {
						for w := max(j*c.s-c.p, 0); w < min(j*c.s-c.p+c.k, c.w); w++ {
							if v := plane[h*c.w+w]; arg < 0 || v > best {
								arg, best = h*c.w+w, v
							}
						}
					}
					at := p*oh*ow + i*ow + j
					if int(op.Sw.Index[at]) != arg || math.Float32bits(y[at]) != math.Float32bits(best) {
						t.Fatalf("%+v plane %d (%d,%d): switch %d value %v, want %d %v", c, p, i, j, op.Sw.Index[at], y[at], arg, best)
					}
				}
			}
		}
	}
}

func denseOf32(v any) *tensor.Dense { return v.(*tensor.Dense) }

// TestIm2colSameMatchesRowByRow: the shifted-copy im2col of "same"
// convolutions and the row-by-row one against the definition, on planes as
// small as one pixel (narrower than the padding).
func TestIm2colSameMatchesRowByRow(t *testing.T) {
	for _, k := range []int{1, 3, 5, 7, 11} {
		for _, hw := range [][2]int{{1, 1}, {2, 3}, {3, 2}, {5, 5}, {6, 9}, {14, 14}, {28, 28}} {
			g, err := newConvGeom(1, 2, hw[0], hw[1], 4, k, k, 1, k/2)
			if err != nil {
				t.Fatal(err)
			}
			if g.OH != g.H || g.OW != g.W {
				t.Fatalf("k=%d %v: not a same convolution", k, hw)
			}
			x := benchData(g.C*g.H*g.W, uint64(k))
			a, b := benchData(g.colRows*g.colLn, 9), benchData(g.colRows*g.colLn, 10) // garbage to overwrite
			im2col(g, x, a, g.colLn)
			im2colAny(g, x, b, g.colLn)
			// Both against the definition: row (c, kh, kw), column (oh, ow)
			// holds x[c, oh-p+kh, ow-p+kw], zero off the plane.
			for c := 0; c < g.C; c++ {
				for kh := 0; kh < k; kh++ {
					for kw := 0; kw < k; kw++ {
						for oh := 0; oh < g.OH; oh++ {
							for ow := 0; ow < g.OW; ow++ {
								ih, iw, want := oh-g.Pad+kh, ow-g.Pad+kw, float32(0)
								if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
									want = x[(c*g.H+ih)*g.W+iw]
								}
								at := ((c*k+kh)*k+kw)*g.colLn + oh*g.OW + ow
								if a[at] != want || b[at] != want {
									t.Fatalf("k=%d %v: col[%d] = %v (row by row %v), want %v", k, hw, at, a[at], b[at], want)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestMomentumStepMatchesGo: the AVX update against the Go loop, bit for
// bit, at every length to 40, with and without weight decay.
func TestMomentumStepMatchesGo(t *testing.T) {
	for n := 0; n <= 40; n++ {
		for _, wd := range []float32{0, 5e-4} {
			w, v, g := benchData(n, 1), benchData(n, 2), benchData(n, 3)
			for i := 0; i < n; i += 7 {
				w[i] = specialFloats[i%len(specialFloats)]
			}
			w2, v2 := append([]float32(nil), w...), append([]float32(nil), v...)
			MomentumStep(w, v, g, 0.01, 0.9, wd)
			momentumGo(w2, v2, g, 0.01, 0.9, wd)
			for i := range w {
				if math.Float32bits(w[i]) != math.Float32bits(w2[i]) && !(w[i] != w[i] && w2[i] != w2[i]) ||
					math.Float32bits(v[i]) != math.Float32bits(v2[i]) && !(v[i] != v[i] && v2[i] != v2[i]) {
					t.Fatalf("n=%d wd=%v [%d]: w %v v %v, Go loop w %v v %v", n, wd, i, w[i], v[i], w2[i], v2[i])
				}
			}
		}
	}
}

// TestBorrowSizeClasses: a loan has the length asked for and a power-of-two
// capacity below twice that, so pooled buffers stay in their size class.
func TestBorrowSizeClasses(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 100, 128, 129, 1 << 20, 1<<20 + 1} {
		b, give := borrowPtr[float32](n)
		c := cap(*b)
		if len(*b) != n || c&(c-1) != 0 || c < n || c > 2*max(n, 1) {
			t.Errorf("borrow %d: len %d cap %d", n, len(*b), c)
		}
		give()
	}
	set, give := borrowSet[int32](3, 10)
	if len(set) != 3 || len(set[2]) != 10 {
		t.Errorf("borrowSet(3, 10): %d buffers, the last of %d", len(set), len(set[2]))
	}
	give()
}
