package deconvnet

import (
	"fmt"
	"image"
	"math"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/nn"
)

// Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep
// Networks via Gradient-based Localization", ICCV 2017, section 3): the
// gradient of a class score y^c (the logit, before the softmax) with
// respect to a convolutional layer's feature maps A^k, averaged over each
// map, weighs the maps:
//
//	alpha_k = 1/Z sum_ij dy^c / dA^k_ij,   L^c = ReLU(sum_k alpha_k A^k)
//
// and the coarse map L^c, upsampled bilinearly to the input, shows where
// the evidence for the class lies. Guided Grad-CAM (section 3.1) multiplies
// the upsampled map into guided backpropagation's pixel-space projection
// of the same class score, for a map that is both class-discriminative and
// fine-grained. Here the gradient is the Saliency walk from the logits
// layer stopped at the chosen layer (ProjectTo), and guided backpropagation
// is the Guided walk from the logits to pixels; both go through LRN layers
// (the exact gradient).

// GradCAMConfig chooses the layer and the classes.
type GradCAMConfig struct {
	// Layer is the convolutional layer whose rectified output is weighed
	// ("conv5" means relu5's output); empty means the last convolution,
	// as the paper recommends.
	Layer string
	// Classes[i] is the class explained for input i; missing or negative
	// entries mean the predicted class.
	Classes []int
}

// GradCAMResult is Grad-CAM and Guided Grad-CAM for one input.
type GradCAMResult struct {
	Layer     string // the layer as given (resolved: its rectified output)
	Class     int    // the class explained
	Predicted int    // the network's top class for the input
	Score     float32
	// MapH x MapW is the layer's map size; Weights (one per map, alpha_k)
	// and Map (MapH*MapW, L^c, before upsampling) in the layer's units.
	MapH, MapW int
	Weights    []float64
	Map        []float64
	// Upsampled is Map resized to the input's H x W (UpsampleBilinear).
	Upsampled []float64
	// Guided is guided backpropagation of the class score (C x H x W) and
	// GuidedGradCAM its product with Upsampled, channel by channel.
	Guided        []float32
	GuidedGradCAM []float32
	Input         []float32 // the model input, C x H x W
	C, H, W       int
}

// GradCAM computes Grad-CAM and Guided Grad-CAM for each input (C x H x W,
// model input space: preprocessed), d.Batch inputs per forward pass. The
// layer must have feature maps (a convolution, its ReLU, LRN or pooling),
// not a fully connected layer.
func GradCAM(d *Net, xs [][]float32, cfg GradCAMConfig) ([]*GradCAMResult, error) {
	if d == nil {
		return nil, errors.New("grad-cam: no network")
	}
	if cfg.Layer == "" {
		cfg.Layer = d.Model.TopConvLayer()
	}
	name, err := d.resolve(cfg.Layer)
	if err != nil {
		return nil, errors.Wrap(err, "grad-cam")
	}
	_, li := d.Model.Layer(name)
	if isFlat(d.Model, li) {
		return nil, errors.Errorf("grad-cam: layer %s is fully connected; Grad-CAM needs feature maps (a convolutional layer)", cfg.Layer)
	}
	if _, ok := d.Model.LayerAt(d.Model.NumLayers() - 1).(*nn.Linear); !ok || li == d.Model.NumLayers()-1 {
		return nil, errors.Errorf("grad-cam: %s's last layer %s is not a fully connected layer above %s", d.Model.Arch.Name, d.Model.LogitsLayer(), cfg.Layer)
	}
	for i, x := range xs {
		if err := checkInput(d, fmt.Sprintf("grad-cam input %d", i), x); err != nil {
			return nil, err
		}
	}
	var res []*GradCAMResult
	for start := 0; start < len(xs); start += d.Batch {
		end := min(start+d.Batch, len(xs))
		classes := make([]int, end-start)
		for i := range classes {
			classes[i] = -1
			if start+i < len(cfg.Classes) {
				classes[i] = cfg.Classes[start+i]
			}
		}
		cams, err := gradCAMBatch(d, xs[start:end], classes, cfg.Layer, name)
		if err != nil {
			return nil, err
		}
		res = append(res, cams...)
	}
	return res, nil
}

