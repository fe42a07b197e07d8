package index

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/experiments"
)

// Snapshot is one epoch of a run for the paper's Fig. 4 read from
// indexes: the weights the run saved at that epoch and the index built
// with them (zfnet index build --weights <run>/snapshots/epoch-NNN.npz).
type Snapshot struct {
	Epoch   int
	Weights string // a weights file zfnet.Model.LoadWeights reads
	Index   *Index
}

// SnapshotDir is the folder under an indexes folder that holds the index
// of the snapshot of this epoch: epoch-NNN, the snapshot file's own name
// without .npz, so that
//
//	for s in run/snapshots/epoch-*.npz; do
//	  zfnet index build --weights $s ... --out indexes/$(basename $s .npz)
//	done
//
// (or zfnet index build --snapshots run --out indexes) lays them out.
func SnapshotDir(indexes string, epoch int) string {
	return filepath.Join(indexes, fmt.Sprintf("epoch-%03d", epoch))
}

// ReadSnapshots pairs every weight snapshot of a run (experiments.
// SnapshotFiles: <run>/snapshots/epoch-NNN.npz) with its index under
// indexes (SnapshotDir) and reads them, in epoch order. A snapshot without
// an index is an error naming the folder it looked for and the command
// that builds it: a figure silently missing epochs would mislead.
func ReadSnapshots(runDir, indexes string) ([]Snapshot, error) {
	paths, epochs, err := experiments.SnapshotFiles(runDir)
	if err != nil {
		return nil, err
	}
	snaps := make([]Snapshot, len(paths))
	var missing []string
	for i, p := range paths {
		dir := SnapshotDir(indexes, epochs[i])
		if _, err := os.Stat(filepath.Join(dir, "index.json")); os.IsNotExist(err) {
			missing = append(missing, dir)
			continue
		}
		ix, err := Read(dir)
		if err != nil {
			return nil, errors.Wrapf(err, "index of the epoch-%03d snapshot", epochs[i])
		}
		snaps[i] = Snapshot{Epoch: epochs[i], Weights: p, Index: ix}
	}
	if len(missing) > 0 {
		return nil, errors.Errorf("%d of the %d snapshots of %s have no index (%s): build them with zfnet index build --snapshots %s --out %s",
			len(missing), len(paths), runDir, missing[0], runDir, indexes)
	}
	return snaps, nil
}

// Evolution draws the paper's Fig. 4 (Section 4.2: "the strongest
// activation (across all training examples) within a given feature map
// projected back to pixel space", at several epochs) from one index per
// snapshot, so the search over the whole training set is the indexes'
// (built once, sharded or on Beam) and only the winners are run again.
//
// For each snapshot, d's model is given the snapshot's weights, which the
// index must belong to (Check: the same parameters, preprocessing, mean
// and examples of src), and each chosen unit's strongest entry (the
// index's first) is projected from its stored position and cropped to its
// receptive field; the recomputed activation is compared with the stored
// one as in TopK (warn). maps nil chooses the (at most) eight units with
// the strongest activation under the last snapshot, ties to the lower
// unit. The result is experiments.Evolution's: the same cells as its scan
// over the same examples gives (tested), drawn by Evolved.Image. d's model
// gets its own weights back before Evolution returns.
func Evolution(d *deconvnet.Net, snaps []Snapshot, src data.Source, cfg data.LoaderConfig, layer string, maps []int, opt deconvnet.Options, warn func(string)) (*experiments.Evolved, error) {
	l, err := evolutionLayer(d, snaps, layer, maps)
	if err != nil {
		return nil, err
	}
	if maps == nil {
		maps = strongestUnits(snaps[len(snaps)-1].Index, l.Name, 8)
	}
	saved := make([][]float32, len(d.Model.Params()))
	for i, p := range d.Model.Params() {
		saved[i] = slices.Clone(p.Data())
	}
	defer func() {
		for i, p := range d.Model.Params() {
			copy(p.Data(), saved[i])
		}
	}()
	ev := &experiments.Evolved{Layer: layer, Maps: slices.Clone(maps), Epochs: make([]int, len(snaps)),
		C: d.Model.Arch.Input[0], Cells: make([][]experiments.EvolutionCell, len(maps))}
	for i := range ev.Cells {
		ev.Cells[i] = make([]experiments.EvolutionCell, len(snaps))
	}
	for j, s := range snaps {
		ev.Epochs[j] = s.Epoch
		if err := evolutionColumn(d, s, src, cfg, l, maps, opt, warn, ev, j); err != nil {
			return nil, errors.Wrapf(err, "evolution: epoch %d", s.Epoch)
		}
	}
	return ev, nil
}

