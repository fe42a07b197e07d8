package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/graph"
	"github.com/zfnet/zfnet/nn"
	"github.com/zfnet/zfnet/zfnet"
)

func init() {
	register("bench", "time training, inference or deconvnet projection (like the PyTorch peer)", runBench)
}

func runBench(args []string) error {
	fs := newFlags("bench", "", "Times K steps after a warm-up on a seeded model and a random batch, and prints\n"+
		"  images_per_s=<float>            (train, forward; projections_per_s= for deconv)\n"+
		"  peak_rss_mb=<float> gflops=<float>\n"+
		"gflops is the achieved rate: multiply-adds from the layer table x 2, and x 3 for a\n"+
		"training step. deconv runs, per step, a recording forward pass of the batch, picks each\n"+
		"image's strongest activation at --layer (the strongest map, then its strongest unit) and\n"+
		"projects it to pixels in one ProjectTargets call: one projection per image, as\n"+
		"benchmarks/torch_zfnet.py deconv does for one image. layer times one convolution\n"+
		"(--layer convK) alone on a random batch of its input's shape and prints\n"+
		"  gflops_forward=<float> gflops_backward=<float>\n"+
		"(forward; input and weight gradients together), counting 2 FLOPs per multiply-add of\n"+
		"the direct convolution, as benchmarks/torch_zfnet.py layer does. Details go to stderr.")
	arch := fs.String("arch", "zfnet", "architecture: "+strings.Join(zfnet.ArchNames(), ", "))
	mode := fs.String("mode", "train", "train, forward, deconv or layer")
	batch := fs.Int("batch", 8, "batch size (deconv: images projected per call)")
	steps := fs.Int("steps", 5, "timed steps")
	warmup := fs.Int("warmup", 1, "untimed steps first")
	threads := fs.Int("threads", 0, "CPU threads (GOMAXPROCS; 0: all cores)")
	seed := fs.Int64("seed", 1, "seed for the weights and the random batch")
	init := fs.String("init", string(zfnet.InitPaper), "weight initialization: paper or he")
	layer := fs.String("layer", "", "deconv: layer projected from (default: the top of the convolutional stack, pool5 in zfnet, as the peer);\n"+
		"layer: the convolution timed (default conv4, as the peer)")
	profile := cpuProfileFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (all options are flags)", fs.Args())
	}
	switch {
	case *batch < 1:
		return fmt.Errorf("--batch must be at least 1, got %d", *batch)
	case *steps < 1:
		return fmt.Errorf("--steps must be at least 1, got %d", *steps)
	case *warmup < 0:
		return fmt.Errorf("--warmup must be at least 0, got %d", *warmup)
	case *threads < 0:
		return fmt.Errorf("--threads must be at least 0, got %d", *threads)
	case *mode != string(zfnet.BenchTrain) && *mode != string(zfnet.BenchForward) && *mode != string(zfnet.BenchDeconv) &&
		*mode != string(zfnet.BenchLayer):
		return fmt.Errorf("--mode %q: expected train, forward, deconv or layer", *mode)
	}
	setThreads(*threads)
	stopProfile, err := profile()
	if err != nil {
		return err
	}
	defer stopProfile()
	m, err := zfnet.BenchModel(*arch, zfnet.Init(*init), *seed)
	if err != nil {
		return err
	}
	if *mode == string(zfnet.BenchLayer) {
		if *layer == "" {
			*layer = "conv4"
		}
		r, err := zfnet.BenchConvLayer(m, *layer, *batch, *warmup, *steps, *seed)
		if err != nil {
			return err
		}
		fmt.Printf("gflops_forward=%.1f gflops_backward=%.1f\n", r.Forward, r.Backward)
		fmt.Fprintf(os.Stderr, "arch=%s mode=layer layer=%s input=%v output=%v batch=%d steps=%d warmup=%d threads=%d blas=%q gflop_forward=%.3f peak_rss_mb=%.1f\n",
			*arch, *layer, r.Input, r.Output, *batch, *steps, *warmup, runtime.GOMAXPROCS(0), graph.BLAS(), r.FLOPs/1e9, zfnet.PeakRSSMB())
		return nil
	}
	var res zfnet.BenchResult
	top := -1
	unit := "images_per_s"
	switch bm := zfnet.BenchMode(*mode); bm {
	case zfnet.BenchTrain:
		res, err = zfnet.BenchTrainSteps(m, *batch, *warmup, *steps, *seed)
	case zfnet.BenchForward:
		res, err = zfnet.BenchForwardSteps(m, *batch, *warmup, *steps, *seed)
	case zfnet.BenchDeconv:
		unit = "projections_per_s"
		if *layer == "" {
			*layer = convTop(m)
		}
		res, top, err = benchDeconv(m, *layer, *batch, *warmup, *steps, *seed)
	}
	if err != nil {
		return err
	}
	flops := m.FLOPsPerItem(zfnet.BenchMode(*mode), top)
	ps := res.PerSecond()
	fmt.Printf("%s=%.3f\n", unit, ps)
	fmt.Printf("peak_rss_mb=%.1f gflops=%.2f\n", zfnet.PeakRSSMB(), ps*flops/1e9)
	fmt.Fprintf(os.Stderr, "arch=%s mode=%s batch=%d steps=%d warmup=%d threads=%d blas=%q seconds=%.3f gflop_per_item=%.3f\n",
		*arch, *mode, *batch, *steps, *warmup, runtime.GOMAXPROCS(0), graph.BLAS(), res.Elapsed.Seconds(), flops/1e9)
	return nil
}

// convTop names the last layer before the first fully connected one: the
// output of the convolutional stack (pool5 in zfnet), where the peer's
// deconv mode starts.
func convTop(m *zfnet.Model) string {
	name := m.LayerAt(0).Name()
	for _, l := range m.Layers() {
		if _, ok := l.(*nn.Linear); ok {
			break
		}
		name = l.Name()
	}
	return name
}

// benchDeconv times, per step, a recording forward pass of the batch and the
// projection of every image's strongest activation at layer, chosen as the
// peer chooses it: the map with the largest maximum, then its largest unit.
// It returns the index of the projected layer, for the FLOP count.
func benchDeconv(m *zfnet.Model, layer string, batch, warmup, steps int, seed int64) (zfnet.BenchResult, int, error) {
	d, err := deconvnet.New(m, batch)
	if err != nil {
		return zfnet.BenchResult{}, -1, err
	}
	defer d.Close()
	x, _ := zfnet.RandomBatch(m, batch, seed)
	targets := make([]deconvnet.Target, batch)
	res, err := zfnet.TimeSteps(warmup, steps, batch, func() error {
		if _, err := d.Forward(x); err != nil {
			return err
		}
		act, err := d.Activation(layer)
		if err != nil {
			return err
		}
		s := act.Shape()
		for i, k := range zfnet.StrongestMaps(act.Data().([]float32), s[0], s[1]) {
			targets[i] = deconvnet.Target{Map: k, Strongest: true}
		}
		_, _, err = d.ProjectTargets(layer, targets, deconvnet.Options{Rule: deconvnet.Deconvnet})
		return err
	})
	_, top := m.Layer(layer)
	return res, top, err
}
