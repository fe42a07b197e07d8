package zfnet

import (
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFeaturesWriterResume: an interrupted .npy write continues at its last
// whole batch, and the finished files hold exactly what one uninterrupted
// write would.
func TestFeaturesWriterResume(t *testing.T) {
	dir := t.TempDir()
	const n, d, batch = 10, 3, 4
	rows := make([]float32, n*d)
	labels := make([]int, n)
	for i := range rows {
		rows[i] = float32(i) / 7
	}
	for i := range labels {
		labels[i] = i % 3
	}
	write := func(path string, resume bool, from, to int) *FeatureWriter {
		w, err := OpenFeatureWriter(path, path+".labels.npy", "job", n, d, batch, resume)
		if err != nil {
			t.Fatal(err)
		}
		for lo := max(from, w.Done); lo < to; lo += batch {
			hi := min(lo+batch, to)
			if err := w.Write(rows[lo*d:hi*d], labels[lo:hi]); err != nil {
				t.Fatal(err)
			}
		}
		return w
	}
	whole := filepath.Join(dir, "whole.npy")
	if err := write(whole, false, 0, n).Finish(); err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(dir, "part.npy")
	w := write(part, false, 0, 6) // one whole batch and half of the next
	w.Close()
	w = write(part, true, 0, 0)
	if w.Done != 4 {
		t.Fatalf("resume at row %d, want 4 (the last whole batch)", w.Done)
	}
	w.Close()
	w = write(part, true, 4, n)
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", ".labels.npy"} {
		a, _ := os.ReadFile(whole + s)
		b, _ := os.ReadFile(part + s)
		if len(a) == 0 || !slices.Equal(a, b) {
			t.Errorf("%s%s differs from the uninterrupted write", part, s)
		}
	}
	// Another job's partial files are not continued.
	w = write(filepath.Join(dir, "other.npy"), false, 0, 4)
	w.Close()
	w2, err := OpenFeatureWriter(filepath.Join(dir, "other.npy"), filepath.Join(dir, "other.npy.labels.npy"), "another job", n, d, batch, true)
	if err != nil {
		t.Fatal(err)
	}
	if w2.Done != 0 {
		t.Errorf("another job resumed at %d", w2.Done)
	}
	w2.Close()
}

// TestFeaturesLayers: every layer's output can be read; a missing layer is
// an error listing the model's; stage outputs skip dropout.
func TestFeaturesLayers(t *testing.T) {
	m := freezeModel(t)
	f, err := NewFeatureExtractor(m, 2, []string{"pool1", "relu6", "fc8"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !slices.Equal(f.Dims, []int{32 * 14 * 14, 256, 10}) {
		t.Errorf("dims %v", f.Dims)
	}
	x, _ := randomBatch(2, 1)
	out, err := f.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		if len(o) != 2*f.Dims[i] {
			t.Errorf("layer %s: %d values", f.Layers[i], len(o))
		}
	}
	p, err := NewPredictor(m, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	logits, err := p.Logits(x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(logits, out[2]) {
		t.Error("fc8 features are not the predictor's logits")
	}
	if _, err := NewFeatureExtractor(m, 2, []string{"fc9"}); err == nil || !strings.Contains(err.Error(), `no layer "fc9"`) {
		t.Errorf("missing layer: %v", err)
	}
	for layer, want := range map[string]string{"conv1": "pool1", "conv3": "relu3", "fc6": "relu6", "fc7": "relu7", "fc8": "fc8"} {
		if got, err := StageOutput(m, layer); err != nil || got != want {
			t.Errorf("StageOutput(%s) = %s, %v; want %s", layer, got, err, want)
		}
	}
}

// TestTransferLinearSeparable: the softmax classifier learns a linearly
// separable problem perfectly, whatever the feature scale.
func TestTransferLinearSeparable(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	const n, d, k = 300, 50, 3
	x := make([]float32, n*d)
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % k
		for j := 0; j < d; j++ {
			x[i*d+j] = float32(1000 * r.NormFloat64())
		}
		x[i*d+labels[i]] += 10000 // class c is large in feature c
	}
	c, err := TrainLinear(x, labels, d, k, DefaultLinearConfig())
	if err != nil {
		t.Fatal(err)
	}
	if acc, err := c.Accuracy(x, labels); err != nil || acc < 0.99 {
		t.Errorf("accuracy %v, %v", acc, err)
	}
	if _, err := TrainLinear(x, append([]int(nil), labels[:n-1]...), d, k, DefaultLinearConfig()); err == nil {
		t.Error("mismatched labels: no error")
	}
}
