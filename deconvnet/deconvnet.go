package deconvnet

import (
	"fmt"
	"strings"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/zfnet/zfnet/graph"
	"github.com/zfnet/zfnet/nn"
	"github.com/zfnet/zfnet/zfnet"
)

// Rule is how the projection treats a ReLU on its way down; it is the only
// difference between the three methods.
type Rule int

const (
	// Deconvnet rectifies the reconstructed signal (the paper's method).
	Deconvnet Rule = iota
	// Guided backpropagation rectifies the signal and also masks it where
	// the forward activation was zero (Springenberg et al. 2015).
	Guided
	// Saliency masks the signal where the forward activation was zero: the
	// plain gradient of the activation with respect to the input
	// (Simonyan et al. 2014).
	Saliency
)

// String is the rule's name as ParseRule reads it.
func (r Rule) String() string {
	switch r {
	case Deconvnet:
		return "deconvnet"
	case Guided:
		return "guided"
	case Saliency:
		return "saliency"
	}
	return fmt.Sprintf("Rule(%d)", int(r))
}

// ParseRule reads "deconvnet", "guided" or "saliency".
func ParseRule(s string) (Rule, error) {
	for _, r := range []Rule{Deconvnet, Guided, Saliency} {
		if r.String() == s {
			return r, nil
		}
	}
	return 0, errors.Errorf("unknown projection rule %q: expected deconvnet, guided or saliency", s)
}

// Options choose the projection method.
type Options struct {
	Rule Rule
	// ThroughLRN propagates through contrast normalization (linearized at
	// the recorded input) instead of skipping it as the paper does.
	ThroughLRN bool
}

// Net is a model with its deconvnet: a recording forward graph for batches
// of a fixed size and, built on first use, one projection graph per
// (layer, options), all bound to the model's weight tensors.
type Net struct {
	Model *zfnet.Model
	Batch int

	fwd   *zfnet.Predictor
	top   int // index of the last layer the forward pass runs
	projs map[projKey]*projection
}

type projKey struct {
	layer string
	stop  string // the layer whose output the walk stops at; "" for pixels
	opt   Options
}

// projection is one built deconvnet graph.
type projection struct {
	b    *nn.Builder
	top  *tensor.Dense
	in   *G.Node // the signal placed at the top
	out  *G.Node // the pixel-space projection (or the signal at the stop layer)
	read G.Value // out's value when its op keeps none
	vm   G.VM
}

// New attaches a deconvnet to m for batches of the given size.
func New(m *zfnet.Model, batch int) (*Net, error) {
	p, err := zfnet.NewPredictor(m, batch, true)
	if err != nil {
		return nil, err
	}
	return &Net{Model: m, Batch: batch, fwd: p, top: m.NumLayers() - 1, projs: map[projKey]*projection{}}, nil
}

// NewUpTo is New with the forward pass stopped at layer (named as in
// Activation: "conv5" is its rectified output, "pool5"), for projections
// from that layer or below: the layers above it cost nothing, as in
// PyTorch's deconvnets over model.features (at one image per batch,
// ZFNet's fully connected layers are a sixth of a projection from pool5).
// Forward then returns layer's output (Batch first) instead of the logits;
// activations and projections of the layers above it are errors.
func NewUpTo(m *zfnet.Model, batch int, layer string) (*Net, error) {
	name, err := Resolve(m, layer)
	if err != nil {
		return nil, err
	}
	p, err := zfnet.NewPredictorUpTo(m, batch, true, name)
	if err != nil {
		return nil, err
	}
	_, top := m.Layer(name)
	return &Net{Model: m, Batch: batch, fwd: p, top: top, projs: map[projKey]*projection{}}, nil
}

// Close releases the machines.
func (d *Net) Close() error {
	for _, p := range d.projs {
		p.vm.Close()
	}
	return d.fwd.Close()
}

// Forward runs a batch (Batch x C x H x W, NCHW, preprocessed) through the
// model, recording activations and pooling switches, and returns the logits
// (from NewUpTo: the top layer's output).
func (d *Net) Forward(x []float32) ([]float32, error) { return d.fwd.Logits(x) }

// Activation is a layer's output for the latest batch: (Batch, C, H, W)
// for convolutional layers, (Batch, features) for fully connected ones.
// Do not modify it.
func (d *Net) Activation(layer string) (*tensor.Dense, error) {
	l, err := d.resolve(layer)
	if err != nil {
		return nil, err
	}
	return d.fwd.Output(l)
}

