package graph

import "os"

// Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions (issue 14, item 3): each
// 4x4 block of outputs of a map comes from a 6x6 tile of inputs with 36
// multiplications per (output map, input map) pair where F(2x2, 3x3) needs
// 4 x 16 = 64 and the direct convolution 144: 1.78 times fewer than F(2x2,
// 3x3) on whole tiles. On zfnet's layers: conv2 in phase form (26x26
// outputs, 7x7 tiles of 4x4 covering 28x28) does 36*49 products per pair
// of maps against F(2x2, 3x3)'s 16*169, 1.53 times fewer; conv3-5 (13x13,
// 4x4 tiles covering 16x16) 36*16 against 16*49, 1.36 times fewer.
//
// The interpolation points are 0, 1, -1, 2, -1/2 and infinity, not the
// usual 0, +-1, +-2: with them the float32 error against the float64
// direct convolution is half as large (about 5e-6 of the output's largest
// magnitude on 384-1024 input maps, where 0, +-1, +-2 gives 1-2e-5, above
// the issue's 1e-5; Barabasz, Anderson, Soodhalter and Gregg, "Error
// analysis and improving the accuracy of Winograd convolution for deep
// neural networks", ACM TOMS 2020; compared by
// benchmarks/winograd_points.py, and measured on this code by
// winograd43_test.go). The transforms are the Toom-Cook ones for these
// points (At: powers of the points, G: the Lagrange basis, Bt: solved so
// that the bilinear form is the correlation; TestWinograd43Identity checks
// it exactly):
//
//	U = G g G^T         (filter, 3x3 -> 6x6)
//	V = B^T d B         (input tile, 6x6)
//	Y = A^T (U .* V) A  (output block, 4x4; the sum over input maps is the GEMM)
//
// The filter transform is an SGEMM (36 x 9 coefficients) over the filters
// arranged in the SGEMM's packed order, so the products M[xi] = U[xi] V[xi]
// (one SGEMM per xi, summing over input maps) pack nothing. With the
// avx512 SGEMM the tile transforms are AVX-512 (winograd43_amd64.s: 16
// tiles per call, gathered across the images of a map); on the other paths
// they are a gather and an SGEMM by the 36 x 36 and 16 x 36 coefficient
// matrices. Either way the result is the same to the bit from run to run
// for a given SGEMM path and any thread count. The backward pass: the input
// gradient is the forward convolution of dy with the filters rotated by
// 180 degrees and transposed (padding 2 - pad), whose transform is taken
// afresh (these points are not symmetric, so no permutation of U gives
// it); the weight gradient is G^T (sum over tiles of (A dy A^T) .* V) G.

// winogradTile picks the Winograd convolutions' output block: 0, the
// default, chooses per convolution (wino43Pays); ZFNET_WINOGRAD=2 or 4
// forces F(2x2, 3x3) or F(4x4, 3x3) everywhere (to compare, or to
// reproduce an older run's bits).
var winogradTile = winogradTileFrom(os.Getenv("ZFNET_WINOGRAD"))

func winogradTileFrom(s string) int {
	switch s {
	case "2":
		return 2
	case "4":
		return 4
	}
	return 0
}

// wino43MinTiles is the fewest 4x4 output blocks over a batch for which
// F(4x4, 3x3) pays by default.
const wino43MinTiles = 128

// wino43Pays says whether a winogradOK convolution g takes F(4x4, 3x3)
// (forward pass, input gradient and weight gradient alike): by default on
// the avx512 SGEMM path, whose assembly transforms made it pay (the other
// paths' SGEMM transforms were not tuned, and on the pure-Go path the
// input gradient over 1024 maps reads 9.9e-6 of the 1e-5 bound), where
// its batch has at least wino43MinTiles 4x4 output blocks. Each
// product of F(4x4, 3x3) then has that many columns, and the filter
// transform (36 x 9 per filter pair) is shared by that many tiles. With
// fewer, F(2x2, 3x3), whose 2x2 blocks give three times the columns,
// measured faster: zfnet's 13x13 layers at batch 1 1.2-1.4x forward and
// 1.4-1.8x input gradient, what a one-image projection of the deconvnet
// runs; at batch 8 (128 blocks) F(4x4, 3x3) is as fast or faster forward
// (conv5 +15%), 1.1-1.4x for the weight gradient, and on conv2's phase
// form (26x26, 49 blocks an image) 1.2-1.5x from batch 4 (BENCHMARKS.md).
func wino43Pays(g convGeom) bool {
	switch winogradTile {
	case 2:
		return false
	case 4:
		return true
	}
	_, _, nt := wino43Tiles(g)
	return wino43Asm() && nt >= wino43MinTiles
}

