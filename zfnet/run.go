package zfnet

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
)

// RunConfig is a training run: data, architecture and recipe. The zero
// value is not useful; start from DefaultRunConfig.
type RunConfig struct {
	Data, Arch  string
	Epochs      int
	Batch       int
	LR          float64
	LRFactor    float64 // the learning rate is multiplied by this on a plateau
	Patience    int     // epochs without a better validation loss before annealing
	MinLR       float64
	Momentum    float64
	WeightDecay float64
	// FilterRadius bounds the RMS of every convolution filter (the paper's
	// 0.1); 0 turns renormalization off; negative takes the architecture's
	// (Arch.FilterRadius).
	FilterRadius float64
	Dropout      float64 // fc6/fc7 dropout probability
	Init         Init
	Seed         int64
	ValFraction  float64 // share of training held out for validation
	PadCrop      int     // small images: random crops from a picture padded this much
	Flip         bool
	// Pipeline is how pictures become inputs: "small" (each picture resized
	// whole to the input size) or "imagenet" (shorter side resized, centre
	// square, crops of the input size); "" or "auto" decides from the data
	// set as a whole (DecideInput), and a run records the decision here.
	// Runs from before the field have "", which Preprocessing reads the way
	// they were trained (by input size).
	Pipeline string `json:",omitempty"`
	// InputSize, when positive, asks for square inputs of this side instead
	// of deciding from the data.
	InputSize int   `json:",omitempty"`
	Snapshots []int // epochs whose weights are kept, for feature evolution (0: the initial weights)
	Out       string
	Workers   int
	SkipBad   bool
	// TrainLimit and EvalLimit, when positive, use only the first examples
	// of the training and of the validation and test sets (tests, quick looks).
	TrainLimit, EvalLimit int
	// InitFrom starts the run from the weights of a file Import reads (or a
	// checkpoint, or a run folder) instead of a random initialization. With
	// Arch empty the file's architecture is used. The last layer is
	// re-initialized when the class count or the class names differ.
	InitFrom string `json:",omitempty"`
	// Freeze lists layers that do not learn: names and ranges in layer
	// order ("conv1-fc7"; see ResolveLayers).
	Freeze string `json:",omitempty"`
	// LRScale multiplies the learning rate per layer: "fc8=10,conv1-conv5=0.1".
	LRScale string `json:",omitempty"`
}

// DefaultRunConfig is the paper's recipe applied to zfnet-small on MNIST,
// sized to finish on a 2-core machine within 15 minutes.
func DefaultRunConfig() RunConfig {
	return RunConfig{
		Data: "mnist", Arch: "zfnet-small", Epochs: 12, Batch: 128,
		LR: 0.01, LRFactor: 0.1, Patience: 0, MinLR: 1e-5, Momentum: 0.9, WeightDecay: 5e-4,
		FilterRadius: -1, Dropout: 0.5, Init: InitHe, Seed: 1, ValFraction: 1.0 / 12, PadCrop: 2,
		Snapshots: []int{0, 1, 2, 5, 10, 20, 30, 40, 64}, Out: "runs/zfnet-small-mnist",
	}
}

// EpochMetrics is one row of metrics.csv.
type EpochMetrics struct {
	Epoch                     int
	TrainLoss, TrainAcc       float64
	ValLoss, ValTop1, ValTop5 float64
	LR, ImagesPerSec, Seconds float64
}

// Progress is reported after every training step.
type Progress struct {
	Epoch, Epochs, Batch, Batches int
	Loss, Acc                     float64 // running means over the epoch
	ImagesPerSec                  float64
	ETA                           time.Duration // to the end of the epoch
}

// Hooks receive a run's progress; any may be nil.
type Hooks struct {
	Step  func(Progress)
	Epoch func(EpochMetrics)
	Logf  func(format string, args ...any)
}

func (h Hooks) logf(format string, args ...any) {
	if h.Logf != nil {
		h.Logf(format, args...)
	}
}

// ErrInterrupted is returned when the context is cancelled (SIGINT,
// SIGTERM): the step in flight finished and a checkpoint was written.
var ErrInterrupted = errors.New("interrupted: checkpoint written; continue with --resume")

// Run files in a run folder.
const (
	CheckpointFile = "checkpoint.npz"
	WeightsFile    = "weights.npz"
	MetricsFile    = "metrics.csv"
	CurveFile      = "training-curve.png"
	MeanFile       = "mean.npy"
	SummaryFile    = "summary.json"
)

