package graph

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// randDense is a float64 tensor of normal values.
func randDense(rng *rand.Rand, scale float64, shape ...int) *tensor.Dense {
	t := newDense(tensor.Float64, shape...)
	for i := range sliceOf[float64](t) {
		sliceOf[float64](t)[i] = rng.NormFloat64() * scale
	}
	return t
}

// gradCheck compares the symbolic gradients of L = sum(build(inputs) * R)
// (or of build's output when it is already a scalar) with central finite
// differences in float64. before runs before every forward pass (to pin
// dropout's step). It checks at most maxPerInput elements of each input.
func gradCheck(t *testing.T, build func(g *G.ExprGraph, in []*G.Node) (*G.Node, error), inputs []*tensor.Dense, before func()) {
	t.Helper()
	const eps, tol = 1e-6, 1e-6 // float64: relative error of the difference quotient
	const maxPerInput = 60
	rng := rand.New(rand.NewSource(7))
	g := G.NewGraph()
	nodes := make([]*G.Node, len(inputs))
	for i, in := range inputs {
		nodes[i] = G.NewTensor(g, tensor.Float64, in.Dims(), G.WithShape(in.Shape()...), G.WithValue(in), G.WithName("in"+string(rune('A'+i))))
	}
	out, err := build(g, nodes)
	if err != nil {
		t.Fatal(err)
	}
	cost := out
	if !out.IsScalar() {
		r := randDense(rng, 1, out.Shape()...)
		rn := G.NewTensor(g, tensor.Float64, out.Dims(), G.WithShape(out.Shape()...), G.WithValue(r), G.WithName("R"))
		cost = G.Must(G.Sum(G.Must(G.HadamardProd(out, rn))))
	}
	var costVal G.Value
	G.Read(cost, &costVal)
	if _, err := G.Grad(cost, nodes...); err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g, G.BindDualValues(nodes...))
	defer m.Close()
	run := func() float64 {
		if before != nil {
			before()
		}
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		v, err := scalarOf(costVal)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	run()
	analytic := make([][]float64, len(nodes))
	for i, n := range nodes {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		analytic[i] = append([]float64(nil), sliceOf[float64](gv.(*tensor.Dense))...)
	}
	for i, in := range inputs {
		data := sliceOf[float64](in)
		idx := rng.Perm(len(data))
		if len(idx) > maxPerInput {
			idx = idx[:maxPerInput]
		}
		for _, j := range idx {
			orig := data[j]
			data[j] = orig + eps
			lp := run()
			data[j] = orig - eps
			lm := run()
			data[j] = orig
			num := (lp - lm) / (2 * eps)
			got := analytic[i][j]
			if d := math.Abs(num - got); d > tol*math.Max(1, math.Abs(num)) {
				t.Errorf("input %d element %d: symbolic gradient %.9g, finite difference %.9g (diff %.3g)", i, j, got, num, d)
			}
		}
	}
}

func TestGradConv2d(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, c := range []struct{ k, s, p int }{{3, 1, 1}, {7, 2, 1}, {5, 2, 0}, {1, 1, 0}} {
		x, w, b := randDense(rng, 1, 2, 3, 9, 9), randDense(rng, 0.3, 4, 3, c.k, c.k), randDense(rng, 1, 4)
		gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return Conv2d(in[0], in[1], in[2], c.s, c.p)
		}, []*tensor.Dense{x, w, b}, nil)
	}
}

func TestGradConvTranspose2d(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	// 7x7/2 pad 1 maps both 9 and 10 to 3: the explicit size picks one.
	for _, h := range []int{9, 10} {
		y, w := randDense(rng, 1, 2, 4, 3, 3), randDense(rng, 0.3, 4, 3, 7, 7)
		gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return ConvTranspose2d(in[0], in[1], 2, 1, h, h)
		}, []*tensor.Dense{y, w}, nil)
	}
}

func TestGradLinear(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	x, w, b := randDense(rng, 1, 3, 2, 2, 2), randDense(rng, 0.3, 5, 8), randDense(rng, 1, 5)
	gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return Linear(in[0], in[1], in[2]) },
		[]*tensor.Dense{x, w, b}, nil)
}

