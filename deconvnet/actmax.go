package deconvnet

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/nn"
)

// Feature visualization by activation maximization (Erhan et al.,
// "Visualizing Higher-Layer Features of a Deep Network", 2009; Yosinski et
// al., "Understanding Neural Networks Through Deep Visualization", ICML DL
// workshop 2015, section 3; Olah et al., "Feature Visualization", Distill
// 2017): gradient ascent on the input for the activation of one unit, with
// regularizers that keep the picture natural. Each step, for every image
// (one per unit):
//
//  1. jitter: shift the image by a random offset in [-Jitter, Jitter]
//     pixels each way (circularly), take the gradient there, shift it back
//     (Olah et al.'s transformation robustness);
//  2. x += LR * g / (mean |g| + 1e-8): a step of fixed average size;
//  3. x *= 1 - Decay (L2 decay, Yosinski et al.'s theta_decay);
//  4. every BlurEvery steps, x = GaussianBlur(x, BlurSigma);
//  5. pixels whose norm over the channels is below the NormPercentile-th
//     percentile of the image's pixel norms are set to zero (theta_n_pct);
//  6. pixels whose contribution |sum_c x_c g_c| is below the
//     ContribPercentile-th percentile are set to zero (theta_c_pct).
//
// Percentiles are the sorted values' entry at floor(p/100 (n-1)); a pixel
// at the threshold is kept. The objective is the unit's value before its
// ReLU (a convolution's or a fully connected layer's output), so that a
// unit that starts inactive still has a gradient; for a class it is the
// logit. Everything is deterministic given Seed.

// ActMaxConfig chooses the units and the regularization.
type ActMaxConfig struct {
	// Layer is a convolutional or fully connected layer (its output before
	// the ReLU is maximized: "fc8" is the class logits) or any other layer
	// of the model, taken as it is.
	Layer string
	// Units are the feature maps (units, classes) to visualize; nil means
	// all of the layer's.
	Units []int
	// WholeMap maximizes the sum of a feature map over its positions;
	// otherwise the map's centre unit (position (H/2, W/2)).
	WholeMap bool
	Steps    int     // ascent steps
	LR       float64 // step size: the mean absolute change of x per step, in input units
	Decay    float64 // L2 decay per step, in [0, 1)
	// BlurEvery > 0 blurs every BlurEvery steps with a Gaussian of
	// BlurSigma pixels.
	BlurEvery int
	BlurSigma float64
	Jitter    int // largest random shift, pixels; 0: none
	// NormPercentile and ContribPercentile (0 to 100; 0: off) clip pixels
	// of small norm and of small contribution.
	NormPercentile, ContribPercentile float64
	// Seed seeds the start (Gaussian noise of standard deviation
	// InitScale; 0: the zero image, the mean in model input space) and
	// the jitter, from one generator per unit (Seed, unit): a unit's
	// picture does not depend on the units computed with it.
	Seed      uint64
	InitScale float64
	// Init, when not nil, is the start for every unit (C x H x W, model
	// input space), instead of noise.
	Init []float32
	// Progress, if not nil, is called after every step with the steps
	// done over all units and their total.
	Progress func(done, total int)
}

// DefaultActMax is a set of regularizers that gives recognizable pictures
// on zfnet's networks, after Yosinski et al.'s table of good settings.
func DefaultActMax(layer string) ActMaxConfig {
	return ActMaxConfig{Layer: layer, WholeMap: true, Steps: 200, LR: 0.05, Decay: 0.01, BlurEvery: 4, BlurSigma: 0.5,
		Jitter: 1, NormPercentile: 10, ContribPercentile: 10, Seed: 1, InitScale: 0.01}
}

// ActMaxResult is one picture per unit.
type ActMaxResult struct {
	Config ActMaxConfig
	Units  []int
	// Images[i] is unit Units[i]'s picture, C x H x W in model input space;
	// Start and Final are its objective at the start and at the end.
	Images       [][]float32
	Start, Final []float64
	C, H, W      int
}

