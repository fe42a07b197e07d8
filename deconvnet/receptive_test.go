package deconvnet

import (
	"image"
	"testing"

	"github.com/zfnet/zfnet/deconvnet/internal/fixture"
	"github.com/zfnet/zfnet/nn"
	"github.com/zfnet/zfnet/zfnet"
)

// vizFieldTopDown walks from an output interval down to the pixels, one
// layer at a time: an independent way to get what ReceptiveField composes
// bottom-up.
func vizFieldTopDown(m *zfnet.Model, i, lo, hi int) (int, int) {
	for j := i; j >= 0; j-- {
		switch l := m.LayerAt(j).(type) {
		case *nn.Conv2d:
			lo, hi = lo*l.Stride-l.Pad, hi*l.Stride-l.Pad+l.Kernel-1
		case *nn.MaxPool:
			lo, hi = lo*l.Stride-l.Pad, hi*l.Stride-l.Pad+l.Kernel-1
		}
	}
	return lo, hi
}

func TestReceptiveFieldByHand(t *testing.T) {
	zf := fixture.Arch(t, "zfnet")
	// A fixed small stack (zfnet-small's stages with 3x3 convolutions), so
	// the hand-computed boxes do not follow edits of the arch table.
	p := &zfnet.Pool{Kernel: 3, Stride: 2, Pad: 1}
	small, err := zfnet.New(zfnet.Arch{Name: "small-3x3", Input: [3]int{1, 28, 28}, Classes: 10,
		Convs: []zfnet.ConvStage{
			{Out: 4, Kernel: 3, Stride: 1, Pad: 1, LRN: true, Pool: p},
			{Out: 4, Kernel: 3, Stride: 1, Pad: 1, LRN: true, Pool: p},
			{Out: 4, Kernel: 3, Stride: 1, Pad: 1},
			{Out: 4, Kernel: 3, Stride: 1, Pad: 1},
			{Out: 4, Kernel: 3, Stride: 1, Pad: 1, Pool: &zfnet.Pool{Kernel: 3, Stride: 2}},
		},
		FCs: []zfnet.FC{{Out: 0}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		m           *zfnet.Model
		layer       string
		y, x        int
		window, box image.Rectangle
	}{
		// conv1 7x7/2 pad 1: position 0 covers -1..5, clipped to 0..5.
		{zf, "conv1", 0, 0, image.Rect(-1, -1, 6, 6), image.Rect(0, 0, 6, 6)},
		{zf, "relu1", 1, 2, image.Rect(3, 1, 10, 8), image.Rect(3, 1, 10, 8)},
		// pool1 3/2 pad 1 on a jump of 2: start -1-2 = -3, size 7+2*2 = 11.
		{zf, "pool1", 0, 0, image.Rect(-3, -3, 8, 8), image.Rect(0, 0, 8, 8)},
		// conv2 5/2: size 11+4*4 = 27, jump 8.
		{zf, "conv2", 1, 0, image.Rect(-3, 5, 24, 32), image.Rect(0, 5, 24, 32)},
		// 3/1 p1, pool 3/2 p1, 3/1 p1, pool 3/2 p1, three 3/1 p1, pool 3/2.
		{small, "conv1", 0, 0, image.Rect(-1, -1, 2, 2), image.Rect(0, 0, 2, 2)},
		{small, "conv1", 27, 27, image.Rect(26, 26, 29, 29), image.Rect(26, 26, 28, 28)},
		{small, "conv2", 0, 0, image.Rect(-4, -4, 5, 5), image.Rect(0, 0, 5, 5)},
		{small, "conv3", 3, 3, image.Rect(2, 2, 23, 23), image.Rect(2, 2, 23, 23)},
		{small, "conv5", 3, 3, image.Rect(-6, -6, 31, 31), image.Rect(0, 0, 28, 28)},
		{small, "pool5", 0, 0, image.Rect(-18, -18, 27, 27), image.Rect(0, 0, 27, 27)},
		{small, "fc6", 0, 0, image.Rect(0, 0, 28, 28), image.Rect(0, 0, 28, 28)},
	} {
		f, err := ReceptiveField(c.m, c.layer, c.y, c.x)
		if err != nil {
			t.Fatalf("%s %s: %v", c.m.Arch.Name, c.layer, err)
		}
		if f.Window != c.window || f.Box != c.box {
			t.Errorf("%s %s (%d, %d): window %v box %v; want %v %v", c.m.Arch.Name, c.layer, c.y, c.x, f.Window, f.Box, c.window, c.box)
		}
	}
	if s, err := FieldSize(small, "conv5"); err != nil || s != 37 {
		t.Errorf("small conv5 field size %d, %v; want 37", s, err)
	}
	if s, err := FieldSize(zf, "conv1"); err != nil || s != 7 {
		t.Errorf("zfnet conv1 field size %d, %v; want 7", s, err)
	}
}

func TestReceptiveFieldMatchesTopDown(t *testing.T) {
	for _, name := range []string{"zfnet", "zfnet-small", "alexnet"} {
		m := fixture.Arch(t, name)
		in := m.Arch.Input
		for i, l := range m.Layers() {
			if isFlat(m, i) {
				break
			}
			s := m.Shape(i)
			for y := 0; y < s[1]; y += max(1, s[1]/7) {
				x := s[2] - 1 - y%s[2]
				f, err := ReceptiveField(m, l.Name(), y, x)
				if err != nil {
					t.Fatal(err)
				}
				y0, y1 := vizFieldTopDown(m, i, y, y)
				x0, x1 := vizFieldTopDown(m, i, x, x)
				want := image.Rect(x0, y0, x1+1, y1+1)
				if f.Window != want || f.Box != want.Intersect(image.Rect(0, 0, in[2], in[1])) {
					t.Fatalf("%s %s (%d, %d): %v / %v; want %v", name, l.Name(), y, x, f.Window, f.Box, want)
				}
			}
		}
	}
}

func TestReceptiveFieldErrors(t *testing.T) {
	m := fixture.Arch(t, "zfnet-small")
	for _, c := range []struct {
		layer string
		y, x  int
	}{{"conv9", 0, 0}, {"conv1", 28, 0}, {"conv1", 0, -1}, {"pool5", 3, 0}} {
		if _, err := ReceptiveField(m, c.layer, c.y, c.x); err == nil {
			t.Errorf("%s (%d, %d): no error", c.layer, c.y, c.x)
		}
	}
	if _, err := ReceptiveField(nil, "conv1", 0, 0); err == nil {
		t.Error("nil model: no error")
	}
	if _, err := FieldSize(m, "nope"); err == nil {
		t.Error("FieldSize of an unknown layer: no error")
	}
}
