package zfnet

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pkg/errors"
)

// ConvStage is one row of the paper's table: a convolution, its ReLU, and
// optionally contrast normalization (LRN) and max pooling, in that order.
type ConvStage struct {
	Out, Kernel, Stride, Pad int
	LRN                      bool
	Pool                     *Pool // nil: no pooling
}

// Pool is a max pooling window.
type Pool struct{ Kernel, Stride, Pad int }

// FC is a fully connected layer; every one but the last is followed by a
// ReLU and dropout with probability Dropout.
type FC struct {
	Out     int // 0 in the last layer: the number of classes
	Dropout float64
}

// Arch is a network as data: input geometry, the class count and the
// layers, either as an ordered list (Layers, like torchvision's
// nn.Sequential: any order of ReLU, LRN and pooling, ceil-mode pooling,
// grouped convolutions, dropout before or after a linear layer) or in the
// stage form of the paper's table (Convs conv1..convK, each conv -> ReLU ->
// LRN -> pool, then FCs fc(K+1).., each linear -> ReLU -> dropout but the
// last). Layers wins when both are given; Sequence gives the list either way.
// The last layer is linear and outputs Classes.
type Arch struct {
	Name    string
	Input   [3]int // C, H, W
	Classes int
	Convs   []ConvStage `json:",omitempty"`
	FCs     []FC        `json:",omitempty"`
	Layers  []LayerSpec `json:"layers,omitempty"`
	// Preprocess names the input pipeline the weights expect: "torchvision",
	// "caffe" or "zfnet" (empty: zfnet's own). See data.PreprocessPreset.
	Preprocess string `json:"preprocess,omitempty"`
	// Doc says where the table comes from.
	Doc string
	// FilterRadius is the RMS bound on convolution filters the architecture
	// trains with by default (0: none). The paper's 0.1 reins in filters
	// grown from its N(0, 0.01^2) start; the small models start from He
	// init, where a 7x7x1 filter's RMS is already 0.2, so 0.1 would halve
	// conv1 at the first step and freeze its random pattern.
	FilterRadius float64
}

var pool3s2p1, pool3s2 = &Pool{3, 2, 1}, &Pool{3, 2, 0}

