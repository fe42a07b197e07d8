package deconvnet

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/zfnet/zfnet/nn"
	"github.com/zfnet/zfnet/zfnet"
)

// Tests of the deconvnet itself: zero-copy weight binding, projections
// computed by hand on a tiny network with overlapping pooling, a PyTorch
// reference (testdata/gen_deconv_fixture.py), batch consistency and LRN.
//
// Tolerances, per element, |got - want| <= Abs + Rel*|want|:
//   - against float64 references (hand-computed integers, PyTorch):
//     float32 tolerance, Abs 1e-5 + Rel 1e-4;
//   - Go against Go (same ops, other batch size or a reloaded model):
//     Abs 1e-6 + Rel 1e-5.
//
// Helpers are prefixed dc to keep clear of the package's other files.

type dcTolerance struct{ Abs, Rel float64 }

var (
	dcTol32   = dcTolerance{Abs: 1e-5, Rel: 1e-4}
	dcTolSame = dcTolerance{Abs: 1e-6, Rel: 1e-5}
)

// dcClose reports the elements of got that are off want.
func dcClose[T float32 | float64](t *testing.T, what string, got []float32, want []T, tol dcTolerance) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	bad, worstAt, worst := 0, -1, 0.0
	for i := range want {
		w := float64(want[i])
		d := math.Abs(float64(got[i]) - w)
		lim := tol.Abs + tol.Rel*math.Abs(w)
		if !(d <= lim) {
			bad++
			if r := d / lim; worstAt < 0 || r > worst || math.IsNaN(r) {
				worstAt, worst = i, r
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values off (abs %g + rel %g); worst at %d: got %.9g, want %.9g",
			what, bad, len(want), tol.Abs, tol.Rel, worstAt, got[worstAt], float64(want[worstAt]))
	}
}

// dcMaxDiff is max |a - b|.
func dcMaxDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

