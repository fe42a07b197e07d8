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
// tiles, V's layout), each map's images copied into a stack of planes of
// whole blocks; false (doing nothing) where the assembly does not run.
func wino43DyAsm[T float](g convGeom, dy []T, th, tw int, yh []T) bool {
	if !wino43Asm() {
		return false
	}
	d32, y32 := any(dy).([]float32), any(yh).([]float32)
	nt := g.N * th * tw
	ld := 4 * tw
	plane := 4 * th * ld
	idx := wino43Origins(g.N, th, tw, ld, 4, plane)
	_ = y32[36*g.O*nt-1]
	parallelRange(g.O, func(lo, hi int) {
		pp, giveP := borrowPtr[float32](g.N*plane + 24*16)
		defer giveP()
		P, S := (*pp)[:g.N*plane], (*pp)[g.N*plane:][:24*16]
		clear(P) // past the maps it stays zero: each map overwrites the same inside
		for o := lo; o < hi; o++ {
			stackMaps(P, d32, g.N, g.O, g.OH, g.OW, o, plane, ld, 0)
			v := y32[o*nt:]
			wino43Chunks(nt, func(k int, mask uint16) {
				wino43DyAVX512(&P[0], ld, &idx[16*k], mask, &wino43AF32[0], &S[0], &v[16*k], g.O*nt)
			})
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

// wino43Origins gives the element offsets of the tiles' origins in a stack
// of n planes (plane floats apart) of ld columns: tile t of image i at
// i*plane + step*(ty*ld + tx), th x tw tiles per image in order, padded to
// whole chunks of 16. The calls take 16 tiles at a time across the images
// of a map: zfnet's 7x7 tiles per image would leave 15 of the last
// chunk's 16 lanes idle.
func wino43Origins(n, th, tw, ld, step, plane int) []int32 {
	idx := make([]int32, (n*th*tw+15)/16*16)
	for i := range n * th * tw {
		img, t := i/(th*tw), i%(th*tw)
		idx[i] = int32(img*plane + step*((t/tw)*ld+t%tw))
	}
	return idx
}

// stackMaps copies map ci of each of the n images of x (n x c x h x w)
// into a stack of planes (plane floats apart, rows ld apart), each at row
// and column off of its plane.
func stackMaps(P, x []float32, n, c, h, w, ci, plane, ld, off int) {
	for img := range n {
		copyRows(P[img*plane+off*ld+off:], x[(img*c+ci)*h*w:][:h*w], h, w, ld, w)
	}
}

// wino43Chunks calls f(k, mask) for each chunk of 16 of nt tiles.
func wino43Chunks(nt int, f func(k int, mask uint16)) {
	for k := 0; 16*k < nt; k++ {
		f(k, lanes(min(16, nt-16*k)))
	}
}

// phase43InputsAsm is wino43Inputs of the phase form pg of g (phaseGeom),
// reading the phases from x itself: each map of each image is copied once
// into a padded plane, whose every other row and column the gathers read
// (dilation 2) for each of the four phases. V[xi] whole, as
// wino43InputsAsm. False (doing nothing) where the assembly does not run.
func phase43InputsAsm[T float](g, pg convGeom, x []T, th, tw int, V []T) bool {
	if !wino43Asm() || g.H+g.Pad > 2*(4*th+2) || g.W+g.Pad > 2*(4*tw+2) {
		return false
	}
	wino43Gather(g, any(x).([]float32), any(V).([]float32), th, tw, 2)
	return true
}

// wino43Asm says whether the transforms run the assembly: the avx512
// SGEMM path.
func wino43Asm() bool { return winogradAVX512() }

// wino43InputsAsm is wino43Inputs in AVX-512 (float32 only, as are the
// Winograd convolutions), V[xi] whole, as the SGEMM transform writes it.
func wino43InputsAsm[T float](g convGeom, x []T, th, tw int, V []T) {
	wino43Gather(g, any(x).([]float32), any(V).([]float32), th, tw, 1)
}

// wino43Gather transforms the tiles of x (g's input) into V with
// wino43InAVX512: dil 1, g's own th x tw tiles; dil 2, those of its four
// phases (map ph*C+c of V for phase ph = p*2+q of map c, as phaseSplit),
// th x tw tiles each, read from every other row and column. Each map's
// images are stacked into padded planes (zero outside the maps: each map
// overwrites the same inside), which hold every tile: rows and columns up
// to 4t+1 of the (phase) map, with the map at (pad, pad).
func wino43Gather(g convGeom, x32, v32 []float32, th, tw, dil int) {
	phases := dil * dil
	nt := g.N * th * tw
	hp, wpad := dil*(4*th+2), dil*(4*tw+2)
	plane := hp * wpad
	idx := wino43Origins(g.N, th, tw, wpad, 4*dil, plane)
	_ = v32[36*phases*g.C*nt-1]
	parallelRange(g.C, func(lo, hi int) { // whole maps: the images of a map write one run of V's rows
		pp, giveP := borrowPtr[float32](g.N*plane + 36*16)
		defer giveP()
		P, S := (*pp)[:g.N*plane], (*pp)[g.N*plane:][:36*16]
		clear(P)
		for ci := lo; ci < hi; ci++ {
			stackMaps(P, x32, g.N, g.C, g.H, g.W, ci, plane, wpad, g.Pad)
			for ph := range phases {
				v := v32[(ph*g.C+ci)*nt:]
				base := P[(ph/2)*wpad+ph%2:]
				wino43Chunks(nt, func(k int, mask uint16) {
					wino43InAVX512(&base[0], dil*wpad, &idx[16*k], mask, &wino43BtF32[0], &S[0], &v[16*k], phases*g.C*nt, dil)
				})
			}
		}
	})
}

// wino43OutputsAsm is the blocks' transform and wino43Place in AVX-512,
// from products laid out map by map (map o's rows at o*36*nt, row xi at
// xi*nt): the blocks of all images of a map scattered into a stack of
// planes of whole blocks, then copied into y clipped to the output.
func wino43OutputsAsm[T float](g convGeom, M, b, y []T, th, tw int) {
	m32, y32, b32 := any(M).([]float32), any(y).([]float32), any(b).([]float32)
	nt := g.N * th * tw
	ld := 4 * tw // the padded output plane: whole blocks
	plane := 4 * th * ld
	var offs [16]int32
	for p := range 4 {
		for q := range 4 {
			offs[p*4+q] = int32(p*ld + q)
		}
	}
	idx := wino43Origins(g.N, th, tw, ld, 4, plane)
	_ = m32[36*g.O*nt-1]
	_ = y32[g.N*g.O*g.OH*g.OW-1]
	parallelRange(g.O, func(lo, hi int) {
		qp, giveQ := borrowPtr[float32](g.N*plane + 24*16)
		defer giveQ()
		Q, S := (*qp)[:g.N*plane], (*qp)[g.N*plane:][:24*16]
		for o := lo; o < hi; o++ {
			var bo float32
			if b32 != nil {
				bo = b32[o]
			}
			m := m32[o*36*nt:]
			wino43Chunks(nt, func(k int, mask uint16) {
				wino43OutAVX512(&m[16*k], nt, &wino43AtF32[0], bo, &Q[0], &offs[0], &idx[16*k], mask, &S[0])
			})
			for img := range g.N {
				copyRows(y32[(img*g.O+o)*g.OH*g.OW:], Q[img*plane:], g.OH, g.OW, g.OW, ld)
			}
		}
	})
}
