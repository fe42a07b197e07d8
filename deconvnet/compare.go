package deconvnet

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"

	"github.com/pkg/errors"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/zfnet/zfnet/data"
)

// RuleComparison is one activation projected with each of the three rules
// (the deconvnet, guided backpropagation, gradient saliency). The methods
// differ only in how a ReLU passes the signal down, so putting them side by
// side on the same activation shows what that choice does: the deconvnet's
// projections are less tied to the particular image, saliency is noisy,
// guided backpropagation is sharp but image-specific.
type RuleComparison struct {
	Layer  string
	Picked Picked // the activation (map, position, value)
	Field  Field  // its receptive field
	Input  image.Image
	Rules  []Rule
	// Projections[i] is Rules[i]'s projection, C x H x W of the model input.
	Projections [][]float32
	C, H, W     int
}

// CompareRules runs one preprocessed input x (C*H*W floats, mean
// subtracted; mean, if not nil, is added back for display) and projects the
// activation t of layer with each rule. throughLRN applies to all three.
func CompareRules(d *Net, x []float32, mean *data.Mean, layer string, t Target, throughLRN bool) (*RuleComparison, error) {
	if d == nil {
		return nil, errors.New("compare rules: nil deconvnet")
	}
	in := d.Model.Arch.Input
	size := in[0] * in[1] * in[2]
	if len(x) != size {
		return nil, errors.Errorf("compare rules: input has %d values, expected %dx%dx%d = %d", len(x), in[0], in[1], in[2], size)
	}
	batch := make([]float32, d.Batch*size)
	copy(batch, x)
	if _, err := d.Forward(batch); err != nil {
		return nil, errors.Wrap(err, "compare rules")
	}
	rc := &RuleComparison{Layer: layer, Rules: []Rule{Deconvnet, Guided, Saliency}, C: in[0], H: in[1], W: in[2],
		Input: data.ToImage(x, data.Geometry{C: in[0], H: in[1], W: in[2]}, mean)}
	for _, r := range rc.Rules {
		ps, picked, err := d.ProjectTargets(layer, []Target{t}, Options{Rule: r, ThroughLRN: throughLRN})
		if err != nil {
			return nil, errors.Wrapf(err, "compare rules: %s", r)
		}
		rc.Projections = append(rc.Projections, append([]float32(nil), ps[0]...))
		rc.Picked = picked[0]
	}
	f, err := ReceptiveField(d.Model, layer, rc.Picked.Y, rc.Picked.X)
	if err != nil {
		// Fully connected layers resolve too; anything else is a bug upstream.
		return nil, errors.Wrap(err, "compare rules")
	}
	rc.Field = f
	return rc, nil
}

// Image shows the input with the receptive field outlined, then the three
// projections of the whole input, each scaled on its own (see
// ProjectionImage), with a title over every panel.
func (rc *RuleComparison) Image() image.Image {
	factor := max(1, 168/max(rc.H, 1))
	in := toRGBA(Scale(rc.Input, factor))
	figOutline(in, image.Rect(rc.Field.Box.Min.X*factor, rc.Field.Box.Min.Y*factor, rc.Field.Box.Max.X*factor, rc.Field.Box.Max.Y*factor), color.RGBA{255, 40, 40, 255})
	panels := []image.Image{figTitled(in, "input", figInk)}
	for i, r := range rc.Rules {
		p := Scale(ProjectionImage(rc.Projections[i], rc.C, rc.H, rc.W), factor)
		panels = append(panels, figTitled(p, ruleTitle(r), figInk))
	}
	body := figRow(panels, 10, figPaper)
	head := fmt.Sprintf("%s, map %d at (%d, %d), activation %.3g", rc.Layer, rc.Picked.Map, rc.Picked.Y, rc.Picked.X, rc.Picked.Value)
	return figPadded(figTitled(body, head, figInk), 6, figPaper)
}

func ruleTitle(r Rule) string {
	switch r {
	case Deconvnet:
		return "deconvnet (paper)"
	case Guided:
		return "guided backprop"
	case Saliency:
		return "saliency (gradient)"
	}
	return r.String()
}

// The figures share a few drawing helpers: text in the 7x13 bitmap face
// (crisp at any size the gallery shows, no font files needed), titles over
// panels, rows and columns of panels.
var (
	figFace  = basicfont.Face7x13
	figInk   = color.RGBA{30, 30, 30, 255}
	figPaper = color.RGBA{255, 255, 255, 255}
	figMuted = color.RGBA{110, 110, 110, 255}
)

