package graph

import (
	"fmt"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// AvgPool averages kernel x kernel windows of x (N, C, H, W) at the given
// stride over an implicitly zero-padded input: PyTorch's AvgPool2d
// (divisor_override unset). The output size is PoolOutputSizeMode's (ceil
// as ceil_mode). A window's divisor is, with countIncludePad, its size
// clipped to the padded input (kernel^2 except for the windows ceil mode
// adds, which may run past the right padding), and otherwise the number of
// input cells it covers. Pooling 13x13 by 3x3/2 with ceil and
// count_include_pad=False is Caffe's AVE pooling of an unpadded input.
func AvgPool(x *G.Node, kernel, stride, pad int, ceil, countIncludePad bool) (*G.Node, error) {
	op := &avgPoolOp{K: kernel, S: stride, P: pad, Ceil: ceil, IncludePad: countIncludePad}
	if err := op.validate(); err != nil {
		return nil, err
	}
	return apply(op, x)
}

// AvgPoolTranspose spreads y (N, C, OH, OW) back over the windows of an
// AvgPool of an (inH, inW) input with the same parameters: every input cell
// receives the sum of y/divisor over the windows covering it. It is
// AvgPool's gradient with respect to its input applied to y, the deconvnet's
// step back through an average pooling. (OH, OW) must be what the pooling
// makes of (inH, inW).
func AvgPoolTranspose(y *G.Node, kernel, stride, pad int, ceil, countIncludePad bool, inH, inW int) (*G.Node, error) {
	op := &avgPoolOp{K: kernel, S: stride, P: pad, Ceil: ceil, IncludePad: countIncludePad, Transpose: true, InH: inH, InW: inW}
	if err := op.validate(); err != nil {
		return nil, err
	}
	return apply(op, y)
}

// AdaptiveAvgPool averages x (N, C, H, W) down to (N, C, outH, outW):
// PyTorch's AdaptiveAvgPool2d, output row i averaging input rows
// [floor(i*H/outH), ceil((i+1)*H/outH)) (columns alike). An output as large
// as the input copies it; torchvision's AlexNet pools 13x13 (or 6x6) to 6x6
// this way before its classifier.
func AdaptiveAvgPool(x *G.Node, outH, outW int) (*G.Node, error) {
	op := &avgPoolOp{Adaptive: true, OutH: outH, OutW: outW}
	if err := op.validate(); err != nil {
		return nil, err
	}
	return apply(op, x)
}

// AdaptiveAvgPoolTranspose is AdaptiveAvgPool's gradient with respect to
// its input applied to y (N, C, outH, outW), giving (N, C, inH, inW).
func AdaptiveAvgPoolTranspose(y *G.Node, inH, inW int) (*G.Node, error) {
	op := &avgPoolOp{Adaptive: true, Transpose: true, InH: inH, InW: inW}
	if err := op.validate(); err != nil {
		return nil, err
	}
	return apply(op, y)
}

// avgPoolOp is average pooling (Transpose false: (N, C, H, W) -> (N, C,
// OH, OW)) or its adjoint (Transpose true: (N, C, OH, OW) -> (N, C, InH,
// InW)). Both are linear, so each one's gradient is the other: SymDiff
// flips Transpose. A forward op reads the pooled size from its input's; an
// adjoint needs the input size named (several sizes pool to the same one).
// Adaptive pooling names its output size, kept in OutH, OutW; the adjoint
// of adaptive pooling reads it from its input.
type avgPoolOp struct {
	opBase
	outBuf
	K, S, P    int
	Ceil       bool
	IncludePad bool
	Adaptive   bool
	OutH, OutW int // adaptive forward: output size
	Transpose  bool
	InH, InW   int // adjoint: the pooled input's size
}

func (op *avgPoolOp) Arity() int         { return 1 }
func (op *avgPoolOp) Type() hm.Type      { return fnType(4, 4) }
func (op *avgPoolOp) WriteHash(h hasher) { writeHash(h, op) }
func (op *avgPoolOp) Hashcode() uint32   { return hashcode(op) }
func (op *avgPoolOp) String() string {
	name := "AvgPool"
	if op.Transpose {
		name = "AvgPoolTranspose"
	}
	if op.Adaptive {
		return fmt.Sprintf("Adaptive%s{out=%dx%d, in=%dx%d}", name, op.OutH, op.OutW, op.InH, op.InW)
	}
	return fmt.Sprintf("%s{kernel=%d, stride=%d, pad=%d, ceil=%t, countIncludePad=%t, in=%dx%d}",
		name, op.K, op.S, op.P, op.Ceil, op.IncludePad, op.InH, op.InW)
}

func (op *avgPoolOp) validate() error {
	if op.Adaptive {
		if !op.Transpose && (op.OutH < 1 || op.OutW < 1) {
			return errors.Errorf("%v: need an output size >= 1", op)
		}
	} else if op.K < 1 || op.S < 1 || op.P < 0 || 2*op.P > op.K {
		return errors.Errorf("%v: need kernel >= 1, stride >= 1 and 0 <= pad <= kernel/2", op)
	}
	if op.Transpose && (op.InH < 1 || op.InW < 1) {
		return errors.Errorf("%v: need an input size >= 1", op)
	}
	return nil
}

// pooledSize is the output size pooling makes of an (h, w) input.
func (op *avgPoolOp) pooledSize(h, w int) (int, int, error) {
	if op.Adaptive {
		return op.OutH, op.OutW, nil
	}
	oh, ow := PoolOutputSizeMode(h, op.K, op.S, op.P, op.Ceil), PoolOutputSizeMode(w, op.K, op.S, op.P, op.Ceil)
	if oh < 1 || ow < 1 {
		return 0, 0, errors.Errorf("%v: a %dx%d input is smaller than the window", op, h, w)
	}
	return oh, ow, nil
}

// geom is the pooling's (N, C, H, W) -> (N, C, OH, OW) for an input of
// shape s (the pooled tensor for the adjoint).
func (op *avgPoolOp) geom(s tensor.Shape) (poolGeom, error) {
	if len(s) != 4 {
		return poolGeom{}, errors.Errorf("%v: input %v must be 4-D (N, C, H, W)", op, s)
	}
	g := poolGeom{N: s[0], C: s[1], H: s[2], W: s[3]}
	if op.Transpose {
		g.H, g.W = op.InH, op.InW
		if op.Adaptive {
			g.OH, g.OW = s[2], s[3]
			return g, nil
		}
	}
	var err error
	if g.OH, g.OW, err = op.pooledSize(g.H, g.W); err != nil {
		return g, err
	}
	if op.Transpose && (g.OH != s[2] || g.OW != s[3]) {
		return g, errors.Errorf("%v: a %dx%d input pools to %dx%d, but the tensor to spread is %dx%d", op, g.H, g.W, g.OH, g.OW, s[2], s[3])
	}
	return g, nil
}

type poolGeom struct{ N, C, H, W, OH, OW int }

func (op *avgPoolOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	s, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	g, err := op.geom(s)
	if err != nil {
		return nil, err
	}
	if op.Transpose {
		return tensor.Shape{g.N, g.C, g.H, g.W}, nil
	}
	return tensor.Shape{g.N, g.C, g.OH, g.OW}, nil
}

// avgWindows lists, along one axis of length in pooled to out, each
// window's input range [Lo, Hi) and its divisor factor.
type avgWindows struct {
	Lo, Hi []int
	Div    []int
}

func (op *avgPoolOp) windows(in, out int) avgWindows {
	w := avgWindows{Lo: make([]int, out), Hi: make([]int, out), Div: make([]int, out)}
	for i := 0; i < out; i++ {
		if op.Adaptive {
			// PyTorch's start_index and end_index.
			w.Lo[i], w.Hi[i] = i*in/out, ((i+1)*in+out-1)/out
			w.Div[i] = w.Hi[i] - w.Lo[i]
			continue
		}
		// PyTorch's avg_pool2d: the divisor counts the window clipped to
		// the padded input; the sum runs over the window clipped to the input.
		lo := i*op.S - op.P
		hi := min(lo+op.K, in+op.P)
		padded := hi - lo
		lo, hi = max(lo, 0), min(hi, in)
		w.Lo[i], w.Hi[i] = lo, hi
		if op.IncludePad {
			w.Div[i] = padded
		} else {
			w.Div[i] = hi - lo
		}
	}
	return w
}

func (op *avgPoolOp) Do(vs ...G.Value) (G.Value, error) {
	ts, err := denseArgs(op, vs, 4)
	if err != nil {
		return nil, err
	}
	in := ts[0]
	g, err := op.geom(in.Shape())
	if err != nil {
		return nil, err
	}
	rows, cols := op.windows(g.H, g.OH), op.windows(g.W, g.OW)
	var out *tensor.Dense
	if op.Transpose {
		out = op.get(in.Dtype(), g.N, g.C, g.H, g.W)
	} else {
		out = op.get(in.Dtype(), g.N, g.C, g.OH, g.OW)
	}
	if in.Dtype() == tensor.Float32 {
		avgPool(g, rows, cols, op.Transpose, sliceOf[float32](in), sliceOf[float32](out))
	} else {
		avgPool(g, rows, cols, op.Transpose, sliceOf[float64](in), sliceOf[float64](out))
	}
	return out, nil
}

// avgPool pools src (N, C, H, W) into dst (N, C, OH, OW), or with
// transpose spreads src (N, C, OH, OW) over dst (N, C, H, W). Sums run in
// float64; each window's value is divided by its divisor once.
func avgPool[T float](g poolGeom, rows, cols avgWindows, transpose bool, src, dst []T) {
	in, out := g.H*g.W, g.OH*g.OW
	parallelFor(g.N*g.C, func(_, p int) {
		if transpose {
			y, x := src[p*out:(p+1)*out], dst[p*in:(p+1)*in]
			clear(x) // the output buffer is reused from the last run
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					v := T(float64(y[oh*g.OW+ow]) / float64(rows.Div[oh]*cols.Div[ow]))
					for h := rows.Lo[oh]; h < rows.Hi[oh]; h++ {
						row := x[h*g.W : (h+1)*g.W]
						for w := cols.Lo[ow]; w < cols.Hi[ow]; w++ {
							row[w] += v
						}
					}
				}
			}
			return
		}
		x, y := src[p*in:(p+1)*in], dst[p*out:(p+1)*out]
		for oh := 0; oh < g.OH; oh++ {
			for ow := 0; ow < g.OW; ow++ {
				var s float64
				for h := rows.Lo[oh]; h < rows.Hi[oh]; h++ {
					row := x[h*g.W : (h+1)*g.W]
					for w := cols.Lo[ow]; w < cols.Hi[ow]; w++ {
						s += float64(row[w])
					}
				}
				y[oh*g.OW+ow] = T(s / float64(rows.Div[oh]*cols.Div[ow]))
			}
		}
	})
}

func (op *avgPoolOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff: pooling and spreading by the same windows are adjoint.
func (op *avgPoolOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	adj := *op
	adj.outBuf = outBuf{}
	adj.Transpose = !op.Transpose
	s := in[0].Shape()
	if adj.Transpose {
		adj.InH, adj.InW = s[2], s[3]
		if op.Adaptive {
			adj.OutH, adj.OutW = 0, 0 // read from the gradient's shape
		}
	} else {
		adj.InH, adj.InW = 0, 0
		if op.Adaptive {
			adj.OutH, adj.OutW = s[2], s[3]
		}
	}
	dx, err := apply(&adj, grad)
	return G.Nodes{dx}, err
}
