package graph

import (
	"math/rand"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Tests of the ops the importer of published networks needs: ceil-mode max
// pooling, grouped convolution, within-map LRN, average pooling. Finite
// differences here, PyTorch references in reference_import_test.go.

func TestPoolOutputSizeMode(t *testing.T) {
	for _, c := range []struct {
		in, k, s, p int
		ceil        bool
		want        int
	}{
		{13, 3, 2, 0, false, 6}, {13, 3, 2, 0, true, 6}, // odd: both modes agree
		{12, 3, 2, 0, false, 5}, {12, 3, 2, 0, true, 6}, // even: ceil adds a clipped window
		{55, 3, 2, 0, true, 27}, {27, 3, 2, 0, true, 13}, {13, 3, 2, 0, true, 6},
		{110, 3, 2, 1, true, 56}, {110, 3, 2, 1, false, 55},
		{5, 2, 2, 1, true, 3}, // the last window would start in the right padding: dropped
		{4, 2, 2, 1, true, 3}, {2, 3, 2, 0, true, 1}, {2, 3, 2, 0, false, 0},
		{6, 3, 3, 1, true, 3}, {7, 3, 3, 1, true, 3},
	} {
		if got := PoolOutputSizeMode(c.in, c.k, c.s, c.p, c.ceil); got != c.want {
			t.Errorf("PoolOutputSizeMode(%d, %d, %d, %d, %t) = %d, want %d", c.in, c.k, c.s, c.p, c.ceil, got, c.want)
		}
		if !c.ceil && c.want > 0 && PoolOutputSize(c.in, c.k, c.s, c.p) != c.want {
			t.Errorf("PoolOutputSize(%d, %d, %d, %d) differs from floor mode", c.in, c.k, c.s, c.p)
		}
	}
}

func TestGradMaxPoolCeil(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for _, c := range []struct{ h, w, k, s, p int }{{8, 7, 3, 2, 0}, {6, 6, 3, 2, 1}, {5, 4, 2, 2, 1}, {7, 6, 3, 3, 1}} {
		gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			y, _, err := MaxPoolMode(in[0], c.k, c.s, c.p, true)
			return y, err
		}, []*tensor.Dense{randDense(rng, 1, 2, 2, c.h, c.w)}, nil)
	}
}

func TestGradGroupedConv(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	for _, c := range []struct{ groups, c, o, k, s, p int }{{2, 4, 6, 3, 1, 1}, {2, 2, 4, 5, 2, 0}, {3, 3, 3, 3, 2, 1}, {2, 4, 2, 1, 1, 0}} {
		x, w, b := randDense(rng, 1, 2, c.c, 7, 8), randDense(rng, 0.3, c.o, c.c/c.groups, c.k, c.k), randDense(rng, 1, c.o)
		gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return GroupedConv2d(in[0], in[1], in[2], c.s, c.p, c.groups)
		}, []*tensor.Dense{x, w, b}, nil)
		xs := x.Shape()
		oh, ow := (xs[2]+2*c.p-c.k)/c.s+1, (xs[3]+2*c.p-c.k)/c.s+1
		gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return GroupedConvTranspose2d(in[0], in[1], c.s, c.p, c.groups, xs[2], xs[3])
		}, []*tensor.Dense{randDense(rng, 1, 2, c.o, oh, ow), w}, nil)
	}
}

