package graph

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// References from PyTorch 1.13 for the ops the importer of published
// networks needs: testdata/gen_fixtures_import.py writes them (its
// docstring has the command; the conventions are gen_fixtures.py's).
// Tolerances are reference_test.go's defaults (float32: abs 1e-5 + rel
// 1e-4; float64: abs 1e-10 + rel 1e-9) unless a test says otherwise.

// TestReferenceMaxPoolCeil: ceil-mode pooling's values, switches (against
// return_indices), input gradient, and Unpool of the upstream gradient in a
// second graph sharing only the switches (the deconvnet's way), which must
// equal the input gradient. Tolerance: the defaults.
func TestReferenceMaxPoolCeil(t *testing.T) {
	for _, tc := range []struct {
		prefix  string
		k, s, p int
	}{
		{"poolc_k3s2_13", 3, 2, 0},
		{"poolc_k3s2_12", 3, 2, 0},
		{"poolc_k3s2p1", 3, 2, 1},
		{"poolc_k2s2p1", 2, 2, 1},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			forDtypes(t, func(t *testing.T, dt tensor.Dtype) {
				c := newRefCase(t, tc.prefix, dt)
				x, r := c.input("x"), c.input("r")
				xs := x.Shape()
				y, sw, err := MaxPoolMode(x, tc.k, tc.s, tc.p, true)
				must(t)(y, err)
				c.check("forward", c.run(y, r, x), "y")
				checkIndices(t, tc.prefix, sw, c.want("idx"))
				c.check("dx", grad(t, x), "gx")

				c2 := newRefCase(t, tc.prefix, dt)
				u := must(t)(Unpool(c2.input("r"), sw, xs[2], xs[3]))
				c2.check("unpool(r) in a second graph", c2.run(u, nil), "gx")
			})
		})
	}
}

// TestReferenceGroupedConv: GroupedConv2d (output, gradients wrt input,
// weights, bias) and GroupedConvTranspose2d with the same weights landing on
// the forward input's size (output, gradients wrt its input and weights),
// against F.conv2d and F.conv_transpose2d with groups. Tolerance: the
// defaults.
func TestReferenceGroupedConv(t *testing.T) {
	for _, tc := range []struct {
		prefix              string
		stride, pad, groups int
		bias                bool
	}{
		{"gconv_k3s1p1", 1, 1, 2, true},
		{"gconv_k5s2p2", 2, 2, 2, true},
		{"gconv_k1g4", 1, 0, 4, false},
	} {
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
				y := must(t)(GroupedConv2d(x, w, b, tc.stride, tc.pad, tc.groups))
				c.check("forward", c.run(y, r, wrt...), "y")
				c.check("dx", grad(t, x), "gx")
				c.check("dw", grad(t, w), "gw")
				if tc.bias {
					c.check("db", grad(t, b), "gb")
				}

				// Without the input gradient: the same weight gradient.
				cn := newRefCase(t, tc.prefix, dt)
				xn, wn, rn := cn.input("x"), cn.input("w"), cn.input("r")
				var bn *G.Node
				if tc.bias {
					bn = cn.input("b")
				}
				yn := must(t)(GroupedConv2dNoInputGrad(xn, wn, bn, tc.stride, tc.pad, tc.groups))
				cn.check("forward (no input grad)", cn.run(yn, rn, wn), "y")
				cn.check("dw (no input grad)", grad(t, wn), "gw")

				ct := newRefCase(t, tc.prefix, dt)
				xs := x.Shape()
				ty, tw, tr := ct.input("ty"), ct.input("w"), ct.input("tr")
				tx := must(t)(GroupedConvTranspose2d(ty, tw, tc.stride, tc.pad, tc.groups, xs[2], xs[3]))
				ct.check("transposed forward", ct.run(tx, tr, ty, tw), "tx")
				ct.check("transposed dy", grad(t, ty), "gty")
				ct.check("transposed dw", grad(t, tw), "gtw")
			})
		})
	}
}

