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

// imagesPerGEMM is how many images share one GEMM in the convolution g
// (per group: each group's maps are an ungrouped convolution of their own,
// so a grouped convolution and its groups run alone give the same bits):
// 1 (the per-image loops) for maps of batchedCols/2 positions or more or a
// single image.
func imagesPerGEMM(g convGeom) int {
	if !batchedOn || g.N < 2 || 2*g.colLn >= batchedCols {
		return 1
	}
	return min(g.N, max(batchedCols/g.colLn, 2))
}

// prepackGroups packs each group's weights (og x colRows; transposed when
// tA) once for all the tasks of a call.
func prepackGroups[T float](g convGeom, tA bool, w []T) (pres [][]float32, give func()) {
	gw := g.og * g.colRows
	pres, gives := make([][]float32, g.Groups), make([]func(), g.Groups)
	for gi := range pres {
		if tA {
			pres[gi], gives[gi] = prepackA(true, g.colRows, g.og, w[gi*gw:(gi+1)*gw], g.colRows)
		} else {
			pres[gi], gives[gi] = prepackA(false, g.og, g.colRows, w[gi*gw:(gi+1)*gw], g.colRows)
		}
	}
	return pres, func() {
		for _, give := range gives {
			give()
		}
	}
}

// eachBatch runs body for every task of per images of one group, in
// parallel, with the worker's column matrix (colRows rows, ld = per*colLn
// apart), its map matrix (og rows, ld apart) and the group's weights packed
// once for all tasks (transposed when tA).
func eachBatch[T float](g convGeom, per int, tA bool, w []T, body func(gi, n0, n1 int, col, maps []T, pre []float32)) {
	ld := per * g.colLn
	tasks := (g.N + per - 1) / per * g.Groups
	bufs, give := borrowSet[T](workers(tasks), (g.colRows+g.og)*ld)
	defer give()
	pres, givePres := prepackGroups(g, tA, w)
	defer givePres()
	parallelFor(tasks, func(wk, t int) {
		gi, n0 := t%g.Groups, t/g.Groups*per
		body(gi, n0, min(n0+per, g.N), bufs[wk][:g.colRows*ld], bufs[wk][g.colRows*ld:], pres[gi])
	})
}

// convForwardBatched is convForward for imagesPerGEMM(g) = per > 1: a task
// is per images of one group.
func convForwardBatched[T float](g convGeom, x, w, b, y []T, per int) {
	inSz, l, ld := g.C*g.H*g.W, g.colLn, per*g.colLn
	gin, gw := g.cg*g.H*g.W, g.og*g.colRows
	eachBatch(g, per, false, w, func(gi, n0, n1 int, col, yb []T, pre []float32) {
		for n := n0; n < n1; n++ {
			im2col(g, x[n*inSz+gi*gin:][:gin], col[(n-n0)*l:], ld)
		}
		gemmPrepacked(pre, false, false, g.og, (n1-n0)*l, g.colRows, 1, w[gi*gw:(gi+1)*gw], g.colRows, col, ld, 0, yb, ld)
		for n := n0; n < n1; n++ {
			for o := 0; o < g.og; o++ {
				oo := gi*g.og + o
				dst := y[(n*g.O+oo)*l:][:l]
				copy(dst, yb[o*ld+(n-n0)*l:][:l])
				if b != nil {
					addScalar(dst, b[oo])
				}
			}
		}
	})
}

// gatherMaps copies maps [first, first+count) of images [n0, n1) of dy (N x
// maps x l) side by side into db (count rows, ld apart): the GEMM layout of
// the batched gradients.
func gatherMaps[T float](dy, db []T, maps, first, count, l, ld, n0, n1 int) {
	for n := n0; n < n1; n++ {
		for c := 0; c < count; c++ {
			copy(db[c*ld+(n-n0)*l:][:l], dy[(n*maps+first+c)*l:][:l])
		}
	}
}

