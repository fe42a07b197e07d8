package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"

	"github.com/pkg/errors"
)

// SizeSummary describes the picture sizes of a data set, from which the
// input geometry of a run is decided once (zfnet.ArchFor) instead of from
// whichever picture happens to come first.
type SizeSummary struct {
	Examined, Total        int
	MinW, MaxW, MinH, MaxH int
	Uniform                bool // every examined picture has the same size
	Colour                 bool // at least one examined picture has colour
}

// String reads like "80x80, gray (all 12 pictures)" or "200x150 to 300x300,
// colour (1000 of 52000 pictures, evenly spaced)".
func (s SizeSummary) String() string {
	size := fmt.Sprintf("%dx%d", s.MaxW, s.MaxH)
	if !s.Uniform {
		size = fmt.Sprintf("%dx%d to %dx%d", s.MinW, s.MinH, s.MaxW, s.MaxH)
	}
	kind := "gray"
	if s.Colour {
		kind = "colour"
	}
	which := fmt.Sprintf("all %d pictures", s.Total)
	if s.Examined < s.Total {
		which = fmt.Sprintf("%d of %d pictures, evenly spaced", s.Examined, s.Total)
	}
	return fmt.Sprintf("%s, %s (%s)", size, kind, which)
}

// Channels is 3 when any examined picture has colour, else 1.
func (s SizeSummary) Channels() int {
	if s.Colour {
		return 3
	}
	return 1
}

// pathSource is implemented by sources of picture files, so that sizes can
// be read from file headers without decoding.
type pathSource interface {
	filePath(i int) string
}

func (s *folderSource) filePath(i int) string { return s.files[i] }
func (s *listSource) filePath(i int) string   { return s.files[i] }
func (s *filesSource) filePath(i int) string  { return s.paths[i] }

// filePathOf finds the file of example i through subsets; "" when the
// source is not made of picture files.
func filePathOf(src Source, i int) string {
	switch s := src.(type) {
	case *pictureSubset:
		return filePathOf(s.parent, s.idx[i])
	case *subset:
		return filePathOf(s.parent, s.idx[i])
	case pathSource:
		return s.filePath(i)
	}
	return ""
}

// ScanSizes examines the sizes of every picture of src, or of limit evenly
// spaced ones when there are more (limit <= 0: all). Picture files are read
// only as far as their headers (and EXIF orientation: a portrait phone
// photo counts as portrait); other sources load their examples.
func ScanSizes(src Source, limit int) (SizeSummary, error) {
	n := src.Len()
	s := SizeSummary{Total: n, Uniform: true}
	if n == 0 {
		return s, errors.Errorf("%s: no examples", src.Name())
	}
	m := n
	if limit > 0 && limit < n {
		m = limit
	}
	var first error
	for k := 0; k < m; k++ {
		i := k * n / m
		var w, h, c int
		var err error
		if p := filePathOf(src, i); p != "" {
			w, h, c, err = pictureHeader(p)
		} else {
			var im *Image
			if im, err = src.Load(i); err == nil {
				w, h, c = im.W, im.H, im.C
			}
		}
		if err != nil {
			// A bad file is left to the bad-file policy of the passes that
			// decode; it does not decide the geometry.
			if first == nil {
				first = err
			}
			continue
		}
		if s.Examined == 0 {
			s.MinW, s.MaxW, s.MinH, s.MaxH = w, w, h, h
		}
		if w != s.MinW || w != s.MaxW || h != s.MinH || h != s.MaxH {
			s.Uniform = false
		}
		s.MinW, s.MaxW = min(s.MinW, w), max(s.MaxW, w)
		s.MinH, s.MaxH = min(s.MinH, h), max(s.MaxH, h)
		s.Colour = s.Colour || c == 3
		s.Examined++
	}
	if s.Examined == 0 {
		return s, errors.Wrapf(first, "%s: no readable picture to take the input size from", src.Name())
	}
	return s, nil
}

// headerBytes is how much of a file is read for its header: enough for
// JPEG's APP segments (EXIF with its thumbnail is at most 64 KiB) before
// the frame header.
const headerBytes = 64 << 10

// pictureHeader reads a picture file's displayed size and channels (1 for
// gray, 3 otherwise, as nativeChannels decides) without decoding it.
func pictureHeader(path string) (w, h, c int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0, errors.Wrapf(err, "%s: reading image", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, headerBytes))
	f.Close()
	if err != nil {
		return 0, 0, 0, errors.Wrapf(err, "%s: reading image", path)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil && len(b) == headerBytes { // a header longer than usual: read it all
		if b, err = os.ReadFile(path); err == nil {
			cfg, format, err = image.DecodeConfig(bytes.NewReader(b))
		}
	}
	if err != nil {
		return 0, 0, 0, errors.Wrapf(err, "%s: unreadable image header; expected %s", path, expectedFormats)
	}
	if format == "webp" && len(b) == headerBytes {
		// WebP keeps its EXIF chunk after the image data.
		if all, err := os.ReadFile(path); err == nil {
			b = all
		}
	}
	c = 3
	if cfg.ColorModel == color.GrayModel || cfg.ColorModel == color.Gray16Model {
		c = 1
	}
	w, h = orientedSize(cfg.Width, cfg.Height, exifOrientation(b, format))
	return w, h, c, nil
}