// The F(4x4, 3x3) transforms for the points 0, 1, -1, 2, -1/2, infinity.
var (
	wino43Bt = [][]float64{
		{1, 1.5, -2, -1.5, 1, 0},
		{0, -1, -2.5, -.5, 1, 0},
		{0, 1, .5, -2.5, 1, 0},
		{0, -.5, -1, .5, 1, 0},
		{0, 2, -1, -2, 1, 0},
		{0, 1, 1.5, -2, -1.5, 1},
	}
	wino43G = [][]float64{
		{1, 0, 0},
		{-1. / 3, -1. / 3, -1. / 3},
		{1. / 3, -1. / 3, 1. / 3},
		{1. / 15, 2. / 15, 4. / 15},
		{-16. / 15, 8. / 15, -4. / 15},
		{0, 0, 1},
	}
	wino43At = [][]float64{
		{1, 1, 1, 1, 1, 0},
		{0, 1, -1, 2, -.5, 0},
		{0, 1, 1, 4, .25, 0},
		{0, 1, -1, 8, -.125, 1},
	}
)

// wino43Tiles gives the tile grid of g's output: th x tw tiles of 4x4
// outputs per image, t tiles in the batch.
func wino43Tiles(g convGeom) (th, tw, t int) {
	th, tw = (g.OH+3)/4, (g.OW+3)/4
	return th, tw, g.N * th * tw
}

// wino43Source computes the transformed input tiles V (36 x C x tiles)
// of the images n0 .. n0+gc.N-1 of a convolution (gc: the geometry of those
// images), value xi of map c's tile t at xi*xs + c*cs + t: wino43Inputs of
// the images' part of x (plainSource), or of their phases (phaseSource).
type wino43Source[T float] func(gc convGeom, n0 int, V []T) (xs, cs int)

// plainSource is the wino43Source of input x (N x C x H x W) of g.
func plainSource[T float](g convGeom, x []T) wino43Source[T] {
	inSz := g.C * g.H * g.W
	return func(gc convGeom, n0 int, V []T) (int, int) {
		th, tw, _ := wino43Tiles(gc)
		return wino43Inputs(gc, x[n0*inSz:][:gc.N*inSz], th, tw, V)
	}
}

// wino43Forward computes y = conv(x, w) + b (b may be nil) for a
// winogradOK geometry, like convForward.
func wino43Forward[T float](g convGeom, x, w, b, y []T) {
	wino43ForwardFrom(g, plainSource(g, x), w, b, y)
}

// wino43ForwardFrom is wino43Forward with the input's tiles from src.
func wino43ForwardFrom[T float](g convGeom, src wino43Source[T], w, b, y []T) {
	u := newWino43U(g.O, g.C, w, false)
	defer u.give()
	wino43Conv(g, src, u, b, y)
}

// wino43BackwardInput computes dx = conv^T(dy, w), like convBackwardInput:
// the forward convolution of dy (O maps of OH x OW) with the rotated,
// transposed filters, padding 2 - pad.
func wino43BackwardInput[T float](g convGeom, dy, w, dx []T) {
	gt, err := newConvGeom(g.N, g.O, g.OH, g.OW, g.C, 3, 3, 1, 2-g.Pad)
	if err != nil || gt.OH != g.H || gt.OW != g.W {
		panic("wino43BackwardInput: geometry not winogradOK") // useWinograd rules it out
	}
	u := newWino43U(g.O, g.C, w, true)
	defer u.give()
	wino43Conv(gt, plainSource(gt, dy), u, nil, dx)
}

