package experiments

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"sort"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/zfnet"
)

// Occlusion sensitivity (the paper's Fig. 7): is the network looking at the
// object or only at its surroundings? A gray square slides over the image;
// for every position the network runs on the occluded copy and we record
// the total activation of the strongest top-layer feature map, the
// probability of the correct class and the most probable label. The
// probability drops sharply when the square covers what the classifier
// relies on, and the top feature map goes dark when its own visual
// element (its projection) is covered.

// OcclusionConfig sets the occluder.
type OcclusionConfig struct {
	Size   int // side of the square in input pixels
	Stride int // step between positions
	// Fill is the occluder's value in model input space, where 0 is the
	// mean image: the paper's gray square is the mean.
	Fill float32
	// Layer is the feature layer watched; empty means the top convolution
	// (conv5, its rectified output), the paper's layer 5.
	Layer string
	// Map is the feature map watched; negative picks the strongest on the
	// unoccluded image (the map holding the largest single activation).
	Map int
}

// OcclusionResult is the three maps of Fig. 7 plus what they refer to.
// Position (r, c) of the Rows x Cols grid centres the square on input
// pixel (r*Stride + Stride/2, c*Stride + Stride/2), so map cells line up
// with the image when it is stretched over it; squares are clipped at the
// border.
type OcclusionResult struct {
	Config     OcclusionConfig
	Label      int // the correct class
	C, H, W    int // the input's geometry
	Rows, Cols int
	// Activation[r*Cols+c] is the total (summed over positions) activation
	// of the watched feature map with the square at (r, c); Clean* are the
	// values on the unoccluded image.
	Activation []float64
	PTrue      []float64
	Predicted  []int
	Map        int              // the watched feature map
	Strongest  deconvnet.Picked // its strongest activation on the unoccluded image
	CleanAct   float64
	CleanP     float64
	CleanPred  int
	// Input is the unoccluded model input (C x H x W) and Projection the
	// deconvnet projection of Strongest into pixel space.
	Input      []float32
	Projection []float32
}

// Square is the occluder's pixel rectangle at grid position (r, c).
func (o *OcclusionResult) Square(r, c int) image.Rectangle {
	return deconvnet.OccluderWindow(o.Config.Size, o.Config.Stride, r, c)
}

// Occlude runs the occlusion experiment on one model input x (C x H x W,
// preprocessed) whose correct class is label. The occluded copies go
// through net in batches.
func Occlude(net *deconvnet.Net, x []float32, label int, cfg OcclusionConfig) (*OcclusionResult, error) {
	if net == nil {
		return nil, errors.New("occlusion: no network")
	}
	if err := cfg.check(net.Model, x, label); err != nil {
		return nil, err
	}
	in := net.Model.Arch.Input
	h, w := in[1], in[2]
	res := &OcclusionResult{Config: cfg, Label: label, C: in[0], H: h, W: w, Rows: (h + cfg.Stride - 1) / cfg.Stride, Cols: (w + cfg.Stride - 1) / cfg.Stride}
	res.Input = append([]float32(nil), x...)
	hw, err := res.clean(net, x)
	if err != nil {
		return nil, err
	}
	if err := res.sweep(net, x, hw); err != nil {
		return nil, err
	}
	return res, nil
}

// check validates cfg for m, the input x and its label, and fills in the
// default layer.
func (cfg *OcclusionConfig) check(m *zfnet.Model, x []float32, label int) error {
	in := m.Arch.Input
	c, h, w := in[0], in[1], in[2]
	if len(x) != c*h*w {
		return errors.Errorf("occlusion: input has %d values, %s takes %dx%dx%d", len(x), m.Arch.Name, c, h, w)
	}
	if label < 0 || label >= m.Arch.Classes {
		return errors.Errorf("occlusion: label %d is outside %s's %d classes", label, m.Arch.Name, m.Arch.Classes)
	}
	if cfg.Size < 1 || cfg.Size > max(h, w) {
		return errors.Errorf("occlusion: square size %d must be between 1 and %d pixels", cfg.Size, max(h, w))
	}
	if cfg.Stride < 1 || cfg.Stride > max(h, w) {
		return errors.Errorf("occlusion: stride %d must be between 1 and %d pixels", cfg.Stride, max(h, w))
	}
	if f := float64(cfg.Fill); math.IsNaN(f) || math.IsInf(f, 0) {
		return errors.Errorf("occlusion: fill value %g must be finite", cfg.Fill)
	}
	if cfg.Layer == "" {
		cfg.Layer = m.TopConvLayer()
	}
	return nil
}

