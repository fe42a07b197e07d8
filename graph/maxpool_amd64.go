package graph

//go:noescape
func pool3x3s2AVX512(key *int32, w, n int, base int32, out *int32)

//go:noescape
func orderKeysAVX512(plane *float32, key *int32, n int) (hasNaN bool)

// orderKeysAsm is orderKeys32 with the AVX-512 kernel (the same keys, the
// same answer); ok false where it does not run.
func orderKeysAsm(plane []float32, key []int32) (hasNaN, ok bool) {
	if !dot8Available() || len(plane) == 0 {
		return false, false
	}
	_ = key[len(plane)-1]
	return orderKeysAVX512(&plane[0], &key[0], len(plane)), true
}

// poolKeyPad is the slack after a plane's keys that pool3x3s2AVX512's
// whole-vector loads may read.
const poolKeyPad = 64

// poolRow3x3s2 writes the switches of n windows of one output row, all
// inside the plane, the first at flat position base, with the AVX-512
// kernel (the avx512 SGEMM path); false where it does not run. key must
// hold poolKeyPad keys of slack past the plane.
func poolRow3x3s2(key []int32, w, n int, base int32, out []int32) bool {
	if !dot8Available() || n <= 0 {
		return false
	}
	_ = key[int(base)+2*w+2*(n-1)+63] // the last chunk's reads (within poolKeyPad)
	_ = out[n-1]
	pool3x3s2AVX512(&key[base], w, n, base, &out[0])
	return true
}
