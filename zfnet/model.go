package zfnet

import (
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"

	"github.com/zfnet/zfnet/nn"
)

// Model is a network built from an Arch: its layers in order and their
// parameters. It holds no graph; Trainer, Predictor and the deconvnet each
// build one bound to the same parameter tensors.
type Model struct {
	Arch   Arch
	layers []nn.Layer
	// shapes[i] is the (C, H, W) output of layers[i].
	shapes [][3]int
	params []*nn.Param
}

// Layers lists the layers in order. The slice is a copy: a model's layer
// list is fixed by New, and the graphs built from it rely on that.
func (m *Model) Layers() []nn.Layer { return append([]nn.Layer(nil), m.layers...) }

// LayerAt is layer i, in order (the list Layers copies); it panics, like a
// slice, when i is out of range.
func (m *Model) LayerAt(i int) nn.Layer { return m.layers[i] }

// NumLayers is len(m.Layers()) without the copy.
func (m *Model) NumLayers() int { return len(m.layers) }

// Shapes lists each layer's (C, H, W) output, in layer order (a copy).
func (m *Model) Shapes() [][3]int { return append([][3]int(nil), m.shapes...) }

// Shape is layer i's (C, H, W) output; it panics, like a slice, when i is
// out of range.
func (m *Model) Shape(i int) [3]int { return m.shapes[i] }

// New builds a model from a.Sequence() and checks that every layer fits
// the one before: a mismatch (an input too small for a kernel, a wrong
// channel count, maps that do not split into groups) is an error naming the
// layer. The last layer must be linear: it outputs the logits. Parameters
// start at zero; call Initialize or load weights.
func New(a Arch) (*Model, error) {
	if a.Input[0] < 1 || a.Input[1] < 1 || a.Input[2] < 1 || a.Classes < 1 {
		return nil, errors.Errorf("architecture %s: input %v and classes %d must be positive", a.Name, a.Input, a.Classes)
	}
	seq := a.Sequence()
	if len(seq) == 0 || seq[len(seq)-1].Kind != KindLinear {
		return nil, errors.Errorf("architecture %s: the last layer must be linear (the logits)", a.Name)
	}
	m := &Model{Arch: a}
	shape := a.Input
	for i, spec := range seq {
		if spec.Kind == KindLinear && spec.Out == 0 && i != len(seq)-1 {
			return nil, errors.Errorf("architecture %s: layer %s: only the last linear layer may leave its width to the class count", a.Name, spec.Name)
		}
		l, err := spec.layer(shape, a.Classes)
		if err != nil {
			return nil, errors.Wrapf(err, "architecture %s", a.Name)
		}
		s, err := l.OutShape(shape)
		if err != nil {
			return nil, errors.Wrapf(err, "architecture %s with input %dx%dx%d", a.Name, a.Input[0], a.Input[1], a.Input[2])
		}
		if s[1] < 1 || s[2] < 1 {
			return nil, errors.Errorf("architecture %s with input %dx%dx%d: layer %s output %v is empty; the input is too small",
				a.Name, a.Input[0], a.Input[1], a.Input[2], l.Name(), s)
		}
		m.layers, m.shapes, shape = append(m.layers, l), append(m.shapes, s), s
		m.params = append(m.params, l.Params()...)
	}
	return m, nil
}

// Params lists the parameters in layer order (conv1.weight, conv1.bias, ...).
func (m *Model) Params() []*nn.Param { return m.params }

// Param finds a parameter by its state_dict name.
func (m *Model) Param(name string) *nn.Param {
	for _, p := range m.params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Layer finds a layer by name, with its index.
func (m *Model) Layer(name string) (nn.Layer, int) {
	for i, l := range m.layers {
		if l.Name() == name {
			return l, i
		}
	}
	return nil, -1
}

// InputShape is (C, H, W).
func (m *Model) InputShape() [3]int { return m.Arch.Input }

// Build adds the network after x (N, C, H, W) to b's graph and returns the
// logits (N, classes) and each layer's output node by layer name.
func (m *Model) Build(b *nn.Builder, x *G.Node) (*G.Node, map[string]*G.Node, error) {
	return m.BuildUpTo(b, x, "")
}

// BuildUpTo is Build stopping after layer top ("": the whole network),
// whose output it returns in place of the logits. An unknown top is an
// error listing the layers.
func (m *Model) BuildUpTo(b *nn.Builder, x *G.Node, top string) (*G.Node, map[string]*G.Node, error) {
	if _, i := m.Layer(top); top != "" && i < 0 {
		return nil, nil, missingLayer(m, top)
	}
	outs := make(map[string]*G.Node, len(m.layers))
	h := x
	for _, l := range m.layers {
		var err error
		if h, err = l.Forward(b, h); err != nil {
			return nil, nil, errors.Wrapf(err, "building %s", m.Arch.Name)
		}
		outs[l.Name()] = h
		if l.Name() == top {
			break
		}
	}
	return h, outs, nil
}
