package deconvnet

import (
	"math"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/zfnet"
)

// The methods people compare the deconvnet with (Grad-CAM, Guided
// Grad-CAM, SmoothGrad, Integrated Gradients, activation maximization) are
// small changes of the same backward walk: they start it from the logits
// (a class score) instead of a feature activation, stop it at a layer, or
// repeat it on changed inputs. This file holds what they share: the logits
// layer, a batched "score gradient" walk, and the image operations
// (bilinear upsampling, Gaussian blur) they need.

// GradientOptions are the options under which a projection is the exact
// gradient: the Saliency rule, going through every normalization layer.
// The other rules' walks use the same LRN treatment so that only the ReLU
// rule differs: Options{Rule: r, ThroughLRN: true}.
func GradientOptions() Options { return Options{Rule: Saliency, ThroughLRN: true} }

// scoreSignal is what the walk from the logits starts from for one image:
// the one-hot vector of class (the gradient of its logit), or, with
// probability, the gradient of its softmax probability with respect to the
// logits, p_c (e_c - p).
func scoreSignal(dst []float32, logits []float32, class int, probability bool) float64 {
	for i := range dst {
		dst[i] = 0
	}
	if !probability {
		dst[class] = 1
		return float64(logits[class])
	}
	p := zfnet.Softmax(logits)
	for i := range dst {
		dst[i] = float32(-p[class] * p[i])
	}
	dst[class] += float32(p[class])
	return p[class]
}

// scoreBatch is one batch of the walk from a class score: the inputs'
// logits, the scores (logit or probability) and each input's projection
// under opt to the output of layer stop ("" for pixels).
type scoreBatch struct {
	logits [][]float32
	scores []float64
	grads  [][]float32
}

// scoreGradients runs up to d.Batch inputs (each C*H*W, model input space)
// and walks from the score of classes[i] for input i (negative: the
// predicted class, written back into classes) down to stop.
func scoreGradients(d *Net, xs [][]float32, classes []int, probability bool, stop string, opt Options) (*scoreBatch, error) {
	if len(xs) == 0 || len(xs) > d.Batch {
		return nil, errors.Errorf("%d inputs for a batch of %d", len(xs), d.Batch)
	}
	in := d.Model.Arch.Input
	size, k := in[0]*in[1]*in[2], d.Model.Arch.Classes
	buf := make([]float32, d.Batch*size)
	for i, x := range xs {
		if len(x) != size {
			return nil, errors.Errorf("input %d has %d values, %s takes %dx%dx%d = %d", i, len(x), d.Model.Arch.Name, in[0], in[1], in[2], size)
		}
		copy(buf[i*size:], x)
	}
	for s := len(xs); s < d.Batch; s++ {
		copy(buf[s*size:(s+1)*size], xs[0])
	}
	logits, err := d.Forward(buf)
	if err != nil {
		return nil, err
	}
	sb := &scoreBatch{}
	sig := make([]float32, d.Batch*k)
	for i := range xs {
		row := logits[i*k : (i+1)*k]
		if classes[i] < 0 {
			if classes[i], err = zfnet.Argmax(row); err != nil {
				return nil, err
			}
		}
		if classes[i] >= k {
			return nil, errors.Errorf("class %d is outside %s's %d classes", classes[i], d.Model.Arch.Name, k)
		}
		sb.logits = append(sb.logits, append([]float32(nil), row...))
		sb.scores = append(sb.scores, scoreSignal(sig[i*k:(i+1)*k], row, classes[i], probability))
	}
	top := d.Model.LogitsLayer()
	var out []float32
	if stop == "" {
		out, err = d.walk(top, "", sig, opt)
	} else {
		out, err = d.ProjectTo(top, stop, sig, opt)
	}
	if err != nil {
		return nil, err
	}
	per := len(out) / d.Batch
	for i := range xs {
		sb.grads = append(sb.grads, out[i*per:(i+1)*per])
	}
	return sb, nil
}

// checkInput says whether x fits the model.
func checkInput(d *Net, what string, x []float32) error {
	if d == nil {
		return errors.Errorf("%s: no network", what)
	}
	in := d.Model.Arch.Input
	if n := in[0] * in[1] * in[2]; len(x) != n {
		return errors.Errorf("%s: input has %d values, %s takes %dx%dx%d = %d", what, len(x), d.Model.Arch.Name, in[0], in[1], in[2], n)
	}
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return errors.Errorf("%s: input value %d is %g", what, i, v)
		}
	}
	return nil
}

// UpsampleBilinear resizes an h x w map to oh x ow by bilinear
// interpolation with half-pixel centres, PyTorch's
// F.interpolate(mode="bilinear", align_corners=False): output pixel y
// samples the input at (y + 0.5) * h/oh - 0.5, clamped at the border.
func UpsampleBilinear(v []float64, h, w, oh, ow int) []float64 {
	out := make([]float64, oh*ow)
	if h < 1 || w < 1 || len(v) < h*w {
		return out
	}
	axis := func(dst, n, on int) (int, int, float64) {
		src := math.Max(0, (float64(dst)+0.5)*float64(n)/float64(on)-0.5)
		i0 := min(int(src), n-1)
		i1 := min(i0+1, n-1)
		return i0, i1, src - float64(i0)
	}
	for y := 0; y < oh; y++ {
		y0, y1, ly := axis(y, h, oh)
		for x := 0; x < ow; x++ {
			x0, x1, lx := axis(x, w, ow)
			out[y*ow+x] = (1-ly)*((1-lx)*v[y0*w+x0]+lx*v[y0*w+x1]) + ly*((1-lx)*v[y1*w+x0]+lx*v[y1*w+x1])
		}
	}
	return out
}

// GaussianKernel is the normalized 1-D Gaussian of standard deviation
// sigma (pixels), radius ceil(3 sigma): weights exp(-d^2 / (2 sigma^2))
// for d = -radius..radius, summing to 1. sigma <= 0 gives {1}.
func GaussianKernel(sigma float64) []float64 {
	if !(sigma > 0) {
		return []float64{1}
	}
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	var s float64
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		s += k[i]
	}
	for i := range k {
		k[i] /= s
	}
	return k
}

// GaussianBlur blurs each channel of a C x H x W picture with a separable
// Gaussian of standard deviation sigma pixels (GaussianKernel), rows then
// columns, replicating the border pixels. It returns a new slice.
func GaussianBlur(x []float32, c, h, w int, sigma float64) []float32 {
	x64 := make([]float64, len(x))
	for i, v := range x {
		x64[i] = float64(v)
	}
	b := gaussianBlur64(x64, c, h, w, sigma)
	out := make([]float32, len(b))
	for i, v := range b {
		out[i] = float32(v)
	}
	return out
}

// gaussianBlur64 is GaussianBlur on float64 values, in float64 throughout
// (activation maximization keeps its pictures in float64 between steps).
func gaussianBlur64(x []float64, c, h, w int, sigma float64) []float64 {
	k := GaussianKernel(sigma)
	r := len(k) / 2
	out := make([]float64, len(x))
	tmp := make([]float64, h*w)
	for ch := 0; ch < c; ch++ {
		p := x[ch*h*w : (ch+1)*h*w]
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				var s float64
				for i, kv := range k {
					s += kv * p[y*w+min(max(xx+i-r, 0), w-1)]
				}
				tmp[y*w+xx] = s
			}
		}
		o := out[ch*h*w : (ch+1)*h*w]
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				var s float64
				for i, kv := range k {
					s += kv * tmp[min(max(y+i-r, 0), h-1)*w+xx]
				}
				o[y*w+xx] = s
			}
		}
	}
	return out
}
