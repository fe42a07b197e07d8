package graph

// scratch is an op's working memory (im2col matrices, partial sums), kept
// from one run to the next: a ZFNet training step otherwise allocates and
// drops about 275 MB of it, which the garbage collector lets the heap grow
// by before collecting (peak memory) and then spends time collecting.
type scratch struct {
	sets [2]any
	pack []float32 // an operand packed for the assembly SGEMM
}

// packed is the buffer for a packed GEMM operand; nil s gives a fresh one.
func (s *scratch) packed() *[]float32 {
	if s == nil {
		return new([]float32)
	}
	return &s.pack
}

// buffers returns set number set of s: n buffers of size elements, made
// on first use or when the shape changed. A nil s allocates afresh.
func buffers[T any](s *scratch, set, n, size int) [][]T {
	var bs [][]T
	if s != nil {
		bs, _ = s.sets[set].([][]T)
	}
	if len(bs) < n || (n > 0 && len(bs[0]) != size) {
		bs = make([][]T, n)
		for i := range bs {
			bs[i] = make([]T, size)
		}
		if s != nil {
			s.sets[set] = bs
		}
	}
	return bs[:n]
}
