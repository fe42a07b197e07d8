package zfnet

import (
	"math"
	"runtime"
	"sync"

	"github.com/zfnet/zfnet/graph"
	"github.com/zfnet/zfnet/nn"
)

// SGD is stochastic gradient descent with momentum and weight decay in
// PyTorch's formulation, v = mu*v + (g + lambda*w), w -= lr*v, followed by
// the paper's renormalization: every convolution filter whose RMS exceeds
// FilterRadius is scaled back to it. Gorgonia's Momentum solver applies L2
// to the velocity instead of the weight, so this one is written out.
type SGD struct {
	LR, Momentum, WeightDecay float64
	// FilterRadius is the RMS bound on convolution filters; 0 turns it off.
	FilterRadius float64
	// Velocity holds one buffer per parameter, by name; a checkpoint
	// saves it so a resumed run continues exactly.
	Velocity map[string][]float32
	// Scale multiplies LR for the parameters it names (fine-tuning's
	// per-layer rates); absent parameters learn at LR.
	Scale map[string]float64
}

// Step updates p from its gradient g. Large parameters (fc6 holds 75M
// weights) are updated on every core: the loop is memory-bound.
func (s *SGD) Step(p *nn.Param, g []float32) {
	w := p.Data()
	v := s.Velocity[p.Name]
	if v == nil {
		v = make([]float32, len(w))
		s.Velocity[p.Name] = v
	}
	lr64 := s.LR
	if f, ok := s.Scale[p.Name]; ok {
		lr64 *= f
	}
	mu, lr := float32(s.Momentum), float32(lr64)
	wd := float32(0)
	if p.Decay {
		wd = float32(s.WeightDecay)
	}
	chunks(len(w), func(lo, hi int) {
		graph.MomentumStep(w[lo:hi], v[lo:hi], g[lo:hi], lr, mu, wd)
	})
	if p.Filters && s.FilterRadius > 0 {
		RenormalizeFilters(p, s.FilterRadius)
	}
}

// RenormalizeFilters scales each filter (the weights of one output map) of
// a convolution whose root-mean-square exceeds radius back to radius.
func RenormalizeFilters(p *nn.Param, radius float64) {
	w := p.Data()
	n := p.Value.Shape()[0]
	size := len(w) / n
	for o := 0; o < n; o++ {
		f := w[o*size : (o+1)*size]
		var ss float64
		for _, v := range f {
			ss += float64(v) * float64(v)
		}
		if rms := math.Sqrt(ss / float64(size)); rms > radius {
			s := float32(radius / rms)
			for i := range f {
				f[i] *= s
			}
		}
	}
}

// chunks runs fn over [0, n) split across the cores when n is large.
func chunks(n int, fn func(lo, hi int)) {
	p := runtime.GOMAXPROCS(0)
	if n < 1<<16 || p == 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	size := (n + p - 1) / p
	for lo := 0; lo < n; lo += size {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(lo+size, n))
	}
	wg.Wait()
}
