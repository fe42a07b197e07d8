package graph

import "os"

// Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions (issue 14, item 3):
// each 2x2 block of outputs of a map comes from a 4x4 tile of inputs with 16
// multiplications per (output map, input map) pair instead of 36, so the
// work is 16 GEMMs of O x C times C x T (T tiles of the whole batch) where
// the direct convolution is one of O x 9C times 9C x 4T: 2.25 times fewer
// multiply-adds on whole tiles (1.94 on zfnet's 13x13 maps, whose 7x7 tiles
// cover 14x14 outputs). The transforms (Lavin and Gray, "Fast Algorithms
// for Convolutional Neural Networks", CVPR 2016):
//
//	U = G g G^T         (filter, 3x3 -> 4x4)
//	V = B^T d B         (input tile, 4x4)
//	Y = A^T (U .* V) A  (output block, 2x2; the sum over input maps is the GEMM)
//
// with G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1], B^T = [1 0 -1 0; 0 1 1 0;
// 0 -1 1 0; 0 1 0 -1] and A^T = [1 1 1 0; 0 1 -1 -1].
//
// Why the transforms are GEMMs too: each is a fixed linear map of a few
// values (16 -> 16 for a tile, 9 -> 16 for a filter, 16 -> 4 for a block),
// applied to millions of tiles. Written as a small coefficient matrix times
// the tiles laid out one value per row (a gather, like im2col), they run on
// the same vectorized SGEMM as the products, on every SGEMM path, instead
// of scalar Go loops (which took half the time: the first version ran at
// 0.7-0.9 of the direct convolution's speed). The gathers and the final
// scatter only copy.
//
// The backward pass reuses the forward's pieces:
//   - the input gradient is the forward convolution of dy with the filters
//     rotated by 180 degrees and transposed, padding 2 - pad; rotating g
//     swaps rows 0 and 3 of G g (and columns of G g G^T), so its transform
//     is U itself, read transposed at the permuted index (winogradFlip);
//   - the weight gradient is G^T (sum over tiles of (A dy A^T) .* V) G: 16
//     GEMMs of O x T times T x C over the same tiles V, then the 16 -> 9 map.
//
// The result differs from the direct convolution by rounding only
// (winograd_test.go bounds it against the float64 direct convolution); it
// is the same to the bit from run to run, for any thread count, for a given
// SGEMM path: every step is a copy or an SGEMM, whose parallel split never
// changes a sum's order.

// winogradOn is false when ZFNET_CONV=direct asks for the direct
// convolution everywhere (to compare, or to reproduce an older run).
var winogradOn = os.Getenv("ZFNET_CONV") != "direct"

// winogradMinMaps is the fewest input and output maps for which Winograd
// pays: the transforms cost per map, the GEMMs per pair of maps. zfnet's
// and AlexNet's 3x3 layers (256-1024 maps) are above it; the 28x28
// networks' (32-96 maps) below, where the direct convolution is as fast
// and the default MNIST run keeps its bits.
const winogradMinMaps = 128

// winogradOK says whether g is a convolution F(2x2, 3x3) computes, forward
// and backward: 3x3 kernel, stride 1, one group, padding at most 2 (the
// input gradient's convolution has padding 2 - pad).
func winogradOK(g convGeom) bool {
	return g.KH == 3 && g.KW == 3 && g.Stride == 1 && groupsOf(g.Groups) == 1 && g.Pad <= 2
}

// useWinograd says whether the kernels of convForward, convBackwardInput
// and convBackwardWeight take Winograd for g: float32 (float64 is the
// reference the gradient checks use), winogradOK and wide enough.
func useWinograd[T float](g convGeom) bool {
	var z T
	_, f32 := any(z).(float32)
	return f32 && winogradOn && winogradOK(g) && g.C >= winogradMinMaps && g.O >= winogradMinMaps
}

