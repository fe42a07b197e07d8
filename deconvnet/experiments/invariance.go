package experiments

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"github.com/pkg/errors"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/zfnet"
)

// Invariance (the paper's Fig. 5): how far the features of a transformed
// picture move from those of the original, low in the network (layer 1)
// and high (layer 7), and whether the classifier still sees the true class.
// The paper finds small transformations change layer 1 a lot but layer 7
// far less, and the output is stable to translation and scaling but not to
// rotation (except for rotationally symmetric objects).

// Sweep is one transformation kind applied over a range of amounts.
type Sweep struct {
	Kind    TransformKind
	Amounts []float64
}

// InvarianceConfig chooses the transformations and the compared layers.
type InvarianceConfig struct {
	Sweeps []Sweep
	// LowLayer and HighLayer are the compared layers; empty means "conv1"
	// (its rectified output) and the model's PenultimateLayer (fc7 in the paper's
	// 8-layer nets, including zfnet-small).
	LowLayer, HighLayer string
	// Fill is the value of pixels a transform uncovers, per channel on the
	// [0,1] scale; nil uses each picture's BackgroundFill.
	Fill []float32
}

// DefaultSweeps are ranges like the paper's, scaled to an h x w picture:
// vertical translation by up to a quarter of the height, scale 0.5 to 1.5
// (the paper goes up to 1.8 on objects that fill less of the frame), and a
// full turn in steps of 15 degrees.
func DefaultSweeps(h, w int) []Sweep {
	r := max(1, h/4)
	step := max(1, r/6)
	tr, _ := Range(float64(-r), float64(r), float64(step))
	sc, _ := Range(0.5, 1.5, 0.1)
	ro, _ := Range(0, 360, 15)
	return []Sweep{{TranslateY, tr}, {Zoom, sc}, {Rotate, ro}}
}

// Range lists from, from+step, ... up to to (inclusive, within rounding).
func Range(from, to, step float64) ([]float64, error) {
	for _, v := range []float64{from, to, step} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.Errorf("range %g:%g:%g: values must be finite", from, to, step)
		}
	}
	if step <= 0 {
		return nil, errors.Errorf("range %g:%g:%g: the step must be positive", from, to, step)
	}
	if to < from {
		return nil, errors.Errorf("range %g:%g:%g: the end is below the start", from, to, step)
	}
	n := int(math.Floor((to-from)/step+1e-9)) + 1
	if n > 10000 {
		return nil, errors.Errorf("range %g:%g:%g has %d values; at most 10000", from, to, step, n)
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = math.Round((from+float64(i)*step)*1e9) / 1e9
	}
	return v, nil
}

// InvarianceCurve is one sample picture under one sweep.
type InvarianceCurve struct {
	Sample  int // index into the samples given to Invariance
	Label   int // the true class
	Kind    TransformKind
	Amounts []float64
	// LowDist and HighDist are the Euclidean distances of the transformed
	// picture's feature vectors from the original's (what the paper plots);
	// LowNorm and HighNorm are the original's feature norms, to normalize by.
	LowDist, HighDist []float64
	LowNorm, HighNorm float64
	PTrue             []float64 // softmax probability of Label
	Predicted         []int     // the most probable class
	// Views are the transformed pictures as the model saw them (the model
	// input with the mean added back), for the strip image.
	Views []image.Image
}

// Distances returns the layer-1 (high false) or layer-7 (high true)
// distances, divided by the original's feature norm when normalized.
func (c *InvarianceCurve) Distances(high, normalized bool) []float64 {
	d, n := c.LowDist, c.LowNorm
	if high {
		d, n = c.HighDist, c.HighNorm
	}
	out := append([]float64(nil), d...)
	if normalized && n > 0 {
		for i := range out {
			out[i] /= n
		}
	}
	return out
}

// InvarianceResult holds every curve: Curves[s*Samples+i] is sample i under
// Sweeps[s].
type InvarianceResult struct {
	LowLayer, HighLayer string
	Sweeps              []Sweep
	Samples             int
	Curves              []InvarianceCurve
}

