package zfnet

import (
	"context"
	"io"
	"math"
	"path/filepath"
	"slices"
	"time"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
)

// epochRun is the state of a run's epoch loop: the checkpoint it advances
// (ck.State is the position: epoch, batch, step, running totals), the
// training and inference graphs over the checkpoint's model, and the
// loaders.
type epochRun struct {
	ck     *Checkpoint
	st     *TrainState
	m      *Model
	cfg    RunConfig
	tr     *Trainer
	pred   *Predictor
	pre    data.Preprocess
	ckPath string
	hooks  Hooks

	trainLoader, valLoader *data.Loader
}

// runEpochs trains from the checkpoint's position to cfg.Epochs, writing a
// checkpoint after every epoch (and on interruption), then writes the final
// weights and evaluates them on test.
func runEpochs(ctx context.Context, ck *Checkpoint, train, val, test data.Source, hooks Hooks) (*EvalResult, error) {
	tr, err := newRunTrainer(ck)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	cfg := ck.State.Config
	pred, err := NewPredictor(ck.Model, cfg.Batch, false)
	if err != nil {
		return nil, err
	}
	defer pred.Close()
	r := &epochRun{ck: ck, st: &ck.State, m: ck.Model, cfg: cfg, tr: tr, pred: pred, pre: Preprocessing(ck.Model.Arch, cfg),
		ckPath: filepath.Join(cfg.Out, CheckpointFile), hooks: hooks}
	if err := r.openLoaders(train, val); err != nil {
		return nil, err
	}
	for st := r.st; st.Epoch < cfg.Epochs; st.Epoch, st.Batch = st.Epoch+1, 0 {
		if err := r.trainEpoch(ctx); err != nil {
			return nil, err
		}
		if err := r.endEpoch(); err != nil {
			return nil, err
		}
	}
	return finishRun(cfg, r.m, ck.Mean, pred, test, r.pre, hooks)
}

// newRunTrainer builds the training graph of a checkpoint's run and puts
// the checkpoint's solver state (velocities, learning rate) and dropout
// counts into it, so that training continues exactly where it stopped.
func newRunTrainer(ck *Checkpoint) (*Trainer, error) {
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
	ck.SGD.Scale = tr.SGD.Scale
	tr.SGD = ck.SGD
	tr.SGD.LR = st.LR
	tr.setDropoutSteps(st.DropoutSteps)
	return tr, nil
}

// openLoaders opens the shuffled, augmented training loader and the
// validation loader.
func (r *epochRun) openLoaders(train, val data.Source) error {
	cfg := r.cfg
	var err error
	r.trainLoader, err = data.NewLoader(train, data.LoaderConfig{BatchSize: cfg.Batch, Pre: r.pre, Mean: r.ck.Mean, Train: true, Shuffle: true, Seed: cfg.Seed, Workers: cfg.Workers, Policy: cfg.policy()})
	if err != nil {
		return err
	}
	r.valLoader, err = data.NewLoader(val, data.LoaderConfig{BatchSize: cfg.Batch, Pre: r.pre, Mean: r.ck.Mean, Workers: cfg.Workers, Policy: cfg.policy()})
	return err
}

// save writes the checkpoint with the trainer's dropout counts and learning
// rate.
func (r *epochRun) save() error {
	r.tr.dropoutSteps(r.st.DropoutSteps)
	r.st.LR = r.tr.SGD.LR
	return r.ck.Save(r.ckPath)
}

// trainEpoch trains on the rest of the current epoch's batches, from
// st.Batch. A cancelled context saves a checkpoint and returns
// ErrInterrupted.
func (r *epochRun) trainEpoch(ctx context.Context) error {
	st := r.st
	if st.Batch == 0 {
		st.EpochLoss, st.EpochCorrect, st.EpochN, st.EpochSeconds = 0, 0, 0, 0
	}
	stream := r.trainLoader.Start(st.Epoch, st.Batch)
	start, startN := time.Now(), st.EpochN
	for {
		if ctx.Err() != nil {
			stream.Close()
			st.EpochSeconds += time.Since(start).Seconds()
			if err := r.save(); err != nil {
				return err
			}
			return ErrInterrupted
		}
		b, err := stream.Next()
		if err == io.EOF {
			break
		}
		if err == nil {
			err = r.step(stream, b)
		}
		if err != nil {
			stream.Close()
			return err
		}
		r.progress(start, startN)
	}
	stream.Close()
	st.EpochSeconds += time.Since(start).Seconds()
	return nil
}

