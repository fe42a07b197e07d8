package index

import (
	"math/rand"
	"testing"
)

// BenchmarkOfferConv1 times the per-image selection over a conv1-sized
// batch of zfnet-small (64 x 32 maps of 28x28) once every unit holds its K
// entries, the steady state of an index build: most maps lie wholly below
// the threshold.
func BenchmarkOfferConv1(b *testing.B) {
	const rows, units, hw, w = 64, 32, 784, 28
	rng := rand.New(rand.NewSource(1))
	act := make([]float32, rows*units*hw)
	for i := range act {
		act[i] = rng.Float32() * 2
	}
	s, _ := NewSelector(PerImage, 9, []int{units})
	ex := make([]int, rows)
	for i := range ex {
		ex[i] = i
	}
	// Heaps filled high: most planes lie below their threshold.
	for u := 0; u < units; u++ {
		for j := 0; j < 9; j++ {
			s.Add(0, u, Entry{Value: 1.9999, Example: 100000 + j})
		}
	}
	b.SetBytes(int64(len(act) * 4))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Offer(0, act, hw, w, ex); err != nil {
			b.Fatal(err)
		}
	}
}
