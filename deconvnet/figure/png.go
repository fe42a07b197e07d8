package figure

import (
	"image"
	"image/png"
	"io"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data/atomicfile"
)

// WritePNG encodes an image as PNG.
func WritePNG(w io.Writer, img image.Image) error {
	return errors.Wrap(png.Encode(w, img), "encoding PNG")
}

// SavePNG writes an image to path atomically (see package atomicfile): a
// reader never sees half a picture.
func SavePNG(path string, img image.Image) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		return errors.Wrapf(WritePNG(w, img), "%s", path)
	})
}
