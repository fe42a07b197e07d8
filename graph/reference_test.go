package graph

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Reference values from PyTorch 1.13: testdata/gen_fixtures.py writes them
// (its docstring has the command and the file conventions). Inputs are
// float32 numbers; references were computed from them in float64. Every test
// runs the ops on float32 and on float64 tensors fed the same numbers.
//
// Tolerances, per element, |got - want| <= Abs + Rel*|want|:
//   - float32: Abs 1e-5, Rel 1e-4, except where a test says otherwise;
//   - float64: Abs 1e-10, Rel 1e-9.

type tolerance struct{ Abs, Rel float64 }

var (
	tol32 = tolerance{Abs: 1e-5, Rel: 1e-4}
	tol64 = tolerance{Abs: 1e-10, Rel: 1e-9}
)

func tolFor(dt tensor.Dtype) tolerance {
	if dt == tensor.Float32 {
		return tol32
	}
	return tol64
}

var refDtypes = []tensor.Dtype{tensor.Float32, tensor.Float64}

// forDtypes runs fn as a subtest for float32 and float64.
func forDtypes(t *testing.T, fn func(t *testing.T, dt tensor.Dtype)) {
	t.Helper()
	for _, dt := range refDtypes {
		t.Run(dt.String(), func(t *testing.T) { fn(t, dt) })
	}
}

// readNpy loads testdata/<name>.npy.
func readNpy(t *testing.T, name string) *tensor.Dense {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".npy"))
	if err != nil {
		t.Fatalf("fixture %s: %v (regenerate with /usr/bin/python3 graph/testdata/gen_fixtures.py)", name, err)
	}
	defer f.Close()
	d := new(tensor.Dense)
	if err := d.ReadNpy(f); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return d
}

// floats returns the elements of a float tensor or scalar value as float64.
func floats(t *testing.T, what string, v G.Value) []float64 {
	t.Helper()
	switch x := v.(type) {
	case *G.F32:
		return []float64{float64(*x)}
	case *G.F64:
		return []float64{float64(*x)}
	case *tensor.Dense:
		switch d := x.Data().(type) {
		case []float32:
			out := make([]float64, len(d))
			for i, e := range d {
				out[i] = float64(e)
			}
			return out
		case []float64:
			return append([]float64(nil), d...)
		case float32:
			return []float64{float64(d)}
		case float64:
			return []float64{d}
		}
	}
	t.Fatalf("%s: expected a float tensor or scalar, got %T", what, v)
	return nil
}

// convert copies a float fixture into a new tensor of dtype dt.
func convert(t *testing.T, d *tensor.Dense, dt tensor.Dtype) *tensor.Dense {
	t.Helper()
	src := floats(t, "fixture", d)
	out := tensor.New(tensor.Of(dt), tensor.WithShape(d.Shape().Clone()...))
	switch o := out.Data().(type) {
	case []float32:
		for i, v := range src {
			o[i] = float32(v)
		}
	case []float64:
		copy(o, src)
	}
	return out
}

// assertClose compares got with want elementwise (and their shapes, unless
// want is a 1-element reference for a scalar).
func assertClose(t *testing.T, what string, got G.Value, want *tensor.Dense, tol tolerance) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no value", what)
		return
	}
	if want.Shape().TotalSize() != 1 || got.Shape().TotalSize() != 1 {
		if !got.Shape().Eq(want.Shape()) {
			t.Errorf("%s: shape %v, want %v", what, got.Shape(), want.Shape())
			return
		}
	}
	g, w := floats(t, what, got), floats(t, what, want)
	if len(g) != len(w) {
		t.Errorf("%s: %d elements, want %d", what, len(g), len(w))
		return
	}
	bad, worst, worstAt := 0, 0.0, -1
	for i := range w {
		d := math.Abs(g[i] - w[i])
		lim := tol.Abs + tol.Rel*math.Abs(w[i])
		if !(d <= lim) { // also catches NaN
			bad++
			if r := d / lim; worstAt < 0 || r > worst || math.IsNaN(r) {
				worst, worstAt = r, i
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements off (tolerance abs %g + rel %g); worst at flat index %d: got %.9g, want %.9g (%.3g x tolerance)",
			what, bad, len(w), tol.Abs, tol.Rel, worstAt, g[worstAt], w[worstAt], worst)
	}
}

// refCase builds one fixture's computation in its own graph.
type refCase struct {
	t      *testing.T
	prefix string
	dt     tensor.Dtype
	tol    tolerance
	g      *G.ExprGraph
}

