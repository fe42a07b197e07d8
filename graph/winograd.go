package graph

// Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions (issue 14, item 3):
// each 2x2 block of outputs of a map comes from a 4x4 tile of inputs with 16
// multiplications per (output map, input map) pair instead of 36, so the
// work is 16 GEMMs of O x C times C x T (T tiles of the whole batch) where
// the direct convolution is one of O x 9C times 9C x 4T: 2.25 times fewer
// multiply-adds on whole tiles (1.94 on zfnet's 13x13 maps, whose 7x7 tiles
// cover 14x14 outputs). The transforms (Lavin and Gray, 2015):
//
//	U = G g G^T         (filter, 3x3 -> 4x4)
//	V = B^T d B         (input tile, 4x4)
//	Y = A^T (U .* V) A  (output block, 2x2; the sum over input maps is the GEMM)
//
// with G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1], B^T = [1 0 -1 0; 0 1 1 0;
// 0 -1 1 0; 0 1 0 -1] and A^T = [1 1 1 0; 0 1 -1 -1]. The result differs from
// the direct convolution by rounding only (winograd_test.go bounds it); it is
// the same to the bit from run to run for a given SGEMM path and thread
// count.
//
// Nothing calls it yet: as written (scalar Go transforms, the filter
// transform redone per call) it runs at 0.7 to 0.9 of the direct
// convolution's speed on zfnet's conv3-5 with the AVX-512 SGEMM (the
// transforms and their memory traffic take about half its time;
// BENCHMARKS.md). It needs vectorized transforms, and filters transformed
// once per batch in the op, before convForward (conv_kernels.go) should
// take it for winogradOK geometries (and the input gradient through
// winogradTransposedWeights).

// winogradOK says whether g is a convolution F(2x2, 3x3) computes: 3x3
// kernel, stride 1, one group.
func winogradOK(g convGeom) bool {
	return g.KH == 3 && g.KW == 3 && g.Stride == 1 && groupsOf(g.Groups) == 1
}

// winogradForward computes y = conv(x, w) + b (b may be nil) for a
// winogradOK geometry, like convForward.
func winogradForward[T float](g convGeom, x, w, b, y []T) {
	if !winogradOK(g) {
		panic("winogradForward: not a 3x3 stride-1 ungrouped convolution")
	}
	th, tw := (g.OH+1)/2, (g.OW+1)/2
	tiles := g.N * th * tw
	u, giveU := borrowPtr[T](16 * g.O * g.C)
	defer giveU()
	v, giveV := borrowPtr[T](16 * g.C * tiles)
	defer giveV()
	m, giveM := borrowPtr[T](16 * g.O * tiles)
	defer giveM()
	U, V, M := *u, *v, *m
	oc, ct, ot := g.O*g.C, g.C*tiles, g.O*tiles
	winogradFilters(g, w, U)
	winogradInputs(g, x, V, th, tw)
	// M[xi] = U[xi] V[xi]: 16 independent products, each split by the
	// SGEMM over the spare cores.
	for xi := 0; xi < 16; xi++ {
		gemm(true, false, g.O, tiles, g.C, 1, U[xi*oc:(xi+1)*oc], g.O, V[xi*ct:(xi+1)*ct], tiles, 0, M[xi*ot:(xi+1)*ot], tiles)
	}
	winogradOutputs(g, M, b, y, th, tw)
}

// winogradFilters transforms every filter into U (16 x C x O).
func winogradFilters[T float](g convGeom, w, U []T) {
	oc := g.O * g.C
	// U[xi][c][o] = (G w[o][c] G^T)[xi], stored C x O so that the SGEMM
	// packs it (op(A) = U^T) by contiguous copies.
	half := T(0.5) // x*0.5 is x/2 exactly
	parallelFor(g.C, func(_, c int) {
		for o := 0; o < g.O; o++ {
			f := w[(o*g.C+c)*9:][:9]
			var t [12]T // G f: 4x3
			for j := 0; j < 3; j++ {
				f0, f1, f2 := f[j], f[3+j], f[6+j]
				t[j] = f0
				t[3+j] = (f0 + f1 + f2) * half
				t[6+j] = (f0 - f1 + f2) * half
				t[9+j] = f2
			}
			for i := 0; i < 4; i++ {
				r0, r1, r2 := t[i*3], t[i*3+1], t[i*3+2]
				base := i*4*oc + c*g.O + o
				U[base] = r0
				U[base+oc] = (r0 + r1 + r2) * half
				U[base+2*oc] = (r0 - r1 + r2) * half
				U[base+3*oc] = r2
			}
		}
	})
}

