package nn

import (
	"hash/fnv"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/zfnet/zfnet/graph"
)

// Builder collects what layers add to one graph: parameter nodes bound to
// the shared tensors, and the state ops keep for later passes (pooling
// switches, recorded activations, dropout randomness), by layer name.
type Builder struct {
	G *G.ExprGraph
	// Train adds dropout; inference graphs leave it out.
	Train bool
	// Record makes ReLU layers keep a copy of their output (for the
	// deconvnet's guided and saliency modes and for top-9 searches).
	Record bool
	// Seed is the base of every dropout layer's seed.
	Seed uint64
	// InputGrad keeps gradients with respect to the inputs (Input nodes)
	// in the graph, for differentiating by the image. Off, a layer reading
	// an input leaves that gradient out: training never uses it.
	InputGrad bool

	params      map[*Param]*G.Node
	inputs      map[*G.Node]bool
	order       []*Param
	recordedOut map[*G.Node]*graph.Activation // a recording ReLU's output node -> its record
	Switches    map[string]*graph.Switches
	Activations map[string]*graph.Activation
	Dropouts    map[string]*graph.DropoutState
}

// NewBuilder starts a graph.
func NewBuilder(train, record bool, seed uint64) *Builder {
	return &Builder{
		G: G.NewGraph(), Train: train, Record: record, Seed: seed,
		params:      map[*Param]*G.Node{},
		inputs:      map[*G.Node]bool{},
		recordedOut: map[*G.Node]*graph.Activation{},
		Switches:    map[string]*graph.Switches{},
		Activations: map[string]*graph.Activation{},
		Dropouts:    map[string]*graph.DropoutState{},
	}
}

// Bind returns p's node in this graph, creating it over p's tensor (zero
// copy) the first time.
func (b *Builder) Bind(p *Param) *G.Node {
	if n, ok := b.params[p]; ok {
		return n
	}
	n := G.NewTensor(b.G, tensor.Float32, p.Value.Dims(), G.WithShape(p.Value.Shape()...), G.WithValue(p.Value), G.WithName(p.Name))
	b.params[p] = n
	b.order = append(b.order, p)
	return n
}

// Bound lists the parameters bound so far with their nodes, in binding order.
func (b *Builder) Bound() ([]*Param, G.Nodes) {
	nodes := make(G.Nodes, len(b.order))
	for i, p := range b.order {
		nodes[i] = b.params[p]
	}
	return b.order, nodes
}

// Input adds a float32 input placeholder of the given shape.
func (b *Builder) Input(name string, shape ...int) *G.Node {
	n := G.NewTensor(b.G, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name))
	b.inputs[n] = true
	return n
}

// isData says whether x is an input that gets no gradient.
func (b *Builder) isData(x *G.Node) bool { return b.inputs[x] && !b.InputGrad }

// seedFor derives a layer's dropout seed from the builder's and its name,
// so layers draw independent masks.
func (b *Builder) seedFor(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return b.Seed ^ h.Sum64()
}

// Layer is one stage of a network.
type Layer interface {
	// Name is the layer's name in tables and parameter keys ("conv1").
	Name() string
	// Forward adds the layer's nodes after x.
	Forward(b *Builder, x *G.Node) (*G.Node, error)
	// Params are the layer's parameters (none for most).
	Params() []*Param
	// OutShape is the output shape (C, H, W) for an input (C, H, W), or an
	// error saying why the input does not fit.
	OutShape(in [3]int) ([3]int, error)
}

func wrap(err error, l Layer) error { return errors.Wrapf(err, "layer %s", l.Name()) }
