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
	Snapshots    []int // epochs whose weights are kept, for feature evolution (0: the initial weights)
	Out          string
	Workers      int
	SkipBad      bool
	// TrainLimit and EvalLimit, when positive, use only the first examples
	// of the training and of the validation and test sets (tests, quick looks).
	TrainLimit, EvalLimit int
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
func Train(ctx context.Context, cfg RunConfig, resume bool, hooks Hooks) (*EvalResult, error) {
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, errors.Wrapf(err, "creating run folder %s", cfg.Out)
	}
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
		hooks.logf("resuming %s (%s on %s, %d epochs) at epoch %d, batch %d (step %d)", cfg.Out, ck.State.Config.Arch, ck.State.Config.Data,
			ck.State.Config.Epochs, ck.State.Epoch+1, ck.State.Batch, ck.State.Step)
	case fileExists(ckPath):
		return nil, errors.Errorf("%s already holds a run (%s): continue it with --resume or choose another --out", cfg.Out, CheckpointFile)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	set, err := data.Open(cfg.Data, data.OpenOptions{ValFraction: cfg.ValFraction, Seed: cfg.Seed, Policy: cfg.policy()})
	if err != nil {
		return nil, err
	}
	train, test := limit(set.Train, cfg.TrainLimit), limit(set.Test, cfg.EvalLimit)
	val := test
	if set.Val != nil {
		val = limit(set.Val, cfg.EvalLimit)
	}
	if ck == nil {
		if ck, err = newRun(cfg, set, train, hooks); err != nil {
			return nil, err
		}
		if err := ck.Mean.SaveNpy(filepath.Join(cfg.Out, MeanFile)); err != nil {
			return nil, err
		}
		// The initial state is the first good checkpoint: a run that
		// diverges or is killed in its first epoch can restart from it.
		if err := ck.Save(ckPath); err != nil {
			return nil, err
		}
		if slices.Contains(cfg.Snapshots, 0) {
			if err := saveSnapshot(cfg, ck.Model, 0); err != nil {
				return nil, err
			}
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
	}
	return nil
}

// newSGD is the run's solver at learning rate lr, with fresh velocities.
func (cfg RunConfig) newSGD(lr float64) *SGD {
	return &SGD{LR: lr, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay, FilterRadius: cfg.FilterRadius, Velocity: map[string][]float32{}}
}

// ArchFor fits a named architecture to a data set: input geometry from the
// data (native size for small images, the arch's own for photographs) and
// one output per class.
func ArchFor(name string, set *data.Set, dropout float64) (Arch, data.Preprocess, error) {
	a, err := LookupArch(name)
	if err != nil {
		return a, data.Preprocess{}, err
	}
	probe, err := set.Train.Load(0)
	if err != nil {
		return a, data.Preprocess{}, errors.Wrapf(err, "reading a first example of %s", set.Name)
	}
	var pre data.Preprocess
	if probe.H <= 64 && probe.W <= 64 { // MNIST, CIFAR: native size
		a = a.WithInput(probe.C, probe.H, probe.W, len(set.Classes))
		pre = data.SmallPreprocess(data.Geometry{C: probe.C, H: probe.H, W: probe.W})
	} else {
		a = a.WithInput(0, 0, 0, len(set.Classes))
		pre = data.ImageNetPreprocess(data.Geometry{C: a.Input[0], H: a.Input[1], W: a.Input[2]})
	}
	if dropout >= 0 {
		a = a.WithDropout(dropout)
	}
	return a, pre, nil
}

// newRun initializes a model and computes the training mean.
func newRun(cfg RunConfig, set *data.Set, train data.Source, hooks Hooks) (*Checkpoint, error) {
	a, pre, err := ArchFor(cfg.Arch, set, cfg.Dropout)
	if err != nil {
		return nil, err
	}
	m, err := New(a)
	if err != nil {
		return nil, err
	}
	if cfg.FilterRadius < 0 {
		cfg.FilterRadius = a.FilterRadius
	}
	if err := m.Initialize(cfg.Init, cfg.Seed); err != nil {
		return nil, err
	}
	hooks.logf("computing the mean image of %s (%d images)", train.Name(), train.Len())
	mean, skipped, err := data.ComputeMeanPolicy(train, pre, cfg.Workers, cfg.policy(), nil)
	if err != nil {
		return nil, err
	}
	for _, s := range skipped {
		hooks.logf("skipped %s: %s", s.Path, s.Reason)
	}
	return &Checkpoint{
		Model: m, Mean: mean,
		SGD:   cfg.newSGD(cfg.LR),
		State: TrainState{Config: cfg, Arch: a, LR: cfg.LR, BestValLoss: math.MaxFloat64, DropoutSteps: map[string]uint64{}},
	}, nil
}

// Preprocessing rebuilds the preprocessing a model was trained with (test
// time: the loader decides whether to augment).
func Preprocessing(a Arch, cfg RunConfig) data.Preprocess {
	g := data.Geometry{C: a.Input[0], H: a.Input[1], W: a.Input[2]}
	if g.H <= 64 && g.W <= 64 {
		p := data.SmallPreprocess(g)
		p.PadCrop, p.Flip = cfg.PadCrop, cfg.Flip
		return p
	}
	p := data.ImageNetPreprocess(g)
	p.Flip = cfg.Flip
	return p
}

func runEpochs(ctx context.Context, ck *Checkpoint, train, val, test data.Source, hooks Hooks) (*EvalResult, error) {
	st, m, cfg := &ck.State, ck.Model, ck.State.Config
	tcfg := TrainConfig{Batch: cfg.Batch, LR: st.LR, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay, FilterRadius: cfg.FilterRadius, Seed: uint64(cfg.Seed)}
	tr, err := NewTrainer(m, tcfg)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	tr.SGD = ck.SGD
	tr.SGD.LR = st.LR
	for name, s := range tr.Builder().Dropouts {
		s.Step = st.DropoutSteps[name]
	}
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
		for name, s := range tr.Builder().Dropouts {
			st.DropoutSteps[name] = s.Step
		}
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
