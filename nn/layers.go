package nn

import (
	"fmt"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"

	"github.com/zfnet/zfnet/graph"
)

// Conv2d is a convolution with bias: Out maps of In x Kernel x Kernel
// filters at Stride with zero padding Pad.
type Conv2d struct {
	ID                           string
	In, Out, Kernel, Stride, Pad int
	Weight, Bias                 *Param
}

// NewConv2d allocates the layer's parameters (zero; see zfnet's initializers).
func NewConv2d(name string, in, out, kernel, stride, pad int) *Conv2d {
	return &Conv2d{ID: name, In: in, Out: out, Kernel: kernel, Stride: stride, Pad: pad,
		Weight: NewParam(name+".weight", true, true, out, in, kernel, kernel),
		Bias:   NewParam(name+".bias", false, false, out)}
}

func (l *Conv2d) Name() string     { return l.ID }
func (l *Conv2d) Params() []*Param { return []*Param{l.Weight, l.Bias} }
func (l *Conv2d) Forward(b *Builder, x *G.Node) (*G.Node, error) {
	conv := graph.Conv2d
	if b.isData(x) {
		conv = graph.Conv2dNoInputGrad
	}
	y, err := conv(x, b.Bind(l.Weight), b.Bind(l.Bias), l.Stride, l.Pad)
	return y, wrapErr(err, l)
}
func (l *Conv2d) OutShape(in [3]int) ([3]int, error) {
	if in[0] != l.In {
		return in, errors.Errorf("layer %s: input has %d channels, expected %d", l.ID, in[0], l.In)
	}
	h, w := graph.PoolOutputSize(in[1], l.Kernel, l.Stride, l.Pad), graph.PoolOutputSize(in[2], l.Kernel, l.Stride, l.Pad)
	if in[1]+2*l.Pad < l.Kernel || in[2]+2*l.Pad < l.Kernel {
		return in, errors.Errorf("layer %s: input %dx%d is smaller than the %dx%d kernel", l.ID, in[1], in[2], l.Kernel, l.Kernel)
	}
	return [3]int{l.Out, h, w}, nil
}

// ReLU rectifies; under a recording Builder it keeps its output.
type ReLU struct{ ID string }

func (l *ReLU) Name() string                       { return l.ID }
func (l *ReLU) Params() []*Param                   { return nil }
func (l *ReLU) OutShape(in [3]int) ([3]int, error) { return in, nil }
func (l *ReLU) Forward(b *Builder, x *G.Node) (*G.Node, error) {
	if !b.Record {
		y, err := graph.ReLU(x)
		return y, wrapErr(err, l)
	}
	y, act, err := graph.RecordedReLU(x)
	b.Activations[l.ID] = act
	return y, wrapErr(err, l)
}

// LRN is cross-map local response normalization.
type LRN struct {
	ID string
	P  graph.LRNParams
}

func (l *LRN) Name() string                       { return l.ID }
func (l *LRN) Params() []*Param                   { return nil }
func (l *LRN) OutShape(in [3]int) ([3]int, error) { return in, nil }
func (l *LRN) Forward(b *Builder, x *G.Node) (*G.Node, error) {
	y, err := graph.LRN(x, l.P)
	return y, wrapErr(err, l)
}

// MaxPool is max pooling that records its switches in the Builder.
type MaxPool struct {
	ID                  string
	Kernel, Stride, Pad int
}

func (l *MaxPool) Name() string     { return l.ID }
func (l *MaxPool) Params() []*Param { return nil }
func (l *MaxPool) OutShape(in [3]int) ([3]int, error) {
	if in[1]+2*l.Pad < l.Kernel || in[2]+2*l.Pad < l.Kernel {
		return in, errors.Errorf("layer %s: input %dx%d is smaller than the %dx%d window", l.ID, in[1], in[2], l.Kernel, l.Kernel)
	}
	return [3]int{in[0], graph.PoolOutputSize(in[1], l.Kernel, l.Stride, l.Pad), graph.PoolOutputSize(in[2], l.Kernel, l.Stride, l.Pad)}, nil
}
func (l *MaxPool) Forward(b *Builder, x *G.Node) (*G.Node, error) {
	y, sw, err := graph.MaxPool(x, l.Kernel, l.Stride, l.Pad)
	b.Switches[l.ID] = sw
	return y, wrapErr(err, l)
}

// Dropout drops with probability P in training graphs and is absent from
// inference graphs.
type Dropout struct {
	ID string
	P  float64
}

func (l *Dropout) Name() string                       { return l.ID }
func (l *Dropout) Params() []*Param                   { return nil }
func (l *Dropout) OutShape(in [3]int) ([3]int, error) { return in, nil }
func (l *Dropout) Forward(b *Builder, x *G.Node) (*G.Node, error) {
	if !b.Train || l.P == 0 {
		return x, nil
	}
	y, st, err := graph.Dropout(x, l.P, b.seedFor(l.ID))
	b.Dropouts[l.ID] = st
	return y, wrapErr(err, l)
}

// Linear is a fully connected layer; its input is flattened.
type Linear struct {
	ID           string
	In, Out      int
	Weight, Bias *Param
}

// NewLinear allocates the layer's parameters.
func NewLinear(name string, in, out int) *Linear {
	return &Linear{ID: name, In: in, Out: out,
		Weight: NewParam(name+".weight", true, false, out, in),
		Bias:   NewParam(name+".bias", false, false, out)}
}

func (l *Linear) Name() string     { return l.ID }
func (l *Linear) Params() []*Param { return []*Param{l.Weight, l.Bias} }
func (l *Linear) OutShape(in [3]int) ([3]int, error) {
	if n := in[0] * in[1] * in[2]; n != l.In {
		return in, errors.Errorf("layer %s: input %dx%dx%d has %d features, expected %d", l.ID, in[0], in[1], in[2], n, l.In)
	}
	return [3]int{l.Out, 1, 1}, nil
}
func (l *Linear) Forward(b *Builder, x *G.Node) (*G.Node, error) {
	y, err := graph.Linear(x, b.Bind(l.Weight), b.Bind(l.Bias))
	return y, wrapErr(err, l)
}

// CrossEntropy is the mean softmax cross-entropy of logits (N, K) against
// one-hot targets (N, K); all-zero target rows are padding and ignored.
func CrossEntropy(logits, targets *G.Node) (*G.Node, error) {
	l, err := graph.SoftmaxCrossEntropy(logits, targets)
	return l, errors.Wrap(err, "cross-entropy")
}

func wrapErr(err error, l Layer) error {
	if err == nil {
		return nil
	}
	return wrap(err, l)
}

// Describe is a one-line summary of a layer's configuration.
func Describe(l Layer) string {
	switch l := l.(type) {
	case *Conv2d:
		return fmt.Sprintf("conv %dx%d/%d pad %d", l.Kernel, l.Kernel, l.Stride, l.Pad)
	case *MaxPool:
		return fmt.Sprintf("max pool %dx%d/%d pad %d", l.Kernel, l.Kernel, l.Stride, l.Pad)
	case *LRN:
		return fmt.Sprintf("LRN n=%d a=%g b=%g k=%g", l.P.Size, l.P.Alpha, l.P.Beta, l.P.K)
	case *Dropout:
		return fmt.Sprintf("dropout p=%g", l.P)
	case *Linear:
		return "fully connected"
	case *ReLU:
		return "ReLU"
	}
	return fmt.Sprintf("%T", l)
}
