package data

import (
	"fmt"
	"image"
	"log"
	"math/rand/v2"
	"sync"

	"github.com/pkg/errors"
	"golang.org/x/image/draw"
)

// PreprocessKind selects one of the paper's two pipelines.
type PreprocessKind int

const (
	// Small is for pictures already near the model's size (MNIST, CIFAR):
	// per-pixel mean, optional random crops with zero padding, optional flips.
	Small PreprocessKind = iota
	// ImageNet resizes the shorter side to Resize (256), keeps the centre
	// Resize x Resize square, subtracts the mean image, and crops the model's
	// input (224x224) from it: at random with flips for training, in the
	// centre (or the ten crops) for testing.
	ImageNet
)

// String names the kind as a flag would.
func (k PreprocessKind) String() string {
	switch k {
	case Small:
		return "small"
	case ImageNet:
		return "imagenet"
	}
	return fmt.Sprintf("PreprocessKind(%d)", int(k))
}

// ResizeFilter chooses the resampling kernel. Nearest neighbour is not
// offered: it aliases badly when shrinking photographs.
type ResizeFilter int

const (
	// CatmullRom is the default: the sharpest of x/image/draw's kernels, and
	// fast enough (see BenchmarkImageNetPipeline) that quality costs nothing.
	CatmullRom ResizeFilter = iota
	// ApproxBiLinear is x/image/draw's fast approximate bilinear filter.
	ApproxBiLinear
	// BiLinear is the exact bilinear kernel.
	BiLinear
)

func (f ResizeFilter) scaler() draw.Scaler {
	switch f {
	case ApproxBiLinear:
		return draw.ApproxBiLinear
	case BiLinear:
		return draw.BiLinear
	}
	return draw.CatmullRom
}

// Preprocess describes how a picture becomes a model input.
type Preprocess struct {
	Kind     PreprocessKind
	Geometry Geometry // the model's input
	Resize   int      // ImageNet: shorter side and centre square (default 256)
	PadCrop  int      // Small: training crops are taken from the picture padded by this many zero pixels (after mean subtraction) on each side
	Flip     bool     // training: mirror left-right with probability 1/2 (off for digits, where it changes meaning)
	Filter   ResizeFilter
	// Normalize, when set, transforms every input after cropping (the
	// presets of networks trained elsewhere: torchvision, Caffe).
	Normalize *Normalize
	// Logf receives the one-time notice that pictures are converted between
	// gray and colour to fit Geometry.C; nil means log.Printf.
	Logf func(format string, args ...any)
}

// SmallPreprocess is the usual setting for MNIST-like data: no crops, no flips.
func SmallPreprocess(g Geometry) Preprocess { return Preprocess{Kind: Small, Geometry: g} }

// ImageNetPreprocess is the paper's setting: 256 resize, 224 crops, flips.
func ImageNetPreprocess(g Geometry) Preprocess {
	return Preprocess{Kind: ImageNet, Geometry: g, Resize: 256, Flip: true}
}

func (p Preprocess) resize() int {
	if p.Resize > 0 {
		return p.Resize
	}
	return 256
}

// BaseGeometry is the size of a picture after the deterministic part of the
// pipeline and before cropping: C x Resize x Resize for ImageNet, the model's
// Geometry for Small. The mean image has this geometry.
func (p Preprocess) BaseGeometry() Geometry {
	if p.Kind == ImageNet {
		r := p.resize()
		return Geometry{C: p.Geometry.C, H: r, W: r}
	}
	return p.Geometry
}

// Validate reports settings that cannot work.
func (p Preprocess) Validate() error {
	if !p.Geometry.valid() {
		return errors.Errorf("preprocess: geometry %v; expected 1 or 3 channels and positive sizes", p.Geometry)
	}
	switch p.Kind {
	case Small:
		if p.PadCrop < 0 {
			return errors.Errorf("preprocess: crop padding %d; expected >= 0", p.PadCrop)
		}
	case ImageNet:
		if r := p.resize(); p.Geometry.H > r || p.Geometry.W > r {
			return errors.Errorf("preprocess: %dx%d crops from %dx%d resized pictures; expected crops no larger than the resize", p.Geometry.H, p.Geometry.W, r, r)
		}
		if p.PadCrop != 0 {
			return errors.Errorf("preprocess: crop padding %d with ImageNet preprocessing; expected 0 (the crops come from the 256x256 square)", p.PadCrop)
		}
	default:
		return errors.Errorf("preprocess: unknown kind %v", p.Kind)
	}
	if err := p.Normalize.Validate(p.Geometry.C); err != nil {
		return errors.Wrap(err, "preprocess")
	}
	if p.Filter < CatmullRom || p.Filter > BiLinear {
		return errors.Errorf("preprocess: unknown resize filter %d", p.Filter)
	}
	return nil
}

