package graph

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ReLU is max(x, 0) in one pass (Gorgonia's Rectify takes two plus a mask).
func ReLU(x *G.Node) (*G.Node, error) { return apply(&reluOp{Rank: x.Dims()}, x) }

// Activation keeps a copy of a tensor a forward pass computed, so that a
// later pass (the deconvnet's guided and saliency modes, top-9 search) can
// read it after the machine has reused the node's memory.
type Activation struct {
	// Enabled turns recording on; off, the op costs nothing extra.
	Enabled bool
	value   *tensor.Dense
}

// Value is the latest recorded tensor, or nil before the first recorded run.
func (a *Activation) Value() *tensor.Dense { return a.value }

func (a *Activation) record(t *tensor.Dense) {
	if a == nil || !a.Enabled {
		return
	}
	if a.value == nil || !a.value.Shape().Eq(t.Shape()) || a.value.Dtype() != t.Dtype() {
		a.value = like(t)
	}
	switch d := t.Data().(type) {
	case []float32:
		copy(a.value.Data().([]float32), d)
	case []float64:
		copy(a.value.Data().([]float64), d)
	}
}

// RecordedReLU is ReLU that copies its output into the returned Activation
// whenever that is Enabled (it starts enabled).
func RecordedReLU(x *G.Node) (*G.Node, *Activation, error) {
	a := &Activation{Enabled: true}
	n, err := apply(&reluOp{Rank: x.Dims(), Rec: a, ID: nextID()}, x)
	return n, a, err
}

type reluOp struct {
	opBase
	outBuf
	Rank int
	Rec  *Activation
	ID   uint64 // distinct for recorded ops, so they are never merged
}

func (op *reluOp) Arity() int                                        { return 1 }
func (op *reluOp) Type() hm.Type                                     { return fnType(op.Rank, op.Rank) }
func (op *reluOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return sameShape(op, in) }
func (op *reluOp) WriteHash(h hasher)                                { writeHash(h, op) }
func (op *reluOp) Hashcode() uint32                                  { return hashcode(op) }
func (op *reluOp) String() string                                    { return fmt.Sprintf("ReLU{rank=%d, id=%d}", op.Rank, op.ID) }

func (op *reluOp) Do(vs ...G.Value) (G.Value, error) {
	ts, err := denseArgs(op, vs, 0)
	if err != nil {
		return nil, err
	}
	y := op.get(ts[0].Dtype(), ts[0].Shape()...)
	if y.Dtype() == tensor.Float32 {
		relu(sliceOf[float32](ts[0]), sliceOf[float32](y))
	} else {
		relu(sliceOf[float64](ts[0]), sliceOf[float64](y))
	}
	op.Rec.record(y)
	return y, nil
}

func relu[T float](x, y []T) {
	if x32, ok := any(x).([]float32); ok {
		y32 := any(y).([]float32)
		parallelRange(len(x), func(lo, hi int) { keepPositive32(x32[lo:hi], x32[lo:hi], y32[lo:hi]) })
		return
	}
	parallelRange(len(x), func(lo, hi int) {
		for i, v := range x[lo:hi] {
			if v > 0 {
				y[lo+i] = v
			} else {
				y[lo+i] = 0
			}
		}
	})
}

// keepPositiveGo32 sets y[i] = x[i] where m[i] > 0 and 0 elsewhere (NaN in m
// counts as not positive): ReLU with m = x, its gradient with m = the
// output. Mapping NaN to 0 is deliberate (PyTorch's relu passes NaN on):
// the select stays branch-free, and NaN is kept from reaching ReLU instead
// of reported after it: inputs, pixels and means are checked where they
// enter (data/finite.go), weights by zfnet.CheckFiniteWeights, logits by
// the Predictor. It selects on the bits, without a branch: after a convolution
// about half the signs are random, and a branch on them mispredicts half
// the time, which made these passes 10x slower than memory.
func keepPositiveGo32(m, x, y []float32) {
	x, y = x[:len(m)], y[:len(m)]
	for i, v := range m {
		// m > 0 exactly when its bits, as an integer, lie in
		// [1, 0x7f800000] (+inf included, NaNs and negatives excluded).
		// With t = bits-1, that is 0 <= t < 0x7f800000: t's sign bit
		// clear and t-0x7f800000's set.
		t := int64(math.Float32bits(v)) - 1
		keep := uint32(((t - 0x7f800000) &^ t) >> 63)
		y[i] = math.Float32frombits(math.Float32bits(x[i]) & keep)
	}
}

func (op *reluOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff: the gradient passes where the output is positive.
func (op *reluOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := apply(&maskOp{Rank: op.Rank, ByInput: true}, grad, out)
	return G.Nodes{dx}, err
}
