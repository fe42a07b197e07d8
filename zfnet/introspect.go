package zfnet

import (
	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/nn"
)

// The layers the paper and the methods after it refer to by role rather
// than by name: "layer 5" (the top convolutional stage), "layer 7" (the
// last hidden fully connected layer), the logits, the layer-1 filters.
// They are found from the layer list, so every architecture of the table
// (and an imported one) answers, whatever its names.

// TopConvLayer names the last convolution ("conv5" in ZFNet); the
// deconvnet reads its rectified output. It is "" for a model without
// convolutions.
func (m *Model) TopConvLayer() string {
	name := ""
	for _, l := range m.layers {
		if _, ok := l.(*nn.Conv2d); ok {
			name = l.Name()
		}
	}
	return name
}

// TopConvOutput names the output of the last convolutional stage: the
// first pooling layer after the last convolution ("pool5") when there is
// one before the fully connected layers, otherwise the convolution.
func (m *Model) TopConvOutput() string {
	top := m.TopConvLayer()
	_, i := m.Layer(top)
	for _, l := range m.layers[i+1:] {
		switch l.(type) {
		case *nn.MaxPool, *nn.AvgPool:
			return l.Name()
		case *nn.Linear:
			return top
		}
	}
	return top
}

// PenultimateLayer names the last hidden fully connected layer (fc7 in
// ZFNet and zfnet-small), the paper's "layer 7"; with a single fully
// connected layer it falls back to TopConvOutput.
func (m *Model) PenultimateLayer() string {
	var linear []string
	for _, l := range m.layers {
		if _, ok := l.(*nn.Linear); ok {
			linear = append(linear, l.Name())
		}
	}
	if len(linear) >= 2 {
		return linear[len(linear)-2]
	}
	return m.TopConvOutput()
}

// LogitsLayer names the model's last layer, whose output is the class
// scores before the softmax ("fc8" in ZFNet); "" for a model without
// layers.
func (m *Model) LogitsLayer() string {
	if len(m.layers) == 0 {
		return ""
	}
	return m.layers[len(m.layers)-1].Name()
}

// FirstFilters is the weight of the model's first convolution (the
// layer-1 filters of the paper's Fig. 6), shared with the model: do not
// modify it.
func (m *Model) FirstFilters() (*nn.Param, error) {
	if m == nil {
		return nil, errors.New("filters: nil model")
	}
	for _, l := range m.layers {
		if c, ok := l.(*nn.Conv2d); ok {
			return c.Weight, nil
		}
	}
	return nil, errors.Errorf("filters: %s has no convolution", m.Arch.Name)
}
