package zfnet

import (
	"fmt"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/graph"
	"github.com/zfnet/zfnet/nn"
)

// The kinds of layer an architecture's list can hold. They are the layers of
// the networks people publish: torchvision's nn.Sequential, pytorchcv's
// stages, the ONNX model zoo's Caffe-born chains.
const (
	KindConv            = "conv"             // convolution with bias (groups allowed)
	KindReLU            = "relu"             // rectification
	KindLRN             = "lrn"              // local response normalization, across or within maps
	KindMaxPool         = "maxpool"          // max pooling with switches, floor or ceil mode
	KindAvgPool         = "avgpool"          // average pooling, floor or ceil mode
	KindAdaptiveAvgPool = "adaptive_avgpool" // average pooling to a fixed output size
	KindDropout         = "dropout"          // dropout (training graphs only)
	KindLinear          = "linear"           // fully connected with bias; flattens its input (C, H, W order)
)

// LayerSpec is one entry of an architecture's ordered layer list, the way
// torchvision writes a model as nn.Sequential. Only the fields of its Kind
// mean anything. Names are given by Arch.Sequence when empty: convolutions
// and linear layers count conv1, conv2, ..., then fc(K+1), ... as the paper
// numbers them; every other layer takes the number of the last
// convolution or linear layer before it (relu1, norm1, pool1, drop6) with a
// letter added if that name is taken (drop5 then drop5b).
type LayerSpec struct {
	Kind string `json:"kind"`
	Name string `json:"name,omitempty"`
	// Out is a convolution's feature maps or a linear layer's units; 0 in
	// the last linear layer means the architecture's class count.
	Out int `json:"out,omitempty"`
	// Kernel, Stride, Pad: square window, stride and zero padding of a
	// convolution or a pooling layer, in pixels.
	Kernel int `json:"kernel,omitempty"`
	Stride int `json:"stride,omitempty"`
	Pad    int `json:"pad,omitempty"`
	// Groups splits a convolution's input and output maps into groups that
	// do not see each other (Caffe's two-tower AlexNet: 2); 0 means 1.
	Groups int `json:"groups,omitempty"`
	// Ceil is PyTorch's ceil_mode for pooling layers.
	Ceil bool `json:"ceil,omitempty"`
	// ExcludePad makes an average pooling divide by the cells inside the
	// input only (PyTorch count_include_pad=False).
	ExcludePad bool `json:"exclude_pad,omitempty"`
	// LRN configures a normalization layer: torch.nn.LocalResponseNorm's
	// convention (alpha divided by the window size), or Caffe's
	// WITHIN_CHANNEL when WithinMap is set (alpha divided by Size^2).
	LRN *graph.LRNParams `json:"lrn,omitempty"`
	// P is a dropout layer's drop probability.
	P float64 `json:"p,omitempty"`
	// OutH, OutW are an adaptive pooling layer's output size.
	OutH int `json:"out_h,omitempty"`
	OutW int `json:"out_w,omitempty"`
}

// Conv is a convolution: out maps of kernel x kernel filters at stride with
// zero padding pad (torch.nn.Conv2d(in, out, kernel, stride, pad)).
func Conv(out, kernel, stride, pad int) LayerSpec {
	return LayerSpec{Kind: KindConv, Out: out, Kernel: kernel, Stride: stride, Pad: pad}
}

// GroupedConv is Conv with the maps split into groups (Caffe's group).
func GroupedConv(out, kernel, stride, pad, groups int) LayerSpec {
	l := Conv(out, kernel, stride, pad)
	l.Groups = groups
	return l
}

// ReLU is a rectification.
func ReLU() LayerSpec { return LayerSpec{Kind: KindReLU} }

// CrossMapLRN is torch.nn.LocalResponseNorm(size, alpha, beta, k).
func CrossMapLRN(size int, alpha, beta, k float64) LayerSpec {
	return LayerSpec{Kind: KindLRN, LRN: &graph.LRNParams{Size: size, Alpha: alpha, Beta: beta, K: k}}
}

// WithinMapLRN is Caffe's LRN with norm_region WITHIN_CHANNEL: a size x size
// spatial window in each map, alpha divided by size^2.
func WithinMapLRN(size int, alpha, beta, k float64) LayerSpec {
	return LayerSpec{Kind: KindLRN, LRN: &graph.LRNParams{Size: size, Alpha: alpha, Beta: beta, K: k, WithinMap: true}}
}

// PaperLRN is the paper's (and AlexNet's) normalization: size 5, alpha
// 1e-4, beta 0.75, k 2, across maps.
func PaperLRN() LayerSpec {
	p := graph.DefaultLRN
	return LayerSpec{Kind: KindLRN, LRN: &p}
}

// MaxPool is floor-mode max pooling (torch.nn.MaxPool2d(kernel, stride, pad)).
func MaxPool(kernel, stride, pad int) LayerSpec {
	return LayerSpec{Kind: KindMaxPool, Kernel: kernel, Stride: stride, Pad: pad}
}

// MaxPoolCeil is max pooling with ceil_mode=True.
func MaxPoolCeil(kernel, stride, pad int) LayerSpec {
	l := MaxPool(kernel, stride, pad)
	l.Ceil = true
	return l
}

// AvgPool is torch.nn.AvgPool2d(kernel, stride, pad) (count_include_pad=True).
func AvgPool(kernel, stride, pad int) LayerSpec {
	return LayerSpec{Kind: KindAvgPool, Kernel: kernel, Stride: stride, Pad: pad}
}