// The transforms as coefficient matrices, row-major: winogradKin (16 x 16)
// maps a 4x4 tile d (row i*4+j) to V; winogradKf (16 x 9) a filter g to U;
// winogradKout (4 x 16) a product m to the 2x2 block Y. Each is the
// Kronecker product of a 1-D transform with itself.
var (
	winogradBt = [][]float64{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
	winogradG  = [][]float64{{1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}}
	winogradAt = [][]float64{{1, 1, 1, 0}, {0, 1, -1, -1}}
)

// kron returns the Kronecker product of a with itself, row-major: row
// r1*R+r2, column c1*C+c2 holds a[r1][c1]*a[r2][c2].
func kron[T float](a [][]float64) []T {
	r, c := len(a), len(a[0])
	k := make([]T, r*r*c*c)
	for r1 := range r {
		for r2 := range r {
			for c1 := range c {
				for c2 := range c {
					k[(r1*r+r2)*c*c+c1*c+c2] = T(a[r1][c1] * a[r2][c2])
				}
			}
		}
	}
	return k
}

// winogradFlip is the index of U that holds the transform of a filter
// rotated by 180 degrees: G rot(g) = P G g with P swapping rows 0 and 3.
var winogradFlip = [16]int{15, 13, 14, 12, 7, 5, 6, 4, 11, 9, 10, 8, 3, 1, 2, 0}

// winogradTiles gives the tile grid of g's output: th x tw tiles of 2x2
// outputs per image, t tiles in the batch.
func winogradTiles(g convGeom) (th, tw, t int) {
	th, tw = (g.OH+1)/2, (g.OW+1)/2
	return th, tw, g.N * th * tw
}

// winogradForward computes y = conv(x, w) + b (b may be nil) for a
// winogradOK geometry, like convForward.
func winogradForward[T float](g convGeom, x, w, b, y []T) {
	if wino43Pays(g) {
		wino43Forward(g, x, w, b, y)
		return
	}
	u, giveU := borrowPtr[T](16 * g.O * g.C)
	defer giveU()
	winogradFilters(g.O, g.C, w, *u)
	winogradConv(g, x, *u, false, b, y)
}

// winogradBackwardInput computes dx = conv^T(dy, w), like
// convBackwardInput: the forward convolution of dy (O maps of OH x OW)
// with the rotated, transposed filters, padding 2 - pad, read from w's own
// transform.
func winogradBackwardInput[T float](g convGeom, dy, w, dx []T) {
	if wino43Pays(g) {
		wino43BackwardInput(g, dy, w, dx)
		return
	}
	gt, err := newConvGeom(g.N, g.O, g.OH, g.OW, g.C, 3, 3, 1, 2-g.Pad)
	if err != nil || gt.OH != g.H || gt.OW != g.W {
		panic("winogradBackwardInput: geometry not winogradOK") // useWinograd rules it out
	}
	u, giveU := borrowPtr[T](16 * g.O * g.C)
	defer giveU()
	winogradFilters(g.O, g.C, w, *u)
	winogradConv(gt, dy, *u, true, nil, dx)
}

// winogradFilters transforms the o x c filters w (o x c x 3 x 3) into U
// (16 x o x c): U[xi] = Kf w^T, one SGEMM.
func winogradFilters[T float](o, c int, w, U []T) {
	gemm(false, true, 16, o*c, 9, 1, kron[T](winogradG), 9, w, 9, 0, U, o*c)
}

// winogradConv computes y = conv(x, w) + b from w's transform U: U[xi]
// (O x C) when !flip; when flip, U is the transform of the convolution
// whose input gradient this is (16 x C x O) and the product reads
// U[winogradFlip[xi]] transposed.
func winogradConv[T float](g convGeom, x, U []T, flip bool, b, y []T) {
	// Images in chunks whose tiles and products fit winogradMaxBuf: the
	// same bits as one chunk (a product's sums run over maps, not tiles).
	th, tw, _ := winogradTiles(g)
	perImage := 16 * max(g.C, g.O) * th * tw
	chunk := max(1, min(g.N, winogradMaxBuf/perImage))
	inSz, outSz := g.C*g.H*g.W, g.O*g.OH*g.OW
	for n0 := 0; n0 < g.N; n0 += chunk {
		gc := g
		gc.N = min(chunk, g.N-n0)
		winogradConvChunk(gc, x[n0*inSz:][:gc.N*inSz], U, flip, b, y[n0*outSz:][:gc.N*outSz])
	}
}

// winogradMaxBuf bounds (in floats) the tiles and products winogradConv
// holds at once: 32 MB each. Without it the input gradient of zfnet's
// conv2 in phase form (28x28 maps of 384) took a 64 MB buffer, which the
// scratch pools then kept, and a training step's peak memory passed
// PyTorch's.
var winogradMaxBuf = 1 << 23 // a variable for the tests

// winogradConvChunk is winogradConv for images that fit winogradMaxBuf.
func winogradConvChunk[T float](g convGeom, x, U []T, flip bool, b, y []T) {
	th, tw, nt := winogradTiles(g)
	ct, ot, oc := g.C*nt, g.O*nt, g.O*g.C
	v, giveV := borrowPtr[T](16 * ct)
	defer giveV()
	winogradInputs(g, x, th, tw, *v)
	m, giveM := borrowPtr[T](16 * ot)
	defer giveM()
	V, M := *v, *m
	// One product per worker at a time, not each split over the cores:
	// each core then packs and keeps its own operands (U[xi] and V[xi], a
	// few MB) in its own cache, with no hand-off inside a product.
	parallelFor(16, func(_, xi int) {
		if flip {
			gemm(true, false, g.O, nt, g.C, 1, U[winogradFlip[xi]*oc:][:oc], g.O, V[xi*ct:][:ct], nt, 0, M[xi*ot:][:ot], nt)
		} else {
			gemm(false, false, g.O, nt, g.C, 1, U[xi*oc:][:oc], g.C, V[xi*ct:][:ct], nt, 0, M[xi*ot:][:ot], nt)
		}
	})
	winogradOutputs(g, M, b, y, th, tw)
}

// winogradBackwardWeight computes dw = the gradient of sum(dy .* conv(x,
// w)) with respect to w, like convBackwardWeight: dU[xi] = Yhat[xi]
// V[xi]^T summed over the batch's tiles, with Yhat = A dy A^T per 2x2
// block of dy, then dw = G^T dU G.
func winogradBackwardWeight[T float](g convGeom, x, dy, dw []T) {
	if wino43Pays(g) {
		wino43BackwardWeight(g, x, dy, dw)
		return
	}
	th, tw, nt := winogradTiles(g)
	ct, ot, oc := g.C*nt, g.O*nt, g.O*g.C
	v, giveV := borrowPtr[T](16 * ct)
	defer giveV()
	winogradInputs(g, x, th, tw, *v)
	blocks, giveBlocks := borrowPtr[T](4 * ot)
	winogradPatches(g.N, g.O, g.OH, g.OW, dy, 2, 2, 0, th, tw, *blocks)
	yh, giveYh := borrowPtr[T](16 * ot)
	defer giveYh()
	gemm(true, false, 16, ot, 4, 1, kron[T](winogradAt), 16, *blocks, ot, 0, *yh, ot) // Yhat = Kout^T blocks
	giveBlocks()
	du, giveDU := borrowPtr[T](16 * oc)
	defer giveDU()
	V, Yh, DU := *v, *yh, *du
	parallelFor(16, func(_, xi int) { // as in winogradConv
		gemm(false, true, g.O, g.C, nt, 1, Yh[xi*ot:][:ot], nt, V[xi*ct:][:ct], nt, 0, DU[xi*oc:][:oc], g.C)
	})
	gemm(true, false, oc, 9, 16, 1, DU, oc, kron[T](winogradG), 9, 0, dw, 9) // dw = DU^T Kf
}

// winogradInputs transforms every 4x4 input tile of x (N x C x H x W; tile
// (ty, tx) of an image starts at row 2*ty-pad, column 2*tx-pad, zero
// outside the map) into V (16 x C x tiles): V[xi] = B^T d B. Each map is
// first copied into a zero-padded plane, so that the two 1-D passes (along
// rows, then along columns of tiles) run without bounds tests: 28 adds per
// tile instead of the 16 x 16 multiply-adds of the transform as one
// matrix, and no gathered copy of the tiles.
func winogradInputs[T float](g convGeom, x []T, th, tw int, V []T) {
	nt := g.N * th * tw
	ldv := g.C * nt
	// The padded plane holds every tile, and its rows the reads of the
	// 16-tile chunks of winogradInputsAsm (32 columns and 2 more).
	hp, wpad := 2*th+2, 32*((tw+15)/16)+2
	parallelRange(g.N*g.C, func(lo, hi int) { // contiguous, as in winogradOutputs
		pp, giveP := borrowPtr[T](hp*wpad + 4*hp*max(tw, 16))
		defer giveP()
		P, S := (*pp)[:hp*wpad], (*pp)[hp*wpad:]
		clear(P) // outside the map it stays zero: each map overwrites the same inside
		for nc := lo; nc < hi; nc++ {
			ci, img := nc/g.N, nc%g.N // map-major: the images of a map write one run of V's rows
			plane := x[(img*g.C+ci)*g.H*g.W:][:g.H*g.W]
			if p32, ok := any(P).([]float32); ok && rowsAvailable() {
				copyRows(p32[g.Pad*wpad+g.Pad:], any(plane).([]float32), g.H, g.W, wpad, g.W)
			} else {
				for r := range g.H {
					copy(P[(r+g.Pad)*wpad+g.Pad:][:g.W], plane[r*g.W:])
				}
			}
			v := V[ci*nt+img*th*tw:]
			if !winogradInputsAsm(P, wpad, hp, th, tw, S, v, ldv) {
				winogradInputsOf(P, wpad, hp, th, tw, S, v, ldv)
			}
		}
	})
}

// winogradInputsOf is winogradInputs for one padded plane P (hp rows of
// wpad): v holds the plane's first tile for xi = 0, the others ldv apart;
// S is scratch of 4*hp*tw. winogradInputsAsm computes the same values with
// the same operations (the same bits).
func winogradInputsOf[T float](P []T, wpad, hp, th, tw int, S, v []T, ldv int) {
	// Along rows: S[b][r][tx] = sum_j Bt[b][j] P[r][2tx+j].
	for r := range hp {
		row := P[r*wpad:][:wpad]
		s0, s1, s2, s3 := S[r*tw:][:tw], S[(hp+r)*tw:][:tw], S[(2*hp+r)*tw:][:tw], S[(3*hp+r)*tw:][:tw]
		for tx := range tw {
			d := row[2*tx:][:4]
			s0[tx], s1[tx], s2[tx], s3[tx] = d[0]-d[2], d[1]+d[2], d[2]-d[1], d[1]-d[3]
		}
	}
	// Along columns: V[a*4+b] = sum_i Bt[a][i] S[b][2ty+i].
	for b := range 4 {
		sb := S[b*hp*tw:][:hp*tw]
		for ty := range th {
			r0, r1, r2, r3 := sb[2*ty*tw:][:tw], sb[(2*ty+1)*tw:][:tw], sb[(2*ty+2)*tw:][:tw], sb[(2*ty+3)*tw:][:tw]
			o := ty * tw
			v0, v1, v2, v3 := v[b*ldv+o:][:tw], v[(4+b)*ldv+o:][:tw], v[(8+b)*ldv+o:][:tw], v[(12+b)*ldv+o:][:tw]
			for tx := range tw {
				v0[tx], v1[tx], v2[tx], v3[tx] = r0[tx]-r2[tx], r1[tx]+r2[tx], r2[tx]-r1[tx], r1[tx]-r3[tx]
			}
		}
	}
}

// winogradPatches gathers size x size patches at the given stride from the
// c maps (h x w) of each of n images in src, the patch of tile (ty, tx)
// starting at row stride*ty+off, column stride*tx+off (zero outside the
// map), into dst laid out one patch value per row: dst[(i*size+j)][map][tile],
// tile = (image*th+ty)*tw+tx: im2col for the tiles of F(m x m, 3x3) (stride
// m). The weight gradients gather dy's m x m blocks with it (size m, off 0).
func winogradPatches[T float](n, c, h, w int, src []T, size, stride, off, th, tw int, dst []T) {
	nt := n * th * tw
	// Contiguous ranges of maps per worker: the 16 (or 4) runs of a map
	// continue those of the map before, so no cache line of dst is
	// written by two cores.
	parallelRange(n*c, func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			winogradPatchesOf(nc, c, h, w, src, size, stride, off, th, tw, nt, dst)
		}
	})
}

