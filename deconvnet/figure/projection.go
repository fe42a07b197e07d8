package figure

import (
	"image"
	"math"
)

// How projections are shown: a projection has no natural scale (it is a
// signal, not a picture), so each one is scaled on its own so that its
// largest magnitude reaches full contrast, with zero at mid-gray:
// pixel = 0.5 + 0.5 * v / max|v|. Positive evidence is brighter than the
// gray background, negative darker; colour projections scale all three
// channels together so hues are kept.

// ProjectionImage renders one projection (C x H x W, C = 1 or 3).
func ProjectionImage(p []float32, c, h, w int) image.Image {
	m := Peak(p)
	if c == 1 {
		return SignedGray(p[:h*w], h, w, m)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := img.PixOffset(x, y)
			for ch := 0; ch < 3; ch++ {
				img.Pix[o+ch] = signedLevel(p[(ch*h+y)*w+x], m)
			}
			img.Pix[o+3] = 255
		}
	}
	return img
}

// Peak is the largest magnitude in p, the scale a projection or a filter is
// drawn on; 1 when p is all zeros (drawn flat gray).
func Peak(p []float32) float64 {
	var m float64
	for _, v := range p {
		m = math.Max(m, math.Abs(float64(v)))
	}
	if m == 0 {
		m = 1
	}
	return m
}

// SignedGray draws an h x w plane on the scale peak: zero at mid-gray,
// +peak white, -peak black. Several planes drawn with one peak (a filter's
// input channels) stay comparable.
func SignedGray(p []float32, h, w int, peak float64) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range p[:h*w] {
		img.Pix[i] = signedLevel(v, peak)
	}
	return img
}

// signedLevel is v's 8-bit level on the scale peak: 0.5 + 0.5 * v / peak.
func signedLevel(v float32, peak float64) uint8 {
	return uint8(math.Round(255 * (0.5 + 0.5*float64(v)/peak)))
}

// MagnitudeMap is the per-pixel magnitude of a C x H x W attribution, the
// way saliency maps are usually shown (Simonyan et al. 2014, section 3.1;
// Smilkov et al. 2017): the largest absolute value over the channels, H x W.
func MagnitudeMap(a []float32, c, h, w int) []float64 {
	out := make([]float64, h*w)
	for ch := 0; ch < c; ch++ {
		for i := range out {
			out[i] = math.Max(out[i], math.Abs(float64(a[ch*h*w+i])))
		}
	}
	return out
}

// MagnitudeImage renders an attribution's per-pixel magnitude (MagnitudeMap)
// from 0 (dark blue) to its largest value (yellow).
func MagnitudeImage(a []float32, c, h, w int) image.Image {
	m := MagnitudeMap(a, c, h, w)
	_, hi := MinMax(m)
	return HeatmapRange(m, h, w, 0, hi)
}

// ActMaxImage renders a picture from activation maximization stretched to
// full contrast (its minimum black, its maximum white, all channels
// together): the pictures live in model input space, where the mean image
// is zero and values leave the range of real pictures.
func ActMaxImage(x []float32, c, h, w int) image.Image {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, a := range x {
		lo, hi = math.Min(lo, float64(a)), math.Max(hi, float64(a))
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	v := make([]float32, len(x))
	for i, a := range x {
		v[i] = float32(2*(float64(a)-lo)/span - 1)
	}
	return ProjectionImage(v, c, h, w)
}
