package data

import (
	"fmt"
	"image"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestImageNetBase(t *testing.T) {
	root := t.TempDir()
	// A 500x375 photo-like JPEG: the shorter side becomes 256 and the centre
	// square is kept.
	grad := image.NewRGBA(image.Rect(0, 0, 500, 375))
	for y := 0; y < 375; y++ {
		for x := 0; x < 500; x++ {
			grad.Pix[grad.PixOffset(x, y)] = uint8(x * 255 / 499)
			grad.Pix[grad.PixOffset(x, y)+3] = 255
		}
	}
	writeFile(t, filepath.Join(root, "c", "p.jpg"), encodeJPEG(t, grad))
	s, _, err := OpenFolder(root, "f", nil, FailOnBad)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []ResizeFilter{CatmullRom, ApproxBiLinear, BiLinear} {
		p := ImageNetPreprocess(Geometry{3, 224, 224})
		p.Filter = f
		im, err := p.Base(s, 0)
		if err != nil {
			t.Fatal(err)
		}
		if im.C != 3 || im.H != 256 || im.W != 256 || len(im.Pix) != 3*256*256 {
			t.Fatalf("base %dx%dx%d", im.C, im.H, im.W)
		}
		// The red channel is a horizontal gradient over the full width, so
		// the centre square starts near x=62/500 of it and ends near 437/500.
		left, right := im.Pix[128*256+2], im.Pix[128*256+253]
		if left < 0.08 || left > 0.2 || right < 0.8 || right > 0.93 {
			t.Fatalf("filter %d: red at edges %g %g; want about 0.12 and 0.87", f, left, right)
		}
	}
}

func TestCrops(t *testing.T) {
	p := ImageNetPreprocess(Geometry{1, 2, 2})
	p.Resize = 4
	base := make([]float32, 16)
	for i := range base {
		base[i] = float32(i)
	}
	dst := make([]float32, 4)
	tc := p.TenCrops()
	want := [][]float32{{0, 1, 4, 5}, {2, 3, 6, 7}, {8, 9, 12, 13}, {10, 11, 14, 15}, {5, 6, 9, 10},
		{1, 0, 5, 4}, {3, 2, 7, 6}, {9, 8, 13, 12}, {11, 10, 15, 14}, {6, 5, 10, 9}}
	for k, c := range tc {
		p.ApplyCrop(base, nil, c, dst)
		if fmt.Sprint(dst) != fmt.Sprint(want[k]) {
			t.Errorf("crop %d %+v: %v; want %v", k, c, dst, want[k])
		}
	}
	mean := &Mean{C: 1, H: 4, W: 4, Pix: make([]float32, 16)}
	for i := range mean.Pix {
		mean.Pix[i] = 1
	}
	p.ApplyCrop(base, mean, p.CenterCrop(), dst)
	if fmt.Sprint(dst) != "[4 5 8 9]" {
		t.Errorf("mean subtraction: %v", dst)
	}
	// Small with padding: the crop may reach outside, which reads as 0 (the mean).
	s := Preprocess{Kind: Small, Geometry: Geometry{1, 4, 4}, PadCrop: 1}
	d := make([]float32, 16)
	s.ApplyCrop(base, mean, Crop{X: -1, Y: -1}, d)
	if d[0] != 0 || d[5] != -1 || d[15] != 10-1 {
		t.Errorf("padded crop %v", d)
	}
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[Crop]bool{}
	for i := 0; i < 500; i++ {
		c := s.RandomCrop(r)
		if c.X < -1 || c.X > 1 || c.Y < -1 || c.Y > 1 || c.Flip {
			t.Fatalf("crop %+v out of range", c)
		}
		seen[c] = true
	}
	if len(seen) != 9 {
		t.Errorf("%d distinct padded crops; want 9", len(seen))
	}
}

func TestChannelConversionLoggedOnce(t *testing.T) {
	root := t.TempDir()
	for i := 0; i < 3; i++ {
		writeFile(t, filepath.Join(root, "g", fmt.Sprintf("%d.png", i)), encodePNG(t, grayPicture(30, 20)))
		writeFile(t, filepath.Join(root, "c", fmt.Sprintf("%d.jpg", i)), encodeJPEG(t, testPicture(30, 20, i)))
	}
	s, _, err := OpenFolder(root, "f", nil, FailOnBad)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logs []string
	logf := func(f string, a ...any) { mu.Lock(); logs = append(logs, fmt.Sprintf(f, a...)); mu.Unlock() }

	p := ImageNetPreprocess(Geometry{3, 16, 16})
	p.Resize = 20
	p.Logf = logf
	l, err := NewLoader(s, LoaderConfig{BatchSize: 4, Pre: p, Workers: 2, Train: true})
	if err != nil {
		t.Fatal(err)
	}
	for e := 0; e < 2; e++ {
		st := l.Start(e, 0)
		for {
			if _, err := st.Next(); err != nil {
				break
			}
		}
		st.Close()
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "replicated to 3 channels") {
		t.Fatalf("logs %q", logs)
	}
	// Gray replicated: all channels equal.
	im, _ := p.Base(s, 3)
	n := 20 * 20
	if im.Pix[5] != im.Pix[n+5] || im.Pix[5] != im.Pix[2*n+5] {
		t.Fatal("gray not replicated")
	}
	logs = nil
	p.Geometry.C = 1
	p.Logf = logf
	im, err = p.Base(s, 0)
	if err != nil || im.C != 1 || len(logs) != 1 || !strings.Contains(logs[0], "luma") {
		t.Fatalf("colour to gray: %v %q", err, logs)
	}
}

func TestPreprocessValidate(t *testing.T) {
	bad := []Preprocess{
		{Kind: Small, Geometry: Geometry{2, 28, 28}},
		{Kind: Small, Geometry: Geometry{1, 28, 28}, PadCrop: -1},
		{Kind: ImageNet, Geometry: Geometry{3, 300, 300}},
		{Kind: 7, Geometry: Geometry{3, 3, 3}},
	}
	for _, p := range bad {
		if p.Validate() == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	// Small resamples pictures of another size to the geometry.
	src := newMemSource(2, 3, 10, 12)
	im, err := SmallPreprocess(Geometry{3, 5, 6}).Base(src, 1)
	if err != nil || im.H != 5 || im.W != 6 {
		t.Fatal(im, err)
	}
}

func TestToImage(t *testing.T) {
	g := Geometry{3, 2, 2}
	mean := &Mean{C: 3, H: 4, W: 4, Pix: make([]float32, 48)}
	for i := range mean.Pix {
		mean.Pix[i] = 0.5
	}
	x := []float32{0.5, -0.5, 0, 0.25, 0, 0, 0, 0, -1, -1, -1, 2}
	img := ToImage(x, g, mean).(*image.RGBA)
	if c := img.RGBAAt(0, 0); c.R != 255 || c.G != 128 || c.B != 0 {
		t.Fatalf("%v", c)
	}
	if c := img.RGBAAt(1, 0); c.R != 0 {
		t.Fatalf("%v", c)
	}
	gray := ToImage([]float32{0, 1}, Geometry{1, 1, 2}, nil).(*image.Gray)
	if gray.Pix[0] != 0 || gray.Pix[1] != 255 {
		t.Fatal(gray.Pix)
	}
}
