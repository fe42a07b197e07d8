package graph

import "github.com/pkg/errors"

// convGeom is the geometry of one 2-D convolution: input N x C x H x W,
// weights O x C/Groups x KH x KW, output N x O x OH x OW (floor mode, as
// PyTorch). With Groups > 1 (PyTorch's groups) output maps
// [g*O/Groups, (g+1)*O/Groups) see only input maps [g*C/Groups,
// (g+1)*C/Groups). As the maps of a group are contiguous in NCHW, group g of
// image n is an ungrouped convolution of the slice holding them: the kernels
// below loop over (image, group) pairs, and with one group run exactly the
// loops they ran before groups existed (bit-identical results).
type convGeom struct {
	N, C, H, W     int
	O, KH, KW      int
	Stride, Pad    int
	OH, OW         int
	Groups         int
	cg, og         int // input and output maps per group
	colRows, colLn int // im2col matrix of one group: cg*KH*KW rows of OH*OW
}

func newConvGeom(n, c, h, w, o, kh, kw, stride, pad int) (convGeom, error) {
	return newGroupedConvGeom(n, c, h, w, o, kh, kw, stride, pad, 1)
}

// newGroupedConvGeom is newConvGeom for a convolution of groups groups; c
// and o are the total input and output maps.
func newGroupedConvGeom(n, c, h, w, o, kh, kw, stride, pad, groups int) (convGeom, error) {
	g := convGeom{N: n, C: c, H: h, W: w, O: o, KH: kh, KW: kw, Stride: stride, Pad: pad, Groups: groups}
	if stride < 1 || pad < 0 {
		return g, errors.Errorf("stride must be >= 1 and pad >= 0, got stride %d pad %d", stride, pad)
	}
	if groups < 1 || c%groups != 0 || o%groups != 0 {
		return g, errors.Errorf("groups must be >= 1 and divide the %d input and %d output maps, got groups %d", c, o, groups)
	}
	g.cg, g.og = c/groups, o/groups
	if h+2*pad < kh || w+2*pad < kw {
		return g, errors.Errorf("kernel %dx%d larger than padded input %dx%d", kh, kw, h+2*pad, w+2*pad)
	}
	g.OH = (h+2*pad-kh)/stride + 1
	g.OW = (w+2*pad-kw)/stride + 1
	g.colRows = g.cg * kh * kw
	g.colLn = g.OH * g.OW
	return g, nil
}

// im2col lays out one group of one image's receptive fields (cg maps) as columns: row
// (c*KH+kh)*KW+kw, column oh*OW+ow holds x[c, oh*s-p+kh, ow*s-p+kw], zero
// where that falls in the padding. Rows start ld elements apart (ld >=
// colLn: colLn for one image, more where several images share the matrix
// side by side, conv_batched.go).
func im2col[T float](g convGeom, x, col []T, ld int) {
	if im2colPadded(g, x, col, ld) {
		return
	}
	if g.Stride == 1 && g.OW == g.W && g.OH == g.H {
		im2colSame(g, x, col, ld)
		return
	}
	im2colAny(g, x, col, ld)
}