// resolve is Resolve for d's model.
func (d *Net) resolve(layer string) (string, error) { return Resolve(d.Model, layer) }

// Resolve maps a user's layer name to the layer whose output the deconvnet
// reads and projects: "conv3" means conv3's rectified output (relu3, when
// the model has it), "fc6" relu6; pool, norm and ReLU layers name
// themselves. An unknown layer is an error listing the model's layers.
func Resolve(m *zfnet.Model, layer string) (string, error) {
	if _, i := m.Layer(layer); i < 0 {
		return "", errors.Errorf("%s has no layer %q (layers: %s)", m.Arch.Name, layer, layerNames(m))
	}
	for _, prefix := range []string{"conv", "fc"} {
		if k, ok := strings.CutPrefix(layer, prefix); ok {
			if _, i := m.Layer("relu" + k); i >= 0 {
				return "relu" + k, nil
			}
		}
	}
	return layer, nil
}

// layerNames lists m's layers for error messages.
func layerNames(m *zfnet.Model) string {
	names := make([]string, m.NumLayers())
	for i, l := range m.Layers() {
		names[i] = l.Name()
	}
	return strings.Join(names, ", ")
}

// Project reconstructs in pixel space (Batch x C x H x W of the model's
// input) the signal top placed at the output of layer (same shape as
// Activation(layer)). The forward pass of the same batch must have run:
// its switches and activations steer the projection.
func (d *Net) Project(layer string, top []float32, opt Options) ([]float32, error) {
	name, err := d.resolve(layer)
	if err != nil {
		return nil, err
	}
	return d.walk(name, "", top, opt)
}

// ProjectTo is Project stopping at the output of layer to instead of going
// down to pixels: it returns the signal (same shape as Activation(to),
// Batch first) that the walk from layer reaches there. With the Saliency
// rule (and ThroughLRN where an LRN lies between) that is the gradient of
// sum(top * output of layer) with respect to to's output: Grad-CAM's
// gradient of a class score at a convolutional layer (Selvaraju et al.
// 2017, section 3) when layer is the logits layer. to must lie below layer;
// both are resolved as in Activation ("conv5" is its rectified output).
func (d *Net) ProjectTo(layer, to string, top []float32, opt Options) ([]float32, error) {
	name, err := d.resolve(layer)
	if err != nil {
		return nil, err
	}
	stop, err := d.resolve(to)
	if err != nil {
		return nil, err
	}
	_, i := d.Model.Layer(name)
	_, j := d.Model.Layer(stop)
	if j >= i {
		return nil, errors.Errorf("project from %s to %s: %s is not below %s", layer, to, to, layer)
	}
	return d.walk(name, stop, top, opt)
}

// walk runs the projection from the output of layer (a model layer name,
// not resolved) down to the output of stop, or to pixels when stop is "".
func (d *Net) walk(layer, stop string, top []float32, opt Options) ([]float32, error) {
	p, err := d.projection(layer, stop, opt)
	if err != nil {
		return nil, err
	}
	td := p.top.Data().([]float32)
	if len(top) != len(td) {
		return nil, errors.Errorf("project from %s: signal has %d values, expected %v", layer, len(top), p.top.Shape())
	}
	copy(td, top)
	defer p.vm.Reset()
	if err := p.vm.RunAll(); err != nil {
		return nil, errors.Wrapf(err, "projecting from %s", layer)
	}
	if p.out == p.in { // nothing to walk through
		return append([]float32(nil), top...), nil
	}
	out, ok := graph.LastOutput(p.out)
	if !ok {
		if v, isDense := p.read.(*tensor.Dense); isDense && v != nil {
			out, ok = v, true
		}
	}
	if !ok {
		return nil, errors.Errorf("projecting from %s: the projection produced no output", layer)
	}
	return append([]float32(nil), out.Data().([]float32)...), nil
}