// Curve returns sample i under sweep s.
func (r *InvarianceResult) Curve(s, i int) *InvarianceCurve { return &r.Curves[s*r.Samples+i] }

// Invariance transforms every sample (decoded base pictures in [0,1], of
// pre.BaseGeometry(), e.g. from pre.Base; Label is the true class) by every
// amount of every sweep, feeds the centre crop minus mean to the network,
// and measures feature distances from the untransformed picture and the
// probability of the true class.
func Invariance(net *deconvnet.Net, pre data.Preprocess, mean *data.Mean, samples []*data.Image, cfg InvarianceConfig) (*InvarianceResult, error) {
	if net == nil {
		return nil, errors.New("invariance: no network")
	}
	if len(samples) == 0 {
		return nil, errors.New("invariance: no sample pictures")
	}
	if len(cfg.Sweeps) == 0 {
		return nil, errors.New("invariance: no transformations to sweep")
	}
	if err := checkInvariance(net.Model, pre, mean, samples, cfg); err != nil {
		return nil, err
	}
	m := net.Model
	r := &InvarianceResult{LowLayer: cfg.LowLayer, HighLayer: cfg.HighLayer, Sweeps: cfg.Sweeps, Samples: len(samples)}
	if r.LowLayer == "" {
		r.LowLayer = "conv1"
	}
	if r.HighLayer == "" {
		r.HighLayer = m.PenultimateLayer()
	}
	for _, l := range []string{r.LowLayer, r.HighLayer} {
		if _, err := deconvnet.Resolve(m, l); err != nil {
			return nil, errors.Wrap(err, "invariance")
		}
	}
	if err := r.measure(net, pre, mean, samples, cfg.Fill, r.jobs(samples)); err != nil {
		return nil, err
	}
	return r, nil
}

// checkInvariance says whether the preprocessing, the mean, the samples
// and the sweeps fit m and each other.
func checkInvariance(m *zfnet.Model, pre data.Preprocess, mean *data.Mean, samples []*data.Image, cfg InvarianceConfig) error {
	g := pre.Geometry
	if in := m.Arch.Input; g.C != in[0] || g.H != in[1] || g.W != in[2] {
		return errors.Errorf("invariance: preprocessing makes %v inputs, %s takes %dx%dx%d", g, m.Arch.Name, in[0], in[1], in[2])
	}
	bg := pre.BaseGeometry()
	if mean != nil && len(mean.Pix) > 0 && (mean.C != bg.C || mean.H != bg.H || mean.W != bg.W) { // a Mean without Pix only says how to display
		return errors.Errorf("invariance: mean image %v does not match the base pictures %v", mean.Geometry(), bg)
	}
	for i, s := range samples {
		if s == nil || s.C != bg.C || s.H != bg.H || s.W != bg.W || len(s.Pix) < bg.Size() {
			return errors.Errorf("invariance: sample %d is not a %v picture", i, bg)
		}
		if s.Label < 0 || s.Label >= m.Arch.Classes {
			return errors.Errorf("invariance: sample %d has label %d; %s has %d classes", i, s.Label, m.Arch.Name, m.Arch.Classes)
		}
	}
	for _, sw := range cfg.Sweeps {
		if len(sw.Amounts) == 0 {
			return errors.Errorf("invariance: the %v sweep has no amounts", sw.Kind)
		}
	}
	return nil
}

// invarianceJob is one forward pass of the experiment: sample under
// amount step of sweep (sweep -1: the untransformed sample).
type invarianceJob struct{ sweep, sample, step int }

