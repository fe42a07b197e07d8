package zfnet

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zfnet/zfnet/nn"
	"github.com/zfnet/zfnet/zfnet/weights"
)

func paramOf(name string, decay, filters bool, shape []int, v []float32) *nn.Param {
	p := nn.NewParam(name, decay, filters, shape...)
	copy(p.Data(), v)
	return p
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestSGDByHand: two steps worked out by hand. Weight decay applies to
// weights (Decay) and not to biases; momentum carries the first velocity
// into the second step (v = mu v + g + lambda w, w -= lr v).
func TestSGDByHand(t *testing.T) {
	s := &SGD{LR: 0.1, Momentum: 0.9, WeightDecay: 0.1, Velocity: map[string][]float32{}}
	w := paramOf("fc1.weight", true, false, []int{1, 1}, []float32{1})
	b := paramOf("fc1.bias", false, false, []int{1}, []float32{1})
	g := []float32{0.5}
	// Step 1: v = 0.5 + 0.1*1 = 0.6, w = 1 - 0.06 = 0.94; bias: v = 0.5, b = 0.95.
	// Step 2: v = 0.9*0.6 + 0.5 + 0.1*0.94 = 1.134, w = 0.94 - 0.1134 = 0.8266;
	//         bias: v = 0.9*0.5 + 0.5 = 0.95, b = 0.95 - 0.095 = 0.855.
	want := [][4]float64{{0.94, 0.6, 0.95, 0.5}, {0.8266, 1.134, 0.855, 0.95}}
	for step, wv := range want {
		s.Step(w, g)
		s.Step(b, g)
		got := [4]float64{float64(w.Data()[0]), float64(s.Velocity[w.Name][0]), float64(b.Data()[0]), float64(s.Velocity[b.Name][0])}
		for i := range got {
			if !near(got[i], wv[i], 1e-6) {
				t.Fatalf("step %d: weight %v (velocity %v), bias %v (velocity %v); want %v", step+1, got[0], got[1], got[2], got[3], wv)
			}
		}
	}
}

// TestRenormalizeFiltersByHand: only convolution weights (Filters) are
// renormalized, filter by filter, and only a filter whose RMS exceeds the
// radius; a radius of 0 turns it off.
func TestRenormalizeFiltersByHand(t *testing.T) {
	s := &SGD{LR: 0, Momentum: 0.9, FilterRadius: 0.1, Velocity: map[string][]float32{}}
	// Filter 0: (0.3, 0.4), RMS sqrt(0.125) = 0.35355 > 0.1: scaled by
	// 0.1/0.35355 to (0.084853, 0.113137). Filter 1: (0.05, -0.05), RMS 0.05:
	// kept.
	conv := paramOf("conv1.weight", true, true, []int{2, 1, 1, 2}, []float32{0.3, 0.4, 0.05, -0.05})
	fc := paramOf("fc2.weight", true, false, []int{2, 2}, []float32{0.3, 0.4, 0.05, -0.05})
	bias := paramOf("conv1.bias", false, false, []int{2}, []float32{3, 4})
	zero := make([]float32, 4)
	s.Step(conv, zero)
	s.Step(fc, zero)
	s.Step(bias, zero[:2])
	r := 0.1 / math.Sqrt(0.125)
	for i, want := range []float64{0.3 * r, 0.4 * r, 0.05, -0.05} {
		if got := float64(conv.Data()[i]); !near(got, want, 1e-7) {
			t.Errorf("conv1.weight[%d] = %.7f, want %.7f", i, got, want)
		}
	}
	for i, want := range []float32{0.3, 0.4, 0.05, -0.05} {
		if fc.Data()[i] != want {
			t.Errorf("fc2.weight[%d] = %v: fully connected weights are not renormalized (want %v)", i, fc.Data()[i], want)
		}
	}
	if bias.Data()[0] != 3 || bias.Data()[1] != 4 {
		t.Errorf("conv1.bias = %v: biases are not renormalized", bias.Data())
	}
	off := &SGD{LR: 0, Velocity: map[string][]float32{}}
	conv2 := paramOf("conv1.weight", true, true, []int{2, 1, 1, 2}, []float32{0.3, 0.4, 0.05, -0.05})
	off.Step(conv2, zero)
	if conv2.Data()[0] != 0.3 || conv2.Data()[1] != 0.4 {
		t.Errorf("radius 0 renormalized: %v", conv2.Data())
	}
}

// TestSGDMatchesPyTorch: three steps of torch.optim.SGD with momentum and
// weight decay on weights only (parameter groups), then the renormalization
// of conv filters above the radius, from testdata/gen_sgd_reference.py.
// One filter starts far above the radius, one below and one near it, and
// the fully connected weights are large: a renormalization applied to the
// wrong parameters, or weight decay applied to biases, shows.
func TestSGDMatchesPyTorch(t *testing.T) {
	f, err := weights.ReadArchive(filepath.Join("testdata", "sgd_reference.npz"))
	if err != nil {
		t.Fatal(err)
	}
	h := f.Arrays.ByName["hyper"].Data
	s := &SGD{LR: float64(h[0]), Momentum: float64(h[1]), WeightDecay: float64(h[2]), FilterRadius: float64(h[3]), Velocity: map[string][]float32{}}
	steps := int(h[4])
	var ps []*nn.Param
	for _, spec := range []struct {
		name           string
		decay, filters bool
	}{{"conv1.weight", true, true}, {"conv1.bias", false, false}, {"fc2.weight", true, false}, {"fc2.bias", false, false}} {
		a, ok := f.Arrays.ByName["init/"+spec.name]
		if !ok {
			t.Fatalf("fixture lacks init/%s", spec.name)
		}
		ps = append(ps, paramOf(spec.name, spec.decay, spec.filters, a.Shape, a.Data))
	}
	for step := 0; step < steps; step++ {
		for _, p := range ps {
			s.Step(p, f.Arrays.ByName[fmt.Sprintf("grad%d/%s", step, p.Name)].Data)
		}
		for _, p := range ps {
			want := f.Arrays.ByName[fmt.Sprintf("step%d/%s", step, p.Name)].Data
			for i, v := range p.Data() {
				if !near(float64(v), float64(want[i]), 2e-6+2e-6*math.Abs(float64(want[i]))) {
					t.Fatalf("step %d: %s[%d] = %.8g, PyTorch %.8g", step+1, p.Name, i, v, want[i])
				}
			}
		}
	}
}

// TestPlateauAnnealing: with a learning rate too small to move the
// validation loss, every epoch after the first is a plateau. Patience 1
// anneals after two bad epochs, by LRFactor, down to MinLR and no further:
// the learning rates of six epochs are 1e-8, 1e-8, 1e-8, 1e-9, 1e-9 and
// 3e-10 (1e-10 is below the floor).
func TestPlateauAnnealing(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	cfg := DefaultRunConfig()
	cfg.Out = filepath.Join(t.TempDir(), "plateau")
	cfg.Epochs, cfg.Batch, cfg.TrainLimit, cfg.EvalLimit, cfg.ValFraction = 6, 16, 16, 16, 0.01
	cfg.LR, cfg.LRFactor, cfg.Patience, cfg.MinLR, cfg.AnnealAt = 1e-8, 0.1, 1, 3e-10, nil
	cfg.Snapshots = nil
	var lrs []float64
	if _, err := Train(context.Background(), cfg, false, Hooks{Epoch: func(m EpochMetrics) { lrs = append(lrs, m.LR) }}); err != nil {
		t.Fatal(err)
	}
	want := []float64{1e-8, 1e-8, 1e-8, 1e-9, 1e-9, 3e-10}
	if len(lrs) != len(want) {
		t.Fatalf("%d epochs reported, want %d", len(lrs), len(want))
	}
	for i := range want {
		if !near(lrs[i], want[i], 1e-6*want[i]) {
			t.Fatalf("learning rates by epoch %v, want %v", lrs, want)
		}
	}
}

// TestScheduledAnnealing: with AnnealAt the learning rate falls by
// LRFactor after exactly the listed epochs, whatever the validation loss
// does (here it improves every epoch, which the plateau rule would never
// anneal on), down to MinLR; and the list is checked.
func TestScheduledAnnealing(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	cfg := DefaultRunConfig()
	cfg.Out = filepath.Join(t.TempDir(), "schedule")
	cfg.Epochs, cfg.Batch, cfg.TrainLimit, cfg.EvalLimit, cfg.ValFraction = 5, 16, 64, 16, 0.01
	cfg.LR, cfg.LRFactor, cfg.Patience, cfg.MinLR, cfg.AnnealAt = 0.01, 0.1, 0, 5e-5, []int{2, 3, 4}
	cfg.Snapshots = nil
	var lrs []float64
	if _, err := Train(context.Background(), cfg, false, Hooks{Epoch: func(m EpochMetrics) { lrs = append(lrs, m.LR) }}); err != nil {
		t.Fatal(err)
	}
	want := []float64{0.01, 0.01, 0.001, 1e-4, 5e-5}
	if len(lrs) != len(want) {
		t.Fatalf("%d epochs reported, want %d", len(lrs), len(want))
	}
	for i := range want {
		if !near(lrs[i], want[i], 1e-9*want[i]) {
			t.Fatalf("learning rates by epoch %v, want %v", lrs, want)
		}
	}
	for _, bad := range [][]int{{0}, {3, 2}, {2, 2}} {
		cfg.AnnealAt = bad
		if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), "anneal-at") {
			t.Errorf("AnnealAt %v: error %v, want one naming anneal-at", bad, err)
		}
	}
}
