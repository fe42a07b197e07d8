package zfnet

import (
	"fmt"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
)

// sizeScanLimit bounds how many pictures DecideInput reads the headers of
// (evenly spaced over the set; all of them in sets up to this size).
const sizeScanLimit = 2000

// InputDecision is how a run's pictures become model inputs, decided once,
// from the data set as a whole (or from Pipeline and InputSize), and used
// by the mean pass, the loaders, evaluation, prediction and visualization
// alike: they all call Preprocessing(Arch, Config).
type InputDecision struct {
	Arch   Arch      // the architecture with the input geometry and the class count
	Config RunConfig // the run's configuration with Pipeline decided
	Pre    data.Preprocess
	Sizes  data.SizeSummary
	Why    string // one line for the log
}

// DecideInput fits the named architecture to a data set. With Pipeline
// and InputSize left to the data ("" or "auto", 0):
//
//   - pictures that all share one size of at most 64x64 (MNIST, CIFAR) are
//     taken at that size, with their own channels;
//   - otherwise a small architecture (input at most 64x64) takes every
//     picture resized whole to its own input size, with 3 channels when
//     any picture has colour;
//   - otherwise (a 224 architecture on photographs) the paper's ImageNet
//     pipeline at the architecture's own input.
//
// The sizes come from every picture's header (or sizeScanLimit evenly
// spaced ones), EXIF orientation included, never from one picture.
func DecideInput(name string, set *data.Set, cfg RunConfig) (*InputDecision, error) {
	a, err := LookupArch(name)
	if err != nil {
		return nil, err
	}
	return decideInput(a, name, set, cfg)
}

// decideInput is DecideInput for an architecture already looked up (or
// read from a weights file, for InitFrom).
func decideInput(a Arch, name string, set *data.Set, cfg RunConfig) (*InputDecision, error) {
	sizes, err := data.ScanSizes(set.Train, sizeScanLimit)
	if err != nil {
		return nil, errors.Wrapf(err, "reading the picture sizes of %s", set.Name)
	}
	own := a.Input
	smallArch := fitsSmall(own[1], own[2])
	chans := own[0]
	if smallArch {
		chans = sizes.Channels()
	}
	nativeSmall := sizes.Uniform && fitsSmall(sizes.MaxH, sizes.MaxW)
	kind := cfg.Pipeline
	if kind == "auto" {
		kind = ""
	}
	var c, h, w int
	var why string
	switch {
	case cfg.InputSize > 0:
		c, h, w = chans, cfg.InputSize, cfg.InputSize
		if kind == "" {
			kind = pipelineForSize(cfg.InputSize, cfg.InputSize)
		}
		why = fmt.Sprintf("%dx%d from --input-size; pictures %v", w, h, sizes)
	case kind == PipelineImageNet:
		c, h, w = chans, own[1], own[2]
		why = fmt.Sprintf("%s's own input size with --pipeline imagenet; pictures %v", name, sizes)
	case nativeSmall || (kind == PipelineSmall && sizes.Uniform):
		kind = PipelineSmall
		c, h, w = sizes.Channels(), sizes.MaxH, sizes.MaxW
		why = fmt.Sprintf("the pictures' own size: %v", sizes)
	case kind == PipelineSmall || smallArch:
		kind = PipelineSmall
		c, h, w = chans, own[1], own[2]
		why = fmt.Sprintf("pictures %v, each resized whole to %s's %dx%d (--input-size and --pipeline choose otherwise)", sizes, name, own[2], own[1])
	default:
		kind = PipelineImageNet
		c, h, w = own[0], own[1], own[2]
		why = fmt.Sprintf("pictures %v; the paper's ImageNet pipeline at %s's own input", sizes, name)
	}
	a = a.WithInput(c, h, w, len(set.Classes))
	if cfg.Dropout >= 0 {
		a = a.WithDropout(cfg.Dropout)
	}
	cfg.Pipeline = kind
	pre := Preprocessing(a, cfg)
	if err := pre.Validate(); err != nil {
		return nil, err
	}
	return &InputDecision{Arch: a, Config: cfg, Pre: pre, Sizes: sizes, Why: why}, nil
}

// ArchFor fits a named architecture to a data set as DecideInput does with
// the pipeline left to the data; dropout < 0 keeps the architecture's.
// The preprocessing returned is the test-time one.
func ArchFor(name string, set *data.Set, dropout float64) (Arch, data.Preprocess, error) {
	d, err := DecideInput(name, set, RunConfig{Dropout: dropout})
	if err != nil {
		a, _ := LookupArch(name)
		return a, data.Preprocess{}, err
	}
	return d.Arch, d.Pre, nil
}

// DescribeInput says in a few words how pictures become inputs of a:
// "1x28x28, small pipeline (each picture resized whole)".
func DescribeInput(a Arch, cfg RunConfig) string {
	p := Preprocessing(a, cfg)
	if p.Kind == data.ImageNet {
		return fmt.Sprintf("%v, imagenet pipeline (shorter side to %d, centre square, %dx%d crops)", p.Geometry, p.Resize, p.Geometry.W, p.Geometry.H)
	}
	return fmt.Sprintf("%v, small pipeline (each picture resized whole to %dx%d)", p.Geometry, p.Geometry.W, p.Geometry.H)
}
