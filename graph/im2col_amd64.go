package graph

//go:noescape
func stride2AVX512(dst, src *float32, chunks int)

// stride2Copy sets dst[i] = src[2i] for the leading whole chunks of 16 of
// dst whose 32 source values lie in src, with the AVX-512 kernel (the
// avx512 SGEMM path), and returns how many it did (0 where it does not
// run). The same copies as the Go loop: the same bits.
func stride2Copy[T float](dst, src []T) int {
	d32, ok := any(dst).([]float32)
	if !ok || !dot8Available() {
		return 0
	}
	s32 := any(src).([]float32)
	chunks := min(len(d32), len(s32)/2) / 16
	if chunks == 0 {
		return 0
	}
	_, _ = d32[16*chunks-1], s32[32*chunks-1]
	stride2AVX512(&d32[0], &s32[0], chunks)
	return 16 * chunks
}

//go:noescape
func addScalarAVX512(p *float32, n int, v float32)

// addScalar adds v to every element of row (a convolution's bias over one
// output map): AVX-512 where the avx512 SGEMM path runs, the Go loop
// otherwise; the same bits either way.
func addScalar[T float](row []T, v T) {
	if r32, ok := any(row).([]float32); ok && dot8Available() && len(r32) > 0 {
		addScalarAVX512(&r32[0], len(r32), float32(v))
		return
	}
	for i := range row {
		row[i] += v
	}
}
