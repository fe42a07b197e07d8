package deconvnet

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zfnet/zfnet/zfnet"
	"github.com/zfnet/zfnet/zfnet/weights"
)

// Tests of the methods compared with the deconvnet (issue 15): Grad-CAM,
// Guided Grad-CAM, SmoothGrad, Integrated Gradients and activation
// maximization, against an independent PyTorch computation
// (testdata/gen_methods.py: torch.autograd on a net of torch.nn.functional
// ops, the ReLU rules as custom autograd Functions) and against cases
// worked by hand on the 1x6x6 network of deconvnet_test.go.
//
// Tolerances, per element |got - want| <= Abs + Rel*|want|, the Go side in
// float32 and the references in float64 on the same float32 inputs:
//   - single walks (Grad-CAM weights and maps, guided backprop): dcTol32,
//     Abs 1e-5 + Rel 1e-4;
//   - sums of several walks (SmoothGrad, Integrated Gradients, activation
//     maximization's repeated steps): mtTolSum, Abs 1e-4*max|want| + Rel 1e-3.

var mtTolSum = dcTolerance{Abs: 1e-4, Rel: 1e-3}

// mtArch is gen_methods.py's net.
func mtArch() zfnet.Arch {
	return zfnet.Arch{Name: "methods", Input: [3]int{3, 16, 16}, Classes: 3, Layers: []zfnet.LayerSpec{
		zfnet.Conv(6, 3, 1, 1), zfnet.ReLU(), zfnet.CrossMapLRN(5, 1, 0.75, 2), zfnet.MaxPool(3, 2, 1),
		zfnet.Conv(8, 3, 1, 1), zfnet.ReLU(), zfnet.MaxPool(2, 2, 0),
		zfnet.Linear(12), zfnet.ReLU(),
		zfnet.Linear(0),
	}}
}

type mtFixture struct {
	t *testing.T
	f *weights.File
}

func (fx mtFixture) arr(key string) []float32 {
	fx.t.Helper()
	v := fx.f.Arrays.ByName[key]
	if v == nil {
		fx.t.Fatalf("methods.npz: no %s (regenerate with /usr/bin/python3 deconvnet/testdata/gen_methods.py)", key)
	}
	return v.Data
}

func (fx mtFixture) ints(key string) []int {
	fx.t.Helper()
	v := fx.f.Ints.ByName[key]
	if v == nil {
		fx.t.Fatalf("methods.npz: no int array %s", key)
	}
	out := make([]int, len(v.Data))
	for i, x := range v.Data {
		out[i] = int(x)
	}
	return out
}

// mtLoad builds the fixture's net with its weights, for batches of batch,
// and returns its two inputs.
func mtLoad(t *testing.T, batch int) (mtFixture, *Net, [][]float32) {
	t.Helper()
	f, err := weights.Read(filepath.Join("testdata", "methods", "methods.npz"))
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 deconvnet/testdata/gen_methods.py)", err)
	}
	fx := mtFixture{t, f}
	m := dcModel(t, mtArch())
	for _, p := range m.Params() {
		dcSet(t, m, p.Name, fx.arr(p.Name))
	}
	d := dcNet(t, m, batch)
	x := fx.arr("x")
	n := len(x) / 2
	xs := [][]float32{x[:n], x[n:]}
	if batch >= 2 {
		logits, err := d.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		dcClose(t, "logits", logits, fx.arr("logits"), dcTol32)
	}
	return fx, d, xs
}