// Train runs (or, with resume, continues) a training run in cfg.Out and
// returns its test-set evaluation. A killed run continues from its last
// checkpoint exactly: same batches, same dropout masks, same weights.
//
// Everything that can be checked is checked before the run folder is
// created (the configuration, the architecture, the data set and its
// classes, the input geometry), and a new run that fails before its first
// checkpoint removes the folder it created: a failed call leaves nothing
// behind.
func Train(ctx context.Context, cfg RunConfig, resume bool, hooks Hooks) (*EvalResult, error) {
	ckPath := filepath.Join(cfg.Out, CheckpointFile)
	var ck *Checkpoint
	var err error
	switch {
	case resume:
		if ck, err = LoadCheckpoint(ckPath); err != nil {
			return nil, errors.Wrapf(err, "resuming %s", cfg.Out)
		}
		// The checkpoint's configuration wins, except where the run folder
		// now is, how many decoding goroutines to use, and (when cfg.Epochs
		// asks for more than the run had) how far to go.
		epochs, out, workers := cfg.Epochs, cfg.Out, cfg.Workers
		cfg = ck.State.Config
		cfg.Out, cfg.Workers = out, workers
		if epochs > cfg.Epochs {
			cfg.Epochs = epochs
		}
		ck.State.Config = cfg
	case fileExists(ckPath):
		return nil, errors.Errorf("%s already holds a run (%s): continue it with --resume or choose another --out", cfg.Out, CheckpointFile)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var init *initSource
	if ck == nil && cfg.InitFrom != "" {
		if init, err = openInitSource(cfg.InitFrom, cfg.Arch); err != nil {
			return nil, err
		}
		if cfg.Arch == "" {
			cfg.Arch = init.Model.Arch.Name
		}
	}
	set, err := data.Open(cfg.Data, data.OpenOptions{ValFraction: cfg.ValFraction, Seed: cfg.Seed, Policy: cfg.policy()})
	if err != nil {
		return nil, err
	}
	if err := set.CheckTrainable(); err != nil {
		return nil, err
	}
	train, test := limit(set.Train, cfg.TrainLimit), limit(set.Test, cfg.EvalLimit)
	val := test
	if set.Val != nil {
		val = limit(set.Val, cfg.EvalLimit)
	}
	if ck != nil {
		hooks.logf("resuming %s (%s on %s, %d epochs) at epoch %d, batch %d (step %d)", cfg.Out, cfg.Arch, cfg.Data,
			cfg.Epochs, ck.State.Epoch+1, ck.State.Batch, ck.State.Step)
		hooks.logf("input: %s", DescribeInput(ck.Model.Arch, cfg))
		return runEpochs(ctx, ck, train, val, test, hooks)
	}
	var in *InputDecision
	if init != nil {
		in, err = init.decide(set, cfg)
	} else {
		in, err = DecideInput(cfg.Arch, set, cfg)
	}
	if err != nil {
		return nil, err
	}
	cfg = in.Config
	hooks.logf("training %s on %s for %d epochs into %s", cfg.Arch, cfg.Data, cfg.Epochs, cfg.Out)
	hooks.logf("input: %s; %s", DescribeInput(in.Arch, cfg), in.Why)
	// The model is built before the folder exists: an input geometry the
	// architecture cannot take fails here.
	m, err := New(in.Arch)
	if err != nil {
		return nil, errors.Wrapf(err, "%s with %s inputs", cfg.Arch, DescribeInput(in.Arch, cfg))
	}
	frozen, _, err := cfg.layerChoices(m)
	if err != nil {
		return nil, err
	}
	var reinit bool
	if init != nil {
		if reinit, err = init.check(m, set.Classes, frozen); err != nil {
			return nil, err
		}
	}
	created := !fileExists(cfg.Out)
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, errors.Wrapf(err, "creating run folder %s", cfg.Out)
	}
	ck, err = newRun(cfg, m, in.Pre, train, hooks)
	if err == nil && init != nil {
		init.copyInto(m, reinit)
		hooks.logf("%s", init.describe(m, reinit, frozen))
	}
	if err == nil && ck.Mean != nil {
		err = ck.Mean.SaveNpy(filepath.Join(cfg.Out, MeanFile))
	}
	if err == nil {
		// The initial state is the first good checkpoint: a run that
		// diverges or is killed in its first epoch can restart from it.
		err = ck.Save(ckPath)
	}
	if err != nil {
		if created {
			os.RemoveAll(cfg.Out) // nothing of a run that never started is left behind
		}
		return nil, err
	}
	if slices.Contains(cfg.Snapshots, 0) {
		if err := saveSnapshot(cfg, ck.Model, 0); err != nil {
			return nil, err
		}
	}
	return runEpochs(ctx, ck, train, val, test, hooks)
}

