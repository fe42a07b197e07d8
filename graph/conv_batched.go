package graph

// Small feature maps: several images per GEMM.
//
// The direct convolution multiplies W (O x CKK) by one image's columns (CKK x
// OH*OW) at a time. On small maps (zfnet-small's 7x7 and 14x14, CIFAR's 8x8)
// that GEMM is a few dozen columns wide: the SGEMM's 32-column micro-kernel
// runs mostly on its edges, and every image pays for packing its panels and
// for the per-call set-up. Laying the columns of `per` images side by side
// (CKK x per*OH*OW, rows ld = per*OH*OW apart) gives one GEMM of a few
// hundred columns instead. The output comes out as O x (per images' maps)
// and is copied into NCHW; the gradients gather dy the other way first.
//
// Every output element is the same dot product as in the per-image GEMM,
// but its rounding may differ where a column moves between the SGEMM's
// edge and main loops, and the weight gradient sums over per images'
// positions inside one GEMM. per depends on the geometry alone and the
// weight gradient's parts are fixed (weightGradParts): the same bits on
// every run and thread count for a given SGEMM path.

// batchedCols is about how many columns the batched GEMMs get: wide enough
// for the micro-kernel's main loop, small enough that a worker's column
// matrix (CKK x batchedCols) stays in the L2 cache.
const batchedCols = 512

// batchedOn is false in tests that hold the batched loops to the
// per-image ones.
var batchedOn = true

// imagesPerGEMM is how many images share one GEMM in the convolution g: 1
// (the per-image loops) for maps of batchedCols/2 positions or more, a
// single image, or grouped convolutions.
func imagesPerGEMM(g convGeom) int {
	if !batchedOn || g.N < 2 || g.Groups > 1 || 2*g.colLn >= batchedCols {
		return 1
	}
	return min(g.N, max(batchedCols/g.colLn, 2))
}

// convForwardBatched is convForward for imagesPerGEMM(g) = per > 1.
func convForwardBatched[T float](g convGeom, x, w, b, y []T, per int) {
	inSz, l, ld := g.C*g.H*g.W, g.colLn, per*g.colLn
	tasks := (g.N + per - 1) / per
	bufs, give := borrowSet[T](workers(tasks), (g.colRows+g.O)*ld)
	defer give()
	pre, givePre := prepackA(false, g.O, g.colRows, w, g.colRows) // W, shared by every task
	defer givePre()
	parallelFor(tasks, func(wk, t int) {
		n0, n1 := t*per, min((t+1)*per, g.N)
		col, yb := bufs[wk][:g.colRows*ld], bufs[wk][g.colRows*ld:]
		for n := n0; n < n1; n++ {
			im2col(g, x[n*inSz:][:inSz], col[(n-n0)*l:], ld)
		}
		gemmPrepacked(pre, false, false, g.O, (n1-n0)*l, g.colRows, 1, w, g.colRows, col, ld, 0, yb, ld)
		for n := n0; n < n1; n++ {
			for o := 0; o < g.O; o++ {
				dst := y[(n*g.O+o)*l:][:l]
				copy(dst, yb[o*ld+(n-n0)*l:][:l])
				if b != nil {
					addScalar(dst, b[o])
				}
			}
		}
	})
}

// gatherMaps copies the maps of images [n0, n1) of dy (N x O x l) side by
// side into db (O rows, ld apart): the GEMM layout of the batched
// gradients.
func gatherMaps[T float](dy, db []T, o, l, ld, n0, n1 int) {
	for n := n0; n < n1; n++ {
		for c := 0; c < o; c++ {
			copy(db[c*ld+(n-n0)*l:][:l], dy[(n*o+c)*l:][:l])
		}
	}
}

