package zfnet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zfnet/zfnet/zfnet/weights"
)

// quickRun is a small, real run: zfnet-small on 512 MNIST digits.
func quickRun(out string) RunConfig {
	cfg := DefaultRunConfig()
	cfg.Out, cfg.Epochs, cfg.Batch = out, 2, 64
	cfg.TrainLimit, cfg.EvalLimit, cfg.ValFraction = 512, 256, 0.02
	cfg.Snapshots = []int{1}
	return cfg
}

func weightsOf(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	f, err := weights.ReadArchive(path)
	if err != nil {
		t.Fatal(err)
	}
	w := map[string][]float32{}
	for name, a := range f.Arrays.ByName {
		w[name] = a.Data
	}
	return w
}

// TestResumeIsExact interrupts a run mid-epoch, resumes it, and checks the
// final weights equal those of an uninterrupted run with the same seed, bit
// for bit: batches, augmentation, dropout masks and solver state all resume.
// The resumed run must also be a resume, not a restart that happens to end
// with the same bits: it performs exactly the remaining steps, and its
// progress reports (epoch, batch, running loss and accuracy) are those of
// the uninterrupted run from the batch after the checkpoint on.
func TestResumeIsExact(t *testing.T) {
	if testing.Short() {
		t.Skip("trains twice")
	}
	dir := t.TempDir()
	whole := quickRun(filepath.Join(dir, "whole"))
	var wholeSteps []Progress
	if _, err := Train(context.Background(), whole, false, Hooks{Step: func(p Progress) { wholeSteps = append(wholeSteps, p) }}); err != nil {
		t.Fatal(err)
	}
	if len(wholeSteps) != 16 { // 512 examples in batches of 64, two epochs
		t.Fatalf("uninterrupted run: %d steps, want 16", len(wholeSteps))
	}
	cut := quickRun(filepath.Join(dir, "cut"))
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	_, err := Train(ctx, cut, false, Hooks{Step: func(p Progress) {
		if steps++; steps == 11 { // epoch 2, batch 3
			cancel()
		}
	}})
	if err != ErrInterrupted {
		t.Fatalf("interrupted run: got %v, want ErrInterrupted", err)
	}
	ck, err := LoadCheckpoint(filepath.Join(cut.Out, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if ck.State.Epoch != 1 || ck.State.Batch != 3 {
		t.Fatalf("checkpoint at epoch %d batch %d, want epoch 1 batch 3", ck.State.Epoch, ck.State.Batch)
	}
	var resumed []Progress
	if _, err := Train(context.Background(), RunConfig{Out: cut.Out}, true, Hooks{Step: func(p Progress) { resumed = append(resumed, p) }}); err != nil {
		t.Fatal(err)
	}
	if len(resumed) != len(wholeSteps)-11 {
		t.Fatalf("resumed run performed %d steps, want the %d remaining after step 11", len(resumed), len(wholeSteps)-11)
	}
	for i, p := range resumed {
		w := wholeSteps[11+i]
		if p.Epoch != w.Epoch || p.Batch != w.Batch || p.Batches != w.Batches || p.Loss != w.Loss || p.Acc != w.Acc {
			t.Fatalf("resumed step %d: epoch %d batch %d/%d loss %v acc %v; the uninterrupted run had epoch %d batch %d/%d loss %v acc %v",
				i+1, p.Epoch, p.Batch, p.Batches, p.Loss, p.Acc, w.Epoch, w.Batch, w.Batches, w.Loss, w.Acc)
		}
	}
	if resumed[0].Epoch != 2 || resumed[0].Batch != 4 {
		t.Fatalf("the resumed run's first report is epoch %d batch %d, want epoch 2 batch 4", resumed[0].Epoch, resumed[0].Batch)
	}
	a, b := weightsOf(t, filepath.Join(whole.Out, WeightsFile)), weightsOf(t, filepath.Join(cut.Out, WeightsFile))
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("weights files have %d and %d arrays", len(a), len(b))
	}
	for name, wa := range a {
		wb := b[name]
		for i := range wa {
			if wa[i] != wb[i] {
				t.Fatalf("%s[%d]: uninterrupted %v, resumed %v", name, i, wa[i], wb[i])
			}
		}
	}
	for _, f := range []string{MetricsFile, CurveFile, MeanFile, SummaryFile, filepath.Join("snapshots", SnapshotName(1))} {
		if _, err := os.Stat(filepath.Join(cut.Out, f)); err != nil {
			t.Errorf("run folder lacks %s: %v", f, err)
		}
	}
}

// TestDivergenceStops checks that a NaN loss stops the run with a clear
// message and leaves the last good checkpoint in place.
func TestDivergenceStops(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	cfg := quickRun(filepath.Join(t.TempDir(), "nan"))
	cfg.LR, cfg.FilterRadius = 1e6, 0
	_, err := Train(context.Background(), cfg, false, Hooks{})
	if err == nil || !strings.Contains(err.Error(), "last good checkpoint") {
		t.Fatalf("got %v, want a divergence error", err)
	}
	ck, err := LoadCheckpoint(filepath.Join(cfg.Out, CheckpointFile))
	if err != nil {
		t.Fatalf("the last good checkpoint is unreadable: %v", err)
	}
	for _, p := range ck.Model.Params() {
		for _, v := range p.Data() {
			if v != v {
				t.Fatalf("checkpoint holds NaN in %s", p.Name)
			}
		}
	}
}

func TestRefusesToOverwriteARun(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	cfg := quickRun(filepath.Join(t.TempDir(), "run"))
	cfg.Epochs = 1
	if _, err := Train(context.Background(), cfg, false, Hooks{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Train(context.Background(), cfg, false, Hooks{}); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("second run into the same folder: got %v, want advice to resume", err)
	}
}
