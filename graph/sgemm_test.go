package graph

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas/gonum"
)

// sgemmRef is a float64 reference GEMM. It returns C and, per element, the
// magnitude sum |alpha|*sum|a||b| + |beta*c| that scales the rounding error.
func sgemmRef(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want, scale []float64) {
	want = make([]float64, m*n)
	scale = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			for p := 0; p < k; p++ {
				var av, bv float64
				if tA {
					av = float64(a[p*lda+i])
				} else {
					av = float64(a[i*lda+p])
				}
				if tB {
					bv = float64(b[j*ldb+p])
				} else {
					bv = float64(b[p*ldb+j])
				}
				s += av * bv
				sa += math.Abs(av * bv)
			}
			w := float64(alpha) * s
			sc := math.Abs(float64(alpha)) * sa
			if beta != 0 {
				w += float64(beta) * float64(c[i*ldc+j])
				sc += math.Abs(float64(beta) * float64(c[i*ldc+j]))
			}
			want[i*n+j] = w
			scale[i*n+j] = sc
		}
	}
	return want, scale
}

func sgemmRandSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// sgemmCheckCase runs sgemm on one random case and compares with the
// reference; pad adds slack to every leading dimension.
func sgemmCheckCase(t *testing.T, rng *rand.Rand, tA, tB bool, m, n, k, pad int, alpha, beta float32) {
	t.Helper()
	lda, ldb, ldc := k+pad, n+pad, n+pad
	ra, rb := m, k
	if tA {
		lda, ra = m+pad, k
	}
	if tB {
		ldb, rb = k+pad, n
	}
	lda, ldb = max(lda, 1), max(ldb, 1)
	a := sgemmRandSlice(rng, max(ra*lda, 1))
	b := sgemmRandSlice(rng, max(rb*ldb, 1))
	c := sgemmRandSlice(rng, m*ldc)
	if beta == 0 {
		for i := range c {
			if i%3 == 0 {
				c[i] = float32(math.NaN()) // must be overwritten, not scaled
			}
		}
	}
	orig := append([]float32(nil), c...)
	want, scale := sgemmRef(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	tol := 1e-5 * math.Sqrt(float64(max(k, 1)))
	bad := 0
	for i := 0; i < m; i++ {
		for j := 0; j < ldc; j++ {
			got := c[i*ldc+j]
			if j >= n { // padding columns must be untouched
				if math.Float32bits(got) != math.Float32bits(orig[i*ldc+j]) {
					// Errorf and return, not Fatalf: TestSgemmConcurrent
					// calls this from goroutines.
					t.Errorf("tA=%v tB=%v m=%d n=%d k=%d pad=%d: padding c[%d][%d] changed", tA, tB, m, n, k, pad, i, j)
					return
				}
				continue
			}
			w, s := want[i*n+j], scale[i*n+j]
			if d := math.Abs(float64(got) - w); !(d <= tol*(s+1e-30)) {
				if bad < 5 {
					t.Errorf("tA=%v tB=%v m=%d n=%d k=%d pad=%d alpha=%v beta=%v: c[%d][%d] = %v, want %v (scale %v)",
						tA, tB, m, n, k, pad, alpha, beta, i, j, got, w, s)
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d bad elements", bad) // not Fatalf: called from goroutines too
	}
}

// forPaths runs f as a subtest under every SGEMM path this machine has
// (avx512, avx2, go: see sgemmAvailable), switching the package's path for
// its duration. The bound of sgemmCheckCase is the same for every path.
func forPaths(t *testing.T, f func(t *testing.T)) {
	for _, p := range sgemmAvailable() {
		t.Run(p, func(t *testing.T) {
			defer sgemmUse(p)()
			f(t)
		})
	}
}

func TestSgemmShapes(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewSource(1))
		// Around both paths' tiles: 6 and 12 rows, 8/16 and 16/32 columns.
		sizes := []int{1, 2, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 24, 31, 32, 33, 48, 49, 100}
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, m := range sizes {
				for _, n := range sizes {
					for _, k := range []int{1, 5, 17, 100} {
						sgemmCheckCase(t, rng, tr[0], tr[1], m, n, k, 0, 1, 0)
					}
				}
			}
		}
	})
}