// TestGroupedConvIsConvPerGroup: a grouped convolution equals the
// ungrouped convolutions of each group's maps with its weights, and
// groups = 1 equals Conv2d and ConvTranspose2d bit for bit (forward and
// every gradient).
func TestGroupedConvIsConvPerGroup(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	forDtypes(t, func(t *testing.T, dt tensor.Dtype) {
		x64, w64, b64 := randDense(rng, 1, 3, 4, 9, 8), randDense(rng, 0.3, 6, 2, 3, 3), randDense(rng, 1, 6)
		x, w, b := convert(t, x64, dt), convert(t, w64, dt), convert(t, b64, dt)
		run := func(build func(g *G.ExprGraph) (*G.Node, error)) []float64 {
			g := G.NewGraph()
			y, err := build(g)
			if err != nil {
				t.Fatal(err)
			}
			m := G.NewTapeMachine(g)
			defer m.Close()
			if err := m.RunAll(); err != nil {
				t.Fatalf("%+v", err)
			}
			return floats(t, "output", y.Value())
		}
		node := func(g *G.ExprGraph, v *tensor.Dense, name string) *G.Node {
			return G.NewTensor(g, dt, v.Dims(), G.WithShape(v.Shape()...), G.WithValue(v.Clone()), G.WithName(name))
		}
		got := run(func(g *G.ExprGraph) (*G.Node, error) {
			return GroupedConv2d(node(g, x, "x"), node(g, w, "w"), node(g, b, "b"), 1, 1, 2)
		})
		// Group by group: slice the maps (contiguous in NCHW per image).
		per := make([][]float64, 2)
		for gi := 0; gi < 2; gi++ {
			xg := newDense(dt, 3, 2, 9, 8)
			wg := newDense(dt, 3, 2, 3, 3)
			bg := newDense(dt, 3)
			copyRange(t, xg, x, 3, 2*9*8, 4*9*8, gi*2*9*8)
			copyRange(t, wg, w, 1, 3*2*9, 0, gi*3*2*9)
			copyRange(t, bg, b, 1, 3, 0, gi*3)
			per[gi] = run(func(g *G.ExprGraph) (*G.Node, error) {
				return Conv2d(node(g, xg, "x"), node(g, wg, "w"), node(g, bg, "b"), 1, 1)
			})
		}
		plane := 9 * 8
		for n := 0; n < 3; n++ {
			for o := 0; o < 6; o++ {
				gi, og := o/3, o%3
				for i := 0; i < plane; i++ {
					want := per[gi][(n*3+og)*plane+i]
					if g := got[(n*6+o)*plane+i]; g != want {
						t.Fatalf("image %d map %d [%d]: grouped %v, per group %v", n, o, i, g, want)
					}
				}
			}
		}

		// groups = 1: Conv2d's and ConvTranspose2d's exact bits, gradients included.
		w1 := convert(t, randDense(rng, 0.3, 5, 4, 3, 3), dt)
		r := convert(t, randDense(rng, 1, 3, 5, 5, 4), dt)
		b1 := convert(t, randDense(rng, 1, 5), dt)
		grads := func(grouped bool) [][]float64 {
			g := G.NewGraph()
			xn, wn, bn := node(g, x, "x"), node(g, w1, "w"), node(g, b1, "b")
			rn := node(g, r, "r")
			var y, z *G.Node
			var err error
			if grouped {
				y, err = GroupedConv2d(xn, wn, bn, 2, 1, 1)
				if err == nil {
					z, err = GroupedConvTranspose2d(y, wn, 2, 1, 1, 9, 8)
				}
			} else {
				y, err = Conv2d(xn, wn, bn, 2, 1)
				if err == nil {
					z, err = ConvTranspose2d(y, wn, 2, 1, 9, 8)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			var yv, zv G.Value
			G.Read(y, &yv)
			G.Read(z, &zv)
			cost := G.Must(G.Add(G.Must(G.Sum(G.Must(G.HadamardProd(y, rn)))), G.Must(G.Sum(G.Must(G.Square(z))))))
			if _, err := G.Grad(cost, xn, wn, bn); err != nil {
				t.Fatal(err)
			}
			m := G.NewTapeMachine(g, G.BindDualValues(xn, wn, bn))
			defer m.Close()
			if err := m.RunAll(); err != nil {
				t.Fatalf("%+v", err)
			}
			out := [][]float64{floats(t, "y", yv), floats(t, "z", zv)}
			for _, n := range []*G.Node{xn, wn, bn} {
				out = append(out, floats(t, "grad", grad(t, n)))
			}
			return out
		}
		want, got1 := grads(false), grads(true)
		for i := range want {
			for j := range want[i] {
				if got1[i][j] != want[i][j] {
					t.Fatalf("groups=1, result %d [%d]: %v, ungrouped op %v", i, j, got1[i][j], want[i][j])
				}
			}
		}
	})
}

// copyRange copies, for each of n blocks, size elements of src at
// blk*srcStride + srcOff into dst at blk*size.
func copyRange(t *testing.T, dst, src *tensor.Dense, n, size, srcStride, srcOff int) {
	t.Helper()
	switch d := dst.Data().(type) {
	case []float32:
		s := src.Data().([]float32)
		for blk := 0; blk < n; blk++ {
			copy(d[blk*size:(blk+1)*size], s[blk*srcStride+srcOff:])
		}
	case []float64:
		s := src.Data().([]float64)
		for blk := 0; blk < n; blk++ {
			copy(d[blk*size:(blk+1)*size], s[blk*srcStride+srcOff:])
		}
	}
}

// TestGroupedConvErrors: bad groups and mismatched shapes are errors when
// the graph is built, never panics.
func TestGroupedConvErrors(t *testing.T) {
	g := G.NewGraph()
	mk := func(name string, shape ...int) *G.Node {
		return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name))
	}
	x := mk("x", 1, 6, 8, 8)
	for _, c := range []struct {
		name   string
		build  func() (*G.Node, error)
		expect string
	}{
		{"groups 0", func() (*G.Node, error) { return GroupedConv2d(x, mk("w0", 4, 6, 3, 3), nil, 1, 1, 0) }, "groups must be >= 1"},
		{"C not divisible", func() (*G.Node, error) { return GroupedConv2d(x, mk("w1", 4, 2, 3, 3), nil, 1, 1, 4) }, "channels"},
		{"O not divisible", func() (*G.Node, error) { return GroupedConv2d(x, mk("w2", 5, 3, 3, 3), nil, 1, 1, 2) }, "divide"},
		{"weights for another grouping", func() (*G.Node, error) { return GroupedConv2d(x, mk("w3", 4, 6, 3, 3), nil, 1, 1, 2) }, "channels"},
		{"no-input-grad groups 0", func() (*G.Node, error) { return GroupedConv2dNoInputGrad(x, mk("w4", 4, 6, 3, 3), nil, 1, 1, -1) }, "groups must be >= 1"},
		{"bias size", func() (*G.Node, error) { return GroupedConv2d(x, mk("w5", 4, 3, 3, 3), mk("b5", 3), 1, 1, 2) }, "bias"},
		{"transpose O not divisible", func() (*G.Node, error) {
			return GroupedConvTranspose2d(mk("y6", 1, 5, 8, 8), mk("w6", 5, 3, 3, 3), 1, 1, 2, 8, 8)
		}, "divide"},
		{"transpose channels", func() (*G.Node, error) {
			return GroupedConvTranspose2d(mk("y7", 1, 3, 8, 8), mk("w7", 4, 3, 3, 3), 1, 1, 2, 8, 8)
		}, "output maps"},
		{"transpose groups 0", func() (*G.Node, error) {
			return GroupedConvTranspose2d(mk("y8", 1, 4, 8, 8), mk("w8", 4, 3, 3, 3), 1, 1, 0, 8, 8)
		}, "groups must be >= 1"},
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v", c.name, r)
				}
			}()
			_, err := c.build()
			if err == nil || !strings.Contains(err.Error(), c.expect) {
				t.Errorf("%s: got error %v, want one mentioning %q", c.name, err, c.expect)
			}
		}()
	}
}

