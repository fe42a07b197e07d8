package graph

// Stride-1 im2col and col2im through a padded plane.
//
// im2colSame and im2colAny build each row of the column matrix from pieces:
// a copy, clears for the padding above and below, and a clear at the end of
// every output row for the padding left and right. On the small maps of
// the 28x28 and 32x32 networks (7x7 to 28x28) those pieces are a few
// values each and the calls cost more than the copying. Copying each map
// once into a plane with its padding around it (zeros that stay from map
// to map) turns every row of col into OH copies of OW contiguous values
// from that plane, which copyRows does 16 at a time with the row's tail
// masked; rows narrower than 16 (7x7 and 14x14 maps) go 16 outputs at a
// time instead, each chunk picked out of 32 plane values by one permute
// (windowAVX512). col2im runs the same way backwards, adding onto a zeroed
// padded plane and then onto the map.
//
// Only values are moved (im2col) or added in the same order (col2im: for
// each input position the (kh, kw) contributions arrive in the same order
// as col2im's, onto +0): the same bits as the other loops, tested.

// im2colPadded is im2col for stride 1 where copyRows runs (float32, the
// avx512 SGEMM path); false where it does not, and col is untouched.
func im2colPadded[T float](g convGeom, x, col []T, ld int) bool {
	x32, ok := any(x).([]float32)
	if !ok || g.Stride != 1 || !rowsAvailable() {
		return false
	}
	c32 := any(col).([]float32)
	wp := g.W + 2*g.Pad
	// 32 values of slack: windowAVX512 reads 32 from each chunk's start.
	buf, give := borrowPtr[float32]((g.H+2*g.Pad)*wp + 32)
	defer give()
	pad := *buf
	clear(pad) // the border stays zero; each map overwrites the inside
	win := windowFor(g.OH, g.OW, wp)
	for c := 0; c < g.cg; c++ {
		copyRows(pad[g.Pad*wp+g.Pad:], x32[c*g.H*g.W:], g.H, g.W, wp, g.W)
		for kh := 0; kh < g.KH; kh++ {
			for kw := 0; kw < g.KW; kw++ {
				dst, src := c32[((c*g.KH+kh)*g.KW+kw)*ld:], pad[kh*wp+kw:]
				if win != nil {
					win.copyWindow(dst, src)
				} else {
					copyRows(dst, src, g.OH, g.OW, g.OW, wp)
				}
			}
		}
	}
	return true
}

// col2imPadded is col2im for stride 1 where addRows runs; false where it
// does not, and x is untouched.
func col2imPadded[T float](g convGeom, col, x []T, ld int) bool {
	x32, ok := any(x).([]float32)
	if !ok || g.Stride != 1 || !rowsAvailable() {
		return false
	}
	c32 := any(col).([]float32)
	wp := g.W + 2*g.Pad
	buf, give := borrowPtr[float32]((g.H + 2*g.Pad) * wp)
	defer give()
	pad := *buf
	for c := 0; c < g.cg; c++ {
		clear(pad)
		for kh := 0; kh < g.KH; kh++ {
			for kw := 0; kw < g.KW; kw++ {
				addRows(pad[kh*wp+kw:], c32[((c*g.KH+kh)*g.KW+kw)*ld:], g.OH, g.OW, wp, g.OW)
			}
		}
		addRows(x32[c*g.H*g.W:], pad[g.Pad*wp+g.Pad:], g.H, g.W, g.W, wp)
	}
	return true
}