func newRefCase(t *testing.T, prefix string, dt tensor.Dtype) *refCase {
	return &refCase{t: t, prefix: prefix, dt: dt, tol: tolFor(dt), g: G.NewGraph()}
}

// input is a graph input holding <prefix>_<name>.npy converted to the case's dtype.
func (c *refCase) input(name string) *G.Node {
	c.t.Helper()
	v := convert(c.t, readNpy(c.t, c.prefix+"_"+name), c.dt)
	return G.NewTensor(c.g, c.dt, v.Dims(), G.WithShape(v.Shape()...), G.WithValue(v), G.WithName(c.prefix+"_"+name))
}

// want is the reference <prefix>_<name>.npy.
func (c *refCase) want(name string) *tensor.Dense {
	c.t.Helper()
	return readNpy(c.t, c.prefix+"_"+name)
}

func (c *refCase) check(what string, got G.Value, name string) {
	c.t.Helper()
	assertClose(c.t, fmt.Sprintf("%s %s (%v)", c.prefix, what, c.dt), got, c.want(name), c.tol)
}

// run differentiates cost = sum(out * r) (or out itself when r is nil: a
// scalar loss) with respect to wrt, runs the graph twice and returns out's
// forward value, read through a Read node so the backward pass cannot
// clobber it. It fails the test on any error.
func (c *refCase) run(out, r *G.Node, wrt ...*G.Node) G.Value {
	c.t.Helper()
	var outV G.Value
	G.Read(out, &outV)
	cost := out
	if r != nil {
		cost = G.Must(G.Sum(G.Must(G.HadamardProd(out, r))))
	}
	if len(wrt) > 0 {
		if _, err := G.Grad(cost, wrt...); err != nil {
			c.t.Fatalf("%s: Grad: %+v", c.prefix, err)
		}
	}
	m := G.NewTapeMachine(c.g, G.BindDualValues(wrt...))
	defer m.Close()
	// Two runs: the values checked are the second's, so state an op keeps
	// between runs (switches, scratch buffers) cannot leak into them.
	// Gorgonia ADDS each run's gradients into the bound dual values
	// (m.Reset does not clear them; solvers do after each step), so they are
	// zeroed between the runs as a training loop would.
	for i := 0; i < 2; i++ {
		if i > 0 {
			m.Reset()
			for _, n := range wrt {
				if d, ok := grad(c.t, n).(*tensor.Dense); ok {
					d.Zero()
				} else {
					c.t.Fatalf("%s: gradient of %s is a %T", c.prefix, n.Name(), grad(c.t, n))
				}
			}
		}
		if err := m.RunAll(); err != nil {
			c.t.Fatalf("%s: RunAll (run %d): %+v", c.prefix, i+1, err)
		}
	}
	return outV
}

func grad(t *testing.T, n *G.Node) G.Value {
	t.Helper()
	v, err := n.Grad()
	if err != nil {
		t.Fatalf("%v: no gradient: %v", n.Name(), err)
	}
	return v
}

// must(t)(op(...)) fails the test when building op fails.
func must(t *testing.T) func(*G.Node, error) *G.Node {
	return func(n *G.Node, err error) *G.Node {
		t.Helper()
		if err != nil {
			t.Fatalf("%+v", err)
		}
		return n
	}
}

func TestReferenceLRN(t *testing.T) {
	cases := []struct {
		prefix string
		p      LRNParams
	}{
		{"lrn_paper", LRNParams{Size: 5, Alpha: 1e-4, Beta: 0.75, K: 2}}, // input x100
		{"lrn_s3", LRNParams{Size: 3, Alpha: 0.5, Beta: 0.75, K: 1}},
		{"lrn_s4", LRNParams{Size: 4, Alpha: 0.5, Beta: 0.6, K: 1.5}}, // asymmetric window
		{"lrn_s10", LRNParams{Size: 10, Alpha: 1, Beta: 0.75, K: 2}},  // window wider than C=7
	}
	for _, tc := range cases {
		t.Run(tc.prefix, func(t *testing.T) {
			forDtypes(t, func(t *testing.T, dt tensor.Dtype) {
				c := newRefCase(t, tc.prefix, dt)
				x, r := c.input("x"), c.input("r")
				y := must(t)(LRN(x, tc.p))
				c.check("forward", c.run(y, r, x), "y")
				c.check("dx", grad(t, x), "gx")
			})
		})
	}
}

