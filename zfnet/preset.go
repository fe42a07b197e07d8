package zfnet

import (
	"strings"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
)

// The input pipelines a model can expect. A network's weights are only
// right for the pipeline they were trained with, so the name travels with
// the architecture (Arch.Preprocess, saved in checkpoints) and is chosen
// from a weight file's recognized layout.
const (
	// PresetZFNet is zfnet's own: pixels in [0,1] minus the training set's
	// per-pixel mean image; 28x28/32x32 inputs at their size, larger ones
	// resized to 256 and centre-cropped (the paper's Section 3).
	PresetZFNet = "zfnet"
	// PresetTorchvision is torchvision's ImageNet transform: shorter side
	// resized to 256, centre 224x224 crop, RGB in [0,1], then per channel
	// (x - (0.485, 0.456, 0.406)) / (0.229, 0.224, 0.225).
	PresetTorchvision = "torchvision"
	// PresetCaffe is Caffe's (and the ONNX model zoo's Caffe-born models'):
	// shorter side 256, centre crop, BGR order, 0-255, minus the mean pixel
	// (104, 117, 123).
	PresetCaffe = "caffe"
)

// PresetNames lists the presets.
func PresetNames() []string { return []string{PresetZFNet, PresetTorchvision, PresetCaffe} }

// PresetPreprocess is the test-time preprocessing of preset name for a
// model with input geometry in (C, H, W). The resize keeps the preset's
// 256/224 ratio for other input sizes (227 -> 259). PresetZFNet needs the
// data set's mean image besides (see Preprocessing).
func PresetPreprocess(name string, in [3]int, cfg RunConfig) (data.Preprocess, error) {
	g := data.Geometry{C: in[0], H: in[1], W: in[2]}
	switch name {
	case "", PresetZFNet:
		a := Arch{Input: in}
		return Preprocessing(a, cfg), nil
	case PresetTorchvision, PresetCaffe:
		if in[0] != 3 {
			return data.Preprocess{}, errors.Errorf("preprocess %s: the model takes %d channels; the preset is for colour (3) inputs", name, in[0])
		}
		p := data.ImageNetPreprocess(g)
		p.Flip = false
		p.Resize = (max(in[1], in[2])*256 + 112) / 224
		if name == PresetTorchvision {
			p.Normalize = &data.Normalize{Scale: 1, Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}
		} else {
			p.Normalize = &data.Normalize{Scale: 255, Mean: [3]float32{104, 117, 123}, Std: [3]float32{1, 1, 1}, BGR: true}
		}
		return p, p.Validate()
	}
	return data.Preprocess{}, errors.Errorf("unknown preprocessing %q: expected one of %s", name, strings.Join(PresetNames(), ", "))
}
