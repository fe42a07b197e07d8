package graph

import (
	"fmt"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// DropoutState is a dropout op's randomness: the mask of forward pass number
// Step is a pure function of (Seed, Step), so saving Step in a checkpoint is
// all an exact resume needs.
type DropoutState struct {
	P    float64
	Seed uint64
	Step uint64 // forward passes so far
	keep []bool // the latest mask, read by the backward pass
}

// Dropout zeroes each element of x with probability p and scales the
// survivors by 1/(1-p) (inverted dropout; the inference graph simply leaves
// the op out). Gorgonia's built-in scales the gradient by 1/p, right only at
// p = 0.5, and seeds from the clock; this one is right for every p and
// reproducible.
func Dropout(x *G.Node, p float64, seed uint64) (*G.Node, *DropoutState, error) {
	if p < 0 || p >= 1 {
		return nil, nil, errors.Errorf("Dropout: probability must be in [0, 1), got %g", p)
	}
	st := &DropoutState{P: p, Seed: seed}
	n, err := apply(&dropoutOp{Rank: x.Dims(), St: st, ID: nextID()}, x)
	return n, st, err
}

type dropoutOp struct {
	opBase
	outBuf
	Rank int
	St   *DropoutState
	ID   uint64
	Grad bool // applies the latest mask to the gradient
}

func (op *dropoutOp) Arity() int                                        { return 1 }
func (op *dropoutOp) Type() hm.Type                                     { return fnType(op.Rank, op.Rank) }
func (op *dropoutOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return sameShape(op, in) }
func (op *dropoutOp) WriteHash(h hasher)                                { writeHash(h, op) }
func (op *dropoutOp) Hashcode() uint32                                  { return hashcode(op) }
func (op *dropoutOp) String() string {
	return fmt.Sprintf("Dropout{p=%g, grad=%t, id=%d}", op.St.P, op.Grad, op.ID)
}

// splitmix64 is a small, high-quality mixing function: the mask of element
// i at step t is decided by splitmix64(seed ^ mix(t) + i), independent of
// goroutine scheduling.
func splitmix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (st *DropoutState) draw(n int) {
	if len(st.keep) != n {
		st.keep = make([]bool, n)
	}
	base := splitmix64(st.Seed ^ splitmix64(st.Step))
	// Keep when a uniform 53-bit draw is >= p.
	thr := uint64(st.P * (1 << 53))
	parallelRange(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			st.keep[i] = splitmix64(base+uint64(i))>>11 >= thr
		}
	})
	st.Step++
}

func (op *dropoutOp) Do(vs ...G.Value) (G.Value, error) {
	ts, err := denseArgs(op, vs, 0)
	if err != nil {
		return nil, err
	}
	x, st := ts[0], op.St
	if op.Grad {
		if len(st.keep) != x.Shape().TotalSize() {
			return nil, errors.Errorf("%v: no mask of size %d recorded by a forward pass", op, x.Shape().TotalSize())
		}
	} else {
		st.draw(x.Shape().TotalSize())
	}
	y := op.get(x.Dtype(), x.Shape()...)
	scale := 1 / (1 - st.P)
	if x.Dtype() == tensor.Float32 {
		applyKeep(st.keep, scale, sliceOf[float32](x), sliceOf[float32](y))
	} else {
		applyKeep(st.keep, scale, sliceOf[float64](x), sliceOf[float64](y))
	}
	return y, nil
}

func applyKeep[T float](keep []bool, scale float64, x, y []T) {
	s := T(scale)
	for i, k := range keep {
		if k {
			y[i] = x[i] * s
		} else {
			y[i] = 0
		}
	}
}

func (op *dropoutOp) DiffWRT(int) []bool { return []bool{!op.Grad} }

// SymDiff: the same mask and the same 1/(1-p) scale.
func (op *dropoutOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if op.Grad {
		return nil, errors.Errorf("%v: second derivatives are not implemented", op)
	}
	dx, err := apply(&dropoutOp{Rank: op.Rank, St: op.St, ID: op.ID, Grad: true}, grad)
	return G.Nodes{dx}, err
}
