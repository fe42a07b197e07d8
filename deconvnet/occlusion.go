package deconvnet

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"sort"

	"github.com/pkg/errors"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/zfnet/zfnet/data"
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
	Map        int    // the watched feature map
	Strongest  Picked // its strongest activation on the unoccluded image
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
	return occluderRect(o.Config, r, c)
}

func occluderRect(cfg OcclusionConfig, r, c int) image.Rectangle {
	cy, cx := r*cfg.Stride+cfg.Stride/2, c*cfg.Stride+cfg.Stride/2
	y0, x0 := cy-cfg.Size/2, cx-cfg.Size/2
	return image.Rect(x0, y0, x0+cfg.Size, y0+cfg.Size)
}

// Occlude runs the occlusion experiment on one model input x (C x H x W,
// preprocessed) whose correct class is label. The occluded copies go
// through net in batches.
func Occlude(net *Net, x []float32, label int, cfg OcclusionConfig) (*OcclusionResult, error) {
	if net == nil {
		return nil, errors.New("occlusion: no network")
	}
	m := net.Model
	in := m.Arch.Input
	c, h, w := in[0], in[1], in[2]
	if len(x) != c*h*w {
		return nil, errors.Errorf("occlusion: input has %d values, %s takes %dx%dx%d", len(x), m.Arch.Name, c, h, w)
	}
	if label < 0 || label >= m.Arch.Classes {
		return nil, errors.Errorf("occlusion: label %d is outside %s's %d classes", label, m.Arch.Name, m.Arch.Classes)
	}
	if cfg.Size < 1 || cfg.Size > max(h, w) {
		return nil, errors.Errorf("occlusion: square size %d must be between 1 and %d pixels", cfg.Size, max(h, w))
	}
	if cfg.Stride < 1 || cfg.Stride > max(h, w) {
		return nil, errors.Errorf("occlusion: stride %d must be between 1 and %d pixels", cfg.Stride, max(h, w))
	}
	if f := float64(cfg.Fill); math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, errors.Errorf("occlusion: fill value %g must be finite", cfg.Fill)
	}
	if cfg.Layer == "" {
		cfg.Layer = TopConvLayer(m)
	}
	res := &OcclusionResult{Config: cfg, Label: label, C: c, H: h, W: w, Rows: (h + cfg.Stride - 1) / cfg.Stride, Cols: (w + cfg.Stride - 1) / cfg.Stride}
	res.Input = append([]float32(nil), x...)

	// The unoccluded image: choose the feature map and project it.
	var clean []float32
	err := net.forwardEach(1, func(_ int, dst []float32) error { copy(dst, x); return nil },
		func(_, slot int, logits []float32) error {
			row, err := net.featureRow(cfg.Layer, slot)
			if err != nil {
				return err
			}
			clean = append([]float32(nil), row...)
			p := zfnet.Softmax(logits)
			pred, err := zfnet.Argmax64(p) // the one ranking rule: ties to the lower class, NaN an error
			if err != nil {
				return errors.Wrap(err, "class probabilities")
			}
			res.CleanP, res.CleanPred = p[label], pred
			return nil
		})
	if err != nil {
		return nil, errors.Wrap(err, "occlusion: unoccluded image")
	}
	act, err := net.Activation(cfg.Layer)
	if err != nil {
		return nil, errors.Wrap(err, "occlusion")
	}
	maps := act.Shape()[1]
	hw := len(clean) / maps
	res.Map = cfg.Map
	if res.Map >= maps {
		return nil, errors.Errorf("occlusion: layer %s has %d feature maps, asked for map %d", cfg.Layer, maps, cfg.Map)
	}
	if res.Map < 0 {
		best, err := zfnet.Argmax(clean)
		if err != nil {
			return nil, errors.Wrapf(err, "occlusion: layer %s on the unoccluded image", cfg.Layer)
		}
		res.Map = best / hw
	}
	res.CleanAct = mapTotal(clean, res.Map, hw)
	proj, picked, err := net.ProjectTargets(cfg.Layer, []Target{{Map: res.Map, Strongest: true}}, Options{})
	if err != nil {
		return nil, errors.Wrap(err, "occlusion: projecting the strongest feature")
	}
	res.Projection, res.Strongest = append([]float32(nil), proj[0]...), picked[0]

	n := res.Rows * res.Cols
	res.Activation, res.PTrue, res.Predicted = make([]float64, n), make([]float64, n), make([]int, n)
	input := func(i int, dst []float32) error {
		copy(dst, x)
		sq := occluderRect(cfg, i/res.Cols, i%res.Cols).Intersect(image.Rect(0, 0, w, h))
		for ch := 0; ch < c; ch++ {
			for y := sq.Min.Y; y < sq.Max.Y; y++ {
				row := dst[(ch*h+y)*w : (ch*h+y+1)*w]
				for xx := sq.Min.X; xx < sq.Max.X; xx++ {
					row[xx] = cfg.Fill
				}
			}
		}
		return nil
	}
	visit := func(i, slot int, logits []float32) error {
		row, err := net.featureRow(cfg.Layer, slot)
		if err != nil {
			return err
		}
		res.Activation[i] = mapTotal(row, res.Map, hw)
		p := zfnet.Softmax(logits)
		pred, err := zfnet.Argmax64(p)
		if err != nil {
			return errors.Wrapf(err, "class probabilities with the square at position %d", i)
		}
		res.PTrue[i], res.Predicted[i] = p[label], pred
		return nil
	}
	if err := net.forwardEach(n, input, visit); err != nil {
		return nil, errors.Wrap(err, "occlusion")
	}
	return res, nil
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
	base := Scale(data.ToImage(r.Input, g, mean), scale)

	// (a) the input with the most damaging occluder.
	worst := argmin(r.PTrue)
	in := image.NewRGBA(base.Bounds())
	draw.Draw(in, in.Bounds(), base, base.Bounds().Min, draw.Src)
	sq := r.Square(worst/r.Cols, worst%r.Cols).Intersect(image.Rect(0, 0, w, h))
	sq = image.Rect(sq.Min.X*scale, sq.Min.Y*scale, sq.Max.X*scale, sq.Max.Y*scale)
	fill := make([]float32, n)
	for i := range fill {
		fill[i] = r.Config.Fill
	}
	fillImg := Scale(data.ToImage(fill, g, mean), scale)
	draw.Draw(in, sq, fillImg, sq.Min, draw.Src)
	strokeRect(in, sq, color.RGBA{255, 40, 40, 255})

	// (b), (d): heatmaps over the image.
	act := Overlay(base, Heatmap(r.Activation, r.Rows, r.Cols), 0.6)
	// Probabilities keep their absolute scale (0 dark blue, 1 yellow): a
	// drop from 1 to 0.98 must not look like one to 0.
	prob := Overlay(base, heatmapRange(r.PTrue, r.Rows, r.Cols, 0, 1), 0.6)
	// (c): the projection, enlarged.
	proj := Scale(ProjectionImage(r.Projection, c, h, w), scale)
	// (e): the label map.
	labels := make([]color.RGBA, len(r.Predicted))
	var present []int
	seen := map[int]bool{}
	for i, p := range r.Predicted {
		labels[i] = classPalette(p)
		if !seen[p] {
			seen[p] = true
			present = append(present, p)
		}
	}
	sort.Ints(present)
	lm := image.NewRGBA(image.Rect(0, 0, r.Cols, r.Rows))
	for i, col := range labels {
		lm.SetRGBA(i%r.Cols, i/r.Cols, col)
	}
	labelMap := overlayNearest(base, lm, 0.75)

	name := func(k int) string {
		if k >= 0 && k < len(classes) {
			return classes[k]
		}
		return fmt.Sprint(k)
	}
	lo, hi := minMax(r.Activation)
	plo, _ := minMax(r.PTrue)
	panels := []labelledPanel{
		{img: in, title: "(a) input", lines: []string{"true: " + name(r.Label), fmt.Sprintf("P=%.3f unoccluded", r.CleanP), "red: most damaging square"}},
		{img: act, title: fmt.Sprintf("(b) %s map %d total", r.Config.Layer, r.Map), bar: &colourBar{fmt.Sprintf("%.3g", lo), fmt.Sprintf("%.3g", hi)},
			lines: []string{fmt.Sprintf("unoccluded %.3g", r.CleanAct)}},
		{img: proj, title: fmt.Sprintf("(c) projection of map %d", r.Map), lines: []string{fmt.Sprintf("from (%d,%d), activation %.3g", r.Strongest.Y, r.Strongest.X, r.Strongest.Value)}},
		{img: prob, title: "(d) P(" + name(r.Label) + ")", bar: &colourBar{"0", "1"}, lines: []string{fmt.Sprintf("lowest %.3f", plo)}},
		{img: labelMap, title: "(e) most probable label", lines: nil},
	}
	for _, k := range present {
		panels[4].swatches = append(panels[4].swatches, swatch{classPalette(k), name(k)})
	}
	return layoutPanels(panels), nil
}

