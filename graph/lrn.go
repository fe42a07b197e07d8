package graph

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LRNParams configure cross-map local response normalization,
//
//	b_c = a_c / (K + Alpha/Size * sum_{c' in window(c)} a_c'^2)^Beta,
//
// with window(c) = [c - Size/2, c + (Size-1)/2] clipped to the existing maps.
// This is torch.nn.LocalResponseNorm(Size, Alpha, Beta, K) exactly: Alpha is
// divided by Size. TensorFlow's tf.nn.local_response_normalization does not
// divide: its (depth_radius r, alpha_tf, beta, bias) equal Size = 2r+1,
// Alpha = alpha_tf*Size, K = bias here.
type LRNParams struct {
	Size           int
	Alpha, Beta, K float64
}

// DefaultLRN is the paper's (and AlexNet's) normalization: n=5, alpha=1e-4,
// beta=0.75, k=2.
var DefaultLRN = LRNParams{Size: 5, Alpha: 1e-4, Beta: 0.75, K: 2}

func (p LRNParams) validate() error {
	if p.Size < 1 || p.K <= 0 || p.Alpha < 0 || p.Beta < 0 {
		return errors.Errorf("LRN: need Size >= 1, K > 0, Alpha >= 0, Beta >= 0; got %+v", p)
	}
	return nil
}

// LRN normalizes x (N, C, H, W) across its feature maps.
func LRN(x *G.Node, p LRNParams) (*G.Node, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	return apply(&lrnOp{P: p}, x)
}

type lrnOp struct {
	opBase
	P    LRNParams
	Grad bool // the gradient op: inputs (x, dy), output dx
}

func (op *lrnOp) Arity() int {
	if op.Grad {
		return 2
	}
	return 1
}

func (op *lrnOp) Type() hm.Type {
	if op.Grad {
		return fnType(4, 4, 4)
	}
	return fnType(4, 4)
}
func (op *lrnOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return sameShape(op, in) }
func (op *lrnOp) WriteHash(h hasher)                                { writeHash(h, op) }
func (op *lrnOp) Hashcode() uint32                                  { return hashcode(op) }
func (op *lrnOp) String() string {
	return fmt.Sprintf("LRN{size=%d, alpha=%g, beta=%g, k=%g, grad=%t}", op.P.Size, op.P.Alpha, op.P.Beta, op.P.K, op.Grad)
}

func (op *lrnOp) Do(vs ...G.Value) (G.Value, error) {
	ts, err := denseArgs(op, vs, 4)
	if err != nil {
		return nil, err
	}
	s := ts[0].Shape()
	out := like(ts[0])
	if out.Dtype() == tensor.Float32 {
		lrnRun(op, s, ts, sliceOf[float32](out))
	} else {
		lrnRun(op, s, ts, sliceOf[float64](out))
	}
	return out, nil
}

func lrnRun[T float](op *lrnOp, s tensor.Shape, ts []*tensor.Dense, out []T) {
	n, c, l := s[0], s[1], s[2]*s[3]
	x := sliceOf[T](ts[0])
	parallelFor(n, func(_, i int) {
		xi, oi := x[i*c*l:(i+1)*c*l], out[i*c*l:(i+1)*c*l]
		if op.Grad {
			lrnBackward(op.P, c, l, xi, sliceOf[T](ts[1])[i*c*l:(i+1)*c*l], oi)
		} else {
			lrnForward(op.P, c, l, xi, oi)
		}
	})
}

// lrnScale computes scale_c = K + Alpha/Size * sum of squares over window(c)
// for every map of one image (c maps of l positions), in float64.
func lrnScale[T float](p LRNParams, c, l int, x []T) []float64 {
	sq := make([]float64, c*l)
	for i, v := range x {
		sq[i] = float64(v) * float64(v)
	}
	scale := make([]float64, c*l)
	lo, hi := p.Size/2, (p.Size-1)/2
	a := p.Alpha / float64(p.Size)
	for ch := 0; ch < c; ch++ {
		dst := scale[ch*l : (ch+1)*l]
		for k := max(0, ch-lo); k <= min(c-1, ch+hi); k++ {
			src := sq[k*l : (k+1)*l]
			for j, v := range src {
				dst[j] += v
			}
		}
		for j := range dst {
			dst[j] = p.K + a*dst[j]
		}
	}
	return scale
}

