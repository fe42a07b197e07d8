package zfnet

import (
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/graph"
	"github.com/zfnet/zfnet/nn"
)

// Predictor owns an inference graph (no dropout) over a Model's parameters.
// With record set it keeps every ReLU output and pooling switch of the
// latest batch for the deconvnet.
type Predictor struct {
	Model *Model
	Batch int

	b        *nn.Builder
	top      string // the last layer built ("": the whole network)
	x        *tensor.Dense
	logitVal G.Value
	outputs  map[string]*G.Node // with record: every layer's output node
	vm       G.VM
}

// NewPredictor builds the inference graph for batches of the given size.
func NewPredictor(m *Model, batch int, record bool) (*Predictor, error) {
	return newPredictor(m, batch, record, record, "")
}

// NewPredictorUpTo is NewPredictor for the layers up to and including top
// only: what projecting from a convolutional layer needs (PyTorch's
// model.features), without the fully connected layers' work (at one image
// per batch, reading fc6's 302 MB of weights costs a sixth of a ZFNet
// projection). Logits then returns top's output, and Output errs for the
// layers above top.
func NewPredictorUpTo(m *Model, batch int, record bool, top string) (*Predictor, error) {
	if _, i := m.Layer(top); i < 0 {
		return nil, missingLayer(m, top)
	}
	return newPredictor(m, batch, record, record, top)
}

// NewOutputPredictor builds an inference graph whose layer outputs Output
// reads, without the deconvnet's records (no copy of every ReLU output, no
// LRN input kept): what reading activations needs (an activation index, a
// feature extractor), at the cost of a plain forward pass.
// RecordedActivation returns nil.
func NewOutputPredictor(m *Model, batch int) (*Predictor, error) {
	return newPredictor(m, batch, false, true, "")
}

// newPredictor builds the graph up to top ("": all of it); record adds
// the deconvnet's records, outputs keeps the layer output nodes for Output.
func newPredictor(m *Model, batch int, record, outputs bool, top string) (*Predictor, error) {
	if batch < 1 {
		return nil, errors.Errorf("batch size must be positive, got %d", batch)
	}
	if err := CheckFiniteWeights(m); err != nil {
		return nil, err
	}
	p := &Predictor{Model: m, Batch: batch, b: nn.NewBuilder(false, record, 0), top: top}
	in := m.Arch.Input
	xn := p.b.Input("x", batch, in[0], in[1], in[2])
	logits, outs, err := m.BuildUpTo(p.b, xn, top)
	if err != nil {
		return nil, err
	}
	G.Read(logits, &p.logitVal)
	if outputs {
		p.outputs = outs
	}
	p.x = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(batch, in[0], in[1], in[2]))
	if err := G.Let(xn, p.x); err != nil {
		return nil, err
	}
	p.vm = G.NewTapeMachine(p.b.G)
	return p, nil
}

// Close releases the machine.
func (p *Predictor) Close() error { return p.vm.Close() }

// Switches returns the max-pooling switches that the latest forward pass
// recorded for the pooling layer named layer, or nil when that layer is not a
// max pooling. The record is the graph's own: it is rewritten by the next
// Logits call, and the caller must not change it.
func (p *Predictor) Switches(layer string) *graph.Switches { return p.b.Switches[layer] }

// RecordedActivation returns what the latest forward pass recorded under key
// (a ReLU's name for its output, or an LRN's InputKey for its input), or
// nil when nothing was recorded there: NewPredictor was called without
// record, or no layer records under key. Like Switches, it belongs to the
// graph and is rewritten by the next Logits call.
func (p *Predictor) RecordedActivation(key string) *graph.Activation { return p.b.Activations[key] }

// Logits runs a batch (Batch*C*H*W floats, NCHW) and returns a copy of the
// logits (Batch x classes; from NewPredictorUpTo, the top layer's output,
// Batch first). A NaN or infinite input value is an error naming
// its position (the network's ReLU would turn NaN into 0 and hide it: see
// data/finite.go), and so are non-finite logits (from non-finite weights).
func (p *Predictor) Logits(x []float32) ([]float32, error) {
	xd := p.x.Data().([]float32)
	if len(x) != len(xd) {
		return nil, errors.Errorf("batch has %d floats, the graph expects %d (%v)", len(x), len(xd), p.x.Shape())
	}
	in := p.Model.Arch.Input
	if err := data.CheckFinite("input", data.Geometry{C: in[0], H: in[1], W: in[2]}, x); err != nil {
		return nil, err
	}
	copy(xd, x)
	defer p.vm.Reset()
	if err := p.vm.RunAll(); err != nil {
		return nil, errors.Wrap(err, "forward pass")
	}
	logits := append([]float32(nil), p.logitVal.(*tensor.Dense).Data().([]float32)...)
	what, k := "forward pass: logits", p.Model.Arch.Classes
	if p.top != "" {
		what, k = "forward pass: output of "+p.top, len(logits)/p.Batch
	}
	if err := CheckFiniteScores(what, logits, k); err != nil {
		return nil, err
	}
	return logits, nil
}

// Output is a layer's output (N, C, H, W) or (N, features) from the latest
// batch of a recording or output predictor: the op's own output tensor, no copy. It
// stays valid until the next batch and must not be modified.
func (p *Predictor) Output(layer string) (*tensor.Dense, error) {
	n, ok := p.outputs[layer]
	if !ok {
		if p.outputs == nil {
			return nil, errors.New("the predictor does not keep layer outputs (create it with record set, or with NewOutputPredictor)")
		}
		if _, i := p.Model.Layer(layer); i >= 0 && p.top != "" {
			return nil, errors.Errorf("layer %s lies above %s, where this predictor's forward pass stops", layer, p.top)
		}
		return nil, errors.Errorf("%s has no layer %q", p.Model.Arch.Name, layer)
	}
	t, ok := graph.LastOutput(n)
	if !ok {
		return nil, errors.Errorf("layer %s: no batch has run yet", layer)
	}
	return t, nil
}