// wino43U holds a convolution's filters for the products M[xi] = A[xi]
// V[xi], A[xi] (m x k: output maps by input maps) the transform U[xi]. It
// keeps the filters arranged for the transform and transforms a group of
// 12 xi at a time (products), so that no more than a third of U exists at
// once: U whole is 36 x m x k (76 MB for zfnet's conv4), which the scratch
// pools would keep, and a training step's peak memory passed PyTorch's.
// With an assembly SGEMM the filters are arranged in its packed-A order,
// so the products pack nothing (packing the 36 A[xi] cost up to a sixth
// of a forward pass); otherwise A[xi] is read transposed (k x m), which
// the SGEMM packs by contiguous copies.
type wino43U[T float] struct {
	wa     []T // the arranged filters, n x 3 x 3
	m, k   int
	n      int // the length of each U[xi]: m x k, or m rounded up to the SGEMM's rows
	packed bool
	give   func()
}

// wino43Group is the number of U[xi] transformed together: 12 is one
// sliver of the AVX-512 SGEMM's rows, so the filter transform wastes none.
const wino43Group = 12

// newWino43U arranges the o x c 3x3 filters w for the forward pass
// (m = o, k = c), or rotated by 180 degrees for the input gradient
// (m = c, k = o).
func newWino43U[T float](o, c int, w []T, inputGrad bool) wino43U[T] {
	m, k := o, c
	if inputGrad {
		m, k = c, o
	}
	mr, kc, packed := sgemmPackedLayout()
	var z T
	if _, f32 := any(z).(float32); !f32 {
		packed = false
	}
	n := m * k
	if packed {
		n = (m + mr - 1) / mr * mr * k
	}
	wa, give := borrowPtr[T](9 * n)
	if packed {
		arrangePacked(o, c, w, *wa, inputGrad, mr, kc)
	} else {
		// A^T: w transposed for the forward pass, w rotated in place for
		// the input gradient (whose A^T is w's own layout).
		arrangeFilters(o, c, w, *wa, !inputGrad, inputGrad)
	}
	return wino43U[T]{wa: (*wa)[:9*n], m: m, k: k, n: n, packed: packed, give: give}
}

// products computes M[xi] = A[xi] V[xi] for the 36 xi, V[xi] (k x nt)
// at V[xi*xs:] with row stride cs, M[xi] (m x nt) at M[xi*mxs:] with row
// stride mcs: a group of U[xi] transformed, then its products, one per
// worker at a time (each core packs and keeps its own operands in its
// own cache, with no hand-off inside a product).
func (u wino43U[T]) products(nt int, V []T, xs, cs int, M []T, mxs, mcs int) {
	ug, give := borrowPtr[T](wino43Group * u.n)
	defer give()
	kf := kron[T](wino43G)
	for g0 := 0; g0 < 36; g0 += wino43Group {
		U := *ug
		gemm(false, true, wino43Group, u.n, 9, 1, kf[g0*9:], 9, u.wa, 9, 0, U, u.n) // U[xi] = Kf[xi] w^T
		parallelFor(wino43Group, func(_, j int) {
			xi := g0 + j
			a := U[j*u.n:][:u.n]
			if u.packed {
				gemmPrepacked(any(a).([]float32), false, false, u.m, nt, u.k, 1, a, u.k, V[xi*xs:], cs, 0, M[xi*mxs:], mcs)
				return
			}
			gemm(true, false, u.m, nt, u.k, 1, a, u.m, V[xi*xs:], cs, 0, M[xi*mxs:], mcs)
		})
	}
}

// arrangeFilters copies the o x c 3x3 filters w into dst, transposed (c x
// o x 3 x 3) if transpose, rotated by 180 degrees if rotate.
func arrangeFilters[T float](o, c int, w, dst []T, transpose, rotate bool) {
	parallelRange(o, func(lo, hi int) {
		for oi := lo; oi < hi; oi++ {
			for ci := range c {
				src := (*[9]T)(w[(oi*c+ci)*9:])
				at := oi*c + ci
				if transpose {
					at = ci*o + oi
				}
				d := (*[9]T)(dst[at*9:])
				if !rotate {
					copy9(d, src)
					continue
				}
				for k := range 9 {
					d[k] = src[8-k]
				}
			}
		}
	})
}

// copy9 copies a 3x3 filter value by value: the array assignment calls
// memmove for 36 bytes.
func copy9[T float](d, s *[9]T) {
	d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8] = s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8]
}

