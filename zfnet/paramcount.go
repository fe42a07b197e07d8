package zfnet

import "github.com/pkg/errors"

// ParamCount is the number of parameters (weights and biases) of the
// architecture, computed from its layer list and input geometry without
// allocating anything: a convolution has Out*(In/Groups)*Kernel^2 weights
// and Out biases, a linear layer Out*In weights and Out biases, every other
// layer none. It is an error when the layers do not fit the input (as New
// would say) or the count overflows an int64.
func (a Arch) ParamCount() (int64, error) {
	seq := a.Sequence()
	shapes, err := specShapes(a.Input, a.Classes, seq)
	if err != nil {
		return 0, errors.Wrapf(err, "architecture %s", a.Name)
	}
	var total int64
	in := a.Input
	add := func(name string, terms ...int) error {
		n := int64(1)
		for _, t := range terms {
			if t < 0 || (t > 0 && n > (1<<62)/int64(t)) {
				return errors.Errorf("architecture %s: layer %s: parameter count overflows", a.Name, name)
			}
			n *= int64(t)
		}
		if total > 1<<62-n {
			return errors.Errorf("architecture %s: layer %s: parameter count overflows", a.Name, name)
		}
		total += n
		return nil
	}
	for i, l := range seq {
		out := shapes[i]
		switch l.Kind {
		case KindConv:
			g := max(l.Groups, 1)
			if in[0]%g != 0 || out[0]%g != 0 {
				return 0, errors.Errorf("architecture %s: layer %s: %d input and %d output maps do not split into %d groups", a.Name, l.Name, in[0], out[0], g)
			}
			if err := add(l.Name, out[0], in[0]/g, l.Kernel, l.Kernel); err != nil {
				return 0, err
			}
			if err := add(l.Name, out[0]); err != nil {
				return 0, err
			}
		case KindLinear:
			if err := add(l.Name, out[0], in[0], in[1], in[2]); err != nil {
				return 0, err
			}
			if err := add(l.Name, out[0]); err != nil {
				return 0, err
			}
		}
		in = out
	}
	return total, nil
}
