package experiments

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/zfnet"
)

// vizSnapshots writes three weight snapshots of zfnet-small (different
// seeds stand in for epochs) into dir/snapshots, out of order on purpose.
func vizSnapshots(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "snapshots"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range []int{10, 1, 2} {
		d := vizSmallNet(t, 1, int64(100+e))
		if err := d.Model.SaveWeights(filepath.Join(dir, "snapshots", zfnet.SnapshotName(e))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "snapshots", "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEvolution(t *testing.T) {
	dir := t.TempDir()
	vizSnapshots(t, dir)
	paths, epochs, err := SnapshotFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(epochs) != 3 || epochs[0] != 1 || epochs[1] != 2 || epochs[2] != 10 {
		t.Fatalf("epochs %v", epochs)
	}
	src, cfg := vizMNIST(t, 20)
	cfg.BatchSize = 8
	sample, err := SampleInputs(src, cfg, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(sample) != 20*784 {
		t.Fatalf("sample has %d values", len(sample))
	}
	d := vizSmallNet(t, 4, 7)
	before := append([]float32(nil), d.Model.Params()[0].Data()...)
	maps := []int{0, 5, 9}
	ev, err := Evolution(d, paths, epochs, sample, "conv2", maps, deconvnet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range d.Model.Params()[0].Data() {
		if v != before[i] {
			t.Fatal("Evolution did not restore the model's weights")
		}
	}
	// Each cell is the strongest activation of its map over the sample
	// under that epoch's weights, found independently here.
	ref := vizSmallNet(t, 20, 0)
	win, _ := deconvnet.FieldSize(ref.Model, "conv2")
	for j, p := range paths {
		if err := ref.Model.LoadWeights(p); err != nil {
			t.Fatal(err)
		}
		if _, err := ref.Forward(sample); err != nil {
			t.Fatal(err)
		}
		act, _ := ref.Activation("conv2")
		a, s := act.Data().([]float32), act.Shape()
		for i, m := range maps {
			var best float32
			for r := 0; r < 20; r++ {
				for _, v := range a[(r*s[1]+m)*s[2]*s[3] : (r*s[1]+m+1)*s[2]*s[3]] {
					best = max(best, v)
				}
			}
			c := ev.Cells[i][j]
			if math.Abs(float64(c.Value-best)) > 1e-4*float64(best)+1e-6 {
				t.Fatalf("map %d epoch %d: %g, want %g", m, epochs[j], c.Value, best)
			}
			if best > 0 && (len(c.Projection) != win*win || c.Field.Window.Dx() != win) {
				t.Fatalf("map %d epoch %d: projection %d values, field %v", m, epochs[j], len(c.Projection), c.Field)
			}
		}
	}
	img := ev.Image()
	side := win * max(1, (72+win-1)/win)
	if b := img.Bounds(); b.Dx() < 3*side || b.Dy() < 3*side || vizUniform(img) {
		t.Fatalf("evolution image %v for 3x3 cells of %d", b, side)
	}

	// nil maps: the strongest maps at the last epoch, at most eight.
	ev, err = Evolution(d, paths, epochs, sample, "conv1", nil, deconvnet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Maps) != 8 {
		t.Fatalf("%d maps chosen", len(ev.Maps))
	}
	last := len(epochs) - 1
	for i := 1; i < len(ev.Maps); i++ {
		if ev.Cells[i][last].Value > ev.Cells[i-1][last].Value {
			t.Fatalf("maps are not ordered by their last-epoch strength: %v", ev.Maps)
		}
	}
}

func TestEvolutionErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := SnapshotFiles(dir); err == nil {
		t.Error("no snapshots folder: no error")
	}
	vizSnapshots(t, dir)
	paths, epochs, _ := SnapshotFiles(dir)
	d := vizSmallNet(t, 2, 1)
	sample := make([]float32, 3*784)
	for name, f := range map[string]func() error{
		"lengths": func() error {
			_, err := Evolution(d, paths, epochs[:1], sample, "conv1", nil, deconvnet.Options{})
			return err
		},
		"sample": func() error {
			_, err := Evolution(d, paths, epochs, sample[:100], "conv1", nil, deconvnet.Options{})
			return err
		},
		"map": func() error {
			_, err := Evolution(d, paths, epochs, sample, "conv1", []int{99}, deconvnet.Options{})
			return err
		},
		"layer": func() error {
			_, err := Evolution(d, paths, epochs, sample, "conv9", nil, deconvnet.Options{})
			return err
		},
		"bad file": func() error {
			_, err := Evolution(d, []string{filepath.Join(dir, "nope.npz")}, []int{1}, sample, "conv1", nil, deconvnet.Options{})
			return err
		},
		"nil sample": func() error { _, err := SampleInputs(nil, vizCfgNone, 3); return err },
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
