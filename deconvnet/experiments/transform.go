package experiments

import (
	"fmt"
	"math"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
)

// The transforms of the invariance experiment (Fig. 5) act on decoded
// pictures (data.Image: planar C x H x W, values in [0,1]) before the mean
// is subtracted, not on model inputs. That is where the paper moves its
// objects: a shifted or rotated digit must bring its black background with
// it, and the mean image must stay where it is, as it does for a real
// photograph of a moved object. Working before the crop also lets an
// ImageNet-style 256x256 base picture slide content into the 224x224 crop
// from its margin, as in the paper.
//
// Every transform maps output pixel centres back to the source picture and
// samples it bilinearly; samples that fall outside the picture take the
// fill value of their channel (see BackgroundFill). Integer translations,
// zoom 1 and multiples of 90 degrees on a square picture hit pixel centres
// exactly and so copy pixels without blur.

// TransformKind is one family of transformations of Fig. 5.
type TransformKind int

const (
	// TranslateY shifts the picture down by Amount pixels (up when negative);
	// the paper's vertical translation.
	TranslateY TransformKind = iota
	// TranslateX shifts the picture right by Amount pixels.
	TranslateX
	// Zoom scales the picture about its centre by the factor Amount
	// (2 doubles its size, 0.5 halves it).
	Zoom
	// Rotate turns the picture about its centre by Amount degrees,
	// counter-clockwise as seen on screen.
	Rotate
)

// String names the kind as flags and plots do.
func (k TransformKind) String() string {
	switch k {
	case TranslateY:
		return "vertical translation"
	case TranslateX:
		return "horizontal translation"
	case Zoom:
		return "scale"
	case Rotate:
		return "rotation"
	}
	return fmt.Sprintf("TransformKind(%d)", int(k))
}

// Unit is what Amount measures, for axis labels.
func (k TransformKind) Unit() string {
	switch k {
	case TranslateY, TranslateX:
		return "pixels"
	case Zoom:
		return "scale factor"
	case Rotate:
		return "degrees"
	}
	return ""
}

// Identity is the Amount that leaves a picture unchanged.
func (k TransformKind) Identity() float64 {
	if k == Zoom {
		return 1
	}
	return 0
}

// Transform is one transformation: a kind and how much.
type Transform struct {
	Kind   TransformKind
	Amount float64
}

// String is a short label of the transform for axis ticks: "dy=+2",
// "x1.5", "90deg".
func (t Transform) String() string {
	switch t.Kind {
	case TranslateY:
		return fmt.Sprintf("dy=%+g", t.Amount)
	case TranslateX:
		return fmt.Sprintf("dx=%+g", t.Amount)
	case Zoom:
		return fmt.Sprintf("x%g", t.Amount)
	case Rotate:
		return fmt.Sprintf("%gdeg", t.Amount)
	}
	return fmt.Sprintf("%v(%g)", t.Kind, t.Amount)
}

// Apply transforms img (see the package's transform notes); fill gives the
// value of uncovered pixels per channel (one value for all channels, or nil
// for zero).
func (t Transform) Apply(img *data.Image, fill []float32) (*data.Image, error) {
	if math.IsNaN(t.Amount) || math.IsInf(t.Amount, 0) {
		return nil, errors.Errorf("%v by %g: the amount must be finite", t.Kind, t.Amount)
	}
	switch t.Kind {
	case TranslateY:
		return TranslateImage(img, 0, t.Amount, fill)
	case TranslateX:
		return TranslateImage(img, t.Amount, 0, fill)
	case Zoom:
		return ZoomImage(img, t.Amount, fill)
	case Rotate:
		return RotateImage(img, t.Amount, fill)
	}
	return nil, errors.Errorf("unknown transform kind %d", int(t.Kind))
}

// TranslateImage shifts img right by dx and down by dy pixels.
func TranslateImage(img *data.Image, dx, dy float64, fill []float32) (*data.Image, error) {
	if math.IsNaN(dx+dy) || math.IsInf(dx+dy, 0) {
		return nil, errors.Errorf("translation by (%g, %g): must be finite", dx, dy)
	}
	return warp(img, fill, func(x, y float64) (float64, float64) { return x - dx, y - dy })
}

// ZoomImage scales img about its centre by factor (> 0).
func ZoomImage(img *data.Image, factor float64, fill []float32) (*data.Image, error) {
	if !(factor > 0) || math.IsInf(factor, 0) {
		return nil, errors.Errorf("scale factor %g: must be positive and finite", factor)
	}
	if img == nil {
		return nil, errors.New("scaling: no picture")
	}
	cx, cy := float64(img.W-1)/2, float64(img.H-1)/2
	return warp(img, fill, func(x, y float64) (float64, float64) {
		return cx + (x-cx)/factor, cy + (y-cy)/factor
	})
}

