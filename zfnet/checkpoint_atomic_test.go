package zfnet

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/data/testenv"
)

// smallCheckpoint is a checkpoint of a tiny linear model whose weights
// are all v.
func smallCheckpoint(t *testing.T, v float32) *Checkpoint {
	t.Helper()
	m := linearNet(t, 2, 2, [][]float32{{v, v, v, v}, {v, v, v, v}}, []float32{v, v})
	s := &SGD{LR: 0.1, Velocity: map[string][]float32{}}
	for _, p := range m.Params() {
		vel := make([]float32, len(p.Data()))
		for i := range vel {
			vel[i] = v / 2
		}
		s.Velocity[p.Name] = vel
	}
	return &Checkpoint{Model: m, SGD: s, Mean: &data.Mean{C: 1, H: 2, W: 2, Pix: []float32{v, v, v, v}},
		State: TrainState{Arch: m.Arch, LR: 0.1, Step: int64(v), DropoutSteps: map[string]uint64{}}}
}

// assertOnlyCheckpoint checks that dir holds exactly the checkpoint, with
// the bytes it had, loadable with the weights and step of the first save.
func assertOnlyCheckpoint(t *testing.T, dir, path string, before []byte, v float32) {
	t.Helper()
	if after := testenv.OnlyFile(t, dir, path); !bytes.Equal(before, after) {
		t.Errorf("the previous checkpoint changed (%d bytes, now %d)", len(before), len(after))
	}
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatalf("the previous checkpoint is unreadable: %v", err)
	}
	if ck.State.Step != int64(v) || ck.Model.Param("fc2.weight").Data()[0] != v || ck.SGD.Velocity["fc2.bias"][1] != v/2 {
		t.Errorf("loaded step %d, fc2.weight[0] %v, velocity %v; want the first save's %v", ck.State.Step,
			ck.Model.Param("fc2.weight").Data()[0], ck.SGD.Velocity["fc2.bias"], v)
	}
}

// TestCheckpointSaveIsAtomic: a save that fails halfway leaves the previous
// checkpoint in place, unchanged and loadable, and no temporary file.
// Two failures: Checkpoint.Save fails on its last member, after the weights
// are written (a velocity of the wrong size); the final rename fails (the
// destination is a folder). A writer that fails halfway is
// data/atomicfile's test.
func TestCheckpointSaveIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, CheckpointFile)
	if err := smallCheckpoint(t, 1).Save(path); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("checkpoint mode %v (%v), want 0644", fi.Mode().Perm(), err)
	}
	assertOnlyCheckpoint(t, dir, path, before, 1)

	// Save fails on its last member.
	bad := smallCheckpoint(t, 3)
	bad.SGD.Velocity["fc2.bias"] = []float32{1, 2, 3}
	if err := bad.Save(path); err == nil {
		t.Error("a checkpoint with a velocity of the wrong size saved without an error")
	}
	assertOnlyCheckpoint(t, dir, path, before, 1)

	// The rename fails: the destination is a non-empty folder.
	dest := filepath.Join(dir, "taken")
	if err := os.MkdirAll(filepath.Join(dest, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := smallCheckpoint(t, 4).Save(dest); err == nil {
		t.Error("saving over a non-empty folder succeeded")
	}
	os.RemoveAll(dest)
	assertOnlyCheckpoint(t, dir, path, before, 1)

	// And a save that succeeds replaces it.
	if err := smallCheckpoint(t, 5).Save(path); err != nil {
		t.Fatal(err)
	}
	now, _ := os.ReadFile(path)
	assertOnlyCheckpoint(t, dir, path, now, 5)
}
