package nn

import (
	"fmt"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"

	"github.com/zfnet/zfnet/graph"
)

// Conv2d is a convolution with bias: Out maps of In/Groups x Kernel x
// Kernel filters at Stride with zero padding Pad. With Groups > 1 the maps
// split into groups that see only their own share of the input maps
// (Caffe's two-tower AlexNet); the weight is (Out, In/Groups, Kernel,
// Kernel) as in PyTorch.
type Conv2d struct {
	ID                           string
	In, Out, Kernel, Stride, Pad int
	Groups                       int // 0 or 1: an ordinary convolution
	Weight, Bias                 *Param
}

// NewConv2d allocates the layer's parameters (zero; see zfnet's initializers).
func NewConv2d(name string, in, out, kernel, stride, pad int) *Conv2d {
	return NewGroupedConv2d(name, in, out, kernel, stride, pad, 1)
}

// NewGroupedConv2d is NewConv2d with the maps split into groups; in and out
// must be multiples of groups (zfnet.New checks).
func NewGroupedConv2d(name string, in, out, kernel, stride, pad, groups int) *Conv2d {
	if groups < 1 {
		groups = 1
	}
	return &Conv2d{ID: name, In: in, Out: out, Kernel: kernel, Stride: stride, Pad: pad, Groups: groups,
		Weight: NewParam(name+".weight", true, true, out, in/groups, kernel, kernel),
		Bias:   NewParam(name+".bias", false, false, out)}
}

// GroupCount is Groups, with 0 read as 1.
func (l *Conv2d) GroupCount() int {
	if l.Groups < 1 {
		return 1
	}
	return l.Groups
}

// Name implements Layer: the layer's name, which prefixes its parameters'.
func (l *Conv2d) Name() string { return l.ID }

// Params implements Layer: the parameters the layer owns (weight, then bias), if any.
func (l *Conv2d) Params() []*Param { return []*Param{l.Weight, l.Bias} }

// Forward implements Layer: adds the layer to b's graph after x.
func (l *Conv2d) Forward(b *Builder, x *G.Node) (*G.Node, error) {
	conv := graph.GroupedConv2d
	if b.isData(x) {
		conv = graph.GroupedConv2dNoInputGrad
	}
	y, err := conv(x, b.Bind(l.Weight), b.Bind(l.Bias), l.Stride, l.Pad, l.GroupCount())
	return y, wrapErr(err, l)
}

// OutShape implements Layer: the (C, H, W) output for input shape in, or why the layer does not fit it.
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

// Name implements Layer: the layer's name, which prefixes its parameters'.
func (l *ReLU) Name() string { return l.ID }

// Params implements Layer: the parameters the layer owns (weight, then bias), if any.
func (l *ReLU) Params() []*Param { return nil }

// OutShape implements Layer: the (C, H, W) output for input shape in, or why the layer does not fit it.
func (l *ReLU) OutShape(in [3]int) ([3]int, error) { return in, nil }

// Forward implements Layer: adds the layer to b's graph after x.
func (l *ReLU) Forward(b *Builder, x *G.Node) (*G.Node, error) {
	if !b.Record {
		y, err := graph.ReLU(x)
		return y, wrapErr(err, l)
	}
	y, act, err := graph.RecordedReLU(x)
	b.Activations[l.ID] = act
	b.recordedOut[y] = act
	return y, wrapErr(err, l)
}

// LRN is cross-map local response normalization.
type LRN struct {
	ID string
	P  graph.LRNParams
}

// Name implements Layer: the layer's name, which prefixes its parameters'.
func (l *LRN) Name() string { return l.ID }

// Params implements Layer: the parameters the layer owns (weight, then bias), if any.
func (l *LRN) Params() []*Param { return nil }

// OutShape implements Layer: the (C, H, W) output for input shape in, or why the layer does not fit it.
func (l *LRN) OutShape(in [3]int) ([3]int, error) { return in, nil }

