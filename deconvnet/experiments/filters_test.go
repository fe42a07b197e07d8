package experiments

import (
	"image/color"
	"math"
	"testing"

	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/nn"
	"github.com/zfnet/zfnet/zfnet"
)

func TestFilterImageLayout(t *testing.T) {
	d := vizSmallNet(t, 1, 1)
	p, err := d.Model.FirstFilters()
	if err != nil {
		t.Fatal(err)
	}
	img, err := figure.FilterImage(p)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Value.Shape() // 32 filters, 1 channel, 7x7
	cell := s[2] * max(1, 42/s[2])
	cols := 8
	rows := (s[0] + cols - 1) / cols
	if b := img.Bounds(); b.Dx() != cols*cell+(cols+1)*2 || b.Dy() != rows*cell+(rows+1)*2 {
		t.Fatalf("filter grid %v; want %dx%d", b, cols*cell+(cols+1)*2, rows*cell+(rows+1)*2)
	}
	if vizUniform(img) {
		t.Fatal("filter grid is uniform")
	}
}

// vizParam is a (out, in, k, k) parameter with the given values.
func vizParam(out, in, k int, v []float32) *nn.Param {
	p := nn.NewParam("conv1.weight", true, true, out, in, k, k)
	copy(p.Data(), v)
	return p
}

func TestFilterImageScales(t *testing.T) {
	// Two 3-channel 2x2 filters; the second is the first times 10.
	f := []float32{
		0, 1, 2, 3, // red
		0, 0, 0, 0, // green
		-3, 0, 0, 0, // blue
	}
	v := append(append([]float32(nil), f...), f...)
	for i := 12; i < 24; i++ {
		v[i] *= 10
	}
	p := vizParam(2, 3, 2, v)
	per, err := figure.FilterGrid(p, figure.PerFilter)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := figure.FilterGrid(p, figure.Shared)
	if err != nil {
		t.Fatal(err)
	}
	factor := 42 / 2
	at := func(img interface{ At(x, y int) color.Color }, filter, x, y int) color.RGBA {
		return color.RGBAModel.Convert(img.At(2+filter*(2*factor+2)+x*factor, 2+y*factor)).(color.RGBA)
	}
	// Per filter: -3 (the minimum) is black, 3 (the maximum) white, colour
	// channels scaled together; both filters look the same.
	for filter := 0; filter < 2; filter++ {
		if c := at(per, filter, 0, 0); c != (color.RGBA{128, 128, 0, 255}) {
			t.Errorf("per-filter, filter %d pixel (0,0) = %v; want red 0->128, green 0->128, blue -3->0", filter, c)
		}
		if c := at(per, filter, 1, 1); c != (color.RGBA{255, 128, 128, 255}) {
			t.Errorf("per-filter, filter %d pixel (1,1) = %v", filter, c)
		}
	}
	// Shared: the weak filter is close to gray, the strong one at full range.
	if c := at(shared, 0, 1, 1); c.R != 140 {
		t.Errorf("shared, weak filter red at (1,1) = %d; want round(255*(3+30)/60) = 140", c.R)
	}
	if c := at(shared, 1, 1, 1); c.R != 255 {
		t.Errorf("shared, strong filter red at (1,1) = %d; want 255", c.R)
	}
	if _, err := figure.FilterImage(nil); err == nil {
		t.Error("nil parameter: no error")
	}
	if _, err := figure.FilterImage(nn.NewParam("fc.weight", true, false, 4, 5)); err == nil {
		t.Error("2-D parameter: no error")
	}
}

func TestFilterRMSAndRenormalization(t *testing.T) {
	// Four 1x1x4 filters with RMS 1, 1, 10 and 0.01.
	p := vizParam(4, 1, 2, []float32{1, -1, 1, -1, 1, 1, 1, 1, 10, 10, -10, 10, 0.01, 0.01, 0.01, -0.01})
	st, err := FilterRMS(p, 2)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(st.RMS[2]-10) > 1e-6 || st.Median != 1 || st.Max != 10 || st.OverRadius != 1 || st.Dominant != 1 || st.Dead != 1 {
		t.Fatalf("stats %+v", st)
	}
	r, err := Renormalized(p, 2)
	if err != nil {
		t.Fatal(err)
	}
	if p.Data()[8] != 10 {
		t.Fatal("Renormalized changed the original")
	}
	after, _ := FilterRMS(r, 2)
	if math.Abs(after.RMS[2]-2) > 1e-5 || after.RMS[0] != 1 || after.OverRadius != 0 {
		t.Fatalf("after renormalization %+v", after)
	}
	img, before, after2, err := RenormalizationComparison(p, 2)
	if err != nil {
		t.Fatal(err)
	}
	if before.OverRadius != 1 || after2.OverRadius != 0 || img.Bounds().Dx() < 2*42 || vizUniform(img) {
		t.Fatalf("comparison: %v, before %d over, after %d", img.Bounds(), before.OverRadius, after2.OverRadius)
	}
	if _, _, _, err := RenormalizationComparison(p, 0); err == nil {
		t.Error("radius 0: no error")
	}
}

func TestCompareFilters(t *testing.T) {
	zf := vizSmallNet(t, 1, 1).Model
	alex := vizArch(t, "alexnet")
	if err := alex.Initialize(zfnet.InitPaper, 2); err != nil {
		t.Fatal(err)
	}
	img, err := CompareFilters(zf, alex, "zfnet-small (trained)", "")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := zf.FirstFilters()
	b, _ := alex.FirstFilters()
	ia, _ := figure.FilterImage(a)
	ib, _ := figure.FilterImage(b)
	if w := img.Bounds().Dx(); w < ia.Bounds().Dx()+ib.Bounds().Dx()+24 {
		t.Fatalf("comparison is %d wide; the two grids alone are %d and %d", w, ia.Bounds().Dx(), ib.Bounds().Dx())
	}
	if _, err := CompareFilters(zf, nil); err == nil {
		t.Error("nil model: no error")
	}
}