func dcMaxAbs(a []float32) float64 {
	m := 0.0
	for _, v := range a {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

func dcModel(t *testing.T, a zfnet.Arch) *zfnet.Model {
	t.Helper()
	m, err := zfnet.New(a)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// dcSet copies vals into a parameter's tensor (never replacing it).
func dcSet(t *testing.T, m *zfnet.Model, name string, vals []float32) {
	t.Helper()
	p := m.Param(name)
	if p == nil {
		t.Fatalf("no parameter %s", name)
	}
	if len(vals) != len(p.Data()) {
		t.Fatalf("%s: %d values for shape %v", name, len(vals), p.Value.Shape())
	}
	copy(p.Data(), vals)
}

func dcNet(t *testing.T, m *zfnet.Model, batch int) *Net {
	t.Helper()
	d, err := New(m, batch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func dcRand(rng *rand.Rand, n int, lo, hi float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = lo + (hi-lo)*rng.Float32()
	}
	return v
}

// dcLRNArch is a small two-stage network with everything ZFNet has: LRN,
// overlapping pooling with and without padding, two FC layers with dropout.
func dcLRNArch() zfnet.Arch {
	return zfnet.Arch{
		Name: "dc-lrn", Input: [3]int{3, 20, 20}, Classes: 4,
		Convs: []zfnet.ConvStage{
			{Out: 6, Kernel: 5, Stride: 2, Pad: 1, LRN: true, Pool: &zfnet.Pool{Kernel: 3, Stride: 2, Pad: 1}}, // 9x9 -> 5x5
			{Out: 8, Kernel: 3, Stride: 1, Pad: 1, LRN: true, Pool: &zfnet.Pool{Kernel: 3, Stride: 2}},         // 5x5 -> 2x2
		},
		FCs: []zfnet.FC{{Out: 16, Dropout: 0.5}, {Out: 0}},
	}
}

func dcLRNModel(t *testing.T) *zfnet.Model {
	t.Helper()
	m := dcModel(t, dcLRNArch())
	if err := m.Initialize(zfnet.InitHe, 1); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(7))
	for _, name := range []string{"conv1.bias", "conv2.bias", "fc3.bias"} {
		dcSet(t, m, name, dcRand(rng, len(m.Param(name).Data()), -0.05, 0.1))
	}
	return m
}

// dcProject runs ProjectTargets and copies the results (they alias one
// buffer per call).
func dcProject(t *testing.T, d *Net, layer string, targets []Target, opt Options) ([][]float32, []Picked) {
	t.Helper()
	res, picked, err := d.ProjectTargets(layer, targets, opt)
	if err != nil {
		t.Fatalf("project %s %+v: %v", layer, opt, err)
	}
	out := make([][]float32, len(res))
	for i, r := range res {
		out[i] = append([]float32(nil), r...)
	}
	return out, picked
}

func dcFlat(rs [][]float32) []float32 {
	var out []float32
	for _, r := range rs {
		out = append(out, r...)
	}
	return out
}

// TestZeroCopyWeights: the projection graphs bind the model's own weight
// tensors, and a training step on the model is seen by the next projection
// with no copy or reload.
func TestZeroCopyWeights(t *testing.T) {
	m := dcLRNModel(t)
	const batch = 2
	d := dcNet(t, m, batch)

	type check struct {
		layer string
		opt   Options
		want  []string
	}
	checks := []check{
		{"pool2", Options{}, []string{"conv2.weight", "conv1.weight"}},
		{"conv1", Options{Rule: Guided}, []string{"conv1.weight"}},
		{"fc4", Options{Rule: Saliency, ThroughLRN: true}, []string{"fc4.weight", "fc3.weight", "conv2.weight", "conv1.weight"}},
	}
	type bound struct {
		p *nn.Param
		n *G.Node
	}
	var all []bound
	for _, c := range checks {
		ps, ns, err := d.weightNodes(c.layer, c.opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != len(c.want) || len(ns) != len(ps) {
			t.Fatalf("%s: %d params / %d nodes bound, want %v", c.layer, len(ps), len(ns), c.want)
		}
		for i, p := range ps {
			if p.Name != c.want[i] {
				t.Errorf("%s: bound param %d is %s, want %s (biases must not be bound)", c.layer, i, p.Name, c.want[i])
			}
			if m.Param(p.Name) != p {
				t.Errorf("%s: bound param %s is not the model's *nn.Param", c.layer, p.Name)
			}
			v, ok := ns[i].Value().(*tensor.Dense)
			if !ok {
				t.Fatalf("%s: node %s holds %T", c.layer, ns[i].Name(), ns[i].Value())
			}
			if v != p.Value {
				t.Errorf("%s: node %s holds tensor %p, the model's is %p", c.layer, ns[i].Name(), v, p.Value)
			}
			nd, md := v.Data().([]float32), m.Param(p.Name).Data()
			if &nd[0] != &md[0] || len(nd) != len(md) {
				t.Errorf("%s: node %s's backing array %p (len %d) is not the model's %p (len %d)", c.layer, ns[i].Name(), &nd[0], len(nd), &md[0], len(md))
			}
			all = append(all, bound{p, ns[i]})
		}
	}

	rng := rand.New(rand.NewSource(3))
	in := m.Arch.Input
	x := dcRand(rng, batch*in[0]*in[1]*in[2], 0, 1)
	targets := []Target{{Map: 2, Strongest: true}, {Map: 5, Strongest: true}}
	project := func(d *Net) [][]float32 {
		t.Helper()
		if _, err := d.Forward(x); err != nil {
			t.Fatal(err)
		}
		out, _ := dcProject(t, d, "pool2", targets, Options{})
		return out
	}
	before := project(d)
	if dcMaxAbs(dcFlat(before)) == 0 {
		t.Fatal("projection before the step is all zero: the test shows nothing")
	}

	w1 := append([]float32(nil), m.Param("conv1.weight").Data()...)
	w2 := append([]float32(nil), m.Param("conv2.weight").Data()...)
	cfg := zfnet.DefaultTrainConfig()
	cfg.Batch, cfg.LR, cfg.FilterRadius = batch, 0.05, 0
	tr, err := zfnet.NewTrainer(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.Step(x, []int{1, 3}, batch); err != nil {
		t.Fatal(err)
	}
	d1 := dcMaxDiff(w1, m.Param("conv1.weight").Data())
	d2 := dcMaxDiff(w2, m.Param("conv2.weight").Data())
	if d1 == 0 || d2 == 0 {
		t.Fatalf("the training step did not change the conv weights (max change %g, %g)", d1, d2)
	}
	t.Logf("training step changed conv1.weight by up to %.3g, conv2.weight by up to %.3g", d1, d2)
	// The nodes still hold the model's tensors, now with the new values.
	for _, b := range all {
		if b.n.Value().(*tensor.Dense) != b.p.Value {
			t.Errorf("after the step, node %s no longer holds the model's tensor", b.n.Name())
		}
	}

	after := project(d) // same Net: no rebuild, no reload
	if diff := dcMaxDiff(dcFlat(before), dcFlat(after)); diff < 1e-4 {
		t.Errorf("projection did not change after the training step (max diff %g)", diff)
	}

	// Reference: an independent model loaded with a copy of the new weights.
	m2 := dcModel(t, m.Arch)
	for _, p := range m.Params() {
		dcSet(t, m2, p.Name, p.Data())
	}
	fresh := project(dcNet(t, m2, batch))
	dcClose(t, "projection after the step vs a freshly loaded model", dcFlat(after), dcFlat(fresh), dcTolSame)
}

// The hand-computed network: input 1x6x6, conv1 1->1 3x3/1 pad 1 with
// bias -1, ReLU, max pool 3x3 stride 2 pad 1 (overlapping: output 3x3),
// fc2 9->2.
//
// conv1.weight (cross-correlation, as PyTorch):
//
//	0 0 0
//	0 2 1      z[y][x] = 2 x[y][x] + x[y][x+1] + x[y+1][x] - 1
//	0 1 0
//
// Input: zero but x[0][0] = 5, x[1][2] = 3, x[2][2] = 2, x[4][4] = 1.
// Pre-activations (everything else is 0 - 1 = -1):
//
//	z[0][0] = 2*5 - 1 = 9
//	z[0][2] = x[1][2] - 1 = 2          (from the pixel below)
//	z[1][1] = x[1][2] - 1 = 2          (from the pixel to the right)
//	z[1][2] = 2*3 + x[2][2] - 1 = 7
//	z[2][1] = x[2][2] - 1 = 1
//	z[2][2] = 2*2 - 1 = 3
//	z[4][4] = 2*1 - 1 = 1
//
// so relu1 is dcHandA below. Pool windows: output (i, j) covers rows
// 2i-1..2i+1 and cols 2j-1..2j+1 clipped to 0..5; a padded cell never wins,
// ties go to the first maximum in row-major order (PyTorch):
//
//	(0,0) rows 0-1 cols 0-1: 9 at (0,0)
//	(0,1) rows 0-1 cols 1-3: 7 at (1,2)   } one switch shared
//	(1,1) rows 1-3 cols 1-3: 7 at (1,2)   } by two windows
//	(1,0) rows 1-3 cols 0-1: 2 at (1,1)
//	(2,2) rows 3-5 cols 3-5: 1 at (4,4)
//	(0,2), (1,2), (2,0), (2,1): all zero; switch on the window's first
//	cell: (0,3), (1,3), (3,0), (3,1)
//
// pool1 = [9 7 0; 2 7 0; 0 0 1], switches (flat r*6+c) dcHandSwitches.
//
// The transposed convolution pastes w, unflipped, centred on each value:
// a value v at (r, c) adds 2v at (r, c), v at (r, c+1) and v at (r+1, c)
// (clipped at the border). No bias.
var (
	dcHandX = []float32{
		5, 0, 0, 0, 0, 0,
		0, 0, 3, 0, 0, 0,
		0, 0, 2, 0, 0, 0,
		0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 1, 0,
		0, 0, 0, 0, 0, 0,
	}
	dcHandW    = []float32{0, 0, 0, 0, 2, 1, 0, 1, 0}
	dcHandFC   = []float32{1, 1, 1, 1, 1, 1, 1, 1, 1 /* class 1: */, 1, 2, 1, -1, -3, 0, 0, 2, -1}
	dcHandFCB  = []float32{0, 3}
	dcHandA    = []float64{9, 0, 2, 0, 0, 0, 0, 2, 7, 0, 0, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}
	dcHandPool = []float64{9, 7, 0, 2, 7, 0, 0, 0, 1}
	// (0,0)  (1,2)  (0,3)  (1,1)  (1,2)  (1,3)  (3,0)  (3,1)  (4,4)
	dcHandSwitches = []int32{0, 8, 3, 7, 8, 9, 18, 19, 28}
)

func dcHandNet(t *testing.T) *Net {
	t.Helper()
	m := dcModel(t, zfnet.Arch{
		Name: "dc-hand", Input: [3]int{1, 6, 6}, Classes: 2,
		Convs: []zfnet.ConvStage{{Out: 1, Kernel: 3, Stride: 1, Pad: 1, Pool: &zfnet.Pool{Kernel: 3, Stride: 2, Pad: 1}}},
		FCs:   []zfnet.FC{{Out: 0}},
	})
	dcSet(t, m, "conv1.weight", dcHandW)
	dcSet(t, m, "conv1.bias", []float32{-1})
	dcSet(t, m, "fc2.weight", dcHandFC)
	dcSet(t, m, "fc2.bias", dcHandFCB)
	d := dcNet(t, m, 1)
	logits, err := d.Forward(dcHandX)
	if err != nil {
		t.Fatal(err)
	}
	// logit 0 = sum(pool1) = 26; logit 1 = 9+14+0-2-21+0+0+0-1 + 3 = 2.
	dcClose(t, "logits", logits, []float64{26, 2}, dcTol32)
	return d
}

func TestDeconvHandComputed(t *testing.T) {
	d := dcHandNet(t)
	a, err := d.Activation("conv1")
	if err != nil {
		t.Fatal(err)
	}
	dcClose(t, "relu1", a.Data().([]float32), dcHandA, dcTol32)
	p, err := d.Activation("pool1")
	if err != nil {
		t.Fatal(err)
	}
	dcClose(t, "pool1", p.Data().([]float32), dcHandPool, dcTol32)
	sw := d.fwd.Switches("pool1")
	if sw == nil || fmt.Sprint(sw.Index) != fmt.Sprint(dcHandSwitches) {
		t.Fatalf("pool1 switches %v, want %v", sw, dcHandSwitches)
	}

	cases := []struct {
		name   string
		layer  string
		target Target
		picked Picked
		// the same for every rule: the signal is positive where the
		// forward activation is
		want []float64
	}{
		{
			// pool1's strongest: 9 at (0,0), switch (0,0). Unpool puts 9 at
			// (0,0); rectifying keeps it; the transpose adds 18 at (0,0), 9
			// at (0,1) and 9 at (1,0).
			name: "strongest pool1", layer: "pool1", target: Target{Strongest: true},
			picked: Picked{Map: 0, Y: 0, X: 0, Value: 9},
			want: []float64{
				18, 9, 0, 0, 0, 0,
				9, 0, 0, 0, 0, 0,
				0, 0, 0, 0, 0, 0,
				0, 0, 0, 0, 0, 0,
				0, 0, 0, 0, 0, 0,
				0, 0, 0, 0, 0, 0,
			},
		},
		{
			// The whole pool1 map: unpooling scatter-adds, so the shared
			// switch (1,2) gets 7 + 7 = 14 (max_unpool2d would leave 7).
			// Unpooled: 9 at (0,0), 2 at (1,1), 14 at (1,2), 1 at (4,4),
			// and the zero windows' 0s. Transposed:
			//   9 at (0,0):  18 (0,0),  9 (0,1),  9 (1,0)
			//   2 at (1,1):   4 (1,1),  2 (1,2),  2 (2,1)
			//  14 at (1,2):  28 (1,2), 14 (1,3), 14 (2,2)
			//   1 at (4,4):   2 (4,4),  1 (4,5),  1 (5,4)
			name: "whole pool1 map", layer: "pool1", target: Target{WholeMap: true},
			picked: Picked{Map: 0, Y: 0, X: 0, Value: 9},
			want: []float64{
				18, 9, 0, 0, 0, 0,
				9, 4, 30, 14, 0, 0,
				0, 2, 14, 0, 0, 0,
				0, 0, 0, 0, 0, 0,
				0, 0, 0, 0, 2, 1,
				0, 0, 0, 0, 1, 0,
			},
		},
		{
			// conv1 means relu1's output; its activation 7 at (1,2):
			// rectify keeps 7; the transpose adds 14 at (1,2), 7 at (1,3)
			// and 7 at (2,2).
			name: "conv1 at (1,2)", layer: "conv1", target: Target{Y: 1, X: 2},
			picked: Picked{Map: 0, Y: 1, X: 2, Value: 7},
			want: []float64{
				0, 0, 0, 0, 0, 0,
				0, 0, 14, 7, 0, 0,
				0, 0, 7, 0, 0, 0,
				0, 0, 0, 0, 0, 0,
				0, 0, 0, 0, 0, 0,
				0, 0, 0, 0, 0, 0,
			},
		},
	}
	for _, c := range cases {
		for _, rule := range []Rule{Deconvnet, Guided, Saliency} {
			res, picked := dcProject(t, d, c.layer, []Target{c.target}, Options{Rule: rule})
			if picked[0] != c.picked {
				t.Errorf("%s (%v): picked %+v, want %+v", c.name, rule, picked[0], c.picked)
			}
			dcClose(t, fmt.Sprintf("%s (%v)", c.name, rule), res[0], c.want, dcTol32)
		}
	}
}

// TestDeconvHandRules projects the class-1 logit of the hand network,
// where the three rules differ. The logit is 2 (see dcHandNet); the signal
// reaching pool1 is 2 * fc2.weight[1] = [2 4 2; -2 -6 0; 0 4 -2]. Unpooling
// scatter-adds it at the switches:
//
//	(0,0): 2    (1,2): 4 + -6 = -2 (shared)   (0,3): 2   (1,1): -2
//	(1,3): 0    (3,0): 0   (3,1): 4   (4,4): -2
//
// The forward activation is positive at (0,0), (1,1), (1,2), (4,4) and zero
// at (0,3), (1,3), (3,0), (3,1) (switches of all-zero windows).
//   - Deconvnet rectifies the signal: 2 at (0,0), 2 at (0,3), 4 at (3,1).
//   - Saliency (the gradient, times the logit) masks by the activation:
//     2 at (0,0), -2 at (1,1), -2 at (1,2), -2 at (4,4).
//   - Guided does both: 2 at (0,0) only.
//
// Then the transpose (v at (r,c) adds 2v at (r,c), v at (r,c+1), v at
// (r+1,c)). Overwriting unpooling would put 4 or -6 at (1,2) instead of -2.
func TestDeconvHandRules(t *testing.T) {
	d := dcHandNet(t)
	want := map[Rule][]float64{
		Deconvnet: {
			4, 2, 0, 4, 2, 0,
			2, 0, 0, 2, 0, 0,
			0, 0, 0, 0, 0, 0,
			0, 8, 4, 0, 0, 0,
			0, 4, 0, 0, 0, 0,
			0, 0, 0, 0, 0, 0,
		},
		Saliency: {
			4, 2, 0, 0, 0, 0,
			2, -4, -6, -2, 0, 0,
			0, -2, -2, 0, 0, 0,
			0, 0, 0, 0, 0, 0,
			0, 0, 0, 0, -4, -2,
			0, 0, 0, 0, -2, 0,
		},
		Guided: {
			4, 2, 0, 0, 0, 0,
			2, 0, 0, 0, 0, 0,
			0, 0, 0, 0, 0, 0,
			0, 0, 0, 0, 0, 0,
			0, 0, 0, 0, 0, 0,
			0, 0, 0, 0, 0, 0,
		},
	}
	for _, rule := range []Rule{Deconvnet, Saliency, Guided} {
		res, picked := dcProject(t, d, "fc2", []Target{{Map: 1}}, Options{Rule: rule})
		if want := (Picked{Map: 1, Value: 2}); picked[0] != want {
			t.Errorf("%v: picked %+v, want %+v", rule, picked[0], want)
		}
		dcClose(t, fmt.Sprintf("fc2 class 1 (%v)", rule), res[0], want[rule], dcTol32)
	}
	// A signal placed by hand at pool1 through Project: -1 at (0,1) and
	// +3 at (1,1), the two windows sharing switch (1,2): it sums to 2 there
	// (positive, activation 7): every rule keeps it; the transpose gives 4
	// at (1,2), 2 at (1,3), 2 at (2,2).
	top := make([]float32, 9)
	top[1], top[4] = -1, 3
	for _, rule := range []Rule{Deconvnet, Saliency, Guided} {
		out, err := d.Project("pool1", top, Options{Rule: rule})
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, 36)
		want[1*6+2], want[1*6+3], want[2*6+2] = 4, 2, 2
		dcClose(t, fmt.Sprintf("pool1 shared switch (%v)", rule), out, want, dcTol32)
	}
}

// dcNpy loads testdata/deconv_<name>.npy.
func dcNpy(t *testing.T, name string) *tensor.Dense {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "deconv_"+name+".npy"))
	if err != nil {
		t.Fatalf("fixture %s: %v (regenerate with /usr/bin/python3 deconvnet/testdata/gen_deconv_fixture.py)", name, err)
	}
	defer f.Close()
	d := new(tensor.Dense)
	if err := d.ReadNpy(f); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return d
}

func dcNpyF32(t *testing.T, name string) []float32 {
	t.Helper()
	v, ok := dcNpy(t, name).Data().([]float32)
	if !ok {
		t.Fatalf("fixture %s is not float32", name)
	}
	return v
}

// TestDeconvPyTorchFixture compares with an independent PyTorch
// implementation (testdata/gen_deconv_fixture.py): unpooling as a
// scatter-add of the switch indices, relu, conv_transpose2d with the same
// weights; saliency by torch.autograd. Tolerance: Abs 1e-5 + Rel 1e-4.
func TestDeconvPyTorchFixture(t *testing.T) {
	m := dcModel(t, zfnet.Arch{
		Name: "dc-torch", Input: [3]int{3, 26, 23}, Classes: 2,
		Convs: []zfnet.ConvStage{
			{Out: 4, Kernel: 7, Stride: 2, Pad: 1, Pool: &zfnet.Pool{Kernel: 3, Stride: 2, Pad: 1}},
			{Out: 5, Kernel: 3, Stride: 1, Pad: 1, Pool: &zfnet.Pool{Kernel: 3, Stride: 2}},
		},
		FCs: []zfnet.FC{{Out: 0}}, // required by Arch; its (zero) weights play no part
	})
	for _, p := range [][2]string{{"conv1.weight", "w1"}, {"conv1.bias", "b1"}, {"conv2.weight", "w2"}, {"conv2.bias", "b2"}} {
		dcSet(t, m, p[0], dcNpyF32(t, p[1]))
	}
	const batch = 2
	d := dcNet(t, m, batch)
	if _, err := d.Forward(dcNpyF32(t, "x")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ fixture, layer string }{{"pool2", "pool2"}, {"relu2", "conv2"}} {
		pos, ok := dcNpy(t, c.fixture+"_pos").Data().([]int32)
		if !ok || len(pos) != 3*batch {
			t.Fatalf("%s_pos: want int32 (2, 3)", c.fixture)
		}
		val := dcNpy(t, c.fixture+"_val").Data().([]float64)
		targets := make([]Target, batch)
		for i := range targets {
			targets[i] = Target{Map: int(pos[3*i]), Strongest: true}
		}
		for _, rule := range []Rule{Deconvnet, Guided, Saliency} {
			what := fmt.Sprintf("%s %v", c.layer, rule)
			res, picked := dcProject(t, d, c.layer, targets, Options{Rule: rule})
			for i, p := range picked {
				if p.Map != int(pos[3*i]) || p.Y != int(pos[3*i+1]) || p.X != int(pos[3*i+2]) {
					t.Errorf("%s image %d: picked %+v, PyTorch picked map %d at (%d, %d)", what, i, p, pos[3*i], pos[3*i+1], pos[3*i+2])
				}
				dcClose(t, what+" picked value", []float32{p.Value}, val[i:i+1], dcTol32)
			}
			want := dcNpy(t, c.fixture+"_"+rule.String()).Data().([]float32)
			dcClose(t, what, dcFlat(res), want, dcTol32)
		}
	}
}

// TestProjectBatchMatchesSingles: 8 (image, map) pairs projected in one
// ProjectTargets call equal the same pairs projected one at a time by a
// batch-1 Net.
func TestProjectBatchMatchesSingles(t *testing.T) {
	m := dcLRNModel(t)
	const batch = 8
	in := m.Arch.Input
	n := in[0] * in[1] * in[2]
	rng := rand.New(rand.NewSource(11))
	x := dcRand(rng, batch*n, 0, 1)
	big, one := dcNet(t, m, batch), dcNet(t, m, 1)
	if _, err := big.Forward(x); err != nil {
		t.Fatal(err)
	}
	targets := map[string][]Target{
		"pool2": {{Map: 0, Strongest: true}, {Map: 7, Strongest: true}, {Map: 3, Y: 1, X: 0}, {Map: 3, WholeMap: true},
			{Map: 1, Strongest: true}, {Map: 5, Y: 0, X: 1}, {Map: 6, Strongest: true}, {Map: 2, WholeMap: true}},
		"conv1": {{Map: 0, Strongest: true}, {Map: 1, Strongest: true}, {Map: 2, Y: 4, X: 4}, {Map: 3, WholeMap: true},
			{Map: 4, Strongest: true}, {Map: 5, Strongest: true}, {Map: 0, Y: 8, X: 0}, {Map: 5, WholeMap: true}},
		"fc3": {{Map: 0}, {Map: 3}, {Map: 15}, {Map: 7}, {Map: 8}, {Map: 1}, {Map: 2}, {Map: 9}},
	}
	for _, layer := range []string{"pool2", "conv1", "fc3"} {
		for _, opt := range []Options{{Rule: Deconvnet}, {Rule: Guided}, {Rule: Saliency, ThroughLRN: true}} {
			what := fmt.Sprintf("%s %+v", layer, opt)
			start := time.Now()
			all, picked := dcProject(t, big, layer, targets[layer], opt)
			tBatch := time.Since(start)
			var tOne time.Duration
			live := 0
			for i, tg := range targets[layer] {
				if _, err := one.Forward(x[i*n : (i+1)*n]); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				single, p1 := dcProject(t, one, layer, []Target{tg}, opt)
				tOne += time.Since(start)
				if p1[0] != picked[i] {
					t.Errorf("%s image %d: picked %+v alone, %+v in the batch", what, i, p1[0], picked[i])
				}
				if picked[i].Value > 0 && dcMaxAbs(all[i]) == 0 {
					t.Errorf("%s image %d: projection of %+v is all zero", what, i, picked[i])
				}
				if picked[i].Value > 0 {
					live++
				}
				dcClose(t, fmt.Sprintf("%s image %d batch vs alone", what, i), all[i], single[0], dcTolSame)
			}
			if live < 4 {
				t.Errorf("%s: only %d of 8 targets have a positive activation: the test shows little", what, live)
			}
			t.Logf("%s: one batch of 8 %v, 8 single projections %v", what, tBatch, tOne)
		}
	}
}

// TestProjectThroughLRN: with ThroughLRN the projection walks the
// linearized normalization instead of skipping it, which changes the
// result; with the Saliency rule it is then exactly the gradient of
// sum(top * activation) with respect to the input, computed here by
// Gorgonia's autodiff on the model's own forward graph.
func TestProjectThroughLRN(t *testing.T) {
	t.Run("conv-relu-lrn-pool", func(t *testing.T) { checkThroughLRN(t, dcLRNModel(t), "pool2") })
	// The paper's Fig. 3 order: rectify, pool, then normalize, so the LRN's
	// input is a pooling output (recorded by the LRN itself).
	t.Run("fig3-order", func(t *testing.T) {
		a := zfnet.Arch{Name: "dc-fig3", Input: [3]int{3, 20, 20}, Classes: 4, Layers: []zfnet.LayerSpec{
			zfnet.Conv(6, 5, 2, 1), zfnet.ReLU(), zfnet.MaxPool(3, 2, 1), zfnet.PaperLRN(),
			zfnet.Conv(8, 3, 1, 1), zfnet.ReLU(), zfnet.MaxPoolCeil(3, 2, 0), zfnet.CrossMapLRN(3, 0.5, 0.75, 1),
			zfnet.Linear(16), zfnet.ReLU(), zfnet.Linear(0),
		}}
		m := dcModel(t, a)
		if err := m.Initialize(zfnet.InitHe, 1); err != nil {
			t.Fatal(err)
		}
		checkThroughLRN(t, m, "norm2")
	})
}

func checkThroughLRN(t *testing.T, m *zfnet.Model, layer string) {
	const batch = 2
	in := m.Arch.Input
	rng := rand.New(rand.NewSource(5))
	x := dcRand(rng, batch*in[0]*in[1]*in[2], 0, 1)
	d := dcNet(t, m, batch)
	if _, err := d.Forward(x); err != nil {
		t.Fatal(err)
	}
	top, _, err := d.Isolate(layer, []Target{{Map: 1, Strongest: true}, {Map: 4, WholeMap: true}})
	if err != nil {
		t.Fatal(err)
	}
	proj := map[Options][]float32{}
	for _, rule := range []Rule{Deconvnet, Guided, Saliency} {
		for _, through := range []bool{false, true} {
			opt := Options{Rule: rule, ThroughLRN: through}
			out, err := d.Project(layer, top, opt)
			if err != nil {
				t.Fatalf("%+v: %v", opt, err)
			}
			if dcMaxAbs(out) == 0 {
				t.Fatalf("%+v: projection is all zero", opt)
			}
			proj[opt] = out
		}
		skip, through := proj[Options{Rule: rule}], proj[Options{Rule: rule, ThroughLRN: true}]
		diff, scale := dcMaxDiff(skip, through), dcMaxAbs(skip)
		t.Logf("%v: ThroughLRN changes the projection by up to %.3g (max |projection| %.3g)", rule, diff, scale)
		if diff < 1e-3*scale {
			t.Errorf("%v: ThroughLRN made no difference (%g, scale %g)", rule, diff, scale)
		}
	}

	// The gradient by autodiff: a fresh inference graph over the model.
	b := nn.NewBuilder(false, false, 0)
	b.InputGrad = true // differentiated by the image
	xn := b.Input("x", batch, in[0], in[1], in[2])
	_, outs, err := m.Build(b, xn)
	if err != nil {
		t.Fatal(err)
	}
	act := outs[layer]
	tn := b.Input("top", act.Shape()...)
	cost := G.Must(G.Sum(G.Must(G.HadamardProd(act, tn))))
	if _, err := G.Grad(cost, xn); err != nil {
		t.Fatal(err)
	}
	xt := tensor.New(tensor.WithShape(batch, in[0], in[1], in[2]), tensor.WithBacking(append([]float32(nil), x...)))
	tt := tensor.New(tensor.WithShape(act.Shape()...), tensor.WithBacking(top))
	if err := G.Let(xn, xt); err != nil {
		t.Fatal(err)
	}
	if err := G.Let(tn, tt); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(b.G, G.BindDualValues(xn))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	gv, err := xn.Grad()
	if err != nil {
		t.Fatal(err)
	}
	grad := gv.Data().([]float32)
	dcClose(t, "Saliency through LRN vs autodiff gradient", proj[Options{Rule: Saliency, ThroughLRN: true}], grad, dcTol32)
	if diff := dcMaxDiff(proj[Options{Rule: Saliency}], grad); diff < 1e-3*dcMaxAbs(grad) {
		t.Errorf("Saliency skipping LRN equals the gradient (max diff %g): LRN should matter", diff)
	}
}

// TestNewUpTo: a deconvnet whose forward pass stops at pool2 gives the
// same bits as the whole network's for every projection from pool2 or
// below and every activation up to it, returns pool2's output from
// Forward, and refuses the layers above it (activation and projection)
// with an error naming where it stops; an unknown layer is an error.
func TestNewUpTo(t *testing.T) {
	m := dcLRNModel(t)
	const batch = 2
	in := m.Arch.Input
	x := dcRand(rand.New(rand.NewSource(5)), batch*in[0]*in[1]*in[2], 0, 1)
	whole := dcNet(t, m, batch)
	up, err := NewUpTo(m, batch, "pool2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Close() })
	if _, err := whole.Forward(x); err != nil {
		t.Fatal(err)
	}
	out, err := up.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	pool2, err := whole.Activation("pool2")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out, pool2.Data().([]float32)) {
		t.Error("NewUpTo(pool2).Forward differs from the whole network's pool2 output")
	}
	for _, layer := range []string{"conv1", "pool2"} {
		a, _ := whole.Activation(layer)
		b, err := up.Activation(layer)
		if err != nil || !slices.Equal(a.Data().([]float32), b.Data().([]float32)) {
			t.Errorf("activation %s: differs or fails (%v)", layer, err)
		}
		targets := []Target{{Map: 0, Strongest: true}, {Map: 1, Strongest: true}}
		for _, opt := range []Options{{Rule: Deconvnet}, {Rule: Saliency, ThroughLRN: true}} {
			want, _ := dcProject(t, whole, layer, targets, opt)
			got, _ := dcProject(t, up, layer, targets, opt)
			if !slices.Equal(dcFlat(got), dcFlat(want)) {
				t.Errorf("project from %s %+v: NewUpTo differs from New", layer, opt)
			}
		}
	}
	if _, err := up.Activation("fc3"); err == nil || !strings.Contains(err.Error(), "pool2") {
		t.Errorf("activation of fc3 above pool2: err %v, want one naming pool2", err)
	}
	if _, _, err := up.ProjectTargets("fc3", []Target{{Map: 0}, {Map: 1}}, Options{}); err == nil || !strings.Contains(err.Error(), "pool2") {
		t.Errorf("projection from fc3 above pool2: err %v, want one naming pool2", err)
	}
	if _, err := NewUpTo(m, batch, "conv9"); err == nil || !strings.Contains(err.Error(), "conv9") {
		t.Errorf("NewUpTo(conv9): err %v, want one naming conv9", err)
	}
}