// im2colAny is im2col for every geometry, row by row.
func im2colAny[T float](g convGeom, x, col []T, ld int) {
	for c := 0; c < g.cg; c++ {
		plane := x[c*g.H*g.W : (c+1)*g.H*g.W]
		for kh := 0; kh < g.KH; kh++ {
			for kw := 0; kw < g.KW; kw++ {
				row := col[((c*g.KH+kh)*g.KW+kw)*ld:][:g.colLn]
				for oh := 0; oh < g.OH; oh++ {
					dst := row[oh*g.OW : (oh+1)*g.OW]
					ih := oh*g.Stride - g.Pad + kh
					if ih < 0 || ih >= g.H {
						clear(dst)
						continue
					}
					src := plane[ih*g.W : (ih+1)*g.W]
					iw := kw - g.Pad
					if g.Stride == 1 {
						// Contiguous: zero the padded ends, copy the middle.
						lo, hi := 0, g.OW
						for lo < hi && iw+lo < 0 {
							dst[lo] = 0
							lo++
						}
						for hi > lo && iw+hi-1 >= g.W {
							hi--
							dst[hi] = 0
						}
						if lo < hi { // a plane narrower than the padding may have none
							copy(dst[lo:hi], src[iw+lo:iw+hi])
						}
						continue
					}
					ow := 0
					if g.Stride == 2 {
						// Zero the outputs left of the plane, then copy
						// whole chunks in AVX-512 where it runs.
						for ; ow < g.OW && iw < 0; ow, iw = ow+1, iw+2 {
							dst[ow] = 0
						}
						if ow < g.OW && iw >= 0 && iw < g.W {
							n := stride2Copy(dst[ow:], src[iw:])
							ow, iw = ow+n, iw+2*n
						}
					}
					for ; ow < g.OW; ow, iw = ow+1, iw+g.Stride {
						if iw >= 0 && iw < g.W {
							dst[ow] = src[iw]
						} else {
							dst[ow] = 0
						}
					}
				}
			}
		}
	}
}

// im2colSame is im2col for a "same" convolution (stride 1, output as large
// as the input). Then each row of col is the plane shifted by
// (kh-Pad)*W + kw-Pad: one copy of the rows that exist, and zeros where a
// shifted row wraps around into its neighbour or falls off the plane.
func im2colSame[T float](g convGeom, x, col []T, ld int) {
	w, h := g.W, g.H
	for c := 0; c < g.cg; c++ {
		plane := x[c*h*w : (c+1)*h*w]
		for kh := 0; kh < g.KH; kh++ {
			dh := kh - g.Pad
			oh0 := min(max(0, -dh), h) // output rows [oh0, oh1) have an input row
			oh1 := max(min(h, h-dh), oh0)
			for kw := 0; kw < g.KW; kw++ {
				dw := kw - g.Pad
				row := col[((c*g.KH+kh)*g.KW+kw)*ld:][:g.colLn]
				clear(row[:oh0*w])
				clear(row[oh1*w:])
				if oh0 >= oh1 {
					continue
				}
				// dst[oh*w+ow] = plane[(oh+dh)*w + ow+dw] for the valid rows,
				// as one shifted copy; the shift may reach one element
				// before or after the plane at the ends, which are zeroed next.
				lo, hi := oh0*w, oh1*w
				src := (oh0+dh)*w + dw
				if src < 0 {
					lo, src = lo-src, 0
				}
				if end := src + (hi - lo); end > len(plane) {
					hi -= end - len(plane)
				}
				lo = min(lo, oh1*w) // planes narrower than the shift
				hi = max(hi, lo)
				copy(row[lo:hi], plane[min(src, len(plane)):])
				clear(row[oh0*w : lo])
				clear(row[hi : oh1*w])
				// Columns whose input column is off the plane.
				for oh := oh0; oh < oh1; oh++ {
					r := row[oh*w : (oh+1)*w]
					if dw < 0 {
						clear(r[:min(-dw, w)])
					} else if dw > 0 {
						clear(r[max(w-dw, 0):])
					}
				}
			}
		}
	}
}