// powNeg is s^-beta, with a fast path for the paper's beta = 0.75.
func powNeg(s, beta float64) float64 {
	if beta == 0.75 {
		r := math.Sqrt(s)
		return 1 / (r * math.Sqrt(r))
	}
	return math.Pow(s, -beta)
}

func lrnForward[T float](p LRNParams, c, l int, x, y []T) {
	scale := lrnScale(p, c, l, x)
	for i, v := range x {
		y[i] = T(float64(v) * powNeg(scale[i], p.Beta))
	}
}

// lrnBackward: with y_c = x_c scale_c^-beta,
//
//	dx_j = dy_j scale_j^-beta - 2 beta Alpha/Size x_j sum_{c : j in window(c)} dy_c y_c / scale_c,
//
// and j in window(c) exactly when c in [j - (Size-1)/2, j + Size/2].
func lrnBackward[T float](p LRNParams, c, l int, x, dy, dx []T) {
	scale := lrnScale(p, c, l, x)
	t := make([]float64, c*l) // dy_c * y_c / scale_c
	for i, v := range x {
		pw := powNeg(scale[i], p.Beta)
		t[i] = float64(dy[i]) * float64(v) * pw / scale[i]
		dx[i] = T(float64(dy[i]) * pw)
	}
	lo, hi := (p.Size-1)/2, p.Size/2
	f := 2 * p.Beta * p.Alpha / float64(p.Size)
	acc := make([]float64, l)
	for j := 0; j < c; j++ {
		clear(acc)
		for k := max(0, j-lo); k <= min(c-1, j+hi); k++ {
			for q, v := range t[k*l : (k+1)*l] {
				acc[q] += v
			}
		}
		xj, dxj := x[j*l:(j+1)*l], dx[j*l:(j+1)*l]
		for q := range acc {
			dxj[q] -= T(f * float64(xj[q]) * acc[q])
		}
	}
}

func (op *lrnOp) DiffWRT(n int) []bool {
	if op.Grad {
		return []bool{false, false}
	}
	return []bool{true}
}

func (op *lrnOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if op.Grad {
		return nil, errors.Errorf("%v: second derivatives are not implemented", op)
	}
	dx, err := apply(&lrnOp{P: op.P, Grad: true}, in[0], grad)
	return G.Nodes{dx}, err
}

// LRNBackward propagates a signal dy through an LRN layer linearized at the
// input a forward pass recorded (the LRN's input activation): the LRN's
// gradient. The deconvnet uses it when asked to go through normalization
// instead of skipping it.
func LRNBackward(dy *G.Node, input *Activation, p LRNParams) (*G.Node, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	return apply(&lrnRecordedOp{P: p, Act: input, ID: nextID()}, dy)
}

// lrnRecordedOp is lrnOp's gradient with x read from an Activation.
type lrnRecordedOp struct {
	opBase
	P   LRNParams
	Act *Activation
	ID  uint64
}

func (op *lrnRecordedOp) Arity() int                                        { return 1 }
func (op *lrnRecordedOp) Type() hm.Type                                     { return fnType(4, 4) }
func (op *lrnRecordedOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return sameShape(op, in) }
func (op *lrnRecordedOp) WriteHash(h hasher)                                { writeHash(h, op) }
func (op *lrnRecordedOp) Hashcode() uint32                                  { return hashcode(op) }
func (op *lrnRecordedOp) String() string {
	return fmt.Sprintf("LRNBackward{size=%d, alpha=%g, beta=%g, k=%g, id=%d}", op.P.Size, op.P.Alpha, op.P.Beta, op.P.K, op.ID)
}
func (op *lrnRecordedOp) DiffWRT(int) []bool { return []bool{false} }
func (op *lrnRecordedOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v: second derivatives are not implemented", op)
}

func (op *lrnRecordedOp) Do(vs ...G.Value) (G.Value, error) {
	ts, err := denseArgs(op, vs, 4)
	if err != nil {
		return nil, err
	}
	x := op.Act.Value()
	if x == nil || !x.Shape().Eq(ts[0].Shape()) || x.Dtype() != ts[0].Dtype() {
		return nil, errors.Errorf("%v: no recorded input matching %v: run the forward pass first", op, ts[0].Shape())
	}
	return (&lrnOp{P: op.P, Grad: true}).Do(x, ts[0])
}
