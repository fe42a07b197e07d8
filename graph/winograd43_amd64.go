package graph

// AVX-512 F(4x4, 3x3) transforms (winograd43_amd64.s), taken with the
// avx512 SGEMM path; the others gather the tiles and transform them by
// SGEMM (winograd43.go). Sixteen tiles go through each call, one per lane,
// gathered from (scattered into) a padded plane per map: the tile rows of
// zfnet's maps are 4-7 tiles long, too short to vectorize along a row.
// Their rounding differs from the SGEMM transforms' (other sums in another
// order); each path is within the bound of the float64 direct convolution
// (winograd43_test.go) and the same to the bit from run to run.

//go:noescape
func wino43InAVX512(p *float32, wpad int, idx *int32, mask uint16, bt, s, v *float32, ldv int)

//go:noescape
func wino43OutAVX512(m *float32, ldm int, at *float32, bias float32, y *float32, offs, idx *int32, mask uint16, s *float32)

// wino43BtF32 and wino43AtF32 are the transforms' tables for the
// assembly, row-major.
var wino43BtF32, wino43AtF32 = flat32(wino43Bt), flat32(wino43At)

func flat32(a [][]float64) []float32 {
	var f []float32
	for _, r := range a {
		for _, v := range r {
			f = append(f, float32(v))
		}
	}
	return f
}

// wino43Origins gives the element offsets of the th x tw tiles' origins
// in a plane of ld columns, tiles 4 apart, padded to whole chunks of 16.
func wino43Origins(th, tw, ld int) []int32 {
	idx := make([]int32, (th*tw+15)/16*16)
	for t := range th * tw {
		idx[t] = int32(4*(t/tw)*ld + 4*(t%tw))
	}
	return idx
}

// wino43Asm says whether the transforms run the assembly: the avx512
// SGEMM path.
func wino43Asm() bool { return winogradAVX512() }

// wino43InputsAsm is wino43Inputs in AVX-512 (float32 only, as are the
// Winograd convolutions), V[xi] whole, as the SGEMM transform writes it.
func wino43InputsAsm[T float](g convGeom, x []T, th, tw int, V []T) {
	x32, v32 := any(x).([]float32), any(V).([]float32)
	nt := g.N * th * tw
	// The padded plane holds every tile: rows and columns 4*t+5 < 4*t+2
	// past the last tile's origin, the map at (pad, pad) inside it.
	hp, wpad := 4*th+2, 4*tw+2
	idx := wino43Origins(th, tw, wpad)
	_ = v32[36*g.C*nt-1]
	parallelRange(g.N*g.C, func(lo, hi int) { // contiguous, as in winogradInputs
		pp, giveP := borrowPtr[float32](hp*wpad + 36*16)
		defer giveP()
		P, S := (*pp)[:hp*wpad], (*pp)[hp*wpad:][:36*16]
		clear(*pp) // outside the map P stays zero: each map overwrites the same inside
		for nc := lo; nc < hi; nc++ {
			img, ci := nc/g.C, nc%g.C
			copyRows(P[g.Pad*wpad+g.Pad:], x32[nc*g.H*g.W:][:g.H*g.W], g.H, g.W, wpad, g.W)
			v := v32[ci*nt+img*th*tw:]
			for k := 0; 16*k < th*tw; k++ {
				wino43InAVX512(&P[0], wpad, &idx[16*k], lanes(min(16, th*tw-16*k)), &wino43BtF32[0], &S[0], &v[16*k], g.C*nt)
			}
		}
	})
}

// wino43OutputsAsm is the blocks' transform and wino43Place in AVX-512,
// from products laid out as wino43Inputs lays out V: map o's rows at
// o*36*nt, row xi at xi*nt.
func wino43OutputsAsm[T float](g convGeom, M, b, y []T, th, tw int) {
	m32, y32, b32 := any(M).([]float32), any(y).([]float32), any(b).([]float32)
	nt := g.N * th * tw
	ld := 4 * tw // the padded output plane: whole blocks
	var offs [16]int32
	for p := range 4 {
		for q := range 4 {
			offs[p*4+q] = int32(p*ld + q)
		}
	}
	idx := wino43Origins(th, tw, ld)
	_ = m32[36*g.O*nt-1]
	_ = y32[g.N*g.O*g.OH*g.OW-1]
	parallelRange(g.N*g.O, func(lo, hi int) { // whole maps per worker: no shared cache lines of y
		qp, giveQ := borrowPtr[float32](4*th*ld + 24*16)
		defer giveQ()
		Q, S := (*qp)[:4*th*ld], (*qp)[4*th*ld:]
		for no := lo; no < hi; no++ {
			img, o := no/g.O, no%g.O
			var bo float32
			if b32 != nil {
				bo = b32[o]
			}
			m := m32[o*36*nt+img*th*tw:]
			for k := 0; 16*k < th*tw; k++ {
				wino43OutAVX512(&m[16*k], nt, &wino43AtF32[0], bo, &Q[0], &offs[0], &idx[16*k], lanes(min(16, th*tw-16*k)), &S[0])
			}
			copyRows(y32[no*g.OH*g.OW:], Q, g.OH, g.OW, g.OW, ld)
		}
	})
}
