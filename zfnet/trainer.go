package zfnet

import (
	"math"
	"strings"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/graph"
	"github.com/zfnet/zfnet/nn"
)

// TrainConfig is the training step's recipe; the paper's values are the
// defaults of DefaultTrainConfig.
type TrainConfig struct {
	Batch                     int
	LR, Momentum, WeightDecay float64
	FilterRadius              float64 // 0: no renormalization
	Seed                      uint64  // dropout randomness
	// Freeze names layers (conv1, fc7) whose parameters do not learn: the
	// training graph has no gradient nodes for them, so they cost no
	// backward computation and stay bit for bit as they are.
	Freeze []string
	// LRScale multiplies the learning rate of a layer's parameters (fc8: 10).
	LRScale map[string]float64
}

// DefaultTrainConfig is the paper's recipe: batch 128, learning rate 1e-2,
// momentum 0.9, weight decay 5e-4 (AlexNet's), filter RMS radius 0.1.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{Batch: 128, LR: 0.01, Momentum: 0.9, WeightDecay: 5e-4, FilterRadius: 0.1, Seed: 1}
}

// ErrDiverged is returned by Step when the loss is NaN or infinite; the
// weights are left as they were before the step.
var ErrDiverged = errors.New("training diverged: the loss is not finite")

// Trainer owns a training graph (dropout on) over a Model's parameters:
// forward, cross-entropy, gorgonia.Grad, and an SGD update per Step.
type Trainer struct {
	Model  *Model
	Config TrainConfig
	SGD    *SGD

	b                 *nn.Builder
	x, targets        *tensor.Dense
	params            []*nn.Param // the parameters that learn, in binding order
	nodes             G.Nodes
	gradNodes         G.Nodes
	graphNodes        int       // nodes the machine runs
	grads             []G.Value // copies, for gradients that are not outputs of graph's ops
	lossVal, logitVal G.Value
	vm                G.VM
}

// StepResult reports one step on the batch's valid examples.
type StepResult struct {
	Loss          float64
	Correct, Top5 int
	Valid         int
}

// NewTrainer builds the training graph for batches of cfg.Batch.
func NewTrainer(m *Model, cfg TrainConfig) (*Trainer, error) {
	if cfg.Batch < 1 {
		return nil, errors.Errorf("batch size must be positive, got %d", cfg.Batch)
	}
	frozen := map[string]bool{}
	for _, name := range cfg.Freeze {
		if l, _ := m.Layer(name); l == nil || len(l.Params()) == 0 {
			return nil, errors.Errorf("freeze %s: %s has no layer %q with weights; its layers with weights are %s",
				name, m.Arch.Name, name, strings.Join(m.ParamLayers(), ", "))
		}
		frozen[name] = true
	}
	if err := checkTrainable(m, cfg.Freeze); err != nil {
		return nil, err
	}
	scale, err := paramScales(m, cfg.LRScale, frozen)
	if err != nil {
		return nil, err
	}
	t := &Trainer{Model: m, Config: cfg, b: nn.NewBuilder(true, false, cfg.Seed),
		SGD: &SGD{LR: cfg.LR, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay, FilterRadius: cfg.FilterRadius, Velocity: map[string][]float32{}, Scale: scale}}
	in := m.Arch.Input
	xn := t.b.Input("x", cfg.Batch, in[0], in[1], in[2])
	tn := t.b.Input("targets", cfg.Batch, m.Arch.Classes)
	logits, _, err := m.Build(t.b, xn)
	if err != nil {
		return nil, err
	}
	loss, err := nn.CrossEntropy(logits, tn)
	if err != nil {
		return nil, err
	}
	roots := G.Nodes{G.Read(loss, &t.lossVal), G.Read(logits, &t.logitVal)}
	params, nodes := t.b.Bound()
	for i, p := range params {
		if !frozen[layerOfParam(m, p.Name)] {
			t.params, t.nodes = append(t.params, p), append(t.nodes, nodes[i])
		}
	}
	// Only the parameters that learn are differentiated: Gorgonia adds
	// backward nodes only between them and the loss, so a frozen prefix
	// (conv1-fc7) gets none at all.
	grads, err := G.Grad(loss, t.nodes...)
	if err != nil {
		return nil, errors.Wrap(err, "differentiating the training graph")
	}
	// The gradients are read straight from the ops that compute them
	// (graph.LastOutput). Binding dual values instead (G.BindDualValues)
	// would make the machine clone and zero every parameter on every step
	// (430 MB for ZFNet) and add each run's gradients onto the last; a
	// G.Read copies them. Only a gradient summed by a Gorgonia op needs that.
	t.gradNodes, t.grads = grads, make([]G.Value, len(grads))
	for i, g := range grads {
		roots = append(roots, g)
		if !graph.KeepsOutput(g) {
			roots = append(roots, G.Read(g, &t.grads[i]))
		}
	}
	t.x = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(cfg.Batch, in[0], in[1], in[2]))
	t.targets = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(cfg.Batch, m.Arch.Classes))
	if err := G.Let(xn, t.x); err != nil {
		return nil, err
	}
	if err := G.Let(tn, t.targets); err != nil {
		return nil, err
	}
	prog := t.b.G
	if len(frozen) > 0 {
		// An op's symbolic gradient adds nodes for all of its inputs: the
		// first learning layer's gradient with respect to its (frozen)
		// input, a frozen layer's weight gradient between learning ones.
		// Nothing reads them; the machine runs only what the loss, the
		// logits and the learning parameters' gradients need.
		prog = t.b.G.ExactSubgraphRoots(roots...)
	}
	t.graphNodes = len(prog.AllNodes())
	t.vm = G.NewTapeMachine(prog)
	return t, nil
}

