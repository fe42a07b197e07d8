package deconvnet

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet/figure"
)

// Integrated Gradients (Sundararajan et al., "Axiomatic Attribution for
// Deep Networks", ICML 2017, section 3 and eq. 3): the attribution of input
// value i is
//
//	(x_i - x'_i) * 1/m sum_{k=1..m} dF(x' + k/m (x - x')) / dx_i
//
// along the straight path from a baseline x' (the paper: a black image) to
// x, with m steps (the right Riemann sum; the paper: 20 to 300). By
// completeness (section 3, proposition 1) the attributions add up to
// F(x) - F(x'); with finitely many steps they miss by the completeness
// error, which shrinks as m grows and which the paper suggests checking
// (within 5%). F is the class score: its logit, or its softmax probability.

// Baseline kinds for IntegratedGradientsConfig.Baseline, made by
// MakeBaseline.
const (
	BaselineBlack = "black" // a black picture, preprocessed
	BaselineMean  = "mean"  // the mean image (zero in model input space for every preset)
	BaselineBlur  = "blur"  // the input blurred (GaussianBlur)
)

// MakeBaseline builds a baseline in model input space for x (C x H x W):
// BaselineBlack returns black (the model input a black picture gives, e.g.
// from Preprocess.ApplyCrop of zeros; it must be given), BaselineMean
// zeros, BaselineBlur x blurred with a Gaussian of sigma pixels (the blur
// of a mean-subtracted input: a linear operation, close to blurring the
// picture for a smooth mean).
func MakeBaseline(kind string, x []float32, c, h, w int, black []float32, sigma float64) ([]float32, error) {
	if len(x) != c*h*w {
		return nil, errors.Errorf("baseline: input has %d values for %dx%dx%d", len(x), c, h, w)
	}
	switch kind {
	case BaselineBlack:
		if len(black) != len(x) {
			return nil, errors.Errorf("baseline black: the black picture has %d values, the input %d", len(black), len(x))
		}
		return append([]float32(nil), black...), nil
	case BaselineMean:
		return make([]float32, len(x)), nil
	case BaselineBlur:
		if !(sigma > 0) || math.IsInf(sigma, 0) {
			return nil, errors.Errorf("baseline blur: sigma %g pixels must be positive", sigma)
		}
		return GaussianBlur(x, c, h, w, sigma), nil
	}
	return nil, errors.Errorf("unknown baseline %q: expected black, mean or blur", kind)
}

// IntegratedGradientsConfig sets the path and the score.
type IntegratedGradientsConfig struct {
	// Class is the class whose score is attributed; negative: the class
	// predicted for the input.
	Class int
	// Baseline is x' (C x H x W, model input space); nil means zeros
	// (BaselineMean). BaselineName names it in captions.
	Baseline     []float32
	BaselineName string
	// Steps is m (paper: 20 to 300).
	Steps int
	// Probability attributes the class's softmax probability instead of
	// its logit.
	Probability bool
	// Progress, if not nil, is called after each batch of path points.
	Progress func(done, total int)
	// Context, if not nil, is checked between batches: once it ends, the
	// computation stops and returns its error.
	Context context.Context
}

// IntegratedGradientsResult is the attribution of one input.
type IntegratedGradientsResult struct {
	Config IntegratedGradientsConfig
	Class  int
	// Attributions is C x H x W, in the score's units.
	Attributions []float32
	// Sum is the attributions' total, FX and FBaseline the score at the
	// input and at the baseline; CompletenessError = Sum - (FX -
	// FBaseline), RelativeError its size relative to |FX - FBaseline|.
	Sum, FX, FBaseline               float64
	CompletenessError, RelativeError float64
	Input, Baseline                  []float32
	C, H, W                          int
}

