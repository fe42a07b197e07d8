package graph

import (
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
