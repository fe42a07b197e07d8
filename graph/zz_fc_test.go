package graph

import (
	"fmt"
	"testing"
)

func BenchmarkZZFC6(b *testing.B) {
	for _, m := range []int{1, 8} {
		x := make([]float32, m*18432)
		w := make([]float32, 4096*18432)
		y := make([]float32, m*4096)
		b.Run(fmt.Sprint(m), func(b *testing.B) {
			for b.Loop() {
				gemm(false, true, m, 4096, 18432, 1, x, 18432, w, 18432, 0, y, 4096)
			}
		})
	}
}