// winogradPatchesOf gathers the patches of map nc (image nc/c, map nc%c)
// for winogradPatches.
func winogradPatchesOf[T float](nc, c, h, w int, src []T, size, stride, off, th, tw, nt int, dst []T) {
	img, ci := nc/c, nc%c
	plane := src[nc*h*w:][:h*w]
	for i := range size {
		for j := range size {
			out := dst[((i*size+j)*c+ci)*nt+img*th*tw:][:th*tw]
			for ty := range th {
				row := out[ty*tw:][:tw]
				yy := stride*ty + i + off
				if yy < 0 || yy >= h {
					clear(row)
					continue
				}
				// Tiles lo..hi-1 lie inside the row; zero the others.
				x0 := j + off // column of tile 0's value
				lo, hi := 0, tw
				for lo < hi && stride*lo+x0 < 0 {
					row[lo] = 0
					lo++
				}
				for hi > lo && stride*(hi-1)+x0 >= w {
					row[hi-1] = 0
					hi--
				}
				if lo < hi {
					in := plane[yy*w+stride*lo+x0:][:stride*(hi-lo-1)+1]
					for k := range hi - lo {
						row[lo+k] = in[stride*k]
					}
				}
			}
		}
	}
}

// winogradOutputs transforms the products M (16 x O x tiles) into the 2x2
// output blocks Y = A^T m A, adds the bias b (nil: none) and places them
// into y (N x O x OH x OW), clipped to the output: along each block row,
// then along its columns, 12 adds per block output row instead of the 4 x
// 16 coefficient matrix, and no intermediate copy of the blocks.
func winogradOutputs[T float](g convGeom, M, b, y []T, th, tw int) {
	nt := g.N * th * tw
	ldm := g.O * nt
	// Contiguous ranges of maps per worker: no cache line of y is written
	// by two cores.
	parallelRange(g.N*g.O, func(lo, hi int) {
		for no := lo; no < hi; no++ {
			o, img := no/g.N, no%g.N // map-major: the images of a map read one run of M's rows
			var bo T
			if b != nil {
				bo = b[o]
			}
			m := M[o*nt+img*th*tw:]
			yo := y[(img*g.O+o)*g.OH*g.OW:][:g.OH*g.OW]
			if !winogradOutputsAsm(g, m, ldm, bo, yo, th, tw) {
				winogradOutputsOf(g, m, ldm, bo, yo, th, tw)
			}
		}
	})
}