// col2im is im2col's adjoint: it adds every column entry back onto the
// input position it was read from (rows ld apart, as im2col's). x must be
// zeroed by the caller.
func col2im[T float](g convGeom, col, x []T, ld int) {
	if col2imPadded(g, col, x, ld) {
		return
	}
	for c := 0; c < g.cg; c++ {
		plane := x[c*g.H*g.W : (c+1)*g.H*g.W]
		for kh := 0; kh < g.KH; kh++ {
			for kw := 0; kw < g.KW; kw++ {
				row := col[((c*g.KH+kh)*g.KW+kw)*ld:][:g.colLn]
				for oh := 0; oh < g.OH; oh++ {
					ih := oh*g.Stride - g.Pad + kh
					if ih < 0 || ih >= g.H {
						continue
					}
					src := row[oh*g.OW : (oh+1)*g.OW]
					dst := plane[ih*g.W : (ih+1)*g.W]
					iw := kw - g.Pad
					if g.Stride == 1 {
						// Contiguous: the columns landing inside the row.
						lo, hi := max(0, -iw), min(g.OW, g.W-iw)
						if lo < hi {
							addTo(dst[iw+lo:iw+hi], src[lo:hi])
						}
						continue
					}
					for _, v := range src {
						if iw >= 0 && iw < g.W {
							dst[iw] += v
						}
						iw += g.Stride
					}
				}
			}
		}
	}
}

// addTo adds src onto dst element by element (same length).
func addTo[T float](dst, src []T) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += v
	}
}

// convForward computes y = conv(x, w) + b for the whole batch; each image
// (each group of an image) is one GEMM, W (O x CKK) times its columns
// (CKK x OH*OW), which lands directly in NCHW order: no transpose.
func convForward[T float](g convGeom, x, w, b, y []T) {
	if useWinograd[T](g) {
		winogradForward(g, x, w, b, y)
		return
	}
	if usePhaseWinograd[T](g) {
		phaseForward(g, x, w, b, y)
		return
	}
	if per := imagesPerGEMM(g); per > 1 {
		convForwardBatched(g, x, w, b, y, per)
		return
	}
	inSz, outSz := g.C*g.H*g.W, g.O*g.colLn
	gin, gout, gw := g.cg*g.H*g.W, g.og*g.colLn, g.og*g.colRows // one group's slice of x, y, w
	cols, giveCols := borrowSet[T](workers(g.N*g.Groups), g.colRows*g.colLn)
	defer giveCols()
	pres := make([][]float32, g.Groups)
	for gi := range pres {
		pre, givePre := prepackA(false, g.og, g.colRows, w[gi*gw:(gi+1)*gw], g.colRows) // W, shared by every image
		defer givePre()
		pres[gi] = pre
	}
	parallelFor(g.N*g.Groups, func(wk, t int) {
		n, gi := t/g.Groups, t%g.Groups
		col := cols[wk]
		xi, yi := x[n*inSz+gi*gin:][:gin], y[n*outSz+gi*gout:][:gout]
		wg := w[gi*gw : (gi+1)*gw]
		if g.KH == 1 && g.KW == 1 && g.Stride == 1 && g.Pad == 0 {
			col = xi
		} else {
			im2col(g, xi, col, g.colLn)
		}
		gemmPrepacked(pres[gi], false, false, g.og, g.colLn, g.colRows, 1, wg, g.colRows, col, g.colLn, 0, yi, g.colLn)
		if b != nil {
			for o := 0; o < g.og; o++ {
				addScalar(yi[o*g.colLn:(o+1)*g.colLn], b[gi*g.og+o])
			}
		}
	})
}

