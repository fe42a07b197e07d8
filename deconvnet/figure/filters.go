package figure

import (
	"image"
	"image/color"
	"math"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/nn"
)

// Layer-1 filters are the one place where weights are pictures themselves
// (the paper's Fig. 6).

// FilterScale says how filter pictures are scaled to gray levels.
type FilterScale int

const (
	// PerFilter stretches each filter from its minimum to its maximum on
	// its own: shows the pattern every filter has learned, whatever its
	// strength.
	PerFilter FilterScale = iota
	// Shared uses one scale for all filters, zero at mid-gray and the
	// largest weight magnitude of the layer at black or white: shows their
	// relative strength, so dominating filters stand out and dead ones fade
	// to gray. Renormalization only rescales whole filters, so this is the
	// scale that shows its effect.
	Shared
)

// FilterImage renders a convolution weight (Out, In, k, k) as a grid of
// its filters, each stretched independently from its smallest to its
// largest weight (full contrast): colour for 3 input channels
// (the channels scaled together, so hues are kept), gray otherwise (the
// mean over input channels when there are not 1 or 3). Layer-1 filters
// only read as pictures; deeper ones render but mean little.
func FilterImage(p *nn.Param) (image.Image, error) {
	return FilterGrid(p, PerFilter)
}

// FilterGrid is FilterImage with a choice of scale.
func FilterGrid(p *nn.Param, scale FilterScale) (image.Image, error) {
	out, in, kh, kw, err := FilterShape(p)
	if err != nil {
		return nil, err
	}
	w := p.Data()
	size := in * kh * kw
	var shared float64
	for _, v := range w {
		shared = math.Max(shared, math.Abs(float64(v)))
	}
	factor := max(1, 42/max(kh, kw))
	cells := make([]image.Image, out)
	for o := 0; o < out; o++ {
		f := w[o*size : (o+1)*size]
		lo, hi := -shared, shared
		if scale == PerFilter {
			lo, hi = math.Inf(1), math.Inf(-1)
			for _, v := range f {
				lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
			}
		}
		cells[o] = Scale(filterPicture(f, in, kh, kw, lo, hi), factor)
	}
	cols := 8
	if out >= 64 {
		cols = 16
	}
	if out < cols {
		cols = out
	}
	return Grid(cells, cols, 2, color.RGBA{40, 40, 40, 255}), nil
}

// filterPicture maps one filter's weights linearly from [lo, hi] to black
// to white (a constant filter is mid-gray).
func filterPicture(f []float32, in, kh, kw int, lo, hi float64) image.Image {
	span := hi - lo
	val := func(v float64) uint8 {
		if !(span > 0) {
			return 128
		}
		return uint8(math.Round(255 * math.Max(0, math.Min(1, (v-lo)/span))))
	}
	img := image.NewRGBA(image.Rect(0, 0, kw, kh))
	n := kh * kw
	for i := 0; i < n; i++ {
		o := 4 * i
		if in == 3 {
			for c := 0; c < 3; c++ {
				img.Pix[o+c] = val(float64(f[c*n+i]))
			}
		} else {
			var s float64
			for c := 0; c < in; c++ {
				s += float64(f[c*n+i])
			}
			g := val(s / float64(in))
			img.Pix[o], img.Pix[o+1], img.Pix[o+2] = g, g, g
		}
		img.Pix[o+3] = 255
	}
	return img
}

// FilterShape is a convolution weight's (out, in, kh, kw), or an error
// when p is not a non-empty 4-D weight.
func FilterShape(p *nn.Param) (out, in, kh, kw int, err error) {
	if p == nil || p.Value == nil {
		return 0, 0, 0, 0, errors.New("filter image: nil parameter")
	}
	s := p.Value.Shape()
	if len(s) != 4 || s.TotalSize() == 0 {
		return 0, 0, 0, 0, errors.Errorf("filter image: %s has shape %v, expected a convolution weight (out, in, k, k)", p.Name, []int(s))
	}
	return s[0], s[1], s[2], s[3], nil
}
