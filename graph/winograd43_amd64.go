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
func wino43InAVX512(p *float32, rowStep int, idx *int32, mask uint16, bt, s, v *float32, ldv, dil int)

//go:noescape
func wino43OutAVX512(m *float32, ldm int, at *float32, bias float32, y *float32, offs, idx *int32, mask uint16, s *float32)

//go:noescape
func wino43DyAVX512(p *float32, rowStep int, idx *int32, mask uint16, a, s, v *float32, ldv int)

// wino43BtF32, wino43AtF32 and wino43AF32 (A = At^T, 6 x 4) are the
// transforms' tables for the assembly, row-major.
var wino43BtF32, wino43AtF32, wino43AF32 = flat32(wino43Bt), flat32(wino43At), flat32(transpose64(wino43At))

func transpose64(a [][]float64) [][]float64 {
	t := make([][]float64, len(a[0]))
	for j := range t {
		t[j] = make([]float64, len(a))
		for i := range a {
			t[j][i] = a[i][j]
		}
	}
	return t
}

// wino43DyAsm computes the weight gradient's Yhat = A dy A^T of every 4x4
// block of dy (N x O x OH x OW, zero past the map) into yh (36 x O x
// tiles, V's layout), each map's blocks gathered from a plane of whole
// blocks; false (doing nothing) where the assembly does not run.
func wino43DyAsm[T float](g convGeom, dy []T, th, tw int, yh []T) bool {
	if !wino43Asm() {
		return false
	}
	d32, y32 := any(dy).([]float32), any(yh).([]float32)
	nt := g.N * th * tw
	ld := 4 * tw
	idx := wino43Origins(th, tw, ld, 4)
	_ = y32[36*g.O*nt-1]
	parallelRange(g.N*g.O, func(lo, hi int) {
		pp, giveP := borrowPtr[float32](4*th*ld + 24*16)
		defer giveP()
		P, S := (*pp)[:4*th*ld], (*pp)[4*th*ld:][:24*16]
		clear(P) // past the map it stays zero: each map overwrites the same inside
		for no := lo; no < hi; no++ {
			o, img := no/g.N, no%g.N // map-major, as wino43InputsAsm
			copyRows(P, d32[(img*g.O+o)*g.OH*g.OW:][:g.OH*g.OW], g.OH, g.OW, ld, g.OW)
			v := y32[o*nt+img*th*tw:]
			for k := 0; 16*k < th*tw; k++ {
				wino43DyAVX512(&P[0], ld, &idx[16*k], lanes(min(16, th*tw-16*k)), &wino43AF32[0], &S[0], &v[16*k], g.O*nt)
			}
		}
	})
	return true
}

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
// in a plane of ld columns, tiles step apart, padded to whole chunks of 16.
func wino43Origins(th, tw, ld, step int) []int32 {
	idx := make([]int32, (th*tw+15)/16*16)
	for t := range th * tw {
		idx[t] = int32(step * ((t/tw)*ld + t%tw))
	}
	return idx
}

// phase43InputsAsm is wino43Inputs of the phase form pg of g (phaseGeom),
// reading the phases from x itself: each map is copied once into a padded
// plane, whose every other row and column the gathers read (dilation 2)
// for each of the four phases. V[xi] whole, as wino43InputsAsm. False
// (doing nothing) where the assembly does not run.
func phase43InputsAsm[T float](g, pg convGeom, x []T, th, tw int, V []T) bool {
	hp, wpad := 2*(4*th+2), 2*(4*tw+2) // phase rows and columns 0 .. 4t+1
	if !wino43Asm() || g.H+g.Pad > hp || g.W+g.Pad > wpad {
		return false
	}
	x32, v32 := any(x).([]float32), any(V).([]float32)
	nt := pg.N * th * tw
	idx := wino43Origins(th, tw, wpad, 8)
	_ = v32[36*pg.C*nt-1]
	parallelRange(g.N*g.C, func(lo, hi int) {
		pp, giveP := borrowPtr[float32](hp*wpad + 36*16)
		defer giveP()
		P, S := (*pp)[:hp*wpad], (*pp)[hp*wpad:][:36*16]
		clear(P) // outside the map it stays zero: each map overwrites the same inside
		for nc := lo; nc < hi; nc++ {
			ci, img := nc/g.N, nc%g.N // map-major: the images of a map write one run of V's rows
			copyRows(P[g.Pad*wpad+g.Pad:], x32[(img*g.C+ci)*g.H*g.W:][:g.H*g.W], g.H, g.W, wpad, g.W)
			for ph := range 4 {
				// Phase ph = p*2+q of map ci is map ph*C+ci of pg (phaseSplit).
				v := v32[(ph*g.C+ci)*nt+img*th*tw:]
				base := P[(ph/2)*wpad+ph%2:]
				for k := 0; 16*k < th*tw; k++ {
					wino43InAVX512(&base[0], 2*wpad, &idx[16*k], lanes(min(16, th*tw-16*k)), &wino43BtF32[0], &S[0], &v[16*k], pg.C*nt, 2)
				}
			}
		}
	})
	return true
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
	idx := wino43Origins(th, tw, wpad, 4)
	_ = v32[36*g.C*nt-1]
	parallelRange(g.N*g.C, func(lo, hi int) { // contiguous, as in winogradInputs
		pp, giveP := borrowPtr[float32](hp*wpad + 36*16)
		defer giveP()
		P, S := (*pp)[:hp*wpad], (*pp)[hp*wpad:][:36*16]
		clear(*pp) // outside the map P stays zero: each map overwrites the same inside
		for nc := lo; nc < hi; nc++ {
			ci, img := nc/g.N, nc%g.N // map-major: the images of a map write one run of V's rows
			copyRows(P[g.Pad*wpad+g.Pad:], x32[(img*g.C+ci)*g.H*g.W:][:g.H*g.W], g.H, g.W, wpad, g.W)
			v := v32[ci*nt+img*th*tw:]
			for k := 0; 16*k < th*tw; k++ {
				wino43InAVX512(&P[0], wpad, &idx[16*k], lanes(min(16, th*tw-16*k)), &wino43BtF32[0], &S[0], &v[16*k], g.C*nt, 1)
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
	idx := wino43Origins(th, tw, ld, 4)
	_ = m32[36*g.O*nt-1]
	_ = y32[g.N*g.O*g.OH*g.OW-1]
	parallelRange(g.N*g.O, func(lo, hi int) { // whole maps per worker: no shared cache lines of y
		qp, giveQ := borrowPtr[float32](4*th*ld + 24*16)
		defer giveQ()
		Q, S := (*qp)[:4*th*ld], (*qp)[4*th*ld:]
		for no := lo; no < hi; no++ {
			o, img := no/g.N, no%g.N // map-major: the images of a map read one run of M's rows
			var bo float32
			if b32 != nil {
				bo = b32[o]
			}
			m := m32[o*36*nt+img*th*tw:]
			for k := 0; 16*k < th*tw; k++ {
				wino43OutAVX512(&m[16*k], nt, &wino43AtF32[0], bo, &Q[0], &offs[0], &idx[16*k], lanes(min(16, th*tw-16*k)), &S[0])
			}
			copyRows(y32[(img*g.O+o)*g.OH*g.OW:], Q, g.OH, g.OW, g.OW, ld)
		}
	})
}