const figLine = 15 // height of one text line with spacing

// figTextWidth is the width of s in pixels.
func figTextWidth(s string) int { return font.MeasureString(figFace, s).Ceil() }

// figText draws s with its top-left corner at (x, y).
func figText(dst draw.Image, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: figFace,
		Dot: fixed.P(x, y+figFace.Ascent)}
	d.DrawString(s)
}

// toRGBA copies an image into a fresh RGBA with its origin at (0, 0).
func toRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	return out
}

// figTitled puts a centred line of text above img.
func figTitled(img image.Image, title string, c color.Color) image.Image {
	b := img.Bounds()
	w := max(b.Dx(), figTextWidth(title)+4)
	out := image.NewRGBA(image.Rect(0, 0, w, b.Dy()+figLine+2))
	draw.Draw(out, out.Bounds(), image.NewUniform(figPaper), image.Point{}, draw.Src)
	figText(out, (w-figTextWidth(title))/2, 1, title, c)
	x := (w - b.Dx()) / 2
	draw.Draw(out, image.Rect(x, figLine+2, x+b.Dx(), figLine+2+b.Dy()), img, b.Min, draw.Src)
	return out
}

// figCaptioned puts a centred line of text below img.
func figCaptioned(img image.Image, caption string, c color.Color) image.Image {
	b := img.Bounds()
	w := max(b.Dx(), figTextWidth(caption)+4)
	out := image.NewRGBA(image.Rect(0, 0, w, b.Dy()+figLine+2))
	draw.Draw(out, out.Bounds(), image.NewUniform(figPaper), image.Point{}, draw.Src)
	x := (w - b.Dx()) / 2
	draw.Draw(out, image.Rect(x, 0, x+b.Dx(), b.Dy()), img, b.Min, draw.Src)
	figText(out, (w-figTextWidth(caption))/2, b.Dy()+2, caption, c)
	return out
}

// figRow places images left to right, top-aligned, gap pixels apart.
func figRow(imgs []image.Image, gap int, bg color.Color) image.Image {
	w, h := 0, 0
	for i, im := range imgs {
		if i > 0 {
			w += gap
		}
		w += im.Bounds().Dx()
		h = max(h, im.Bounds().Dy())
	}
	out := image.NewRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
	draw.Draw(out, out.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	x := 0
	for _, im := range imgs {
		b := im.Bounds()
		draw.Draw(out, image.Rect(x, 0, x+b.Dx(), b.Dy()), im, b.Min, draw.Src)
		x += b.Dx() + gap
	}
	return out
}

// figColumn stacks images top to bottom, left-aligned, gap pixels apart.
func figColumn(imgs []image.Image, gap int, bg color.Color) image.Image {
	w, h := 0, 0
	for i, im := range imgs {
		if i > 0 {
			h += gap
		}
		h += im.Bounds().Dy()
		w = max(w, im.Bounds().Dx())
	}
	out := image.NewRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
	draw.Draw(out, out.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	y := 0
	for _, im := range imgs {
		b := im.Bounds()
		draw.Draw(out, image.Rect(0, y, b.Dx(), y+b.Dy()), im, b.Min, draw.Src)
		y += b.Dy() + gap
	}
	return out
}

// figPadded surrounds img with a margin.
func figPadded(img image.Image, m int, bg color.Color) image.Image {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()+2*m, b.Dy()+2*m))
	draw.Draw(out, out.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	draw.Draw(out, image.Rect(m, m, m+b.Dx(), m+b.Dy()), img, b.Min, draw.Src)
	return out
}

// figOutline draws a one-pixel rectangle just inside r (clipped to dst).
func figOutline(dst *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(dst.Bounds())
	if r.Empty() {
		return
	}
	for x := r.Min.X; x < r.Max.X; x++ {
		dst.SetRGBA(x, r.Min.Y, c)
		dst.SetRGBA(x, r.Max.Y-1, c)
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		dst.SetRGBA(r.Min.X, y, c)
		dst.SetRGBA(r.Max.X-1, y, c)
	}
}

// figBlank is an empty cell of the given size.
func figBlank(w, h int, c color.Color) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
	draw.Draw(out, out.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
	return out
}