func TestGradReLUAndMask(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return ReLU(in[0]) },
		[]*tensor.Dense{randDense(rng, 1, 2, 3, 4, 4)}, nil)
	act := &Activation{Enabled: true}
	act.record(randDense(rng, 1, 2, 3, 4, 4))
	gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return Mask(in[0], act) },
		[]*tensor.Dense{randDense(rng, 1, 2, 3, 4, 4)}, nil)
}

func TestGradLRN(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, p := range []LRNParams{DefaultLRN, {Size: 3, Alpha: 0.5, Beta: 0.75, K: 1}, {Size: 4, Alpha: 0.3, Beta: 0.6, K: 1.5}} {
		gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return LRN(in[0], p) },
			[]*tensor.Dense{randDense(rng, 3, 2, 7, 3, 3)}, nil)
	}
}

func TestGradMaxPoolAndUnpool(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	for _, c := range []struct{ k, s, p int }{{3, 2, 1}, {3, 2, 0}, {2, 2, 0}} {
		gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			y, _, err := MaxPool(in[0], c.k, c.s, c.p)
			return y, err
		}, []*tensor.Dense{randDense(rng, 1, 2, 3, 7, 7)}, nil)
	}
	// Unpool with switches fixed by a pooling of another tensor.
	g0 := G.NewGraph()
	x0 := G.NewTensor(g0, tensor.Float64, 4, G.WithShape(2, 3, 7, 7), G.WithValue(randDense(rng, 1, 2, 3, 7, 7)))
	_, sw, err := MaxPool(x0, 3, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := G.NewTapeMachine(g0).RunAll(); err != nil {
		t.Fatal(err)
	}
	gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return Unpool(in[0], sw, 7, 7) },
		[]*tensor.Dense{randDense(rng, 1, 2, 3, 4, 4)}, nil)
}

func TestGradDropout(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	var st *DropoutState
	for _, p := range []float64{0.5, 0.2, 0.8} {
		gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			y, s, err := Dropout(in[0], p, 42)
			st = s
			return y, err
		}, []*tensor.Dense{randDense(rng, 1, 4, 50)}, func() { st.Step = 0 })
	}
}

func TestGradSoftmaxCrossEntropy(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	target := newDense(tensor.Float64, 4, 5)
	for i, k := range []int{2, 0, -1, 4} { // row 2 is padding
		if k >= 0 {
			sliceOf[float64](target)[i*5+k] = 1
		}
	}
	gradCheck(t, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		tn := G.NewTensor(g, tensor.Float64, 2, G.WithShape(4, 5), G.WithValue(target), G.WithName("target"))
		return SoftmaxCrossEntropy(in[0], tn)
	}, []*tensor.Dense{randDense(rng, 2, 4, 5)}, nil)
}

