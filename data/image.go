package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/gif"  // registered for image.Decode: folders may hold GIFs
	_ "image/jpeg" // registered for image.Decode: ImageNet is JPEG
	_ "image/png"  // registered for image.Decode
	"os"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"
	_ "golang.org/x/image/bmp"  // registered for image.Decode: cheap to support
	_ "golang.org/x/image/webp" // registered for image.Decode: cheap to support
)

// Image is one decoded example: pixels in [0,1], planar CHW (channel-major,
// then rows, then columns), which is the layout the model's NCHW input uses.
type Image struct {
	Pix     []float32
	C, H, W int
	Label   int
	Path    string // the file it came from; for records inside a file, "file#record"
}

// Geometry is the shape of one model input: channels, height, width.
type Geometry struct{ C, H, W int }

// Size is C*H*W, the number of floats in one example.
func (g Geometry) Size() int { return g.C * g.H * g.W }

// String formats as CxHxW.
func (g Geometry) String() string { return fmt.Sprintf("%dx%dx%d", g.C, g.H, g.W) }

func (g Geometry) valid() bool {
	return (g.C == 1 || g.C == 3) && g.H > 0 && g.W > 0
}

// imageExts are the file extensions an image folder or list may hold. The
// decoder sniffs the content, so the extension only decides which files are
// meant to be images.
var imageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true,
	".bmp": true, ".webp": true,
}

const expectedFormats = "a JPEG, PNG, GIF, BMP or WebP image"

func isImageExt(name string) bool {
	return imageExts[strings.ToLower(filepath.Ext(name))]
}

// maxPixels bounds the decoded size of one picture so that a corrupt or
// hostile header cannot make the decoder allocate gigabytes.
const maxPixels = 1 << 28

// decodeFile reads and decodes one picture. The error names the file and
// what was expected.
func decodeFile(path string) (img image.Image, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errors.Wrapf(err, "%s: reading image", path)
	}
	return decodeBytes(b, path)
}

func decodeBytes(b []byte, path string) (img image.Image, err error) {
	// The standard decoders do not panic on bad input, but third-party
	// registered ones might; a training run must get an error instead.
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, errors.Errorf("%s: decoder panicked (%v); expected %s", path, r, expectedFormats)
		}
	}()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, errors.Wrapf(err, "%s: unreadable image header; expected %s", path, expectedFormats)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, errors.Errorf("%s: %s image of %dx%d pixels; expected 1 to %d pixels", path, format, cfg.Width, cfg.Height, maxPixels)
	}
	img, _, err = image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, errors.Wrapf(err, "%s: corrupt or truncated %s image", path, format)
	}
	// Phone photos are stored as the sensor saw them, with the turn for
	// display in EXIF (exif.go): the network must see them upright.
	return applyOrientation(img, exifOrientation(b, format)), nil
}

// nativeChannels is 1 for gray pictures and 3 for everything else; alpha is
// dropped (composited over black), as the paper's RGB inputs have none.
func nativeChannels(img image.Image) int {
	switch img.(type) {
	case *image.Gray, *image.Gray16:
		return 1
	}
	return 3
}

// toFloat converts a picture to planar float CHW in [0,1] with c channels
// (1 or 3), appending to dst[:0]. Gray is replicated into 3 channels and
// colour reduced to luma (BT.601, as image/color.GrayModel) for 1 channel;
// callers log that conversion.
func toFloat(img image.Image, c int, dst []float32) []float32 {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	n := w * h
	dst = grow(dst, c*n)
	const s = 1.0 / 255
	switch m := img.(type) {
	case *image.RGBA:
		for y := 0; y < h; y++ {
			o0 := m.PixOffset(r.Min.X, r.Min.Y+y)
			row := m.Pix[o0 : o0+4*w]
			o := y * w
			for x := 0; x < w; x++ {
				rr, gg, bb := float32(row[4*x]), float32(row[4*x+1]), float32(row[4*x+2])
				if c == 3 {
					dst[o+x], dst[n+o+x], dst[2*n+o+x] = rr*s, gg*s, bb*s
				} else {
					dst[o+x] = (0.299*rr + 0.587*gg + 0.114*bb) * s
				}
			}
		}
		return dst
	case *image.Gray:
		for y := 0; y < h; y++ {
			o0 := m.PixOffset(r.Min.X, r.Min.Y+y)
			row := m.Pix[o0 : o0+w]
			o := y * w
			for x, v := range row {
				f := float32(v) * s
				dst[o+x] = f
				if c == 3 {
					dst[n+o+x], dst[2*n+o+x] = f, f
				}
			}
		}
		return dst
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			rr, gg, bb, _ := img.At(r.Min.X+x, r.Min.Y+y).RGBA()
			o := y*w + x
			const s16 = 1.0 / 65535
			if c == 3 {
				dst[o], dst[n+o], dst[2*n+o] = float32(rr)*s16, float32(gg)*s16, float32(bb)*s16
			} else {
				dst[o] = (0.299*float32(rr) + 0.587*float32(gg) + 0.114*float32(bb)) * s16
			}
		}
	}
	return dst
}

