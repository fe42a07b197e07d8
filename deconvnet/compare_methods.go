package deconvnet

import (
	"fmt"
	"image"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/zfnet"
)

func softmaxAt(logits []float32, k int) float64 { return zfnet.Softmax(logits)[k] }

// MethodsConfig sets every method of a side-by-side comparison (see
// CompareMethods). Zero values take the defaults given.
type MethodsConfig struct {
	// Class explained; negative: the predicted class.
	Class int
	// GradCAMLayer: the layer of Grad-CAM ("": the last convolution).
	GradCAMLayer string
	// SmoothGrad: samples (default 50), noise as a fraction of the
	// input's range (default 0.15), seed, and the rule's name
	// (ParseRule; default "saliency"; walks go through LRN).
	SmoothSamples int
	SmoothNoise   float64
	SmoothSeed    uint64
	SmoothRule    string
	// Integrated Gradients: steps (default 64) and baseline (nil: the
	// mean image, zeros), named in captions by BaselineName.
	IGSteps      int
	Baseline     []float32
	BaselineName string
	// IGProbability attributes the class's softmax probability instead
	// of its logit.
	IGProbability bool
	// Occlusion: the variant (Size 0: a quarter of the input, Stride 0:
	// a 28x28 grid at most; Class is ignored: the comparison's class).
	Occlusion OcclusionMapConfig
	// Progress, if not nil, is told which method runs and how far it is.
	Progress func(method string, done, total int)
}

// MethodsComparison is every method's result for one input and one class.
type MethodsComparison struct {
	Config MethodsConfig
	Class  int
	Prob   float64 // the class's probability
	// Deconvnet, Saliency and Guided are the walks from the class logit
	// to pixels under each rule (C x H x W): the deconvnet as the paper
	// (skipping LRN), the other two through LRN.
	Deconvnet, Saliency, Guided []float32
	GradCAM                     *GradCAMResult
	SmoothGrad                  *SmoothGradResult
	Integrated                  *IntegratedGradientsResult
	Occlusion                   *OcclusionMapResult
	Input                       []float32
	C, H, W                     int
}

// CompareMethods runs the deconvnet, saliency, guided backpropagation,
// Grad-CAM, Guided Grad-CAM, SmoothGrad, Integrated Gradients and an
// occlusion variant for one input x (C x H x W, model input space) and
// one class.
func CompareMethods(d *Net, x []float32, cfg MethodsConfig) (*MethodsComparison, error) {
	if err := checkInput(d, "compare methods", x); err != nil {
		return nil, err
	}
	in := d.Model.Arch.Input
	c, h, w := in[0], in[1], in[2]
	if cfg.SmoothSamples == 0 {
		cfg.SmoothSamples = 50
	}
	if cfg.SmoothNoise == 0 {
		cfg.SmoothNoise = 0.15
	}
	if cfg.SmoothRule == "" {
		cfg.SmoothRule = Saliency.String()
	}
	smoothRule, err := ParseRule(cfg.SmoothRule)
	if err != nil {
		return nil, errors.Wrap(err, "compare methods: SmoothGrad")
	}
	if cfg.IGSteps == 0 {
		cfg.IGSteps = 64
	}
	if cfg.Baseline == nil && cfg.BaselineName == "" {
		cfg.BaselineName = BaselineMean
	}
	if cfg.Occlusion.Size == 0 {
		cfg.Occlusion.Size = (max(h, w) + 3) / 4
	}
	if cfg.Occlusion.Stride == 0 {
		cfg.Occlusion.Stride = max(1, max(h, w)/28)
	}
	progress := func(method string) func(int, int) {
		if cfg.Progress == nil {
			return nil
		}
		return func(done, total int) { cfg.Progress(method, done, total) }
	}
	r := &MethodsComparison{Config: cfg, C: c, H: h, W: w, Input: append([]float32(nil), x...)}
	cls := []int{cfg.Class}
	for _, rule := range []struct {
		opt Options
		dst *[]float32
	}{{Options{Rule: Deconvnet}, &r.Deconvnet}, {GradientOptions(), &r.Saliency}, {Options{Rule: Guided, ThroughLRN: true}, &r.Guided}} {
		sb, err := scoreGradients(d, [][]float32{x}, cls, false, "", rule.opt)
		if err != nil {
			return nil, errors.Wrapf(err, "compare methods: %s", rule.opt.Rule)
		}
		*rule.dst = append([]float32(nil), sb.grads[0]...)
		r.Class = cls[0]
		r.Prob = softmaxAt(sb.logits[0], r.Class)
	}
	if cfg.Progress != nil {
		cfg.Progress("Grad-CAM", 0, 1)
	}
	gc, err := GradCAM(d, [][]float32{x}, GradCAMConfig{Layer: cfg.GradCAMLayer, Classes: []int{r.Class}})
	if err != nil {
		return nil, errors.Wrap(err, "compare methods")
	}
	r.GradCAM = gc[0]
	r.SmoothGrad, err = SmoothGrad(d, x, SmoothGradConfig{Class: r.Class, Samples: cfg.SmoothSamples, Noise: cfg.SmoothNoise,
		Seed: cfg.SmoothSeed, Options: Options{Rule: smoothRule, ThroughLRN: true}, Progress: progress("SmoothGrad")})
	if err != nil {
		return nil, errors.Wrap(err, "compare methods")
	}
	r.Integrated, err = IntegratedGradients(d, x, IntegratedGradientsConfig{Class: r.Class, Baseline: cfg.Baseline,
		BaselineName: cfg.BaselineName, Steps: cfg.IGSteps, Probability: cfg.IGProbability, Progress: progress("integrated gradients")})
	if err != nil {
		return nil, errors.Wrap(err, "compare methods")
	}
	oc := cfg.Occlusion
	oc.Class, oc.Progress = r.Class, progress("occlusion")
	if r.Occlusion, err = OcclusionMap(d, x, oc); err != nil {
		return nil, errors.Wrap(err, "compare methods")
	}
	return r, nil
}

