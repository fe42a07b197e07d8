package zfnet

import (
	"math"
	"math/rand"
	"runtime"
	"testing"
	"time"
)

func TestZFNetSpatialSizes(t *testing.T) {
	a, err := LookupArch("zfnet")
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(a)
	if err != nil {
		t.Fatal(err)
	}
	// 224 -> conv1 110 -> pool1 55 -> conv2 26 -> pool2 13 -> conv3-5 13 -> pool5 6
	want := map[string]int{"conv1": 110, "pool1": 55, "conv2": 26, "pool2": 13, "conv3": 13, "conv4": 13, "conv5": 13, "pool5": 6}
	for name, size := range want {
		_, i := m.Layer(name)
		if i < 0 {
			t.Fatalf("no layer %s", name)
		}
		if s := m.Shapes[i]; s[1] != size || s[2] != size {
			t.Errorf("%s: output %v, want %dx%d", name, s, size, size)
		}
	}
	if p := m.Param("fc6.weight"); p == nil || p.Value.Shape()[1] != 512*6*6 {
		t.Errorf("fc6.weight: want 4096 x 18432")
	}
}

func TestSmallStepSpeed(t *testing.T) {
	if testing.Short() {
		t.Skip("speed probe")
	}
	a, _ := LookupArch("zfnet-small")
	m, err := New(a)
	if err != nil {
		t.Fatal(err)
	}
	m.Initialize(InitHe, 1)
	cfg := DefaultTrainConfig()
	tr, err := NewTrainer(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 128*28*28)
	rng := rand.New(rand.NewSource(1))
	for i := range x {
		x[i] = rng.Float32()
	}
	labels := make([]int, 128)
	for i := range labels {
		labels[i] = i % 10
	}
	start := time.Now()
	for s := 0; s < 5; s++ {
		r, err := tr.Step(x, labels, 128)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("loss %.4f", r.Loss)
	}
	t.Logf("%.1f images/s", 5*128/time.Since(start).Seconds())
}

func TestInitializeIsSeeded(t *testing.T) {
	a, _ := LookupArch("zfnet-small")
	m1, _ := New(a)
	m2, _ := New(a)
	m3, _ := New(a)
	for _, kind := range []Init{InitPaper, InitHe} {
		m1.Initialize(kind, 7)
		m2.Initialize(kind, 7)
		m3.Initialize(kind, 8)
		same, differ := true, false
		for i, p := range m1.Params() {
			for j, v := range p.Data() {
				same = same && v == m2.Params()[i].Data()[j]
				differ = differ || v != m3.Params()[i].Data()[j]
			}
		}
		if !same || !differ {
			t.Errorf("%s: same seed same weights %v, other seed other weights %v", kind, same, differ)
		}
		// The paper's init: N(0, 0.01^2) weights, zero biases.
		w, b := m1.Param("conv2.weight").Data(), m1.Param("conv2.bias").Data()
		var ss float64
		for _, v := range w {
			ss += float64(v) * float64(v)
		}
		std := math.Sqrt(ss / float64(len(w)))
		want := 0.01
		if kind == InitHe {
			want = math.Sqrt(2.0 / float64(len(w)/m1.Param("conv2.weight").Value.Shape()[0]))
		}
		if math.Abs(std-want) > 0.05*want {
			t.Errorf("%s: conv2 weights have std %.4g, want %.4g", kind, std, want)
		}
		for _, v := range b {
			if v != 0 {
				t.Fatalf("%s: bias %v, want 0", kind, v)
			}
		}
	}
	if err := m1.Initialize("xavier", 1); err == nil {
		t.Error("unknown init accepted")
	}
}

// TestGradientsDoNotAccumulate runs the same batch twice with a learning
// rate of 0 and no momentum: the solver's velocity then equals the gradient,
// which must be the same every time (ops reuse their output buffers across
// runs, and Gorgonia's bound dual values would add each run onto the last:
// neither may leak into the next step).
func TestGradientsDoNotAccumulate(t *testing.T) {
	a, _ := LookupArch("zfnet-small")
	for i := range a.FCs {
		a.FCs[i].Dropout = 0
	}
	m, _ := New(a)
	m.Initialize(InitHe, 2)
	tr, err := NewTrainer(m, TrainConfig{Batch: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	rng := rand.New(rand.NewSource(3))
	x := make([]float32, 4*28*28)
	for i := range x {
		x[i] = rng.Float32()
	}
	labels := []int{1, 2, 3, 4}
	var first map[string][]float32
	for run := 0; run < 3; run++ {
		if _, err := tr.Step(x, labels, 4); err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			first = map[string][]float32{}
			for k, v := range tr.SGD.Velocity {
				first[k] = append([]float32(nil), v...)
			}
			continue
		}
		for k, v := range tr.SGD.Velocity {
			for i := range v {
				if v[i] != first[k][i] {
					t.Fatalf("run %d: gradient of %s[%d] is %v, first run %v", run, k, i, v[i], first[k][i])
				}
			}
		}
	}
}

// TestGradientsIndependentOfThreads: one step gives the same gradients,
// to the bit, on one core and on four (resume on another machine is exact).
func TestGradientsIndependentOfThreads(t *testing.T) {
	step := func(procs int) map[string][]float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		a, _ := LookupArch("zfnet-small")
		m, _ := New(a)
		m.Initialize(InitHe, 5)
		tr, err := NewTrainer(m, TrainConfig{Batch: 9, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		rng := rand.New(rand.NewSource(4))
		x := make([]float32, 9*28*28)
		for i := range x {
			x[i] = rng.Float32()
		}
		if _, err := tr.Step(x, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}, 9); err != nil {
			t.Fatal(err)
		}
		return tr.SGD.Velocity
	}
	one, four := step(1), step(4)
	for k, v := range one {
		for i := range v {
			if v[i] != four[k][i] {
				t.Fatalf("%s[%d]: %v on one core, %v on four", k, i, v[i], four[k][i])
			}
		}
	}
}
