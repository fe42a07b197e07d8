package deconvnet

import "github.com/pkg/errors"

// A Net runs batches of a fixed size (its graphs are built for it), while
// experiments and the methods feed any number of inputs: an occlusion grid,
// transformed copies, noisy samples. ForwardEach does the batching once for
// all of them, and ActivationRow reads one input's features back while its
// batch is current.

// ForwardEach feeds n inputs (input(i, dst) writes input i, C x H x W of
// the model input, into dst) through the network Batch at a time, padding
// the last batch with copies of its first input (the graph has a fixed
// batch size), and calls visit for every real input while its batch's
// activations are current: slot is its row in the batch and logits its
// row of the logits (a view, valid until the next forward pass). Inputs
// are visited in order; the first error stops the run and is returned.
func (d *Net) ForwardEach(n int, input func(i int, dst []float32) error, visit func(i, slot int, logits []float32) error) error {
	in := d.Model.Arch.Input
	size, k := in[0]*in[1]*in[2], d.Model.Arch.Classes
	buf := make([]float32, d.Batch*size)
	for start := 0; start < n; start += d.Batch {
		end := min(start+d.Batch, n)
		for i := start; i < end; i++ {
			if err := input(i, buf[(i-start)*size:(i-start+1)*size]); err != nil {
				return err
			}
		}
		for s := end - start; s < d.Batch; s++ {
			copy(buf[s*size:(s+1)*size], buf[:size])
		}
		logits, err := d.Forward(buf)
		if err != nil {
			return err
		}
		for i := start; i < end; i++ {
			s := i - start
			if err := visit(i, s, logits[s*k:(s+1)*k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// ActivationRow is one batch row of a layer's latest activations (the
// layer resolved as in Activation), flattened: a view, to copy to keep
// past the next forward pass.
func (d *Net) ActivationRow(layer string, slot int) ([]float32, error) {
	act, err := d.Activation(layer)
	if err != nil {
		return nil, err
	}
	a := act.Data().([]float32)
	per := len(a) / d.Batch
	if slot < 0 || slot >= d.Batch {
		return nil, errors.Errorf("batch row %d of %d", slot, d.Batch)
	}
	return a[slot*per : (slot+1)*per], nil
}
