package zfnet

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
)

// initSource is the model a run starts from (RunConfig.InitFrom).
type initSource struct {
	Path    string
	Model   *Model
	Classes []string // the class names it was trained on; nil when unknown
	About   string
}

// openInitSource reads any file Import reads, a checkpoint, or a run folder;
// arch, when given, names the architecture of a weight file whose names fit
// several (Import's Arch).
func openInitSource(path, arch string) (*initSource, error) {
	if st, err := os.Stat(path); err != nil {
		return nil, errors.Errorf("--init-from %s: %v", path, err)
	} else if st.IsDir() {
		ck := filepath.Join(path, CheckpointFile)
		if !fileExists(ck) {
			return nil, errors.Errorf("--init-from %s is a folder without %s: give a weight file or a run folder", path, CheckpointFile)
		}
		path = ck
	}
	src := &initSource{Path: path}
	ck, err := checkpointIn(path)
	if err != nil {
		return nil, errors.Wrapf(err, "--init-from")
	}
	if ck != nil {
		src.Model, src.Classes = ck.Model, ck.State.ClassNames
		src.About = fmt.Sprintf("checkpoint of %s trained on %s", ck.Model.Arch.Name, ck.State.Config.Data)
		return src, nil
	}
	m, info, err := Import(path, ImportOptions{Arch: arch})
	if err != nil {
		return nil, errors.Wrapf(err, "--init-from")
	}
	src.Model = m
	src.About = fmt.Sprintf("%s (%s layout, %s)", m.Arch.Name, info.Layout, info.Format)
	return src, nil
}

// decide fits the file's architecture (or cfg.Arch, when given) to the data
// set as DecideInput does, and refuses an input geometry other than the one
// the weights were trained at.
func (s *initSource) decide(set *data.Set, cfg RunConfig) (*InputDecision, error) {
	a := s.Model.Arch
	if cfg.Arch != a.Name {
		t, err := LookupArch(cfg.Arch)
		if err != nil {
			return nil, errors.Wrapf(err, "--arch %s with --init-from %s", cfg.Arch, s.Path)
		}
		a = t.WithInput(a.Input[0], a.Input[1], a.Input[2], a.Classes)
	}
	in, err := decideInput(a, cfg.Arch, set, cfg)
	if err != nil {
		return nil, err
	}
	if in.Arch.Input != s.Model.Arch.Input {
		have := s.Model.Arch.Input
		return nil, errors.Errorf("--init-from %s takes %dx%dx%d inputs; %s gives %s (%s); choose the weights' geometry with --input-size %d "+
			"(and pictures with %d channels)", s.Path, have[0], have[1], have[2], set.Name, DescribeInput(in.Arch, in.Config), in.Why, have[1], have[0])
	}
	return in, nil
}

// check says whether the last layer must be re-initialized (the class
// count or the class names differ) and refuses what cannot be reconciled:
// a parameter the file lacks or has in another shape, a parameter of the
// file the model has no place for, or a re-initialized last layer that is
// frozen.
func (s *initSource) check(m *Model, classes []string, frozen []string) (reinit bool, err error) {
	head := m.HeadLayer()
	if s.Model.Arch.Classes != m.Arch.Classes {
		reinit = true
	} else if len(s.Classes) > 0 && !slices.Equal(s.Classes, classes) {
		reinit = true
	}
	var problems []string
	for _, p := range m.Params() {
		if layerOfParam(m, p.Name) == head && reinit {
			continue
		}
		q := s.Model.Param(p.Name)
		switch {
		case q == nil:
			problems = append(problems, fmt.Sprintf("%s: not in the file", p.Name))
		case !slices.Equal([]int(q.Value.Shape()), []int(p.Value.Shape())):
			problems = append(problems, fmt.Sprintf("%s: shape %v in the file, %v in %s", p.Name, []int(q.Value.Shape()), []int(p.Value.Shape()), m.Arch.Name))
		}
	}
	for _, q := range s.Model.Params() {
		if m.Param(q.Name) == nil {
			problems = append(problems, fmt.Sprintf("%s: the model has no such parameter", q.Name))
		}
	}
	if len(problems) > 0 {
		return false, errors.Errorf("--init-from %s does not fit %s:\n  %s", s.Path, m.Arch, strings.Join(problems, "\n  "))
	}
	if reinit && slices.Contains(frozen, head) {
		return false, errors.Errorf("--init-from %s: the file's last layer %s has %d classes (%s), the data %d (%s): %s is re-initialized "+
			"and must learn, but --freeze includes it; freeze up to the layer before it (e.g. --freeze %s-%s)",
			s.Path, head, s.Model.Arch.Classes, classList(s.Classes), m.Arch.Classes, classList(classes), head,
			m.ParamLayers()[0], m.ParamLayers()[max(len(m.ParamLayers())-2, 0)])
	}
	return reinit, nil
}

func classList(c []string) string {
	if len(c) == 0 {
		return "names unknown"
	}
	if len(c) > 4 {
		return strings.Join(c[:4], ", ") + ", ..."
	}
	return strings.Join(c, ", ")
}

// copyInto copies the file's weights into m, all but the last layer's when
// it is re-initialized (it keeps m's fresh initialization).
func (s *initSource) copyInto(m *Model, reinit bool) {
	head := m.HeadLayer()
	for _, p := range m.Params() {
		if reinit && layerOfParam(m, p.Name) == head {
			continue
		}
		copy(p.Data(), s.Model.Param(p.Name).Data())
	}
}

// describe is the log line saying what was taken from the file.
func (s *initSource) describe(m *Model, reinit bool, frozen []string) string {
	msg := fmt.Sprintf("initialized from %s: %s", s.Path, s.About)
	if reinit {
		msg += fmt.Sprintf("; last layer %s re-initialized for the data's %d classes (the file's %d: %s)", m.HeadLayer(), m.Arch.Classes, s.Model.Arch.Classes, classList(s.Classes))
	}
	if len(frozen) > 0 {
		msg += "; frozen: " + strings.Join(frozen, ", ")
	}
	return msg
}
