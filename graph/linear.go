package graph

import (
	"fmt"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Linear computes x W^T + b with w in PyTorch's (out, in) layout, so weights
// load from a state_dict unchanged. x may have any rank >= 2: everything but
// the first axis is flattened (N, C, H, W) -> (N, C*H*W), as torch.flatten
// does before AlexNet's classifier. b may be nil.
func Linear(x, w, b *G.Node) (*G.Node, error) {
	op := &linearOp{InRank: x.Dims(), Bias: b != nil}
	if b == nil {
		return apply(op, x, w)
	}
	return apply(op, x, w, b)
}

type linearOp struct {
	opBase
	outBuf
	InRank int
	Bias   bool
}

func (op *linearOp) Arity() int {
	if op.Bias {
		return 3
	}
	return 2
}

func (op *linearOp) Type() hm.Type {
	if op.Bias {
		return fnType(2, op.InRank, 2, 1)
	}
	return fnType(2, op.InRank, 2)
}
func (op *linearOp) WriteHash(h hasher) { writeHash(h, op) }
func (op *linearOp) Hashcode() uint32   { return hashcode(op) }
func (op *linearOp) String() string {
	return fmt.Sprintf("Linear{inRank=%d, bias=%t}", op.InRank, op.Bias)
}

// dims returns batch, in and out sizes after checking the shapes agree.
func (op *linearOp) dims(xs, ws tensor.Shape) (n, in, out int, err error) {
	if len(xs) < 2 || len(ws) != 2 {
		return 0, 0, 0, errors.Errorf("%v: input %v must have >= 2 dimensions and weights %v exactly 2", op, xs, ws)
	}
	n, in = xs[0], xs.TotalSize()/xs[0]
	if ws[1] != in {
		return 0, 0, 0, errors.Errorf("%v: input %v has %d features per example, weights %v expect %d", op, xs, in, ws, ws[1])
	}
	return n, in, ws[0], nil
}

func (op *linearOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	xs, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	ws, err := shapeOf(in[1])
	if err != nil {
		return nil, err
	}
	n, _, out, err := op.dims(xs, ws)
	if err != nil {
		return nil, err
	}
	if op.Bias {
		bs, err := shapeOf(in[2])
		if err != nil {
			return nil, err
		}
		if bs.TotalSize() != out {
			return nil, errors.Errorf("%v: bias has shape %v, expected (%d)", op, bs, out)
		}
	}
	return tensor.Shape{n, out}, nil
}

func (op *linearOp) Do(vs ...G.Value) (G.Value, error) {
	x, w, b, err := weightedArgs(op, vs, 0, 2, op.Bias)
	if err != nil {
		return nil, err
	}
	n, in, out, err := op.dims(x.Shape(), w.Shape())
	if err != nil {
		return nil, err
	}
	y := op.get(x.Dtype(), n, out)
	if x.Dtype() == tensor.Float32 {
		linearForward(n, in, out, sliceOf[float32](x), sliceOf[float32](w), optSlice[float32](b), sliceOf[float32](y))
	} else {
		linearForward(n, in, out, sliceOf[float64](x), sliceOf[float64](w), optSlice[float64](b), sliceOf[float64](y))
	}
	return y, nil
}

func linearForward[T float](n, in, out int, x, w, b, y []T) {
	if !linearForwardSmall(n, in, out, x, w, y) {
		gemm(false, true, n, out, in, 1, x, in, w, in, 0, y, out)
	}
	if b == nil {
		return
	}
	for i := 0; i < n; i++ {
		row := y[i*out : (i+1)*out]
		for j := range row {
			row[j] += b[j]
		}
	}
}

func (op *linearOp) DiffWRT(n int) []bool { return allTrue(n) }

func (op *linearOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	dx, err := apply(&linearGradOp{Input: true, Shape: x.Shape().Clone()}, grad, w)
	if err != nil {
		return nil, err
	}
	dw, err := apply(&linearGradOp{Shape: w.Shape().Clone(), XRank: x.Dims()}, grad, x)
	if err != nil {
		return nil, err
	}
	if !op.Bias {
		return G.Nodes{dx, dw}, nil
	}
	db, err := apply(&biasGradOp{Rank: 2}, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw, db}, nil
}

// linearGradOp is Linear's gradient with respect to its input
// (dy W, reshaped to the input's shape) or to its weights (dy^T x).
// Its inputs are dy and then w or x. Not differentiable itself.
type linearGradOp struct {
	opBase
	outBuf
	Input bool
	Shape tensor.Shape // of the result
	XRank int          // rank of x, for the weight gradient
}

func (op *linearGradOp) Arity() int { return 2 }
func (op *linearGradOp) Type() hm.Type {
	if op.Input {
		return fnType(len(op.Shape), 2, 2)
	}
	return fnType(2, 2, op.XRank)
}
func (op *linearGradOp) WriteHash(h hasher) { writeHash(h, op) }
func (op *linearGradOp) Hashcode() uint32   { return hashcode(op) }
func (op *linearGradOp) String() string {
	return fmt.Sprintf("LinearGrad{input=%t, shape=%v, xrank=%d}", op.Input, op.Shape, op.XRank)
}

func (op *linearGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.Shape.Clone(), nil }

func (op *linearGradOp) Do(vs ...G.Value) (G.Value, error) {
	if err := checkArity(op, len(vs)); err != nil {
		return nil, err
	}
	dy, err := dense(op.String(), "gradient", vs[0], 2)
	if err != nil {
		return nil, err
	}
	other, err := dense(op.String(), "operand", vs[1], 0)
	if err != nil {
		return nil, err
	}
	if err := sameDtype(op.String(), dy, other); err != nil {
		return nil, err
	}
	n, out := dy.Shape()[0], dy.Shape()[1]
	res := op.get(dy.Dtype(), op.Shape...)
	in, rows := res.Shape().TotalSize()/n, out // dx is N x In; W is Out x In
	if !op.Input {
		in, rows = res.Shape().TotalSize()/out, n // dW is Out x In; x is N x In
	}
	if other.Shape().TotalSize() != rows*in {
		return nil, errors.Errorf("%v: operand %v does not match gradient %v", op, other.Shape(), dy.Shape())
	}
	if dy.Dtype() == tensor.Float32 {
		linearBackward(op.Input, n, in, out, sliceOf[float32](dy), sliceOf[float32](other), sliceOf[float32](res))
	} else {
		linearBackward(op.Input, n, in, out, sliceOf[float64](dy), sliceOf[float64](other), sliceOf[float64](res))
	}
	return res, nil
}

func linearBackward[T float](input bool, n, in, out int, dy, other, res []T) {
	if input { // dx (N x In) = dy (N x Out) W (Out x In)
		gemm(false, false, n, in, out, 1, dy, out, other, in, 0, res, in)
		return
	} // dW (Out x In) = dy^T (Out x N) x (N x In)
	gemm(true, false, out, in, n, 1, dy, out, other, in, 0, res, in)
}

func (op *linearGradOp) DiffWRT(int) []bool { return []bool{false, false} }
func (op *linearGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v: second derivatives are not implemented", op)
}

// LinearTranspose maps a signal dy (N, out) back through a Linear layer's
// weights w (out, in): dy W, reshaped to the layer's input shape. It is the
// Linear layer's input gradient and its deconvnet projection.
func LinearTranspose(dy, w *G.Node, inShape ...int) (*G.Node, error) {
	return apply(&linearGradOp{Input: true, Shape: tensor.Shape(inShape).Clone()}, dy, w)
}