// Forward adds the normalization; under a recording Builder it keeps its
// input under InputKey (the ReLU's record when a ReLU feeds it, otherwise a
// copy), which the deconvnet linearizes at when it goes through the LRN.
func (l *LRN) Forward(b *Builder, x *G.Node) (*G.Node, error) {
	if b.Record {
		act, ok := b.recordedOut[x]
		if !ok {
			var err error
			if x, act, err = graph.Record(x); err != nil {
				return nil, wrapErr(err, l)
			}
		}
		b.Activations[l.InputKey()] = act
	}
	y, err := graph.LRN(x, l.P)
	return y, wrapErr(err, l)
}

// InputKey names the LRN's recorded input in Builder.Activations.
func (l *LRN) InputKey() string { return l.ID + ".input" }

// MaxPool is max pooling that records its switches in the Builder; Ceil
// is PyTorch's ceil_mode (pytorchcv's ZFNet pools 3x3/2 that way).
type MaxPool struct {
	ID                  string
	Kernel, Stride, Pad int
	Ceil                bool
}

// Name implements Layer: the layer's name, which prefixes its parameters'.
func (l *MaxPool) Name() string { return l.ID }

// Params implements Layer: the parameters the layer owns (weight, then bias), if any.
func (l *MaxPool) Params() []*Param { return nil }

// OutShape implements Layer: the (C, H, W) output for input shape in, or why the layer does not fit it.
func (l *MaxPool) OutShape(in [3]int) ([3]int, error) {
	return poolShape(l.ID, in, l.Kernel, l.Stride, l.Pad, l.Ceil)
}

// Forward implements Layer: adds the layer to b's graph after x.
func (l *MaxPool) Forward(b *Builder, x *G.Node) (*G.Node, error) {
	y, sw, err := graph.MaxPoolMode(x, l.Kernel, l.Stride, l.Pad, l.Ceil)
	b.Switches[l.ID] = sw
	return y, wrapErr(err, l)
}

// poolShape is a pooling window's output shape, or why the input does not
// fit it.
func poolShape(id string, in [3]int, kernel, stride, pad int, ceil bool) ([3]int, error) {
	if kernel < 1 || stride < 1 || pad < 0 || 2*pad > kernel {
		return in, errors.Errorf("layer %s: need kernel >= 1, stride >= 1 and 0 <= pad <= kernel/2, got %d, %d, %d", id, kernel, stride, pad)
	}
	if in[1]+2*pad < kernel || in[2]+2*pad < kernel {
		return in, errors.Errorf("layer %s: input %dx%d is smaller than the %dx%d window", id, in[1], in[2], kernel, kernel)
	}
	return [3]int{in[0], graph.PoolOutputSizeMode(in[1], kernel, stride, pad, ceil), graph.PoolOutputSizeMode(in[2], kernel, stride, pad, ceil)}, nil
}

// AvgPool is average pooling (torch.nn.AvgPool2d; ExcludePad is
// count_include_pad=False).
type AvgPool struct {
	ID                  string
	Kernel, Stride, Pad int
	Ceil, ExcludePad    bool
}

// Name implements Layer: the layer's name, which prefixes its parameters'.
func (l *AvgPool) Name() string { return l.ID }

// Params implements Layer: the parameters the layer owns (weight, then bias), if any.
func (l *AvgPool) Params() []*Param { return nil }

// OutShape implements Layer: the (C, H, W) output for input shape in, or why the layer does not fit it.
func (l *AvgPool) OutShape(in [3]int) ([3]int, error) {
	return poolShape(l.ID, in, l.Kernel, l.Stride, l.Pad, l.Ceil)
}

// Forward implements Layer: adds the layer to b's graph after x.
func (l *AvgPool) Forward(b *Builder, x *G.Node) (*G.Node, error) {
	y, err := graph.AvgPool(x, l.Kernel, l.Stride, l.Pad, l.Ceil, !l.ExcludePad)
	return y, wrapErr(err, l)
}

// AdaptiveAvgPool averages to a fixed OutH x OutW output
// (torch.nn.AdaptiveAvgPool2d); on an input of that size it is the
// identity and adds no node.
type AdaptiveAvgPool struct {
	ID         string
	OutH, OutW int
}

// Name implements Layer: the layer's name, which prefixes its parameters'.
func (l *AdaptiveAvgPool) Name() string { return l.ID }