// labelledPanel is a picture with a title above and text lines (or colour
// swatches) below.
type labelledPanel struct {
	img      image.Image
	title    string
	bar      *colourBar // drawn first below the picture
	lines    []string
	swatches []swatch
}

// colourBar is the Heat scale with its end values.
type colourBar struct{ lo, hi string }

type swatch struct {
	col  color.RGBA
	text string
}

// layoutPanels puts panels side by side on white.
func layoutPanels(panels []labelledPanel) image.Image {
	const pad, gap = 8, 12
	lineH := textHeight + 3
	wcell, himg, below := 0, 0, 0
	for _, p := range panels {
		wcell = max(wcell, p.img.Bounds().Dx(), textWidth(p.title))
		himg = max(himg, p.img.Bounds().Dy())
		rows := len(p.lines)
		if p.bar != nil {
			rows += 2
		}
		if len(p.swatches) > 0 {
			perRow := max(1, p.img.Bounds().Dx()/swatchWidth(p.swatches))
			rows += (len(p.swatches) + perRow - 1) / perRow
		}
		below = max(below, rows*lineH)
	}
	width := 2*pad + len(panels)*wcell + (len(panels)-1)*gap
	height := 2*pad + lineH + 4 + himg + 4 + below
	out := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	for i, p := range panels {
		x := pad + i*(wcell+gap)
		drawText(out, x, pad, p.title, color.Black)
		y := pad + lineH + 4
		b := p.img.Bounds()
		draw.Draw(out, image.Rect(x, y, x+b.Dx(), y+b.Dy()), p.img, b.Min, draw.Src)
		y += himg + 4
		if p.bar != nil {
			for xx := 0; xx < b.Dx(); xx++ {
				c := Heat(float64(xx) / float64(max(1, b.Dx()-1)))
				for yy := y; yy < y+lineH-4; yy++ {
					out.SetRGBA(x+xx, yy, c)
				}
			}
			y += lineH - 2
			drawText(out, x, y, p.bar.lo, color.Black)
			drawText(out, x+b.Dx()-textWidth(p.bar.hi), y, p.bar.hi, color.Black)
			y += lineH
		}
		for _, l := range p.lines {
			drawText(out, x, y, l, color.RGBA{60, 60, 60, 255})
			y += lineH
		}
		if len(p.swatches) > 0 {
			sw := swatchWidth(p.swatches)
			perRow := max(1, b.Dx()/sw)
			for k, s := range p.swatches {
				sx, sy := x+(k%perRow)*sw, y+(k/perRow)*lineH
				draw.Draw(out, image.Rect(sx, sy+1, sx+textHeight-2, sy+textHeight-1), image.NewUniform(s.col), image.Point{}, draw.Src)
				strokeRect(out, image.Rect(sx, sy+1, sx+textHeight-2, sy+textHeight-1), color.RGBA{80, 80, 80, 255})
				drawText(out, sx+textHeight+1, sy, s.text, color.Black)
			}
		}
	}
	return out
}

