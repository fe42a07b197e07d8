package graph

// MomentumStep is the SGD update with momentum and weight decay in
// PyTorch's formulation, element by element:
//
//	v = mu*v + g + wd*w
//	w = w - lr*v
//
// It is the optimizer's inner loop, here beside the other kernels because
// on amd64 it runs on AVX (momentum_amd64.s) with the same IEEE steps in the
// same order as the Go loop, so the weights come out the same to the bit.
// ZFNet holds 100 million parameters: the scalar loop took a sixth of a
// training step. w, v and g must have the same length.
func MomentumStep(w, v, g []float32, lr, mu, wd float32) {
	if len(v) != len(w) || len(g) != len(w) {
		panic("graph.MomentumStep: w, v and g differ in length")
	}
	if m := momentumAVX(w, v, g, lr, mu, wd); m > 0 {
		w, v, g = w[m:], v[m:], g[m:]
	}
	momentumGo(w, v, g, lr, mu, wd)
}

func momentumGo(w, v, g []float32, lr, mu, wd float32) {
	v, g = v[:len(w)], g[:len(w)]
	for i := range w {
		v[i] = mu*v[i] + g[i] + wd*w[i]
		w[i] -= lr * v[i]
	}
}
