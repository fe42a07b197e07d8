package graph

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// AVX2+FMA SGEMM in the BLIS/GotoBLAS style: op(B) is packed into KC x NC
// blocks of 16-wide (or, for a narrow last panel, 8-wide) column panels,
// op(A) into MC x KC blocks of 6-row panels, and an assembly micro-kernel
// (sgemm_amd64.s) computes each 6x16 (6x8) tile of C from one A panel and one
// B panel held in L1/L2.

//go:noescape
func sgemmKern6x16(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmKern6x8(kc int, a, b, c *float32, ldc int, alpha, beta float32)

func sgemmCPUID(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func sgemmXGETBV() (eax, edx uint32)

// sgemmAsmOK is true when the CPU and OS support AVX2 and FMA3 (YMM state
// saved by the OS).
var sgemmAsmOK = sgemmDetect()

func sgemmDetect() bool {
	// ZFNET_NOASM=1 forces the portable gonum path (CI tests both).
	return os.Getenv("ZFNET_NOASM") == "" && cpuAVX2FMA()
}

// cpuAVX2FMA reports whether the CPU and OS support AVX2 and FMA3.
func cpuAVX2FMA() bool {
	maxID, _, _, _ := sgemmCPUID(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := sgemmCPUID(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	if xcr0, _ := sgemmXGETBV(); xcr0&6 != 6 { // XMM and YMM state enabled
		return false
	}
	_, ebx7, _, _ := sgemmCPUID(7, 0)
	return ebx7&(1<<5) != 0 // AVX2
}

func init() {
	if sgemmAsmOK {
		blasName = "zfnet AVX2/FMA sgemm, gonum dgemm"
	}
}

const (
	sgMR = 6    // micro-tile rows
	sgNR = 16   // micro-tile columns
	sgKC = 256  // k block: a 16-wide B panel is 16 KiB, in L1
	sgMC = 144  // m block: a packed A block is 144 KiB, in L2
	sgNC = 4096 // n block: a packed B block is 4 MiB, in L3

	// Problems with fewer flops than this run on the calling goroutine.
	sgParallelFlops = 4 << 20
)

// sgemmBusy counts goroutines running SGEMM work, so that concurrent callers
// (the conv layers' per-image parallel loops) do not split further and
// oversubscribe the Ps.
var sgemmBusy atomic.Int32

type sgemmBufs struct {
	a, b []float32 // per-block packing
	pre  []float32 // a whole operand, packed to share between workers
}

var sgemmPool = sync.Pool{New: func() any { return new(sgemmBufs) }}

// sgAligned returns a slice of n floats starting on a 64-byte boundary.
func sgAligned(buf *[]float32, n int) []float32 {
	if cap(*buf) < n+16 {
		*buf = make([]float32, n+16)
	}
	s := (*buf)[:cap(*buf)]
	off := int(uintptr(unsafe.Pointer(&s[0]))&63) / 4
	if off != 0 {
		off = 16 - off
	}
	return s[off : off+n]
}

// sgemmFast computes row-major C = alpha*op(A)*op(B) + beta*C with the
// AVX2 kernels; it returns false, doing nothing, where they are unavailable.
func sgemmFast(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	return sgemmWith(tA, tB, m, n, k, alpha, a, lda, nil, b, ldb, beta, c, ldc)
}

// sgemmPackedSize is the buffer sgemmPrepackA needs for an m x k op(A),
// alignment slack included.
func sgemmPackedSize(m, k int) int { return sgPadM(m)*k + 16 }

// sgemmPrepackA packs all of op(A) (m x k) into buf, as sgemmWith takes it,
// for a series of products with the same left operand; nil where the
// assembly SGEMM is unavailable.
func sgemmPrepackA(tA bool, m, k int, a []float32, lda int, buf *[]float32) []float32 {
	if !sgemmAsmOK || m == 0 || k == 0 {
		return nil
	}
	ra, ca := m, k
	if tA {
		ra, ca = k, m
	}
	if lda < max(1, ca) || len(a) < (ra-1)*lda+ca {
		panic("sgemm: bad lda or insufficient length of a")
	}
	pre := sgAligned(buf, sgPadM(m)*k)
	for pc := 0; pc < k; pc += sgKC {
		sgPackA(tA, a, lda, 0, pc, m, min(sgKC, k-pc), pre[pc*sgPadM(m):])
	}
	return pre
}

// sgemmWith is sgemmFast with op(A) already packed by sgemmPrepackA
// (preA; nil: pack here). Packing only copies, so the result is the same
// to the bit either way.
func sgemmWith(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, preA []float32, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	if !sgemmAsmOK {
		return false
	}
	sgemmCheck(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return true
	}
	if k == 0 || alpha == 0 {
		sgemmScale(m, n, beta, c, ldc)
		return true
	}

	p := int32(runtime.GOMAXPROCS(0))
	busy := sgemmBusy.Add(1)
	defer sgemmBusy.Add(-1)
	flops := 2 * float64(m) * float64(n) * float64(k)
	// Extra workers: one per spare P, and only for big enough problems.
	extra := 0
	if flops >= sgParallelFlops && busy < p {
		want := min(int(flops/sgParallelFlops), int(p)-1)
		for extra < want {
			cur := sgemmBusy.Load()
			if cur >= p {
				break
			}
			if sgemmBusy.CompareAndSwap(cur, cur+1) {
				extra++
			}
		}
	}
	job := sgJob{tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc}
	bufs := sgemmPool.Get().(*sgemmBufs)
	defer sgemmPool.Put(bufs)
	if extra == 0 {
		job.block(0, m, 0, n, preA, nil, bufs)
		return true
	}

	// Split the larger of m and n into tile-aligned chunks that the workers
	// take in turn (the cores are shared, so a static split would wait for
	// the slowest). The operand every chunk needs whole is packed once, up
	// front, and shared.
	parts := extra + 1
	splitN := n >= m
	size, tile := m, sgMR
	var preB []float32
	if splitN {
		size, tile = n, sgNR
		if preA == nil {
			preA = sgAligned(&bufs.pre, sgPadM(m)*k)
			for pc := 0; pc < k; pc += sgKC {
				sgPackA(tA, a, lda, 0, pc, m, min(sgKC, k-pc), preA[pc*sgPadM(m):])
			}
		}
	} else {
		preB = sgAligned(&bufs.pre, sgPadN(n)*k)
		for pc := 0; pc < k; pc += sgKC {
			sgPackB(tB, b, ldb, pc, 0, min(sgKC, k-pc), n, preB[pc*sgPadN(n):])
		}
	}
	chunk := (size/(4*parts) + tile - 1) / tile * tile
	chunk = max(chunk, tile)
	nChunks := (size + chunk - 1) / chunk
	var next atomic.Int32
	work := func(bufs *sgemmBufs) {
		for {
			i := int(next.Add(1)) - 1
			if i >= nChunks {
				return
			}
			lo, hi := i*chunk, min((i+1)*chunk, size)
			if splitN {
				job.block(0, m, lo, hi, preA, nil, bufs)
			} else {
				job.block(lo, hi, 0, n, preA, preB, bufs)
			}
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < extra; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer sgemmBusy.Add(-1)
			bufs := sgemmPool.Get().(*sgemmBufs)
			defer sgemmPool.Put(bufs)
			work(bufs)
		}()
	}
	work(bufs)
	wg.Wait()
	return true
}

// sgJob holds one GEMM's arguments.
type sgJob struct {
	tA, tB  bool
	m, n, k int
	alpha   float32
	a       []float32
	lda     int
	b       []float32
	ldb     int
	beta    float32
	c       []float32
	ldc     int
}

// sgPadM is the packed height of all m rows of op(A): whole 6-row panels.
func sgPadM(m int) int { return (m + sgMR - 1) / sgMR * sgMR }

// sgPadN is the packed width of all n columns of op(B): 16-wide panels and
// an 8-wide last one when at most 8 columns remain.
func sgPadN(n int) int {
	if r := n % sgNR; r > 0 && r <= 8 {
		return n - r + 8
	}
	return (n + sgNR - 1) / sgNR * sgNR
}

// sgemmCheck panics, as gonum does, on arguments that would index out of
// range, since the kernels write C through raw pointers.
func sgemmCheck(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic("sgemm: negative dimension")
	}
	ra, ca := m, k
	if tA {
		ra, ca = k, m
	}
	rb, cb := k, n
	if tB {
		rb, cb = n, k
	}
	if lda < max(1, ca) {
		panic("sgemm: bad lda")
	}
	if ldb < max(1, cb) {
		panic("sgemm: bad ldb")
	}
	if ldc < max(1, n) {
		panic("sgemm: bad ldc")
	}
	if ra > 0 && ca > 0 && len(a) < (ra-1)*lda+ca {
		panic("sgemm: insufficient length of a")
	}
	if rb > 0 && cb > 0 && len(b) < (rb-1)*ldb+cb {
		panic("sgemm: insufficient length of b")
	}
	if m > 0 && n > 0 && len(c) < (m-1)*ldc+n {
		panic("sgemm: insufficient length of c")
	}
}

// sgemmScale sets C = beta*C (beta == 0 overwrites).
func sgemmScale(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// block computes rows [i0, i1) and columns [j0, j1) of C; i0 is a multiple
// of 6 and j0 of 16. preA, when not nil, is all of op(A) packed (k blocks of
// sgPadM(m) x KC), and preB likewise all of op(B) (k blocks of KC x
// sgPadN(n)); otherwise the blocks are packed into bufs.
func (j *sgJob) block(i0, i1, j0, j1 int, preA, preB []float32, bufs *sgemmBufs) {
	m, n, k := j.m, j.n, j.k
	kcMax := min(k, sgKC)
	var pa, pb []float32
	if preA == nil {
		pa = sgAligned(&bufs.a, sgPadM(min(i1-i0, sgMC))*kcMax)
	}
	if preB == nil {
		pb = sgAligned(&bufs.b, sgPadN(min(j1-j0, sgNC))*kcMax)
	}
	for jc := j0; jc < j1; jc += sgNC {
		nc := min(sgNC, j1-jc)
		for pc := 0; pc < k; pc += sgKC {
			kc := min(sgKC, k-pc)
			bp := pb
			if preB != nil {
				bp = preB[pc*sgPadN(n)+jc*kc:]
			} else {
				sgPackB(j.tB, j.b, j.ldb, pc, jc, kc, nc, pb)
			}
			bt := j.beta
			if pc > 0 {
				bt = 1
			}
			for ic := i0; ic < i1; ic += sgMC {
				mc := min(sgMC, i1-ic)
				ap := pa
				if preA != nil {
					ap = preA[pc*sgPadM(m)+ic*kc:]
				} else {
					sgPackA(j.tA, j.a, j.lda, ic, pc, mc, kc, pa)
				}
				sgMacro(mc, nc, kc, j.alpha, ap, bp, bt, j.c[ic*j.ldc+jc:], j.ldc)
			}
		}
	}
}

// sgPanelWidth is the packed width of the B panel starting at column j of an
// nc-wide block: 16, or 8 for a last panel of at most 8 columns.
func sgPanelWidth(j, nc int) int {
	if nc-j <= 8 {
		return 8
	}
	return sgNR
}

// sgPackB packs op(B)[pc:pc+kc, jc:jc+nc] into panels, each kc x w (w the
// panel width) stored row by row, zero-padded past column nc.
func sgPackB(tB bool, b []float32, ldb, pc, jc, kc, nc int, dst []float32) {
	off := 0
	if !tB {
		// Full 16-wide panels first, walking B's rows in order so the reads
		// stream (a panel at a time would touch a new page every row).
		full := nc / sgNR // any remainder panel (8 or 16 wide) is packed below
		for p := 0; p < kc; p++ {
			row := b[(pc+p)*ldb+jc:][:full*sgNR]
			for jp := 0; jp < full; jp++ {
				*(*[16]float32)(dst[jp*kc*sgNR+p*sgNR:]) = [16]float32(row[jp*sgNR:])
			}
		}
		off = full * kc * sgNR
		jc += full * sgNR
		nc -= full * sgNR
	}
	for j := 0; j < nc; {
		w := sgPanelWidth(j, nc)
		cols := min(w, nc-j)
		d := dst[off : off+kc*w]
		if !tB {
			// op(B)(p, j) = b[p*ldb + j]: rows of the panel are contiguous.
			src := b[pc*ldb+jc+j:]
			if cols == 16 {
				for p := 0; p < kc; p++ {
					*(*[16]float32)(d[p*16:]) = [16]float32(src[p*ldb:])
				}
			} else {
				for p := 0; p < kc; p++ {
					dd := d[p*w : p*w+w]
					copy(dd, src[p*ldb:p*ldb+cols])
					clear(dd[cols:])
				}
			}
		} else {
			// op(B)(p, j) = b[j*ldb + p]: gather a column of the panel from
			// each stored row.
			if cols == 16 {
				sgPackBT16(b[(jc+j)*ldb+pc:], ldb, kc, d)
				off += kc * w
				j += w
				continue
			}
			if cols < w {
				clear(d)
			}
			for jj := 0; jj < cols; jj++ {
				s := b[(jc+j+jj)*ldb+pc:]
				s = s[:kc]
				for p, v := range s {
					d[p*w+jj] = v
				}
			}
		}
		off += kc * w
		j += w
	}
}

// sgPackBT16 packs a kc x 16 panel of op(B) = B^T: column jj of the panel
// is b[jj*ldb : jj*ldb+kc]. It walks all 16 rows together so that each
// packed row is one contiguous 64-byte store.
func sgPackBT16(b []float32, ldb, kc int, d []float32) {
	r0, r1, r2, r3 := b[0*ldb:][:kc], b[1*ldb:][:kc], b[2*ldb:][:kc], b[3*ldb:][:kc]
	r4, r5, r6, r7 := b[4*ldb:][:kc], b[5*ldb:][:kc], b[6*ldb:][:kc], b[7*ldb:][:kc]
	r8, r9, r10, r11 := b[8*ldb:][:kc], b[9*ldb:][:kc], b[10*ldb:][:kc], b[11*ldb:][:kc]
	r12, r13, r14, r15 := b[12*ldb:][:kc], b[13*ldb:][:kc], b[14*ldb:][:kc], b[15*ldb:][:kc]
	d = d[:kc*16]
	for p := range r0 {
		dd := d[p*16 : p*16+16 : p*16+16]
		dd[0], dd[1], dd[2], dd[3] = r0[p], r1[p], r2[p], r3[p]
		dd[4], dd[5], dd[6], dd[7] = r4[p], r5[p], r6[p], r7[p]
		dd[8], dd[9], dd[10], dd[11] = r8[p], r9[p], r10[p], r11[p]
		dd[12], dd[13], dd[14], dd[15] = r12[p], r13[p], r14[p], r15[p]
	}
}

// sgPackA packs op(A)[ic:ic+mc, pc:pc+kc] into 6-row panels, each stored
// column by column (6 floats per k), zero-padded past row mc.
func sgPackA(tA bool, a []float32, lda, ic, pc, mc, kc int, dst []float32) {
	for ir := 0; ir < mc; ir += sgMR {
		rows := min(sgMR, mc-ir)
		d := dst[ir*kc : ir*kc+sgMR*kc]
		i0 := ic + ir
		if !tA {
			// op(A)(i, p) = a[i*lda + p].
			if rows == sgMR {
				r0 := a[(i0+0)*lda+pc:][:kc]
				r1 := a[(i0+1)*lda+pc:][:kc]
				r2 := a[(i0+2)*lda+pc:][:kc]
				r3 := a[(i0+3)*lda+pc:][:kc]
				r4 := a[(i0+4)*lda+pc:][:kc]
				r5 := a[(i0+5)*lda+pc:][:kc]
				for p := range r0 {
					dd := d[p*6 : p*6+6 : p*6+6]
					dd[0] = r0[p]
					dd[1] = r1[p]
					dd[2] = r2[p]
					dd[3] = r3[p]
					dd[4] = r4[p]
					dd[5] = r5[p]
				}
			} else {
				clear(d)
				for i := 0; i < rows; i++ {
					r := a[(i0+i)*lda+pc:][:kc]
					for p, v := range r {
						d[p*6+i] = v
					}
				}
			}
		} else {
			// op(A)(i, p) = a[p*lda + i]: each k gives 6 contiguous floats.
			if rows == sgMR {
				for p := 0; p < kc; p++ {
					o := (pc+p)*lda + i0
					s := a[o : o+6 : o+6]
					dd := d[p*6 : p*6+6 : p*6+6]
					dd[0] = s[0]
					dd[1] = s[1]
					dd[2] = s[2]
					dd[3] = s[3]
					dd[4] = s[4]
					dd[5] = s[5]
				}
			} else {
				clear(d)
				for p := 0; p < kc; p++ {
					o := (pc+p)*lda + i0
					copy(d[p*6:p*6+rows], a[o:o+rows])
				}
			}
		}
	}
}

// sgMacro multiplies a packed mc x kc block of A by a packed kc x nc block
// of B into C (c[0] is the block's top-left element).
func sgMacro(mc, nc, kc int, alpha float32, pa, pb []float32, beta float32, c []float32, ldc int) {
	var tmp [sgMR * sgNR]float32
	bOff := 0
	for j := 0; j < nc; {
		w := sgPanelWidth(j, nc)
		cols := min(w, nc-j)
		bp := &pb[bOff]
		for i := 0; i < mc; i += sgMR {
			rows := min(sgMR, mc-i)
			ap := &pa[i*kc]
			if rows == sgMR && cols == w {
				_ = c[(i+rows-1)*ldc+j+cols-1] // the tile's far corner is in range
				if w == sgNR {
					sgemmKern6x16(kc, ap, bp, &c[i*ldc+j], ldc, alpha, beta)
				} else {
					sgemmKern6x8(kc, ap, bp, &c[i*ldc+j], ldc, alpha, beta)
				}
				continue
			}
			// Edge tile: compute into tmp, then merge the valid part.
			if w == sgNR {
				sgemmKern6x16(kc, ap, bp, &tmp[0], sgNR, alpha, 0)
			} else {
				sgemmKern6x8(kc, ap, bp, &tmp[0], sgNR, alpha, 0)
			}
			for ii := 0; ii < rows; ii++ {
				row := c[(i+ii)*ldc+j : (i+ii)*ldc+j+cols]
				t := tmp[ii*sgNR : ii*sgNR+cols]
				if beta == 0 {
					copy(row, t)
				} else {
					for jj, v := range t {
						row[jj] = beta*row[jj] + v
					}
				}
			}
		}
		bOff += kc * w
		j += w
	}
}