// clean runs the unoccluded image: the class probability and prediction,
// the watched map (the strongest when none is asked for), its total and
// the projection of its strongest activation. It returns the positions
// per map of the watched layer.
func (res *OcclusionResult) clean(net *deconvnet.Net, x []float32) (int, error) {
	cfg := res.Config
	var clean []float32
	err := net.ForwardEach(1, func(_ int, dst []float32) error { copy(dst, x); return nil },
		func(_, slot int, logits []float32) error {
			row, err := net.ActivationRow(cfg.Layer, slot)
			if err != nil {
				return err
			}
			clean = append([]float32(nil), row...)
			p := zfnet.Softmax(logits)
			pred, err := zfnet.Argmax64(p) // the one ranking rule: ties to the lower class, NaN an error
			if err != nil {
				return errors.Wrap(err, "class probabilities")
			}
			res.CleanP, res.CleanPred = p[res.Label], pred
			return nil
		})
	if err != nil {
		return 0, errors.Wrap(err, "occlusion: unoccluded image")
	}
	act, err := net.Activation(cfg.Layer)
	if err != nil {
		return 0, errors.Wrap(err, "occlusion")
	}
	maps := act.Shape()[1]
	hw := len(clean) / maps
	res.Map = cfg.Map
	if res.Map >= maps {
		return 0, errors.Errorf("occlusion: layer %s has %d feature maps, asked for map %d", cfg.Layer, maps, cfg.Map)
	}
	if res.Map < 0 {
		best, err := zfnet.Argmax(clean)
		if err != nil {
			return 0, errors.Wrapf(err, "occlusion: layer %s on the unoccluded image", cfg.Layer)
		}
		res.Map = best / hw
	}
	res.CleanAct = mapTotal(clean, res.Map, hw)
	proj, picked, err := net.ProjectTargets(cfg.Layer, []deconvnet.Target{{Map: res.Map, Strongest: true}}, deconvnet.Options{})
	if err != nil {
		return 0, errors.Wrap(err, "occlusion: projecting the strongest feature")
	}
	res.Projection, res.Strongest = append([]float32(nil), proj[0]...), picked[0]
	return hw, nil
}

// sweep runs x with the square at every grid position (hw: positions per
// map of the watched layer) and records the three maps.
func (res *OcclusionResult) sweep(net *deconvnet.Net, x []float32, hw int) error {
	cfg := res.Config
	n := res.Rows * res.Cols
	res.Activation, res.PTrue, res.Predicted = make([]float64, n), make([]float64, n), make([]int, n)
	input := func(i int, dst []float32) error {
		copy(dst, x)
		fillRect(dst, res.C, res.H, res.W, res.Square(i/res.Cols, i%res.Cols), cfg.Fill)
		return nil
	}
	visit := func(i, slot int, logits []float32) error {
		row, err := net.ActivationRow(cfg.Layer, slot)
		if err != nil {
			return err
		}
		res.Activation[i] = mapTotal(row, res.Map, hw)
		p := zfnet.Softmax(logits)
		pred, err := zfnet.Argmax64(p)
		if err != nil {
			return errors.Wrapf(err, "class probabilities with the square at position %d", i)
		}
		res.PTrue[i], res.Predicted[i] = p[res.Label], pred
		return nil
	}
	return errors.Wrap(net.ForwardEach(n, input, visit), "occlusion")
}

func mapTotal(row []float32, m, hw int) float64 {
	var s float64
	for _, v := range row[m*hw : (m+1)*hw] {
		s += float64(v)
	}
	return s
}

