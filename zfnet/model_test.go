package zfnet

import (
	"math/rand"
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
