package graph

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// TestSgemmChoose: ZFNET_SGEMM's values pick their path where the CPU has
// it; one it lacks, or a misspelt one, falls back to the fastest path with
// a note for BLAS().
func TestSgemmChoose(t *testing.T) {
	avail := sgemmAvailable()
	p, note := sgemmChoose("avx1024")
	if note == "" || !strings.Contains(note, "unknown") || sgName(p) != avail[0] {
		t.Errorf("ZFNET_SGEMM=avx1024: path %s note %q, want %s with a note", sgName(p), note, avail[0])
	}
	for _, name := range []string{"avx512", "avx2", "go"} {
		p, note := sgemmChoose(name)
		if slices.Contains(avail, name) != (note == "") || (note == "" && sgName(p) != name) {
			t.Errorf("ZFNET_SGEMM=%s: path %s note %q (available: %v)", name, sgName(p), note, avail)
		}
	}
}

// sgName names a path as sgemmPath does (nil: go).
func sgName(p *sgPath) string {
	if p == nil {
		return "go"
	}
	return p.name
}

// BenchmarkSgemmKernel times each path's widest micro-kernel alone on
// operands in L1 (kc = 256, beta = 1): the ceiling the packing and caches
// leave the whole SGEMM below. One core: GFLOP/s over the core's clock is
// the FLOPs per cycle (64 at most with two 512-bit FMA units, 32 with AVX2).
func BenchmarkSgemmKernel(b *testing.B) {
	const kc = 256
	a := make([]float32, 12*kc)
	bp := make([]float32, 32*kc)
	c := make([]float32, 12*32)
	for _, name := range sgemmAvailable() {
		p := sgPathNamed(name)
		if p == nil {
			continue
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				p.kern(p.nr, kc, &a[0], &bp[0], &c[0], p.nr, 1, 1)
			}
			b.ReportMetric(2*float64(p.mr*p.nr*kc)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestPackBT16Fast: the AVX-512 transposing pack writes the same values as
// the Go loop for every count of rows (whole 16x16 blocks and a rest of 1
// to 15), and nothing past the last packed row (a row kc of d is the next
// panel's, or past the buffer's end).
func TestPackBT16Fast(t *testing.T) {
	if !cpuAVX512F() {
		t.Skip("no AVX-512 on this CPU")
	}
	const ldb, w = 70, 20
	b := benchData(16*ldb, 3)
	for kc := 1; kc <= 50; kc++ {
		want := make([]float32, kc*w+w)
		got := make([]float32, kc*w+w)
		for i := range got {
			want[i], got[i] = -7, -7 // sentinels, also between the packed columns
		}
		sgPackBT16(b, ldb, kc, want, w)
		sgPackBT16Fast(b, ldb, kc, got, w)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("kc=%d: d[%d] (row %d, column %d) = %v, want %v", kc, i, i/w, i%w, got[i], want[i])
			}
		}
	}
}