// limit keeps the first n examples of src (all when n <= 0).
func limit(src data.Source, n int) data.Source {
	if n <= 0 || n >= src.Len() {
		return src
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return data.Subset(src, fmt.Sprintf("%s[:%d]", src.Name(), n), idx)
}

func (cfg RunConfig) policy() data.BadFilePolicy {
	if cfg.SkipBad {
		return data.SkipBad
	}
	return data.FailOnBad
}

func (cfg RunConfig) validate() error {
	switch {
	case cfg.Epochs < 1:
		return errors.Errorf("epochs must be at least 1, got %d", cfg.Epochs)
	case cfg.Batch < 1:
		return errors.Errorf("batch must be at least 1, got %d", cfg.Batch)
	case !(cfg.LR > 0):
		return errors.Errorf("learning rate must be positive, got %g", cfg.LR)
	case cfg.Momentum < 0 || cfg.Momentum >= 1:
		return errors.Errorf("momentum must be in [0, 1), got %g", cfg.Momentum)
	case cfg.WeightDecay < 0:
		return errors.Errorf("weight decay must be >= 0, got %g", cfg.WeightDecay)
	case cfg.Dropout < 0 || cfg.Dropout >= 1:
		return errors.Errorf("dropout must be in [0, 1), got %g", cfg.Dropout)
	case cfg.LRFactor <= 0 || cfg.LRFactor > 1:
		return errors.Errorf("lr factor must be in (0, 1], got %g", cfg.LRFactor)
	case cfg.Patience < 0:
		return errors.Errorf("patience must be >= 0, got %d", cfg.Patience)
	case cfg.MinLR < 0:
		return errors.Errorf("minimum learning rate must be >= 0, got %g", cfg.MinLR)
	case cfg.ValFraction < 0 || cfg.ValFraction >= 1:
		return errors.Errorf("validation fraction must be in [0, 1), got %g", cfg.ValFraction)
	case cfg.PadCrop < 0:
		return errors.Errorf("crop padding must be >= 0, got %d", cfg.PadCrop)
	case cfg.Init != InitPaper && cfg.Init != InitHe:
		return errors.Errorf("unknown initialization %q: expected %q or %q", cfg.Init, InitPaper, InitHe)
	case cfg.Pipeline != "" && cfg.Pipeline != "auto" && cfg.Pipeline != PipelineSmall && cfg.Pipeline != PipelineImageNet:
		return errors.Errorf("unknown pipeline %q: expected auto, %s or %s", cfg.Pipeline, PipelineSmall, PipelineImageNet)
	case cfg.InputSize < 0 || cfg.InputSize > 4096:
		return errors.Errorf("input size must be between 1 and 4096 pixels (0: from the data), got %d", cfg.InputSize)
	}
	for _, e := range cfg.Snapshots {
		if e < 0 {
			return errors.Errorf("snapshot epochs must be >= 0, got %d", e)
		}
	}
	if cfg.InitFrom != "" {
		return nil // the architecture comes from the file, or must fit it
	}
	_, err := LookupArch(cfg.Arch)
	return err
}

// layerChoices resolves Freeze and LRScale against the model.
func (cfg RunConfig) layerChoices(m *Model) (frozen []string, scale map[string]float64, err error) {
	if cfg.Freeze != "" {
		if frozen, err = ResolveLayers(m, cfg.Freeze); err != nil {
			return nil, nil, errors.Wrap(err, "--freeze")
		}
		if err := checkTrainable(m, frozen); err != nil {
			return nil, nil, errors.Wrapf(err, "--freeze %s", cfg.Freeze)
		}
	}
	if cfg.LRScale != "" {
		if scale, err = ParseLRScale(m, []string{cfg.LRScale}); err != nil {
			return nil, nil, err
		}
		for l := range scale {
			if slices.Contains(frozen, l) {
				return nil, nil, errors.Errorf("--lr-scale %s: %s is frozen (--freeze %s)", cfg.LRScale, l, cfg.Freeze)
			}
		}
	}
	return frozen, scale, nil
}

// newSGD is the run's solver at learning rate lr, with fresh velocities.
func (cfg RunConfig) newSGD(lr float64) *SGD {
	return &SGD{LR: lr, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay, FilterRadius: cfg.FilterRadius, Velocity: map[string][]float32{}}
}

// The input pipelines (RunConfig.Pipeline).
const (
	PipelineSmall    = "small"
	PipelineImageNet = "imagenet"
)

// sizeScanLimit bounds how many pictures DecideInput reads the headers of
// (evenly spaced over the set; all of them in sets up to this size).
const sizeScanLimit = 2000

// smallInput is the largest side the small pipeline takes pictures at their
// native size (MNIST's 28, CIFAR's 32, up to 64).
const smallInput = 64

// InputDecision is how a run's pictures become model inputs, decided once,
// from the data set as a whole (or from Pipeline and InputSize), and used
// by the mean pass, the loaders, evaluation, prediction and visualization
// alike: they all call Preprocessing(Arch, Config).
type InputDecision struct {
	Arch   Arch      // the architecture with the input geometry and the class count
	Config RunConfig // the run's configuration with Pipeline decided
	Pre    data.Preprocess
	Sizes  data.SizeSummary
	Why    string // one line for the log
}

// DecideInput fits the named architecture to a data set. With Pipeline
// and InputSize left to the data ("" or "auto", 0):
//
//   - pictures that all share one size of at most 64x64 (MNIST, CIFAR) are
//     taken at that size, with their own channels;
//   - otherwise a small architecture (input at most 64x64) takes every
//     picture resized whole to its own input size, with 3 channels when
//     any picture has colour;
//   - otherwise (a 224 architecture on photographs) the paper's ImageNet
//     pipeline at the architecture's own input.
//
// The sizes come from every picture's header (or sizeScanLimit evenly
// spaced ones), EXIF orientation included, never from one picture.
func DecideInput(name string, set *data.Set, cfg RunConfig) (*InputDecision, error) {
	a, err := LookupArch(name)
	if err != nil {
		return nil, err
	}
	return decideInput(a, name, set, cfg)
}

func decideInput(a Arch, name string, set *data.Set, cfg RunConfig) (*InputDecision, error) {
	sizes, err := data.ScanSizes(set.Train, sizeScanLimit)
	if err != nil {
		return nil, errors.Wrapf(err, "reading the picture sizes of %s", set.Name)
	}
	own := a.Input
	smallArch := own[1] <= smallInput && own[2] <= smallInput
	chans := own[0]
	if smallArch {
		chans = sizes.Channels()
	}
	nativeSmall := sizes.Uniform && sizes.MaxW <= smallInput && sizes.MaxH <= smallInput
	kind := cfg.Pipeline
	if kind == "auto" {
		kind = ""
	}
	var c, h, w int
	var why string
	switch {
	case cfg.InputSize > 0:
		c, h, w = chans, cfg.InputSize, cfg.InputSize
		if kind == "" {
			kind = PipelineSmall
			if cfg.InputSize > smallInput {
				kind = PipelineImageNet
			}
		}
		why = fmt.Sprintf("%dx%d from --input-size; pictures %v", w, h, sizes)
	case kind == PipelineImageNet:
		c, h, w = chans, own[1], own[2]
		why = fmt.Sprintf("%s's own input size with --pipeline imagenet; pictures %v", name, sizes)
	case nativeSmall || (kind == PipelineSmall && sizes.Uniform):
		kind = PipelineSmall
		c, h, w = sizes.Channels(), sizes.MaxH, sizes.MaxW
		why = fmt.Sprintf("the pictures' own size: %v", sizes)
	case kind == PipelineSmall || smallArch:
		kind = PipelineSmall
		c, h, w = chans, own[1], own[2]
		why = fmt.Sprintf("pictures %v, each resized whole to %s's %dx%d (--input-size and --pipeline choose otherwise)", sizes, name, own[2], own[1])
	default:
		kind = PipelineImageNet
		c, h, w = own[0], own[1], own[2]
		why = fmt.Sprintf("pictures %v; the paper's ImageNet pipeline at %s's own input", sizes, name)
	}
	a = a.WithInput(c, h, w, len(set.Classes))
	if cfg.Dropout >= 0 {
		a = a.WithDropout(cfg.Dropout)
	}
	cfg.Pipeline = kind
	pre := Preprocessing(a, cfg)
	if err := pre.Validate(); err != nil {
		return nil, err
	}
	return &InputDecision{Arch: a, Config: cfg, Pre: pre, Sizes: sizes, Why: why}, nil
}

// ArchFor fits a named architecture to a data set as DecideInput does with
// the pipeline left to the data; dropout < 0 keeps the architecture's.
// The preprocessing returned is the test-time one.
func ArchFor(name string, set *data.Set, dropout float64) (Arch, data.Preprocess, error) {
	d, err := DecideInput(name, set, RunConfig{Dropout: dropout})
	if err != nil {
		a, _ := LookupArch(name)
		return a, data.Preprocess{}, err
	}
	return d.Arch, d.Pre, nil
}

// DescribeInput says in a few words how pictures become inputs of a:
// "1x28x28, small pipeline (each picture resized whole)".
func DescribeInput(a Arch, cfg RunConfig) string {
	p := Preprocessing(a, cfg)
	if p.Kind == data.ImageNet {
		return fmt.Sprintf("%v, imagenet pipeline (shorter side to %d, centre square, %dx%d crops)", p.Geometry, p.Resize, p.Geometry.W, p.Geometry.H)
	}
	return fmt.Sprintf("%v, small pipeline (each picture resized whole to %dx%d)", p.Geometry, p.Geometry.W, p.Geometry.H)
}

// newRun initializes a model and computes the training mean.
func newRun(cfg RunConfig, m *Model, pre data.Preprocess, train data.Source, hooks Hooks) (*Checkpoint, error) {
	a := m.Arch
	if cfg.FilterRadius < 0 {
		cfg.FilterRadius = a.FilterRadius
	}
	if err := m.Initialize(cfg.Init, cfg.Seed); err != nil {
		return nil, err
	}
	state := TrainState{Config: cfg, Arch: a, ClassNames: append([]string(nil), train.Classes()...), LR: cfg.LR, BestValLoss: math.MaxFloat64, DropoutSteps: map[string]uint64{}}
	if pre.Normalize != nil {
		// A network trained elsewhere (torchvision, Caffe) normalizes per
		// channel; it takes no mean image.
		return &Checkpoint{Model: m, SGD: cfg.newSGD(cfg.LR), State: state}, nil
	}
	hooks.logf("computing the mean image of %s (%d images)", train.Name(), train.Len())
	mean, skipped, err := data.ComputeMeanPolicy(train, pre, cfg.Workers, cfg.policy(), nil)
	if err != nil {
		return nil, err
	}
	for _, s := range skipped {
		hooks.logf("skipped %s: %s", s.Path, s.Reason)
	}
	return &Checkpoint{Model: m, Mean: mean, SGD: cfg.newSGD(cfg.LR), State: state}, nil
}

// Preprocessing rebuilds the preprocessing a model was trained with (test
// time: the loader decides whether to augment) from the run's recorded
// Pipeline; runs from before it was recorded chose by input size, as here.
func Preprocessing(a Arch, cfg RunConfig) data.Preprocess {
	g := data.Geometry{C: a.Input[0], H: a.Input[1], W: a.Input[2]}
	kind := cfg.Pipeline
	if kind == "" || kind == "auto" {
		kind = PipelineSmall
		if g.H > smallInput || g.W > smallInput {
			kind = PipelineImageNet
		}
	}
	if cfg.InitFrom != "" && (a.Preprocess == PresetTorchvision || a.Preprocess == PresetCaffe) {
		// Fine-tuning a network trained elsewhere: its own normalization,
		// with this run's augmentation.
		if p, err := PresetPreprocess(a.Preprocess, a.Input, cfg); err == nil {
			p.Flip = cfg.Flip
			return p
		}
	}
	if kind == PipelineSmall {
		p := data.SmallPreprocess(g)
		p.PadCrop, p.Flip = cfg.PadCrop, cfg.Flip
		return p
	}
	p := data.ImageNetPreprocess(g)
	// The paper's 256 for 224 inputs; the same proportion for other sizes.
	p.Resize = int(math.Round(float64(max(g.H, g.W)) * 256 / 224))
	p.Flip = cfg.Flip
	return p
}

func runEpochs(ctx context.Context, ck *Checkpoint, train, val, test data.Source, hooks Hooks) (*EvalResult, error) {
	st, m, cfg := &ck.State, ck.Model, ck.State.Config
	frozen, scale, err := cfg.layerChoices(m)
	if err != nil {
		return nil, err
	}
	tcfg := TrainConfig{Batch: cfg.Batch, LR: st.LR, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay, FilterRadius: cfg.FilterRadius, Seed: uint64(cfg.Seed),
		Freeze: frozen, LRScale: scale}
	tr, err := NewTrainer(m, tcfg)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	ck.SGD.Scale = tr.SGD.Scale
	tr.SGD = ck.SGD
	tr.SGD.LR = st.LR
	tr.setDropoutSteps(st.DropoutSteps)
	pred, err := NewPredictor(m, cfg.Batch, false)
	if err != nil {
		return nil, err
	}
	defer pred.Close()
	pre := Preprocessing(m.Arch, cfg)
	trainLoader, err := data.NewLoader(train, data.LoaderConfig{BatchSize: cfg.Batch, Pre: pre, Mean: ck.Mean, Train: true, Shuffle: true, Seed: cfg.Seed, Workers: cfg.Workers, Policy: cfg.policy()})
	if err != nil {
		return nil, err
	}
	evalLoader := func(src data.Source) (*data.Loader, error) {
		return data.NewLoader(src, data.LoaderConfig{BatchSize: cfg.Batch, Pre: pre, Mean: ck.Mean, Workers: cfg.Workers, Policy: cfg.policy()})
	}
	valLoader, err := evalLoader(val)
	if err != nil {
		return nil, err
	}
	ckPath := filepath.Join(cfg.Out, CheckpointFile)
	save := func() error {
		tr.dropoutSteps(st.DropoutSteps)
		st.LR = tr.SGD.LR
		return ck.Save(ckPath)
	}
	batches := trainLoader.BatchesPerEpoch()
	for ; st.Epoch < cfg.Epochs; st.Epoch, st.Batch = st.Epoch+1, 0 {
		if st.Batch == 0 {
			st.EpochLoss, st.EpochCorrect, st.EpochN, st.EpochSeconds = 0, 0, 0, 0
		}
		stream := trainLoader.Start(st.Epoch, st.Batch)
		start, startN := time.Now(), st.EpochN
		for {
			if ctx.Err() != nil {
				stream.Close()
				st.EpochSeconds += time.Since(start).Seconds()
				if err := save(); err != nil {
					return nil, err
				}
				return nil, ErrInterrupted
			}
			b, err := stream.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				stream.Close()
				return nil, err
			}
			r, err := tr.Step(b.X, b.Labels, b.Valid)
			stream.Recycle(b)
			if err == ErrDiverged {
				stream.Close()
				return nil, errors.Errorf("epoch %d batch %d: loss is %v at learning rate %g; stopped, the last good checkpoint %s is kept (try a lower --lr)",
					st.Epoch+1, st.Batch, r.Loss, tr.SGD.LR, ckPath)
			}
			if err != nil {
				stream.Close()
				return nil, err
			}
			st.Batch++
			st.Step++
			st.EpochLoss += r.Loss * float64(r.Valid)
			st.EpochCorrect += r.Correct
			st.EpochN += r.Valid
			if hooks.Step != nil {
				el := time.Since(start).Seconds()
				ips := float64(st.EpochN-startN) / el
				hooks.Step(Progress{Epoch: st.Epoch + 1, Epochs: cfg.Epochs, Batch: st.Batch, Batches: batches,
					Loss: st.EpochLoss / float64(st.EpochN), Acc: float64(st.EpochCorrect) / float64(st.EpochN), ImagesPerSec: ips,
					ETA: time.Duration(float64(batches-st.Batch) * float64(cfg.Batch) / ips * float64(time.Second))})
			}
		}
		stream.Close()
		st.EpochSeconds += time.Since(start).Seconds()
		// A NaN that reached the weights without reaching the loss (ReLU
		// hides NaN activations) stops the run like a diverged loss.
		if err := CheckFiniteWeights(m); err != nil {
			return nil, errors.Wrapf(err, "epoch %d: training diverged; the last good checkpoint %s is kept (try a lower --lr)", st.Epoch+1, ckPath)
		}
		ev, err := Evaluate(pred, valLoader, nil)
		if err != nil {
			return nil, errors.Wrap(err, "validation")
		}
		em := EpochMetrics{Epoch: st.Epoch + 1, TrainLoss: st.EpochLoss / float64(st.EpochN), TrainAcc: float64(st.EpochCorrect) / float64(st.EpochN),
			ValLoss: ev.Loss, ValTop1: ev.Top1, ValTop5: ev.Top5, LR: tr.SGD.LR, ImagesPerSec: float64(st.EpochN) / st.EpochSeconds, Seconds: st.EpochSeconds}
		st.History = append(st.History, em)
		// Anneal on a plateau of the validation loss, as the paper anneals
		// "when the validation error plateaus".
		if ev.Loss < st.BestValLoss*(1-1e-3) {
			st.BestValLoss, st.BadEpochs = ev.Loss, 0
		} else if st.BadEpochs++; st.BadEpochs > cfg.Patience {
			tr.SGD.LR = math.Max(tr.SGD.LR*cfg.LRFactor, cfg.MinLR)
			st.BadEpochs = 0
			hooks.logf("validation loss plateaued: learning rate now %g", tr.SGD.LR)
		}
		if hooks.Epoch != nil {
			hooks.Epoch(em)
		}
		if err := writeEpochOutputs(cfg, m, st); err != nil {
			return nil, err
		}
		st.Epoch++
		st.Batch = 0
		err = save()
		st.Epoch-- // the loop's post statement advances it
		if err != nil {
			return nil, err
		}
	}
	return finishRun(cfg, m, ck.Mean, pred, test, pre, hooks)
}