// winogradInputs transforms every 4x4 input tile (th x tw tiles per image,
// zero outside the padded input) into V (16 x C x tiles).
func winogradInputs[T float](g convGeom, x, V []T, th, tw int) {
	tiles := g.N * th * tw
	ct := g.C * tiles
	// V[xi][c][t] = (B^T d B)[xi] for the 4x4 input tile d of tile t.
	parallelFor(g.N*g.C, func(_, nc int) {
		n, c := nc/g.C, nc%g.C
		plane := x[(n*g.C+c)*g.H*g.W:][:g.H*g.W]
		var d [16]T
		for ty := 0; ty < th; ty++ {
			for tx := 0; tx < tw; tx++ {
				y0, x0 := 2*ty-g.Pad, 2*tx-g.Pad
				if y0 >= 0 && x0 >= 0 && y0+4 <= g.H && x0+4 <= g.W {
					for i := 0; i < 4; i++ {
						copy(d[i*4:i*4+4], plane[(y0+i)*g.W+x0:])
					}
				} else {
					for i := 0; i < 4; i++ {
						for j := 0; j < 4; j++ {
							yy, xx := y0+i, x0+j
							if yy >= 0 && yy < g.H && xx >= 0 && xx < g.W {
								d[i*4+j] = plane[yy*g.W+xx]
							} else {
								d[i*4+j] = 0
							}
						}
					}
				}
				var s [16]T // B^T d
				for j := 0; j < 4; j++ {
					d0, d1, d2, d3 := d[j], d[4+j], d[8+j], d[12+j]
					s[j] = d0 - d2
					s[4+j] = d1 + d2
					s[8+j] = d2 - d1
					s[12+j] = d1 - d3
				}
				t := (n*th+ty)*tw + tx
				base := c*tiles + t
				for i := 0; i < 4; i++ {
					s0, s1, s2, s3 := s[i*4], s[i*4+1], s[i*4+2], s[i*4+3]
					o := i*4*ct + base
					V[o] = s0 - s2
					V[o+ct] = s1 + s2
					V[o+2*ct] = s2 - s1
					V[o+3*ct] = s1 - s3
				}
			}
		}
	})
}

// winogradOutputs transforms M (16 x O x tiles) back into output blocks,
// adds the bias (b may be nil) and clips the blocks to the output.
func winogradOutputs[T float](g convGeom, M, b, y []T, th, tw int) {
	tiles := g.N * th * tw
	ot := g.O * tiles
	// y block = A^T M A, plus the bias, clipped to the output.
	outSz := g.O * g.OH * g.OW
	parallelFor(g.N*g.O, func(_, no int) {
		n, o := no/g.O, no%g.O
		yo := y[n*outSz+o*g.OH*g.OW:][:g.OH*g.OW]
		var bo T
		if b != nil {
			bo = b[o]
		}
		for ty := 0; ty < th; ty++ {
			for tx := 0; tx < tw; tx++ {
				t := (n*th+ty)*tw + tx
				var mm [16]T
				for xi := range mm {
					mm[xi] = M[xi*ot+o*tiles+t]
				}
				var a [8]T // A^T mm: 2x4
				for j := 0; j < 4; j++ {
					a[j] = mm[j] + mm[4+j] + mm[8+j]
					a[4+j] = mm[4+j] - mm[8+j] - mm[12+j]
				}
				r, cidx := 2*ty, 2*tx
				for i := 0; i < 2 && r+i < g.OH; i++ {
					row := yo[(r+i)*g.OW:]
					v0 := a[i*4] + a[i*4+1] + a[i*4+2]
					row[cidx] = v0 + bo
					if cidx+1 < g.OW {
						row[cidx+1] = a[i*4+1] - a[i*4+2] - a[i*4+3] + bo
					}
				}
			}
		}
	})
}

// winogradTransposedWeights returns, for a 3x3 stride-1 convolution's
// weights w (O x C x 3 x 3), those of the convolution that computes its
// input gradient: w'[c][o] = w[o][c] rotated by 180 degrees, with padding
// 2 - pad. The input gradient is then winogradForward(g', dy, w', nil, dx)
// with g' the geometry of that convolution (O maps of OH x OW in, C out).
func winogradTransposedWeights[T float](o, c int, w, dst []T) {
	for i := 0; i < o; i++ {
		for j := 0; j < c; j++ {
			src := w[(i*c+j)*9:][:9]
			d := dst[(j*o+i)*9:][:9]
			for k := 0; k < 9; k++ {
				d[k] = src[8-k]
			}
		}
	}
}