// RotateImage turns img about its centre by degrees, counter-clockwise on
// screen (rows grow downwards).
func RotateImage(img *data.Image, degrees float64, fill []float32) (*data.Image, error) {
	if math.IsNaN(degrees) || math.IsInf(degrees, 0) {
		return nil, errors.Errorf("rotation by %g degrees: must be finite", degrees)
	}
	if img == nil {
		return nil, errors.New("rotating: no picture")
	}
	// Exact sine and cosine at multiples of 90 degrees, so quarter turns
	// copy pixels.
	sin, cos := math.Sincos(degrees * math.Pi / 180)
	if q := degrees / 90; q == math.Trunc(q) {
		switch ((int64(q) % 4) + 4) % 4 {
		case 0:
			sin, cos = 0, 1
		case 1:
			sin, cos = 1, 0
		case 2:
			sin, cos = 0, -1
		case 3:
			sin, cos = -1, 0
		}
	}
	cx, cy := float64(img.W-1)/2, float64(img.H-1)/2
	// A counter-clockwise turn on screen maps source (u, v) to
	// (cx + cos*(u-cx) + sin*(v-cy), cy - sin*(u-cx) + cos*(v-cy)); we need
	// the inverse to sample the source.
	return warp(img, fill, func(x, y float64) (float64, float64) {
		dx, dy := x-cx, y-cy
		return cx + cos*dx - sin*dy, cy + sin*dx + cos*dy
	})
}

// BackgroundFill estimates a picture's background colour as the mean of its
// border pixels, per channel: black for digits, the surroundings for a
// centred object. Uncovered pixels filled with it do not add an edge the
// network would respond to.
func BackgroundFill(img *data.Image) []float32 {
	if img == nil || img.H < 1 || img.W < 1 {
		return nil
	}
	fill := make([]float32, img.C)
	for c := 0; c < img.C; c++ {
		var s float64
		n := 0
		for y := 0; y < img.H; y++ {
			for x := 0; x < img.W; x++ {
				if y == 0 || x == 0 || y == img.H-1 || x == img.W-1 {
					s += float64(img.Pix[(c*img.H+y)*img.W+x])
					n++
				}
			}
		}
		fill[c] = float32(s / float64(n))
	}
	return fill
}

// warp builds the output picture by sampling img bilinearly at src(x, y)
// for every output pixel centre (x, y).
func warp(img *data.Image, fill []float32, src func(x, y float64) (float64, float64)) (*data.Image, error) {
	if img == nil {
		return nil, errors.New("transform: no picture")
	}
	if img.C < 1 || img.H < 1 || img.W < 1 || len(img.Pix) < img.C*img.H*img.W {
		return nil, errors.Errorf("transform: picture %dx%dx%d with %d values is malformed", img.C, img.H, img.W, len(img.Pix))
	}
	fv := make([]float32, img.C)
	switch len(fill) {
	case 0:
	case 1:
		for c := range fv {
			fv[c] = fill[0]
		}
	case img.C:
		copy(fv, fill)
	default:
		return nil, errors.Errorf("transform: %d fill values for a %d-channel picture", len(fill), img.C)
	}
	for _, v := range fv {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, errors.Errorf("transform: fill value %g must be finite", v)
		}
	}
	out := &data.Image{C: img.C, H: img.H, W: img.W, Label: img.Label, Path: img.Path, Pix: make([]float32, img.C*img.H*img.W)}
	h, w := img.H, img.W
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx, sy := src(float64(x), float64(y))
			sx, sy = snap(sx), snap(sy)
			x0, y0 := math.Floor(sx), math.Floor(sy)
			fx, fy := sx-x0, sy-y0
			ix, iy := int(x0), int(y0)
			for c := 0; c < img.C; c++ {
				plane := img.Pix[c*h*w : (c+1)*h*w]
				at := func(xx, yy int) float64 {
					if xx < 0 || yy < 0 || xx >= w || yy >= h {
						return float64(fv[c])
					}
					return float64(plane[yy*w+xx])
				}
				v := at(ix, iy) * (1 - fx) * (1 - fy)
				if fx != 0 {
					v += at(ix+1, iy) * fx * (1 - fy)
				}
				if fy != 0 {
					v += at(ix, iy+1) * (1 - fx) * fy
					if fx != 0 {
						v += at(ix+1, iy+1) * fx * fy
					}
				}
				out.Pix[(c*h+y)*w+x] = float32(v)
			}
		}
	}
	return out, nil
}

// snap rounds coordinates within rounding error of a pixel centre onto it,
// so that exact transforms stay exact.
func snap(v float64) float64 {
	if r := math.Round(v); math.Abs(v-r) < 1e-9 {
		return r
	}
	return v
}