// arrangePacked copies the o x c 3x3 filters w into dst in the order of an
// SGEMM's packed A (sgemmPrepackA: k blocks of kc, in each the mr-row
// slivers, in each kc steps of mr values), A being m x k: w itself (m = o,
// k = c), or rotated by 180 degrees and transposed for the input gradient
// (m = c, k = o). Rows past m (the last sliver's padding) get zero filters.
func arrangePacked[T float](o, c int, w, dst []T, inputGrad bool, mr, kc int) {
	m, k := o, c
	if inputGrad {
		m, k = c, o
	}
	padM := (m + mr - 1) / mr * mr
	slivers, blocks := padM/mr, (k+kc-1)/kc
	parallelRange(blocks*slivers, func(lo, hi int) {
		for bs := lo; bs < hi; bs++ {
			b, s := bs/slivers, bs%slivers
			kcb := min(kc, k-b*kc)
			at := b*kc*padM + s*mr*kcb // in filters
			for p := range kcb {
				col := b*kc + p
				for i := range mr {
					d := (*[9]T)(dst[(at+p*mr+i)*9:])
					row := s*mr + i
					switch {
					case row >= m:
						*d = [9]T{}
					case inputGrad: // A[c][o] = w[o][c] rotated
						src := (*[9]T)(w[(col*c+row)*9:])
						for t := range 9 {
							d[t] = src[8-t]
						}
					default:
						copy9(d, (*[9]T)(w[(row*c+col)*9:]))
					}
				}
			}
		}
	})
}

// wino43Conv computes y = conv(x, w) + b from w's transform u. In chunks of images whose tiles and products fit winogradMaxBuf (the
// same bits as one chunk: a product's sums run over maps, not tiles).
func wino43Conv[T float](g convGeom, src wino43Source[T], u wino43U[T], b, y []T) {
	th, tw, _ := wino43Tiles(g)
	perImage := 36 * max(g.C, g.O) * th * tw
	chunk := max(1, min(g.N, winogradMaxBuf/perImage))
	outSz := g.O * g.OH * g.OW
	for n0 := 0; n0 < g.N; n0 += chunk {
		gc := g
		gc.N = min(chunk, g.N-n0)
		wino43ConvChunk(gc, n0, src, u, b, y[n0*outSz:][:gc.N*outSz])
	}
}

// wino43ConvChunk is wino43Conv for images that fit winogradMaxBuf.
func wino43ConvChunk[T float](g convGeom, n0 int, src wino43Source[T], u wino43U[T], b, y []T) {
	th, tw, nt := wino43Tiles(g)
	ct, ot := g.C*nt, g.O*nt
	v, giveV := borrowPtr[T](36 * ct)
	defer giveV()
	xs, cs := src(g, n0, *v)
	m, giveM := borrowPtr[T](36 * ot)
	defer giveM()
	V, M := *v, *m
	mxs, mcs := ot, nt // the products' layout, as the inputs'
	if wino43Asm() {
		mxs, mcs = nt, 36*nt
	}
	u.products(nt, V, xs, cs, M, mxs, mcs)
	if wino43Asm() {
		wino43OutputsAsm(g, M, b, y, th, tw)
		return
	}
	blocks, giveBlocks := borrowPtr[T](16 * ot)
	defer giveBlocks()
	gemm(false, false, 16, ot, 36, 1, kron[T](wino43At), 36, M, ot, 0, *blocks, ot) // Y = Kout M
	wino43Place(g, *blocks, b, y, th, tw)
}

// wino43Inputs transforms every 6x6 input tile of x (N x C x H x W; tile
// (ty, tx) of an image starts at row 4*ty-pad, column 4*tx-pad, zero
// outside the map) into V, value xi of map c's tile t at xi*xs + c*cs + t.
// The assembly writes each map's 36 rows next to each other (xs = tiles,
// cs = 36 tiles: the stores of a map stay within a few pages instead of
// 36 rows megabytes apart, which cost twice the transform itself); the
// SGEMM transform writes V[xi] whole (xs = C tiles, cs = tiles). The
// products read V[xi] as a C x tiles matrix of row stride cs either way.
func wino43Inputs[T float](g convGeom, x []T, th, tw int, V []T) (xs, cs int) {
	nt := g.N * th * tw
	if wino43Asm() {
		wino43InputsAsm(g, x, th, tw, V)
		return g.C * nt, nt
	}
	d, giveD := borrowPtr[T](36 * g.C * nt)
	defer giveD()
	winogradPatches(g.N, g.C, g.H, g.W, x, 6, 4, -g.Pad, th, tw, *d)
	gemm(false, false, 36, g.C*nt, 36, 1, kron[T](wino43Bt), 36, *d, g.C*nt, 0, V, g.C*nt)
	return g.C * nt, nt
}

