package zfnet

import (
	"math"

	"github.com/zfnet/zfnet/data"
)

// The input pipelines (RunConfig.Pipeline).
const (
	PipelineSmall    = "small"
	PipelineImageNet = "imagenet"
)

// smallInput is the largest side the small pipeline takes pictures at their
// native size (MNIST's 28, CIFAR's 32, up to 64).
const smallInput = 64

// fitsSmall is the one rule for "a small image": both sides at most
// smallInput. Pictures that fit are taken whole (the small pipeline); larger
// ones go through the ImageNet pipeline's resize and crops.
func fitsSmall(h, w int) bool { return h <= smallInput && w <= smallInput }

// pipelineForSize is the pipeline an input of h x w gets when the run does
// not name one.
func pipelineForSize(h, w int) string {
	if fitsSmall(h, w) {
		return PipelineSmall
	}
	return PipelineImageNet
}

// Preprocessing rebuilds the preprocessing a model was trained with (test
// time: the loader decides whether to augment) from the run's recorded
// Pipeline; runs from before it was recorded chose by input size, as here.
func Preprocessing(a Arch, cfg RunConfig) data.Preprocess {
	g := data.Geometry{C: a.Input[0], H: a.Input[1], W: a.Input[2]}
	kind := cfg.Pipeline
	if kind == "" || kind == "auto" {
		kind = pipelineForSize(g.H, g.W)
	}
	if cfg.InitFrom != "" && (a.Preprocess == PresetTorchvision || a.Preprocess == PresetCaffe) {
		// Fine-tuning a network trained elsewhere: its own normalization,
		// with this run's augmentation.
		if p, err := PresetPreprocess(a.Preprocess, a.Input, cfg); err == nil {
			p.Flip = cfg.Flip
			return p
		}
	}
	if kind == PipelineSmall {
		p := data.SmallPreprocess(g)
		p.PadCrop, p.Flip = cfg.PadCrop, cfg.Flip
		return p
	}
	p := data.ImageNetPreprocess(g)
	// The paper's 256 for 224 inputs; the same proportion for other sizes.
	p.Resize = int(math.Round(float64(max(g.H, g.W)) * 256 / 224))
	p.Flip = cfg.Flip
	return p
}
