#include "textflag.h"

// func stride2AVX512(dst, src *float32, chunks int)
//
// dst[i] = src[2i] for i < 16*chunks: im2col's rows of a stride-2
// convolution (zfnet's conv1), 32 source floats split into their even lanes
// (lanesEven, winograd_amd64.s) per 16 outputs. Reads src[0 .. 32*chunks).
TEXT ·stride2AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ chunks+16(FP), CX
	VMOVUPS ·lanesEven(SB), Z30

s2loop:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VPERMT2PS Z1, Z30, Z0
	VMOVUPS Z0, (DI)
	ADDQ $128, SI
	ADDQ $64, DI
	DECQ CX
	JNZ s2loop
	VZEROUPPER
	RET

// func addScalarAVX512(p *float32, n int, v float32)
//
// p[i] += v for i < n (a convolution's bias over one output map), 16 at a
// time, the last chunk masked: the same single rounding as the Go loop.
TEXT ·addScalarAVX512(SB), NOSPLIT, $0-20
	MOVQ p+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS v+16(FP), Z1
	TESTQ CX, CX
	JLE adddone

addloop:
	MOVQ $0xffff, BX
	CMPQ CX, $16
	JGE addfull
	MOVQ $1, BX
	SHLQ CX, BX
	DECQ BX

addfull:
	KMOVW BX, K1
	VMOVUPS.Z (DI), K1, Z0
	VADDPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, DI
	SUBQ $16, CX
	JG addloop

adddone:
	VZEROUPPER
	RET