func TestSgemmAlphaBetaPad(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewSource(2))
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, ab := range [][2]float32{{1, 0}, {1, 1}, {-0.5, 0}, {2, -1.5}, {0, 0.5}, {0, 0}, {1, float32(math.Copysign(0, -1))}} {
				for _, pad := range []int{0, 3} {
					for _, sz := range [][3]int{{7, 13, 5}, {33, 17, 40}, {12, 32, 300}, {50, 70, 520}, {5, 9, 0}, {25, 47, 259}} {
						sgemmCheckCase(t, rng, tr[0], tr[1], sz[0], sz[1], sz[2], pad, ab[0], ab[1])
					}
				}
			}
		}
	})
}

// Larger cases cross the k, m and n block edges and take the parallel path.
func TestSgemmLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("slow reference")
	}
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewSource(3))
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, sz := range [][3]int{{150, 300, 600}, {301, 77, 257}, {13, 4200, 20}, {290, 8, 700}, {64, 49, 576}} {
				for _, beta := range []float32{0, 1} {
					sgemmCheckCase(t, rng, tr[0], tr[1], sz[0], sz[1], sz[2], 1, 1, beta)
				}
			}
		}
	})
}

// More Ps than cores exercises the chunked parallel split in both
// directions, with edge chunks.
func TestSgemmParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewSource(4))
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, sz := range [][3]int{{40, 1000, 300}, {1000, 40, 300}, {97, 99, 520}, {700, 9, 100}, {5, 800, 1000}} {
				sgemmCheckCase(t, rng, tr[0], tr[1], sz[0], sz[1], sz[2], 2, 0.5, 1)
			}
		}
	})
}

// TestSgemmDeterministic: each path gives the same bits with 1, 2 and 4
// Ps (the parallel split never changes an element's summation order), on
// shapes that split by rows and by columns with edge tiles.
func TestSgemmDeterministic(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewSource(5))
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}} {
			for _, sz := range [][3]int{{97, 1001, 300}, {1001, 45, 520}, {256, 169, 600}} {
				m, n, k := sz[0], sz[1], sz[2]
				a, b, c0 := sgemmRandSlice(rng, m*k), sgemmRandSlice(rng, k*n), sgemmRandSlice(rng, m*n)
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				var first []float32
				for _, procs := range []int{1, 2, 4} {
					prev := runtime.GOMAXPROCS(procs)
					c := append([]float32(nil), c0...)
					sgemm(tr[0], tr[1], m, n, k, 0.5, a, lda, b, ldb, 1, c, n)
					runtime.GOMAXPROCS(prev)
					if first == nil {
						first = c
						continue
					}
					for i := range c {
						if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
							t.Fatalf("tA=%v tB=%v %v: %d Ps give c[%d] = %v, 1 P %v", tr[0], tr[1], sz, procs, i, c[i], first[i])
						}
					}
				}
			}
		}
	})
}

// TestSgemmPathChoice: ZFNET_SGEMM picks the path when the CPU has it, and
// a request the CPU cannot meet (or a misspelt one) falls back to the
// fastest path with a note.
func TestSgemmPathChoice(t *testing.T) {
	avail := sgemmAvailable()
	t.Logf("paths here: %v; in use: %s (%s)", avail, sgemmPath(), BLAS())
	if avail[len(avail)-1] != "go" {
		t.Fatalf("available paths %v: want go last", avail)
	}
	want := os.Getenv("ZFNET_SGEMM")
	if os.Getenv("ZFNET_NOASM") != "" && want == "" {
		want = "go"
	}
	if want != "" && slices.Contains(avail, want) && sgemmPath() != want {
		t.Errorf("ZFNET_SGEMM=%q ZFNET_NOASM=%q: path %s in use, want %s", os.Getenv("ZFNET_SGEMM"), os.Getenv("ZFNET_NOASM"), sgemmPath(), want)
	}
	if want == "" && sgemmPath() != avail[0] {
		t.Errorf("default path %s, want the fastest available, %s", sgemmPath(), avail[0])
	}
}

// Concurrent callers, as the conv layers' per-image loops make, must not
// interfere with each other's packing buffers.
func TestSgemmConcurrent(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				rng := rand.New(rand.NewSource(int64(10 + g)))
				for it := 0; it < 5; it++ {
					sgemmCheckCase(t, rng, g&1 == 1, g&2 == 2, 70+g, 200, 130, 0, 1, 0)
				}
			}(g)
		}
		wg.Wait()
	})
}