// step trains on one batch, gives the batch back to the stream and adds
// it to the epoch's running totals.
func (r *epochRun) step(stream *data.Stream, b *data.Batch) error {
	st := r.st
	res, err := r.tr.Step(b.X, b.Labels, b.Valid)
	stream.Recycle(b)
	if err == ErrDiverged {
		return errors.Errorf("epoch %d batch %d: loss is %v at learning rate %g; stopped, the last good checkpoint %s is kept (try a lower --lr)",
			st.Epoch+1, st.Batch, res.Loss, r.tr.SGD.LR, r.ckPath)
	}
	if err != nil {
		return err
	}
	st.Batch++
	st.Step++
	st.EpochLoss += res.Loss * float64(res.Valid)
	st.EpochCorrect += res.Correct
	st.EpochN += res.Valid
	return nil
}

// progress reports the epoch's running means and speed to the Step hook;
// start and startN are when and at which example count this call of
// trainEpoch began (a resumed epoch's speed counts only its own batches).
func (r *epochRun) progress(start time.Time, startN int) {
	if r.hooks.Step == nil {
		return
	}
	st, cfg := r.st, r.cfg
	batches := r.trainLoader.BatchesPerEpoch()
	el := time.Since(start).Seconds()
	ips := float64(st.EpochN-startN) / el
	r.hooks.Step(Progress{Epoch: st.Epoch + 1, Epochs: cfg.Epochs, Batch: st.Batch, Batches: batches,
		Loss: st.EpochLoss / float64(st.EpochN), Acc: float64(st.EpochCorrect) / float64(st.EpochN), ImagesPerSec: ips,
		ETA: time.Duration(float64(batches-st.Batch) * float64(cfg.Batch) / ips * float64(time.Second))})
}

// endEpoch checks the weights, validates, records the epoch's metrics,
// anneals, writes the epoch's files and saves the checkpoint at the start
// of the next epoch.
func (r *epochRun) endEpoch() error {
	st := r.st
	// A NaN that reached the weights without reaching the loss (ReLU
	// hides NaN activations) stops the run like a diverged loss.
	if err := CheckFiniteWeights(r.m); err != nil {
		return errors.Wrapf(err, "epoch %d: training diverged; the last good checkpoint %s is kept (try a lower --lr)", st.Epoch+1, r.ckPath)
	}
	ev, err := Evaluate(r.pred, r.valLoader, nil)
	if err != nil {
		return errors.Wrap(err, "validation")
	}
	em := EpochMetrics{Epoch: st.Epoch + 1, TrainLoss: st.EpochLoss / float64(st.EpochN), TrainAcc: float64(st.EpochCorrect) / float64(st.EpochN),
		ValLoss: ev.Loss, ValTop1: ev.Top1, ValTop5: ev.Top5, LR: r.tr.SGD.LR, ImagesPerSec: float64(st.EpochN) / st.EpochSeconds, Seconds: st.EpochSeconds}
	st.History = append(st.History, em)
	r.anneal(st.Epoch+1, ev.Loss)
	if r.hooks.Epoch != nil {
		r.hooks.Epoch(em)
	}
	if err := writeEpochOutputs(r.cfg, r.m, st); err != nil {
		return err
	}
	st.Epoch++
	st.Batch = 0
	err = r.save()
	st.Epoch-- // the epoch loop's post statement advances it
	return err
}

// anneal multiplies the learning rate by LRFactor (not below MinLR) after
// the epochs listed in AnnealAt or, without that list, when the validation
// loss has not improved by 0.1% for more than Patience epochs, as the paper
// anneals "when the validation error plateaus".
func (r *epochRun) anneal(epoch int, valLoss float64) {
	st, cfg := r.st, r.cfg
	if len(cfg.AnnealAt) > 0 {
		if slices.Contains(cfg.AnnealAt, epoch) {
			r.tr.SGD.LR = math.Max(r.tr.SGD.LR*cfg.LRFactor, cfg.MinLR)
			r.hooks.logf("scheduled annealing after epoch %d: learning rate now %g", epoch, r.tr.SGD.LR)
		}
		return
	}
	if valLoss < st.BestValLoss*(1-1e-3) {
		st.BestValLoss, st.BadEpochs = valLoss, 0
	} else if st.BadEpochs++; st.BadEpochs > cfg.Patience {
		r.tr.SGD.LR = math.Max(r.tr.SGD.LR*cfg.LRFactor, cfg.MinLR)
		st.BadEpochs = 0
		r.hooks.logf("validation loss plateaued: learning rate now %g", r.tr.SGD.LR)
	}
}