// convBackwardInputBatched is convBackwardInput for imagesPerGEMM(g) = per > 1:
// for stride 1 the forward convolution of dy with the flipped, transposed
// filters (flippedConv); otherwise W^T times the gathered dy of per images
// (of one group), then col2im per image.
func convBackwardInputBatched[T float](g convGeom, dy, w, dx []T, per int) {
	if flippedConv(g, dy, w, dx) {
		return
	}
	inSz, l, ld := g.C*g.H*g.W, g.colLn, per*g.colLn
	gin, gw := g.cg*g.H*g.W, g.og*g.colRows
	eachBatch(g, per, true, w, func(gi, n0, n1 int, col, db []T, pre []float32) { // W^T
		gatherMaps(dy, db, g.O, gi*g.og, g.og, l, ld, n0, n1)
		gemmPrepacked(pre, true, false, g.colRows, (n1-n0)*l, g.og, 1, w[gi*gw:(gi+1)*gw], g.colRows, db, ld, 0, col, ld)
		for n := n0; n < n1; n++ {
			dxi := dx[n*inSz+gi*gin:][:gin]
			clear(dxi)
			col2im(g, col[(n-n0)*l:], dxi, ld)
		}
	})
}

// convBackwardWeightBatched is convBackwardWeight for imagesPerGEMM(g) =
// per > 1: each of the fixed parts sums its contiguous range of images, per
// images of a group to a GEMM (gathered dy times their columns transposed).
func convBackwardWeightBatched[T float](g convGeom, x, dy, dw []T, per int) {
	inSz, l, ld := g.C*g.H*g.W, g.colLn, per*g.colLn
	gin, gw := g.cg*g.H*g.W, g.og*g.colRows
	p := min(g.N, weightGradParts)
	extra, giveParts := borrowSet[T](p-1, len(dw))
	defer giveParts()
	parts := append([][]T{dw}, extra...)
	bufs, give := borrowSet[T](p, (g.colRows+g.og)*ld)
	defer give()
	chunk := (g.N + p - 1) / p
	parallelFor(p, func(_, w int) {
		clear(parts[w])
		col, db := bufs[w][:g.colRows*ld], bufs[w][g.colRows*ld:]
		for n0 := w * chunk; n0 < min((w+1)*chunk, g.N); n0 += per {
			n1 := min(n0+per, (w+1)*chunk, g.N)
			for gi := 0; gi < g.Groups; gi++ {
				for n := n0; n < n1; n++ {
					im2col(g, x[n*inSz+gi*gin:][:gin], col[(n-n0)*l:], ld)
				}
				gatherMaps(dy, db, g.O, gi*g.og, g.og, l, ld, n0, n1)
				gemm(false, true, g.og, g.colRows, (n1-n0)*l, 1, db, ld, col, ld, 1, parts[w][gi*gw:(gi+1)*gw], g.colRows)
			}
		}
	})
	for _, part := range parts[1:] {
		addTo(dw, part)
	}
}

// flippedConv computes the input gradient of a stride-1 convolution as the
// forward convolution of dy (O maps of OH x OW) with the filters flipped in
// space and transposed within each group (C x O/Groups x KH x KW:
// w'[gi*cg+c][o] = w[gi*og+o][c] rotated by 180 degrees) and padding
// K-1-Pad, which lands exactly on the H x W input. Where the input gradient
// is W^T times dy followed by col2im (an addition per column entry), this
// is a copy per column entry (im2col of dy) and one GEMM reducing over
// O/Groups*KH*KW instead of O/Groups. false (nothing written) for strides
// above 1, non-square kernels and paddings over K-1.
func flippedConv[T float](g convGeom, dy, w, dx []T) bool {
	if g.Stride != 1 || g.KH != g.KW || g.Pad > g.KH-1 {
		return false
	}
	gt, err := newGroupedConvGeom(g.N, g.O, g.OH, g.OW, g.C, g.KH, g.KW, 1, g.KH-1-g.Pad, g.Groups)
	if err != nil || gt.OH != g.H || gt.OW != g.W {
		return false
	}
	buf, give := borrowPtr[T](len(w))
	defer give()
	wt, kk := *buf, g.KH*g.KW
	for o := 0; o < g.O; o++ {
		gi, og := o/g.og, o%g.og
		for c := 0; c < g.cg; c++ {
			src, dst := w[(o*g.cg+c)*kk:][:kk], wt[((gi*g.cg+c)*g.og+og)*kk:][:kk]
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