// Crop says where the model input is cut from the base picture (see
// BaseGeometry) and whether it is mirrored. X and Y may be negative, or
// reach past the base picture, with Small's padding; pixels outside are 0,
// that is, the mean.
type Crop struct {
	X, Y int
	Flip bool
}

// cropRange is the span of valid crop origins in one dimension.
func (p Preprocess) cropRange(base, size int) (lo, hi int) {
	pad := 0
	if p.Kind == Small {
		pad = p.PadCrop
	}
	return -pad, base - size + pad
}

// CenterCrop is the test-time crop.
func (p Preprocess) CenterCrop() Crop {
	b := p.BaseGeometry()
	return Crop{X: (b.W - p.Geometry.W) / 2, Y: (b.H - p.Geometry.H) / 2}
}

// RandomCrop is the training crop drawn from r: uniform over all positions
// (with Small's padding, if any) and a fair coin for the flip when Flip is on.
func (p Preprocess) RandomCrop(r *rand.Rand) Crop {
	b := p.BaseGeometry()
	xl, xh := p.cropRange(b.W, p.Geometry.W)
	yl, yh := p.cropRange(b.H, p.Geometry.H)
	c := Crop{X: xl + r.IntN(xh-xl+1), Y: yl + r.IntN(yh-yl+1)}
	if p.Flip {
		c.Flip = r.IntN(2) == 1
	}
	return c
}

// TenCrops are the paper's test crops: the four corners and the centre, then
// the same five mirrored. Their softmax outputs are averaged.
func (p Preprocess) TenCrops() [10]Crop {
	b := p.BaseGeometry()
	xl, xh := p.cropRange(b.W, p.Geometry.W)
	yl, yh := p.cropRange(b.H, p.Geometry.H)
	cc := p.CenterCrop()
	five := [5]Crop{{X: xl, Y: yl}, {X: xh, Y: yl}, {X: xl, Y: yh}, {X: xh, Y: yh}, cc}
	var out [10]Crop
	for i, c := range five {
		out[i] = c
		c.Flip = true
		out[5+i] = c
	}
	return out
}

// ApplyCrop subtracts the mean (when not nil) from a base picture, cuts
// the crop out of it into dst (Geometry.Size() floats) and applies
// Normalize, if set. base must have BaseGeometry; mean, if given, too.
func (p Preprocess) ApplyCrop(base []float32, mean *Mean, c Crop, dst []float32) {
	p.applyCrop(base, mean, c, dst)
	if p.Normalize != nil {
		p.Normalize.apply(dst, p.Geometry)
	}
}

func (p Preprocess) applyCrop(base []float32, mean *Mean, c Crop, dst []float32) {
	b := p.BaseGeometry()
	g := p.Geometry
	var m []float32
	if mean != nil {
		m = mean.Pix
	}
	bn := b.H * b.W
	for ch := 0; ch < g.C; ch++ {
		for y := 0; y < g.H; y++ {
			row := dst[(ch*g.H+y)*g.W : (ch*g.H+y+1)*g.W]
			sy := c.Y + y
			if sy < 0 || sy >= b.H {
				clear(row)
				continue
			}
			off := ch*bn + sy*b.W
			src := base[off : off+b.W]
			var mr []float32
			if m != nil {
				mr = m[off : off+b.W]
			}
			for x := range row {
				sx := c.X + x
				if c.Flip {
					sx = c.X + g.W - 1 - x
				}
				if sx < 0 || sx >= b.W {
					row[x] = 0
					continue
				}
				v := src[sx]
				if mr != nil {
					v -= mr[sx]
				}
				row[x] = v
			}
		}
	}
}

// notifier logs each channel conversion once per loader or mean pass, so the
// user learns that it happens without a line per picture.
type notifier struct {
	logf         func(string, ...any)
	gray, colour sync.Once
}

func newNotifier(logf func(string, ...any)) *notifier {
	if logf == nil {
		logf = log.Printf
	}
	return &notifier{logf: logf}
}