// TestMaxPoolNaNIsAnError: a NaN in the input makes the run fail with an
// error naming the op, where Gorgonia's built-in pooling panics inside the
// machine.
func TestMaxPoolNaNIsAnError(t *testing.T) {
	x := newDense(tensor.Float32, 1, 2, 5, 5)
	sliceOf[float32](x)[37] = float32(math.NaN())
	g := G.NewGraph()
	xn := G.NewTensor(g, tensor.Float32, 4, G.WithShape(1, 2, 5, 5), G.WithValue(x))
	_, sw, err := MaxPool(xn, 3, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	err = m.RunAll()
	if err == nil || !strings.Contains(err.Error(), "NaN in plane 1 at (2, 2)") {
		t.Fatalf("got %v, want an error locating the NaN", err)
	}
	if sw.Recorded() {
		t.Error("switches recorded from a failed pass")
	}
}

// TestConv2dNoInputGrad: leaving out the input gradient changes nothing
// else: the same weight and bias gradients as Conv2d's (which the finite
// differences above check), no transposed convolution in the graph, and
// asking for the input's gradient is an error.
func TestConv2dNoInputGrad(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	x, w, b := randDense(rng, 1, 2, 3, 7, 6), randDense(rng, 1, 4, 3, 3, 3), randDense(rng, 1, 4)
	r := randDense(rng, 1, 2, 4, 4, 3)
	grads := func(conv func(x, w, b *G.Node, stride, pad int) (*G.Node, error)) (*G.ExprGraph, [][]float64, error) {
		g := G.NewGraph()
		xn := G.NewTensor(g, tensor.Float64, 4, G.WithShape(x.Shape()...), G.WithValue(x.Clone()), G.WithName("x"))
		wn := G.NewTensor(g, tensor.Float64, 4, G.WithShape(w.Shape()...), G.WithValue(w.Clone()), G.WithName("w"))
		bn := G.NewTensor(g, tensor.Float64, 1, G.WithShape(b.Shape()...), G.WithValue(b.Clone()), G.WithName("b"))
		rn := G.NewTensor(g, tensor.Float64, 4, G.WithShape(r.Shape()...), G.WithValue(r), G.WithName("r"))
		y, err := conv(xn, wn, bn, 2, 1)
		if err != nil {
			return nil, nil, err
		}
		cost := G.Must(G.Sum(G.Must(G.HadamardProd(y, rn))))
		if _, err := G.Grad(cost, wn, bn); err != nil {
			return nil, nil, err
		}
		m := G.NewTapeMachine(g, G.BindDualValues(wn, bn))
		defer m.Close()
		if err := m.RunAll(); err != nil {
			return nil, nil, err
		}
		var out [][]float64
		for _, n := range []*G.Node{wn, bn} {
			gv, err := n.Grad()
			if err != nil {
				return nil, nil, err
			}
			out = append(out, append([]float64(nil), sliceOf[float64](gv.(*tensor.Dense))...))
		}
		return g, out, nil
	}
	_, want, err := grads(Conv2d)
	if err != nil {
		t.Fatal(err)
	}
	g, got, err := grads(Conv2dNoInputGrad)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("gradient %d [%d] = %v, Conv2d's %v", i, j, got[i][j], want[i][j])
			}
		}
	}
	for _, n := range g.AllNodes() {
		if n.Op() != nil && strings.HasPrefix(n.Op().String(), "ConvTranspose2d") {
			t.Errorf("graph holds %v: the input gradient was built", n.Op())
		}
	}
	g2 := G.NewGraph()
	xn := G.NewTensor(g2, tensor.Float64, 4, G.WithShape(x.Shape()...), G.WithValue(x), G.WithName("x"))
	wn := G.NewTensor(g2, tensor.Float64, 4, G.WithShape(w.Shape()...), G.WithValue(w), G.WithName("w"))
	y := G.Must(Conv2dNoInputGrad(xn, wn, nil, 1, 0))
	if _, err := G.Grad(G.Must(G.Sum(y)), xn); err == nil {
		t.Error("differentiating by the data input of Conv2dNoInputGrad: no error")
	}
}

// TestLRNCachesOnlyForGradients: an LRN nothing differentiates keeps no
// copy of its scales; once a gradient is built, the forward pass caches
// them for it.
func TestLRNCachesOnlyForGradients(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, differentiate := range []bool{false, true} {
		g := G.NewGraph()
		x := G.NewTensor(g, tensor.Float64, 4, G.WithShape(2, 6, 3, 3), G.WithValue(randDense(rng, 1, 2, 6, 3, 3)), G.WithName("x"))
		y, err := LRN(x, DefaultLRN)
		if err != nil {
			t.Fatal(err)
		}
		cost := G.Must(G.Sum(y))
		if differentiate {
			if _, err := G.Grad(cost, x); err != nil {
				t.Fatal(err)
			}
		}
		m := G.NewTapeMachine(g)
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		m.Close()
		if cached := y.Op().(*lrnOp).Cache.pw != nil; cached != differentiate {
			t.Errorf("differentiated %v: cached %v", differentiate, cached)
		}
	}
}
