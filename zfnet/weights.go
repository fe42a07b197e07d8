package zfnet

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pkg/errors"
)

// SaveWeights writes the parameters to path as a NumPy .npz keyed by
// PyTorch state_dict names (conv1.weight, ..., fc8.bias), float32, so that
// numpy.load(path) reads it and
// model.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(path).items()})
// loads it into the same architecture in PyTorch.
func (m *Model) SaveWeights(path string) error {
	return writeNpzAtomic(path, m.weightEntries(""))
}

func (m *Model) weightEntries(prefix string) []npzEntry {
	es := make([]npzEntry, len(m.params))
	for i, p := range m.params {
		es[i] = npzEntry{Name: prefix + p.Name, Shape: []int(p.Value.Shape()), Data: p.Data()}
	}
	return es
}

// LoadWeights reads an .npz written by SaveWeights or from a PyTorch
// state_dict (np.savez(path, **{k: v.numpy() for k, v in sd.items()})) and
// copies it into the parameters. Every name, shape and dtype is checked
// first; any mismatch is an error listing all of them, and then no weight
// is changed.
func (m *Model) LoadWeights(path string) error {
	f, err := readNpz(path)
	if err != nil {
		return err
	}
	return m.loadArrays(f, false)
}

// loadArrays copies f's arrays into the parameters; a checkpoint's extra
// members (velocities, the mean) are expected there and skipped.
func (m *Model) loadArrays(f *npzFile, checkpoint bool) error {
	var problems []string
	seen := map[string]bool{}
	for _, p := range m.params {
		a, ok := f.Arrays[p.Name]
		seen[p.Name] = true
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: missing", p.Name))
		case a.Descr != "<f4":
			problems = append(problems, fmt.Sprintf("%s: dtype %s, expected float32 ('<f4')", p.Name, a.Descr))
		case !sameShape(a.Shape, p.Value.Shape()):
			problems = append(problems, fmt.Sprintf("%s: shape %v, expected %v", p.Name, a.Shape, []int(p.Value.Shape())))
		}
	}
	for _, n := range f.names() {
		if !seen[n] && !(checkpoint && (n == "mean" || strings.HasPrefix(n, "velocity/"))) {
			problems = append(problems, fmt.Sprintf("%s: not a parameter of %s", n, m.Arch.Name))
		}
	}
	if len(problems) > 0 {
		return errors.Errorf("%s does not fit %s:\n  %s", f.Path, m.Arch, strings.Join(problems, "\n  "))
	}
	for _, p := range m.params {
		copy(p.Data(), f.Arrays[p.Name].Data) // into the shared tensor: every graph sees it
	}
	return nil
}

// sameShape compares a file's shape with a parameter's.
func sameShape(a []int, b []int) bool { return slices.Equal(a, b) }