// archs are the named architectures. Adding one is adding an entry.
var archs = map[string]Arch{
	"zfnet": {
		Doc:          "ZFNet, the seed table: the paper's Table 2 variant (b), conv3-5 = 512/1024/512",
		FilterRadius: 0.1,
		Input:        [3]int{3, 224, 224}, Classes: 1000,
		Convs: []ConvStage{
			{Out: 96, Kernel: 7, Stride: 2, Pad: 1, LRN: true, Pool: pool3s2p1},
			{Out: 256, Kernel: 5, Stride: 2, Pad: 0, LRN: true, Pool: pool3s2p1},
			{Out: 512, Kernel: 3, Stride: 1, Pad: 1},
			{Out: 1024, Kernel: 3, Stride: 1, Pad: 1},
			{Out: 512, Kernel: 3, Stride: 1, Pad: 1, Pool: pool3s2},
		},
		FCs: []FC{{4096, 0.5}, {4096, 0.5}, {0, 0}},
	},
	"zfnet-fig3": {
		Doc: "ZFNet as drawn in the paper's Fig. 3: conv3-5 = 384/384/256, and in the caption's order: " +
			"each of layers 1-2 rectified, pooled (3x3/2), then contrast normalized across feature maps",
		FilterRadius: 0.1,
		Input:        [3]int{3, 224, 224}, Classes: 1000,
		Layers: []LayerSpec{
			Conv(96, 7, 2, 1), ReLU(), MaxPool(3, 2, 1), PaperLRN(),
			Conv(256, 5, 2, 0), ReLU(), MaxPool(3, 2, 1), PaperLRN(),
			Conv(384, 3, 1, 1), ReLU(),
			Conv(384, 3, 1, 1), ReLU(),
			Conv(256, 3, 1, 1), ReLU(), MaxPool(3, 2, 0),
			Linear(4096), ReLU(), Dropout(0.5),
			Linear(4096), ReLU(), Dropout(0.5),
			Linear(0),
		},
	},
	"alexnet": {
		Doc:          "AlexNet (Krizhevsky et al. 2012) as one tower, for the paper's filter comparison",
		FilterRadius: 0.1,
		Input:        [3]int{3, 224, 224}, Classes: 1000,
		Convs: []ConvStage{
			{Out: 96, Kernel: 11, Stride: 4, Pad: 2, LRN: true, Pool: pool3s2},
			{Out: 256, Kernel: 5, Stride: 1, Pad: 2, LRN: true, Pool: pool3s2},
			{Out: 384, Kernel: 3, Stride: 1, Pad: 1},
			{Out: 384, Kernel: 3, Stride: 1, Pad: 1},
			{Out: 256, Kernel: 3, Stride: 1, Pad: 1, Pool: pool3s2},
		},
		FCs: []FC{{4096, 0.5}, {4096, 0.5}, {0, 0}},
	},
	"alexnet-small": {
		Doc: "AlexNet's first layers scaled like zfnet-small, for the filter comparison on small data: " +
			"conv1 11x11 at twice zfnet-small's stride, conv2 5x5",
		Input: [3]int{1, 28, 28}, Classes: 10,
		Convs: []ConvStage{
			{Out: 32, Kernel: 11, Stride: 2, Pad: 5, LRN: true, Pool: pool3s2p1},
			{Out: 48, Kernel: 5, Stride: 1, Pad: 2, LRN: true, Pool: pool3s2p1},
			{Out: 64, Kernel: 3, Stride: 1, Pad: 1},
			{Out: 96, Kernel: 3, Stride: 1, Pad: 1},
			{Out: 64, Kernel: 3, Stride: 1, Pad: 1, Pool: pool3s2},
		},
		FCs: []FC{{256, 0.5}, {256, 0.5}, {0, 0}},
	},
	// Published networks, layer for layer, so that their ImageNet weights
	// load by name and give the publisher's logits.
	"alexnet-torchvision": {
		Doc: "torchvision's AlexNet (models/alexnet.py, the 'one weird trick' single tower): " +
			"64/192/384/256/256 maps, no LRN, dropout before fc6 and fc7",
		Input: [3]int{3, 224, 224}, Classes: 1000, Preprocess: "torchvision", FilterRadius: 0.1,
		Layers: []LayerSpec{
			Conv(64, 11, 4, 2), ReLU(), MaxPool(3, 2, 0),
			Conv(192, 5, 1, 2), ReLU(), MaxPool(3, 2, 0),
			Conv(384, 3, 1, 1), ReLU(),
			Conv(256, 3, 1, 1), ReLU(),
			Conv(256, 3, 1, 1), ReLU(), MaxPool(3, 2, 0),
			AdaptiveAvgPool(6, 6),
			Dropout(0.5), Linear(4096), ReLU(),
			Dropout(0.5), Linear(4096), ReLU(),
			Linear(0),
		},
	},
	"zfnet-pytorchcv": pytorchcvZFNet("pytorchcv's ZFNet (models/zfnet.py, version a): the paper's Fig. 3 widths "+
		"96/256/384/384/256, conv -> ReLU -> LRN(5, 1e-4, 0.75, 2) in stages 1-2, 3x3/2 ceil-mode pooling "+
		"without padding; 62,357,608 parameters; published top-1/top-5 error 39.21/16.78", 384, 384, 256),
	"zfnetb-pytorchcv": pytorchcvZFNet("pytorchcv's ZFNet-b (models/zfnet.py, version b): the seed table's "+
		"conv3-5 = 512/1024/512 with pytorchcv's layout; 107,627,624 parameters", 512, 1024, 512),
	"alexnet-pytorchcv": {
		Doc: "pytorchcv's AlexNet (models/alexnet.py, version a): 96/256/384/384/256 maps, 11x11/4 conv1 " +
			"without padding, conv -> ReLU -> LRN(5, 1e-4, 0.75, 2) in stages 1-2, 3x3/2 ceil-mode pooling",
		Input: [3]int{3, 224, 224}, Classes: 1000, Preprocess: "torchvision", FilterRadius: 0.1,
		Layers: []LayerSpec{
			Conv(96, 11, 4, 0), ReLU(), PaperLRN(), MaxPoolCeil(3, 2, 0),
			Conv(256, 5, 1, 2), ReLU(), PaperLRN(), MaxPoolCeil(3, 2, 0),
			Conv(384, 3, 1, 1), ReLU(),
			Conv(384, 3, 1, 1), ReLU(),
			Conv(256, 3, 1, 1), ReLU(), MaxPoolCeil(3, 2, 0),
			Linear(4096), ReLU(), Dropout(0.5),
			Linear(4096), ReLU(), Dropout(0.5),
			Linear(0),
		},
	},
	"zfnet-small": {
		Doc: "ZFNet's stage structure scaled for 28x28 gray (MNIST) and 32x32 colour (CIFAR) " +
			"inputs: conv+LRN+pool twice (conv1 keeps ZFNet's 7x7 kernel at stride 1), three convs (the widest " +
			"in the middle, as variant (b)), pool, three fc",
		Input: [3]int{1, 28, 28}, Classes: 10,
		Convs: []ConvStage{
			{Out: 32, Kernel: 7, Stride: 1, Pad: 3, LRN: true, Pool: pool3s2p1},
			{Out: 48, Kernel: 3, Stride: 1, Pad: 1, LRN: true, Pool: pool3s2p1},
			{Out: 64, Kernel: 3, Stride: 1, Pad: 1},
			{Out: 96, Kernel: 3, Stride: 1, Pad: 1},
			{Out: 64, Kernel: 3, Stride: 1, Pad: 1, Pool: pool3s2},
		},
		FCs: []FC{{256, 0.5}, {256, 0.5}, {0, 0}},
	},
}