// paramScales turns per-layer learning-rate factors into per-parameter ones.
func paramScales(m *Model, byLayer map[string]float64, frozen map[string]bool) (map[string]float64, error) {
	if len(byLayer) == 0 {
		return nil, nil
	}
	out := map[string]float64{}
	for name, f := range byLayer {
		l, _ := m.Layer(name)
		if l == nil || len(l.Params()) == 0 {
			return nil, errors.Errorf("lr scale %s=%g: %s has no layer %q with weights; its layers with weights are %s",
				name, f, m.Arch.Name, name, strings.Join(m.ParamLayers(), ", "))
		}
		if !(f > 0) || math.IsInf(f, 0) {
			return nil, errors.Errorf("lr scale %s=%g: the factor must be positive and finite", name, f)
		}
		if frozen[name] {
			return nil, errors.Errorf("lr scale %s=%g: %s is frozen; a frozen layer has no learning rate", name, f, name)
		}
		for _, p := range l.Params() {
			out[p.Name] = f
		}
	}
	return out, nil
}

// Learning lists the parameters the trainer updates (all but the frozen
// layers'), in binding order.
func (t *Trainer) Learning() []*nn.Param { return t.params }

// GraphNodes counts the nodes of the program the trainer runs per step:
// fewer with frozen layers (no gradient nodes for them).
func (t *Trainer) GraphNodes() int { return t.graphNodes }

// Close releases the machine.
func (t *Trainer) Close() error { return t.vm.Close() }

// dropoutSteps reads each dropout layer's forward-pass count, by layer
// name, into steps: a checkpoint saves them so that a resumed run draws the
// same masks as an uninterrupted one.
func (t *Trainer) dropoutSteps(steps map[string]uint64) {
	for name, s := range t.b.Dropouts {
		steps[name] = s.Step
	}
}

// setDropoutSteps restores the counts that dropoutSteps saved (a layer
// missing from steps starts at 0).
func (t *Trainer) setDropoutSteps(steps map[string]uint64) {
	for name, s := range t.b.Dropouts {
		s.Step = steps[name]
	}
}

