package zfnet

import (
	"bufio"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/graph"
	"github.com/zfnet/zfnet/nn"
)

// This file holds the pieces `zfnet bench` and the go test benchmarks share:
// a seeded model, a random batch, the FLOP count and a step timer. They
// time what ../shared/peer/torch_zfnet.py times, so the two can be compared.

// BenchModel builds the named architecture at its own input size with the
// given initialization and seed.
func BenchModel(arch string, init Init, seed int64) (*Model, error) {
	a, err := LookupArch(arch)
	if err != nil {
		return nil, err
	}
	m, err := New(a)
	if err != nil {
		return nil, err
	}
	if err := m.Initialize(init, seed); err != nil {
		return nil, err
	}
	return m, nil
}

// RandomBatch is a seeded batch of standard normal inputs (NCHW, like
// torch.randn) with labels drawn uniformly from the model's classes.
func RandomBatch(m *Model, batch int, seed int64) ([]float32, []int) {
	in := m.Arch.Input
	rng := rand.New(rand.NewSource(seed))
	x := make([]float32, batch*in[0]*in[1]*in[2])
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = rng.Intn(m.Arch.Classes)
	}
	return x, labels
}

// MultiplyAdds is the forward pass's multiply-adds per image: the sum of
// Table's column (convolutions and fully connected layers).
func (m *Model) MultiplyAdds() int64 {
	var n int64
	for _, r := range m.Table() {
		n += r.MultiplyAdds
	}
	return n
}

// ConvMultiplyAdds is the multiply-adds per image of the convolutions up to
// and including layer index top: what a deconvnet projection from there down
// to pixels costs in transposed convolutions.
func (m *Model) ConvMultiplyAdds(top int) int64 {
	var n int64
	for i, r := range m.Table() {
		if i > top {
			break
		}
		if _, ok := m.layers[i].(*nn.Conv2d); ok {
			n += r.MultiplyAdds
		}
	}
	return n
}

// BenchMode is what a benchmark step does.
type BenchMode string

const (
	// BenchTrain is one SGD step: forward with dropout, loss, backward and
	// the update. It costs about three forward passes.
	BenchTrain BenchMode = "train"
	// BenchForward is inference on a batch.
	BenchForward BenchMode = "forward"
	// BenchDeconv is a recording forward pass and one deconvnet projection
	// per image (package deconvnet; zfnet cannot import it).
	BenchDeconv BenchMode = "deconv"
)

// FLOPsPerItem is the floating point operations (2 per multiply-add) of one
// image (train, forward) or one projection from layer index top (deconv:
// the forward pass up to top that records the switches, as
// deconvnet.NewUpTo runs it, and the projection down, as many multiply-adds
// again).
func (m *Model) FLOPsPerItem(mode BenchMode, top int) float64 {
	fwd := 2 * float64(m.MultiplyAdds())
	switch mode {
	case BenchTrain:
		return 3 * fwd
	case BenchDeconv:
		return 4 * float64(m.ConvMultiplyAdds(top))
	}
	return fwd
}

// BenchResult is a timed run: Items (images or projections) processed in
// Elapsed, after the warm-up.
type BenchResult struct {
	Steps, Items int
	Elapsed      time.Duration
}

// PerSecond is the throughput.
func (r BenchResult) PerSecond() float64 { return float64(r.Items) / r.Elapsed.Seconds() }

// TimeSteps runs step warmup times untimed, then steps times timed; each
// step processes itemsPerStep items.
func TimeSteps(warmup, steps, itemsPerStep int, step func() error) (BenchResult, error) {
	if steps < 1 || warmup < 0 {
		return BenchResult{}, errors.Errorf("benchmark: %d steps after %d warm-up steps; expected at least 1 and 0", steps, warmup)
	}
	for i := 0; i < warmup; i++ {
		if err := step(); err != nil {
			return BenchResult{}, errors.Wrap(err, "warm-up step")
		}
	}
	start := time.Now()
	for i := 0; i < steps; i++ {
		if err := step(); err != nil {
			return BenchResult{}, errors.Wrapf(err, "step %d", i+1)
		}
	}
	return BenchResult{Steps: steps, Items: steps * itemsPerStep, Elapsed: time.Since(start)}, nil
}

