package data

import "github.com/pkg/errors"

// Normalize is the per-channel input transform of networks trained outside
// zfnet, applied after cropping instead of (or after) zfnet's mean image:
//
//	out[c] = (Scale*pixel[src(c)] - Mean[c]) / Std[c]
//
// with pixels in [0,1] and src(c) = 2-c when BGR is set (Caffe's channel
// order) and c otherwise. torchvision's ImageNet models use Scale 1, Mean
// (0.485, 0.456, 0.406), Std (0.229, 0.224, 0.225); Caffe's use Scale 255,
// BGR, Mean (104, 117, 123) and Std 1.
type Normalize struct {
	Scale     float32
	Mean, Std [3]float32
	BGR       bool
}

// Validate reports a transform that cannot work for c channels.
func (n *Normalize) Validate(c int) error {
	if n == nil {
		return nil
	}
	if c != 3 && (n.BGR || c != 1) {
		return errors.Errorf("normalize: %d channels; expected 3 (or 1 without BGR)", c)
	}
	if n.Scale <= 0 {
		return errors.Errorf("normalize: scale %g; expected > 0", n.Scale)
	}
	for i := 0; i < c; i++ {
		if !(n.Std[i] > 0) {
			return errors.Errorf("normalize: std[%d] = %g; expected > 0", i, n.Std[i])
		}
	}
	return nil
}

// DisplayMean is the mean to hand to ToImage and the experiments' figures
// for inputs made by p: p's normalization to undo, with no mean image
// (nil when p has no normalization).
func (p Preprocess) DisplayMean() *Mean {
	if p.Normalize == nil {
		return nil
	}
	return &Mean{C: p.Geometry.C, Normalize: p.Normalize}
}

// invert is the display value, in [0,1] before clamping, of channel c at
// plane offset j of the input x (geometry g): apply undone.
func (n *Normalize) invert(x []float32, g Geometry, c, j int) float32 {
	plane := g.H * g.W
	v := x[c*plane+j]*n.Std[c] + n.Mean[c]
	v /= n.Scale
	if n.BGR && g.C == 3 {
		// Input channel c holds picture channel 2-c; shown channel c is
		// picture channel c, which sits in input channel 2-c.
		s := 2 - c
		v = (x[s*plane+j]*n.Std[s] + n.Mean[s]) / n.Scale
	}
	return v
}

// apply transforms one cropped input (g.C x g.H x g.W) in place.
func (n *Normalize) apply(x []float32, g Geometry) {
	plane := g.H * g.W
	if n.BGR && g.C == 3 {
		r, b := x[:plane], x[2*plane:3*plane]
		for i := range r {
			r[i], b[i] = b[i], r[i]
		}
	}
	for c := 0; c < g.C; c++ {
		p := x[c*plane : (c+1)*plane]
		s, m, d := n.Scale, n.Mean[c], n.Std[c]
		for i, v := range p {
			p[i] = (s*v - m) / d
		}
	}
}