// convBackwardInput computes dx = conv^T(dy, w): per image (and group) W^T
// (CKK x O) times dy (O x OH*OW), folded back with col2im. It is also the
// transposed convolution the deconvnet filters with.
func convBackwardInput[T float](g convGeom, dy, w, dx []T) {
	if useWinograd[T](g) {
		winogradBackwardInput(g, dy, w, dx)
		return
	}
	if usePhaseWinograd[T](g) {
		phaseBackwardInput(g, dy, w, dx)
		return
	}
	if per := imagesPerGEMM(g); per > 1 {
		convBackwardInputBatched(g, dy, w, dx, per)
		return
	}
	inSz, outSz := g.C*g.H*g.W, g.O*g.colLn
	gin, gout, gw := g.cg*g.H*g.W, g.og*g.colLn, g.og*g.colRows
	cols, giveCols := borrowSet[T](workers(g.N*g.Groups), g.colRows*g.colLn)
	defer giveCols()
	pres := make([][]float32, g.Groups)
	for gi := range pres {
		pre, givePre := prepackA(true, g.colRows, g.og, w[gi*gw:(gi+1)*gw], g.colRows) // W^T, shared by every image
		defer givePre()
		pres[gi] = pre
	}
	parallelFor(g.N*g.Groups, func(wk, t int) {
		n, gi := t/g.Groups, t%g.Groups
		dxi := dx[n*inSz+gi*gin:][:gin]
		dyi := dy[n*outSz+gi*gout:][:gout]
		wg := w[gi*gw : (gi+1)*gw]
		if g.KH == 1 && g.KW == 1 && g.Stride == 1 && g.Pad == 0 {
			gemmPrepacked(pres[gi], true, false, g.colRows, g.colLn, g.og, 1, wg, g.colRows, dyi, g.colLn, 0, dxi, g.colLn)
			return
		}
		col := cols[wk]
		gemmPrepacked(pres[gi], true, false, g.colRows, g.colLn, g.og, 1, wg, g.colRows, dyi, g.colLn, 0, col, g.colLn)
		clear(dxi)
		col2im(g, col, dxi, g.colLn)
	})
}

// weightGradParts is how many partial sums a weight gradient is split into:
// a constant, not the core count, so the summation order (and the result, to
// the bit) is the same on every machine and with any --threads; an exact
// resume depends on it. Two keeps both cores of the reference machine busy
// (and the GEMM inside each part splits further on larger machines).
const weightGradParts = 2

// convBackwardWeight computes dw = sum over images of dy (O x OH*OW) times
// the image's columns transposed (per group: each group's weights see only
// its own maps). Each part sums a fixed, contiguous range of images into its
// own buffer, the parts run in parallel, and the buffers are added in order.
func convBackwardWeight[T float](g convGeom, x, dy, dw []T) {
	if useWinograd[T](g) {
		winogradBackwardWeight(g, x, dy, dw)
		return
	}
	if usePhaseWinograd[T](g) {
		phaseBackwardWeight(g, x, dy, dw)
		return
	}
	if per := imagesPerGEMM(g); per > 1 {
		convBackwardWeightBatched(g, x, dy, dw, per)
		return
	}
	inSz, outSz := g.C*g.H*g.W, g.O*g.colLn
	gin, gout, gw := g.cg*g.H*g.W, g.og*g.colLn, g.og*g.colRows
	p := min(g.N, weightGradParts)
	extra, giveParts := borrowSet[T](p-1, len(dw))
	defer giveParts()
	parts := append([][]T{dw}, extra...)
	cols, giveCols := borrowSet[T](p, g.colRows*g.colLn)
	defer giveCols()
	chunk := (g.N + p - 1) / p
	parallelFor(p, func(_, w int) {
		clear(parts[w])
		for n := w * chunk; n < min((w+1)*chunk, g.N); n++ {
			for gi := 0; gi < g.Groups; gi++ {
				c, xi := cols[w], x[n*inSz+gi*gin:][:gin]
				if g.KH == 1 && g.KW == 1 && g.Stride == 1 && g.Pad == 0 {
					c = xi
				} else {
					im2col(g, xi, c, g.colLn)
				}
				gemm(false, true, g.og, g.colRows, g.colLn, 1, dy[n*outSz+gi*gout:][:gout], g.colLn, c, g.colLn, 1, parts[w][gi*gw:(gi+1)*gw], g.colRows)
			}
		}
	})
	for _, part := range parts[1:] {
		addTo(dw, part)
	}
}

// biasGrad sums dy (N x O x L) over the batch and the L positions.
func biasGrad[T float](n, o, l int, dy, db []T) {
	clear(db)
	for i := 0; i < n; i++ {
		for c := 0; c < o; c++ {
			var s T
			for _, v := range dy[(i*o+c)*l : (i*o+c+1)*l] {
				s += v
			}
			db[c] += s
		}
	}
}