// AdaptiveAvgPool is torch.nn.AdaptiveAvgPool2d((h, w)).
func AdaptiveAvgPool(h, w int) LayerSpec {
	return LayerSpec{Kind: KindAdaptiveAvgPool, OutH: h, OutW: w}
}

// Dropout drops with probability p while training.
func Dropout(p float64) LayerSpec { return LayerSpec{Kind: KindDropout, P: p} }

// Linear is a fully connected layer of out units (0: the class count).
func Linear(out int) LayerSpec { return LayerSpec{Kind: KindLinear, Out: out} }

// Sequence is the architecture's ordered layer list with every name filled
// in: Layers when the table gives one, otherwise the list the stage form
// (Convs, FCs) stands for: conv, ReLU, LRN, pool per stage, then linear,
// ReLU, dropout per hidden fully connected layer.
func (a Arch) Sequence() []LayerSpec {
	var ls []LayerSpec
	if len(a.Layers) > 0 {
		ls = append(ls, a.Layers...)
	} else {
		for _, c := range a.Convs {
			ls = append(ls, Conv(c.Out, c.Kernel, c.Stride, c.Pad), ReLU())
			if c.LRN {
				ls = append(ls, PaperLRN())
			}
			if c.Pool != nil {
				ls = append(ls, MaxPool(c.Pool.Kernel, c.Pool.Stride, c.Pool.Pad))
			}
		}
		for i, f := range a.FCs {
			ls = append(ls, Linear(f.Out))
			if i < len(a.FCs)-1 {
				ls = append(ls, ReLU(), Dropout(f.Dropout))
			}
		}
	}
	nameLayers(ls)
	return ls
}

var kindPrefix = map[string]string{
	KindReLU: "relu", KindLRN: "norm", KindMaxPool: "pool", KindAvgPool: "avgpool",
	KindAdaptiveAvgPool: "avgpool", KindDropout: "drop",
}

// nameLayers fills in the names Sequence promises.
func nameLayers(ls []LayerSpec) {
	taken := map[string]bool{}
	for _, l := range ls {
		if l.Name != "" {
			taken[l.Name] = true
		}
	}
	k := 0
	for i := range ls {
		l := &ls[i]
		if l.Kind == KindConv || l.Kind == KindLinear {
			k++
		}
		if l.Name != "" {
			continue
		}
		var name string
		switch l.Kind {
		case KindConv:
			name = fmt.Sprintf("conv%d", k)
		case KindLinear:
			name = fmt.Sprintf("fc%d", k)
		default:
			name = fmt.Sprintf("%s%d", kindPrefix[l.Kind], k)
		}
		for suffix := 'b'; taken[name]; suffix++ {
			name = fmt.Sprintf("%s%d%c", kindPrefix[l.Kind], k, suffix)
		}
		taken[name] = true
		l.Name = name
	}
}

// layer makes the nn layer a spec describes for an input of in channels
// (in features for a linear layer); classes fills a last linear layer's Out.
func (l LayerSpec) layer(inShape [3]int, classes int) (nn.Layer, error) {
	switch l.Kind {
	case KindConv:
		g := l.Groups
		if g == 0 {
			g = 1
		}
		if l.Out < 1 || l.Kernel < 1 || l.Stride < 1 || l.Pad < 0 {
			return nil, errors.Errorf("layer %s: conv needs out, kernel, stride >= 1 and pad >= 0, got %+v", l.Name, l)
		}
		if inShape[0]%g != 0 || l.Out%g != 0 {
			return nil, errors.Errorf("layer %s: %d input and %d output maps do not split into %d groups", l.Name, inShape[0], l.Out, g)
		}
		c := nn.NewGroupedConv2d(l.Name, inShape[0], l.Out, l.Kernel, l.Stride, l.Pad, g)
		return c, nil
	case KindReLU:
		return &nn.ReLU{ID: l.Name}, nil
	case KindLRN:
		if l.LRN == nil {
			return nil, errors.Errorf("layer %s: LRN without parameters", l.Name)
		}
		return &nn.LRN{ID: l.Name, P: *l.LRN}, nil
	case KindMaxPool:
		return &nn.MaxPool{ID: l.Name, Kernel: l.Kernel, Stride: l.Stride, Pad: l.Pad, Ceil: l.Ceil}, nil
	case KindAvgPool:
		return &nn.AvgPool{ID: l.Name, Kernel: l.Kernel, Stride: l.Stride, Pad: l.Pad, Ceil: l.Ceil, ExcludePad: l.ExcludePad}, nil
	case KindAdaptiveAvgPool:
		if l.OutH < 1 || l.OutW < 1 {
			return nil, errors.Errorf("layer %s: adaptive pooling needs an output size, got %dx%d", l.Name, l.OutH, l.OutW)
		}
		return &nn.AdaptiveAvgPool{ID: l.Name, OutH: l.OutH, OutW: l.OutW}, nil
	case KindDropout:
		if l.P < 0 || l.P >= 1 {
			return nil, errors.Errorf("layer %s: dropout probability %g is outside [0, 1)", l.Name, l.P)
		}
		return &nn.Dropout{ID: l.Name, P: l.P}, nil
	case KindLinear:
		out := l.Out
		if out == 0 {
			out = classes
		}
		return nn.NewLinear(l.Name, inShape[0]*inShape[1]*inShape[2], out), nil
	}
	return nil, errors.Errorf("layer %s: unknown kind %q (expected conv, relu, lrn, maxpool, avgpool, adaptive_avgpool, dropout or linear)", l.Name, l.Kind)
}
