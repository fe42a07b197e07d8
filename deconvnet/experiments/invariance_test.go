package experiments

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/zfnet"

	"github.com/zfnet/zfnet/data/testenv"
)

func TestInvarianceRange(t *testing.T) {
	v, err := Range(-1, 1, 0.5)
	if err != nil || len(v) != 5 || v[0] != -1 || v[2] != 0 || v[4] != 1 {
		t.Errorf("Range(-1, 1, 0.5) = %v, %v", v, err)
	}
	v, err = Range(0.5, 1.5, 0.1)
	if err != nil || len(v) != 11 || v[5] != 1 || v[10] != 1.5 {
		t.Errorf("Range(0.5, 1.5, 0.1) = %v, %v (want 11 values, exact 1 and 1.5)", v, err)
	}
	for _, bad := range [][3]float64{{0, 1, 0}, {0, 1, -1}, {1, 0, 1}, {0, math.NaN(), 1}, {0, 1e9, 1}} {
		if _, err := Range(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("Range%v: no error", bad)
		}
	}
	sw := DefaultSweeps(28, 28)
	if len(sw) != 3 || sw[0].Kind != TranslateY || sw[1].Kind != Zoom || sw[2].Kind != Rotate {
		t.Errorf("default sweeps %+v", sw)
	}
}

// invSetup is an untrained zfnet-small (He initialization: its features
// respond to the input) and two MNIST test digits.
func invSetup(t *testing.T) (*deconvnet.Net, data.Preprocess, *data.Mean, []*data.Image) {
	t.Helper()
	m, err := zfnet.NewInitialized("zfnet-small", zfnet.InitHe, 3)
	if err != nil {
		t.Fatal(err)
	}
	set, err := data.Open("mnist", data.OpenOptions{})
	if err != nil {
		testenv.SkipLoudly(t, "MNIST is not available (a module dependency: run go mod download): %v", err)
	}
	pre := zfnet.Preprocessing(m.Arch, zfnet.DefaultRunConfig())
	var samples []*data.Image
	for i := 0; i < 2; i++ {
		img, err := pre.Base(set.Test, i)
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, img)
	}
	// A flat mean is enough to check that it is subtracted consistently.
	mean := &data.Mean{C: 1, H: 28, W: 28, Pix: make([]float32, 28*28)}
	for i := range mean.Pix {
		mean.Pix[i] = 0.13
	}
	net, err := deconvnet.New(m, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { net.Close() })
	return net, pre, mean, samples
}

func TestInvarianceIdentityAndPlots(t *testing.T) {
	net, pre, mean, samples := invSetup(t)
	cfg := InvarianceConfig{Sweeps: []Sweep{
		{TranslateY, []float64{-3, 0, 3}},
		{Zoom, []float64{1, 1.3}},
		{Rotate, []float64{0, 90}},
	}}
	res, err := Invariance(net, pre, mean, samples, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.LowLayer != "conv1" || res.HighLayer != "fc7" || len(res.Curves) != 6 {
		t.Fatalf("layers %s, %s and %d curves; want conv1, fc7, 6", res.LowLayer, res.HighLayer, len(res.Curves))
	}
	// The untransformed picture alone, for the reference probabilities.
	x := make([]float32, 28*28*8)
	for i, s := range samples {
		pre.ApplyCrop(s.Pix, mean, pre.CenterCrop(), x[i*784:(i+1)*784])
	}
	logits, err := net.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	for s, sw := range cfg.Sweeps {
		for i := range samples {
			c := res.Curve(s, i)
			if c.Label != samples[i].Label || c.Kind != sw.Kind {
				t.Fatalf("curve (%d, %d) is for label %d, %v", s, i, c.Label, c.Kind)
			}
			p := zfnet.Softmax(logits[i*10 : (i+1)*10])
			for k, amt := range c.Amounts {
				if amt == sw.Kind.Identity() {
					if c.LowDist[k] > 1e-4*c.LowNorm || c.HighDist[k] > 1e-4*c.HighNorm {
						t.Errorf("%v identity, sample %d: distances %g, %g (norms %g, %g); want 0", sw.Kind, i, c.LowDist[k], c.HighDist[k], c.LowNorm, c.HighNorm)
					}
					if math.Abs(c.PTrue[k]-p[c.Label]) > 1e-5 {
						t.Errorf("%v identity, sample %d: P(true) %g, want %g", sw.Kind, i, c.PTrue[k], p[c.Label])
					}
				} else if !(c.LowDist[k] > 0.01*c.LowNorm) || !(c.HighDist[k] > 0) {
					t.Errorf("%v by %g, sample %d: distances %g, %g; want > 0", sw.Kind, amt, i, c.LowDist[k], c.HighDist[k])
				}
			}
			if c.LowNorm <= 0 || c.HighNorm <= 0 {
				t.Errorf("zero feature norms %g, %g", c.LowNorm, c.HighNorm)
			}
			n := c.Distances(false, true)
			if math.Abs(n[len(n)-1]-c.LowDist[len(n)-1]/c.LowNorm) > 1e-12 {
				t.Errorf("normalized distance %g, want %g", n[len(n)-1], c.LowDist[len(n)-1]/c.LowNorm)
			}
		}
	}
	dir := t.TempDir()
	for _, norm := range []bool{false, true} {
		path := filepath.Join(dir, "inv.png")
		if err := PlotInvariance(path, res, data.MNISTClasses, norm); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(path); err != nil || st.Size() < 1000 {
			t.Errorf("plot not written: %v", err)
		}
	}
	strip, err := InvarianceStrip(res, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if b := strip.Bounds(); b.Dx() < 2*56 || b.Dy() < 2*56 {
		t.Errorf("strip is only %v", b)
	}
	if _, err := InvarianceStrip(res, 3, 2); err == nil {
		t.Error("strip of a missing sweep: no error")
	}

	// Bad input.
	bad := *samples[0]
	bad.Label = 10
	for name, f := range map[string]func() error{
		"no samples": func() error { _, err := Invariance(net, pre, mean, nil, cfg); return err },
		"no sweeps":  func() error { _, err := Invariance(net, pre, mean, samples, InvarianceConfig{}); return err },
		"empty sweep": func() error {
			_, err := Invariance(net, pre, mean, samples, InvarianceConfig{Sweeps: []Sweep{{Kind: Zoom}}})
			return err
		},
		"bad label": func() error { _, err := Invariance(net, pre, mean, []*data.Image{&bad}, cfg); return err },
		"bad zoom": func() error {
			_, err := Invariance(net, pre, mean, samples, InvarianceConfig{Sweeps: []Sweep{{Zoom, []float64{0}}}})
			return err
		},
		"bad layer": func() error {
			_, err := Invariance(net, pre, mean, samples, InvarianceConfig{Sweeps: cfg.Sweeps, HighLayer: "fc42"})
			return err
		},
	} {
		if err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