// jobs adds a curve per sweep and sample to r (Curves[s*Samples+i]) and
// lists the passes: the untransformed samples first (their features are
// the reference for everything after), then sweep by sweep.
func (r *InvarianceResult) jobs(samples []*data.Image) []invarianceJob {
	jobs := make([]invarianceJob, 0, len(samples))
	for i := range samples {
		jobs = append(jobs, invarianceJob{-1, i, 0})
	}
	for s, sw := range r.Sweeps {
		for i := range samples {
			c := InvarianceCurve{Sample: i, Label: samples[i].Label, Kind: sw.Kind, Amounts: append([]float64(nil), sw.Amounts...)}
			n := len(sw.Amounts)
			c.LowDist, c.HighDist, c.PTrue = make([]float64, n), make([]float64, n), make([]float64, n)
			c.Predicted, c.Views = make([]int, n), make([]image.Image, n)
			r.Curves = append(r.Curves, c)
			for k := range sw.Amounts {
				jobs = append(jobs, invarianceJob{s, i, k})
			}
		}
	}
	return jobs
}

// measure runs the jobs and fills the curves: each transformed picture's
// feature distances from its sample's and the true class's probability.
// fill is the value of uncovered pixels (nil: each picture's
// BackgroundFill).
func (r *InvarianceResult) measure(net *deconvnet.Net, pre data.Preprocess, mean *data.Mean, samples []*data.Image, fill []float32, jobs []invarianceJob) error {
	g := pre.Geometry
	refLow := make([][]float32, len(samples))
	refHigh := make([][]float32, len(samples))
	input := func(j int, dst []float32) error {
		jb := jobs[j]
		src := samples[jb.sample]
		if jb.sweep >= 0 {
			sw := r.Sweeps[jb.sweep]
			f := fill
			if f == nil {
				f = BackgroundFill(src)
			}
			t := Transform{Kind: sw.Kind, Amount: sw.Amounts[jb.step]}
			var err error
			if src, err = t.Apply(src, f); err != nil {
				return errors.Wrapf(err, "invariance: sample %d", jb.sample)
			}
		}
		pre.ApplyCrop(src.Pix, mean, pre.CenterCrop(), dst)
		if jb.sweep >= 0 {
			r.Curve(jb.sweep, jb.sample).Views[jb.step] = data.ToImage(dst, g, mean)
		}
		return nil
	}
	visit := func(j, slot int, logits []float32) error {
		jb := jobs[j]
		low, err := net.ActivationRow(r.LowLayer, slot)
		if err != nil {
			return err
		}
		high, err := net.ActivationRow(r.HighLayer, slot)
		if err != nil {
			return err
		}
		if jb.sweep < 0 {
			refLow[jb.sample] = append([]float32(nil), low...)
			refHigh[jb.sample] = append([]float32(nil), high...)
			for s := range r.Sweeps {
				c := r.Curve(s, jb.sample)
				c.LowNorm, c.HighNorm = norm(low), norm(high)
			}
			return nil
		}
		c := r.Curve(jb.sweep, jb.sample)
		c.LowDist[jb.step] = distance(low, refLow[jb.sample])
		c.HighDist[jb.step] = distance(high, refHigh[jb.sample])
		p := zfnet.Softmax(logits)
		c.PTrue[jb.step] = p[c.Label]
		pred, err := zfnet.Argmax(logits)
		if err != nil {
			return errors.Wrapf(err, "sample %d", jb.sample)
		}
		c.Predicted[jb.step] = pred
		return nil
	}
	return errors.Wrap(net.ForwardEach(len(jobs), input, visit), "invariance")
}

