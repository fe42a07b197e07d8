package graph

import (
	"fmt"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Mask passes x where a recorded activation is positive and zeroes it
// elsewhere: the ReLU of a forward pass applied to a backward signal. It is
// how gradient saliency and guided backpropagation treat a ReLU; the
// deconvnet instead rectifies the signal itself.
func Mask(x *G.Node, a *Activation) (*G.Node, error) {
	return apply(&maskOp{Rank: x.Dims(), Act: a, ID: nextID()}, x)
}

// maskOp is x * (m > 0) with m either its second input (ReLU's backward,
// m = the ReLU's output) or a recorded Activation.
type maskOp struct {
	opBase
	outBuf
	Rank    int
	ByInput bool
	Act     *Activation
	ID      uint64
}

func (op *maskOp) Arity() int {
	if op.ByInput {
		return 2
	}
	return 1
}

func (op *maskOp) Type() hm.Type {
	if op.ByInput {
		return fnType(op.Rank, op.Rank, op.Rank)
	}
	return fnType(op.Rank, op.Rank)
}
func (op *maskOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return sameShape(op, in) }
func (op *maskOp) WriteHash(h hasher)                                { writeHash(h, op) }
func (op *maskOp) Hashcode() uint32                                  { return hashcode(op) }
func (op *maskOp) String() string {
	return fmt.Sprintf("Mask{rank=%d, byInput=%t, id=%d}", op.Rank, op.ByInput, op.ID)
}

func (op *maskOp) Do(vs ...G.Value) (G.Value, error) {
	ts, err := denseArgs(op, vs, 0)
	if err != nil {
		return nil, err
	}
	x, m := ts[0], (*tensor.Dense)(nil)
	if op.ByInput {
		m = ts[1]
	} else {
		if m = op.Act.Value(); m == nil {
			return nil, errors.Errorf("%v: the activation to mask with has not been recorded: run the forward pass first", op)
		}
		if !m.Shape().Eq(x.Shape()) || m.Dtype() != x.Dtype() {
			return nil, errors.Errorf("%v: recorded activation %v %v does not match input %v %v", op, m.Shape(), m.Dtype(), x.Shape(), x.Dtype())
		}
	}
	y := op.get(x.Dtype(), x.Shape()...)
	if x.Dtype() == tensor.Float32 {
		mask(sliceOf[float32](x), sliceOf[float32](m), sliceOf[float32](y))
	} else {
		mask(sliceOf[float64](x), sliceOf[float64](m), sliceOf[float64](y))
	}
	return y, nil
}

func mask[T float](x, m, y []T) {
	if x32, ok := any(x).([]float32); ok {
		m32, y32 := any(m).([]float32), any(y).([]float32)
		parallelRange(len(x), func(lo, hi int) { keepPositive32(m32[lo:hi], x32[lo:hi], y32[lo:hi]) })
		return
	}
	parallelRange(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if m[i] > 0 {
				y[i] = x[i]
			} else {
				y[i] = 0
			}
		}
	})
}

func (op *maskOp) DiffWRT(n int) []bool {
	if op.ByInput {
		return []bool{true, false}
	}
	return []bool{true}
}

// SymDiff: masking is linear in x with the same mask.
func (op *maskOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if op.ByInput {
		dx, err := apply(&maskOp{Rank: op.Rank, ByInput: true}, grad, in[1])
		return G.Nodes{dx, nil}, err
	}
	dx, err := apply(&maskOp{Rank: op.Rank, Act: op.Act, ID: nextID()}, grad)
	return G.Nodes{dx}, err
}