// pytorchcvZFNet is pytorchcv's AlexNet class with ZFNet's kernels, strides
// and paddings: stages of units (conv, ReLU, and LRN in the first two
// stages), each stage closed by 3x3/2 ceil-mode pooling; then fc1 and fc2
// (linear, ReLU, dropout) and fc3.
func pytorchcvZFNet(doc string, c3, c4, c5 int) Arch {
	return Arch{
		Doc:   doc,
		Input: [3]int{3, 224, 224}, Classes: 1000, Preprocess: "torchvision", FilterRadius: 0.1,
		Layers: []LayerSpec{
			Conv(96, 7, 2, 1), ReLU(), PaperLRN(), MaxPoolCeil(3, 2, 0),
			Conv(256, 5, 2, 0), ReLU(), PaperLRN(), MaxPoolCeil(3, 2, 0),
			Conv(c3, 3, 1, 1), ReLU(),
			Conv(c4, 3, 1, 1), ReLU(),
			Conv(c5, 3, 1, 1), ReLU(), MaxPoolCeil(3, 2, 0),
			Linear(4096), ReLU(), Dropout(0.5),
			Linear(4096), ReLU(), Dropout(0.5),
			Linear(0),
		},
	}
}

// ArchNames lists the architectures by name.
func ArchNames() []string {
	names := make([]string, 0, len(archs))
	for n := range archs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupArch returns a copy of the named architecture.
func LookupArch(name string) (Arch, error) {
	a, ok := archs[name]
	if !ok {
		return Arch{}, errors.Errorf("unknown architecture %q: expected one of %s", name, strings.Join(ArchNames(), ", "))
	}
	a.Name = name
	a.Convs = append([]ConvStage(nil), a.Convs...)
	a.FCs = append([]FC(nil), a.FCs...)
	a.Layers = append([]LayerSpec(nil), a.Layers...)
	return a, nil
}

// WithInput returns the architecture for another input geometry or class
// count (zero keeps the current value). Shapes are checked by New.
func (a Arch) WithInput(c, h, w, classes int) Arch {
	if c > 0 {
		a.Input[0] = c
	}
	if h > 0 {
		a.Input[1] = h
	}
	if w > 0 {
		a.Input[2] = w
	}
	if classes > 0 {
		a.Classes = classes
	}
	return a
}

// WithDropout returns the architecture with every dropout layer's
// probability set to p (layers without dropout stay without).
func (a Arch) WithDropout(p float64) Arch {
	a.FCs = append([]FC(nil), a.FCs...)
	for i := range a.FCs {
		if a.FCs[i].Dropout > 0 {
			a.FCs[i].Dropout = p
		}
	}
	a.Layers = append([]LayerSpec(nil), a.Layers...)
	for i := range a.Layers {
		if a.Layers[i].Kind == KindDropout && a.Layers[i].P > 0 {
			a.Layers[i].P = p
		}
	}
	return a
}

// String names the architecture with its input geometry and class count,
// for error messages: "zfnet-small (input 1x28x28, 10 classes)".
func (a Arch) String() string {
	return fmt.Sprintf("%s (input %dx%dx%d, %d classes)", a.Name, a.Input[0], a.Input[1], a.Input[2], a.Classes)
}
