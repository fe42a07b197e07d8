package zfnet

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
)

// Run files in a run folder.
const (
	CheckpointFile = "checkpoint.npz"
	WeightsFile    = "weights.npz"
	MetricsFile    = "metrics.csv"
	CurveFile      = "training-curve.png"
	MeanFile       = "mean.npy"
	SummaryFile    = "summary.json"
)

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

// finishRun writes the final weights, evaluates them on the test set and
// writes the summary.
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
