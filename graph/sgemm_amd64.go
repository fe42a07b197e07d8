package graph

import (
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// SGEMM in the BLIS/GotoBLAS style: op(B) is packed into KC x NC blocks of
// NR-wide (or, for a narrow last panel, NR/2-wide) column panels, op(A) into
// MC x KC blocks of MR-row panels, and an assembly micro-kernel computes each
// MR x NR tile of C from one A panel and one B panel held in L1/L2. Two
// kernel sets, chosen at run time from CPUID:
//
//	avx512: 12x32 and 12x16 tiles with 512-bit FMA (sgemm_avx512_amd64.s)
//	avx2:   6x16 and 6x8 tiles with 256-bit FMA (sgemm_amd64.s)
//
// and gonum's pure-Go Sgemm otherwise. ZFNET_SGEMM=avx512|avx2|go forces one
// (a path the CPU lacks falls back to the best it has, and BLAS() says so);
// ZFNET_NOASM=1 means go. Each path gives the same bits for a given problem
// on every run and with any number of threads (the parallel split never
// changes an element's summation order); the paths differ from each other
// in rounding.

//go:noescape
func sgemmKern6x16(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmKern6x8(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmKern12x32(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmKern12x16(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgPackB32AVX512(dst, src *float32, kc, full, ldb int)

//go:noescape
func sgPackBT16AVX512(b *float32, ldb, blocks int, d *float32, w, rest int)

func sgemmCPUID(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func sgemmXGETBV() (eax, edx uint32)

// sgemmAsmOK is true when the CPU and OS support AVX2 and FMA3 (YMM state
// saved by the OS) and ZFNET_NOASM is unset: the AVX kernels of this package
// (LRN, the SGD update) may run. Which SGEMM runs is sgCur.
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

// cpuAVX512F reports whether the CPU and OS support AVX-512 Foundation
// (all the 12x32 kernel uses) on top of AVX2 and FMA3: CPUID.7.EBX bit 16,
// and the opmask and all 32 ZMM registers' state enabled in XCR0.
func cpuAVX512F() bool {
	if !cpuAVX2FMA() {
		return false
	}
	if xcr0, _ := sgemmXGETBV(); xcr0&0xe6 != 0xe6 {
		return false
	}
	_, ebx7, _, _ := sgemmCPUID(7, 0)
	return ebx7&(1<<16) != 0
}

// sgPath is one assembly SGEMM: its tile and blocking sizes.
type sgPath struct {
	name      string
	avx512    bool
	mr, nr    int // micro-tile rows and columns
	kc, mc    int // k and m blocks
	nc        int // n block (a multiple of nr)
	narrowMax int // the narrow panel's width: nr/2
}

var (
	sgAVX512 = &sgPath{name: "avx512", avx512: true, mr: 12, nr: 32, kc: 256, mc: 144, nc: 4096, narrowMax: 16}
	sgAVX2   = &sgPath{name: "avx2", mr: 6, nr: 16, kc: 256, mc: 144, nc: 4096, narrowMax: 8}
)

// sgCur is the SGEMM in use: nil for gonum's.
var sgCur, sgNote = sgemmChoose(os.Getenv("ZFNET_SGEMM"))

// sgemmAvailable lists the SGEMM paths this CPU (and ZFNET_NOASM) allows,
// fastest first; "go" is always there.
func sgemmAvailable() []string {
	var ps []string
	if sgemmAsmOK && cpuAVX512F() {
		ps = append(ps, "avx512")
	}
	if sgemmAsmOK {
		ps = append(ps, "avx2")
	}
	return append(ps, "go")
}

func sgPathNamed(name string) *sgPath {
	switch name {
	case "avx512":
		return sgAVX512
	case "avx2":
		return sgAVX2
	}
	return nil
}

// sgemmChoose picks the path ZFNET_SGEMM asks for (empty: the fastest
// available) and a note for BLAS() when the request cannot be met.
func sgemmChoose(want string) (*sgPath, string) {
	avail := sgemmAvailable()
	switch want {
	case "", "auto":
		return sgPathNamed(avail[0]), ""
	case "avx512", "avx2", "go":
		if slices.Contains(avail, want) {
			return sgPathNamed(want), ""
		}
		return sgPathNamed(avail[0]), "ZFNET_SGEMM=" + want + " unavailable here"
	}
	return sgPathNamed(avail[0]), "ZFNET_SGEMM=" + want + " unknown (avx512, avx2 or go)"
}

// sgemmPath names the SGEMM in use: avx512, avx2 or go.
func sgemmPath() string {
	if sgCur == nil {
		return "go"
	}
	return sgCur.name
}

// sgemmUse switches to the named available path (tests run every path
// this way) and returns a function that restores the previous one. It must
// not run concurrently with any SGEMM.
func sgemmUse(name string) func() {
	if !slices.Contains(sgemmAvailable(), name) {
		panic("sgemmUse: path " + name + " unavailable")
	}
	prev := sgCur
	sgCur = sgPathNamed(name)
	return func() { sgCur = prev }
}

// sgemmBLASName is what BLAS() reports.
func sgemmBLASName() string {
	name := "gonum (pure Go)"
	switch sgemmPath() {
	case "avx512":
		name = "zfnet AVX-512 sgemm, gonum dgemm"
	case "avx2":
		name = "zfnet AVX2/FMA sgemm, gonum dgemm"
	}
	if sgNote != "" {
		name += " (" + sgNote + ")"
	}
	return name
}

const (
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
// assembly kernels; it returns false, doing nothing, where none is in use.
func sgemmFast(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	return sgemmWith(tA, tB, m, n, k, alpha, a, lda, nil, b, ldb, beta, c, ldc)
}

// sgemmPackedSize is the buffer sgemmPrepackA needs for an m x k op(A),
// alignment slack included (0 without an assembly SGEMM).
// sgemmPackedLayout gives the micro-tile rows and k block of the SGEMM in
// use, the layout sgemmPrepackA writes; ok is false without one.
func sgemmPackedLayout() (mr, kc int, ok bool) {
	if sgCur == nil {
		return 0, 0, false
	}
	return sgCur.mr, sgCur.kc, true
}

func sgemmPackedSize(m, k int) int {
	if sgCur == nil {
		return 0
	}
	return sgCur.padM(m)*k + 16
}

// sgemmPrepackA packs all of op(A) (m x k) into buf, as sgemmWith takes it,
// for a series of products with the same left operand; nil where the
// assembly SGEMM is unavailable.
func sgemmPrepackA(tA bool, m, k int, a []float32, lda int, buf *[]float32) []float32 {
	p := sgCur
	if p == nil || m == 0 || k == 0 {
		return nil
	}
	ra, ca := m, k
	if tA {
		ra, ca = k, m
	}
	if lda < max(1, ca) || len(a) < (ra-1)*lda+ca {
		panic("sgemm: bad lda or insufficient length of a")
	}
	pre := sgAligned(buf, p.padM(m)*k)
	for pc := 0; pc < k; pc += p.kc {
		p.packA(tA, a, lda, 0, pc, m, min(p.kc, k-pc), pre[pc*p.padM(m):])
	}
	return pre
}

// sgemmWith is sgemmFast with op(A) already packed by sgemmPrepackA
// (preA; nil: pack here). Packing only copies, so the result is the same
// to the bit either way.
func sgemmWith(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, preA []float32, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	pth := sgCur
	if pth == nil {
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

	busy := sgemmBusy.Add(1)
	defer sgemmBusy.Add(-1)
	extra := sgemmReserveWorkers(2*float64(m)*float64(n)*float64(k), busy)
	job := sgJob{pth, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc}
	bufs := sgemmPool.Get().(*sgemmBufs)
	defer sgemmPool.Put(bufs)
	if extra == 0 {
		job.block(0, m, 0, n, preA, nil, bufs)
		return true
	}
	job.parallel(extra, preA, bufs)
	return true
}

// sgemmReserveWorkers reserves extra workers in sgemmBusy for a product of
// flops operations, busy counting this call: one per spare P, and only for
// big enough problems. Each reserved worker releases its slot when done.
func sgemmReserveWorkers(flops float64, busy int32) int {
	p := int32(runtime.GOMAXPROCS(0))
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
	return extra
}

// parallel computes the product with this goroutine and extra reserved
// workers. It splits the larger of m and n into tile-aligned chunks that
// the workers take in turn (the cores are shared, so a static split would
// wait for the slowest). The operand every chunk needs whole is packed once,
// up front, and shared. Every output element is computed by one block,
// in the same order as without the split.
func (job *sgJob) parallel(extra int, preA []float32, bufs *sgemmBufs) {
	pth, m, n, k := job.p, job.m, job.n, job.k
	parts := extra + 1
	splitN := n >= m
	size, tile := m, pth.mr
	var preB []float32
	if splitN {
		size, tile = n, pth.nr
		if preA == nil {
			preA = sgAligned(&bufs.pre, pth.padM(m)*k)
			for pc := 0; pc < k; pc += pth.kc {
				pth.packA(job.tA, job.a, job.lda, 0, pc, m, min(pth.kc, k-pc), preA[pc*pth.padM(m):])
			}
		}
	} else {
		preB = sgAligned(&bufs.pre, pth.padN(n)*k)
		for pc := 0; pc < k; pc += pth.kc {
			pth.packB(job.tB, job.b, job.ldb, pc, 0, min(pth.kc, k-pc), n, preB[pc*pth.padN(n):])
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
}

// sgJob holds one GEMM's arguments.
type sgJob struct {
	p       *sgPath
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

// padM is the packed height of all m rows of op(A): whole mr-row panels.
func (p *sgPath) padM(m int) int { return (m + p.mr - 1) / p.mr * p.mr }

// padN is the packed width of all n columns of op(B): nr-wide panels and
// a narrow last one when at most nr/2 columns remain.
func (p *sgPath) padN(n int) int {
	if r := n % p.nr; r > 0 && r <= p.narrowMax {
		return n - r + p.narrowMax
	}
	return (n + p.nr - 1) / p.nr * p.nr
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
// of mr and j0 of nr. preA, when not nil, is all of op(A) packed (k blocks
// of padM(m) x KC), and preB likewise all of op(B) (k blocks of KC x
// padN(n)); otherwise the blocks are packed into bufs.
func (j *sgJob) block(i0, i1, j0, j1 int, preA, preB []float32, bufs *sgemmBufs) {
	p := j.p
	m, n, k := j.m, j.n, j.k
	kcMax := min(k, p.kc)
	var pa, pb []float32
	if preA == nil {
		pa = sgAligned(&bufs.a, p.padM(min(i1-i0, p.mc))*kcMax)
	}
	if preB == nil {
		pb = sgAligned(&bufs.b, p.padN(min(j1-j0, p.nc))*kcMax)
	}
	for jc := j0; jc < j1; jc += p.nc {
		nc := min(p.nc, j1-jc)
		for pc := 0; pc < k; pc += p.kc {
			kc := min(p.kc, k-pc)
			bp := pb
			if preB != nil {
				bp = preB[pc*p.padN(n)+jc*kc:]
			} else {
				p.packB(j.tB, j.b, j.ldb, pc, jc, kc, nc, pb)
			}
			bt := j.beta
			if pc > 0 {
				bt = 1
			}
			for ic := i0; ic < i1; ic += p.mc {
				mc := min(p.mc, i1-ic)
				ap := pa
				if preA != nil {
					ap = preA[pc*p.padM(m)+ic*kc:]
				} else {
					p.packA(j.tA, j.a, j.lda, ic, pc, mc, kc, pa)
				}
				p.macro(mc, nc, kc, j.alpha, ap, bp, bt, j.c[ic*j.ldc+jc:], j.ldc)
			}
		}
	}
}

// panelWidth is the packed width of the B panel starting at column j of an
// nc-wide block: nr, or nr/2 for a last panel of at most nr/2 columns.
func (p *sgPath) panelWidth(j, nc int) int {
	if nc-j <= p.narrowMax {
		return p.narrowMax
	}
	return p.nr
}

// copyRow copies n (16 or 32) floats from src to dst as whole vectors.
func copyRow(dst, src []float32, n int) {
	if n == 32 {
		*(*[32]float32)(dst) = [32]float32(src)
	} else {
		*(*[16]float32)(dst) = [16]float32(src)
	}
}

// packB packs op(B)[pc:pc+kc, jc:jc+nc] into panels, each kc x w (w the
// panel width) stored row by row, zero-padded past column nc.
func (pt *sgPath) packB(tB bool, b []float32, ldb, pc, jc, kc, nc int, dst []float32) {
	nr := pt.nr
	off := 0
	if !tB {
		// Full panels first, walking B's rows in order so the reads stream
		// (a panel at a time would touch a new page every row).
		full := nc / nr // any remainder panel (narrow or full) is packed below
		switch {
		case full == 0:
		case nr == 32: // the avx512 path: the same copies in AVX-512 (Go called memmove for each 128-byte panel row)
			_ = b[(pc+kc-1)*ldb+jc+full*32-1]
			_ = dst[full*kc*32-1]
			sgPackB32AVX512(&dst[0], &b[pc*ldb+jc], kc, full, ldb)
		default:
			for p := 0; p < kc; p++ {
				row := b[(pc+p)*ldb+jc:][:full*nr]
				for jp := 0; jp < full; jp++ {
					*(*[16]float32)(dst[jp*kc*16+p*16:]) = [16]float32(row[jp*16:])
				}
			}
		}
		off = full * kc * nr
		jc += full * nr
		nc -= full * nr
	}
	for j := 0; j < nc; {
		w := pt.panelWidth(j, nc)
		cols := min(w, nc-j)
		d := dst[off : off+kc*w]
		if !tB {
			// op(B)(p, j) = b[p*ldb + j]: rows of the panel are contiguous.
			src := b[pc*ldb+jc+j:]
			if cols == w && w >= 16 {
				for p := 0; p < kc; p++ {
					copyRow(d[p*w:], src[p*ldb:], w)
				}
			} else if rowsAvailable() {
				clear(d)
				copyRows(d, src, kc, cols, w, ldb)
			} else {
				for p := 0; p < kc; p++ {
					dd := d[p*w : p*w+w]
					copy(dd, src[p*ldb:p*ldb+cols])
					clear(dd[cols:])
				}
			}
		} else {
			// op(B)(p, j) = b[j*ldb + p]: gather a column of the panel from
			// each stored row, 16 columns at a time.
			jj := 0
			for ; jj+16 <= cols; jj += 16 {
				if pt.avx512 {
					sgPackBT16Fast(b[(jc+j+jj)*ldb+pc:], ldb, kc, d[jj:], w)
				} else {
					sgPackBT16(b[(jc+j+jj)*ldb+pc:], ldb, kc, d[jj:], w)
				}
			}
			if jj < cols {
				if cols < w {
					for p := 0; p < kc; p++ {
						clear(d[p*w+jj : p*w+w])
					}
				}
				for ; jj < cols; jj++ {
					s := b[(jc+j+jj)*ldb+pc:]
					s = s[:kc]
					for p, v := range s {
						d[p*w+jj] = v
					}
				}
			}
		}
		off += kc * w
		j += w
	}
}

// sgPackBT16Fast is sgPackBT16 with 16x16 blocks transposed in AVX-512
// registers (the same values; the Go loop did 16 scalar moves per packed
// row).
func sgPackBT16Fast(b []float32, ldb, kc int, d []float32, w int) {
	_ = b[15*ldb+kc-1]
	_ = d[(kc-1)*w+15]
	sgPackBT16AVX512(&b[0], ldb, kc/16, &d[0], w, kc%16)
}

// sgPackBT16 packs 16 columns of a kc x w panel of op(B) = B^T (w, the
// panel's width, is the stride between its rows): column jj is
// b[jj*ldb : jj*ldb+kc]. It walks all 16 rows together so that each packed
// row is one contiguous 64-byte store.
func sgPackBT16(b []float32, ldb, kc int, d []float32, w int) {
	r0, r1, r2, r3 := b[0*ldb:][:kc], b[1*ldb:][:kc], b[2*ldb:][:kc], b[3*ldb:][:kc]
	r4, r5, r6, r7 := b[4*ldb:][:kc], b[5*ldb:][:kc], b[6*ldb:][:kc], b[7*ldb:][:kc]
	r8, r9, r10, r11 := b[8*ldb:][:kc], b[9*ldb:][:kc], b[10*ldb:][:kc], b[11*ldb:][:kc]
	r12, r13, r14, r15 := b[12*ldb:][:kc], b[13*ldb:][:kc], b[14*ldb:][:kc], b[15*ldb:][:kc]
	d = d[:(kc-1)*w+16]
	for p := range r0 {
		dd := d[p*w : p*w+16 : p*w+16]
		dd[0], dd[1], dd[2], dd[3] = r0[p], r1[p], r2[p], r3[p]
		dd[4], dd[5], dd[6], dd[7] = r4[p], r5[p], r6[p], r7[p]
		dd[8], dd[9], dd[10], dd[11] = r8[p], r9[p], r10[p], r11[p]
		dd[12], dd[13], dd[14], dd[15] = r12[p], r13[p], r14[p], r15[p]
	}
}

// packA packs op(A)[ic:ic+mc, pc:pc+kc] into mr-row panels, each stored
// column by column (mr floats per k), zero-padded past row mc.
func (pt *sgPath) packA(tA bool, a []float32, lda, ic, pc, mc, kc int, dst []float32) {
	mr := pt.mr
	for ir := 0; ir < mc; ir += mr {
		rows := min(mr, mc-ir)
		d := dst[ir*kc : ir*kc+mr*kc]
		i0 := ic + ir
		if !tA {
			// op(A)(i, p) = a[i*lda + p]: 6 rows at a time.
			if rows == 12 && mr == 12 && gather12(d, a, i0*lda+pc, lda, kc) {
				continue // a gather of the 12 rows per k (the same values)
			}
			if rows < mr {
				clear(d)
			}
			i := 0
			for ; i+6 <= rows; i += 6 {
				r0 := a[(i0+i+0)*lda+pc:][:kc]
				r1 := a[(i0+i+1)*lda+pc:][:kc]
				r2 := a[(i0+i+2)*lda+pc:][:kc]
				r3 := a[(i0+i+3)*lda+pc:][:kc]
				r4 := a[(i0+i+4)*lda+pc:][:kc]
				r5 := a[(i0+i+5)*lda+pc:][:kc]
				dd := d[i:]
				for p := range r0 {
					o := p * mr
					e := dd[o : o+6 : o+6]
					e[0] = r0[p]
					e[1] = r1[p]
					e[2] = r2[p]
					e[3] = r3[p]
					e[4] = r4[p]
					e[5] = r5[p]
				}
			}
			for ; i < rows; i++ {
				r := a[(i0+i)*lda+pc:][:kc]
				for p, v := range r {
					d[p*mr+i] = v
				}
			}
		} else {
			// op(A)(i, p) = a[p*lda + i]: each k gives mr contiguous floats.
			if rows == mr && mr == 12 && rowsAvailable() {
				// One masked 12-float move per k instead of a
				// memmove call per 48 bytes (the same values).
				copyRows(d, a[pc*lda+i0:], kc, 12, 12, lda)
			} else if rows == mr && mr == 12 {
				for p := 0; p < kc; p++ {
					o := (pc+p)*lda + i0
					*(*[12]float32)(d[p*12:]) = [12]float32(a[o : o+12])
				}
			} else if rows == mr && mr == 6 {
				for p := 0; p < kc; p++ {
					o := (pc+p)*lda + i0
					*(*[6]float32)(d[p*6:]) = [6]float32(a[o : o+6])
				}
			} else {
				clear(d)
				for p := 0; p < kc; p++ {
					o := (pc+p)*lda + i0
					copy(d[p*mr:p*mr+rows], a[o:o+rows])
				}
			}
		}
	}
}

// kern runs the micro-kernel for a panel of width w (nr or nr/2).
func (pt *sgPath) kern(w, kc int, a, b, c *float32, ldc int, alpha, beta float32) {
	switch {
	case pt.avx512 && w == 32:
		sgemmKern12x32(kc, a, b, c, ldc, alpha, beta)
	case pt.avx512:
		sgemmKern12x16(kc, a, b, c, ldc, alpha, beta)
	case w == 16:
		sgemmKern6x16(kc, a, b, c, ldc, alpha, beta)
	default:
		sgemmKern6x8(kc, a, b, c, ldc, alpha, beta)
	}
}

// macro multiplies a packed mc x kc block of A by a packed kc x nc block
// of B into C (c[0] is the block's top-left element).
func (pt *sgPath) macro(mc, nc, kc int, alpha float32, pa, pb []float32, beta float32, c []float32, ldc int) {
	var tmp [12 * 32]float32
	mr := pt.mr
	bOff := 0
	for j := 0; j < nc; {
		w := pt.panelWidth(j, nc)
		cols := min(w, nc-j)
		bp := &pb[bOff]
		for i := 0; i < mc; i += mr {
			rows := min(mr, mc-i)
			ap := &pa[i*kc]
			if rows == mr && cols == w {
				_ = c[(i+rows-1)*ldc+j+cols-1] // the tile's far corner is in range
				pt.kern(w, kc, ap, bp, &c[i*ldc+j], ldc, alpha, beta)
				continue
			}
			// Edge tile: compute into tmp, then merge the valid part.
			pt.kern(w, kc, ap, bp, &tmp[0], w, alpha, 0)
			for ii := 0; ii < rows; ii++ {
				row := c[(i+ii)*ldc+j : (i+ii)*ldc+j+cols]
				t := tmp[ii*w : ii*w+cols]
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
