package zfnet

import (
	"flag"
	"math"
	"strings"
	"testing"
)

// Benchmarks of the training step and inference, in the units the PyTorch
// peer reports (images/s, as a custom metric). Compare runs with benchstat:
//
//	go test ./zfnet -run '^$' -bench 'TrainStepSmall|ForwardZFNet' -count 6 > new.txt
//	go test ./zfnet -run '^$' -bench TrainStepZFNet -count 3   # slow: named explicitly
//
// `zfnet bench` and benchmarks/run.sh time the same steps from the command line.

// explicitlySelected says whether the -bench pattern names the benchmark,
// so that `-bench .` skips the slowest ones.
func explicitlySelected(name string) bool {
	f := flag.Lookup("test.bench")
	return f != nil && strings.Contains(f.Value.String(), name)
}

func benchTrain(b *testing.B, arch string, batch int) {
	m, err := BenchModel(arch, InitPaper, 1)
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultTrainConfig()
	cfg.Batch = batch
	tr, err := NewTrainer(m, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	x, labels := RandomBatch(m, batch, 1)
	if _, err := tr.Step(x, labels, batch); err != nil { // warm-up: buffers, velocities
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tr.Step(x, labels, batch); err != nil && err != ErrDiverged {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRates(b, m.FLOPsPerItem(BenchTrain, -1), batch)
}

func reportRates(b *testing.B, flopsPerItem float64, batch int) {
	s := b.Elapsed().Seconds()
	if s <= 0 {
		return
	}
	items := float64(b.N * batch)
	b.ReportMetric(items/s, "images/s")
	b.ReportMetric(items*flopsPerItem/s/1e9, "GFLOP/s")
}

// BenchmarkTrainStepSmall is one SGD step of zfnet-small on a batch of 128
// 28x28 images: the default `zfnet train` run's step.
func BenchmarkTrainStepSmall(b *testing.B) { benchTrain(b, "zfnet-small", 128) }

// BenchmarkTrainStepZFNet is one SGD step of the 224x224 zfnet at batch 8,
// the training measure. It takes seconds per step and runs only
// when -bench names it.
func BenchmarkTrainStepZFNet(b *testing.B) {
	if !explicitlySelected("TrainStepZFNet") {
		b.Skip("slow: run with -bench TrainStepZFNet")
	}
	benchTrain(b, "zfnet", 8)
}

// BenchmarkForwardZFNet is inference of the 224x224 zfnet at batch 8.
func BenchmarkForwardZFNet(b *testing.B) {
	const batch = 8
	m, err := BenchModel("zfnet", InitPaper, 1)
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPredictor(m, batch, false)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	x, _ := RandomBatch(m, batch, 1)
	if _, err := p.Logits(x); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Logits(x); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRates(b, m.FLOPsPerItem(BenchForward, -1), batch)
}

// TestZFNetForwardBackward runs the full-size network once through the
// training graph, forward and backward, at batch 2: the loss and every
// gradient must be finite, and the classifier's must not vanish.
func TestZFNetForwardBackward(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size network: a few seconds and about 1.6 GB")
	}
	const batch = 2
	m, err := BenchModel("zfnet", InitPaper, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultTrainConfig()
	cfg.Batch = batch
	tr, err := NewTrainer(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	x, labels := RandomBatch(m, batch, 1)
	if err := fillBatch(tr.x, tr.targets, x, labels, batch, m.Arch.Classes); err != nil {
		t.Fatal(err)
	}
	if err := tr.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	defer tr.vm.Reset()
	loss, err := scalar(tr.lossVal)
	if err != nil {
		t.Fatal(err)
	}
	// 1000 classes and near-zero logits at the paper's init: ln 1000 within 0.01.
	if math.IsNaN(loss) || math.IsInf(loss, 0) || loss <= 0 {
		t.Fatalf("loss %v: want finite and positive", loss)
	}
	if want := math.Log(1000); math.Abs(loss-want) > 0.01 {
		t.Errorf("loss %.4f: want ln 1000 = %.4f within 0.01 at the paper's N(0, 0.01^2) init", loss, want)
	}
	if len(tr.params) != 2*(len(m.Arch.Convs)+len(m.Arch.FCs)) {
		t.Fatalf("%d parameters have gradients, want %d", len(tr.params), 2*(len(m.Arch.Convs)+len(m.Arch.FCs)))
	}
	for i, p := range tr.params {
		g, err := tr.nodes[i].Grad()
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		gd := g.Data().([]float32)
		if len(gd) != len(p.Data()) {
			t.Fatalf("%s: gradient has %d values, the parameter %d", p.Name, len(gd), len(p.Data()))
		}
		var ss float64
		for j, v := range gd {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%s: gradient[%d] = %v", p.Name, j, v)
			}
			ss += float64(v) * float64(v)
		}
		t.Logf("%-12s |grad| = %.3g", p.Name, math.Sqrt(ss))
		if strings.HasPrefix(p.Name, "fc8") && ss == 0 {
			t.Errorf("%s: gradient is zero; the loss does not reach the classifier", p.Name)
		}
	}
}

// TestBenchConvLayer: layer mode times a convolution of the model at its
// own input shape, and names the convolutions when asked for another layer.
func TestBenchConvLayer(t *testing.T) {
	m, err := BenchModel("zfnet-small", InitHe, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := BenchConvLayer(m, "conv2", 2, 0, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, i := m.Layer("conv2")
	in, out := m.shapes[i-1], m.shapes[i]
	if r.Input != [4]int{2, in[0], in[1], in[2]} || r.Output != [4]int{2, out[0], out[1], out[2]} {
		t.Errorf("shapes %v -> %v, want input %v output %v at batch 2", r.Input, r.Output, in, out)
	}
	if want := 2 * 2 * float64(m.Table()[i].MultiplyAdds); r.FLOPs != want {
		t.Errorf("FLOPs %v, want %v (2 per multiply-add of the table, 2 images)", r.FLOPs, want)
	}
	if !(r.Forward > 0) || !(r.Backward > 0) || math.IsInf(r.Forward, 0) || math.IsInf(r.Backward, 0) {
		t.Errorf("rates %v / %v GFLOP/s: want finite and positive", r.Forward, r.Backward)
	}
	if _, err := BenchConvLayer(m, "pool1", 2, 0, 1, 1); err == nil || !strings.Contains(err.Error(), "conv1") {
		t.Errorf("pool1: error %v, want one naming the convolutions", err)
	}
}