// ActMax runs the gradient ascent for every unit of cfg.Units, d.Batch
// units at a time.
func ActMax(d *Net, cfg ActMaxConfig) (*ActMaxResult, error) {
	if d == nil {
		return nil, errors.New("activation maximization: no network")
	}
	obj, err := cfg.check(d)
	if err != nil {
		return nil, err
	}
	in := d.Model.Arch.Input
	res := &ActMaxResult{Config: cfg, Units: cfg.Units, C: in[0], H: in[1], W: in[2]}
	a := &ascent{d: d, cfg: cfg, obj: obj, total: len(cfg.Units) * max(cfg.Steps, 1),
		buf: make([]float32, d.Batch*in[0]*in[1]*in[2]), sig: make([]float32, d.Batch*obj.per)}
	for start := 0; start < len(cfg.Units); start += d.Batch {
		if err := a.units(res, cfg.Units[start:min(start+d.Batch, len(cfg.Units))]); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// check validates cfg for d's model, filling in Units (nil: all of the
// layer's), and returns the objective it sets.
func (cfg *ActMaxConfig) check(d *Net) (unitObjective, error) {
	m := d.Model
	layer, li := m.Layer(cfg.Layer)
	if li < 0 {
		return unitObjective{}, errors.Errorf("activation maximization: %s has no layer %q (layers: %s)", m.Arch.Name, cfg.Layer, layerNames(m))
	}
	if _, ok := layer.(*nn.Dropout); ok {
		return unitObjective{}, errors.Errorf("activation maximization: %s is a dropout layer", cfg.Layer)
	}
	obj := newUnitObjective(cfg.Layer, outShape(m, li), cfg.WholeMap)
	maps := obj.shape[0]
	if cfg.Units == nil {
		for u := 0; u < maps; u++ {
			cfg.Units = append(cfg.Units, u)
		}
	}
	for _, u := range cfg.Units {
		if u < 0 || u >= maps {
			return unitObjective{}, errors.Errorf("activation maximization: layer %s has %d units (maps), asked for %d", cfg.Layer, maps, u)
		}
	}
	switch {
	case cfg.Steps < 0:
		return unitObjective{}, errors.Errorf("activation maximization: %d steps", cfg.Steps)
	case !(cfg.LR > 0) || math.IsInf(cfg.LR, 0):
		return unitObjective{}, errors.Errorf("activation maximization: step size %g must be positive", cfg.LR)
	case !(cfg.Decay >= 0 && cfg.Decay < 1):
		return unitObjective{}, errors.Errorf("activation maximization: decay %g must be in [0, 1)", cfg.Decay)
	case cfg.BlurEvery < 0 || (cfg.BlurEvery > 0 && !(cfg.BlurSigma > 0)):
		return unitObjective{}, errors.Errorf("activation maximization: blur every %d steps with sigma %g: need a positive sigma", cfg.BlurEvery, cfg.BlurSigma)
	case cfg.Jitter < 0:
		return unitObjective{}, errors.Errorf("activation maximization: jitter %d pixels", cfg.Jitter)
	case !(cfg.NormPercentile >= 0 && cfg.NormPercentile <= 100) || !(cfg.ContribPercentile >= 0 && cfg.ContribPercentile <= 100):
		return unitObjective{}, errors.Errorf("activation maximization: percentiles %g and %g must be between 0 and 100", cfg.NormPercentile, cfg.ContribPercentile)
	case !(cfg.InitScale >= 0):
		return unitObjective{}, errors.Errorf("activation maximization: initial noise %g", cfg.InitScale)
	}
	if cfg.Init != nil {
		if err := checkInput(d, "activation maximization start", cfg.Init); err != nil {
			return unitObjective{}, err
		}
	}
	return obj, nil
}

// unitObjective is what is maximized for a unit of a layer: the unit of a
// fully connected layer, a feature map's sum (WholeMap) or its centre.
type unitObjective struct {
	layer    string
	shape    []int // the layer's output without the batch axis
	hw, per  int   // positions per map, values per batch row
	wholeMap bool
}

func newUnitObjective(layer string, shape []int, wholeMap bool) unitObjective {
	hw := 1
	if len(shape) == 3 {
		hw = shape[1] * shape[2]
	}
	return unitObjective{layer: layer, shape: shape, hw: hw, per: shape[0] * hw, wholeMap: wholeMap}
}

// signal writes into batch row slot of dst the objective's gradient with
// respect to the layer output.
func (o unitObjective) signal(slot, unit int, dst []float32) {
	row := dst[slot*o.per : (slot+1)*o.per]
	if len(o.shape) == 1 {
		row[unit] = 1
		return
	}
	if o.wholeMap {
		for j := unit * o.hw; j < (unit+1)*o.hw; j++ {
			row[j] = 1
		}
		return
	}
	row[unit*o.hw+(o.shape[1]/2)*o.shape[2]+o.shape[2]/2] = 1
}

// value is the objective of unit in batch row slot of d's latest forward
// pass.
func (o unitObjective) value(d *Net, slot, unit int) (float64, error) {
	out, err := d.fwd.Output(o.layer)
	if err != nil {
		return 0, err
	}
	a := out.Data().([]float32)[slot*o.per : (slot+1)*o.per]
	if len(o.shape) == 1 {
		return float64(a[unit]), nil
	}
	if !o.wholeMap {
		return float64(a[unit*o.hw+(o.shape[1]/2)*o.shape[2]+o.shape[2]/2]), nil
	}
	var s float64
	for _, v := range a[unit*o.hw : (unit+1)*o.hw] {
		s += float64(v)
	}
	return s, nil
}

// ascent is the state of one ActMax run: the batch buffers and the
// progress over all units.
type ascent struct {
	d           *Net
	cfg         ActMaxConfig
	obj         unitObjective
	buf, sig    []float32
	done, total int
}

// units runs the ascent for up to a batch of units together and appends
// their pictures and objectives to res.
func (a *ascent) units(res *ActMaxResult, units []int) error {
	cfg, d := a.cfg, a.d
	in := d.Model.Arch.Input
	c, h, w := in[0], in[1], in[2]
	n := c * h * w
	xs, rngs := a.starts(units, n)
	for i := range a.sig {
		a.sig[i] = 0
	}
	for i, u := range units {
		a.obj.signal(i, u, a.sig)
	}
	shifts := make([][2]int, len(units))
	for step := 0; step <= cfg.Steps; step++ {
		for i := range units {
			shifts[i] = [2]int{}
			if cfg.Jitter > 0 && step < cfg.Steps {
				shifts[i] = [2]int{rngs[i].IntN(2*cfg.Jitter+1) - cfg.Jitter, rngs[i].IntN(2*cfg.Jitter+1) - cfg.Jitter}
			}
			roll(a.buf[i*n:(i+1)*n], xs[i], c, h, w, shifts[i][0], shifts[i][1])
		}
		for s := len(units); s < d.Batch; s++ {
			copy(a.buf[s*n:(s+1)*n], a.buf[:n])
		}
		if _, err := d.Forward(a.buf); err != nil {
			return errors.Wrapf(err, "activation maximization of %s, step %d", cfg.Layer, step)
		}
		if err := a.record(res, units, step); err != nil {
			return err
		}
		if step == cfg.Steps {
			break
		}
		g, err := d.walk(cfg.Layer, "", a.sig, GradientOptions())
		if err != nil {
			return errors.Wrapf(err, "activation maximization of %s, step %d", cfg.Layer, step)
		}
		for i := range units {
			gi := make([]float64, n)
			rollBack(gi, g[i*n:(i+1)*n], c, h, w, shifts[i][0], shifts[i][1])
			ascend(xs[i], gi, c, h, w, step+1, cfg)
		}
		a.done += len(units)
		if cfg.Progress != nil {
			cfg.Progress(a.done, a.total)
		}
	}
	for i := range units {
		img := make([]float32, n)
		for j, v := range xs[i] {
			img[j] = float32(v)
		}
		res.Images = append(res.Images, img)
	}
	return nil
}

// starts are the units' starting pictures (n values each) and their
// generators. Each unit draws its start and jitter from its own generator,
// so its picture does not depend on the units computed beside it.
func (a *ascent) starts(units []int, n int) ([][]float64, []*rand.Rand) {
	cfg := a.cfg
	xs := make([][]float64, len(units))
	rngs := make([]*rand.Rand, len(units))
	for i := range xs {
		rngs[i] = rand.New(rand.NewPCG(cfg.Seed, 0xac7a11+uint64(units[i])))
		xs[i] = make([]float64, n)
		for j := range xs[i] {
			if cfg.Init != nil {
				xs[i][j] = float64(cfg.Init[j])
			} else if cfg.InitScale > 0 {
				xs[i][j] = float64(float32(cfg.InitScale * rngs[i].NormFloat64()))
			}
		}
	}
	return xs, rngs
}

// record appends the units' objectives at the first and the last step.
func (a *ascent) record(res *ActMaxResult, units []int, step int) error {
	if step != 0 && step != a.cfg.Steps {
		return nil
	}
	for i, u := range units {
		v, err := a.obj.value(a.d, i, u)
		if err != nil {
			return errors.Wrap(err, "activation maximization")
		}
		if step == 0 {
			res.Start = append(res.Start, v)
		}
		if step == a.cfg.Steps {
			res.Final = append(res.Final, v)
		}
	}
	return nil
}

// ascend applies one step's update and regularizers (2-6 above) to x,
// given the gradient g, and rounds x to float32.
func ascend(x, g []float64, c, h, w, step int, cfg ActMaxConfig) {
	var mean float64
	for _, v := range g {
		mean += math.Abs(v)
	}
	mean /= float64(len(g))
	scale := cfg.LR / (mean + 1e-8)
	for j := range x {
		x[j] = (1 - cfg.Decay) * (x[j] + scale*g[j])
	}
	if cfg.BlurEvery > 0 && step%cfg.BlurEvery == 0 {
		copy(x, gaussianBlur64(x, c, h, w, cfg.BlurSigma))
	}
	hw := h * w
	clip := func(pct float64, value func(p int) float64) {
		if pct <= 0 {
			return
		}
		v := make([]float64, hw)
		for p := range v {
			v[p] = value(p)
		}
		sorted := append([]float64(nil), v...)
		sort.Float64s(sorted)
		thr := sorted[int(math.Floor(pct/100*float64(hw-1)))]
		for p := range v {
			if v[p] < thr {
				for ch := 0; ch < c; ch++ {
					x[ch*hw+p] = 0
				}
			}
		}
	}
	clip(cfg.NormPercentile, func(p int) float64 {
		var s float64
		for ch := 0; ch < c; ch++ {
			s += x[ch*hw+p] * x[ch*hw+p]
		}
		return math.Sqrt(s)
	})
	clip(cfg.ContribPercentile, func(p int) float64 {
		var s float64
		for ch := 0; ch < c; ch++ {
			s += x[ch*hw+p] * g[ch*hw+p]
		}
		return math.Abs(s)
	})
	for j, v := range x {
		x[j] = float64(float32(v))
	}
}

// roll writes x shifted by (dy, dx) pixels, circularly, into dst.
func roll(dst []float32, x []float64, c, h, w, dy, dx int) {
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			sy := ((y-dy)%h + h) % h
			for xx := 0; xx < w; xx++ {
				sx := ((xx-dx)%w + w) % w
				dst[(ch*h+y)*w+xx] = float32(x[(ch*h+sy)*w+sx])
			}
		}
	}
}

// rollBack undoes roll for a gradient: dst(y, x) = g(y + dy, x + dx).
func rollBack(dst []float64, g []float32, c, h, w, dy, dx int) {
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			sy := ((y+dy)%h + h) % h
			for xx := 0; xx < w; xx++ {
				sx := ((xx+dx)%w + w) % w
				dst[(ch*h+y)*w+xx] = float64(g[(ch*h+sy)*w+sx])
			}
		}
	}
}

// Grid shows every unit's picture, cols per row, enlarged scale times,
// each captioned with its unit and final objective.
func (r *ActMaxResult) Grid(cols, scale int) image.Image {
	var cells []image.Image
	for i, x := range r.Images {
		cells = append(cells, figure.Captioned(figure.Scale(figure.ActMaxImage(x, r.C, r.H, r.W), max(1, scale)), fmt.Sprintf("%d: %.3g", r.Units[i], r.Final[i]), figure.Ink))
	}
	return figure.Grid(cells, max(1, cols), 4, figure.Paper)
}
