package index

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/experiments"
	dfix "github.com/zfnet/zfnet/deconvnet/internal/fixture"
)

// TestEvolutionFromIndexes: Fig. 4 read from one index per snapshot gives
// the cells experiments.Evolution finds by scanning the same examples
// (same winners, positions and values; projections up to rounding), the
// model keeps its own weights, and an index of another snapshot, a missing
// index or a missing layer is refused by name.
func TestEvolutionFromIndexes(t *testing.T) {
	d, src, cfg, _ := fixture(t, 64, 1)
	run := t.TempDir()
	if err := os.MkdirAll(filepath.Join(run, "snapshots"), 0o755); err != nil {
		t.Fatal(err)
	}
	own := append([]float32(nil), d.Model.Params()[0].Data()...)
	indexes := t.TempDir()
	epochs := []int{1, 4}
	for i, seed := range []int64{7, 8} {
		snap := dfix.SmallModel(t, seed)
		path := filepath.Join(run, "snapshots", filepathEpoch(epochs[i]))
		if err := snap.SaveWeights(path); err != nil {
			t.Fatal(err)
		}
		if err := d.Model.LoadWeights(path); err != nil {
			t.Fatal(err)
		}
		o := Options{Layers: []string{"conv2", "fc6"}, K: 3, Mode: PerImage, Fingerprint: Fingerprint(d.Model, cfg.Pre, nil)}
		build(t, d, src, cfg, o, SnapshotDir(indexes, epochs[i]))
	}
	for i, p := range d.Model.Params() { // back to the fixture's weights
		fresh := dfix.SmallModel(t, 1).Params()[i].Data()
		copy(p.Data(), fresh)
	}
	snaps, err := ReadSnapshots(run, indexes)
	if err != nil {
		t.Fatal(err)
	}
	paths, eps, err := experiments.SnapshotFiles(run)
	if err != nil {
		t.Fatal(err)
	}
	sample, err := experiments.SampleInputs(src, cfg, src.Len())
	if err != nil {
		t.Fatal(err)
	}
	for _, layer := range []string{"conv2", "fc6"} {
		for _, maps := range [][]int{nil, {0, 5, 11}} {
			want, err := experiments.Evolution(d, paths, eps, sample, layer, maps, deconvnet.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var warned []string
			got, err := Evolution(d, snaps, src, cfg, layer, maps, deconvnet.Options{}, func(s string) { warned = append(warned, s) })
			if err != nil {
				t.Fatal(err)
			}
			if len(warned) > 0 {
				t.Fatalf("%s: warnings: %v", layer, warned)
			}
			sameEvolution(t, layer, got, want)
		}
	}
	if got := d.Model.Params()[0].Data(); got[0] != own[0] || got[len(got)-1] != own[len(own)-1] {
		t.Fatal("Evolution did not give the model its weights back")
	}

	// The indexes swapped: each belongs to the other snapshot's weights.
	swapped := []Snapshot{{Epoch: 1, Weights: snaps[0].Weights, Index: snaps[1].Index}}
	if _, err := Evolution(d, swapped, src, cfg, "conv2", nil, deconvnet.Options{}, nil); err == nil || !strings.Contains(err.Error(), "does not belong to this model") {
		t.Fatalf("index of another snapshot: %v", err)
	}
	if _, err := Evolution(d, snaps, src, cfg, "conv4", nil, deconvnet.Options{}, nil); err == nil || !strings.Contains(err.Error(), "no layer conv4") {
		t.Fatalf("missing layer: %v", err)
	}
	if _, err := Evolution(d, snaps, src, cfg, "conv2", []int{48}, deconvnet.Options{}, nil); err == nil || !strings.Contains(err.Error(), "has 48 units") {
		t.Fatalf("unit out of range: %v", err)
	}
	if err := os.RemoveAll(SnapshotDir(indexes, 4)); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSnapshots(run, indexes); err == nil || !strings.Contains(err.Error(), "epoch-004") || !strings.Contains(err.Error(), "--snapshots") {
		t.Fatalf("missing index: %v", err)
	}
}

func filepathEpoch(e int) string { return filepath.Base(SnapshotDir("", e)) + ".npz" }

func sameEvolution(t *testing.T, layer string, got, want *experiments.Evolved) {
	t.Helper()
	if len(got.Maps) != len(want.Maps) || len(got.Epochs) != len(want.Epochs) || got.C != want.C {
		t.Fatalf("%s: maps %v epochs %v; want %v %v", layer, got.Maps, got.Epochs, want.Maps, want.Epochs)
	}
	for i := range got.Maps {
		if got.Maps[i] != want.Maps[i] {
			t.Fatalf("%s: maps %v; want %v", layer, got.Maps, want.Maps)
		}
		for j := range got.Epochs {
			g, w := got.Cells[i][j], want.Cells[i][j]
			if g.Value != w.Value || g.Image != w.Image || g.Y != w.Y || g.X != w.X || g.Field != w.Field || g.Window != w.Window ||
				len(g.Projection) != len(w.Projection) {
				t.Fatalf("%s map %d epoch %d: %+v; want %+v", layer, got.Maps[i], got.Epochs[j], g, w)
			}
			for p := range g.Projection {
				if math.Abs(float64(g.Projection[p]-w.Projection[p])) > 1e-4*(1+math.Abs(float64(w.Projection[p]))) {
					t.Fatalf("%s map %d epoch %d: projection differs at %d", layer, got.Maps[i], got.Epochs[j], p)
				}
			}
		}
	}
	if got.Image().Bounds() != want.Image().Bounds() {
		t.Fatalf("%s: figure %v; want %v", layer, got.Image().Bounds(), want.Image().Bounds())
	}
}