// wino43Place places the 4x4 output blocks (16 x O x tiles, value p*4+q of
// each block in row p*4+q) into y (N x O x OH x OW), clipped to the
// output, adding the bias b (nil: none).
func wino43Place[T float](g convGeom, blocks, b, y []T, th, tw int) {
	nt := g.N * th * tw
	ld := g.O * nt
	parallelRange(g.N*g.O, func(lo, hi int) { // whole maps per worker: no shared cache lines of y
		for no := lo; no < hi; no++ {
			o, img := no/g.N, no%g.N // map-major: the images of a map read one run of M's rows
			var bo T
			if b != nil {
				bo = b[o]
			}
			src := blocks[o*nt+img*th*tw:]
			yo := y[(img*g.O+o)*g.OH*g.OW:][:g.OH*g.OW]
			for ty := range th {
				for p := range min(4, g.OH-4*ty) {
					row := yo[(4*ty+p)*g.OW:][:g.OW]
					for q := range 4 {
						s := src[(p*4+q)*ld+ty*tw:][:tw]
						for tx := range min(tw, (g.OW-q+3)/4) {
							row[4*tx+q] = s[tx] + bo
						}
					}
				}
			}
		}
	})
}

// wino43BackwardWeight computes dw = the gradient of sum(dy .* conv(x, w))
// with respect to w, like convBackwardWeight: dU[xi] = Yhat[xi] V[xi]^T
// summed over the batch's tiles, with Yhat = A dy A^T per 4x4 block of dy,
// then dw = G^T dU G.
func wino43BackwardWeight[T float](g convGeom, x, dy, dw []T) {
	wino43BackwardWeightFrom(g, plainSource(g, x), dy, dw)
}

// wino43BackwardWeightFrom is wino43BackwardWeight with the input's tiles
// from src.
func wino43BackwardWeightFrom[T float](g convGeom, src wino43Source[T], dy, dw []T) {
	th, tw, nt := wino43Tiles(g)
	ct, ot, oc := g.C*nt, g.O*nt, g.O*g.C
	v, giveV := borrowPtr[T](36 * ct)
	defer giveV()
	xs, cs := src(g, 0, *v)
	yh, giveYh := borrowPtr[T](36 * ot)
	defer giveYh()
	if !wino43DyAsm(g, dy, th, tw, *yh) {
		blocks, giveBlocks := borrowPtr[T](16 * ot)
		winogradPatches(g.N, g.O, g.OH, g.OW, dy, 4, 4, 0, th, tw, *blocks)
		gemm(true, false, 36, ot, 16, 1, kron[T](wino43At), 36, *blocks, ot, 0, *yh, ot) // Yhat = Kout^T blocks
		giveBlocks()
	}
	// dU in groups of xi, as wino43U's products (36 x O x C whole):
	// dw = sum over the groups of dU_g^T Kf_g.
	du, giveDU := borrowPtr[T](wino43Group * oc)
	defer giveDU()
	V, Yh, DU := *v, *yh, *du
	kf := kron[T](wino43G)
	for g0 := 0; g0 < 36; g0 += wino43Group {
		parallelFor(wino43Group, func(_, j int) { // one product per worker at a time
			xi := g0 + j
			gemm(false, true, g.O, g.C, nt, 1, Yh[xi*ot:][:ot], nt, V[xi*xs:], cs, 0, DU[j*oc:][:oc], g.C)
		})
		var beta T
		if g0 > 0 {
			beta = 1
		}
		gemm(true, false, oc, 9, wino43Group, 1, DU, oc, kf[g0*9:], 9, beta, dw, 9) // dw += dU_g^T Kf_g
	}
}
