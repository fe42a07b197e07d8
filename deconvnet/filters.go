package deconvnet

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sort"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/zfnet/zfnet/nn"
	"github.com/zfnet/zfnet/zfnet"
)

// Layer-1 filters are the one place where weights are pictures themselves.
// The paper (Fig. 6) uses them to diagnose training: AlexNet's large
// stride-4 filters mix very high and very low frequencies with little in
// between and show aliasing, some are dead; ZFNet's smaller stride-2 7x7
// filters are cleaner. It also shows that without renormalizing filters
// whose RMS exceeds a fixed radius, a few filters come to dominate.

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
	out, in, kh, kw, err := filterShape(p)
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

func filterShape(p *nn.Param) (out, in, kh, kw int, err error) {
	if p == nil || p.Value == nil {
		return 0, 0, 0, 0, errors.New("filter image: nil parameter")
	}
	s := p.Value.Shape()
	if len(s) != 4 || s.TotalSize() == 0 {
		return 0, 0, 0, 0, errors.Errorf("filter image: %s has shape %v, expected a convolution weight (out, in, k, k)", p.Name, []int(s))
	}
	return s[0], s[1], s[2], s[3], nil
}

// FirstFilters is the weight of a model's first convolution.
func FirstFilters(m *zfnet.Model) (*nn.Param, error) {
	if m == nil {
		return nil, errors.New("filters: nil model")
	}
	for _, l := range m.Layers() {
		if c, ok := l.(*nn.Conv2d); ok {
			return c.Weight, nil
		}
	}
	return nil, errors.Errorf("filters: %s has no convolution", m.Arch.Name)
}

// CompareFilters shows the layer-1 filters of models side by side, each
// under its label (default: the architecture's name), as in the paper's
// Fig. 6 (c) and (d).
func CompareFilters(a, b *zfnet.Model, labels ...string) (image.Image, error) {
	var panels []image.Image
	for i, m := range []*zfnet.Model{a, b} {
		p, err := FirstFilters(m)
		if err != nil {
			return nil, errors.Wrap(err, "compare filters")
		}
		img, err := FilterImage(p)
		if err != nil {
			return nil, err
		}
		s := p.Value.Shape()
		label := fmt.Sprintf("%s: %d filters %dx%d", m.Arch.Name, s[0], s[2], s[3])
		if i < len(labels) && labels[i] != "" {
			label = labels[i]
		}
		panels = append(panels, figTitled(img, label, figInk))
	}
	return figPadded(figRow(panels, 24, figPaper), 6, figPaper), nil
}

// FilterStats summarizes the per-filter RMS of a convolution weight: the
// quantity the paper's renormalization bounds.
type FilterStats struct {
	RMS            []float64 // per filter
	Median, Max    float64
	Radius         float64
	OverRadius     int // filters whose RMS exceeds Radius (renormalization scales them back)
	Dominant, Dead int // RMS above 3x the median; below a tenth of it
}

// FilterRMS computes the stats of p against radius.
func FilterRMS(p *nn.Param, radius float64) (FilterStats, error) {
	out, in, kh, kw, err := filterShape(p)
	if err != nil {
		return FilterStats{}, err
	}
	w := p.Data()
	size := in * kh * kw
	st := FilterStats{RMS: make([]float64, out), Radius: radius}
	for o := range st.RMS {
		var ss float64
		for _, v := range w[o*size : (o+1)*size] {
			ss += float64(v) * float64(v)
		}
		st.RMS[o] = math.Sqrt(ss / float64(size))
	}
	sorted := append([]float64(nil), st.RMS...)
	sort.Float64s(sorted)
	st.Median, st.Max = sorted[len(sorted)/2], sorted[len(sorted)-1]
	if len(sorted)%2 == 0 {
		st.Median = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	for _, r := range st.RMS {
		// Renormalized filters sit at the radius up to float32 rounding,
		// which must not count as over it.
		if radius > 0 && r > radius*(1+1e-5) {
			st.OverRadius++
		}
		if r > 3*st.Median {
			st.Dominant++
		}
		if r < 0.1*st.Median {
			st.Dead++
		}
	}
	return st, nil
}

// String is a one-line caption.
func (s FilterStats) String() string {
	return fmt.Sprintf("filter RMS median %.3g, max %.3g; %d over the radius %.3g, %d dominating (> 3x median), %d dead (< 0.1x median) of %d",
		s.Median, s.Max, s.OverRadius, s.Radius, s.Dominant, s.Dead, len(s.RMS))
}

// Renormalized returns a copy of p with zfnet.RenormalizeFilters applied
// (p itself is not touched: it is shared with the model's graphs).
func Renormalized(p *nn.Param, radius float64) (*nn.Param, error) {
	if _, _, _, _, err := filterShape(p); err != nil {
		return nil, err
	}
	c := &nn.Param{Name: p.Name, Decay: p.Decay, Filters: p.Filters,
		Value: tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(p.Value.Shape().Clone()...))}
	copy(c.Data(), p.Data())
	zfnet.RenormalizeFilters(c, radius)
	return c, nil
}

// RenormalizationComparison renders p's filters as they are and after
// renormalization to radius, both on one shared scale (FilterGrid Shared)
// so that the strength of each filter shows, with the RMS stats of each as
// a caption line under it (the paper's Fig. 6 (a) and (b)). It returns the
// picture and the stats before and after.
func RenormalizationComparison(p *nn.Param, radius float64) (image.Image, FilterStats, FilterStats, error) {
	if radius <= 0 {
		return nil, FilterStats{}, FilterStats{}, errors.Errorf("renormalization: radius %g; expected > 0", radius)
	}
	r, err := Renormalized(p, radius)
	if err != nil {
		return nil, FilterStats{}, FilterStats{}, err
	}
	var panels []image.Image
	var stats [2]FilterStats
	for i, q := range []*nn.Param{p, r} {
		img, err := FilterGrid(q, Shared)
		if err != nil {
			return nil, FilterStats{}, FilterStats{}, err
		}
		if stats[i], err = FilterRMS(q, radius); err != nil {
			return nil, FilterStats{}, FilterStats{}, err
		}
		title := "as trained"
		if i == 1 {
			title = fmt.Sprintf("renormalized to RMS <= %g", radius)
		}
		st := stats[i]
		panel := figCaptioned(figTitled(img, title, figInk), fmt.Sprintf("RMS median %.3g, max %.3g", st.Median, st.Max), figMuted)
		panel = figCaptioned(panel, fmt.Sprintf("%d over radius, %d dominating, %d dead", st.OverRadius, st.Dominant, st.Dead), figMuted)
		panels = append(panels, panel)
	}
	return figPadded(figRow(panels, 24, figPaper), 6, figPaper), stats[0], stats[1], nil
}
