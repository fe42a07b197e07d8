package graph

import "math/rand/v2"

// ConvBench holds one float32 convolution's operands so that its kernels
// can be timed alone (`zfnet bench --mode layer`): the forward pass with
// bias, and the backward pass (input, weight and bias gradients), the work
// ../shared/peer/torch_zfnet.py's layer mode times in PyTorch. The kernels
// are the ones Conv2d's ops run in a graph.
type ConvBench struct {
	g                          convGeom
	x, w, b, y, dy, dx, dw, db []float32
}

// NewConvBench allocates a convolution of n images of c x h x w maps with
// o filters of k x k at the given stride, padding and groups, filled with
// seeded values in [-1, 1).
func NewConvBench(n, c, h, w, o, k, stride, pad, groups int, seed uint64) (*ConvBench, error) {
	g, err := newGroupedConvGeom(n, c, h, w, o, k, k, stride, pad, max(groups, 1))
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 2))
	fill := func(s []float32) []float32 {
		for i := range s {
			s[i] = 2*r.Float32() - 1
		}
		return s
	}
	out := g.N * g.O * g.colLn
	return &ConvBench{g: g,
		x: fill(make([]float32, g.N*g.C*g.H*g.W)), w: fill(make([]float32, g.O*g.colRows)),
		b: fill(make([]float32, g.O)), y: make([]float32, out), dy: fill(make([]float32, out)),
		dx: make([]float32, g.N*g.C*g.H*g.W), dw: make([]float32, g.O*g.colRows), db: make([]float32, g.O),
	}, nil
}

// FLOPs is 2 per multiply-add of the direct convolution, for one forward
// pass (the backward pass, input and weight gradients, is twice that).
func (c *ConvBench) FLOPs() float64 {
	return 2 * float64(c.g.N) * float64(c.g.O) * float64(c.g.colRows) * float64(c.g.colLn)
}

// Output is the output's shape: N, O, OH, OW.
func (c *ConvBench) Output() [4]int { return [4]int{c.g.N, c.g.O, c.g.OH, c.g.OW} }

// Forward computes y = conv(x, w) + b.
func (c *ConvBench) Forward() { convForward(c.g, c.x, c.w, c.b, c.y) }

// Backward computes dx, dw and db from dy.
func (c *ConvBench) Backward() {
	convBackwardInput(c.g, c.dy, c.w, c.dx)
	convBackwardWeight(c.g, c.x, c.dy, c.dw)
	biasGrad(c.g.N, c.g.O, c.g.colLn, c.dy, c.db)
}
