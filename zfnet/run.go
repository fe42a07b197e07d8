package zfnet

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
)

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
	ck, cfg, err := resumeState(cfg, resume)
	if err != nil {
		return nil, err
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
	d, err := openRunData(cfg)
	if err != nil {
		return nil, err
	}
	if ck != nil {
		hooks.logf("resuming %s (%s on %s, %d epochs) at epoch %d, batch %d (step %d)", cfg.Out, cfg.Arch, cfg.Data,
			cfg.Epochs, ck.State.Epoch+1, ck.State.Batch, ck.State.Step)
		hooks.logf("input: %s", DescribeInput(ck.Model.Arch, cfg))
		return runEpochs(ctx, ck, d.train, d.val, d.test, hooks)
	}
	if ck, err = startRun(cfg, d, init, hooks); err != nil {
		return nil, err
	}
	return runEpochs(ctx, ck, d.train, d.val, d.test, hooks)
}

// resumeState loads the checkpoint of the run in cfg.Out when resume is set
// and returns the configuration to run with. The checkpoint's configuration
// wins, except where the run folder now is, how many decoding goroutines to
// use, and (when cfg.Epochs asks for more than the run had) how far to go.
// Without resume, a folder that already holds a run is an error.
func resumeState(cfg RunConfig, resume bool) (*Checkpoint, RunConfig, error) {
	ckPath := filepath.Join(cfg.Out, CheckpointFile)
	if !resume {
		if fileExists(ckPath) {
			return nil, cfg, errors.Errorf("%s already holds a run (%s): continue it with --resume or choose another --out", cfg.Out, CheckpointFile)
		}
		return nil, cfg, nil
	}
	ck, err := LoadCheckpoint(ckPath)
	if err != nil {
		return nil, cfg, errors.Wrapf(err, "resuming %s", cfg.Out)
	}
	epochs, out, workers := cfg.Epochs, cfg.Out, cfg.Workers
	cfg = ck.State.Config
	cfg.Out, cfg.Workers = out, workers
	if epochs > cfg.Epochs {
		cfg.Epochs = epochs
	}
	ck.State.Config = cfg
	return ck, cfg, nil
}

// runData is a run's data set and the three splits it trains, validates
// and tests on (TrainLimit and EvalLimit applied; the test set validates
// when the set has no validation split).
type runData struct {
	set              *data.Set
	train, val, test data.Source
}

// openRunData opens the run's data set and checks that it can be trained on.
func openRunData(cfg RunConfig) (*runData, error) {
	set, err := data.Open(cfg.Data, data.OpenOptions{ValFraction: cfg.ValFraction, Seed: cfg.Seed, Policy: cfg.policy()})
	if err != nil {
		return nil, err
	}
	if err := set.CheckTrainable(); err != nil {
		return nil, err
	}
	d := &runData{set: set, train: limit(set.Train, cfg.TrainLimit), test: limit(set.Test, cfg.EvalLimit)}
	d.val = d.test
	if set.Val != nil {
		d.val = limit(set.Val, cfg.EvalLimit)
	}
	return d, nil
}

// startRun fits the architecture to the data, builds and initializes the
// model (from init when not nil), creates the run folder and writes the
// mean image, the first checkpoint and snapshot 0. A failure before the
// first checkpoint removes a folder it created.
func startRun(cfg RunConfig, d *runData, init *initSource, hooks Hooks) (*Checkpoint, error) {
	p, err := planRun(cfg, d.set, init, hooks)
	if err != nil {
		return nil, err
	}
	cfg, m := p.in.Config, p.m
	created := !fileExists(cfg.Out)
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, errors.Wrapf(err, "creating run folder %s", cfg.Out)
	}
	ck, err := newRun(cfg, m, p.in.Pre, d.train, hooks)
	if err == nil && init != nil {
		init.copyInto(m, p.reinit)
		hooks.logf("%s", init.describe(m, p.reinit, p.frozen))
	}
	if err == nil && ck.Mean != nil {
		err = ck.Mean.SaveNpy(filepath.Join(cfg.Out, MeanFile))
	}
	if err == nil {
		// The initial state is the first good checkpoint: a run that
		// diverges or is killed in its first epoch can restart from it.
		err = ck.Save(filepath.Join(cfg.Out, CheckpointFile))
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
	return ck, nil
}

// runPlan is what a new run decides before its folder exists: the input
// decision (with the run's final configuration), the model, the frozen
// layers and whether the InitFrom weights' last layer is re-initialized.
type runPlan struct {
	in     *InputDecision
	m      *Model
	frozen []string
	reinit bool
}

// planRun decides the input geometry and builds the model before the run
// folder exists, so that an input the architecture cannot take, a bad
// --freeze or --lr-scale, or weights that do not fit, fail with nothing
// written.
func planRun(cfg RunConfig, set *data.Set, init *initSource, hooks Hooks) (*runPlan, error) {
	p := &runPlan{}
	var err error
	if init != nil {
		p.in, err = init.decide(set, cfg)
	} else {
		p.in, err = DecideInput(cfg.Arch, set, cfg)
	}
	if err != nil {
		return nil, err
	}
	cfg = p.in.Config
	hooks.logf("training %s on %s for %d epochs into %s", cfg.Arch, cfg.Data, cfg.Epochs, cfg.Out)
	hooks.logf("input: %s; %s", DescribeInput(p.in.Arch, cfg), p.in.Why)
	if p.m, err = New(p.in.Arch); err != nil {
		return nil, errors.Wrapf(err, "%s with %s inputs", cfg.Arch, DescribeInput(p.in.Arch, cfg))
	}
	if p.frozen, _, err = cfg.layerChoices(p.m); err != nil {
		return nil, err
	}
	if init != nil {
		if p.reinit, err = init.check(p.m, set.Classes, p.frozen); err != nil {
			return nil, err
		}
	}
	return p, nil
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
