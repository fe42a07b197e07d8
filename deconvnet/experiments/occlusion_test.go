package experiments

import (
	"image"
	"math"
	"path/filepath"
	"testing"

	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/zfnet"
)

// occTiny is a network whose answers are known: an 8x8 gray input, conv1 a
// single 1x1 filter of weight 1 (so relu1 = relu(x), one feature map), and
// fc2 with two classes: logit 0 = 3 * (sum of relu1 over the top-left 2x2
// region), logit 1 = 6 (its bias). Class 0 is seen only through that
// region; covering it with zeros makes class 1 win.
func occTiny(t *testing.T, batch int) *deconvnet.Net {
	t.Helper()
	a := zfnet.Arch{Name: "occ-tiny", Input: [3]int{1, 8, 8}, Classes: 2,
		Convs: []zfnet.ConvStage{{Out: 1, Kernel: 1, Stride: 1}},
		FCs:   []zfnet.FC{{}}}
	m, err := zfnet.New(a)
	if err != nil {
		t.Fatal(err)
	}
	m.Param("conv1.weight").Data()[0] = 1
	w := m.Param("fc2.weight").Data() // (2, 64)
	for y := 0; y < 2; y++ {
		for x := 0; x < 2; x++ {
			w[y*8+x] = 3
		}
	}
	m.Param("fc2.bias").Data()[1] = 6
	net, err := deconvnet.New(m, batch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { net.Close() })
	return net
}

// occRamp is x[y][x] = 1 + (8y + x)/64: positive everywhere, all different.
func occRamp() []float32 {
	x := make([]float32, 64)
	for i := range x {
		x[i] = 1 + float32(i)/64
	}
	return x
}

func TestOcclusionKnownModel(t *testing.T) {
	net := occTiny(t, 5) // 16 positions: 4 batches, the last padded
	x := occRamp()
	res, err := Occlude(net, x, 0, OcclusionConfig{Size: 2, Stride: 2, Map: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 4 || res.Cols != 4 || res.Map != 0 || res.Config.Layer != "conv1" {
		t.Fatalf("grid %dx%d, map %d, layer %q; want 4x4, map 0, conv1", res.Rows, res.Cols, res.Map, res.Config.Layer)
	}
	var total, region float64
	for i, v := range x {
		total += float64(v)
		if i/8 < 2 && i%8 < 2 {
			region += float64(v)
		}
	}
	sigmoid := func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
	cleanP := sigmoid(3*region - 6)
	if math.Abs(res.CleanAct-total) > 1e-4 || math.Abs(res.CleanP-cleanP) > 1e-5 || res.CleanPred != 0 {
		t.Errorf("clean: activation %g (want %g), P %g (want %g), predicted %d (want 0)", res.CleanAct, total, res.CleanP, cleanP, res.CleanPred)
	}
	for r := 0; r < 4; r++ {
		for c := 0; c < 4; c++ {
			i := r*4 + c
			sq := res.Square(r, c)
			if sq != image.Rect(2*c, 2*r, 2*c+2, 2*r+2) {
				t.Fatalf("square (%d, %d) = %v", r, c, sq)
			}
			covered := 0.0
			for y := sq.Min.Y; y < sq.Max.Y; y++ {
				for xx := sq.Min.X; xx < sq.Max.X; xx++ {
					covered += float64(x[y*8+xx])
				}
			}
			if want := total - covered; math.Abs(res.Activation[i]-want) > 1e-4 {
				t.Errorf("(%d, %d): map total %g, want %g", r, c, res.Activation[i], want)
			}
			wantP, wantPred := cleanP, 0
			if r == 0 && c == 0 { // the region is covered: logit 0 = 0
				wantP, wantPred = sigmoid(-6), 1
			}
			if math.Abs(res.PTrue[i]-wantP) > 1e-5 || res.Predicted[i] != wantPred {
				t.Errorf("(%d, %d): P(true) %g, predicted %d; want %g, %d", r, c, res.PTrue[i], res.Predicted[i], wantP, wantPred)
			}
		}
	}
	// The strongest conv1 activation is the largest input pixel; its
	// projection through a 1x1 filter of weight 1 is that pixel alone.
	if res.Strongest.Y != 7 || res.Strongest.X != 7 {
		t.Errorf("strongest at (%d, %d), want (7, 7)", res.Strongest.Y, res.Strongest.X)
	}
	for i, v := range res.Projection {
		want := float32(0)
		if i == 63 {
			want = x[63]
		}
		if math.Abs(float64(v-want)) > 1e-5 {
			t.Fatalf("projection[%d] = %g, want %g", i, v, want)
		}
	}
	img, err := OcclusionFigure(res, nil, []string{"zero", "one"}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 5*32 || b.Dy() < 32 {
		t.Errorf("figure is only %v", b)
	}
	if err := figure.SavePNG(filepath.Join(t.TempDir(), "occ.png"), img); err != nil {
		t.Fatal(err)
	}

	// A fill value other than the mean: 2 in every covered pixel.
	res2, err := Occlude(net, x, 0, OcclusionConfig{Size: 3, Stride: 3, Fill: 2, Map: 0})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Rows != 3 || res2.Square(0, 0) != image.Rect(0, 0, 3, 3) {
		t.Errorf("size 3 stride 3: %d rows, first square %v", res2.Rows, res2.Square(0, 0))
	}
	if res2.Predicted[0] != 0 || res2.PTrue[0] <= res.CleanP {
		t.Errorf("covering the region with 2s should raise P(class 0): %g vs clean %g", res2.PTrue[0], res.CleanP)
	}
}

func TestOcclusionBadInput(t *testing.T) {
	net := occTiny(t, 2)
	x := occRamp()
	cases := map[string]func() error{
		"size 0":   func() error { _, err := Occlude(net, x, 0, OcclusionConfig{Size: 0, Stride: 1}); return err },
		"stride 0": func() error { _, err := Occlude(net, x, 0, OcclusionConfig{Size: 2, Stride: 0}); return err },
		"too big":  func() error { _, err := Occlude(net, x, 0, OcclusionConfig{Size: 9, Stride: 1}); return err },
		"label":    func() error { _, err := Occlude(net, x, 2, OcclusionConfig{Size: 2, Stride: 2}); return err },
		"short":    func() error { _, err := Occlude(net, x[:10], 0, OcclusionConfig{Size: 2, Stride: 2}); return err },
		"map":      func() error { _, err := Occlude(net, x, 0, OcclusionConfig{Size: 2, Stride: 2, Map: 3}); return err },
		"layer": func() error {
			_, err := Occlude(net, x, 0, OcclusionConfig{Size: 2, Stride: 2, Layer: "conv9"})
			return err
		},
		"fill": func() error {
			_, err := Occlude(net, x, 0, OcclusionConfig{Size: 2, Stride: 2, Fill: float32(math.Inf(1))})
			return err
		},
		"no network": func() error { _, err := Occlude(nil, x, 0, OcclusionConfig{Size: 2, Stride: 2}); return err },
	}
	for name, f := range cases {
		if err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
