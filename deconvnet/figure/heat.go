package figure

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	xdraw "golang.org/x/image/draw"
)

// Heat maps a value in [0, 1] to a perceptually ordered colour (a
// piecewise-linear approximation of viridis: dark blue, teal, green, yellow).
func Heat(t float64) color.RGBA {
	stops := [...][3]float64{{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}}
	t = math.Max(0, math.Min(1, t))
	f := t * float64(len(stops)-1)
	i := int(f)
	if i >= len(stops)-1 {
		i, f = len(stops)-2, float64(len(stops)-1)
	}
	u := f - float64(i)
	var c [3]uint8
	for k := range c {
		c[k] = uint8(math.Round(stops[i][k]*(1-u) + stops[i+1][k]*u))
	}
	return color.RGBA{c[0], c[1], c[2], 255}
}

// Heatmap renders h x w values scaled from their minimum to their maximum.
func Heatmap(v []float64, h, w int) image.Image {
	lo, hi := MinMax(v)
	return HeatmapRange(v, h, w, lo, hi)
}

// HeatmapRange renders h x w values on the Heat scale with lo and hi at
// its ends (values outside are clamped; lo == hi spans 1). A fixed range
// keeps an absolute scale: probabilities on [0, 1], so that a drop from 1
// to 0.98 does not look like one to 0.
func HeatmapRange(v []float64, h, w int, lo, hi float64) image.Image {
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

// MinMax is the smallest and the largest of v (+Inf and -Inf when v is
// empty): the range Heatmap spreads over the colour scale.
func MinMax(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// Overlay blends heat over base (resized to base's size, interpolated)
// with opacity alpha.
func Overlay(base, heat image.Image, alpha float64) image.Image {
	b := base.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), base, b.Min, draw.Src)
	hs := image.NewRGBA(out.Bounds())
	xdraw.CatmullRom.Scale(hs, hs.Bounds(), heat, heat.Bounds(), draw.Src, nil)
	for i := 0; i < len(out.Pix); i += 4 {
		for k := 0; k < 3; k++ {
			out.Pix[i+k] = uint8(math.Round((1-alpha)*float64(out.Pix[i+k]) + alpha*float64(hs.Pix[i+k])))
		}
	}
	return out
}

// OverlayNearest blends a small categorical map over base, enlarged with
// nearest-neighbour sampling (interpolating would invent colours that are
// no class).
func OverlayNearest(base image.Image, m *image.RGBA, alpha float64) image.Image {
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

// ClassColour gives class k a colour: Tableau's 10 categorical colours,
// then lighter variants, then evenly spaced hues.
func ClassColour(k int) color.RGBA {
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
