package deconvnet

import (
	"image"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/nn"
	"github.com/zfnet/zfnet/zfnet"
)

// Receptive fields tell which input pixels can influence one activation.
// The paper crops its top-9 patches (Fig. 2) and projections to them, so a
// picture shows the part of the image a unit sees rather than the whole
// image with a small blob somewhere in it.
//
// The field follows from the chain of convolutions and poolings alone: an
// output position j of a layer with kernel k, stride s and padding p reads
// input positions j*s-p .. j*s-p+k-1. Composing that down to the pixels
// gives, per layer, a start, a jump (the product of strides) and a size;
// ReLU, LRN (across channels only) and dropout leave it unchanged, and a
// fully connected layer sees the whole input.

// Field is the receptive field of one activation.
type Field struct {
	// Window is the full field in input pixel coordinates, half-open as
	// image.Rectangle is; near a border it reaches into the padding
	// (negative coordinates or beyond the input).
	Window image.Rectangle
	// Box is Window clipped to the input: the pixels that exist.
	Box image.Rectangle
}

// fieldGeometry is the receptive field arithmetic of one layer output:
// position j covers input pixels start+j*jump .. start+j*jump+size-1.
type fieldGeometry struct {
	start, jump, size int
	full              bool // a fully connected layer (or after one): the whole input
}

// geometryAt composes the field arithmetic up to and including layer i.
func geometryAt(m *zfnet.Model, i int) fieldGeometry {
	g := fieldGeometry{start: 0, jump: 1, size: 1}
	for j := 0; j <= i && j < m.NumLayers(); j++ {
		k, s, p := 0, 0, 0
		switch l := m.LayerAt(j).(type) {
		case *nn.Conv2d:
			k, s, p = l.Kernel, l.Stride, l.Pad
		case *nn.MaxPool:
			k, s, p = l.Kernel, l.Stride, l.Pad
		case *nn.AvgPool:
			k, s, p = l.Kernel, l.Stride, l.Pad
		case *nn.AdaptiveAvgPool:
			// Output i averages input rows floor(i*H/OH) .. ceil((i+1)*H/OH)-1:
			// a stride of floor(H/OH) and a window that covers the widest.
			in := m.Arch.Input
			if j > 0 {
				in = m.Shape(j - 1)
			}
			if l.Identity(in) {
				continue
			}
			s = in[1] / l.OutH
			k = (in[1]+l.OutH-1)/l.OutH + 1
		case *nn.Linear:
			g.full = true
			continue
		default:
			continue
		}
		g.start -= p * g.jump
		g.size += (k - 1) * g.jump
		g.jump *= s
	}
	return g
}

// ReceptiveField is the field of position (y, x) of layer's output; a
// convolution's name means its rectified output, as in Project. For a fully
// connected layer (and anything after one) the field is the whole input.
func ReceptiveField(m *zfnet.Model, layer string, y, x int) (Field, error) {
	if m == nil {
		return Field{}, errors.New("receptive field: nil model")
	}
	_, i := m.Layer(layer)
	if i < 0 {
		return Field{}, errors.Errorf("receptive field: %s has no layer %q", m.Arch.Name, layer)
	}
	in := m.Arch.Input
	all := image.Rect(0, 0, in[2], in[1])
	g := geometryAt(m, i)
	if g.full {
		return Field{Window: all, Box: all}, nil
	}
	s := m.Shape(i)
	if y < 0 || x < 0 || y >= s[1] || x >= s[2] {
		return Field{}, errors.Errorf("receptive field: position (%d, %d) is outside %s's %dx%d maps", y, x, layer, s[1], s[2])
	}
	y0, x0 := g.start+y*g.jump, g.start+x*g.jump
	w := image.Rect(x0, y0, x0+g.size, y0+g.size)
	return Field{Window: w, Box: w.Intersect(all)}, nil
}

// FieldSize is the side of the receptive field of one activation of layer
// (before clipping), which is the same for every position; the input's
// larger side for fully connected layers.
func FieldSize(m *zfnet.Model, layer string) (int, error) {
	if m == nil {
		return 0, errors.New("field size: nil model")
	}
	_, i := m.Layer(layer)
	if i < 0 {
		return 0, errors.Errorf("field size: %s has no layer %q", m.Arch.Name, layer)
	}
	g := geometryAt(m, i)
	if g.full {
		return max(m.Arch.Input[1], m.Arch.Input[2]), nil
	}
	return g.size, nil
}

// Crop cuts the field's Window out of a planar C x H x W array (a
// projection, an input): the result is C x Window.Dy() x Window.Dx(), with
// zeros where the window reaches outside the array (the network's zero
// padding). It is a new slice.
func (f Field) Crop(v []float32, c, h, w int) []float32 {
	win := f.Window
	out := make([]float32, c*win.Dy()*win.Dx())
	i := 0
	for ch := 0; ch < c; ch++ {
		for y := win.Min.Y; y < win.Max.Y; y++ {
			for x := win.Min.X; x < win.Max.X; x++ {
				if y >= 0 && y < h && x >= 0 && x < w {
					out[i] = v[(ch*h+y)*w+x]
				}
				i++
			}
		}
	}
	return out
}