// IntegratedGradients attributes the class score of x (C x H x W, model
// input space) to its pixels, d.Batch path points per pass. Gradients are
// exact (GradientOptions).
func IntegratedGradients(d *Net, x []float32, cfg IntegratedGradientsConfig) (*IntegratedGradientsResult, error) {
	if err := checkInput(d, "integrated gradients", x); err != nil {
		return nil, err
	}
	if cfg.Steps < 1 {
		return nil, errors.Errorf("integrated gradients: %d steps; need at least 1", cfg.Steps)
	}
	n := len(x)
	base := cfg.Baseline
	if base == nil {
		base = make([]float32, n)
		if cfg.BaselineName == "" {
			cfg.BaselineName = BaselineMean
		}
	}
	if err := checkInput(d, "integrated gradients baseline", base); err != nil {
		return nil, err
	}
	in := d.Model.Arch.Input
	res := &IntegratedGradientsResult{Config: cfg, C: in[0], H: in[1], W: in[2],
		Input: append([]float32(nil), x...), Baseline: append([]float32(nil), base...)}
	// The scores at the ends (the class is chosen on the input).
	cls := []int{cfg.Class, -1}
	ends, err := scoreGradients(d, [][]float32{x}, cls[:1], cfg.Probability, "", GradientOptions())
	if err != nil {
		return nil, errors.Wrap(err, "integrated gradients")
	}
	res.Class, res.FX = cls[0], ends.scores[0]
	cls[1] = res.Class
	bs, err := scoreGradients(d, [][]float32{base}, cls[1:], cfg.Probability, "", GradientOptions())
	if err != nil {
		return nil, errors.Wrap(err, "integrated gradients: baseline")
	}
	res.FBaseline = bs.scores[0]
	acc := make([]float64, n)
	for start := 1; start <= cfg.Steps; start += d.Batch {
		end := min(start+d.Batch-1, cfg.Steps)
		xs := make([][]float32, end-start+1)
		classes := make([]int, len(xs))
		for i := range xs {
			a := float32(float64(start+i) / float64(cfg.Steps))
			xs[i] = make([]float32, n)
			for j := range xs[i] {
				xs[i][j] = base[j] + a*(x[j]-base[j])
			}
			classes[i] = res.Class
		}
		sb, err := scoreGradients(d, xs, classes, cfg.Probability, "", GradientOptions())
		if err != nil {
			return nil, errors.Wrapf(err, "integrated gradients: steps %d-%d", start, end)
		}
		for _, g := range sb.grads {
			for j, v := range g {
				acc[j] += float64(v)
			}
		}
		if cfg.Progress != nil {
			cfg.Progress(end, cfg.Steps)
		}
		if cfg.Context != nil && cfg.Context.Err() != nil {
			return nil, errors.Wrapf(cfg.Context.Err(), "integrated gradients: stopped after %d of %d steps", end, cfg.Steps)
		}
	}
	res.Attributions = make([]float32, n)
	for j := range acc {
		a := (float64(x[j]) - float64(base[j])) * acc[j] / float64(cfg.Steps)
		res.Attributions[j] = float32(a)
		res.Sum += a
	}
	res.CompletenessError = res.Sum - (res.FX - res.FBaseline)
	if diff := math.Abs(res.FX - res.FBaseline); diff > 0 {
		res.RelativeError = math.Abs(res.CompletenessError) / diff
	} else {
		res.RelativeError = math.Inf(1)
	}
	return res, nil
}

// Image shows the input, the baseline and the attributions, signed
// (figure.ProjectionImage) and as a magnitude, with the completeness check.
func (r *IntegratedGradientsResult) Image(mean *data.Mean, classes []string, scale int) image.Image {
	scale = max(1, scale)
	g := data.Geometry{C: r.C, H: r.H, W: r.W}
	panels := []image.Image{
		figure.Titled(figure.Scale(data.ToImage(r.Input, g, mean), scale), "input", figure.Ink),
		figure.Titled(figure.Scale(data.ToImage(r.Baseline, g, mean), scale), "baseline ("+r.Config.BaselineName+")", figure.Ink),
		figure.Titled(figure.Scale(figure.ProjectionImage(r.Attributions, r.C, r.H, r.W), scale), "integrated gradients", figure.Ink),
		figure.Titled(figure.Scale(figure.MagnitudeImage(r.Attributions, r.C, r.H, r.W), scale), "|attribution|", figure.Ink),
	}
	score := "logit"
	if r.Config.Probability {
		score = "probability"
	}
	head := fmt.Sprintf("class %s %s, %d steps: F(x) %.4g, F(x') %.4g, sum %.4g, completeness error %.2g (%.1f%%)",
		figure.ClassName(classes, r.Class), score, r.Config.Steps, r.FX, r.FBaseline, r.Sum, r.CompletenessError, 100*r.RelativeError)
	return figure.Padded(figure.Titled(figure.Row(panels, 10, figure.Paper), head, figure.Ink), 6, figure.Paper)
}
