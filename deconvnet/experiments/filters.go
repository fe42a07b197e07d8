package experiments

import (
	"fmt"
	"image"
	"math"
	"sort"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/nn"
	"github.com/zfnet/zfnet/zfnet"
)

// Layer-1 filters are the one place where weights are pictures themselves.
// The paper (Fig. 6) uses them to diagnose training: AlexNet's large
// stride-4 filters mix very high and very low frequencies with little in
// between and show aliasing, some are dead; ZFNet's smaller stride-2 7x7
// filters are cleaner. It also shows that without renormalizing filters
// whose RMS exceeds a fixed radius, a few filters come to dominate.

// CompareFilters shows the layer-1 filters of models side by side, each
// under its label (default: the architecture's name), as in the paper's
// Fig. 6 (c) and (d).
func CompareFilters(a, b *zfnet.Model, labels ...string) (image.Image, error) {
	var panels []image.Image
	for i, m := range []*zfnet.Model{a, b} {
		p, err := m.FirstFilters()
		if err != nil {
			return nil, errors.Wrap(err, "compare filters")
		}
		img, err := figure.FilterImage(p)
		if err != nil {
			return nil, err
		}
		s := p.Value.Shape()
		label := fmt.Sprintf("%s: %d filters %dx%d", m.Arch.Name, s[0], s[2], s[3])
		if i < len(labels) && labels[i] != "" {
			label = labels[i]
		}
		panels = append(panels, figure.Titled(img, label, figure.Ink))
	}
	return figure.Padded(figure.Row(panels, 24, figure.Paper), 6, figure.Paper), nil
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
	out, in, kh, kw, err := figure.FilterShape(p)
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
	if _, _, _, _, err := figure.FilterShape(p); err != nil {
		return nil, err
	}
	c := &nn.Param{Name: p.Name, Decay: p.Decay, Filters: p.Filters,
		Value: tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(p.Value.Shape().Clone()...))}
	copy(c.Data(), p.Data())
	zfnet.RenormalizeFilters(c, radius)
	return c, nil
}

// RenormalizationComparison renders p's filters as they are and after
// renormalization to radius, both on one shared scale (FilterGrid figure.Shared)
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
		img, err := figure.FilterGrid(q, figure.Shared)
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
		panel := figure.Captioned(figure.Titled(img, title, figure.Ink), fmt.Sprintf("RMS median %.3g, max %.3g", st.Median, st.Max), figure.Muted)
		panel = figure.Captioned(panel, fmt.Sprintf("%d over radius, %d dominating, %d dead", st.OverRadius, st.Dominant, st.Dead), figure.Muted)
		panels = append(panels, panel)
	}
	return figure.Padded(figure.Row(panels, 24, figure.Paper), 6, figure.Paper), stats[0], stats[1], nil
}
