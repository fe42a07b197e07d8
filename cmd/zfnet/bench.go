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

// benchAbout is the help text of `zfnet bench`: what is timed and the
// lines printed, which the benchmark scripts parse.
const benchAbout = "Times K steps after a warm-up on a seeded model and a random batch, and prints\n" +
	"  images_per_s=<float>            (train, forward; projections_per_s= for deconv)\n" +
	"  peak_rss_mb=<float> gflops=<float>\n" +
	"gflops is the achieved rate: multiply-adds from the layer table x 2, and x 3 for a\n" +
	"training step. deconv runs, per step, a recording forward pass of the batch up to --layer\n" +
	"(no layer above it, as the peer), picks each\n" +
	"image's strongest activation at --layer (the strongest map, then its strongest unit) and\n" +
	"projects it to pixels in one ProjectTargets call: one projection per image, as\n" +
	"benchmarks/torch_zfnet.py deconv does for one image. layer times one convolution\n" +
	"(--layer convK) alone on a random batch of its input's shape and prints\n" +
	"  gflops_forward=<float> gflops_backward=<float>\n" +
	"(forward; input and weight gradients together), counting 2 FLOPs per multiply-add of\n" +
	"the direct convolution, as benchmarks/torch_zfnet.py layer does. Details go to stderr."

// benchFlags are the flags of `zfnet bench`.
type benchFlags struct {
	arch, mode, init, layer       string
	batch, steps, warmup, threads int
	seed                          int64
	profile                       func() (func(), error)
}

// parseBenchFlags defines and parses the flags of `zfnet bench` and checks
// them.
func parseBenchFlags(args []string) (*benchFlags, error) {
	f := &benchFlags{}
	fs := newFlags("bench", "", benchAbout)
	fs.StringVar(&f.arch, "arch", "zfnet", "architecture: "+strings.Join(zfnet.ArchNames(), ", "))
	fs.StringVar(&f.mode, "mode", "train", "train, forward, deconv or layer")
	fs.IntVar(&f.batch, "batch", 8, "batch size (deconv: images projected per call)")
	fs.IntVar(&f.steps, "steps", 5, "timed steps")
	fs.IntVar(&f.warmup, "warmup", 1, "untimed steps first")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads (GOMAXPROCS; 0: all cores)")
	fs.Int64Var(&f.seed, "seed", 1, "seed for the weights and the random batch")
	fs.StringVar(&f.init, "init", string(zfnet.InitPaper), "weight initialization: paper or he")
	fs.StringVar(&f.layer, "layer", "", "deconv: layer projected from (default: the top of the convolutional stack, pool5 in zfnet, as the peer);\n"+
		"layer: the convolution timed (default conv4, as the peer)")
	f.profile = cpuProfileFlag(fs)
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (all options are flags)", fs.Args())
	}
	return f, f.check()
}

// check validates the counts and --mode.
func (f *benchFlags) check() error {
	switch {
	case f.batch < 1:
		return fmt.Errorf("--batch must be at least 1, got %d", f.batch)
	case f.steps < 1:
		return fmt.Errorf("--steps must be at least 1, got %d", f.steps)
	case f.warmup < 0:
		return fmt.Errorf("--warmup must be at least 0, got %d", f.warmup)
	case f.threads < 0:
		return fmt.Errorf("--threads must be at least 0, got %d", f.threads)
	case f.mode != string(zfnet.BenchTrain) && f.mode != string(zfnet.BenchForward) && f.mode != string(zfnet.BenchDeconv) &&
		f.mode != string(zfnet.BenchLayer):
		return fmt.Errorf("--mode %q: expected train, forward, deconv or layer", f.mode)
	}
	return nil
}

// runBench times a seeded model (`zfnet bench`): one convolution for
// --mode layer, whole steps otherwise.
func runBench(args []string) error {
	f, err := parseBenchFlags(args)
	if err != nil {
		return err
	}
	setThreads(f.threads)
	stopProfile, err := f.profile()
	if err != nil {
		return err
	}
	defer stopProfile()
	m, err := zfnet.BenchModel(f.arch, zfnet.Init(f.init), f.seed)
	if err != nil {
		return err
	}
	if f.mode == string(zfnet.BenchLayer) {
		return f.benchLayer(m)
	}
	return f.benchSteps(m)
}

// benchLayer times one convolution, --layer (default conv4), forward and
// backward, and prints its GFLOP/s (details to stderr).
func (f *benchFlags) benchLayer(m *zfnet.Model) error {
	layer := f.layer
	if layer == "" {
		layer = "conv4"
	}
	r, err := zfnet.BenchConvLayer(m, layer, f.batch, f.warmup, f.steps, f.seed)
	if err != nil {
		return err
	}
	fmt.Printf("gflops_forward=%.1f gflops_backward=%.1f\n", r.Forward, r.Backward)
	fmt.Fprintf(os.Stderr, "arch=%s mode=layer layer=%s input=%v output=%v batch=%d steps=%d warmup=%d threads=%d blas=%q gflop_forward=%.3f peak_rss_mb=%.1f\n",
		f.arch, layer, r.Input, r.Output, f.batch, f.steps, f.warmup, runtime.GOMAXPROCS(0), graph.BLAS(), r.FLOPs/1e9, zfnet.PeakRSSMB())
	return nil
}

// benchSteps times whole steps of --mode train, forward or deconv and
// prints the rate, the peak memory and the achieved GFLOP/s (details to
// stderr). deconv projects from --layer, by default the top of the
// convolutional stack, and its FLOPs count up to that layer only.
func (f *benchFlags) benchSteps(m *zfnet.Model) error {
	var res zfnet.BenchResult
	var err error
	top := -1
	unit := "images_per_s"
	switch bm := zfnet.BenchMode(f.mode); bm {
	case zfnet.BenchTrain:
		res, err = zfnet.BenchTrainSteps(m, f.batch, f.warmup, f.steps, f.seed)
	case zfnet.BenchForward:
		res, err = zfnet.BenchForwardSteps(m, f.batch, f.warmup, f.steps, f.seed)
	case zfnet.BenchDeconv:
		unit = "projections_per_s"
		layer := f.layer
		if layer == "" {
			layer = convTop(m)
		}
		res, top, err = benchDeconv(m, layer, f.batch, f.warmup, f.steps, f.seed)
	}
	if err != nil {
		return err
	}
	flops := m.FLOPsPerItem(zfnet.BenchMode(f.mode), top)
	ps := res.PerSecond()
	fmt.Printf("%s=%.3f\n", unit, ps)
	fmt.Printf("peak_rss_mb=%.1f gflops=%.2f\n", zfnet.PeakRSSMB(), ps*flops/1e9)
	fmt.Fprintf(os.Stderr, "arch=%s mode=%s batch=%d steps=%d warmup=%d threads=%d blas=%q seconds=%.3f gflop_per_item=%.3f\n",
		f.arch, f.mode, f.batch, f.steps, f.warmup, runtime.GOMAXPROCS(0), graph.BLAS(), res.Elapsed.Seconds(), flops/1e9)
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
	d, err := deconvnet.NewUpTo(m, batch, layer) // as the peer: no layer above it runs
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
