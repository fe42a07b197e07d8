package figure

import (
	"image"
	"image/color"
	"image/draw"
)

// Panel is a picture with a title above and, below it, an optional colour
// bar, lines of text and colour swatches: one panel of a figure such as
// the paper's Fig. 7.
type Panel struct {
	Image    image.Image
	Title    string
	Bar      *ColourBar // drawn first below the picture
	Lines    []string
	Swatches []Swatch
}

// ColourBar is the Heat scale from Lo (its left end) to Hi, as printed.
type ColourBar struct{ Lo, Hi string }

// Swatch is a legend entry: a square of a colour and its text.
type Swatch struct {
	Colour color.RGBA
	Text   string
}

// Panels puts panels side by side on white, every cell as wide as the
// widest picture or title.
func Panels(panels []Panel) image.Image {
	const pad, gap = 8, 12
	lineH := TextHeight + 3
	wcell, himg, below := 0, 0, 0
	for _, p := range panels {
		wcell = max(wcell, p.Image.Bounds().Dx(), TextWidth(p.Title))
		himg = max(himg, p.Image.Bounds().Dy())
		below = max(below, p.textRows()*lineH)
	}
	width := 2*pad + len(panels)*wcell + (len(panels)-1)*gap
	height := 2*pad + lineH + 4 + himg + 4 + below
	out := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	for i, p := range panels {
		x := pad + i*(wcell+gap)
		Text(out, x, pad, p.Title, color.Black)
		y := pad + lineH + 4
		b := p.Image.Bounds()
		draw.Draw(out, image.Rect(x, y, x+b.Dx(), y+b.Dy()), p.Image, b.Min, draw.Src)
		p.drawBelow(out, x, y+himg+4, b.Dx(), lineH)
	}
	return out
}

// textRows is how many text lines the panel needs below its picture.
func (p Panel) textRows() int {
	rows := len(p.Lines)
	if p.Bar != nil {
		rows += 2
	}
	if len(p.Swatches) > 0 {
		perRow := max(1, p.Image.Bounds().Dx()/swatchWidth(p.Swatches))
		rows += (len(p.Swatches) + perRow - 1) / perRow
	}
	return rows
}

// drawBelow draws the bar, the lines and the swatches from (x, y), in a
// column w pixels wide.
func (p Panel) drawBelow(out *image.RGBA, x, y, w, lineH int) {
	if p.Bar != nil {
		for xx := 0; xx < w; xx++ {
			c := Heat(float64(xx) / float64(max(1, w-1)))
			for yy := y; yy < y+lineH-4; yy++ {
				out.SetRGBA(x+xx, yy, c)
			}
		}
		y += lineH - 2
		Text(out, x, y, p.Bar.Lo, color.Black)
		Text(out, x+w-TextWidth(p.Bar.Hi), y, p.Bar.Hi, color.Black)
		y += lineH
	}
	for _, l := range p.Lines {
		Text(out, x, y, l, color.RGBA{60, 60, 60, 255})
		y += lineH
	}
	if len(p.Swatches) == 0 {
		return
	}
	sw := swatchWidth(p.Swatches)
	perRow := max(1, w/sw)
	for k, s := range p.Swatches {
		sx, sy := x+(k%perRow)*sw, y+(k/perRow)*lineH
		box := image.Rect(sx, sy+1, sx+TextHeight-2, sy+TextHeight-1)
		draw.Draw(out, box, image.NewUniform(s.Colour), image.Point{}, draw.Src)
		Outline(out, box, color.RGBA{80, 80, 80, 255})
		Text(out, sx+TextHeight+1, sy, s.Text, color.Black)
	}
}

func swatchWidth(s []Swatch) int {
	w := 0
	for _, x := range s {
		w = max(w, TextWidth(x.Text))
	}
	return TextHeight + 1 + w + 10
}