// Image shows the methods side by side, each panel titled: the input,
// the deconvnet, saliency and guided backpropagation from the class
// logit, Grad-CAM over the input, Guided Grad-CAM, SmoothGrad and
// Integrated Gradients (magnitudes, 0 dark blue to the largest yellow),
// and the occlusion sensitivity over the input. Signed projections are
// shown as figure.ProjectionImage (zero gray).
func (r *MethodsComparison) Image(mean *data.Mean, classes []string, scale int) image.Image {
	scale = max(1, scale)
	g := data.Geometry{C: r.C, H: r.H, W: r.W}
	sig := func(v []float32) image.Image { return figure.Scale(figure.ProjectionImage(v, r.C, r.H, r.W), scale) }
	mag := func(v []float32) image.Image { return figure.Scale(figure.MagnitudeImage(v, r.C, r.H, r.W), scale) }
	panels := []image.Image{
		figure.Titled(figure.Scale(data.ToImage(r.Input, g, mean), scale), "input", figure.Ink),
		figure.Titled(sig(r.Deconvnet), "deconvnet", figure.Ink),
		figure.Titled(mag(r.Saliency), "saliency |grad|", figure.Ink),
		figure.Titled(sig(r.Guided), "guided backprop", figure.Ink),
		figure.Titled(r.GradCAM.HeatImage(mean, scale), "Grad-CAM "+r.GradCAM.Layer, figure.Ink),
		figure.Titled(sig(r.GradCAM.GuidedGradCAM), "Guided Grad-CAM", figure.Ink),
		figure.Titled(mag(r.SmoothGrad.Map), "SmoothGrad "+r.SmoothGrad.Config.Options.Rule.String(), figure.Ink),
		figure.Titled(mag(r.Integrated.Attributions), "integrated grad.", figure.Ink),
		figure.Titled(r.Occlusion.OcclusionHeat(mean, scale), "occlusion", figure.Ink),
	}
	head := fmt.Sprintf("class %s (P=%.3f)", figure.ClassName(classes, r.Class), r.Prob)
	return figure.Padded(figure.Titled(figure.Row(panels, 8, figure.Paper), head, figure.Ink), 6, figure.Paper)
}

// Caption states every option of every method and the completeness check.
func (r *MethodsComparison) Caption() string {
	c := r.Config
	score := "logit"
	if c.IGProbability {
		score = "probability"
	}
	keep := "probability drop when occluding"
	if r.Occlusion.Config.Keep {
		keep = "probability when keeping only"
	}
	return fmt.Sprintf("Deconvnet (rectified signal, LRN skipped), saliency (|gradient|, max over channels) and guided backpropagation "+
		"walk down from the class logit. Grad-CAM at %s (maps weighted by their mean gradient, ReLU, bilinear upsampling), "+
		"Guided Grad-CAM = guided backprop x Grad-CAM. SmoothGrad: %s rule, %d samples, noise sigma %.0f%% of the input range, seed %d. "+
		"Integrated gradients: %d steps from the %s baseline, class %s, completeness error %.3g (%.2g%% of F(x)-F(x') = %.3g). "+
		"Occlusion: %s a %dx%d window at stride %d filled with %s.",
		r.GradCAM.Layer, c.SmoothRule, c.SmoothSamples, 100*c.SmoothNoise, c.SmoothSeed,
		c.IGSteps, c.BaselineName, score, r.Integrated.CompletenessError, 100*r.Integrated.RelativeError, r.Integrated.FX-r.Integrated.FBaseline,
		keep, r.Occlusion.Config.Size, r.Occlusion.Config.Size, r.Occlusion.Config.Stride, r.Occlusion.Config.FillName)
}
