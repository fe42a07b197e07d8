package data

import (
	"image/color"
	"math"
	"testing"
)

// Normalize's presets by hand on one pixel, and ToImage undoing them: the
// picture a figure shows is the picture that went in.
func TestNormalizePresetsAndDisplay(t *testing.T) {
	g := Geometry{C: 3, H: 2, W: 2}
	base := make([]float32, g.Size()) // R plane, G plane, B plane
	for i := range base {
		base[i] = float32(i+1) / 16
	}
	for _, tc := range []struct {
		name string
		n    Normalize
		// want is input channel c of pixel 0, computed by hand.
		want [3]float32
	}{
		{"torchvision", Normalize{Scale: 1, Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}},
			[3]float32{(1.0/16 - 0.485) / 0.229, (5.0/16 - 0.456) / 0.224, (9.0/16 - 0.406) / 0.225}},
		// Caffe: channel 0 is blue (picture channel 2), 0-255, minus 104/117/123.
		{"caffe", Normalize{Scale: 255, Mean: [3]float32{104, 117, 123}, Std: [3]float32{1, 1, 1}, BGR: true},
			[3]float32{255*9.0/16 - 104, 255*5.0/16 - 117, 255*1.0/16 - 123}},
	} {
		p := Preprocess{Kind: Small, Geometry: g, Normalize: &tc.n}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		x := make([]float32, g.Size())
		p.ApplyCrop(base, nil, Crop{}, x)
		for c := 0; c < 3; c++ {
			if got := x[c*4]; math.Abs(float64(got-tc.want[c])) > 1e-4*math.Max(1, math.Abs(float64(tc.want[c]))) {
				t.Errorf("%s: channel %d = %g, want %g", tc.name, c, got, tc.want[c])
			}
		}
		img := ToImage(x, g, p.DisplayMean())
		for j := 0; j < 4; j++ {
			got := color.RGBAModel.Convert(img.At(j%2, j/2)).(color.RGBA)
			want := [3]float32{base[j], base[4+j], base[8+j]}
			for c, v := range [3]uint8{got.R, got.G, got.B} {
				if d := math.Abs(float64(v) - float64(want[c]*255)); d > 1 {
					t.Errorf("%s: pixel %d channel %d shows %d, want %.1f", tc.name, j, c, v, want[c]*255)
				}
			}
		}
	}
	bad := Normalize{Scale: 1, Std: [3]float32{1, 0, 1}}
	if err := (&bad).Validate(3); err == nil {
		t.Error("a zero std was accepted")
	}
}