// convertChannels changes planar pixels from c to want channels (1 or 3).
func convertChannels(pix []float32, c, n, want int, dst []float32) []float32 {
	dst = grow(dst, want*n)
	switch {
	case c == want:
		copy(dst, pix[:c*n])
	case c == 1 && want == 3:
		copy(dst[:n], pix[:n])
		copy(dst[n:2*n], pix[:n])
		copy(dst[2*n:3*n], pix[:n])
	case c == 3 && want == 1:
		for i := 0; i < n; i++ {
			dst[i] = 0.299*pix[i] + 0.587*pix[n+i] + 0.114*pix[2*n+i]
		}
	}
	return dst
}

// grow returns dst resized to n elements, reusing its storage when it can.
func grow(dst []float32, n int) []float32 {
	if cap(dst) >= n {
		return dst[:n]
	}
	return make([]float32, n)
}

// floatToRGBA renders planar [0,1] pixels (1 or 3 channels) as a picture so
// that x/image/draw can resample it.
func floatToRGBA(pix []float32, c, h, w int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	n := h * w
	for i := 0; i < n; i++ {
		var r, g, b float32
		if c == 3 {
			r, g, b = pix[i], pix[n+i], pix[2*n+i]
		} else {
			r = pix[i]
			g, b = r, r
		}
		img.Pix[4*i] = to8(r)
		img.Pix[4*i+1] = to8(g)
		img.Pix[4*i+2] = to8(b)
		img.Pix[4*i+3] = 255
	}
	return img
}

func to8(v float32) uint8 {
	v = v*255 + 0.5
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v)
}

// ToImage turns one model input back into a picture for visualisation. It
// adds the mean back (when mean is not nil), clamps to [0,1] and returns an
// *image.Gray for 1 channel or an *image.RGBA for 3. A mean larger than the
// input (the 256x256 ImageNet mean under a 224x224 crop) contributes its
// centre, which is exact for test-time centre crops and close for others.
// x must hold at least g.Size() values; missing values render black.
func ToImage(x []float32, g Geometry, mean *Mean) image.Image {
	if g.H <= 0 || g.W <= 0 {
		return image.NewGray(image.Rect(0, 0, 0, 0))
	}
	n := g.H * g.W
	at := func(c, y, xx int) float32 {
		i := c*n + y*g.W + xx
		if i >= len(x) {
			return 0
		}
		v := x[i]
		if mean != nil && mean.Normalize != nil {
			v = mean.Normalize.invert(x, g, c, i-c*n)
		}
		if mean != nil && mean.C == g.C && mean.H >= g.H && mean.W >= g.W && len(mean.Pix) == mean.C*mean.H*mean.W {
			oy, ox := (mean.H-g.H)/2, (mean.W-g.W)/2
			v += mean.Pix[c*mean.H*mean.W+(y+oy)*mean.W+xx+ox]
		}
		return v
	}
	if g.C == 1 {
		img := image.NewGray(image.Rect(0, 0, g.W, g.H))
		for y := 0; y < g.H; y++ {
			for xx := 0; xx < g.W; xx++ {
				img.SetGray(xx, y, color.Gray{Y: to8(at(0, y, xx))})
			}
		}
		return img
	}
	img := image.NewRGBA(image.Rect(0, 0, g.W, g.H))
	for y := 0; y < g.H; y++ {
		for xx := 0; xx < g.W; xx++ {
			img.SetRGBA(xx, y, color.RGBA{R: to8(at(0, y, xx)), G: to8(at(1, y, xx)), B: to8(at(2, y, xx)), A: 255})
		}
	}
	return img
}
