package graph

import (
	"fmt"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Conv2d convolves x (N, C, H, W) with w (O, C, KH, KW) at the given stride
// and zero padding and adds b (O) when b is not nil: PyTorch's conv2d, output
// size floor((H + 2*pad - KH)/stride) + 1.
func Conv2d(x, w, b *G.Node, stride, pad int) (*G.Node, error) {
	return conv2d(&convOp{Stride: stride, Pad: pad, Bias: b != nil}, x, w, b)
}

// Conv2dNoInputGrad is Conv2d for an x that is data, never differentiated
// (a network's input image): its gradient has no x part, so a training
// graph skips the first layer's transposed convolution, whose result
// nothing reads (about 3 GFLOP per ZFNet batch of 8).
func Conv2dNoInputGrad(x, w, b *G.Node, stride, pad int) (*G.Node, error) {
	return conv2d(&convOp{Stride: stride, Pad: pad, Bias: b != nil, NoInputGrad: true}, x, w, b)
}

// GroupedConv2d is Conv2d with the input and output maps split into groups
// (PyTorch's groups, Caffe's group: AlexNet's conv2, conv4 and conv5 have
// 2): w is (O, C/groups, KH, KW) and output maps [g*O/groups,
// (g+1)*O/groups) convolve only input maps [g*C/groups, (g+1)*C/groups).
// groups = 1 is Conv2d, to the bit. C and O must be divisible by groups.
func GroupedConv2d(x, w, b *G.Node, stride, pad, groups int) (*G.Node, error) {
	if groups < 1 {
		return nil, errors.Errorf("GroupedConv2d: groups must be >= 1, got %d", groups)
	}
	return conv2d(&convOp{Stride: stride, Pad: pad, Bias: b != nil, Groups: groups}, x, w, b)
}

// GroupedConv2dNoInputGrad is GroupedConv2d for an x that is data (see
// Conv2dNoInputGrad).
func GroupedConv2dNoInputGrad(x, w, b *G.Node, stride, pad, groups int) (*G.Node, error) {
	if groups < 1 {
		return nil, errors.Errorf("GroupedConv2dNoInputGrad: groups must be >= 1, got %d", groups)
	}
	return conv2d(&convOp{Stride: stride, Pad: pad, Bias: b != nil, NoInputGrad: true, Groups: groups}, x, w, b)
}

func conv2d(op *convOp, x, w, b *G.Node) (*G.Node, error) {
	if b == nil {
		return apply(op, x, w)
	}
	return apply(op, x, w, b)
}

type convOp struct {
	opBase
	outBuf
	Stride, Pad int
	Bias        bool
	NoInputGrad bool // x is data: no gradient with respect to it
	// Groups splits the maps into independent convolutions; 0 means 1, so
	// that every op literal written before groups existed means what it did.
	Groups int
}

// groupsOf is the number of groups an op's Groups field means, at least 1.
func groupsOf(g int) int { return max(g, 1) }

// groupsSuffix names the groups in an op's String, where there are several
// (one group prints as it did before groups existed).
func groupsSuffix(g int) string {
	if groupsOf(g) == 1 {
		return ""
	}
	return fmt.Sprintf(", groups=%d", g)
}

func (op *convOp) Arity() int {
	if op.Bias {
		return 3
	}
	return 2
}

func (op *convOp) Type() hm.Type {
	if op.Bias {
		return fnType(4, 4, 4, 1)
	}
	return fnType(4, 4, 4)
}

func (op *convOp) String() string {
	return fmt.Sprintf("Conv2d{stride=%d, pad=%d, bias=%t, inputGrad=%t%s}", op.Stride, op.Pad, op.Bias, !op.NoInputGrad, groupsSuffix(op.Groups))
}
func (op *convOp) WriteHash(h hasher) { writeHash(h, op) }
func (op *convOp) Hashcode() uint32   { return hashcode(op) }

func (op *convOp) geom(xs, ws tensor.Shape) (convGeom, error) {
	if len(xs) != 4 || len(ws) != 4 {
		return convGeom{}, errors.Errorf("%v: input %v and weights %v must both be 4-D", op, xs, ws)
	}
	gr := groupsOf(op.Groups)
	if xs[1] != ws[1]*gr {
		return convGeom{}, errors.Errorf("%v: input has %d channels, weights %v expect %d", op, xs[1], ws, ws[1]*gr)
	}
	g, err := newGroupedConvGeom(xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], op.Stride, op.Pad, gr)
	return g, errors.Wrapf(err, "%v: input %v weights %v", op, xs, ws)
}

func (op *convOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
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
	g, err := op.geom(xs, ws)
	if err != nil {
		return nil, err
	}
	if op.Bias {
		bs, err := shapeOf(in[2])
		if err != nil {
			return nil, err
		}
		if bs.TotalSize() != g.O {
			return nil, errors.Errorf("%v: bias has shape %v, expected (%d)", op, bs, g.O)
		}
	}
	return tensor.Shape{g.N, g.O, g.OH, g.OW}, nil
}

func (op *convOp) Do(vs ...G.Value) (G.Value, error) {
	x, w, b, err := weightedArgs(op, vs, 4, 4, op.Bias)
	if err != nil {
		return nil, err
	}
	g, err := op.geom(x.Shape(), w.Shape())
	if err != nil {
		return nil, err
	}
	y := op.get(x.Dtype(), g.N, g.O, g.OH, g.OW)
	if x.Dtype() == tensor.Float32 {
		convForward(g, sliceOf[float32](x), sliceOf[float32](w), optSlice[float32](b), sliceOf[float32](y))
	} else {
		convForward(g, sliceOf[float64](x), sliceOf[float64](w), optSlice[float64](b), sliceOf[float64](y))
	}
	return y, nil
}

func optSlice[T float](t *tensor.Dense) []T {
	if t == nil {
		return nil
	}
	return sliceOf[T](t)
}

func (op *convOp) DiffWRT(n int) []bool {
	d := allTrue(n)
	d[0] = !op.NoInputGrad
	return d
}

func (op *convOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	xs := x.Shape()
	var dx *G.Node
	if !op.NoInputGrad {
		var err error
		if dx, err = apply(&convTransposeOp{Stride: op.Stride, Pad: op.Pad, OutH: xs[2], OutW: xs[3], Groups: op.Groups}, grad, w); err != nil {
			return nil, err
		}
	}
	ws := w.Shape()
	dw, err := apply(&convWeightGradOp{Stride: op.Stride, Pad: op.Pad, KH: ws[2], KW: ws[3], Groups: op.Groups}, x, grad)
	if err != nil {
		return nil, err
	}
	if !op.Bias {
		return G.Nodes{dx, dw}, nil
	}
	db, err := apply(&biasGradOp{Rank: 4}, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw, db}, nil
}
