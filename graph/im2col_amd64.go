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

//go:noescape
func copyRowsAVX512(dst, src *float32, rows, w, dstStride, srcStride int)

//go:noescape
func addRowsAVX512(dst, src *float32, rows, w, dstStride, srcStride int)

// rowsOn is false in tests that hold the padded-plane loops to the others.
var rowsOn = true

// rowsAvailable reports whether copyRows and addRows run (the avx512
// SGEMM path).
func rowsAvailable() bool { return rowsOn && dot8Available() }

// rowsInside panics unless rows rows of w values, strides ds and ss apart,
// lie inside dst and src: the assembly checks nothing.
func rowsInside(dst, src []float32, rows, w, ds, ss int) bool {
	if rows <= 0 || w <= 0 {
		return false
	}
	if (rows-1)*ds+w > len(dst) || (rows-1)*ss+w > len(src) {
		panic("graph: strided rows outside their slices")
	}
	return true
}

// copyRows copies a rows x w block: dst[r*ds+j] = src[r*ss+j].
func copyRows(dst, src []float32, rows, w, ds, ss int) {
	if rowsInside(dst, src, rows, w, ds, ss) {
		copyRowsAVX512(&dst[0], &src[0], rows, w, ds, ss)
	}
}

// addRows adds a rows x w block: dst[r*ds+j] += src[r*ss+j].
func addRows(dst, src []float32, rows, w, ds, ss int) {
	if rowsInside(dst, src, rows, w, ds, ss) {
		addRowsAVX512(&dst[0], &src[0], rows, w, ds, ss)
	}
}