// Params implements Layer: the parameters the layer owns (weight, then bias), if any.
func (l *AdaptiveAvgPool) Params() []*Param { return nil }

// OutShape implements Layer: the (C, H, W) output for input shape in, or why the layer does not fit it.
func (l *AdaptiveAvgPool) OutShape(in [3]int) ([3]int, error) {
	return [3]int{in[0], l.OutH, l.OutW}, nil
}

// Identity says whether the pooling leaves an input of shape in as it is.
func (l *AdaptiveAvgPool) Identity(in [3]int) bool { return in[1] == l.OutH && in[2] == l.OutW }

// Forward implements Layer: adds the layer to b's graph after x.
func (l *AdaptiveAvgPool) Forward(b *Builder, x *G.Node) (*G.Node, error) {
	if s := x.Shape(); len(s) == 4 && s[2] == l.OutH && s[3] == l.OutW {
		return x, nil
	}
	y, err := graph.AdaptiveAvgPool(x, l.OutH, l.OutW)
	return y, wrapErr(err, l)
}

// Dropout drops with probability P in training graphs and is absent from
// inference graphs.
type Dropout struct {
	ID string
	P  float64
}

// Name implements Layer: the layer's name, which prefixes its parameters'.
func (l *Dropout) Name() string { return l.ID }

// Params implements Layer: the parameters the layer owns (weight, then bias), if any.
func (l *Dropout) Params() []*Param { return nil }

// OutShape implements Layer: the (C, H, W) output for input shape in, or why the layer does not fit it.
func (l *Dropout) OutShape(in [3]int) ([3]int, error) { return in, nil }

// Forward implements Layer: adds the layer to b's graph after x.
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

// Name implements Layer: the layer's name, which prefixes its parameters'.
func (l *Linear) Name() string { return l.ID }

// Params implements Layer: the parameters the layer owns (weight, then bias), if any.
func (l *Linear) Params() []*Param { return []*Param{l.Weight, l.Bias} }

// OutShape implements Layer: the (C, H, W) output for input shape in, or why the layer does not fit it.
func (l *Linear) OutShape(in [3]int) ([3]int, error) {
	if n := in[0] * in[1] * in[2]; n != l.In {
		return in, errors.Errorf("layer %s: input %dx%dx%d has %d features, expected %d", l.ID, in[0], in[1], in[2], n, l.In)
	}
	return [3]int{l.Out, 1, 1}, nil
}

// Forward implements Layer: adds the layer to b's graph after x.
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

func ceilNote(ceil bool) string {
	if ceil {
		return " ceil"
	}
	return ""
}

// Describe is a one-line summary of a layer's configuration.
func Describe(l Layer) string {
	switch l := l.(type) {
	case *Conv2d:
		s := fmt.Sprintf("conv %dx%d/%d pad %d", l.Kernel, l.Kernel, l.Stride, l.Pad)
		if g := l.GroupCount(); g > 1 {
			s += fmt.Sprintf(" groups %d", g)
		}
		return s
	case *MaxPool:
		return fmt.Sprintf("max pool %dx%d/%d pad %d%s", l.Kernel, l.Kernel, l.Stride, l.Pad, ceilNote(l.Ceil))
	case *AvgPool:
		return fmt.Sprintf("avg pool %dx%d/%d pad %d%s", l.Kernel, l.Kernel, l.Stride, l.Pad, ceilNote(l.Ceil))
	case *AdaptiveAvgPool:
		return fmt.Sprintf("adaptive avg pool to %dx%d", l.OutH, l.OutW)
	case *LRN:
		where := "across maps"
		if l.P.WithinMap {
			where = "within maps"
		}
		return fmt.Sprintf("LRN %s n=%d a=%g b=%g k=%g", where, l.P.Size, l.P.Alpha, l.P.Beta, l.P.K)
	case *Dropout:
		return fmt.Sprintf("dropout p=%g", l.P)
	case *Linear:
		return "fully connected"
	case *ReLU:
		return "ReLU"
	}
	return fmt.Sprintf("%T", l)
}
