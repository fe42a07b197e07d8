package nn

import (
	"gorgonia.org/tensor"
)

// Param is a named learnable tensor. Its Value is the one backing store every
// graph binds to; replace its contents (copy), never the tensor itself.
type Param struct {
	Name  string // PyTorch state_dict key, e.g. "conv1.weight"
	Value *tensor.Dense
	// Decay says whether weight decay applies (weights yes, biases no).
	Decay bool
	// Filters marks convolution weights, which the paper renormalizes per
	// filter when their RMS exceeds a radius.
	Filters bool
}

// NewParam allocates a zero float32 parameter.
func NewParam(name string, decay, filters bool, shape ...int) *Param {
	return &Param{Name: name, Value: tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...)), Decay: decay, Filters: filters}
}

// Data is the parameter's float32 backing slice.
func (p *Param) Data() []float32 { return p.Value.Data().([]float32) }