// gradCAMBatch is GradCAM for up to d.Batch inputs: the class scores'
// gradient at layer (name: its resolved output) weighs its maps, then
// guided backpropagation of the same scores goes to pixels.
func gradCAMBatch(d *Net, xs [][]float32, classes []int, layer, name string) ([]*GradCAMResult, error) {
	in := d.Model.Arch.Input
	c, h, w := in[0], in[1], in[2]
	sb, err := scoreGradients(d, xs, classes, false, name, GradientOptions())
	if err != nil {
		return nil, errors.Wrap(err, "grad-cam: class score gradient")
	}
	act, err := d.Activation(name)
	if err != nil {
		return nil, errors.Wrap(err, "grad-cam")
	}
	s := act.Shape()
	k, mh, mw := s[1], s[2], s[3]
	a := act.Data().([]float32)
	// The maps are weighed before the guided pass below runs the batch
	// again: act and the gradients are views of this pass.
	var cams []*GradCAMResult
	for i := range classes {
		r := &GradCAMResult{Layer: layer, Class: classes[i], Score: sb.logits[i][classes[i]], MapH: mh, MapW: mw,
			Weights: make([]float64, k), Map: make([]float64, mh*mw), C: c, H: h, W: w,
			Input: append([]float32(nil), xs[i]...)}
		r.Predicted = argmax(sb.logits[i])
		r.weigh(sb.grads[i], a[i*k*mh*mw:(i+1)*k*mh*mw])
		cams = append(cams, r)
	}
	// Guided backpropagation of the same scores, to pixels.
	gb, err := scoreGradients(d, xs, classes, false, "", Options{Rule: Guided, ThroughLRN: true})
	if err != nil {
		return nil, errors.Wrap(err, "grad-cam: guided backpropagation")
	}
	for i, r := range cams {
		r.Guided = append([]float32(nil), gb.grads[i]...)
		r.GuidedGradCAM = make([]float32, len(r.Guided))
		for ch := 0; ch < c; ch++ {
			for j := 0; j < h*w; j++ {
				r.GuidedGradCAM[ch*h*w+j] = r.Guided[ch*h*w+j] * float32(r.Upsampled[j])
			}
		}
	}
	return cams, nil
}

// weigh computes Weights (each map's mean gradient g), Map (the weighted
// sum of the maps a, rectified) and Upsampled, for one input.
func (r *GradCAMResult) weigh(g, a []float32) {
	hw := r.MapH * r.MapW
	for m := range r.Weights {
		var sum float64
		for _, v := range g[m*hw : (m+1)*hw] {
			sum += float64(v)
		}
		r.Weights[m] = sum / float64(hw)
		for j := range r.Map {
			r.Map[j] += r.Weights[m] * float64(a[m*hw+j])
		}
	}
	for j, v := range r.Map {
		r.Map[j] = math.Max(0, v)
	}
	r.Upsampled = UpsampleBilinear(r.Map, r.MapH, r.MapW, r.H, r.W)
}

// HeatImage renders the upsampled Grad-CAM map over the input (mean added
// back for display when not nil), from 0 (dark blue) to the map's largest
// value (yellow), enlarged scale times.
func (r *GradCAMResult) HeatImage(mean *data.Mean, scale int) image.Image {
	base := figure.Scale(data.ToImage(r.Input, data.Geometry{C: r.C, H: r.H, W: r.W}, mean), max(1, scale))
	_, hi := figure.MinMax(r.Upsampled)
	return figure.Overlay(base, figure.HeatmapRange(r.Upsampled, r.H, r.W, 0, hi), 0.55)
}

// Image shows one input's Grad-CAM side by side: the input, the heat map
// over it, guided backpropagation and Guided Grad-CAM (both scaled as
// figure.ProjectionImage), each titled. classes names the classes (nil: numbers).
func (r *GradCAMResult) Image(mean *data.Mean, classes []string, scale int) image.Image {
	scale = max(1, scale)
	in := figure.Scale(data.ToImage(r.Input, data.Geometry{C: r.C, H: r.H, W: r.W}, mean), scale)
	panels := []image.Image{
		figure.Titled(in, "input", figure.Ink),
		figure.Titled(r.HeatImage(mean, scale), fmt.Sprintf("Grad-CAM (%s)", r.Layer), figure.Ink),
		figure.Titled(figure.Scale(figure.ProjectionImage(r.Guided, r.C, r.H, r.W), scale), "guided backprop", figure.Ink),
		figure.Titled(figure.Scale(figure.ProjectionImage(r.GuidedGradCAM, r.C, r.H, r.W), scale), "Guided Grad-CAM", figure.Ink),
	}
	head := fmt.Sprintf("class %s (score %.3g), predicted %s", figure.ClassName(classes, r.Class), r.Score, figure.ClassName(classes, r.Predicted))
	return figure.Padded(figure.Titled(figure.Row(panels, 10, figure.Paper), head, figure.Ink), 6, figure.Paper)
}
