package deconvnet

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet/figure"
)

// SmoothGrad (Smilkov et al., "SmoothGrad: removing noise by adding
// noise", 2017, eq. 2): the average of a sensitivity map over copies of the
// input with Gaussian noise added,
//
//	M_hat(x) = 1/n sum_{i=1..n} M(x + N(0, sigma^2)),
//
// sharpens gradient maps. Here M is the walk from a class score down to
// pixels under any of the three rules (the gradient, guided
// backpropagation or the deconvnet), so the smoothing applies to each.
// The paper's settings: sigma 10-20% of the input's range (max - min), n
// about 50.

// SmoothGradConfig sets the noise and the walk.
type SmoothGradConfig struct {
	// Class is the class whose logit is explained; negative: the class
	// predicted for the unperturbed input.
	Class int
	// Samples is n, the number of noisy copies (paper: 50).
	Samples int
	// Noise is sigma as a fraction of the input's range, max(x) - min(x)
	// over all its values (paper: 0.1 to 0.2).
	Noise float64
	// Seed makes the noise reproducible: the same seed, the same maps.
	Seed uint64
	// Options is the rule of the walk; ThroughLRN is usually wanted (the
	// exact gradient under Saliency): see GradientOptions.
	Options Options
	// NoiseSamples, when not nil, replaces the generated noise: Samples
	// vectors of C*H*W values added to the input as they are (to reproduce
	// another implementation's noise).
	NoiseSamples [][]float32
	// Progress, if not nil, is called after each batch with the samples
	// done and the total.
	Progress func(done, total int)
	// Context, if not nil, is checked between batches: once it ends,
	// SmoothGrad stops and returns its error (a server's cancelled request).
	Context context.Context
}

// SmoothGradResult is one input's smoothed map beside the unsmoothed one.
type SmoothGradResult struct {
	Config SmoothGradConfig
	Class  int
	Sigma  float64 // the noise's standard deviation in model input units
	// Map is the average of the rule's projection over the noisy copies,
	// Plain the projection of the unperturbed input; both C x H x W.
	Map, Plain []float32
	Input      []float32
	C, H, W    int
}

// SmoothGrad averages the walk from the class score over cfg.Samples noisy
// copies of x (C x H x W, model input space), d.Batch copies per pass.
func SmoothGrad(d *Net, x []float32, cfg SmoothGradConfig) (*SmoothGradResult, error) {
	if err := checkInput(d, "smoothgrad", x); err != nil {
		return nil, err
	}
	if cfg.NoiseSamples != nil {
		cfg.Samples = len(cfg.NoiseSamples)
	}
	if cfg.Samples < 1 {
		return nil, errors.Errorf("smoothgrad: %d samples; need at least 1", cfg.Samples)
	}
	if !(cfg.Noise >= 0) || math.IsInf(cfg.Noise, 0) {
		return nil, errors.Errorf("smoothgrad: noise level %g must be a finite fraction >= 0 of the input's range", cfg.Noise)
	}
	in := d.Model.Arch.Input
	n := len(x)
	for i, ns := range cfg.NoiseSamples {
		if len(ns) != n {
			return nil, errors.Errorf("smoothgrad: noise sample %d has %d values, the input %d", i, len(ns), n)
		}
	}
	res := &SmoothGradResult{Config: cfg, C: in[0], H: in[1], W: in[2], Input: append([]float32(nil), x...), Map: make([]float32, n)}
	lo, hi := minMax32(x)
	res.Sigma = cfg.Noise * (hi - lo)
	cls := []int{cfg.Class}
	plain, err := scoreGradients(d, [][]float32{x}, cls, false, "", cfg.Options)
	if err != nil {
		return nil, errors.Wrap(err, "smoothgrad")
	}
	res.Class = cls[0]
	res.Plain = append([]float32(nil), plain.grads[0]...)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed5eed))
	acc := make([]float64, n)
	for start := 0; start < cfg.Samples; start += d.Batch {
		end := min(start+d.Batch, cfg.Samples)
		xs := make([][]float32, end-start)
		classes := make([]int, end-start)
		for i := range xs {
			xs[i] = make([]float32, n)
			for j, v := range x {
				if cfg.NoiseSamples != nil {
					xs[i][j] = v + cfg.NoiseSamples[start+i][j]
				} else {
					xs[i][j] = v + float32(res.Sigma*rng.NormFloat64())
				}
			}
			classes[i] = res.Class
		}
		sb, err := scoreGradients(d, xs, classes, false, "", cfg.Options)
		if err != nil {
			return nil, errors.Wrapf(err, "smoothgrad: samples %d-%d", start, end-1)
		}
		for _, g := range sb.grads {
			for j, v := range g {
				acc[j] += float64(v)
			}
		}
		if cfg.Progress != nil {
			cfg.Progress(end, cfg.Samples)
		}
		if cfg.Context != nil && cfg.Context.Err() != nil {
			return nil, errors.Wrapf(cfg.Context.Err(), "smoothgrad: stopped after %d of %d samples", end, cfg.Samples)
		}
	}
	for j, v := range acc {
		res.Map[j] = float32(v / float64(cfg.Samples))
	}
	return res, nil
}

func minMax32(v []float32) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, float64(x)), math.Max(hi, float64(x))
	}
	return lo, hi
}

// Image shows the input, the unsmoothed projection and the SmoothGrad map,
// each signed (figure.ProjectionImage) and as a magnitude, titled.
func (r *SmoothGradResult) Image(mean *data.Mean, classes []string, scale int) image.Image {
	scale = max(1, scale)
	in := figure.Scale(data.ToImage(r.Input, data.Geometry{C: r.C, H: r.H, W: r.W}, mean), scale)
	rule := r.Config.Options.Rule.String()
	panels := []image.Image{
		figure.Titled(in, "input", figure.Ink),
		figure.Titled(figure.Scale(figure.ProjectionImage(r.Plain, r.C, r.H, r.W), scale), rule, figure.Ink),
		figure.Titled(figure.Scale(figure.MagnitudeImage(r.Plain, r.C, r.H, r.W), scale), rule+" |.|", figure.Ink),
		figure.Titled(figure.Scale(figure.ProjectionImage(r.Map, r.C, r.H, r.W), scale), "SmoothGrad", figure.Ink),
		figure.Titled(figure.Scale(figure.MagnitudeImage(r.Map, r.C, r.H, r.W), scale), "SmoothGrad |.|", figure.Ink),
	}
	head := fmt.Sprintf("class %s, %s rule, n=%d, noise %.0f%% of the range (sigma %.3g)", figure.ClassName(classes, r.Class), rule,
		r.Config.Samples, 100*r.Config.Noise, r.Sigma)
	return figure.Padded(figure.Titled(figure.Row(panels, 10, figure.Paper), head, figure.Ink), 6, figure.Paper)
}
