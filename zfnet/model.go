package zfnet

import (
	"fmt"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"

	"github.com/zfnet/zfnet/graph"
	"github.com/zfnet/zfnet/nn"
)

// Model is a network built from an Arch: its layers in order and their
// parameters. It holds no graph; Trainer, Predictor and the deconvnet each
// build one bound to the same parameter tensors.
type Model struct {
	Arch   Arch
	Layers []nn.Layer
	// Shapes[i] is the (C, H, W) output of Layers[i].
	Shapes [][3]int
	params []*nn.Param
}

// New builds a model and checks that every layer fits the one before: a
// mismatch (an input too small for a kernel, a wrong channel count) is an
// error naming the layer. Parameters start at zero; call Init.
func New(a Arch) (*Model, error) {
	if a.Input[0] < 1 || a.Input[1] < 1 || a.Input[2] < 1 || a.Classes < 1 {
		return nil, errors.Errorf("architecture %s: input %v and classes %d must be positive", a.Name, a.Input, a.Classes)
	}
	if len(a.FCs) == 0 {
		return nil, errors.Errorf("architecture %s: needs at least one fully connected layer", a.Name)
	}
	m := &Model{Arch: a}
	shape := a.Input
	add := func(l nn.Layer) error {
		s, err := l.OutShape(shape)
		if err != nil {
			return errors.Wrapf(err, "architecture %s with input %dx%dx%d", a.Name, a.Input[0], a.Input[1], a.Input[2])
		}
		if s[1] < 1 || s[2] < 1 {
			return errors.Errorf("architecture %s with input %dx%dx%d: layer %s output %v is empty; the input is too small",
				a.Name, a.Input[0], a.Input[1], a.Input[2], l.Name(), s)
		}
		m.Layers, m.Shapes, shape = append(m.Layers, l), append(m.Shapes, s), s
		m.params = append(m.params, l.Params()...)
		return nil
	}
	for i, c := range a.Convs {
		k := i + 1
		steps := []nn.Layer{nn.NewConv2d(fmt.Sprintf("conv%d", k), shape[0], c.Out, c.Kernel, c.Stride, c.Pad), &nn.ReLU{ID: fmt.Sprintf("relu%d", k)}}
		if c.LRN {
			steps = append(steps, &nn.LRN{ID: fmt.Sprintf("norm%d", k), P: graph.DefaultLRN})
		}
		if c.Pool != nil {
			steps = append(steps, &nn.MaxPool{ID: fmt.Sprintf("pool%d", k), Kernel: c.Pool.Kernel, Stride: c.Pool.Stride, Pad: c.Pool.Pad})
		}
		for _, l := range steps {
			if err := add(l); err != nil {
				return nil, err
			}
		}
	}
	for i, f := range a.FCs {
		k := len(a.Convs) + 1 + i
		out, last := f.Out, i == len(a.FCs)-1
		if last {
			out = a.Classes
		}
		in := shape[0] * shape[1] * shape[2]
		steps := []nn.Layer{nn.NewLinear(fmt.Sprintf("fc%d", k), in, out)}
		if !last {
			steps = append(steps, &nn.ReLU{ID: fmt.Sprintf("relu%d", k)}, &nn.Dropout{ID: fmt.Sprintf("drop%d", k), P: f.Dropout})
		}
		for _, l := range steps {
			if err := add(l); err != nil {
				return nil, err
			}
		}
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
	for i, l := range m.Layers {
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
	outs := make(map[string]*G.Node, len(m.Layers))
	h := x
	for _, l := range m.Layers {
		var err error
		if h, err = l.Forward(b, h); err != nil {
			return nil, nil, errors.Wrapf(err, "building %s", m.Arch.Name)
		}
		outs[l.Name()] = h
	}
	return h, outs, nil
}
