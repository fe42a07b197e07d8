package graph

import (
	"fmt"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Unpool places every value of y (N, C, OH, OW) at the switch its window
// recorded, in a zero tensor of the pooled input's shape (N, C, H, W);
// where overlapping windows share a switch their values add up. It is the
// deconvnet's unpooling and max pooling's gradient. sw is read when the
// machine runs, so the forward pass that fills it must run first.
func Unpool(y *G.Node, sw *Switches, h, w int) (*G.Node, error) {
	if sw == nil {
		return nil, errors.New("Unpool: nil switches")
	}
	return apply(&unpoolOp{Sw: sw, H: h, W: w, ID: nextID()}, y)
}

type unpoolOp struct {
	opBase
	outBuf
	Sw     *Switches
	H, W   int // unpooled size
	OH, OW int // pooled size, for the gather
	ID     uint64
	Gather bool // the adjoint: out[i] = y[switch(i)], (N,C,H,W) -> (N,C,OH,OW)
}

func (op *unpoolOp) Arity() int         { return 1 }
func (op *unpoolOp) Type() hm.Type      { return fnType(4, 4) }
func (op *unpoolOp) WriteHash(h hasher) { writeHash(h, op) }
func (op *unpoolOp) Hashcode() uint32   { return hashcode(op) }
func (op *unpoolOp) String() string {
	return fmt.Sprintf("Unpool{%dx%d <- %dx%d, gather=%t, switches=%d}", op.H, op.W, op.OH, op.OW, op.Gather, op.ID)
}

func (op *unpoolOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	s, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	if len(s) != 4 {
		return nil, errors.Errorf("%v: input %v must be 4-D", op, s)
	}
	if op.Gather {
		return tensor.Shape{s[0], s[1], op.OH, op.OW}, nil
	}
	return tensor.Shape{s[0], s[1], op.H, op.W}, nil
}

func (op *unpoolOp) Do(vs ...G.Value) (G.Value, error) {
	ts, err := denseArgs(op, vs, 4)
	if err != nil {
		return nil, err
	}
	y, sw := ts[0], op.Sw
	if !sw.Recorded() {
		return nil, errors.Errorf("%v: no switches recorded: run the forward pass that pools first", op)
	}
	want, give := tensor.Shape{sw.N, sw.C, sw.OH, sw.OW}, tensor.Shape{sw.N, sw.C, sw.H, sw.W}
	if op.Gather {
		want, give = give, want
	}
	if !y.Shape().Eq(want) || sw.H != op.H || sw.W != op.W || (op.Gather && (sw.OH != op.OH || sw.OW != op.OW)) {
		return nil, errors.Errorf("%v: input %v does not match the recorded pooling %v -> %v", op, y.Shape(), tensor.Shape{sw.N, sw.C, sw.H, sw.W}, tensor.Shape{sw.N, sw.C, sw.OH, sw.OW})
	}
	out := op.get(y.Dtype(), give...)
	if y.Dtype() == tensor.Float32 {
		scatterGather(op.Gather, sw, sliceOf[float32](y), sliceOf[float32](out))
	} else {
		scatterGather(op.Gather, sw, sliceOf[float64](y), sliceOf[float64](out))
	}
	return out, nil
}

func scatterGather[T float](gather bool, sw *Switches, src, dst []T) {
	in, out := sw.H*sw.W, sw.OH*sw.OW
	parallelFor(sw.N*sw.C, func(_, p int) {
		idx := sw.Index[p*out : (p+1)*out]
		if gather {
			s, d := src[p*in:(p+1)*in], dst[p*out:(p+1)*out]
			for i, j := range idx {
				d[i] = s[j]
			}
			return
		}
		s, d := src[p*out:(p+1)*out], dst[p*in:(p+1)*in]
		clear(d) // the output buffer is reused from the last run
		for i, j := range idx {
			d[j] += s[i]
		}
	})
}

func (op *unpoolOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff: scatter-add and gather by the same switches are adjoint.
func (op *unpoolOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if op.Gather {
		return nil, errors.Errorf("%v: second derivatives are not implemented", op)
	}
	s := in[0].Shape()
	dx, err := apply(&unpoolOp{Sw: op.Sw, H: op.H, W: op.W, OH: s[2], OW: s[3], ID: op.ID, Gather: true}, grad)
	return G.Nodes{dx}, err
}
