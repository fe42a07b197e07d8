package figure

import (
	"image"
	"image/color"
	"image/draw"

	xdraw "golang.org/x/image/draw"
)

// Grid lays images out in rows of cols, each cell the size of the largest
// image, separated by pad pixels of bg. nil images leave their cell empty.
func Grid(imgs []image.Image, cols, pad int, bg color.Color) image.Image {
	if len(imgs) == 0 || cols < 1 {
		return image.NewRGBA(image.Rect(0, 0, 1, 1))
	}
	cw, ch := 0, 0
	for _, im := range imgs {
		if im == nil {
			continue
		}
		cw, ch = max(cw, im.Bounds().Dx()), max(ch, im.Bounds().Dy())
	}
	rows := (len(imgs) + cols - 1) / cols
	out := image.NewRGBA(image.Rect(0, 0, cols*cw+(cols+1)*pad, rows*ch+(rows+1)*pad))
	draw.Draw(out, out.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	for i, im := range imgs {
		if im == nil {
			continue
		}
		x, y := pad+(i%cols)*(cw+pad), pad+(i/cols)*(ch+pad)
		draw.Draw(out, image.Rect(x, y, x+im.Bounds().Dx(), y+im.Bounds().Dy()), im, im.Bounds().Min, draw.Src)
	}
	return out
}

// Scale resizes an image by an integer factor with nearest-neighbour
// sampling, so small pictures (28x28 digits, 7x7 filters) stay crisp.
// factor <= 1 returns img itself.
func Scale(img image.Image, factor int) image.Image {
	if factor <= 1 {
		return img
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()*factor, b.Dy()*factor))
	xdraw.NearestNeighbor.Scale(out, out.Bounds(), img, b, draw.Src, nil)
	return out
}

// ToRGBA copies an image into a fresh RGBA with its origin at (0, 0).
func ToRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	return out
}

// Titled puts a centred line of text in colour c above img, on Paper.
func Titled(img image.Image, title string, c color.Color) image.Image {
	return labelled(img, title, c, true)
}

// Captioned puts a centred line of text in colour c below img, on Paper.
func Captioned(img image.Image, caption string, c color.Color) image.Image {
	return labelled(img, caption, c, false)
}

// labelled puts a centred line of text above (or below) img, on Paper,
// the result as wide as the wider of the two.
func labelled(img image.Image, s string, c color.Color, above bool) image.Image {
	b := img.Bounds()
	w := max(b.Dx(), TextWidth(s)+4)
	out := Blank(w, b.Dy()+LineHeight+2, Paper)
	imgY, textY := 0, b.Dy()+2
	if above {
		imgY, textY = LineHeight+2, 1
	}
	x := (w - b.Dx()) / 2
	draw.Draw(out, image.Rect(x, imgY, x+b.Dx(), imgY+b.Dy()), img, b.Min, draw.Src)
	Text(out, (w-TextWidth(s))/2, textY, s, c)
	return out
}

// Row places images left to right, top-aligned, gap pixels of bg apart.
func Row(imgs []image.Image, gap int, bg color.Color) image.Image { return stack(imgs, gap, bg, true) }

// Column stacks images top to bottom, left-aligned, gap pixels of bg apart.
func Column(imgs []image.Image, gap int, bg color.Color) image.Image {
	return stack(imgs, gap, bg, false)
}

// stack is Row (across) or Column: the images one after the other along
// the axis, aligned at the start of the other.
func stack(imgs []image.Image, gap int, bg color.Color, across bool) image.Image {
	along, other := 0, 0 // the result's size along the axis and across it
	for i, im := range imgs {
		if i > 0 {
			along += gap
		}
		a, o := im.Bounds().Dx(), im.Bounds().Dy()
		if !across {
			a, o = o, a
		}
		along += a
		other = max(other, o)
	}
	w, h := along, other
	if !across {
		w, h = other, along
	}
	out := Blank(w, h, bg)
	at := 0
	for _, im := range imgs {
		b := im.Bounds()
		if across {
			draw.Draw(out, image.Rect(at, 0, at+b.Dx(), b.Dy()), im, b.Min, draw.Src)
			at += b.Dx() + gap
		} else {
			draw.Draw(out, image.Rect(0, at, b.Dx(), at+b.Dy()), im, b.Min, draw.Src)
			at += b.Dy() + gap
		}
	}
	return out
}

// Padded surrounds img with a margin of m pixels of bg.
func Padded(img image.Image, m int, bg color.Color) image.Image {
	b := img.Bounds()
	out := Blank(b.Dx()+2*m, b.Dy()+2*m, bg)
	draw.Draw(out, image.Rect(m, m, m+b.Dx(), m+b.Dy()), img, b.Min, draw.Src)
	return out
}

// Outline draws a one-pixel rectangle just inside r (clipped to dst).
func Outline(dst *image.RGBA, r image.Rectangle, c color.RGBA) {
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

// Blank is an image of w x h pixels (at least 1 x 1) of colour c.
func Blank(w, h int, c color.Color) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
	draw.Draw(out, out.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
	return out
}
