package zfnet

import (
	"math"
	"math/rand"
	"runtime"
	"testing"
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
		if s := m.shapes[i]; s[1] != size || s[2] != size {
			t.Errorf("%s: output %v, want %dx%d", name, s, size, size)
		}
	}
	if p := m.Param("fc6.weight"); p == nil || p.Value.Shape()[1] != 512*6*6 {
		t.Errorf("fc6.weight: want 4096 x 18432")
	}
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
// neither may leak into the next step). The first run's gradient is checked
// against independent values first (checkGradient), so the later runs are
// compared with a right answer, not only with each other.
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
			checkGradient(t, m, x, labels, tr.SGD.Velocity)
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

// ceLoss is the mean cross-entropy of the model on a batch, computed here in
// float64 from the inference graph's logits (no dropout), independently of
// the training graph's loss op.
func ceLoss(t *testing.T, p *Predictor, x []float32, labels []int) (float64, []float32) {
	t.Helper()
	z, err := p.Logits(x)
	if err != nil {
		t.Fatal(err)
	}
	k := p.Model.Arch.Classes
	var loss float64
	for n, l := range labels {
		zl := make([]float64, k)
		for c := range zl {
			zl[c] = float64(z[n*k+c])
		}
		loss -= logSoftmax(zl, l)
	}
	return loss / float64(len(labels)), z
}

// checkGradient compares a dropout-free model's gradient g (by parameter
// name) on one batch with two independent computations:
//   - the last layer's, by hand: d loss/d bias = mean over the batch of
//     softmax(z) - onehot(label), d loss/d W = the same outer the input of
//     the last layer (read from a recording inference graph);
//   - every parameter's, by central differences of the float64 loss above
//     along the gradient: L(w + e g) - L(w - e g) = 2 e |g|^2 to first order.
//
// Every parameter's gradient must also be non-zero: the loss reaches every
// layer.
func checkGradient(t *testing.T, m *Model, x []float32, labels []int, g map[string][]float32) {
	t.Helper()
	p, err := NewPredictor(m, len(labels), true)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	loss0, z := ceLoss(t, p, x, labels)
	last := m.layers[len(m.layers)-1].Name()              // fc8
	in, err := p.Output(m.layers[len(m.layers)-2].Name()) // the last hidden layer's output
	if err != nil {
		t.Fatal(err)
	}
	h := in.Data().([]float32)
	k, n := m.Arch.Classes, len(labels)
	d := len(h) / n
	gb, gw := make([]float64, k), make([]float64, k*d)
	for i, l := range labels {
		zl := make([]float64, k)
		for c := range zl {
			zl[c] = float64(z[i*k+c])
		}
		for c := 0; c < k; c++ {
			r := math.Exp(logSoftmax(zl, c))
			if c == l {
				r--
			}
			r /= float64(n)
			gb[c] += r
			for j := 0; j < d; j++ {
				gw[c*d+j] += r * float64(h[i*d+j])
			}
		}
	}
	for name, want := range map[string][]float64{last + ".bias": gb, last + ".weight": gw} {
		got := g[name]
		if len(got) != len(want) {
			t.Fatalf("%s: gradient has %d values, want %d", name, len(got), len(want))
		}
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-5+1e-3*math.Abs(want[i]) {
				t.Fatalf("%s[%d]: gradient %v, by hand %v", name, i, got[i], want[i])
			}
		}
	}
	for _, prm := range m.Params() {
		gp := g[prm.Name]
		var ss float64
		for _, v := range gp {
			ss += float64(v) * float64(v)
		}
		if !(ss > 0) {
			t.Errorf("%s: gradient norm %v; the loss does not reach this layer", prm.Name, math.Sqrt(ss))
			continue
		}
		w := prm.Data()
		orig := append([]float32(nil), w...)
		e := 2e-3 / ss // a loss change of about 4e-3 either way
		step := func(sign float64) float64 {
			for i := range w {
				w[i] = orig[i] + float32(sign*e*float64(gp[i]))
			}
			l, _ := ceLoss(t, p, x, labels)
			return l
		}
		diff := step(1) - step(-1)
		copy(w, orig)
		if want := 2 * e * ss; math.Abs(diff-want) > 0.05*want {
			t.Errorf("%s: L(w+eg) - L(w-eg) = %.4g, the gradient predicts %.4g", prm.Name, diff, want)
		}
	}
	if l, _ := ceLoss(t, p, x, labels); l != loss0 {
		t.Fatalf("the weights were not restored: loss %v, was %v", l, loss0)
	}
}

// TestPaperInitLoss: at the paper's N(0, 0.01^2) init with zero biases the
// logits are nearly zero, so the first step's loss is ln(classes) to within
// 0.01 (a loss far from it means a wrong init scale or a wrong loss).
func TestPaperInitLoss(t *testing.T) {
	a, _ := LookupArch("zfnet-small")
	m, _ := New(a)
	if err := m.Initialize(InitPaper, 3); err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, TrainConfig{Batch: 8, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	rng := rand.New(rand.NewSource(5))
	x := make([]float32, 8*28*28)
	for i := range x {
		x[i] = rng.Float32()
	}
	r, err := tr.Step(x, []int{0, 1, 2, 3, 4, 5, 6, 7}, 8)
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Log(10); math.Abs(r.Loss-want) > 0.01 {
		t.Errorf("loss %.5f at the paper's init, want ln 10 = %.5f within 0.01", r.Loss, want)
	}
}