// evolutionLayer checks the snapshots and maps and returns the layer as
// the indexes describe it (the same in every one).
func evolutionLayer(d *deconvnet.Net, snaps []Snapshot, layer string, maps []int) (Layer, error) {
	if d == nil {
		return Layer{}, errors.New("evolution: nil deconvnet")
	}
	if len(snaps) == 0 {
		return Layer{}, errors.New("evolution: no snapshots")
	}
	var l Layer
	for j, s := range snaps {
		if s.Index == nil {
			return Layer{}, errors.Errorf("evolution: epoch %d has no index", s.Epoch)
		}
		li := s.Index.LayerIndex(layer)
		if li < 0 {
			return Layer{}, errors.Errorf("evolution: the index of epoch %d has no layer %s (it has %s)", s.Epoch, layer, joinNames(s.Index.Layers))
		}
		if j == 0 {
			l = s.Index.Layers[li]
		} else if s.Index.Layers[li] != l {
			return Layer{}, errors.Errorf("evolution: layer %s of epoch %d's index is %+v, of epoch %d's %+v: indexes of one run's model expected",
				layer, s.Epoch, s.Index.Layers[li], snaps[0].Epoch, l)
		}
	}
	for _, m := range maps {
		if m < 0 || m >= l.Units {
			return Layer{}, errors.Errorf("evolution: layer %s has %d units (0 to %d), asked for %d", layer, l.Units, l.Units-1, m)
		}
	}
	return l, nil
}

// strongestUnits are the (at most n) units of layer with the largest
// first entry in ix, strongest first, ties to the lower unit; units
// without entries come last.
func strongestUnits(ix *Index, layer string, n int) []int {
	es := ix.Entries[ix.LayerIndex(layer)]
	top := func(u int) float32 {
		if len(es[u]) == 0 {
			return 0
		}
		return es[u][0].Value
	}
	order := make([]int, len(es))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch va, vb := top(a), top(b); {
		case va > vb:
			return -1
		case va < vb:
			return 1
		}
		return 0
	})
	return order[:min(n, len(order))]
}

// evolutionColumn fills column j of ev from snapshot s: its weights
// loaded, its index checked against them, each chosen unit's strongest
// entry drawn. A unit without entries (it never fired) keeps an empty
// cell, as in experiments.Evolution.
func evolutionColumn(d *deconvnet.Net, s Snapshot, src data.Source, cfg data.LoaderConfig, l Layer, maps []int, opt deconvnet.Options, warn func(string), ev *experiments.Evolved, j int) error {
	if err := d.Model.LoadWeights(s.Weights); err != nil {
		return err
	}
	if err := s.Index.Check(d, src, cfg); err != nil {
		return errors.Wrapf(err, "the index of %s", s.Weights)
	}
	es := s.Index.Entries[s.Index.LayerIndex(l.Name)]
	hits := make([][]experiments.Hit, len(maps))
	var ws []indexedHit
	for mi, m := range maps {
		ev.Cells[mi][j] = experiments.EvolutionCell{Window: l.Field}
		if len(es[m]) > 0 {
			hits[mi] = make([]experiments.Hit, 1)
			ws = append(ws, indexedHit{mi, 0, es[m][0]})
		}
	}
	slices.SortStableFunc(ws, func(a, b indexedHit) int { return a.e.Example - b.e.Example })
	if err := drawHits(d, src, cfg, l, maps, ws, opt, warn, hits); err != nil {
		return err
	}
	for mi := range maps {
		if hits[mi] == nil {
			continue
		}
		h := hits[mi][0]
		ev.Cells[mi][j] = experiments.EvolutionCell{Value: h.Value, Image: h.Index, Y: h.Y, X: h.X, Field: h.Field,
			Window: l.Field, Projection: h.Projection}
	}
	return nil
}
