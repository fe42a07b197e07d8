package graph

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPow075Accuracy: the float32 scale^-0.75 (two single-precision square
// roots, a product and a division) is within 4.5 float32 roundoffs
// (1.5+1+1+1 of u = 2^-24, 2.7e-7 relative) of the float64 power
// over the scales LRN meets (k = 1 or 2 plus sums of squares up to 1e6),
// and for float64 it is the float64 formula the double path always used.
func TestPow075Accuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	worst := 0.0
	for i := 0; i < 200000; i++ {
		s := float32(math.Pow(10, r.Float64()*9-3))
		if i%3 == 0 {
			s = 1 + float32(r.Float64()*1e-3)
		}
		got := float64(pow075(s))
		want := math.Pow(float64(s), -0.75)
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if bound := 4.5 * math.Pow(2, -24); worst > bound {
		t.Fatalf("float32 s^-0.75: largest relative error %.3g, bound %.3g (4.5u)", worst, bound)
	}
	t.Logf("float32 s^-0.75: largest relative error %.3g", worst)
	for _, s := range []float64{1, 2, 2.5, 1e-3, 1e6} {
		if got, want := pow075(s), 1/(math.Sqrt(s)*math.Sqrt(math.Sqrt(s))); got != want {
			t.Errorf("float64 pow075(%g) = %v, want %v", s, got, want)
		}
	}
}
