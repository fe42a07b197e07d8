package zfnet

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/zfnet/weights"
)

// TrainState is where a run stands: everything besides weights, velocities
// and the mean that an exact resume needs.
type TrainState struct {
	Config RunConfig `json:"config"`
	Arch   Arch      `json:"arch"`
	// ClassNames are the training set's class names in label order, so
	// that every command prints names, not indices (empty in checkpoints
	// written before they were recorded).
	ClassNames []string `json:"class_names,omitempty"`
	// Epoch and Batch locate the next batch to train on (Batch 0 of Epoch
	// when the checkpoint closes an epoch).
	Epoch, Batch int
	Step         int64   // optimizer steps so far
	LR           float64 // the current, possibly annealed, learning rate
	BestValLoss  float64
	BadEpochs    int // epochs since BestValLoss improved
	// Dropout forward-pass counters by layer: their masks are a function
	// of (seed, counter).
	DropoutSteps map[string]uint64
	// Running sums of the epoch in progress.
	EpochLoss            float64
	EpochCorrect, EpochN int
	EpochSeconds         float64
	History              []EpochMetrics
}

// Checkpoint is a state plus the model and solver tensors it belongs to.
type Checkpoint struct {
	State TrainState
	Model *Model
	SGD   *SGD
	Mean  *data.Mean
}

const stateMember = "state.json"

// Save writes the checkpoint as one .npz archive, atomically: parameters
// under their state_dict names (so numpy.load and LoadWeights read it like a
// weights file), velocities under "velocity/NAME", the mean image under
// "mean", and the state as JSON.
func (c *Checkpoint) Save(path string) error {
	st, err := json.MarshalIndent(c.State, "", "  ")
	if err != nil {
		return errors.Wrap(err, "encoding the training state")
	}
	ms := c.Model.weightMembers()
	for _, p := range c.Model.Params() {
		if v := c.SGD.Velocity[p.Name]; v != nil {
			ms = append(ms, weights.Member{Name: "velocity/" + p.Name, Shape: []int(p.Value.Shape()), Data: v})
		}
	}
	if c.Mean != nil {
		ms = append(ms, weights.Member{Name: "mean", Shape: []int{c.Mean.C, c.Mean.H, c.Mean.W}, Data: c.Mean.Pix})
	}
	ms = append(ms, weights.Member{Name: stateMember, Raw: st})
	return weights.WriteArchive(path, ms)
}

// LoadCheckpoint reads a checkpoint and rebuilds its model, solver and mean.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	f, err := weights.ReadArchive(path)
	if err != nil {
		return nil, err
	}
	return checkpointFrom(f)
}

// checkpointFrom rebuilds a checkpoint from a read archive.
func checkpointFrom(f *weights.Archive) (*Checkpoint, error) {
	path := f.Path
	raw, ok := f.Raw[stateMember]
	if !ok {
		return nil, errors.Errorf("%s: no %s member: a weights file, not a checkpoint (use --weights)", path, stateMember)
	}
	c := &Checkpoint{}
	var err error
	if err = json.Unmarshal(raw, &c.State); err != nil {
		return nil, errors.Wrapf(err, "%s: %s", path, stateMember)
	}
	if c.Model, err = New(c.State.Arch); err != nil {
		return nil, errors.Wrapf(err, "%s", path)
	}
	if err := c.Model.loadArrays(f, true); err != nil {
		return nil, err
	}
	c.SGD = c.State.Config.newSGD(c.State.LR)
	for _, p := range c.Model.Params() {
		if v, ok := f.Arrays.ByName["velocity/"+p.Name]; ok {
			if len(v.Data) != len(p.Data()) {
				return nil, errors.Errorf("%s: velocity/%s has %d values, expected %d", path, p.Name, len(v.Data), len(p.Data()))
			}
			c.SGD.Velocity[p.Name] = v.Data
		}
	}
	if m, ok := f.Arrays.ByName["mean"]; ok {
		if len(m.Shape) != 3 {
			return nil, errors.Errorf("%s: mean has shape %v, expected (C, H, W)", path, m.Shape)
		}
		c.Mean = &data.Mean{C: m.Shape[0], H: m.Shape[1], W: m.Shape[2], Pix: m.Data}
	}
	return c, nil
}

// LoadModel opens either a checkpoint or a weights file. A weights file
// needs the architecture (arch, input geometry and classes) from the caller;
// a checkpoint carries its own and its mean image.
func LoadModel(path string, arch Arch) (*Model, *data.Mean, error) {
	f, err := weights.ReadArchive(path)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := f.Raw[stateMember]; ok {
		c, err := checkpointFrom(f)
		if err != nil {
			return nil, nil, err
		}
		return c.Model, c.Mean, nil
	}
	m, err := New(arch)
	if err != nil {
		return nil, nil, err
	}
	if err := m.loadArrays(f, false); err != nil {
		return nil, nil, err
	}
	mean, err := MeanBeside(path)
	return m, mean, err
}

// MeanBeside reads the mean image a run folder keeps beside a weights file
// (mean.npy in its folder, or one folder up for snapshots); nil when there
// is none.
func MeanBeside(path string) (*data.Mean, error) {
	dir := filepath.Dir(path)
	for _, mp := range []string{filepath.Join(dir, MeanFile), filepath.Join(filepath.Dir(dir), MeanFile)} {
		if fileExists(mp) {
			return data.LoadNpy(mp)
		}
	}
	return nil, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
