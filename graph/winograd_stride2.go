package graph

// Stride-2 convolutions with 5x5 or 6x6 kernels (zfnet's conv2: 5x5/2, 96
// -> 256 maps, a sixth of the network's multiply-adds) as Winograd
// convolutions, through their polyphase form (issue 14, item 3: conv2 is where the
// direct convolution trailed oneDNN most). Output (i, j) of a stride-2
// convolution reads input rows 2i+kh-pad: splitting kh = 2a+p, it is the sum
// over the four phases (p, q) of the input (even or odd rows, even or odd
// columns) of a stride-1 convolution with the taps w[2a+p][2b+q], at most
// 3x3 for a kernel of 6 or less. So the convolution is one stride-1 3x3
// convolution, without padding, of the 4C phase maps (OH+2 x OW+2 each)
// with the O x 4C rearranged filters (the missing taps zero):
//
//	y = conv3x3(P(x), R(w)),  dx = P^T(dX'),  dw = R^T(dW')
//
// with P the phase split (zero outside x) and R the rearrangement, both
// copies, and dX', dW' the stride-1 convolution's gradients: every step but
// the copies is a Winograd kernel. On zfnet's conv2 (26x26 outputs) F(4x4,
// 3x3) (winograd43.go; 7x7 tiles covering 28x28) does 36*4C*O*49 = 176M
// multiply-adds per image where the direct convolution does 25*C*O*676 =
// 415M, 2.4 times fewer (F(2x2, 3x3): 266M), and its assembly transforms
// gather the phases from x itself, so P is never written out (phaseSource).
// The error is F(4x4, 3x3)'s (winograd_stride2_test.go).

// phaseOK says whether g is a convolution the phase split turns into a
// 3x3 stride-1 one: stride 2, kernel 5 or 6 each way, one group.
func phaseOK(g convGeom) bool {
	k := func(n int) bool { return n == 5 || n == 6 }
	return g.Stride == 2 && k(g.KH) && k(g.KW) && groupsOf(g.Groups) == 1
}

// usePhaseWinograd is useWinograd for the phase form: float32, phaseOK,
// and wide enough counting the 4C phase maps.
func usePhaseWinograd[T float](g convGeom) bool {
	var z T
	_, f32 := any(z).(float32)
	return f32 && winogradOn && phaseOK(g) && 4*g.C >= winogradMinMaps && g.O >= winogradMinMaps
}

// phaseGeom is the stride-1 3x3 convolution of g's phases: 4C maps of
// (OH+2) x (OW+2), no padding, O maps of OH x OW out.
func phaseGeom(g convGeom) convGeom {
	pg, err := newConvGeom(g.N, 4*g.C, g.OH+2, g.OW+2, g.O, 3, 3, 1, 0)
	if err != nil {
		panic("phaseGeom: " + err.Error()) // cannot happen: 3x3 fits OH+2 x OW+2
	}
	return pg
}

// phaseForward computes y = conv(x, w) + b (b may be nil) for a phaseOK
// geometry, like convForward.
func phaseForward[T float](g convGeom, x, w, b, y []T) {
	pg := phaseGeom(g)
	if wino43Pays(pg) {
		wp, giveW := borrowPtr[T](pg.O * pg.C * 9)
		defer giveW()
		phaseFilters(g, w, *wp)
		wino43ForwardFrom(pg, phaseSource(g, x), *wp, b, y)
		return
	}
	xp, giveX := borrowPtr[T](pg.N * pg.C * pg.H * pg.W)
	defer giveX()
	phaseSplit(g, pg, x, *xp)
	wp, giveW := borrowPtr[T](pg.O * pg.C * 9)
	defer giveW()
	phaseFilters(g, w, *wp)
	winogradForward(pg, *xp, *wp, b, y)
}

// phaseBackwardInput computes dx = conv^T(dy, w), like convBackwardInput.
func phaseBackwardInput[T float](g convGeom, dy, w, dx []T) {
	pg := phaseGeom(g)
	wp, giveW := borrowPtr[T](pg.O * pg.C * 9)
	defer giveW()
	phaseFilters(g, w, *wp)
	dxp, giveX := borrowPtr[T](pg.N * pg.C * pg.H * pg.W)
	defer giveX()
	winogradBackwardInput(pg, dy, *wp, *dxp)
	phaseMerge(g, pg, *dxp, dx)
}

// phaseBackwardWeight computes dw, like convBackwardWeight.
func phaseBackwardWeight[T float](g convGeom, x, dy, dw []T) {
	pg := phaseGeom(g)
	if wino43Pays(pg) {
		dwp, giveW := borrowPtr[T](pg.O * pg.C * 9)
		defer giveW()
		wino43BackwardWeightFrom(pg, phaseSource(g, x), dy, *dwp)
		phaseFiltersGrad(g, *dwp, dw)
		return
	}
	xp, giveX := borrowPtr[T](pg.N * pg.C * pg.H * pg.W)
	defer giveX()
	phaseSplit(g, pg, x, *xp)
	dwp, giveW := borrowPtr[T](pg.O * pg.C * 9)
	defer giveW()
	winogradBackwardWeight(pg, *xp, dy, *dwp)
	phaseFiltersGrad(g, *dwp, dw)
}