func TestGradAvgPool(t *testing.T) {
	rng := rand.New(rand.NewSource(14))
	for _, c := range []struct {
		h, w, k, s, p    int
		ceil, includePad bool
	}{
		{7, 7, 3, 2, 1, false, true}, {7, 7, 3, 2, 1, false, false},
		{8, 7, 3, 2, 1, true, true}, {8, 7, 3, 2, 1, true, false},
		{6, 5, 2, 2, 0, true, true}, {5, 6, 3, 3, 1, true, false},
	} {
		x := randDense(rng, 1, 2, 2, c.h, c.w)
		gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return AvgPool(in[0], c.k, c.s, c.p, c.ceil, c.includePad)
		}, []*tensor.Dense{x}, nil)
		oh, ow := PoolOutputSizeMode(c.h, c.k, c.s, c.p, c.ceil), PoolOutputSizeMode(c.w, c.k, c.s, c.p, c.ceil)
		gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return AvgPoolTranspose(in[0], c.k, c.s, c.p, c.ceil, c.includePad, c.h, c.w)
		}, []*tensor.Dense{randDense(rng, 1, 2, 2, oh, ow)}, nil)
	}
}

func TestGradAdaptiveAvgPool(t *testing.T) {
	rng := rand.New(rand.NewSource(15))
	for _, c := range []struct{ h, w, oh, ow int }{{7, 7, 3, 3}, {6, 6, 6, 6}, {5, 7, 3, 2}, {3, 4, 5, 6}, {7, 5, 1, 1}} {
		gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return AdaptiveAvgPool(in[0], c.oh, c.ow)
		}, []*tensor.Dense{randDense(rng, 1, 2, 2, c.h, c.w)}, nil)
		gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return AdaptiveAvgPoolTranspose(in[0], c.h, c.w)
		}, []*tensor.Dense{randDense(rng, 1, 2, 2, c.oh, c.ow)}, nil)
	}
}

