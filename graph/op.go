package graph

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// float is the element type every kernel of this package is written for.
type float interface{ ~float32 | ~float64 }

// opBase holds the methods every op of this package shares. An op's String
// must name every parameter: Gorgonia hash-conses nodes by the op's hash, and
// two ops that print alike are merged into one node.
type opBase struct{}

func (opBase) ReturnsPtr() bool     { return false }
func (opBase) CallsExtern() bool    { return false }
func (opBase) OverwritesInput() int { return -1 }

// hasher is what WriteHash receives.
type hasher = hash.Hash

func writeHash(h hasher, s fmt.Stringer) { fmt.Fprint(h, s.String()) }

func hashcode(s fmt.Stringer) uint32 {
	h := fnv.New32a()
	writeHash(h, s)
	return h.Sum32()
}

// opID numbers stateful ops (pooling switches, dropout masks, recorded
// activations) so that two of them never hash alike and get merged: each
// must keep its own state.
var opID atomic.Uint64

func nextID() uint64 { return opID.Add(1) }

// fnType is the Hindley-Milner type of an op taking tensors of the given
// ranks and returning one of rank out (0: a scalar).
func fnType(out int, in ...int) hm.Type {
	a := hm.TypeVariable('a')
	ts := make([]hm.Type, 0, len(in)+1)
	for _, d := range in {
		ts = append(ts, tensorType(d, a))
	}
	ts = append(ts, tensorType(out, a))
	return hm.NewFnType(ts...)
}

func tensorType(d int, a hm.TypeVariable) hm.Type {
	if d == 0 {
		return a
	}
	return G.TensorType{Dims: d, Of: a}
}

// shapeOf reads an input shape handed to InferShape.
func shapeOf(ds G.DimSizer) (tensor.Shape, error) {
	s, ok := ds.(tensor.Shape)
	if !ok {
		return nil, errors.Errorf("expected a tensor.Shape, got %T", ds)
	}
	return s, nil
}

// dense returns the *tensor.Dense behind v and checks its rank.
func dense(op string, arg string, v G.Value, rank int) (*tensor.Dense, error) {
	t, ok := v.(*tensor.Dense)
	if !ok {
		return nil, errors.Errorf("%s: %s: expected a *tensor.Dense, got %T", op, arg, v)
	}
	if rank > 0 && t.Dims() != rank {
		return nil, errors.Errorf("%s: %s: expected %d dimensions, got shape %v", op, arg, rank, t.Shape())
	}
	if t.Dtype() != tensor.Float32 && t.Dtype() != tensor.Float64 {
		return nil, errors.Errorf("%s: %s: expected float32 or float64, got %v", op, arg, t.Dtype())
	}
	return t, nil
}

// sameDtype checks that all tensors share the first one's dtype.
func sameDtype(op string, ts ...*tensor.Dense) error {
	for _, t := range ts[1:] {
		if t.Dtype() != ts[0].Dtype() {
			return errors.Errorf("%s: mixed dtypes %v and %v", op, ts[0].Dtype(), t.Dtype())
		}
	}
	return nil
}

// outBuf is an op's output tensor, kept from one run to the next: a
// training step otherwise allocates (and the kernel zeroes, and the GC
// reclaims) every activation and gradient afresh, about 1 GB per ZFNet step.
// Gorgonia gives each node its own op value, so a buffer belongs to one
// node; its previous contents are stale, and every kernel writing into one
// overwrites all of it. The tensor a run returned stays valid until the
// same graph runs again.
type outBuf struct{ t *tensor.Dense }

func (b *outBuf) lastOutput() *tensor.Dense { return b.t }

// LastOutput is the tensor n's op returned in the latest run of its graph,
// for ops of this package: the value itself, where gorgonia.Read copies it
// (the trainer reads 430 MB of ZFNet gradients this way every step). It is
// valid until the graph runs again.
func LastOutput(n *G.Node) (*tensor.Dense, bool) {
	if !KeepsOutput(n) {
		return nil, false
	}
	t := n.Op().(interface{ lastOutput() *tensor.Dense }).lastOutput()
	return t, t != nil
}

// KeepsOutput says whether n's op keeps its output for LastOutput.
func KeepsOutput(n *G.Node) bool {
	_, ok := n.Op().(interface{ lastOutput() *tensor.Dense })
	return ok
}

func (b *outBuf) get(dt tensor.Dtype, shape ...int) *tensor.Dense {
	if b.t == nil || b.t.Dtype() != dt || !b.t.Shape().Eq(tensor.Shape(shape)) {
		b.t = newDense(dt, shape...)
	}
	return b.t
}

// newDense allocates a zeroed tensor of the given dtype and shape.
func newDense(dt tensor.Dtype, shape ...int) *tensor.Dense {
	return tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
}

// sliceOf is the typed backing slice of t; the caller names the type through
// the generic parameter and has checked the dtype.
func sliceOf[T float](t *tensor.Dense) []T { return t.Data().([]T) }

// scalarValue wraps a loss into the scalar value type Gorgonia expects.
func scalarValue(dt tensor.Dtype, v float64) G.Value {
	if dt == tensor.Float32 {
		return G.NewF32(float32(v))
	}
	return G.NewF64(v)
}

// scalarOf reads a scalar value (Gorgonia scalars or 0-d/1-element tensors).
func scalarOf(v G.Value) (float64, error) {
	switch s := v.(type) {
	case *G.F32:
		return float64(*s), nil
	case *G.F64:
		return float64(*s), nil
	case *tensor.Dense:
		if s.Size() == 1 {
			switch d := s.Data().(type) {
			case []float32:
				return float64(d[0]), nil
			case []float64:
				return d[0], nil
			case float32:
				return float64(d), nil
			case float64:
				return d, nil
			}
		}
	}
	return 0, errors.Errorf("expected a scalar, got %T", v)
}

// apply builds a node and wraps the error with the op's name.
func apply(op G.Op, children ...*G.Node) (*G.Node, error) {
	n, err := G.ApplyOp(op, children...)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	return n, nil
}

func checkArity(op G.Op, n int) error {
	if n != op.Arity() {
		return errors.Errorf("%v: expected %d inputs, got %d", op, op.Arity(), n)
	}
	return nil
}