func mtF64(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// mtTol scales a sum tolerance's absolute part by the reference's size.
func mtTol(tol dcTolerance, want []float32) dcTolerance {
	return dcTolerance{Abs: tol.Abs * dcMaxAbs(want), Rel: tol.Rel}
}

// TestGradCAMPyTorch: weights, map, upsampled map, guided backprop and
// Guided Grad-CAM for an explicit class and the predicted one, at conv2
// and at conv1 (whose gradient goes back through a max pooling and an LRN).
func TestGradCAMPyTorch(t *testing.T) {
	fx, d, xs := mtLoad(t, 2)
	want := fx.ints("gc_classes")
	for _, layer := range []string{"conv2", "conv1"} {
		key := "gc_relu" + layer[4:]
		res, err := GradCAM(d, xs, GradCAMConfig{Layer: layer, Classes: []int{2, -1}})
		if err != nil {
			t.Fatal(err)
		}
		var weights, maps, up, guided, ggc []float32
		for i, r := range res {
			if r.Class != want[i] {
				t.Errorf("%s image %d: class %d, want %d", layer, i, r.Class, want[i])
			}
			weights = append(weights, mtF64(r.Weights)...)
			maps = append(maps, mtF64(r.Map)...)
			up = append(up, mtF64(r.Upsampled)...)
			guided = append(guided, r.Guided...)
			ggc = append(ggc, r.GuidedGradCAM...)
		}
		if res[1].Predicted != res[1].Class {
			t.Errorf("%s: image 1 asked for the predicted class, got class %d, predicted %d", layer, res[1].Class, res[1].Predicted)
		}
		dcClose(t, layer+" weights alpha_k", weights, fx.arr(key+"_weights"), dcTol32)
		dcClose(t, layer+" map", maps, fx.arr(key+"_map"), dcTol32)
		dcClose(t, layer+" upsampled map", up, fx.arr(key+"_up"), dcTol32)
		dcClose(t, layer+" guided backprop", guided, fx.arr("gc_guided"), dcTol32)
		dcClose(t, layer+" Guided Grad-CAM", ggc, fx.arr(key+"_ggc"), dcTol32)
		if dcMaxAbs(fx.arr(key+"_map")) == 0 {
			t.Errorf("%s: the reference map is all zero", layer)
		}
	}
	// A batch of one gives the same (the batch is padded, signals are per
	// image).
	_, d1, _ := mtLoad(t, 1)
	res, err := GradCAM(d1, xs, GradCAMConfig{Layer: "conv2", Classes: []int{2, -1}})
	if err != nil {
		t.Fatal(err)
	}
	var up []float32
	for _, r := range res {
		up = append(up, mtF64(r.Upsampled)...)
	}
	dcClose(t, "conv2 upsampled map, batch of 1", up, fx.arr("gc_relu2_up"), dcTol32)
}

// TestGradCAMHand: on the hand network (conv 3x3, ReLU, 3x3/2 pooling with
// a switch shared by two windows, fc2), the gradient of a logit at relu1 is
// the fc row scattered to the switches: class 0's all-ones row gives
// counts 1,2,1,1,1,1,1,1 at the 8 distinct switches (sum 9, alpha = 9/36),
// class 1's row (1,2,1,-1,-3,0,0,2,-1) gives 1, 2-3, 1, -1, 0, 0, 2, -1
// (sum 1, alpha = 1/36). One map, so L = relu(alpha A) = alpha A.
func TestGradCAMHand(t *testing.T) {
	d := dcHandNet(t)
	for class, alpha := range []float64{9.0 / 36, 1.0 / 36} {
		res, err := GradCAM(d, [][]float32{dcHandX}, GradCAMConfig{Layer: "conv1", Classes: []int{class}})
		if err != nil {
			t.Fatal(err)
		}
		r := res[0]
		dcClose(t, "alpha", mtF64(r.Weights), []float64{alpha}, dcTol32)
		want := make([]float64, len(dcHandA))
		for i, a := range dcHandA {
			want[i] = alpha * a
		}
		dcClose(t, "map", mtF64(r.Map), want, dcTol32)
		dcClose(t, "score", []float32{r.Score}, []float64{[]float64{26, 2}[class]}, dcTol32)
		if r.Predicted != 0 {
			t.Errorf("predicted %d, want 0 (logits 26, 2)", r.Predicted)
		}
		// The map is 6x6 like the input: upsampling is the identity.
		dcClose(t, "upsampled", mtF64(r.Upsampled), want, dcTol32)
	}
	if _, err := GradCAM(d, [][]float32{dcHandX}, GradCAMConfig{Layer: "fc2"}); err == nil {
		t.Error("Grad-CAM at a fully connected layer: no error")
	}
	if _, err := GradCAM(d, [][]float32{dcHandX[:5]}, GradCAMConfig{}); err == nil {
		t.Error("Grad-CAM of a short input: no error")
	}
	if _, err := GradCAM(d, [][]float32{dcHandX}, GradCAMConfig{Classes: []int{2}}); err == nil {
		t.Error("Grad-CAM of class 2 of 2: no error")
	}
}

// TestMethodsUpsampleBilinear: 2x2 -> 4x4 as F.interpolate(bilinear,
// align_corners=False) gives it (worked by hand: samples at -0.25, 0.25,
// 0.75, 1.25 clamped to [0, 1]).
func TestMethodsUpsampleBilinear(t *testing.T) {
	got := UpsampleBilinear([]float64{0, 1, 2, 3}, 2, 2, 4, 4)
	want := []float64{0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3}
	dcClose(t, "upsampled", mtF64(got), want, dcTol32)
}

// TestMethodsGaussianBlur: a constant stays constant (replicated border),
// a delta far from the border becomes the outer product of the kernel, and
// the kernel sums to 1 with radius ceil(3 sigma).
func TestMethodsGaussianBlur(t *testing.T) {
	k := GaussianKernel(1)
	if len(k) != 7 {
		t.Fatalf("sigma 1: %d taps, want 7", len(k))
	}
	var s float64
	for _, v := range k {
		s += v
	}
	if math.Abs(s-1) > 1e-12 || math.Abs(k[3]/k[4]-math.Exp(0.5)) > 1e-12 {
		t.Errorf("kernel %v", k)
	}
	c := make([]float32, 2*9*9)
	for i := range c {
		c[i] = 0.7
	}
	dcClose(t, "constant", GaussianBlur(c, 2, 9, 9, 1), c, dcTolSame)
	delta := make([]float32, 9*9)
	delta[4*9+4] = 1
	got := GaussianBlur(delta, 1, 9, 9, 1)
	want := make([]float64, 81)
	for y := 1; y < 8; y++ {
		for x := 1; x < 8; x++ {
			want[y*9+x] = k[y-1] * k[x-1]
		}
	}
	dcClose(t, "delta", got, want, dcTolSame)
}

// TestSmoothGradPyTorch: with the fixture's noise (5 samples, sigma 20% of
// the range), each rule's SmoothGrad map and unsmoothed map equal the
// PyTorch means of autograd walks (the rules as custom ReLU backwards).
func TestSmoothGradPyTorch(t *testing.T) {
	fx, d, xs := mtLoad(t, 2)
	noise := fx.arr("sg_noise")
	n := len(xs[0])
	var samples [][]float32
	for i := 0; i+n <= len(noise); i += n {
		samples = append(samples, noise[i:i+n])
	}
	cls := fx.ints("sg_class")[0]
	for _, rule := range []Rule{Saliency, Guided, Deconvnet} {
		calls := 0
		r, err := SmoothGrad(d, xs[0], SmoothGradConfig{Class: -1, NoiseSamples: samples,
			Options: Options{Rule: rule, ThroughLRN: true}, Progress: func(done, total int) { calls++ }})
		if err != nil {
			t.Fatal(err)
		}
		if r.Class != cls {
			t.Errorf("%v: class %d, want the predicted %d", rule, r.Class, cls)
		}
		if calls != 3 { // 5 samples, batches of 2
			t.Errorf("%v: %d progress calls for 5 samples in batches of 2", rule, calls)
		}
		want := fx.arr("sg_" + rule.String())
		dcClose(t, "SmoothGrad "+rule.String(), r.Map, want, mtTol(mtTolSum, want))
		dcClose(t, "unsmoothed "+rule.String(), r.Plain, fx.arr("plain_"+rule.String()), dcTol32)
	}
}

// TestSmoothGradSeed: generated noise is reproducible by seed, differs
// between seeds, sigma is the asked fraction of the input's range, zero
// noise gives the plain map, and bad settings are errors.
func TestSmoothGradSeed(t *testing.T) {
	_, d, xs := mtLoad(t, 2)
	cfg := SmoothGradConfig{Class: 0, Samples: 4, Noise: 0.15, Seed: 3, Options: GradientOptions()}
	a, err := SmoothGrad(d, xs[0], cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := SmoothGrad(d, xs[0], cfg)
	if err != nil {
		t.Fatal(err)
	}
	dcClose(t, "same seed", a.Map, b.Map, dcTolerance{})
	cfg.Seed = 4
	c, err := SmoothGrad(d, xs[0], cfg)
	if err != nil {
		t.Fatal(err)
	}
	if dcMaxDiff(a.Map, c.Map) == 0 {
		t.Error("seeds 3 and 4 give the same map")
	}
	lo, hi := minMax32(xs[0])
	if math.Abs(a.Sigma-0.15*(hi-lo)) > 1e-12 {
		t.Errorf("sigma %g, want 0.15 * range %g", a.Sigma, hi-lo)
	}
	cfg.Noise = 0
	z, err := SmoothGrad(d, xs[0], cfg)
	if err != nil {
		t.Fatal(err)
	}
	dcClose(t, "zero noise vs plain", z.Map, z.Plain, dcTolSame)
	for _, bad := range []SmoothGradConfig{{Samples: 0, Noise: 0.1}, {Samples: 2, Noise: -1}, {Samples: 2, Noise: math.NaN()}, {Samples: 1, NoiseSamples: [][]float32{{1}}}} {
		if _, err := SmoothGrad(d, xs[0], bad); err == nil {
			t.Errorf("config %+v: no error", bad)
		}
	}
}

// TestIntegratedGradientsPyTorch: 16-step attributions for the logit and
// the probability from the zero baseline and a stored one equal PyTorch's
// right Riemann sums of autograd gradients, and so do the scores and the
// completeness error. At 512 steps the error shrinks to what PyTorch finds
// there (it is about 6e-4 of an output difference of 0.14 here: 0.4%).
func TestIntegratedGradientsPyTorch(t *testing.T) {
	fx, d, xs := mtLoad(t, 2)
	cls := fx.ints("ig_class")[0]
	for _, b := range []struct {
		name string
		base []float32
	}{{"zero", nil}, {"base", fx.arr("ig_base")}} {
		for _, prob := range []bool{false, true} {
			key := "ig_" + b.name + "_logit"
			if prob {
				key = "ig_" + b.name + "_prob"
			}
			f := fx.arr(key + "_f") // F(x), F(x'), error at 16 and at 512 steps
			r, err := IntegratedGradients(d, xs[1], IntegratedGradientsConfig{Class: -1, Baseline: b.base, Steps: 16, Probability: prob})
			if err != nil {
				t.Fatal(err)
			}
			if r.Class != cls {
				t.Errorf("%s: class %d, want %d", key, r.Class, cls)
			}
			want := fx.arr(key + "_attr")
			dcClose(t, key+" attributions", r.Attributions, want, mtTol(mtTolSum, want))
			dcClose(t, key+" F(x), F(x')", []float32{float32(r.FX), float32(r.FBaseline)}, f[:2], dcTol32)
			dcClose(t, key+" completeness error (16 steps)", []float32{float32(r.CompletenessError)}, f[2:3], dcTolerance{Abs: 2e-5, Rel: 1e-3})
			if got := r.Sum - (r.FX - r.FBaseline); math.Abs(got-r.CompletenessError) > 1e-12 {
				t.Errorf("%s: completeness error %g is not sum - (F(x) - F(x')) = %g", key, r.CompletenessError, got)
			}
			fine, err := IntegratedGradients(d, xs[1], IntegratedGradientsConfig{Class: cls, Baseline: b.base, Steps: 512, Probability: prob})
			if err != nil {
				t.Fatal(err)
			}
			// Near ties along 512 path points may fall differently in
			// float32: compare within a quarter of the 16-step error.
			if math.Abs(fine.CompletenessError-float64(f[3])) > 0.25*math.Abs(float64(f[2])) {
				t.Errorf("%s at 512 steps: completeness error %.3g, PyTorch %.3g", key, fine.CompletenessError, f[3])
			}
			if fine.RelativeError > 0.01 {
				t.Errorf("%s at 512 steps: relative completeness error %.2g%%, want under 1%%", key, 100*fine.RelativeError)
			}
		}
	}
}

// TestIntegratedGradientsHand: on the hand network, class 0's logit is
// sum(pool1) with a conv of nonnegative weights: along the path from the
// zero baseline (where every pre-activation is the bias -1 < 0, so F(0)
// = 0) the map is piecewise linear, so the Riemann sum converges to
// F(x) - F(0) = 26 - 0; at every step the gradient is the conv's
// transpose of the live, switched units. A one-step sum is the gradient at
// x times x: each live pooled cell contributes its pre-activation plus the
// bias it does not see (w . patch = z + 1), so sum = 26 + 5 for the five
// live cells (9, 7, 2, 7, 1) and the completeness error is +5 exactly.
func TestIntegratedGradientsHand(t *testing.T) {
	d := dcHandNet(t)
	one, err := IntegratedGradients(d, dcHandX, IntegratedGradientsConfig{Class: 0, Steps: 1})
	if err != nil {
		t.Fatal(err)
	}
	dcClose(t, "F(x), F(0)", []float32{float32(one.FX), float32(one.FBaseline)}, []float64{26, 0}, dcTol32)
	live := 0
	for _, v := range dcHandPool {
		if v > 0 {
			live++
		}
	}
	dcClose(t, "1-step completeness error", []float32{float32(one.CompletenessError)}, []float64{float64(live)}, dcTol32)
	many, err := IntegratedGradients(d, dcHandX, IntegratedGradientsConfig{Class: 0, Steps: 400})
	if err != nil {
		t.Fatal(err)
	}
	if many.RelativeError > 0.01 {
		t.Errorf("400 steps: completeness error %g of %g", many.CompletenessError, many.FX-many.FBaseline)
	}
	if _, err := IntegratedGradients(d, dcHandX, IntegratedGradientsConfig{Steps: 0}); err == nil {
		t.Error("0 steps: no error")
	}
	if _, err := IntegratedGradients(d, dcHandX, IntegratedGradientsConfig{Steps: 4, Baseline: []float32{1}}); err == nil {
		t.Error("short baseline: no error")
	}
	bl, err := MakeBaseline(BaselineBlur, dcHandX, 1, 6, 6, nil, 1)
	if err != nil || len(bl) != 36 {
		t.Errorf("blur baseline: %v", err)
	}
	if _, err := MakeBaseline(BaselineBlack, dcHandX, 1, 6, 6, nil, 0); err == nil {
		t.Error("black baseline without the black picture: no error")
	}
}

// TestActMaxPyTorch: 12 steps from the fixture's start (normalized step
// 0.1, decay 0.01, blur every 4 steps with sigma 0.8, norm clipping at
// the 20th percentile; no jitter) for conv2's map 3 (its sum before the
// ReLU) and fc4's logit 1 reach PyTorch's pictures and objectives.
func TestActMaxPyTorch(t *testing.T) {
	fx, d, _ := mtLoad(t, 2)
	for _, c := range []struct {
		layer string
		unit  int
		key   string
	}{{"conv2", 3, "am_conv2_3"}, {"fc4", 1, "am_fc4_1"}} {
		steps := 0
		r, err := ActMax(d, ActMaxConfig{Layer: c.layer, Units: []int{c.unit}, WholeMap: true, Steps: 12, LR: 0.1, Decay: 0.01,
			BlurEvery: 4, BlurSigma: 0.8, NormPercentile: 20, Init: fx.arr("am_init"), Progress: func(done, total int) { steps = done }})
		if err != nil {
			t.Fatal(err)
		}
		if steps != 12 {
			t.Errorf("%s: progress reached %d of 12 steps", c.key, steps)
		}
		want := fx.arr(c.key)
		dcClose(t, c.key+" picture", r.Images[0], want, mtTol(mtTolSum, want))
		dcClose(t, c.key+" objective", []float32{float32(r.Final[0])}, fx.arr(c.key+"_val"), mtTolSum)
		if !(r.Final[0] > r.Start[0]) {
			t.Errorf("%s: objective went from %g to %g", c.key, r.Start[0], r.Final[0])
		}
	}
}

// TestActMaxDeterministic: with noise, jitter and both clippings, the same
// seed gives the same pictures (and a batch of 2 the same as a batch of 1),
// another seed others; every unit of a layer gets a picture whose
// objective rose; bad settings are errors.
func TestActMaxDeterministic(t *testing.T) {
	_, d, _ := mtLoad(t, 2)
	cfg := DefaultActMax("conv2")
	cfg.Steps = 6
	cfg.Units = []int{0, 5, 7}
	a, err := ActMax(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, d1, _ := mtLoad(t, 1)
	cfg1 := cfg
	b, err := ActMax(d1, cfg1)
	if err != nil {
		t.Fatal(err)
	}
	want := dcFlat(a.Images)
	dcClose(t, "batch of 1 vs batch of 2", dcFlat(b.Images), want, mtTol(mtTolSum, want))
	for i := range a.Images {
		if !(a.Final[i] > a.Start[i]) {
			t.Errorf("unit %d: objective went from %g to %g", a.Units[i], a.Start[i], a.Final[i])
		}
	}
	again, err := ActMax(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	dcClose(t, "same seed", dcFlat(again.Images), dcFlat(a.Images), dcTolerance{})
	cfg.Seed = 2
	other, err := ActMax(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if dcMaxDiff(dcFlat(other.Images), dcFlat(a.Images)) == 0 {
		t.Error("seeds 1 and 2 give the same pictures")
	}
	all, err := ActMax(d, ActMaxConfig{Layer: "fc4", Steps: 3, LR: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Images) != 3 || all.Grid(3, 2) == nil {
		t.Errorf("fc4: %d pictures, want one per class (3)", len(all.Images))
	}
	for _, bad := range []ActMaxConfig{{Layer: "conv9", Steps: 1, LR: 1}, {Layer: "conv2", Units: []int{8}, Steps: 1, LR: 1},
		{Layer: "conv2", Steps: 1, LR: 0}, {Layer: "conv2", Steps: 1, LR: 1, Decay: 1}, {Layer: "conv2", Steps: 1, LR: 1, BlurEvery: 2},
		{Layer: "conv2", Steps: 1, LR: 1, NormPercentile: 101}} {
		if _, err := ActMax(d, bad); err == nil {
			t.Errorf("config %+v: no error", bad)
		}
	}
}

// TestOcclusionMapHand: on the hand network (class 0's logit is
// sum(pool1) = 26, class 1's 2): a window covering the whole picture,
// filled with zeros, leaves only the biases (logits 0 and 3); kept, it
// changes nothing; a fill equal to the input changes nothing anywhere; and
// every position of a 2x2 window at stride 2, occluded or kept, with a
// fill of 0.5, gives the logits of the plain forward pass of that input
// built by hand.
func TestOcclusionMapHand(t *testing.T) {
	d := dcHandNet(t)
	whole, err := OcclusionMap(d, dcHandX, OcclusionMapConfig{Size: 6, Stride: 6, Class: 0})
	if err != nil {
		t.Fatal(err)
	}
	dcClose(t, "whole picture occluded", mtF64(whole.Logit), []float64{0}, dcTol32)
	dcClose(t, "clean logit", []float32{float32(whole.CleanLogit)}, []float64{26}, dcTol32)
	kept, err := OcclusionMap(d, dcHandX, OcclusionMapConfig{Size: 6, Stride: 6, Class: 0, Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	dcClose(t, "whole picture kept", mtF64(kept.Logit), []float64{26}, dcTol32)
	same, err := OcclusionMap(d, dcHandX, OcclusionMapConfig{Size: 3, Stride: 1, Class: 1, Fill: dcHandX})
	if err != nil {
		t.Fatal(err)
	}
	if same.Rows != 6 || same.Cols != 6 {
		t.Fatalf("grid %dx%d, want 6x6", same.Rows, same.Cols)
	}
	for i, v := range same.Logit {
		if math.Abs(v-2) > 1e-5 {
			t.Errorf("fill = input, position %d: logit %g, want 2", i, v)
		}
	}
	fill := make([]float32, 36)
	for i := range fill {
		fill[i] = 0.5
	}
	for _, keep := range []bool{false, true} {
		r, err := OcclusionMap(d, dcHandX, OcclusionMapConfig{Size: 2, Stride: 2, Class: -1, Fill: fill, FillName: "0.5", Keep: keep})
		if err != nil {
			t.Fatal(err)
		}
		if r.Class != 0 {
			t.Errorf("class %d, want the predicted 0", r.Class)
		}
		for row := 0; row < 3; row++ {
			for col := 0; col < 3; col++ {
				// Centre (2row+1, 2col+1): the window covers rows and
				// columns 2row..2row+1.
				x := append([]float32(nil), dcHandX...)
				for y := 0; y < 6; y++ {
					for xx := 0; xx < 6; xx++ {
						in := y/2 == row && xx/2 == col
						if in != keep {
							x[y*6+xx] = 0.5
						}
					}
				}
				logits, err := d.Forward(x)
				if err != nil {
					t.Fatal(err)
				}
				i := row*3 + col
				if math.Abs(r.Logit[i]-float64(logits[0])) > 1e-5 {
					t.Errorf("keep %v, position (%d, %d): logit %g, the forward pass %g", keep, row, col, r.Logit[i], logits[0])
				}
			}
		}
		if r.Caption() == "" {
			t.Error("no caption")
		}
	}
	if _, err := OcclusionMap(d, dcHandX, OcclusionMapConfig{Size: 0, Stride: 1}); err == nil {
		t.Error("window size 0: no error")
	}
	if _, err := OcclusionMap(d, dcHandX, OcclusionMapConfig{Size: 2, Stride: 1, Fill: fill[:3]}); err == nil {
		t.Error("short fill: no error")
	}
}

// TestCompareMethods: the comparison's parts are the methods' own results
// (saliency and guided backprop from the class logit equal PyTorch's
// unsmoothed maps), every option reaches the caption, and the figure
// renders.
func TestCompareMethods(t *testing.T) {
	fx, d, xs := mtLoad(t, 2)
	stages := map[string]bool{}
	r, err := CompareMethods(d, xs[0], MethodsConfig{Class: -1, SmoothSamples: 3, SmoothNoise: 0.1, SmoothSeed: 9, IGSteps: 8,
		Occlusion: OcclusionMapConfig{Size: 4, Stride: 4, FillName: "mean"},
		Progress:  func(m string, _, _ int) { stages[m] = true }})
	if err != nil {
		t.Fatal(err)
	}
	if r.Class != fx.ints("sg_class")[0] {
		t.Errorf("class %d, want the predicted %d", r.Class, fx.ints("sg_class")[0])
	}
	dcClose(t, "saliency", r.Saliency, fx.arr("plain_saliency"), dcTol32)
	dcClose(t, "guided", r.Guided, fx.arr("plain_guided"), dcTol32)
	for _, m := range []string{"Grad-CAM", "SmoothGrad", "integrated gradients", "occlusion"} {
		if !stages[m] {
			t.Errorf("no progress from %s", m)
		}
	}
	if r.Occlusion.Rows != 4 || r.GradCAM.Layer != "conv2" || r.SmoothGrad.Config.Samples != 3 || r.Integrated.Config.Steps != 8 {
		t.Errorf("options not passed on: occlusion %d rows, Grad-CAM at %s, %d samples, %d steps",
			r.Occlusion.Rows, r.GradCAM.Layer, r.SmoothGrad.Config.Samples, r.Integrated.Config.Steps)
	}
	capt := r.Caption()
	for _, want := range []string{"conv2", "saliency rule, 3 samples", "10% of the input range, seed 9", "8 steps from the mean baseline, class logit", "4x4 window at stride 4 filled with mean"} {
		if !strings.Contains(capt, want) {
			t.Errorf("caption lacks %q: %s", want, capt)
		}
	}
	img := r.Image(nil, nil, 2)
	if b := img.Bounds(); b.Dx() < 9*32 || b.Dy() < 32 {
		t.Errorf("figure is %v", b)
	}
}

// TestActMaxHand: on a network that is one linear layer (logit 0 = w.x + b
// with w = (1, -2, 0.5, 0), b = 0.1) the gradient is w everywhere, mean |w|
// = 0.875, so a step of size 0.35 adds 0.4 w. With decay 0.5 from zero:
// x1 = 0.5 (0.4 w) = 0.2 w, x2 = 0.5 (0.2 w + 0.4 w) = 0.3 w, objective
// 0.3 |w|^2 + b = 1.675. With contribution clipping at the 75th percentile
// (the 3rd of 4 sorted |x_i w_i|): x1 = 0.2 w has contributions (0.2, 0.8,
// 0.05, 0), threshold 0.2, so x1 = (0.2, -0.4, 0, 0); x2 = 0.5 (x1 + 0.4 w)
// = (0.3, -0.6, 0.1, 0), contributions (0.3, 1.2, 0.05, 0), threshold 0.3:
// x2 = (0.3, -0.6, 0, 0), objective 0.3 + 1.2 + 0.1 = 1.6.
func TestActMaxHand(t *testing.T) {
	m := dcModel(t, zfnet.Arch{Name: "am-linear", Input: [3]int{1, 2, 2}, Classes: 2, Layers: []zfnet.LayerSpec{zfnet.Linear(0)}})
	dcSet(t, m, "fc1.weight", []float32{1, -2, 0.5, 0, 3, 3, 3, 3})
	dcSet(t, m, "fc1.bias", []float32{0.1, 0})
	d := dcNet(t, m, 1)
	r, err := ActMax(d, ActMaxConfig{Layer: "fc1", Units: []int{0}, Steps: 2, LR: 0.35, Decay: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	dcClose(t, "picture", r.Images[0], []float64{0.3, -0.6, 0.15, 0}, dcTol32)
	dcClose(t, "objective", []float32{float32(r.Start[0]), float32(r.Final[0])}, []float64{0.1, 1.675}, dcTol32)
	r, err = ActMax(d, ActMaxConfig{Layer: "fc1", Units: []int{0}, Steps: 2, LR: 0.35, Decay: 0.5, ContribPercentile: 75})
	if err != nil {
		t.Fatal(err)
	}
	dcClose(t, "picture, contribution clipping", r.Images[0], []float64{0.3, -0.6, 0, 0}, dcTol32)
	dcClose(t, "objective, contribution clipping", []float32{float32(r.Final[0])}, []float64{1.6}, dcTol32)
}
