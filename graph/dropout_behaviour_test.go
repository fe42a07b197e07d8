package graph

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// dropoutRuns runs y = Dropout(ones(n), p) with the gradient of sum(y)
// `runs` times on one machine and returns each run's output and input
// gradient.
func dropoutRuns(t *testing.T, n int, p float64, seed uint64, runs int, setup func(*DropoutState)) (ys, grads [][]float32) {
	t.Helper()
	g := G.NewGraph()
	ones := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(1, n))
	for i := range sliceOf[float32](ones) {
		sliceOf[float32](ones)[i] = 1
	}
	x := G.NewTensor(g, tensor.Float32, 2, G.WithShape(1, n), G.WithValue(ones), G.WithName("x"))
	y, st, err := Dropout(x, p, seed)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(st)
	}
	start := st.Step
	var yv, gv G.Value
	G.Read(y, &yv)
	gs, err := G.Grad(G.Must(G.Sum(y)), x)
	if err != nil {
		t.Fatal(err)
	}
	G.Read(gs[0], &gv)
	m := G.NewTapeMachine(g)
	defer m.Close()
	for r := 0; r < runs; r++ {
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		ys = append(ys, append([]float32(nil), yv.(*tensor.Dense).Data().([]float32)...))
		grads = append(grads, append([]float32(nil), gv.(*tensor.Dense).Data().([]float32)...))
		m.Reset()
	}
	if st.Step != start+uint64(runs) {
		t.Errorf("the state counts %d forward passes, want %d", st.Step-start, runs)
	}
	return ys, grads
}

// TestDropoutBehaviour checks what dropout does, not only that its
// gradient matches its forward: at p = 0.2 over 10^5 ones, 20 +/- 1% of the
// outputs are zero (a p vs 1-p swap would zero 80%), every survivor is
// exactly 1/(1-p) = 1.25 (a swap would give 5), the gradient of sum(y) is
// the same mask and scale as this step's output, and every step draws a new
// mask, independent of the last (two masks differ in 2p(1-p) = 32% of the
// places). The masks are a function of (seed, step): the same step
// replays the same mask, which is what makes resume exact.
func TestDropoutBehaviour(t *testing.T) {
	const n, p = 100000, 0.2
	ys, grads := dropoutRuns(t, n, p, 7, 3, nil)
	survivor := float32(1 / (1 - p))
	for r, y := range ys {
		zeros := 0
		for i, v := range y {
			switch v {
			case 0:
				zeros++
			case survivor:
			default:
				t.Fatalf("run %d: y[%d] = %v; want 0 or exactly 1/(1-p) = %v", r, i, v, survivor)
			}
			if grads[r][i] != v {
				t.Fatalf("run %d: gradient[%d] = %v, output %v: the backward pass must use this step's mask and scale", r, i, grads[r][i], v)
			}
		}
		if f := float64(zeros) / n; math.Abs(f-p) > 0.01 {
			t.Errorf("run %d: %.2f%% zeros, want %.0f +/- 1%%", r, 100*f, 100*p)
		}
	}
	for r := 1; r < len(ys); r++ {
		diff := 0
		for i := range ys[r] {
			if ys[r][i] != ys[r-1][i] {
				diff++
			}
		}
		if f, want := float64(diff)/n, 2*p*(1-p); math.Abs(f-want) > 0.015 {
			t.Errorf("runs %d and %d: masks differ in %.2f%% of places, want %.0f%% (a new, independent mask each step)", r-1, r, 100*f, 100*want)
		}
	}
	// Same seed: the same masks; the step counter restored: the same mask
	// as that step had; another seed: another mask.
	again, _ := dropoutRuns(t, n, p, 7, 3, nil)
	resumed, _ := dropoutRuns(t, n, p, 7, 1, func(st *DropoutState) { st.Step = 2 })
	other, _ := dropoutRuns(t, n, p, 8, 1, nil)
	same := func(a, b []float32) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	if !same(again[0], ys[0]) || !same(again[2], ys[2]) {
		t.Error("the same seed gave other masks")
	}
	if !same(resumed[0], ys[2]) {
		t.Error("restoring the step counter to 2 did not replay step 2's mask")
	}
	if same(other[0], ys[0]) {
		t.Error("another seed gave the same mask")
	}
}

// TestDropoutRates: the share of zeros follows p at both ends (a swapped p
// is visible everywhere but at 0.5), and p = 0 keeps everything unscaled.
func TestDropoutRates(t *testing.T) {
	const n = 20000
	for _, p := range []float64{0, 0.1, 0.5, 0.8} {
		ys, _ := dropoutRuns(t, n, p, 3, 1, nil)
		zeros := 0
		for _, v := range ys[0] {
			if v == 0 {
				zeros++
			} else if v != float32(1/(1-p)) {
				t.Fatalf("p=%g: survivor %v, want %v", p, v, float32(1/(1-p)))
			}
		}
		if f := float64(zeros) / n; math.Abs(f-p) > 0.02 {
			t.Errorf("p=%g: %.2f%% zeros", p, 100*f)
		}
	}
}
