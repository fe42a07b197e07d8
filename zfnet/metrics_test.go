package zfnet

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestEpochTicksAreWholeEpochs: the curve's epoch axis is labelled with
// whole epochs, at most about eight, inside the range.
func TestEpochTicksAreWholeEpochs(t *testing.T) {
	for _, r := range [][2]float64{{1, 24}, {1, 2}, {0.5, 12.5}, {1, 64}, {3, 3}} {
		ts := epochTicks{}.Ticks(r[0], r[1])
		if len(ts) == 0 || len(ts) > 9 {
			t.Errorf("%v: %d ticks", r, len(ts))
		}
		for _, tk := range ts {
			if tk.Value < r[0] || tk.Value > r[1] || tk.Label != strconv.Itoa(int(tk.Value)) || float64(int(tk.Value)) != tk.Value {
				t.Errorf("%v: tick %v %q", r, tk.Value, tk.Label)
			}
		}
	}
	// And the curve itself is drawn.
	path := filepath.Join(t.TempDir(), "curve.png")
	rows := []EpochMetrics{{Epoch: 1, TrainLoss: 1, ValLoss: 0.9, TrainAcc: 0.5, ValTop1: 0.6}, {Epoch: 2, TrainLoss: 0.5, ValLoss: 0.6, TrainAcc: 0.8, ValTop1: 0.8}}
	if err := PlotTrainingCurve(path, "test", rows); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() < 1000 {
		t.Fatalf("curve: %v", err)
	}
}
