package graph

import (
	"math"
	"math/rand"
	"slices"
	"testing"
)

// TestKeepPositiveAsm: the AVX-512 ReLU select gives the Go loop's bits on
// every special value, at every length around its 16-wide chunks (the
// masked tail), with and without m aliasing x (ReLU forward) and y
// aliasing x (in place).
func TestKeepPositiveAsm(t *testing.T) {
	if !cpuAVX512F() || !sgemmAsmOK {
		t.Skip("no AVX-512 here (or ZFNET_NOASM): only the Go loop runs")
	}
	defer sgemmUse("avx512")()
	rng := rand.New(rand.NewSource(3))
	for _, n := range append([]int{0, 1, 15, 16, 17, 31, 32, 33, 47, 1000}, 1<<12+5) {
		m, x := make([]float32, n), make([]float32, n)
		for i := range m {
			m[i] = specialFloats[rng.Intn(len(specialFloats))]
			x[i] = specialFloats[rng.Intn(len(specialFloats))]
		}
		want := make([]float32, n+1)
		keepPositiveGo32(m, x, want)
		got := make([]float32, n+1)
		got[n] = 7 // past the end: must stay
		keepPositive32(m, x, got)
		for i := range n + 1 {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && i < n || i == n && got[n] != 7 {
				t.Fatalf("n=%d: element %d is %#x, want %#x", n, i, math.Float32bits(got[i]), math.Float32bits(want[i]))
			}
		}
		// ReLU forward (m is x) and the mask in place (y is x).
		self := slices.Clone(m)
		keepPositive32(self, self, self)
		keepPositiveGo32(m, m, want)
		if !slices.EqualFunc(self, want[:n], func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
			t.Fatalf("n=%d: in place differs from the Go loop", n)
		}
	}
}
