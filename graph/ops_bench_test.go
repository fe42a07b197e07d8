package graph

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// Benchmarks of the kernels behind each op, at the shapes one training step
// of zfnet-small (batch 128, 28x28) and of zfnet (batch 8, 224x224) feeds
// them. Compare before and after a change with
//
//	go test -run NONE -bench Op -count 8 ./graph > new.txt; benchstat old.txt new.txt

// opShape is one benchmark input: N x C x H x W.
type opShape struct {
	name       string
	n, c, h, w int
}

var opShapes = []opShape{
	{"small-conv1", 128, 32, 28, 28}, // zfnet-small: conv1's output (ReLU, LRN, pool1)
	{"zfnet-conv1", 8, 96, 110, 110}, // zfnet: conv1's output
}

// benchData is n floats in [-1, 1), about half of them negative as after a
// convolution.
func benchData(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = 2*r.Float32() - 1
	}
	return x
}

func forShapes(b *testing.B, fn func(b *testing.B, s opShape, x []float32)) {
	for _, s := range opShapes {
		x := benchData(s.n*s.c*s.h*s.w, 1)
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			fn(b, s, x)
		})
	}
}

func BenchmarkOpReLU(b *testing.B) {
	forShapes(b, func(b *testing.B, s opShape, x []float32) {
		y := make([]float32, len(x))
		for b.Loop() {
			relu(x, y)
		}
	})
}

func BenchmarkOpMask(b *testing.B) {
	forShapes(b, func(b *testing.B, s opShape, x []float32) {
		m, y := benchData(len(x), 2), make([]float32, len(x))
		for b.Loop() {
			mask(x, m, y)
		}
	})
}

func BenchmarkOpLRN(b *testing.B) {
	forShapes(b, func(b *testing.B, s opShape, x []float32) {
		xt, dyt := denseOf(x, s), denseOf(benchData(len(x), 3), s)
		fwd := &lrnOp{P: DefaultLRN, Cache: &lrnCache{wanted: true}}
		bwd := &lrnOp{P: DefaultLRN, Grad: true, Cache: fwd.Cache}
		for b.Loop() {
			if _, err := fwd.Do(xt); err != nil {
				b.Fatal(err)
			}
			if _, err := bwd.Do(xt, dyt); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkOpMaxPool(b *testing.B) {
	forShapes(b, func(b *testing.B, s opShape, x []float32) {
		op := &maxPoolOp{K: 3, S: 2, P: 1, Sw: &Switches{}}
		xt := denseOf(x, s)
		for b.Loop() {
			if _, err := op.Do(xt); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkOpConv times zfnet-small's conv2 (32 -> 48 maps, 3x3, 14x14,
// batch 128): forward, input gradient, weight gradient.
func BenchmarkOpConv(b *testing.B) {
	g, err := newConvGeom(128, 32, 14, 14, 48, 3, 3, 1, 1)
	if err != nil {
		b.Fatal(err)
	}
	x := benchData(g.N*g.C*g.H*g.W, 1)
	w, bias := benchData(g.O*g.colRows, 2), benchData(g.O, 3)
	y := make([]float32, g.N*g.O*g.colLn)
	dy, dx, dw := benchData(len(y), 4), make([]float32, len(x)), make([]float32, len(w))
	flops := int64(2 * g.N * g.O * g.colRows * g.colLn)
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			convForward(g, x, w, bias, y)
		}
		b.ReportMetric(float64(flops)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("input-grad", func(b *testing.B) {
		for b.Loop() {
			convBackwardInput(g, dy, w, dx)
		}
		b.ReportMetric(float64(flops)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("weight-grad", func(b *testing.B) {
		for b.Loop() {
			convBackwardWeight(g, x, dy, dw)
		}
		b.ReportMetric(float64(flops)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// BenchmarkOpConvZFNet times each convolution of zfnet (the seed table) at
// batch 8 through ConvBench, what `zfnet bench --mode layer` runs: forward
// (with bias) and backward (input, weight and bias gradients; GFLOP/s
// counts twice the forward's FLOPs). ZFNET_SGEMM picks the SGEMM path;
// conv2-5 run Winograd F(4x4, 3x3) at this batch (ZFNET_WINOGRAD=2:
// F(2x2, 3x3)),
// ZFNET_CONV=direct times the direct convolution instead (GFLOP/s always counts the direct convolution's
// FLOPs, so the two compare as times).
func BenchmarkOpConvZFNet(b *testing.B) {
	for _, l := range []struct {
		name                    string
		c, h, o, k, stride, pad int
	}{
		{"conv1", 3, 224, 96, 7, 2, 1},
		{"conv2", 96, 55, 256, 5, 2, 0},
		{"conv3", 256, 13, 512, 3, 1, 1},
		{"conv4", 512, 13, 1024, 3, 1, 1},
		{"conv5", 1024, 13, 512, 3, 1, 1},
	} {
		cb, err := NewConvBench(8, l.c, l.h, l.h, l.o, l.k, l.stride, l.pad, 1, 1)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(l.name+"/forward", func(b *testing.B) {
			for b.Loop() {
				cb.Forward()
			}
			b.ReportMetric(cb.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(l.name+"/backward", func(b *testing.B) {
			for b.Loop() {
				cb.Backward()
			}
			b.ReportMetric(2*cb.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func denseOf(x []float32, s opShape) *tensor.Dense {
	return tensor.New(tensor.WithShape(s.n, s.c, s.h, s.w), tensor.WithBacking(x))
}