func swatchWidth(s []swatch) int {
	w := 0
	for _, x := range s {
		w = max(w, textWidth(x.text))
	}
	return textHeight + 1 + w + 10
}

// overlayNearest blends a small categorical map over base, enlarged with
// nearest-neighbour sampling (interpolating would invent colours that are
// no class).
func overlayNearest(base image.Image, m *image.RGBA, alpha float64) image.Image {
	b := base.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), base, b.Min, draw.Src)
	mw, mh := m.Bounds().Dx(), m.Bounds().Dy()
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			c := m.RGBAAt(x*mw/b.Dx(), y*mh/b.Dy())
			o := out.PixOffset(x, y)
			for k, v := range []uint8{c.R, c.G, c.B} {
				out.Pix[o+k] = uint8(math.Round((1-alpha)*float64(out.Pix[o+k]) + alpha*float64(v)))
			}
		}
	}
	return out
}

// classPalette gives class k a colour: Tableau's 10 categorical colours,
// then lighter variants, then evenly spaced hues.
func classPalette(k int) color.RGBA {
	tab := [...]color.RGBA{
		{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
		{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
		{174, 199, 232, 255}, {255, 187, 120, 255}, {152, 223, 138, 255}, {255, 152, 150, 255}, {197, 176, 213, 255},
		{196, 156, 148, 255}, {247, 182, 210, 255}, {199, 199, 199, 255}, {219, 219, 141, 255}, {158, 218, 229, 255},
	}
	if k >= 0 && k < len(tab) {
		return tab[k]
	}
	hue := math.Mod(float64(k)*0.618033988749895, 1)
	return hsv(hue, 0.65, 0.9)
}

func hsv(h, s, v float64) color.RGBA {
	i := math.Floor(h * 6)
	f := h*6 - i
	p, q, t := v*(1-s), v*(1-f*s), v*(1-(1-f)*s)
	var r, g, b float64
	switch int(i) % 6 {
	case 0:
		r, g, b = v, t, p
	case 1:
		r, g, b = q, v, p
	case 2:
		r, g, b = p, v, t
	case 3:
		r, g, b = p, q, v
	case 4:
		r, g, b = t, p, v
	default:
		r, g, b = v, p, q
	}
	return color.RGBA{uint8(r * 255), uint8(g * 255), uint8(b * 255), 255}
}

// Text in figures uses the 7x13 fixed font of x/image: no font files, the
// same pixels everywhere.
const textHeight = 13

func textWidth(s string) int {
	return font.MeasureString(basicfont.Face7x13, s).Ceil()
}

// drawText writes s with its top-left corner at (x, y).
func drawText(dst draw.Image, x, y int, s string, col color.Color) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(col), Face: basicfont.Face7x13,
		Dot: fixed.P(x, y+basicfont.Face7x13.Ascent)}
	d.DrawString(s)
}

func strokeRect(dst *image.RGBA, r image.Rectangle, col color.RGBA) {
	for x := r.Min.X; x < r.Max.X; x++ {
		dst.SetRGBA(x, r.Min.Y, col)
		dst.SetRGBA(x, r.Max.Y-1, col)
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		dst.SetRGBA(r.Min.X, y, col)
		dst.SetRGBA(r.Max.X-1, y, col)
	}
}

// heatmapRange renders h x w values on the Heat scale with lo and hi at
// its ends (values outside are clamped).
func heatmapRange(v []float64, h, w int, lo, hi float64) image.Image {
	span := hi - lo
	if span == 0 {
		span = 1
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, x := range v[:h*w] {
		img.SetRGBA(i%w, i/w, Heat((x-lo)/span))
	}
	return img
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

func minMax(v []float64) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}
