package graph

import (
	"fmt"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ConvTranspose2d filters y (N, O, OH, OW) with the transposed weights of a
// forward convolution w (O, C, KH, KW) at that convolution's stride and
// padding, producing (N, C, outH, outW): PyTorch's conv_transpose2d with the
// same weight tensor. The output size is explicit because several input sizes
// convolve to the same output size (223 and 224 both give 110 at 7x7/2 pad 1);
// naming it lands the projection exactly on the forward input's shape.
func ConvTranspose2d(y, w *G.Node, stride, pad, outH, outW int) (*G.Node, error) {
	return apply(&convTransposeOp{Stride: stride, Pad: pad, OutH: outH, OutW: outW}, y, w)
}

// GroupedConvTranspose2d is ConvTranspose2d for a GroupedConv2d's weights
// w (O, C/groups, KH, KW): y (N, O, OH, OW) becomes (N, C, outH, outW), each
// group's output maps projected onto its own input maps. It equals the
// grouped convolution's gradient with respect to its input; groups = 1 is
// ConvTranspose2d, to the bit.
func GroupedConvTranspose2d(y, w *G.Node, stride, pad, groups, outH, outW int) (*G.Node, error) {
	if groups < 1 {
		return nil, errors.Errorf("GroupedConvTranspose2d: groups must be >= 1, got %d", groups)
	}
	return apply(&convTransposeOp{Stride: stride, Pad: pad, OutH: outH, OutW: outW, Groups: groups}, y, w)
}

type convTransposeOp struct {
	opBase
	outBuf
	Stride, Pad, OutH, OutW int
	Groups                  int // 0 means 1 (see convOp)
}

func (op *convTransposeOp) Arity() int         { return 2 }
func (op *convTransposeOp) Type() hm.Type      { return fnType(4, 4, 4) }
func (op *convTransposeOp) WriteHash(h hasher) { writeHash(h, op) }
func (op *convTransposeOp) Hashcode() uint32   { return hashcode(op) }
func (op *convTransposeOp) String() string {
	return fmt.Sprintf("ConvTranspose2d{stride=%d, pad=%d, out=%dx%d%s}", op.Stride, op.Pad, op.OutH, op.OutW, groupsSuffix(op.Groups))
}

// geom is the geometry of the forward convolution this op transposes.
func (op *convTransposeOp) geom(ys, ws tensor.Shape) (convGeom, error) {
	if len(ys) != 4 || len(ws) != 4 {
		return convGeom{}, errors.Errorf("%v: input %v and weights %v must both be 4-D", op, ys, ws)
	}
	if ys[1] != ws[0] {
		return convGeom{}, errors.Errorf("%v: input has %d channels, weights %v have %d output maps", op, ys[1], ws, ws[0])
	}
	g, err := newGroupedConvGeom(ys[0], ws[1]*groupsOf(op.Groups), op.OutH, op.OutW, ws[0], ws[2], ws[3], op.Stride, op.Pad, groupsOf(op.Groups))
	if err != nil {
		return g, errors.Wrapf(err, "%v", op)
	}
	if g.OH != ys[2] || g.OW != ys[3] {
		return g, errors.Errorf("%v: a %dx%d input convolves to %dx%d, but the tensor to project is %dx%d",
			op, op.OutH, op.OutW, g.OH, g.OW, ys[2], ys[3])
	}
	return g, nil
}

func (op *convTransposeOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	ys, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	ws, err := shapeOf(in[1])
	if err != nil {
		return nil, err
	}
	g, err := op.geom(ys, ws)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{g.N, g.C, g.H, g.W}, nil
}

func (op *convTransposeOp) Do(vs ...G.Value) (G.Value, error) {
	if err := checkArity(op, len(vs)); err != nil {
		return nil, err
	}
	y, err := dense(op.String(), "input", vs[0], 4)
	if err != nil {
		return nil, err
	}
	w, err := dense(op.String(), "weights", vs[1], 4)
	if err != nil {
		return nil, err
	}
	if err := sameDtype(op.String(), y, w); err != nil {
		return nil, err
	}
	g, err := op.geom(y.Shape(), w.Shape())
	if err != nil {
		return nil, err
	}
	x := op.get(y.Dtype(), g.N, g.C, g.H, g.W)
	if y.Dtype() == tensor.Float32 {
		convBackwardInput(g, sliceOf[float32](y), sliceOf[float32](w), sliceOf[float32](x))
	} else {
		convBackwardInput(g, sliceOf[float64](y), sliceOf[float64](w), sliceOf[float64](x))
	}
	return x, nil
}

func (op *convTransposeOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff: the transpose of a transposed convolution is the convolution, and
// its weight gradient is the forward convolution's with the roles of input
// and output gradient swapped.
func (op *convTransposeOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	y, w := in[0], in[1]
	dy, err := apply(&convOp{Stride: op.Stride, Pad: op.Pad, Groups: op.Groups}, grad, w)
	if err != nil {
		return nil, err
	}
	ws := w.Shape()
	dw, err := apply(&convWeightGradOp{Stride: op.Stride, Pad: op.Pad, KH: ws[2], KW: ws[3], Groups: op.Groups}, grad, y)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dy, dw}, nil
}

// convWeightGradOp computes a convolution's weight gradient from its input
// x (N, C, H, W) and output gradient dy (N, O, OH, OW). It is a gradient
// only: second derivatives are not needed and it is not differentiable.
type convWeightGradOp struct {
	opBase
	outBuf
	Stride, Pad, KH, KW int
	Groups              int // 0 means 1 (see convOp)
}

func (op *convWeightGradOp) Arity() int         { return 2 }
func (op *convWeightGradOp) Type() hm.Type      { return fnType(4, 4, 4) }
func (op *convWeightGradOp) WriteHash(h hasher) { writeHash(h, op) }
func (op *convWeightGradOp) Hashcode() uint32   { return hashcode(op) }
func (op *convWeightGradOp) String() string {
	return fmt.Sprintf("Conv2dWeightGrad{stride=%d, pad=%d, kernel=%dx%d%s}", op.Stride, op.Pad, op.KH, op.KW, groupsSuffix(op.Groups))
}

func (op *convWeightGradOp) geom(xs, dys tensor.Shape) (convGeom, error) {
	if len(xs) != 4 || len(dys) != 4 {
		return convGeom{}, errors.Errorf("%v: input %v and gradient %v must both be 4-D", op, xs, dys)
	}
	g, err := newGroupedConvGeom(xs[0], xs[1], xs[2], xs[3], dys[1], op.KH, op.KW, op.Stride, op.Pad, groupsOf(op.Groups))
	if err != nil {
		return g, errors.Wrapf(err, "%v", op)
	}
	if dys[0] != g.N || dys[2] != g.OH || dys[3] != g.OW {
		return g, errors.Errorf("%v: gradient %v does not match input %v", op, dys, xs)
	}
	return g, nil
}

func (op *convWeightGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	xs, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	dys, err := shapeOf(in[1])
	if err != nil {
		return nil, err
	}
	g, err := op.geom(xs, dys)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{g.O, g.cg, g.KH, g.KW}, nil
}

func (op *convWeightGradOp) Do(vs ...G.Value) (G.Value, error) {
	if err := checkArity(op, len(vs)); err != nil {
		return nil, err
	}
	x, err := dense(op.String(), "input", vs[0], 4)
	if err != nil {
		return nil, err
	}
	dy, err := dense(op.String(), "gradient", vs[1], 4)
	if err != nil {
		return nil, err
	}
	if err := sameDtype(op.String(), x, dy); err != nil {
		return nil, err
	}
	g, err := op.geom(x.Shape(), dy.Shape())
	if err != nil {
		return nil, err
	}
	dw := op.get(x.Dtype(), g.O, g.cg, g.KH, g.KW)
	if x.Dtype() == tensor.Float32 {
		convBackwardWeight(g, sliceOf[float32](x), sliceOf[float32](dy), sliceOf[float32](dw))
	} else {
		convBackwardWeight(g, sliceOf[float64](x), sliceOf[float64](dy), sliceOf[float64](dw))
	}
	return dw, nil
}

func (op *convWeightGradOp) DiffWRT(int) []bool { return []bool{false, false} }
func (op *convWeightGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v: second derivatives are not implemented", op)
}

// biasGradOp sums a gradient (N, O, ...) over every axis but the second:
// the gradient of a per-map or per-unit bias.
type biasGradOp struct {
	opBase
	outBuf
	Rank int
}

func (op *biasGradOp) Arity() int         { return 1 }
func (op *biasGradOp) Type() hm.Type      { return fnType(1, op.Rank) }
func (op *biasGradOp) WriteHash(h hasher) { writeHash(h, op) }
func (op *biasGradOp) Hashcode() uint32   { return hashcode(op) }
func (op *biasGradOp) String() string     { return fmt.Sprintf("BiasGrad{rank=%d}", op.Rank) }

func (op *biasGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	s, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	if len(s) < 2 {
		return nil, errors.Errorf("%v: gradient %v must have at least 2 dimensions", op, s)
	}
	return tensor.Shape{s[1]}, nil
}

func (op *biasGradOp) Do(vs ...G.Value) (G.Value, error) {
	if err := checkArity(op, len(vs)); err != nil {
		return nil, err
	}
	dy, err := dense(op.String(), "gradient", vs[0], 0)
	if err != nil {
		return nil, err
	}
	s := dy.Shape()
	if len(s) < 2 {
		return nil, errors.Errorf("%v: gradient %v must have at least 2 dimensions", op, s)
	}
	l := s.TotalSize() / (s[0] * s[1])
	db := op.get(dy.Dtype(), s[1])
	if dy.Dtype() == tensor.Float32 {
		biasGrad(s[0], s[1], l, sliceOf[float32](dy), sliceOf[float32](db))
	} else {
		biasGrad(s[0], s[1], l, sliceOf[float64](dy), sliceOf[float64](db))
	}
	return db, nil
}

func (op *biasGradOp) DiffWRT(int) []bool { return []bool{false} }
func (op *biasGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v: second derivatives are not implemented", op)
}