// projection builds (once) the graph that walks from layer down to the
// output of stop ("": to pixels).
func (d *Net) projection(layer, stop string, opt Options) (*projection, error) {
	key := projKey{layer, stop, opt}
	if p, ok := d.projs[key]; ok {
		return p, nil
	}
	m := d.Model
	_, top := m.Layer(layer)
	if top > d.top {
		return nil, errors.Errorf("project from %s: it lies above %s, where this deconvnet's forward pass stops (NewUpTo)", layer, m.LayerAt(d.top).Name())
	}
	bottom := -1
	if stop != "" {
		_, bottom = m.Layer(stop)
	}
	b := nn.NewBuilder(false, false, 0)
	shape := append([]int{d.Batch}, outShape(m, top)...)
	in := b.Input("top", shape...)
	sig := in
	for i := top; i > bottom; i-- {
		inShape := m.Arch.Input
		if i > 0 {
			inShape = m.Shape(i - 1)
		}
		var err error
		switch l := m.LayerAt(i).(type) {
		case *nn.Conv2d:
			sig, err = graph.GroupedConvTranspose2d(sig, b.Bind(l.Weight), l.Stride, l.Pad, l.GroupCount(), inShape[1], inShape[2])
		case *nn.Linear:
			in := inShape[:]
			if i > 0 {
				in = outShape(m, i-1)
			}
			sig, err = graph.LinearTranspose(sig, b.Bind(l.Weight), append([]int{d.Batch}, in...)...)
		case *nn.MaxPool:
			sig, err = graph.Unpool(sig, d.fwd.Switches(l.ID), inShape[1], inShape[2])
		case *nn.AvgPool:
			// An average spreads its output evenly over its window: the
			// transpose (and gradient) of the pooling.
			sig, err = graph.AvgPoolTranspose(sig, l.Kernel, l.Stride, l.Pad, l.Ceil, !l.ExcludePad, inShape[1], inShape[2])
		case *nn.AdaptiveAvgPool:
			if !l.Identity(inShape) {
				sig, err = graph.AdaptiveAvgPoolTranspose(sig, inShape[1], inShape[2])
			}
		case *nn.ReLU:
			sig, err = rectify(sig, d.fwd.RecordedActivation(l.ID), opt.Rule)
		case *nn.LRN:
			if opt.ThroughLRN {
				act := d.fwd.RecordedActivation(l.InputKey())
				if act == nil {
					return nil, errors.Errorf("projecting through %s: the forward pass recorded no input for it", l.ID)
				}
				sig, err = graph.LRNBackward(sig, act, l.P)
			}
		case *nn.Dropout: // absent at inference
		default:
			return nil, errors.Errorf("projecting through %s: layer type %T has no projection step", l.Name(), l)
		}
		if err != nil {
			return nil, errors.Wrapf(err, "deconvnet from %s", layer)
		}
	}
	p := &projection{b: b, top: tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...)), in: in, out: sig}
	if sig != in && !graph.KeepsOutput(sig) {
		// A walk that stops above pixels may end in an op that keeps no
		// output (LRN's backward): read its value.
		G.Read(sig, &p.read)
	}
	if err := G.Let(in, p.top); err != nil {
		return nil, err
	}
	p.vm = G.NewTapeMachine(b.G)
	d.projs[key] = p
	return p, nil
}

// outShape is a layer's output shape without the batch axis.
func outShape(m *zfnet.Model, i int) []int {
	s := m.Shape(i)
	if isFlat(m, i) {
		return []int{s[0]}
	}
	return []int{s[0], s[1], s[2]}
}

// isFlat says whether layer i's output is (N, features): it is a Linear
// layer or follows one.
func isFlat(m *zfnet.Model, i int) bool {
	for ; i >= 0; i-- {
		switch m.LayerAt(i).(type) {
		case *nn.Linear:
			return true
		case *nn.Conv2d, *nn.MaxPool, *nn.AvgPool, *nn.AdaptiveAvgPool:
			return false
		}
	}
	return false
}

func rectify(sig *G.Node, act *graph.Activation, r Rule) (*G.Node, error) {
	switch r {
	case Deconvnet:
		return graph.ReLU(sig)
	case Guided:
		s, err := graph.ReLU(sig)
		if err != nil {
			return nil, err
		}
		return graph.Mask(s, act)
	case Saliency:
		return graph.Mask(sig, act)
	}
	return nil, errors.Errorf("unknown rule %v", r)
}

// weightNodes lists the projection graph's weight nodes for a layer (for
// tests that check they share the model's tensors).
func (d *Net) weightNodes(layer string, opt Options) ([]*nn.Param, G.Nodes, error) {
	name, err := d.resolve(layer)
	if err != nil {
		return nil, nil, err
	}
	p, err := d.projection(name, "", opt)
	if err != nil {
		return nil, nil, err
	}
	ps, ns := p.b.Bound()
	return ps, ns, nil
}

// Maps says how many feature maps (units, for fully connected layers) the
// output of layer has, the layer resolved as in Activation; an unknown
// layer is an error naming the model's layers.
func (d *Net) Maps(layer string) (int, error) {
	name, err := d.resolve(layer)
	if err != nil {
		return 0, err
	}
	_, i := d.Model.Layer(name)
	return outShape(d.Model, i)[0], nil
}
