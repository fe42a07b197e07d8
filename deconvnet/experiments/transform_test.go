package experiments

import (
	"math"
	"math/rand"
	"testing"

	"github.com/zfnet/zfnet/data"
)

// Transforms are checked on hand-made pictures whose answers are known:
// translations move pixels, quarter turns permute them, identities copy.

func trPicture(c, h, w int, seed int64) *data.Image {
	r := rand.New(rand.NewSource(seed))
	img := &data.Image{C: c, H: h, W: w, Pix: make([]float32, c*h*w)}
	for i := range img.Pix {
		img.Pix[i] = r.Float32()
	}
	return img
}

func trAt(img *data.Image, c, y, x int) float32 { return img.Pix[(c*img.H+y)*img.W+x] }

func TestTransformTranslateMovesPixel(t *testing.T) {
	img := &data.Image{C: 1, H: 5, W: 6, Pix: make([]float32, 30)}
	img.Pix[1*6+2] = 1 // (y=1, x=2)
	for _, tc := range []struct{ dx, dy float64 }{{2, 1}, {-2, 3}, {0, -1}, {3, 0}} {
		out, err := TranslateImage(img, tc.dx, tc.dy, []float32{0.25})
		if err != nil {
			t.Fatal(err)
		}
		wy, wx := 1+int(tc.dy), 2+int(tc.dx)
		for y := 0; y < 5; y++ {
			for x := 0; x < 6; x++ {
				sy, sx := y-int(tc.dy), x-int(tc.dx)
				want := float32(0)
				switch {
				case y == wy && x == wx:
					want = 1
				case sy < 0 || sx < 0 || sy >= 5 || sx >= 6:
					want = 0.25 // uncovered: the fill
				}
				if got := trAt(out, 0, y, x); got != want {
					t.Errorf("shift (%g, %g): pixel (%d, %d) = %g, want %g", tc.dx, tc.dy, y, x, got, want)
				}
			}
		}
	}
	// TranslateY through Transform moves rows only.
	out, err := Transform{TranslateY, 2}.Apply(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	if trAt(out, 0, 3, 2) != 1 || trAt(out, 0, 1, 2) != 0 {
		t.Errorf("vertical translation by 2 did not move (1, 2) to (3, 2)")
	}
	// Half a pixel: bilinear average of the two neighbours.
	out, err = TranslateImage(img, 0.5, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := trAt(out, 0, 1, 2), trAt(out, 0, 1, 3); a != 0.5 || b != 0.5 {
		t.Errorf("half-pixel shift: got %g, %g; want 0.5, 0.5", a, b)
	}
}

func TestTransformRotateQuarterTurns(t *testing.T) {
	img := trPicture(3, 7, 7, 1)
	n := img.W
	rot, err := RotateImage(img, 90, nil)
	if err != nil {
		t.Fatal(err)
	}
	half, err := RotateImage(img, 180, nil)
	if err != nil {
		t.Fatal(err)
	}
	back, err := RotateImage(img, -90, nil)
	if err != nil {
		t.Fatal(err)
	}
	full, err := RotateImage(img, 360, nil)
	if err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 3; c++ {
		for y := 0; y < n; y++ {
			for x := 0; x < n; x++ {
				// 90 degrees counter-clockwise = transpose, then flip rows.
				if got, want := trAt(rot, c, y, x), trAt(img, c, x, n-1-y); got != want {
					t.Fatalf("rotate 90: (%d, %d, %d) = %g, want %g (transpose-flip)", c, y, x, got, want)
				}
				if got, want := trAt(half, c, y, x), trAt(img, c, n-1-y, n-1-x); got != want {
					t.Fatalf("rotate 180: (%d, %d, %d) = %g, want %g", c, y, x, got, want)
				}
				if got, want := trAt(back, c, y, x), trAt(img, c, n-1-x, y); got != want {
					t.Fatalf("rotate -90: (%d, %d, %d) = %g, want %g", c, y, x, got, want)
				}
				if got, want := trAt(full, c, y, x), trAt(img, c, y, x); got != want {
					t.Fatalf("rotate 360: (%d, %d, %d) = %g, want %g", c, y, x, got, want)
				}
			}
		}
	}
	// A small turn keeps the centre pixel of an odd-sized picture.
	r, err := RotateImage(img, 17, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := trAt(r, 1, 3, 3), trAt(img, 1, 3, 3); math.Abs(float64(got-want)) > 1e-6 {
		t.Errorf("rotate 17: centre %g, want %g", got, want)
	}
}

func TestTransformIdentities(t *testing.T) {
	img := trPicture(2, 6, 9, 2)
	for _, tr := range []Transform{{TranslateY, 0}, {TranslateX, 0}, {Zoom, 1}, {Rotate, 0}} {
		if tr.Amount != tr.Kind.Identity() {
			t.Errorf("%v: identity is %g", tr.Kind, tr.Kind.Identity())
		}
		out, err := tr.Apply(img, []float32{0.5, 0.5})
		if err != nil {
			t.Fatal(err)
		}
		for i := range img.Pix {
			if out.Pix[i] != img.Pix[i] {
				t.Fatalf("%v is not the identity: value %d = %g, want %g", tr, i, out.Pix[i], img.Pix[i])
			}
		}
	}
}

func TestTransformZoom(t *testing.T) {
	// A 5x5 picture with a centre pixel and a pixel one right of it: zoom 2
	// keeps the centre and moves the other to two right of it.
	img := &data.Image{C: 1, H: 5, W: 5, Pix: make([]float32, 25)}
	img.Pix[2*5+2], img.Pix[2*5+3] = 1, 0.5
	out, err := ZoomImage(img, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if trAt(out, 0, 2, 2) != 1 || trAt(out, 0, 2, 4) != 0.5 || trAt(out, 0, 2, 3) != 0.75 {
		t.Errorf("zoom 2: row 2 = %v, want centre 1, x=3 0.75 (interpolated), x=4 0.5", out.Pix[10:15])
	}
	// Zoom 0.5 pulls the picture in: the border becomes fill.
	out, err = ZoomImage(img, 0.5, []float32{0.3})
	if err != nil {
		t.Fatal(err)
	}
	if trAt(out, 0, 2, 2) != 1 || trAt(out, 0, 0, 0) != 0.3 {
		t.Errorf("zoom 0.5: centre %g (want 1), corner %g (want fill 0.3)", trAt(out, 0, 2, 2), trAt(out, 0, 0, 0))
	}
	fill := BackgroundFill(img)
	if len(fill) != 1 || fill[0] != 0 {
		t.Errorf("background of a dark picture with a bright centre = %v, want [0]", fill)
	}
}

func TestTransformBadInput(t *testing.T) {
	img := trPicture(3, 4, 4, 3)
	cases := map[string]func() error{
		"nil picture":    func() error { _, err := RotateImage(nil, 10, nil); return err },
		"zero zoom":      func() error { _, err := ZoomImage(img, 0, nil); return err },
		"negative zoom":  func() error { _, err := ZoomImage(img, -1, nil); return err },
		"NaN angle":      func() error { _, err := RotateImage(img, math.NaN(), nil); return err },
		"infinite shift": func() error { _, err := TranslateImage(img, math.Inf(1), 0, nil); return err },
		"fill length":    func() error { _, err := TranslateImage(img, 1, 0, []float32{0, 0}); return err },
		"NaN fill":       func() error { _, err := TranslateImage(img, 1, 0, []float32{float32(math.NaN())}); return err },
		"short pixels":   func() error { _, err := Transform{Zoom, 2}.Apply(&data.Image{C: 1, H: 3, W: 3}, nil); return err },
		"unknown kind":   func() error { _, err := Transform{TransformKind(9), 1}.Apply(img, nil); return err },
	}
	for name, f := range cases {
		if err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
