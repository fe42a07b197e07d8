package graph

import (
	"fmt"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Record passes x through unchanged and copies it into the returned
// Activation whenever that is Enabled (it starts enabled). The deconvnet
// linearizes an LRN at its input when it projects through normalization;
// RecordedReLU keeps that input when the LRN follows a ReLU, Record keeps it
// when the LRN follows something else (pooling, in the paper's Fig. 3 order
// of rectify, pool, normalize).
func Record(x *G.Node) (*G.Node, *Activation, error) {
	a := &Activation{Enabled: true}
	n, err := apply(&recordOp{Rank: x.Dims(), Rec: a, ID: nextID()}, x)
	return n, a, err
}

// recordOp copies its input: returning the input's own tensor would let
// the tape machine reuse that memory under the recorded node.
type recordOp struct {
	opBase
	outBuf
	Rank int
	Rec  *Activation
	ID   uint64 // distinct, so that two recorders are never merged
}

func (op *recordOp) Arity() int                                        { return 1 }
func (op *recordOp) Type() hm.Type                                     { return fnType(op.Rank, op.Rank) }
func (op *recordOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return sameShape(op, in) }
func (op *recordOp) WriteHash(h hasher)                                { writeHash(h, op) }
func (op *recordOp) Hashcode() uint32                                  { return hashcode(op) }
func (op *recordOp) String() string                                    { return fmt.Sprintf("Record{rank=%d, id=%d}", op.Rank, op.ID) }

func (op *recordOp) Do(vs ...G.Value) (G.Value, error) {
	ts, err := denseArgs(op, vs, 0)
	if err != nil {
		return nil, err
	}
	y := op.get(ts[0].Dtype(), ts[0].Shape()...)
	if y.Dtype() == tensor.Float32 {
		copy(sliceOf[float32](y), sliceOf[float32](ts[0]))
	} else {
		copy(sliceOf[float64](y), sliceOf[float64](ts[0]))
	}
	op.Rec.record(y)
	return y, nil
}

func (op *recordOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff: the identity's gradient is the incoming gradient.
func (op *recordOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{grad}, nil
}