// Step trains on one batch: x holds Batch*C*H*W floats (NCHW), labels the
// first valid examples' classes; the rest of the batch is padding and
// ignored by the loss.
func (t *Trainer) Step(x []float32, labels []int, valid int) (StepResult, error) {
	res := StepResult{Valid: valid}
	if err := fillBatch(t.x, t.targets, x, labels, valid, t.Model.Arch.Classes); err != nil {
		return res, err
	}
	defer t.vm.Reset()
	if err := t.vm.RunAll(); err != nil {
		if errors.Cause(err) == graph.ErrNotFinite || strings.Contains(err.Error(), graph.ErrNotFinite.Error()) {
			res.Loss = math.NaN()
			return res, ErrDiverged // NaN activations: a diverged network
		}
		return res, errors.Wrap(err, "training step")
	}
	loss, err := scalar(t.lossVal)
	if err != nil {
		return res, err
	}
	res.Loss = loss
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return res, ErrDiverged
	}
	logits := t.logitVal.(*tensor.Dense).Data().([]float32)
	if CheckFiniteScores("logits", logits[:valid*t.Model.Arch.Classes], t.Model.Arch.Classes) != nil {
		res.Loss = math.NaN()
		return res, ErrDiverged
	}
	if res.Correct, res.Top5, err = countCorrect(logits, labels[:valid], t.Model.Arch.Classes); err != nil {
		return res, err
	}
	for i, p := range t.params {
		g, ok := graph.LastOutput(t.gradNodes[i])
		if !ok {
			if g, ok = t.grads[i].(*tensor.Dense); !ok {
				return res, errors.Errorf("gradient of %s: got %T, expected a tensor", p.Name, t.grads[i])
			}
		}
		t.SGD.Step(p, g.Data().([]float32))
	}
	return res, nil
}

// fillBatch copies inputs and writes one-hot targets, zero rows for padding.
func fillBatch(xt, tt *tensor.Dense, x []float32, labels []int, valid, classes int) error {
	xd, td := xt.Data().([]float32), tt.Data().([]float32)
	batch := tt.Shape()[0]
	if len(x) != len(xd) {
		return errors.Errorf("batch has %d floats, the graph expects %d (%v)", len(x), len(xd), xt.Shape())
	}
	// Non-finite inputs are refused, not trained on: ReLU would turn NaN
	// into 0 (see data/finite.go).
	s := xt.Shape()
	if err := data.CheckFinite("training batch", data.Geometry{C: s[1], H: s[2], W: s[3]}, x); err != nil {
		return err
	}
	if valid < 1 || valid > batch || len(labels) < valid {
		return errors.Errorf("batch: %d valid examples and %d labels for a batch of %d", valid, len(labels), batch)
	}
	copy(xd, x)
	clear(td)
	for i := 0; i < valid; i++ {
		if labels[i] < 0 || labels[i] >= classes {
			return errors.Errorf("label %d of example %d is outside [0, %d)", labels[i], i, classes)
		}
		td[i*classes+labels[i]] = 1
	}
	return nil
}

// countCorrect counts top-1 and top-5 hits among the labelled rows, ranked
// as everywhere else (Rank: ties go to the lower class, NaN is an error).
func countCorrect(logits []float32, labels []int, k int) (top1, top5 int, err error) {
	for i, l := range labels {
		rank, err := Rank(logits[i*k:(i+1)*k], l)
		if err != nil {
			return 0, 0, errors.Wrapf(err, "example %d of the batch", i)
		}
		if rank == 0 {
			top1++
		}
		if rank < 5 {
			top5++
		}
	}
	return top1, top5, nil
}

func scalar(v G.Value) (float64, error) {
	switch s := v.(type) {
	case *G.F32:
		return float64(*s), nil
	case *G.F64:
		return float64(*s), nil
	}
	return 0, errors.Errorf("expected a scalar loss, got %T", v)
}