// convBackwardInputBatched is convBackwardInput for imagesPerGEMM(g) = per > 1:
// for stride 1 the forward convolution of dy with the flipped, transposed
// filters (flippedConv); otherwise W^T times the gathered dy of per images,
// then col2im per image.
func convBackwardInputBatched[T float](g convGeom, dy, w, dx []T, per int) {
	if flippedConv(g, dy, w, dx) {
		return
	}
	inSz, l, ld := g.C*g.H*g.W, g.colLn, per*g.colLn
	tasks := (g.N + per - 1) / per
	bufs, give := borrowSet[T](workers(tasks), (g.colRows+g.O)*ld)
	defer give()
	pre, givePre := prepackA(true, g.colRows, g.O, w, g.colRows) // W^T, shared by every task
	defer givePre()
	parallelFor(tasks, func(wk, t int) {
		n0, n1 := t*per, min((t+1)*per, g.N)
		col, db := bufs[wk][:g.colRows*ld], bufs[wk][g.colRows*ld:]
		gatherMaps(dy, db, g.O, l, ld, n0, n1)
		gemmPrepacked(pre, true, false, g.colRows, (n1-n0)*l, g.O, 1, w, g.colRows, db, ld, 0, col, ld)
		for n := n0; n < n1; n++ {
			dxi := dx[n*inSz:][:inSz]
			clear(dxi)
			col2im(g, col[(n-n0)*l:], dxi, ld)
		}
	})
}

// convBackwardWeightBatched is convBackwardWeight for imagesPerGEMM(g) =
// per > 1: each of the fixed parts sums its contiguous range of images, per
// images to a GEMM (gathered dy times their columns transposed).
func convBackwardWeightBatched[T float](g convGeom, x, dy, dw []T, per int) {
	inSz, l, ld := g.C*g.H*g.W, g.colLn, per*g.colLn
	p := min(g.N, weightGradParts)
	extra, giveParts := borrowSet[T](p-1, len(dw))
	defer giveParts()
	parts := append([][]T{dw}, extra...)
	bufs, give := borrowSet[T](p, (g.colRows+g.O)*ld)
	defer give()
	chunk := (g.N + p - 1) / p
	parallelFor(p, func(_, w int) {
		clear(parts[w])
		col, db := bufs[w][:g.colRows*ld], bufs[w][g.colRows*ld:]
		for n0 := w * chunk; n0 < min((w+1)*chunk, g.N); n0 += per {
			n1 := min(n0+per, (w+1)*chunk, g.N)
			for n := n0; n < n1; n++ {
				im2col(g, x[n*inSz:][:inSz], col[(n-n0)*l:], ld)
			}
			gatherMaps(dy, db, g.O, l, ld, n0, n1)
			gemm(false, true, g.O, g.colRows, (n1-n0)*l, 1, db, ld, col, ld, 1, parts[w], g.colRows)
		}
	})
	for _, part := range parts[1:] {
		addTo(dw, part)
	}
}

// flippedConv computes the input gradient of a stride-1 convolution as the
// forward convolution of dy (O maps of OH x OW) with the filters flipped in
// space and transposed (C x O x KH x KW: w'[c][o][kh][kw] =
// w[o][c][KH-1-kh][KW-1-kw]) and padding K-1-Pad, which lands exactly on
// the H x W input. Where the input gradient is W^T times dy followed by
// col2im (an addition per column entry), this is a copy per column entry
// (im2col of dy) and one GEMM reducing over O*KH*KW instead of O. false
// (nothing written) for strides above 1, non-square kernels and paddings
// over K-1.
func flippedConv[T float](g convGeom, dy, w, dx []T) bool {
	if g.Stride != 1 || g.KH != g.KW || g.Pad > g.KH-1 || g.Groups != 1 {
		return false
	}
	gt, err := newConvGeom(g.N, g.O, g.OH, g.OW, g.C, g.KH, g.KW, 1, g.KH-1-g.Pad)
	if err != nil || gt.OH != g.H || gt.OW != g.W {
		return false
	}
	buf, give := borrowPtr[T](len(w))
	defer give()
	wt, kk := *buf, g.KH*g.KW
	for o := 0; o < g.O; o++ {
		for c := 0; c < g.C; c++ {
			src, dst := w[(o*g.C+c)*kk:][:kk], wt[(c*g.O+o)*kk:][:kk]
			for i, v := range src {
				dst[kk-1-i] = v
			}
		}
	}
	if per := imagesPerGEMM(gt); per > 1 {
		convForwardBatched(gt, dy, wt, nil, dx, per)
	} else {
		convForward(gt, dy, wt, nil, dx)
	}
	return true
}
