package graph

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SoftmaxCrossEntropy is the mean over examples of -sum_k t_k log softmax(z)_k
// for logits z (N, K) and targets t (N, K), usually one-hot rows. A target
// row of all zeros marks padding (the short last batch of a fixed-size
// graph): it adds neither loss nor gradient, and the mean is over the other
// rows. The log-softmax is computed stably (max subtracted) in float64.
func SoftmaxCrossEntropy(logits, targets *G.Node) (*G.Node, error) {
	return apply(&softmaxCEOp{}, logits, targets)
}

type softmaxCEOp struct {
	opBase
	outBuf
	Grad bool // inputs (z, t, dLoss) -> dz
}

func (op *softmaxCEOp) Arity() int {
	if op.Grad {
		return 3
	}
	return 2
}

func (op *softmaxCEOp) Type() hm.Type {
	if op.Grad {
		return fnType(2, 2, 2, 0)
	}
	return fnType(0, 2, 2)
}
func (op *softmaxCEOp) WriteHash(h hasher) { writeHash(h, op) }
func (op *softmaxCEOp) Hashcode() uint32   { return hashcode(op) }
func (op *softmaxCEOp) String() string     { return fmt.Sprintf("SoftmaxCrossEntropy{grad=%t}", op.Grad) }

func (op *softmaxCEOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	z, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	t, err := shapeOf(in[1])
	if err != nil {
		return nil, err
	}
	if len(z) != 2 || !z.Eq(t) {
		return nil, errors.Errorf("%v: logits %v and targets %v must be equal 2-D shapes", op, z, t)
	}
	if op.Grad {
		return z.Clone(), nil
	}
	return tensor.ScalarShape(), nil
}

func (op *softmaxCEOp) Do(vs ...G.Value) (G.Value, error) {
	if err := checkArity(op, len(vs)); err != nil {
		return nil, err
	}
	ts, err := denseArgs(&softmaxCEOp{}, vs[:2], 2)
	if err != nil {
		return nil, errors.Wrapf(err, "%v", op)
	}
	z, t := ts[0], ts[1]
	if !op.Grad {
		var loss float64
		if z.Dtype() == tensor.Float32 {
			loss = softmaxCE(sliceOf[float32](z), sliceOf[float32](t), z.Shape()[1], nil, 0)
		} else {
			loss = softmaxCE(sliceOf[float64](z), sliceOf[float64](t), z.Shape()[1], nil, 0)
		}
		return scalarValue(z.Dtype(), loss), nil
	}
	g, err := scalarOf(vs[2])
	if err != nil {
		return nil, errors.Wrapf(err, "%v: loss gradient", op)
	}
	dz := op.get(z.Dtype(), z.Shape()...)
	if z.Dtype() == tensor.Float32 {
		softmaxCE(sliceOf[float32](z), sliceOf[float32](t), z.Shape()[1], sliceOf[float32](dz), g)
	} else {
		softmaxCE(sliceOf[float64](z), sliceOf[float64](t), z.Shape()[1], sliceOf[float64](dz), g)
	}
	return dz, nil
}

// softmaxCE returns the mean loss and, when dz is not nil, writes
// g * d(loss)/dz = g * (softmax(z) * sum(t) - t) / rows.
func softmaxCE[T float](z, t []T, k int, dz []T, g float64) float64 {
	n := len(z) / k
	rows := 0
	for i := 0; i < n; i++ {
		for _, v := range t[i*k : (i+1)*k] {
			if v != 0 {
				rows++
				break
			}
		}
	}
	if rows == 0 {
		clear(dz)
		return 0
	}
	var loss float64
	p := make([]float64, k)
	for i := 0; i < n; i++ {
		zi, ti := z[i*k:(i+1)*k], t[i*k:(i+1)*k]
		var tsum float64
		for _, v := range ti {
			tsum += float64(v)
		}
		if tsum == 0 {
			if dz != nil {
				clear(dz[i*k : (i+1)*k])
			}
			continue
		}
		m := math.Inf(-1)
		for _, v := range zi {
			m = math.Max(m, float64(v))
		}
		var s float64
		for j, v := range zi {
			p[j] = math.Exp(float64(v) - m)
			s += p[j]
		}
		ls := math.Log(s)
		for j, v := range ti {
			loss -= float64(v) * (float64(zi[j]) - m - ls)
		}
		if dz != nil {
			for j := range zi {
				dz[i*k+j] = T(g * (p[j]/s*tsum - float64(ti[j])) / float64(rows))
			}
		}
	}
	return loss / float64(rows)
}

func (op *softmaxCEOp) DiffWRT(int) []bool {
	if op.Grad {
		return []bool{false, false, false}
	}
	return []bool{true, false}
}

func (op *softmaxCEOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if op.Grad {
		return nil, errors.Errorf("%v: second derivatives are not implemented", op)
	}
	dz, err := apply(&softmaxCEOp{Grad: true}, in[0], in[1], grad)
	return G.Nodes{dz, nil}, err
}
