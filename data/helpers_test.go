package data

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// encodeIDX writes raw IDX bytes.
func encodeIDX(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

// testPicture is a deterministic colourful picture (a gradient with a
// diagonal stripe), so crops and flips are visible in the pixels.
func testPicture(w, h, seed int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{R: uint8((x*255/w + seed*37) % 256), G: uint8((y*255/h + seed*11) % 256), B: uint8(((x + y) / 8 * 40) % 256), A: 255}
			if (x+y+seed)%31 < 3 {
				c = color.RGBA{255, 255, 255, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeGIF(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func grayPicture(w, h int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = uint8(i * 7)
	}
	return g
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// memSource is an in-memory float source for loader tests; bad lists indices
// whose Load fails.
type memSource struct {
	imgs    []*Image
	classes []string
	bad     map[int]bool
}

func (m *memSource) Name() string      { return "mem" }
func (m *memSource) Len() int          { return len(m.imgs) }
func (m *memSource) Classes() []string { return m.classes }
func (m *memSource) Load(i int) (*Image, error) {
	if m.bad[i] {
		return nil, errorf("mem#%d: broken on purpose", i)
	}
	im := *m.imgs[i]
	return &im, nil
}

func newMemSource(n, c, h, w int) *memSource {
	m := &memSource{classes: []string{"a", "b", "c"}}
	for i := 0; i < n; i++ {
		pix := make([]float32, c*h*w)
		for j := range pix {
			pix[j] = float32((i*31+j*7)%256) / 255
		}
		m.imgs = append(m.imgs, &Image{Pix: pix, C: c, H: h, W: w, Label: i % 3, Path: "mem#" + itoa(i)})
	}
	return m
}

func itoa(i int) string { return strconv.Itoa(i) }

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