// checkIndices compares switches with PyTorch's return_indices.
func checkIndices(t *testing.T, what string, sw *Switches, want *tensor.Dense) {
	t.Helper()
	w, ok := want.Data().([]int32)
	if !ok {
		t.Fatalf("%s: indices fixture has dtype %v, want int32", what, want.Dtype())
	}
	s := want.Shape()
	if got := (tensor.Shape{sw.N, sw.C, sw.OH, sw.OW}); !got.Eq(s) {
		t.Fatalf("%s: switches cover %v, want %v", what, got, s)
	}
	if len(sw.Index) != len(w) {
		t.Fatalf("%s: %d switches, want %d", what, len(sw.Index), len(w))
	}
	bad := 0
	for i := range w {
		if sw.Index[i] != w[i] {
			if bad < 5 {
				t.Errorf("%s: switch %d = %d, want %d", what, i, sw.Index[i], w[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d switches differ", what, bad, len(w))
	}
}

// TestReferenceMaxPool checks pooled values, switches (against
// return_indices) and the input gradient (max_pool2d's backward), and for
// non-overlapping windows Unpool of the pooled values against max_unpool2d.
// For every case, Unpool of the upstream gradient in a second graph that only
// shares the switches must equal max_pool2d's input gradient: that is how the
// deconvnet unpools, and where windows overlap it checks the scatter-ADD.
// Tolerance: the defaults (the values are copies, the gradient sums of at
// most four terms).
func TestReferenceMaxPool(t *testing.T) {
	cases := []struct {
		prefix         string
		k, s, p        int
		nonOverlapping bool
	}{
		{"pool_k2s2", 2, 2, 0, true},
		{"pool_k3s3p1", 3, 3, 1, true},
		{"pool_k3s2p1", 3, 2, 1, false},
		{"pool_k3s2", 3, 2, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.prefix, func(t *testing.T) {
			forDtypes(t, func(t *testing.T, dt tensor.Dtype) {
				c := newRefCase(t, tc.prefix, dt)
				x, r := c.input("x"), c.input("r")
				xs := x.Shape()
				y, sw, err := MaxPool(x, tc.k, tc.s, tc.p)
				must(t)(y, err)
				var unpooledV G.Value
				if tc.nonOverlapping {
					G.Read(must(t)(Unpool(y, sw, xs[2], xs[3])), &unpooledV)
				}
				c.check("forward", c.run(y, r, x), "y")
				checkIndices(t, tc.prefix, sw, c.want("idx"))
				c.check("dx", grad(t, x), "gx")
				if tc.nonOverlapping {
					c.check("unpool(forward)", unpooledV, "unpool")
				}

				// The deconvnet's way: a separate graph reading the switches.
				c2 := newRefCase(t, tc.prefix, dt)
				u := must(t)(Unpool(c2.input("r"), sw, xs[2], xs[3]))
				c2.check("unpool(r) in a second graph", c2.run(u, nil), "gx")
			})
		})
	}

	t.Run("ties", func(t *testing.T) {
		forDtypes(t, func(t *testing.T, dt tensor.Dtype) {
			c := newRefCase(t, "pool_ties", dt)
			y, sw, err := MaxPool(c.input("x"), 3, 2, 1)
			must(t)(y, err)
			c.check("forward", c.run(y, nil), "y")
			checkIndices(t, "pool_ties", sw, c.want("idx"))
		})
	})
}

// TestReferenceMaxPoolSharedSwitch is worked by hand: 3x3 windows at stride
// 2 on a 5x5 plane overlap on row 2 and column 2. In channel 0 the 9 at
// (0, 2) is the maximum of both top windows, so both record switch 2, and
// Unpool ADDS the two pooled values there (9 + 9 = 18): that is max pooling's
// true gradient (the adjoint of the gather) and what the deconvnet uses.
// PyTorch's max_unpool2d would instead OVERWRITE (index 2 would hold 9, from
// whichever window wrote last), which is why this case is not a PyTorch
// fixture. Channel 1 is constant: ties go to each window's first cell in
// row-major order (0, 2, 10, 12), as in PyTorch. Exact comparisons.
func TestReferenceMaxPoolSharedSwitch(t *testing.T) {
	plane0 := []float64{
		1, 2, 9, 3, 4,
		0, 5, 1, 2, 6,
		3, 1, 2, 0, 1,
		7, 0, 1, 8, 2,
		1, 2, 3, 1, 0,
	}
	forDtypes(t, func(t *testing.T, dt tensor.Dtype) {
		xd := make([]float64, 50)
		copy(xd, plane0)
		for i := 25; i < 50; i++ {
			xd[i] = 4
		}
		exact := tolerance{}
		mk := func(data []float64, shape ...int) *tensor.Dense {
			return convert(t, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data)), dt)
		}

		g := G.NewGraph()
		x := G.NewTensor(g, dt, 4, G.WithShape(1, 2, 5, 5), G.WithValue(mk(xd, 1, 2, 5, 5)), G.WithName("x"))
		y, sw, err := MaxPool(x, 3, 2, 0)
		must(t)(y, err)
		u := must(t)(Unpool(y, sw, 5, 5))
		var yV, uV G.Value
		G.Read(y, &yV)
		G.Read(u, &uV)
		cost := G.Must(G.Sum(y))
		if _, err := G.Grad(cost, x); err != nil {
			t.Fatal(err)
		}
		m := G.NewTapeMachine(g, G.BindDualValues(x))
		defer m.Close()
		if err := m.RunAll(); err != nil {
			t.Fatalf("%+v", err)
		}

		assertClose(t, "pooled", yV, mk([]float64{9, 9, 7, 8, 4, 4, 4, 4}, 1, 2, 2, 2), exact)
		wantSw := []int32{2, 2, 15, 18, 0, 2, 10, 12}
		for i, v := range wantSw {
			if sw.Index[i] != v {
				t.Errorf("switch %d = %d, want %d (all: %v)", i, sw.Index[i], v, sw.Index)
			}
		}
		wantU := make([]float64, 50)
		wantU[2], wantU[15], wantU[18] = 9+9, 7, 8 // shared switch: added
		for _, j := range []int{0, 2, 10, 12} {
			wantU[25+j] = 4
		}
		assertClose(t, "unpool(pooled)", uV, mk(wantU, 1, 2, 5, 5), exact)
		wantG := make([]float64, 50)
		wantG[2], wantG[15], wantG[18] = 2, 1, 1
		for _, j := range []int{0, 2, 10, 12} {
			wantG[25+j] = 1
		}
		assertClose(t, "d sum(maxpool(x)) / dx", grad(t, x), mk(wantG, 1, 2, 5, 5), exact)

		// Distinct values make the addition visible: 1 + 10 at switch 2.
		g2 := G.NewGraph()
		yd := []float64{1, 10, 100, 1000, 1, 2, 3, 4}
		y2 := G.NewTensor(g2, dt, 4, G.WithShape(1, 2, 2, 2), G.WithValue(mk(yd, 1, 2, 2, 2)), G.WithName("y2"))
		u2 := must(t)(Unpool(y2, sw, 5, 5))
		m2 := G.NewTapeMachine(g2)
		defer m2.Close()
		if err := m2.RunAll(); err != nil {
			t.Fatalf("%+v", err)
		}
		wantU2 := make([]float64, 50)
		wantU2[2], wantU2[15], wantU2[18] = 11, 100, 1000
		wantU2[25+0], wantU2[25+2], wantU2[25+10], wantU2[25+12] = 1, 2, 3, 4
		assertClose(t, "unpool(1, 10, 100, 1000)", u2.Value(), mk(wantU2, 1, 2, 5, 5), exact)
	})
}

// TestReferenceConv checks Conv2d (output and gradients wrt input, weights,
// bias) and ConvTranspose2d with the same weights landing on the forward
// input's size (PyTorch's conv_transpose2d with the output_padding that
// makes it so; output and gradients wrt its input and the weights).
// Tolerance: the defaults (sums of at most a few hundred float32 products of
// magnitude ~1).
func TestReferenceConv(t *testing.T) {
	cases := []struct {
		prefix string
		stride int
		pad    int
		bias   bool
	}{
		{"conv_k7s2p1", 2, 1, true},
		{"conv_k7s2p1_odd", 2, 1, true},
		{"conv_k5s2", 2, 0, true},
		{"conv_k3s1p1", 1, 1, true},
		{"conv_k5s1p2_narrow", 1, 2, false},
		{"conv_k1", 1, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.prefix, func(t *testing.T) {
			forDtypes(t, func(t *testing.T, dt tensor.Dtype) {
				c := newRefCase(t, tc.prefix, dt)
				x, w, r := c.input("x"), c.input("w"), c.input("r")
				var b *G.Node
				wrt := G.Nodes{x, w}
				if tc.bias {
					b = c.input("b")
					wrt = append(wrt, b)
				}
				y := must(t)(Conv2d(x, w, b, tc.stride, tc.pad))
				c.check("forward", c.run(y, r, wrt...), "y")
				c.check("dx", grad(t, x), "gx")
				c.check("dw", grad(t, w), "gw")
				if tc.bias {
					c.check("db", grad(t, b), "gb")
				}

				ct := newRefCase(t, tc.prefix, dt)
				xs := x.Shape()
				ty, tw, tr := ct.input("ty"), ct.input("w"), ct.input("tr")
				tx := must(t)(ConvTranspose2d(ty, tw, tc.stride, tc.pad, xs[2], xs[3]))
				ct.check("transposed forward", ct.run(tx, tr, ty, tw), "tx")
				ct.check("transposed dy", grad(t, ty), "gty")
				ct.check("transposed dw", grad(t, tw), "gtw")
			})
		})
	}
}

// TestReferenceLinear: x of rank 4 is flattened as torch.flatten(x, 1).
// Tolerance: the defaults.
func TestReferenceLinear(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		bias   bool
	}{{"linear_4d", true}, {"linear_2d", false}} {
		t.Run(tc.prefix, func(t *testing.T) {
			forDtypes(t, func(t *testing.T, dt tensor.Dtype) {
				c := newRefCase(t, tc.prefix, dt)
				x, w, r := c.input("x"), c.input("w"), c.input("r")
				var b *G.Node
				wrt := G.Nodes{x, w}
				if tc.bias {
					b = c.input("b")
					wrt = append(wrt, b)
				}
				y := must(t)(Linear(x, w, b))
				c.check("forward", c.run(y, r, wrt...), "y")
				c.check("dx", grad(t, x), "gx")
				c.check("dw", grad(t, w), "gw")
				if tc.bias {
					c.check("db", grad(t, b), "gb")
				}
			})
		})
	}
}

// TestReferenceSoftmaxCrossEntropy: mean cross-entropy and its gradient wrt
// the logits, against F.cross_entropy with class labels (one-hot rows),
// labels with ignore_index rows (all-zero target rows: padding) and
// probability targets. Tolerance: the defaults.
func TestReferenceSoftmaxCrossEntropy(t *testing.T) {
	for _, name := range []string{"onehot", "pad", "soft"} {
		t.Run(name, func(t *testing.T) {
			forDtypes(t, func(t *testing.T, dt tensor.Dtype) {
				c := newRefCase(t, "ce_"+name, dt)
				zc := newRefCase(t, "ce_onehot", dt) // the logits are shared
				zc.g = c.g
				z, tg := zc.input("z"), c.input("t")
				loss := must(t)(SoftmaxCrossEntropy(z, tg))
				c.check("loss", c.run(loss, nil, z), "loss")
				c.check("dz", grad(t, z), "gz")
			})
		})
	}
}

// TestReferencePipeline is a small ZFNet: conv 7x7/2 pad 1, ReLU, LRN
// (paper parameters), max pool 3x3/2 pad 1, linear, mean softmax
// cross-entropy, with the gradients wrt the input and every parameter.
// Tolerance: the defaults.
func TestReferencePipeline(t *testing.T) {
	forDtypes(t, func(t *testing.T, dt tensor.Dtype) {
		c := newRefCase(t, "net", dt)
		x, w1, b1, wl, bl, tg := c.input("x"), c.input("w1"), c.input("b1"), c.input("wl"), c.input("bl"), c.input("t")
		h := must(t)(Conv2d(x, w1, b1, 2, 1))
		h = must(t)(ReLU(h))
		h = must(t)(LRN(h, DefaultLRN))
		h, _, err := MaxPool(h, 3, 2, 1)
		must(t)(h, err)
		logits := must(t)(Linear(h, wl, bl))
		var logitsV G.Value
		G.Read(logits, &logitsV)
		loss := must(t)(SoftmaxCrossEntropy(logits, tg))
		lossV := c.run(loss, nil, x, w1, b1, wl, bl)

		c.check("logits", logitsV, "logits")
		c.check("loss", lossV, "loss")
		c.check("dx", grad(t, x), "gx")
		c.check("dw1", grad(t, w1), "gw1")
		c.check("db1", grad(t, b1), "gb1")
		c.check("dwl", grad(t, wl), "gwl")
		c.check("dbl", grad(t, bl), "gbl")
	})
}