// phaseSource is the wino43Source of the phase form of g's input x: the
// tiles of the phases gathered from x itself where the assembly runs (no
// copy of the phases: each map is copied once into a padded plane, and the
// gathers read every other row and column of it), else those of x's phases
// split into a scratch copy.
func phaseSource[T float](g convGeom, x []T) wino43Source[T] {
	inSz := g.C * g.H * g.W
	return func(pc convGeom, n0 int, V []T) (int, int) {
		gc := g
		gc.N = pc.N
		xc := x[n0*inSz:][:gc.N*inSz]
		th, tw, nt := wino43Tiles(pc)
		if phase43InputsAsm(gc, pc, xc, th, tw, V) {
			return pc.C * nt, nt
		}
		xp, giveX := borrowPtr[T](pc.N * pc.C * pc.H * pc.W)
		defer giveX()
		phaseSplit(gc, pc, xc, *xp)
		return wino43Inputs(pc, *xp, th, tw, V)
	}
}

// phaseSplit writes the phases of x (N x C x H x W) into xp (N x 4C x pg.H
// x pg.W): map (p*2+q)*C+c of an image holds x[c][2i+p-pad][2j+q-pad], zero
// outside x.
func phaseSplit[T float](g, pg convGeom, x, xp []T) {
	parallelRange(g.N*4*g.C, func(lo, hi int) {
		for nm := lo; nm < hi; nm++ {
			n, m := nm/(4*g.C), nm%(4*g.C)
			p, q, c := m/g.C/2, m/g.C%2, m%g.C
			src := x[(n*g.C+c)*g.H*g.W:][:g.H*g.W]
			dst := xp[nm*pg.H*pg.W:][:pg.H*pg.W]
			for i := range pg.H {
				row := dst[i*pg.W:][:pg.W]
				r := 2*i + p - g.Pad
				if r < 0 || r >= g.H {
					clear(row)
					continue
				}
				in := src[r*g.W:][:g.W]
				for j := range row {
					if s := 2*j + q - g.Pad; uint(s) < uint(g.W) {
						row[j] = in[s]
					} else {
						row[j] = 0
					}
				}
			}
		}
	})
}

// phaseMerge is phaseSplit's adjoint: every position of x lies in exactly
// one phase, so dx[c][2i+p-pad][2j+q-pad] = dxp[(p*2+q)*C+c][i][j]; a
// position past the last phase row or column (which no output reads, in
// floor mode) gets 0.
func phaseMerge[T float](g, pg convGeom, dxp, dx []T) {
	parallelRange(g.N*g.C, func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			n, c := nc/g.C, nc%g.C
			dst := dx[nc*g.H*g.W:][:g.H*g.W]
			clear(dst)
			for ph := range 4 {
				p, q := ph/2, ph%2
				src := dxp[(n*4*g.C+ph*g.C+c)*pg.H*pg.W:][:pg.H*pg.W]
				// Phase columns j with 0 <= 2j+q-pad < W.
				jlo := max(0, (g.Pad-q+1)/2)
				jhi := min(pg.W, (g.W+g.Pad-q+1)/2)
				for i := range pg.H {
					r := 2*i + p - g.Pad
					if r < 0 || r >= g.H || jlo >= jhi {
						continue
					}
					row := dst[r*g.W+2*jlo+q-g.Pad:][:2*(jhi-jlo)-1]
					for k, v := range src[i*pg.W+jlo : i*pg.W+jhi] {
						row[2*k] = v
					}
				}
			}
		}
	})
}

// phaseFilters rearranges w (O x C x KH x KW) into the phase form's O x
// 4C x 3 x 3 filters: wp[o][(p*2+q)*C+c][a][b] = w[o][c][2a+p][2b+q], zero
// where that tap lies past the kernel.
func phaseFilters[T float](g convGeom, w, wp []T) {
	taps := phaseTaps(g)
	parallelRange(g.O, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for m := range 4 * g.C {
				ph, c := m/g.C, m%g.C
				src := w[(o*g.C+c)*g.KH*g.KW:][:g.KH*g.KW]
				dst := wp[(o*4*g.C+m)*9:][:9]
				for i, t := range taps[ph] {
					if t >= 0 {
						dst[i] = src[t]
					} else {
						dst[i] = 0
					}
				}
			}
		}
	})
}

// phaseTaps gives, for each phase p*2+q and tap a*3+b of the phase form's
// 3x3 filter, the index of the kernel's tap (2a+p)*KW+2b+q, or -1 past
// the kernel.
func phaseTaps(g convGeom) (taps [4][9]int) {
	for ph := range 4 {
		p, q := ph/2, ph%2
		for a := range 3 {
			for b := range 3 {
				kh, kw := 2*a+p, 2*b+q
				taps[ph][a*3+b] = -1
				if kh < g.KH && kw < g.KW {
					taps[ph][a*3+b] = kh*g.KW + kw
				}
			}
		}
	}
	return taps
}

// phaseFiltersGrad is phaseFilters' adjoint: it reads each tap's gradient
// back from the phase form's (the zero taps' are dropped).
func phaseFiltersGrad[T float](g convGeom, dwp, dw []T) {
	parallelRange(g.O, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			phaseFiltersGradOf(g, o, dwp, dw)
		}
	})
}

// phaseFiltersGradOf reads output map o's filter gradients for
// phaseFiltersGrad.
func phaseFiltersGradOf[T float](g convGeom, o int, dwp, dw []T) {
	for c := range g.C {
		dst := dw[(o*g.C+c)*g.KH*g.KW:][:g.KH*g.KW]
		for kh := range g.KH {
			for kw := range g.KW {
				ph := (kh%2)*2 + kw%2
				dst[kh*g.KW+kw] = dwp[((o*4+ph)*g.C+c)*9+(kh/2)*3+kw/2]
			}
		}
	}
}
