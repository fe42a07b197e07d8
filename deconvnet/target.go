package deconvnet

import (
	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/zfnet"
)

// Target says which activation of a layer to project for one image of the
// batch: one activation of feature map Map (at Y, X, or the map's strongest
// when Strongest is set), or, with WholeMap, the entire map. For fully
// connected layers Map is the unit and Y, X are ignored.
type Target struct {
	Map       int
	Y, X      int
	Strongest bool
	WholeMap  bool
}

// Picked is the activation a Target selected.
type Picked struct {
	Map, Y, X int
	Value     float32
}

// Isolate builds the signal to project from layer: zero everywhere except,
// for image i of the batch, what targets[i] selects (len(targets) <= Batch;
// images beyond it get no signal). It reads the latest Forward's activations.
func (d *Net) Isolate(layer string, targets []Target) ([]float32, []Picked, error) {
	act, err := d.Activation(layer)
	if err != nil {
		return nil, nil, err
	}
	if len(targets) > d.Batch {
		return nil, nil, errors.Errorf("%d targets for a batch of %d", len(targets), d.Batch)
	}
	a := act.Data().([]float32)
	s := act.Shape()
	c, hw := s[1], 1
	if len(s) == 4 {
		hw = s[2] * s[3]
	}
	w := 1
	if len(s) == 4 {
		w = s[3]
	}
	sig := make([]float32, len(a))
	picked := make([]Picked, len(targets))
	for i, t := range targets {
		if t.Map < 0 || t.Map >= c {
			return nil, nil, errors.Errorf("layer %s has %d feature maps, target %d asks for map %d", layer, c, i, t.Map)
		}
		plane := a[(i*c+t.Map)*hw : (i*c+t.Map+1)*hw]
		dst := sig[(i*c+t.Map)*hw : (i*c+t.Map+1)*hw]
		best, err := zfnet.Argmax(plane)
		if err != nil {
			return nil, nil, errors.Wrapf(err, "layer %s, map %d of image %d", layer, t.Map, i)
		}
		if t.WholeMap {
			copy(dst, plane)
			picked[i] = Picked{Map: t.Map, Y: best / w, X: best % w, Value: plane[best]}
			continue
		}
		pos := t.Y*w + t.X
		if t.Strongest {
			pos = best
		} else if t.Y < 0 || t.X < 0 || pos >= hw || t.X >= w {
			return nil, nil, errors.Errorf("target %d: position (%d, %d) is outside layer %s's %v maps", i, t.Y, t.X, layer, s[2:])
		}
		dst[pos] = plane[pos]
		picked[i] = Picked{Map: t.Map, Y: pos / w, X: pos % w, Value: plane[pos]}
	}
	return sig, picked, nil
}

// ProjectTargets isolates the targets and projects them: one pixel-space
// projection (C x H x W) per target, in a single pass for the whole batch.
func (d *Net) ProjectTargets(layer string, targets []Target, opt Options) ([][]float32, []Picked, error) {
	sig, picked, err := d.Isolate(layer, targets)
	if err != nil {
		return nil, nil, err
	}
	out, err := d.Project(layer, sig, opt)
	if err != nil {
		return nil, nil, err
	}
	in := d.Model.Arch.Input
	n := in[0] * in[1] * in[2]
	res := make([][]float32, len(targets))
	for i := range targets {
		res[i] = out[i*n : (i+1)*n]
	}
	return res, picked, nil
}

// argmax is the index of the first largest value (values known finite).
func argmax[T float32 | float64](v []T) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