// TestPoolErrors: bad pooling parameters and shapes are errors, never panics.
func TestPoolErrors(t *testing.T) {
	g := G.NewGraph()
	mk := func(name string, shape ...int) *G.Node {
		return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name))
	}
	x := mk("x", 1, 2, 5, 5)
	for _, c := range []struct {
		name   string
		build  func() (*G.Node, error)
		expect string
	}{
		{"avg kernel 0", func() (*G.Node, error) { return AvgPool(x, 0, 1, 0, false, true) }, "kernel >= 1"},
		{"avg pad > kernel/2", func() (*G.Node, error) { return AvgPool(x, 3, 1, 2, true, true) }, "pad"},
		{"avg input too small", func() (*G.Node, error) { return AvgPool(x, 7, 1, 0, false, true) }, "smaller than the window"},
		{"avg 3-D", func() (*G.Node, error) { return AvgPool(mk("x3", 2, 5, 5), 3, 2, 0, false, true) }, "4-D"},
		{"avg transpose wrong size", func() (*G.Node, error) { return AvgPoolTranspose(mk("y", 1, 2, 3, 3), 3, 2, 0, false, true, 9, 9) }, "pools to 4x4"},
		{"avg transpose no size", func() (*G.Node, error) { return AvgPoolTranspose(mk("y2", 1, 2, 3, 3), 3, 2, 0, false, true, 0, 7) }, "input size"},
		{"adaptive 0", func() (*G.Node, error) { return AdaptiveAvgPool(x, 0, 3) }, "output size"},
		{"adaptive 2-D", func() (*G.Node, error) { return AdaptiveAvgPool(mk("x2", 2, 5), 1, 1) }, "4-D"},
		{"adaptive transpose no size", func() (*G.Node, error) { return AdaptiveAvgPoolTranspose(mk("y3", 1, 2, 3, 3), 5, -1) }, "input size"},
		{"max ceil too small", func() (*G.Node, error) {
			y, _, err := MaxPoolMode(mk("x4", 1, 1, 1, 1), 3, 2, 0, true)
			return y, err
		}, "smaller than the window"},
		{"max ceil bad pad", func() (*G.Node, error) {
			y, _, err := MaxPoolMode(x, 3, 2, 2, true)
			return y, err
		}, "pad"},
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v", c.name, r)
				}
			}()
			_, err := c.build()
			if err == nil || !strings.Contains(err.Error(), c.expect) {
				t.Errorf("%s: got error %v, want one mentioning %q", c.name, err, c.expect)
			}
		}()
	}
}

