package graph

import (
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// sameShape is InferShape for ops whose output has their first input's shape
// and whose other inputs, if any, must have it too.
func sameShape(op G.Op, in []G.DimSizer) (tensor.Shape, error) {
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	s, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	for _, d := range in[1:] {
		o, err := shapeOf(d)
		if err != nil {
			return nil, err
		}
		if !o.Eq(s) {
			return nil, errors.Errorf("%v: inputs have shapes %v and %v, expected equal", op, s, o)
		}
	}
	return s.Clone(), nil
}

// denseArgs checks arity, converts every value and checks shapes and dtypes
// agree; the op's output is then allocated like the first.
func denseArgs(op G.Op, vs []G.Value, rank int) ([]*tensor.Dense, error) {
	if err := checkArity(op, len(vs)); err != nil {
		return nil, err
	}
	ts := make([]*tensor.Dense, len(vs))
	for i, v := range vs {
		t, err := dense(op.String(), "input", v, rank)
		if err != nil {
			return nil, err
		}
		if i > 0 && !t.Shape().Eq(ts[0].Shape()) {
			return nil, errors.Errorf("%v: inputs have shapes %v and %v, expected equal", op, ts[0].Shape(), t.Shape())
		}
		ts[i] = t
	}
	if err := sameDtype(op.String(), ts...); err != nil {
		return nil, err
	}
	return ts, nil
}

func like(t *tensor.Dense) *tensor.Dense { return newDense(t.Dtype(), t.Shape()...) }

func allTrue(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}

// weightedArgs reads the inputs of a weighted op, (x, w) or (x, w, b):
// ranks checked (0: any), dtypes equal; b is nil without a bias.
func weightedArgs(op G.Op, vs []G.Value, xRank, wRank int, bias bool) (x, w, b *tensor.Dense, err error) {
	if err = checkArity(op, len(vs)); err != nil {
		return
	}
	if x, err = dense(op.String(), "input", vs[0], xRank); err != nil {
		return
	}
	if w, err = dense(op.String(), "weights", vs[1], wRank); err != nil {
		return
	}
	ts := []*tensor.Dense{x, w}
	if bias {
		if b, err = dense(op.String(), "bias", vs[2], 1); err != nil {
			return
		}
		ts = append(ts, b)
	}
	err = sameDtype(op.String(), ts...)
	return
}