// TestReferenceAvgPool: AvgPool's values and input gradient against
// F.avg_pool2d (ceil_mode and count_include_pad both ways), and
// AvgPoolTranspose: applied to the upstream gradient r it must give that
// input gradient, and its own gradient for upstream x is the pooling of x.
// Tolerance: the defaults.
func TestReferenceAvgPool(t *testing.T) {
	for _, tc := range []struct {
		prefix        string
		k, s, p       int
		ceil, include bool
	}{
		{"avg_k3s2_ceil_inc", 3, 2, 0, true, true},
		{"avg_k3s2_ceil_exc", 3, 2, 0, true, false},
		{"avg_k3s2p1_ceil_inc", 3, 2, 1, true, true},
		{"avg_k3s2p1_ceil_exc", 3, 2, 1, true, false},
		{"avg_k2s2p1_floor_inc", 2, 2, 1, false, true},
		{"avg_k2s2p1_floor_exc", 2, 2, 1, false, false},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			forDtypes(t, func(t *testing.T, dt tensor.Dtype) {
				c := newRefCase(t, tc.prefix, dt)
				x, r := c.input("x"), c.input("r")
				xs := x.Shape()
				y := must(t)(AvgPool(x, tc.k, tc.s, tc.p, tc.ceil, tc.include))
				c.check("forward", c.run(y, r, x), "y")
				c.check("dx", grad(t, x), "gx")

				ct := newRefCase(t, tc.prefix, dt)
				tr, tx := ct.input("r"), ct.input("x")
				u := must(t)(AvgPoolTranspose(tr, tc.k, tc.s, tc.p, tc.ceil, tc.include, xs[2], xs[3]))
				ct.check("transpose(r)", ct.run(u, tx, tr), "gx")
				ct.check("d sum(transpose(r) * x) / dr", grad(t, tr), "y")
			})
		})
	}
}

// TestReferenceAdaptiveAvgPool: as TestReferenceAvgPool, against
// F.adaptive_avg_pool2d. Tolerance: the defaults.
func TestReferenceAdaptiveAvgPool(t *testing.T) {
	for _, tc := range []struct {
		prefix     string
		outH, outW int
	}{
		{"adapt_13to6", 6, 6},
		{"adapt_6to6", 6, 6},
		{"adapt_7to3", 3, 3},
		{"adapt_5x7to3x2", 3, 2},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			forDtypes(t, func(t *testing.T, dt tensor.Dtype) {
				c := newRefCase(t, tc.prefix, dt)
				x, r := c.input("x"), c.input("r")
				xs := x.Shape()
				y := must(t)(AdaptiveAvgPool(x, tc.outH, tc.outW))
				c.check("forward", c.run(y, r, x), "y")
				c.check("dx", grad(t, x), "gx")

				ct := newRefCase(t, tc.prefix, dt)
				tr, tx := ct.input("r"), ct.input("x")
				u := must(t)(AdaptiveAvgPoolTranspose(tr, xs[2], xs[3]))
				ct.check("transpose(r)", ct.run(u, tx, tr), "gx")
				ct.check("d sum(transpose(r) * x) / dr", grad(t, tr), "y")
			})
		})
	}
}

// TestReferenceLRNWithinMap: within-map LRN's values and input gradient
// against the Caffe formula written with F.avg_pool2d in the fixture script
// (PyTorch has no within-channel LRN), and LRNBackward (the deconvnet's
// step) of r at the recorded input against the same gradient. Tolerance:
// the defaults.
func TestReferenceLRNWithinMap(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		p      LRNParams
	}{
		{"lrnw_caffe", LRNParams{Size: 3, Alpha: 5e-5, Beta: 0.75, K: 1, WithinMap: true}}, // input x100
		{"lrnw_s3", LRNParams{Size: 3, Alpha: 0.5, Beta: 0.75, K: 1, WithinMap: true}},
		{"lrnw_s5", LRNParams{Size: 5, Alpha: 2, Beta: 0.6, K: 1.5, WithinMap: true}},
		{"lrnw_s7", LRNParams{Size: 7, Alpha: 1, Beta: 0.75, K: 2, WithinMap: true}},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			forDtypes(t, func(t *testing.T, dt tensor.Dtype) {
				c := newRefCase(t, tc.prefix, dt)
				x, r := c.input("x"), c.input("r")
				y := must(t)(LRN(x, tc.p))
				c.check("forward", c.run(y, r, x), "y")
				c.check("dx", grad(t, x), "gx")

				act := &Activation{Enabled: true}
				act.record(convert(t, c.want("x"), dt))
				cb := newRefCase(t, tc.prefix, dt)
				back := must(t)(LRNBackward(cb.input("r"), act, tc.p))
				cb.check("LRNBackward(r)", cb.run(back, nil), "gx")
			})
		})
	}
}
