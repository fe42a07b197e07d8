package deconvnet

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"github.com/pkg/errors"
	xdraw "golang.org/x/image/draw"

	"github.com/zfnet/zfnet/data/atomicfile"
)

// How projections are shown: a projection has no natural scale (it is a
// signal, not a picture), so each one is scaled on its own so that its
// largest magnitude reaches full contrast, with zero at mid-gray:
// pixel = 0.5 + 0.5 * v / max|v|. Positive evidence is brighter than the
// gray background, negative darker; colour projections scale all three
// channels together so hues are kept.

// ProjectionImage renders one projection (C x H x W, C = 1 or 3).
func ProjectionImage(p []float32, c, h, w int) image.Image {
	var m float64
	for _, v := range p {
		m = math.Max(m, math.Abs(float64(v)))
	}
	if m == 0 {
		m = 1
	}
	val := func(v float32) uint8 { return uint8(math.Round(255 * (0.5 + 0.5*float64(v)/m))) }
	if c == 1 {
		img := image.NewGray(image.Rect(0, 0, w, h))
		for i, v := range p[:h*w] {
			img.Pix[i] = val(v)
		}
		return img
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := img.PixOffset(x, y)
			for ch := 0; ch < 3; ch++ {
				img.Pix[o+ch] = val(p[(ch*h+y)*w+x])
			}
			img.Pix[o+3] = 255
		}
	}
	return img
}

// Grid lays images out in rows of cols, each cell the size of the largest
// image, separated by pad pixels of bg.
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
func Scale(img image.Image, factor int) image.Image {
	if factor <= 1 {
		return img
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()*factor, b.Dy()*factor))
	xdraw.NearestNeighbor.Scale(out, out.Bounds(), img, b, draw.Src, nil)
	return out
}

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
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return heatmapRange(v, h, w, lo, hi)
}

// Overlay blends heat over base (resized to base's size) with opacity alpha.
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

// WritePNG encodes an image as PNG.
func WritePNG(w io.Writer, img image.Image) error {
	return errors.Wrap(png.Encode(w, img), "encoding PNG")
}

// SavePNG writes an image to path atomically.
func SavePNG(path string, img image.Image) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		return errors.Wrapf(WritePNG(w, img), "%s", path)
	})
}