// winogradOutputsOf is winogradOutputs for one output map: m holds its
// first tile's product for xi = 0, the others ldm apart; yo is the map.
// winogradOutputsAsm computes the same values with the same operations in
// the same order (the same bits).
func winogradOutputsOf[T float](g convGeom, m []T, ldm int, bo T, yo []T, th, tw int) {
	for ty := range th {
		var r [16][]T
		for xi := range r {
			r[xi] = m[xi*ldm+ty*tw:][:tw]
		}
		y0 := yo[2*ty*g.OW:][:g.OW]
		var y1 []T
		if 2*ty+1 < g.OH {
			y1 = yo[(2*ty+1)*g.OW:][:g.OW]
		}
		for tx := range tw {
			// Along the block's columns: R_q[a] = sum_b At[q][b] m[a][b].
			var r0, r1 [4]T
			for a := range 4 {
				m0, m1, m2, m3 := r[a*4][tx], r[a*4+1][tx], r[a*4+2][tx], r[a*4+3][tx]
				r0[a], r1[a] = m0+m1+m2, m1-m2-m3
			}
			// Along its rows: Y[p][q] = sum_a At[p][a] R_q[a], plus the bias.
			x := 2 * tx
			y0[x] = r0[0] + r0[1] + r0[2] + bo
			if x+1 < g.OW {
				y0[x+1] = r1[0] + r1[1] + r1[2] + bo
			}
			if y1 != nil {
				y1[x] = r0[1] - r0[2] - r0[3] + bo
				if x+1 < g.OW {
					y1[x+1] = r1[1] - r1[2] - r1[3] + bo
				}
			}
		}
	}
}
