package deconvnet

import (
	"testing"

	"github.com/zfnet/zfnet/deconvnet/internal/fixture"
)

func TestCompareRules(t *testing.T) {
	src, cfg := fixture.MNIST(t, 4)
	base, err := cfg.Pre.Base(src, 0)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, cfg.Pre.Geometry.Size())
	cfg.Pre.ApplyCrop(base.Pix, cfg.Mean, cfg.Pre.CenterCrop(), x)
	d, err := New(fixture.SmallModel(t, 9), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// At conv1 the only ReLU is the one being projected from, and the
	// isolated activation is positive, so the three rules agree.
	rc, err := CompareRules(d, x, cfg.Mean, "conv1", Target{Map: 2, Strongest: true}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rc.Projections) != 3 || rc.Picked.Map != 2 || rc.Picked.Value <= 0 {
		t.Fatalf("%d projections, picked %+v", len(rc.Projections), rc.Picked)
	}
	for i := range rc.Projections[0] {
		if rc.Projections[0][i] != rc.Projections[1][i] || rc.Projections[0][i] != rc.Projections[2][i] {
			t.Fatalf("conv1: the rules differ at %d", i)
		}
	}
	// Deeper, the rules differ: deconvnet rectifies the signal, saliency
	// masks it with the forward pass.
	rc, err = CompareRules(d, x, cfg.Mean, "conv4", Target{Map: 1, Strongest: true}, false)
	if err != nil {
		t.Fatal(err)
	}
	same := true
	for i := range rc.Projections[0] {
		if rc.Projections[0][i] != rc.Projections[2][i] {
			same = false
		}
	}
	if same {
		t.Fatal("conv4: deconvnet and saliency projections are identical")
	}
	f, _ := ReceptiveField(d.Model, "conv4", rc.Picked.Y, rc.Picked.X)
	if rc.Field != f {
		t.Fatalf("field %v, want %v", rc.Field, f)
	}
	img := rc.Image()
	if b := img.Bounds(); b.Dx() < 4*168 || b.Dy() < 168 || fixture.Uniform(img) {
		t.Fatalf("comparison image %v", b)
	}
	if _, err := CompareRules(d, x[:10], nil, "conv1", Target{}, false); err == nil {
		t.Error("short input: no error")
	}
	if _, err := CompareRules(d, x, nil, "conv1", Target{Map: 99}, false); err == nil {
		t.Error("bad map: no error")
	}
}