func TestGradLRNWithinMap(t *testing.T) {
	rng := rand.New(rand.NewSource(16))
	for _, p := range []LRNParams{
		{Size: 3, Alpha: 0.5, Beta: 0.75, K: 1, WithinMap: true},
		{Size: 5, Alpha: 2, Beta: 0.6, K: 1.5, WithinMap: true},
		{Size: 7, Alpha: 1, Beta: 0.75, K: 1, WithinMap: true}, // window wider than the 4x6 map
		{Size: 1, Alpha: 0.3, Beta: 0.5, K: 2, WithinMap: true},
	} {
		gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return LRN(in[0], p) },
			[]*tensor.Dense{randDense(rng, 2, 2, 3, 4, 6)}, nil)
	}
}

// TestLRNBackwardWithinMap: the deconvnet's LRNBackward through a
// within-map normalization equals the LRN's gradient (which the finite
// differences check) applied to the same signal, to the bit.
func TestLRNBackwardWithinMap(t *testing.T) {
	rng := rand.New(rand.NewSource(17))
	p := LRNParams{Size: 5, Alpha: 1e-2, Beta: 0.75, K: 1, WithinMap: true}
	forDtypes(t, func(t *testing.T, dt tensor.Dtype) {
		x, r := convert(t, randDense(rng, 3, 2, 3, 6, 5), dt), convert(t, randDense(rng, 1, 2, 3, 6, 5), dt)
		g := G.NewGraph()
		xn := G.NewTensor(g, dt, 4, G.WithShape(2, 3, 6, 5), G.WithValue(x), G.WithName("x"))
		rn := G.NewTensor(g, dt, 4, G.WithShape(2, 3, 6, 5), G.WithValue(r), G.WithName("r"))
		y := must(t)(LRN(xn, p))
		if _, err := G.Grad(G.Must(G.Sum(G.Must(G.HadamardProd(y, rn)))), xn); err != nil {
			t.Fatal(err)
		}
		m := G.NewTapeMachine(g, G.BindDualValues(xn))
		defer m.Close()
		if err := m.RunAll(); err != nil {
			t.Fatalf("%+v", err)
		}
		want := floats(t, "grad", grad(t, xn))

		act := &Activation{Enabled: true}
		act.record(x)
		g2 := G.NewGraph()
		sig := G.NewTensor(g2, dt, 4, G.WithShape(2, 3, 6, 5), G.WithValue(r), G.WithName("sig"))
		back := must(t)(LRNBackward(sig, act, p))
		m2 := G.NewTapeMachine(g2)
		defer m2.Close()
		if err := m2.RunAll(); err != nil {
			t.Fatalf("%+v", err)
		}
		got := floats(t, "LRNBackward", back.Value())
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("[%d]: LRNBackward %v, LRN's gradient %v", i, got[i], want[i])
			}
		}
	})
}

func TestLRNWithinMapErrors(t *testing.T) {
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(1, 2, 5, 5), G.WithName("x"))
	for _, p := range []LRNParams{{Size: 4, Alpha: 1, Beta: 0.75, K: 1, WithinMap: true}, {Size: 0, Alpha: 1, Beta: 0.75, K: 1, WithinMap: true}} {
		if _, err := LRN(x, p); err == nil {
			t.Errorf("LRN(%+v): no error", p)
		}
		if _, err := LRNBackward(x, &Activation{}, p); err == nil {
			t.Errorf("LRNBackward(%+v): no error", p)
		}
	}
}