// writeEpochOutputs rewrites metrics.csv and the curve from the history
// and keeps a weights snapshot at the paper's epochs.
func writeEpochOutputs(cfg RunConfig, m *Model, st *TrainState) error {
	if err := WriteMetricsCSV(filepath.Join(cfg.Out, MetricsFile), st.History); err != nil {
		return err
	}
	if err := PlotTrainingCurve(filepath.Join(cfg.Out, CurveFile), cfg.Arch+" on "+cfg.Data, st.History); err != nil {
		return err
	}
	epoch := st.Epoch + 1
	if epoch == cfg.Epochs || slices.Contains(cfg.Snapshots, epoch) { // the last epoch is always kept
		return saveSnapshot(cfg, m, epoch)
	}
	return nil
}

// saveSnapshot keeps the weights after an epoch (0: the initial weights).
func saveSnapshot(cfg RunConfig, m *Model, epoch int) error {
	dir := filepath.Join(cfg.Out, "snapshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errors.Wrapf(err, "creating %s", dir)
	}
	return m.SaveWeights(filepath.Join(dir, SnapshotName(epoch)))
}

// SnapshotName is the file name of the weights kept after an epoch.
func SnapshotName(epoch int) string { return fmt.Sprintf("epoch-%03d.npz", epoch) }

func finishRun(cfg RunConfig, m *Model, mean *data.Mean, pred *Predictor, test data.Source, pre data.Preprocess, hooks Hooks) (*EvalResult, error) {
	if err := m.SaveWeights(filepath.Join(cfg.Out, WeightsFile)); err != nil {
		return nil, err
	}
	loader, err := data.NewLoader(test, data.LoaderConfig{BatchSize: cfg.Batch, Pre: pre, Mean: mean, Workers: cfg.Workers, Policy: cfg.policy()})
	if err != nil {
		return nil, err
	}
	hooks.logf("evaluating on %s (%d images)", test.Name(), test.Len())
	ev, err := Evaluate(pred, loader, nil)
	if err != nil {
		return nil, errors.Wrap(err, "test evaluation")
	}
	return ev, writeJSON(filepath.Join(cfg.Out, SummaryFile), map[string]any{
		"arch": cfg.Arch, "data": cfg.Data, "epochs": cfg.Epochs, "test_examples": ev.Examples,
		"test_top1": ev.Top1, "test_top5": ev.Top5, "test_loss": ev.Loss, "per_class_top1": ev.PerClass,
	})
}