func (n *notifier) converted(src string, from, to int, path string) {
	if from == to || n == nil {
		return
	}
	if from == 1 {
		n.gray.Do(func() {
			n.logf("data: %s: gray pictures (first: %s) are replicated to 3 channels for the %d-channel model", src, path, to)
		})
		return
	}
	n.colour.Do(func() {
		n.logf("data: %s: colour pictures (first: %s) are reduced to luma (0.299R+0.587G+0.114B) for the %d-channel model", src, path, to)
	})
}

// scratch holds one worker's reusable buffers.
type scratch struct {
	rgba *image.RGBA
	base []float32
	tmp  []float32
}

func (s *scratch) canvas(w, h int) *image.RGBA {
	if s.rgba == nil || s.rgba.Rect.Dx() != w || s.rgba.Rect.Dy() != h {
		s.rgba = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	return s.rgba
}

// base runs the deterministic part of the pipeline on example i of src and
// returns the base picture (BaseGeometry, [0,1]) in sc.base, with its label
// and path.
func (p Preprocess) base(src Source, i int, sc *scratch, note *notifier) ([]float32, int, string, error) {
	bg := p.BaseGeometry()
	var img image.Image
	var label int
	var path string
	native := 0
	if ps, ok := src.(pictureSource); ok {
		var err error
		if img, label, path, err = ps.picture(i); err != nil {
			return nil, 0, path, err
		}
		native = nativeChannels(img)
	} else {
		im, err := src.Load(i)
		if err != nil {
			return nil, 0, "", err
		}
		if len(im.Pix) < im.C*im.H*im.W || (im.C != 1 && im.C != 3) {
			return nil, 0, im.Path, errors.Errorf("%s: %d pixel values for %dx%dx%d; expected a 1- or 3-channel picture", im.Path, len(im.Pix), im.C, im.H, im.W)
		}
		label, path, native = im.Label, im.Path, im.C
		// Float pixels from a source (not from a decoder, whose bytes are
		// always finite): refused here, naming the file and position, since
		// resampling or the network's ReLU would hide them (finite.go).
		if err := CheckFinite(im.Path, Geometry{C: im.C, H: im.H, W: im.W}, im.Pix[:im.C*im.H*im.W]); err != nil {
			return nil, 0, path, err
		}
		if n := len(src.Classes()); label != Unlabeled && (label < 0 || label >= n) {
			return nil, 0, path, errors.Errorf("%s: label %d out of range; expected 0 to %d", path, label, n-1)
		}
		if p.Kind == Small && im.H == bg.H && im.W == bg.W {
			// Already the right size: no resampling, only channels.
			note.converted(src.Name(), native, bg.C, path)
			sc.base = convertChannels(im.Pix, im.C, im.H*im.W, bg.C, sc.base)
			return sc.base, label, path, nil
		}
		img = floatToRGBA(im.Pix, im.C, im.H, im.W)
	}
	if n := len(src.Classes()); label != Unlabeled && (label < 0 || label >= n) {
		return nil, 0, path, errors.Errorf("%s: label %d out of range; expected 0 to %d", path, label, n-1)
	}
	note.converted(src.Name(), native, bg.C, path)
	r := img.Bounds()
	if r.Dx() == bg.W && r.Dy() == bg.H && p.Kind == Small {
		sc.base = toFloat(img, bg.C, sc.base)
		return sc.base, label, path, nil
	}
	sr := r
	if p.Kind == ImageNet {
		// Resizing the shorter side to R and keeping the centre RxR square is
		// the same as resizing the centre square of side min(w,h) to RxR,
		// which resamples only the pixels that survive the crop.
		s := min(r.Dx(), r.Dy())
		x0 := r.Min.X + (r.Dx()-s)/2
		y0 := r.Min.Y + (r.Dy()-s)/2
		sr = image.Rect(x0, y0, x0+s, y0+s)
	}
	dst := sc.canvas(bg.W, bg.H)
	p.Filter.scaler().Scale(dst, dst.Rect, img, sr, draw.Src, nil)
	sc.base = toFloat(dst, bg.C, sc.base)
	return sc.base, label, path, nil
}

// Base runs the deterministic part of the pipeline (decode, resize, centre
// square, channel conversion) on example i of src and returns a fresh
// picture of BaseGeometry in [0,1], before mean subtraction.
func (p Preprocess) Base(src Source, i int) (*Image, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var sc scratch
	pix, label, path, err := p.base(src, i, &sc, newNotifier(p.Logf))
	if err != nil {
		return nil, err
	}
	bg := p.BaseGeometry()
	return &Image{Pix: pix, C: bg.C, H: bg.H, W: bg.W, Label: label, Path: path}, nil
}