// BenchTrainSteps times training steps on one random batch (the peer
// reuses one batch too), with the paper's recipe.
func BenchTrainSteps(m *Model, batch, warmup, steps int, seed int64) (BenchResult, error) {
	cfg := DefaultTrainConfig()
	cfg.Batch = batch
	tr, err := NewTrainer(m, cfg)
	if err != nil {
		return BenchResult{}, err
	}
	defer tr.Close()
	x, labels := RandomBatch(m, batch, seed)
	return TimeSteps(warmup, steps, batch, func() error {
		_, err := tr.Step(x, labels, batch)
		if err == ErrDiverged { // random labels at lr 1e-2 may; the work was done
			err = nil
		}
		return err
	})
}

// BenchForwardSteps times inference on one random batch.
func BenchForwardSteps(m *Model, batch, warmup, steps int, seed int64) (BenchResult, error) {
	p, err := NewPredictor(m, batch, false)
	if err != nil {
		return BenchResult{}, err
	}
	defer p.Close()
	x, _ := RandomBatch(m, batch, seed)
	return TimeSteps(warmup, steps, batch, func() error {
		_, err := p.Logits(x)
		return err
	})
}

// PeakRSSMB is the process's peak resident set (VmHWM) in MiB, or 0 where
// /proc is not available.
func PeakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}

// StrongestMaps returns, for each of the n images of a layer output act
// (n x c maps of equal size, NCHW or (n, c)), the map holding the image's
// largest activation: the choice of torch_zfnet.py's deconv mode, which then
// projects that map's strongest unit.
func StrongestMaps(act []float32, n, c int) []int {
	best := make([]int, n)
	if n == 0 || c == 0 {
		return best
	}
	hw := len(act) / (n * c)
	for i := range best {
		img := act[i*c*hw : (i+1)*c*hw]
		k, v := 0, img[0]
		for j, a := range img {
			if a > v {
				k, v = j/hw, a
			}
		}
		best[i] = k
	}
	return best
}

// BenchLayer is the BenchMode of `zfnet bench --mode layer`: one
// convolution alone.
const BenchLayer BenchMode = "layer"

// LayerRates is one convolution's achieved GFLOP/s (2 FLOPs per
// multiply-add of the direct convolution): the forward pass, and the
// backward pass (input and weight gradients, twice the forward FLOPs; the
// bias gradient rides along uncounted).
type LayerRates struct {
	Forward, Backward float64
	// Input and Output are the convolution's shapes (N, C, H, W).
	Input, Output [4]int
	FLOPs         float64 // of one forward pass of the batch
}

// BenchConvLayer times the named convolution of m alone on a random batch
// of inputs of its own shape (the shape the layer before it produces), as
// ../shared/peer/torch_zfnet.py's layer mode does: warmup untimed then steps
// timed forward passes, and the same for backward passes.
func BenchConvLayer(m *Model, layer string, batch, warmup, steps int, seed int64) (LayerRates, error) {
	l, i := m.Layer(layer)
	conv, ok := l.(*nn.Conv2d)
	if !ok {
		var names []string
		for _, l := range m.layers {
			if _, ok := l.(*nn.Conv2d); ok {
				names = append(names, l.Name())
			}
		}
		return LayerRates{}, errors.Errorf("layer %q is not a convolution of %s (its convolutions: %s)", layer, m.Arch.Name, strings.Join(names, ", "))
	}
	in := m.Arch.Input
	if i > 0 {
		in = m.shapes[i-1]
	}
	cb, err := graph.NewConvBench(batch, in[0], in[1], in[2], conv.Out, conv.Kernel, conv.Stride, conv.Pad, conv.GroupCount(), uint64(seed))
	if err != nil {
		return LayerRates{}, errors.Wrap(err, layer)
	}
	r := LayerRates{Input: [4]int{batch, in[0], in[1], in[2]}, Output: cb.Output(), FLOPs: cb.FLOPs()}
	fwd, err := TimeSteps(warmup, steps, 1, func() error { cb.Forward(); return nil })
	if err != nil {
		return r, err
	}
	bwd, err := TimeSteps(warmup, steps, 1, func() error { cb.Backward(); return nil })
	if err != nil {
		return r, err
	}
	r.Forward = fwd.PerSecond() * r.FLOPs / 1e9
	r.Backward = bwd.PerSecond() * 2 * r.FLOPs / 1e9
	return r, nil
}