func TestSgemmBadArgsPanic(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("short c did not panic")
		}
	}()
	a, b, c := make([]float32, 6), make([]float32, 6), make([]float32, 3)
	sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
}

// Benchmarks: gonum's Sgemm against the routed sgemm (the path in use:
// compare paths with ZFNET_SGEMM=avx2 and =avx512 runs), on zfnet's shapes.
func BenchmarkSgemm(b *testing.B) {
	shapes := []struct {
		name    string
		tA, tB  bool
		m, n, k int
	}{
		{"conv1_96x12100x147", false, false, 96, 12100, 147},
		{"conv2_256x676x2400", false, false, 256, 676, 2400},
		{"conv_1024x169x4608", false, false, 1024, 169, 4608},
		{"small_32x784x9", false, false, 32, 784, 9},
		{"small_64x49x576", false, false, 64, 49, 576},
		{"fc_4096x8x18432", false, false, 4096, 8, 18432},
		{"bwdIn_TN_2400x676x256", true, false, 2400, 676, 256},
		{"bwdW_NT_256x2400x676", false, true, 256, 2400, 676},
		{"fcFwd_NT_32x4096x9216", false, true, 32, 4096, 9216},
		{"fcDx_NN_32x9216x4096", false, false, 32, 9216, 4096},
		{"fcDw_TN_4096x9216x32", true, false, 4096, 9216, 32},
	}
	impls := []struct {
		name string
		f    func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	}{
		{"gonum", func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			gonum.Implementation{}.Sgemm(trans(tA), trans(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}},
		{"zfnet", sgemm}, // the path in use: ZFNET_SGEMM=avx512|avx2|go picks one
	}
	for _, s := range shapes {
		rng := rand.New(rand.NewSource(1))
		a := sgemmRandSlice(rng, s.m*s.k)
		bm := sgemmRandSlice(rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		lda, ldb := s.k, s.n
		if s.tA {
			lda = s.m
		}
		if s.tB {
			ldb = s.k
		}
		for _, im := range impls {
			b.Run(fmt.Sprintf("%s/%s", s.name, im.name), func(b *testing.B) {
				for b.Loop() {
					im.f(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
				}
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// TestGemmPrepackedSameBits: a product with op(A) packed up front equals the
// one that packs as it goes, to the bit, serial and split over Ps, for
// shapes past the k and m blocks.
func TestGemmPrepackedSameBits(t *testing.T) {
	forPaths(t, testGemmPrepackedSameBits)
}

func testGemmPrepackedSameBits(t *testing.T) {
	if sgemmPath() == "go" {
		t.Skip("SKIP: the go path packs nothing: gemmPrepacked is gemm")
	}
	rng := rand.New(rand.NewSource(9))
	for _, procs := range []int{1, 4} {
		prev := runtime.GOMAXPROCS(procs)
		for _, tA := range []bool{false, true} {
			for _, sz := range [][3]int{{48, 196, 288}, {7, 5, 3}, {300, 900, 600}, {1000, 40, 300}, {40, 1000, 300}} {
				m, n, k := sz[0], sz[1], sz[2]
				a, b := sgemmRandSlice(rng, m*k), sgemmRandSlice(rng, k*n)
				want, got := sgemmRandSlice(rng, m*n), make([]float32, m*n)
				copy(got, want)
				lda := k // op(A) = A, m x k
				if tA {
					lda = m // A is k x m
				}
				pre, give := prepackA(tA, m, k, a, lda)
				defer give()
				if pre == nil {
					t.Fatal("prepackA packed nothing with the assembly SGEMM on")
				}
				gemm(tA, false, m, n, k, 0.5, a, lda, b, n, 1, want, n)
				gemmPrepacked(pre, tA, false, m, n, k, 0.5, a, lda, b, n, 1, got, n)
				for i := range want {
					if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
						t.Fatalf("procs %d tA %v %v: c[%d] = %v, want %v", procs, tA, sz, i, got[i], want[i])
					}
				}
			}
		}
		runtime.GOMAXPROCS(prev)
	}
}