// OcclusionFigure lays out Fig. 7 for one image, side by side: (a) the
// input with the occluder drawn where it hurts the correct class most,
// (b) the watched feature map's total activation as a function of the
// square's position, overlaid on the image, (c) the deconvnet projection of
// that map's strongest activation, (d) the probability of the correct class
// overlaid on the image, (e) the most probable label at each position, one
// colour per class with a legend. Heatmaps run from their minimum (dark
// blue) to their maximum (yellow), printed below them. mean adds the mean
// back for display (nil: show the input as is); scale enlarges the pictures
// (nearest neighbour; 8 suits 28x28 digits).
func OcclusionFigure(r *OcclusionResult, mean *data.Mean, classes []string, scale int) (image.Image, error) {
	if r == nil || len(r.Activation) == 0 {
		return nil, errors.New("occlusion figure: no result")
	}
	scale = max(1, scale)
	c, h, w := r.C, r.H, r.W
	n := c * h * w
	g := data.Geometry{C: c, H: h, W: w}
	if n == 0 || len(r.Input) != n || len(r.Projection) != n {
		return nil, errors.Errorf("occlusion figure: input of %d values and projection of %d for a %v picture", len(r.Input), len(r.Projection), g)
	}
	base := figure.Scale(data.ToImage(r.Input, g, mean), scale)
	name := func(k int) string { return figure.ClassName(classes, k) }
	lo, hi := figure.MinMax(r.Activation)
	plo, _ := figure.MinMax(r.PTrue)
	// (b), (d): heatmaps over the image. Probabilities keep their absolute
	// scale (0 dark blue, 1 yellow): a drop from 1 to 0.98 must not look
	// like one to 0.
	act := figure.Overlay(base, figure.Heatmap(r.Activation, r.Rows, r.Cols), 0.6)
	prob := figure.Overlay(base, figure.HeatmapRange(r.PTrue, r.Rows, r.Cols, 0, 1), 0.6)
	labelMap, swatches := r.labelMap(base, name)
	panels := []figure.Panel{
		{Image: r.worstSquare(base, mean, scale), Title: "(a) input",
			Lines: []string{"true: " + name(r.Label), fmt.Sprintf("P=%.3f unoccluded", r.CleanP), "red: most damaging square"}},
		{Image: act, Title: fmt.Sprintf("(b) %s map %d total", r.Config.Layer, r.Map), Bar: &figure.ColourBar{Lo: fmt.Sprintf("%.3g", lo), Hi: fmt.Sprintf("%.3g", hi)},
			Lines: []string{fmt.Sprintf("unoccluded %.3g", r.CleanAct)}},
		{Image: figure.Scale(figure.ProjectionImage(r.Projection, c, h, w), scale), Title: fmt.Sprintf("(c) projection of map %d", r.Map),
			Lines: []string{fmt.Sprintf("from (%d,%d), activation %.3g", r.Strongest.Y, r.Strongest.X, r.Strongest.Value)}},
		{Image: prob, Title: "(d) P(" + name(r.Label) + ")", Bar: &figure.ColourBar{Lo: "0", Hi: "1"}, Lines: []string{fmt.Sprintf("lowest %.3f", plo)}},
		{Image: labelMap, Title: "(e) most probable label", Swatches: swatches},
	}
	return figure.Panels(panels), nil
}

// worstSquare is panel (a): the input (base, enlarged scale times) with the
// occluder drawn, outlined in red, where it hurts the correct class most.
func (r *OcclusionResult) worstSquare(base image.Image, mean *data.Mean, scale int) image.Image {
	g := data.Geometry{C: r.C, H: r.H, W: r.W}
	worst := argmin(r.PTrue)
	in := figure.ToRGBA(base)
	sq := r.Square(worst/r.Cols, worst%r.Cols).Intersect(image.Rect(0, 0, r.W, r.H))
	sq = image.Rect(sq.Min.X*scale, sq.Min.Y*scale, sq.Max.X*scale, sq.Max.Y*scale)
	fill := make([]float32, g.Size())
	for i := range fill {
		fill[i] = r.Config.Fill
	}
	fillImg := figure.Scale(data.ToImage(fill, g, mean), scale)
	draw.Draw(in, sq, fillImg, sq.Min, draw.Src)
	figure.Outline(in, sq, color.RGBA{255, 40, 40, 255})
	return in
}

// labelMap is panel (e): the most probable label by position, one colour
// per class, over base, with a legend entry per class present.
func (r *OcclusionResult) labelMap(base image.Image, name func(int) string) (image.Image, []figure.Swatch) {
	var present []int
	seen := map[int]bool{}
	lm := image.NewRGBA(image.Rect(0, 0, r.Cols, r.Rows))
	for i, p := range r.Predicted {
		lm.SetRGBA(i%r.Cols, i/r.Cols, figure.ClassColour(p))
		if !seen[p] {
			seen[p] = true
			present = append(present, p)
		}
	}
	sort.Ints(present)
	var swatches []figure.Swatch
	for _, k := range present {
		swatches = append(swatches, figure.Swatch{Colour: figure.ClassColour(k), Text: name(k)})
	}
	return figure.OverlayNearest(base, lm, 0.75), swatches
}

func argmin(v []float64) int {
	best := 0
	for i, x := range v {
		if x < v[best] {
			best = i
		}
	}
	return best
}
