package graph

import (
	"math"
	"sync"
)

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

//go:noescape
func windowAVX512(dst, src *float32, chunks int, starts, idx *int32, tail uint16)

// windowPlan is how windowAVX512 reads an oh x ow window whose rows lie wp
// apart: per chunk of 16 outputs the offset of its first source value and
// each output's offset from it. ok is false where a chunk's sources span
// more than 32 values (rows of 16 or more: copyRows serves those).
type windowPlan struct {
	starts, idx []int32
	tail        uint16
	n           int // oh*ow
}

func newWindowPlan(oh, ow, wp int) (windowPlan, bool) {
	n := oh * ow
	if ow >= 16 || n == 0 {
		return windowPlan{}, false
	}
	chunks := (n + 15) / 16
	pl := windowPlan{starts: make([]int32, chunks), idx: make([]int32, 16*chunks), n: n}
	for c := range chunks {
		p0 := 16 * c
		s := (p0/ow)*wp + p0%ow
		pl.starts[c] = int32(s)
		for i := range 16 {
			if p := p0 + i; p < n {
				d := (p/ow)*wp + p%ow - s
				if d >= 32 {
					return windowPlan{}, false
				}
				pl.idx[16*c+i] = int32(d)
			}
		}
	}
	pl.tail = lanes(n - 16*(chunks-1))
	return pl, true
}

// copyWindow writes the window of src (its first value at src[0]) into
// dst[:n]; src must hold 32 values past every chunk's start.
func (pl *windowPlan) copyWindow(dst, src []float32) {
	_ = dst[pl.n-1]
	_ = src[int(pl.starts[len(pl.starts)-1])+31]
	windowAVX512(&dst[0], &src[0], len(pl.starts), &pl.starts[0], &pl.idx[0], pl.tail)
}

// windowPlans caches the plans by (oh, ow, wp): a network has a few.
var windowPlans sync.Map

// windowFor returns the plan of an oh x ow window of rows wp apart, nil
// where windowAVX512 does not serve it.
func windowFor(oh, ow, wp int) *windowPlan {
	key := [3]int{oh, ow, wp}
	if p, ok := windowPlans.Load(key); ok {
		return p.(*windowPlan)
	}
	pl, ok := newWindowPlan(oh, ow, wp)
	if !ok {
		windowPlans.Store(key, (*windowPlan)(nil))
		return nil
	}
	windowPlans.Store(key, &pl)
	return &pl
}

//go:noescape
func gather12AVX512(dst, src *float32, kc int, idx *int32)

// gather12 packs 12 rows of kc values, lda apart from a[base:], k-major
// into dst (dst[12p+i] = a[base+i*lda+p]): the SGEMM's sliver of a
// row-major A, with gathers where rowsAvailable; false (nothing written)
// where it does not run or the offsets pass int32.
func gather12(dst, a []float32, base, lda, kc int) bool {
	if !rowsAvailable() || kc <= 0 || 11*lda > math.MaxInt32 {
		return false
	}
	_, _ = a[base+11*lda+kc-1], dst[12*kc-1]
	var idx [16]int32
	for i := range 12 {
		idx[i] = int32(i * lda)
	}
	gather12AVX512(&dst[0], &a[base], kc, &idx[0])
	return true
}
