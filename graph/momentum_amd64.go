package graph

//go:noescape
func momentumKernel(w, v, grad *float32, n int, lr, mu, wd float32)

// momentumAVX updates the largest multiple of 8 elements and returns how
// many it did (0 without AVX2 or under ZFNET_NOASM).
func momentumAVX(w, v, g []float32, lr, mu, wd float32) int {
	m := len(w) &^ 7
	if !sgemmAsmOK || m == 0 {
		return 0
	}
	momentumKernel(&w[0], &v[0], &g[0], m, lr, mu, wd)
	return m
}
