package zfnet

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/zfnet/weights"
)

// SaveWeights writes the parameters to path as a NumPy .npz keyed by
// PyTorch state_dict names (conv1.weight, ..., fc8.bias), float32, so that
// numpy.load(path) reads it and
// model.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(path).items()})
// loads it into the same architecture in PyTorch.
func (m *Model) SaveWeights(path string) error {
	return weights.WriteArchive(path, m.weightMembers())
}

// weightMembers are the parameters as archive members, in layer order
// under their state_dict names.
func (m *Model) weightMembers() []weights.Member {
	ms := make([]weights.Member, len(m.params))
	for i, p := range m.params {
		ms[i] = weights.Member{Name: p.Name, Shape: []int(p.Value.Shape()), Data: p.Data()}
	}
	return ms
}

// LoadWeights reads an .npz written by SaveWeights or from a PyTorch
// state_dict (np.savez(path, **{k: v.numpy() for k, v in sd.items()})) and
// copies it into the parameters. Every name, shape and dtype is checked
// first; any mismatch is an error listing all of them, and then no weight
// is changed.
func (m *Model) LoadWeights(path string) error {
	f, err := weights.ReadArchive(path)
	if err != nil {
		return err
	}
	return m.loadArrays(f, false)
}

// loadArrays copies an archive's arrays into the parameters through
// loadChecked, strictly: every parameter must have been stored as float32,
// and the archive may hold nothing else (a checkpoint's velocities and mean
// are expected there and skipped).
func (m *Model) loadArrays(f *weights.Archive, checkpoint bool) error {
	arrays := make(map[string]*weights.Array, len(m.params))
	for _, p := range m.params {
		if a, ok := f.Arrays.ByName[p.Name]; ok {
			arrays[p.Name] = a
		} else if ia, ok := f.Ints.ByName[p.Name]; ok {
			arrays[p.Name] = &weights.Array{Shape: ia.Shape, DType: ia.DType} // refused for its dtype
		}
	}
	var extra []string
	for _, n := range archiveNames(f) {
		if m.Param(n) == nil && !(checkpoint && (n == "mean" || strings.HasPrefix(n, "velocity/"))) {
			extra = append(extra, fmt.Sprintf("%s: not a parameter of %s", n, m.Arch.Name))
		}
	}
	return m.loadChecked(f.Path, arrays, true, extra)
}

// loadChecked is the one all-or-nothing check every weight load goes
// through: arrays (parameter name -> a format-neutral array, whatever file
// it came from) must hold every parameter at its shape, and, when
// float32Only, stored as float32. extra are further problems the caller
// found (names the model lacks). On any problem the error lists them all and
// no weight is changed; otherwise each array is copied into its parameter's
// shared tensor, which every graph bound to the model sees.
func (m *Model) loadChecked(path string, arrays map[string]*weights.Array, float32Only bool, extra []string) error {
	var problems []string
	for _, p := range m.params {
		a := arrays[p.Name]
		switch {
		case a == nil:
			problems = append(problems, fmt.Sprintf("%s: missing", p.Name))
		case float32Only && a.DType != "float32":
			problems = append(problems, fmt.Sprintf("%s: dtype %s, expected float32", p.Name, a.DType))
		case !slices.Equal(a.Shape, []int(p.Value.Shape())):
			problems = append(problems, fmt.Sprintf("%s: shape %v, expected %v", p.Name, a.Shape, []int(p.Value.Shape())))
		}
	}
	problems = append(problems, extra...)
	if len(problems) > 0 {
		return errors.Errorf("%s does not fit %s:\n  %s", path, m.Arch, strings.Join(problems, "\n  "))
	}
	for _, p := range m.params {
		copy(p.Data(), arrays[p.Name].Data)
	}
	return nil
}

// archiveNames lists f's float and integer arrays by name, sorted.
func archiveNames(f *weights.Archive) []string {
	n := append(append([]string(nil), f.Arrays.Names...), f.Ints.Names...)
	sort.Strings(n)
	return n
}
