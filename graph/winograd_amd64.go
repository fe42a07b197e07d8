package graph

// AVX-512 Winograd transforms (winograd_amd64.s), taken with the avx512
// SGEMM path (ZFNET_SGEMM=avx2 or go, or ZFNET_NOASM=1, run the Go ones).
// They work on 16 tiles of a tile row at once, so the loops that cost 2 ns
// a value in Go (short rows of 7 to 13 tiles, stride-2 reads) become a few
// vector instructions; the operations and their order are those of
// winogradInputsOf and winogradOutputsOf, so the bits are the same
// (TestWinogradTransformsAsm).

//go:noescape
func winogradInAVX512(p *float32, wpad, hp, th int, s, v *float32, ldv, tw int, mask uint16)

//go:noescape
func winogradOutAVX512(m *float32, ldm, tw, th int, y *float32, ow, oh int, bias float32, tiles, lo, hi uint16)

// winogradAVX512 says whether the transforms run the assembly.
func winogradAVX512() bool { return sgCur != nil && sgCur.avx512 }

// lanes is a mask of the n (<= 16) lowest lanes.
func lanes(n int) uint16 { return uint16(1<<max(n, 0) - 1) }

// winogradInputsAsm is winogradInputsOf in AVX-512, one call per chunk of
// 16 tiles of a tile row; false (doing nothing) where it does not run.
func winogradInputsAsm[T float](P []T, wpad, hp, th, tw int, S, v []T, ldv int) bool {
	p32, ok := any(P).([]float32)
	if !ok || !winogradAVX512() || len(S) < 64*hp {
		return false
	}
	s32, v32 := any(S).([]float32), any(v).([]float32)
	_ = p32[hp*wpad-1]      // the chunks read rows of wpad = 32*chunks+2
	_ = v32[15*ldv+tw*th-1] // and write v's 16 rows of th*tw
	for k := 0; 16*k < tw; k++ {
		winogradInAVX512(&p32[32*k], wpad, hp, th, &s32[0], &v32[16*k], ldv, tw, lanes(min(16, tw-16*k)))
	}
	return true
}

// winogradOutputsAsm is winogradOutputsOf in AVX-512, one call per chunk
// of 16 tiles (32 output columns); false where it does not run.
func winogradOutputsAsm[T float](g convGeom, m []T, ldm int, bo T, yo []T, th, tw int) bool {
	m32, ok := any(m).([]float32)
	if !ok || !winogradAVX512() {
		return false
	}
	y32 := any(yo).([]float32)
	_ = m32[15*ldm+tw*th-1]
	_ = y32[g.OH*g.OW-1]
	for k := 0; 16*k < tw; k++ {
		t := min(16, tw-16*k)
		cols := min(2*t, g.OW-32*k)
		winogradOutAVX512(&m32[16*k], ldm, tw, th, &y32[32*k], g.OW, g.OH, float32(bo), lanes(t), lanes(min(cols, 16)), lanes(cols-16))
	}
	return true
}