func distance(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

func norm(a []float32) float64 {
	var s float64
	for _, v := range a {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

// PlotInvariance draws the Fig. 5 panels into one PNG: a row per sweep and
// three columns (layer-1 distance, layer-7 distance, probability of the
// true class), one line per sample picture labelled with its class.
// normalized divides distances by the original picture's feature norm, so
// that layers of different magnitude compare; the paper plots raw distances.
func PlotInvariance(path string, r *InvarianceResult, classes []string, normalized bool) error {
	if r == nil || len(r.Curves) == 0 {
		return errors.New("invariance plot: no curves")
	}
	rows := make([][]*plot.Plot, len(r.Sweeps))
	what := "Euclidean distance"
	if normalized {
		what = "distance / norm of original"
	}
	for s, sw := range r.Sweeps {
		low, high, prob := plot.New(), plot.New(), plot.New()
		low.Title.Text = fmt.Sprintf("%s: layer 1 (%s)", sw.Kind, r.LowLayer)
		high.Title.Text = fmt.Sprintf("%s: layer 7 (%s)", sw.Kind, r.HighLayer)
		prob.Title.Text = fmt.Sprintf("%s: P(true class)", sw.Kind)
		low.Y.Label.Text, high.Y.Label.Text, prob.Y.Label.Text = what, what, "probability"
		prob.Y.Min, prob.Y.Max = 0, 1.02
		for _, p := range []*plot.Plot{low, high, prob} {
			p.X.Label.Text = sw.Kind.Unit()
			p.Add(plotter.NewGrid())
			p.Legend.Top = true
			p.Legend.TextStyle.Font.Size = vg.Points(9)
		}
		// The distance plots carry the legend (the probability plot uses the
		// same colours); headroom keeps it clear of the curves.
		for j, p := range []*plot.Plot{low, high} {
			top := 0.0
			for i := 0; i < r.Samples; i++ {
				for _, v := range r.Curve(s, i).Distances(j == 1, normalized) {
					top = math.Max(top, v)
				}
			}
			p.Y.Min, p.Y.Max = 0, math.Max(top, 1e-9)*(1.15+0.09*float64(r.Samples))
		}
		for i := 0; i < r.Samples; i++ {
			c := r.Curve(s, i)
			name := fmt.Sprintf("#%d", i+1)
			if c.Label < len(classes) {
				name = fmt.Sprintf("%s (#%d)", classes[c.Label], i+1)
			}
			col := figure.ClassColour(i)
			for j, ys := range [][]float64{c.Distances(false, normalized), c.Distances(true, normalized), c.PTrue} {
				xy := make(plotter.XYs, len(ys))
				for k := range ys {
					xy[k].X, xy[k].Y = c.Amounts[k], ys[k]
				}
				l, pts, err := plotter.NewLinePoints(xy)
				if err != nil {
					return errors.Wrap(err, "invariance plot")
				}
				l.Color, pts.Color = col, col
				l.Width = vg.Points(1.5)
				pts.Shape = vgdraw.CircleGlyph{}
				pts.Radius = vg.Points(1.8)
				p := []*plot.Plot{low, high, prob}[j]
				p.Add(l, pts)
				if j < 2 {
					p.Legend.Add(name, l, pts)
				}
			}
		}
		rows[s] = []*plot.Plot{low, high, prob}
	}
	return figure.SavePlots(path, 4.2*vg.Inch, 3.2*vg.Inch, rows)
}

// InvarianceStrip shows the transformed inputs of one sweep as the model saw
// them: a row per sample, a column per amount labelled above, each picture
// enlarged by scale (nearest neighbour).
func InvarianceStrip(r *InvarianceResult, sweep, scale int) (image.Image, error) {
	if r == nil || sweep < 0 || sweep >= len(r.Sweeps) {
		return nil, errors.Errorf("invariance strip: no sweep %d", sweep)
	}
	scale = max(1, scale)
	sw := r.Sweeps[sweep]
	var cells []image.Image
	for i := 0; i < r.Samples; i++ {
		for _, v := range r.Curve(sweep, i).Views {
			cells = append(cells, figure.Scale(v, scale))
		}
	}
	grid := figure.Grid(cells, len(sw.Amounts), 2, color.White)
	cw := cells[0].Bounds().Dx()
	head := figure.TextHeight + 6
	out := image.NewRGBA(image.Rect(0, 0, grid.Bounds().Dx(), grid.Bounds().Dy()+2*head))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	figure.Text(out, 4, 3, fmt.Sprintf("%s (%s)", sw.Kind, sw.Kind.Unit()), color.Black)
	for k, a := range sw.Amounts {
		s := Transform{sw.Kind, a}.String()
		x := 2 + k*(cw+2) + (cw-figure.TextWidth(s))/2
		figure.Text(out, x, head+3, s, color.Black)
	}
	draw.Draw(out, grid.Bounds().Add(image.Pt(0, 2*head)), grid, image.Point{}, draw.Src)
	return out, nil
}
