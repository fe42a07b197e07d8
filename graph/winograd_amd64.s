#include "textflag.h"

// AVX-512 Winograd F(2x2, 3x3) transforms (winograd_amd64.go): the input
// tiles of 16 tile columns at once, and the output blocks with their
// bias and placement. Same operations, same order as the Go loops of
// winograd.go, so the same bits.

// lanesEven and lanesOdd pick the even and the odd lanes of a pair of
// vectors (VPERMT2PS, VPERMT2D); maxpool_amd64.s uses them too.
DATA ·lanesEven+0(SB)/4, $0
DATA ·lanesEven+4(SB)/4, $2
DATA ·lanesEven+8(SB)/4, $4
DATA ·lanesEven+12(SB)/4, $6
DATA ·lanesEven+16(SB)/4, $8
DATA ·lanesEven+20(SB)/4, $10
DATA ·lanesEven+24(SB)/4, $12
DATA ·lanesEven+28(SB)/4, $14
DATA ·lanesEven+32(SB)/4, $16
DATA ·lanesEven+36(SB)/4, $18
DATA ·lanesEven+40(SB)/4, $20
DATA ·lanesEven+44(SB)/4, $22
DATA ·lanesEven+48(SB)/4, $24
DATA ·lanesEven+52(SB)/4, $26
DATA ·lanesEven+56(SB)/4, $28
DATA ·lanesEven+60(SB)/4, $30
GLOBL ·lanesEven(SB), RODATA|NOPTR, $64

DATA ·lanesOdd+0(SB)/4, $1
DATA ·lanesOdd+4(SB)/4, $3
DATA ·lanesOdd+8(SB)/4, $5
DATA ·lanesOdd+12(SB)/4, $7
DATA ·lanesOdd+16(SB)/4, $9
DATA ·lanesOdd+20(SB)/4, $11
DATA ·lanesOdd+24(SB)/4, $13
DATA ·lanesOdd+28(SB)/4, $15
DATA ·lanesOdd+32(SB)/4, $17
DATA ·lanesOdd+36(SB)/4, $19
DATA ·lanesOdd+40(SB)/4, $21
DATA ·lanesOdd+44(SB)/4, $23
DATA ·lanesOdd+48(SB)/4, $25
DATA ·lanesOdd+52(SB)/4, $27
DATA ·lanesOdd+56(SB)/4, $29
DATA ·lanesOdd+60(SB)/4, $31
GLOBL ·lanesOdd(SB), RODATA|NOPTR, $64

DATA winoLo<>+0(SB)/4, $0
DATA winoLo<>+4(SB)/4, $16
DATA winoLo<>+8(SB)/4, $1
DATA winoLo<>+12(SB)/4, $17
DATA winoLo<>+16(SB)/4, $2
DATA winoLo<>+20(SB)/4, $18
DATA winoLo<>+24(SB)/4, $3
DATA winoLo<>+28(SB)/4, $19
DATA winoLo<>+32(SB)/4, $4
DATA winoLo<>+36(SB)/4, $20
DATA winoLo<>+40(SB)/4, $5
DATA winoLo<>+44(SB)/4, $21
DATA winoLo<>+48(SB)/4, $6
DATA winoLo<>+52(SB)/4, $22
DATA winoLo<>+56(SB)/4, $7
DATA winoLo<>+60(SB)/4, $23
GLOBL winoLo<>(SB), RODATA|NOPTR, $64

DATA winoHi<>+0(SB)/4, $8
DATA winoHi<>+4(SB)/4, $24
DATA winoHi<>+8(SB)/4, $9
DATA winoHi<>+12(SB)/4, $25
DATA winoHi<>+16(SB)/4, $10
DATA winoHi<>+20(SB)/4, $26
DATA winoHi<>+24(SB)/4, $11
DATA winoHi<>+28(SB)/4, $27
DATA winoHi<>+32(SB)/4, $12
DATA winoHi<>+36(SB)/4, $28
DATA winoHi<>+40(SB)/4, $13
DATA winoHi<>+44(SB)/4, $29
DATA winoHi<>+48(SB)/4, $14
DATA winoHi<>+52(SB)/4, $30
DATA winoHi<>+56(SB)/4, $15
DATA winoHi<>+60(SB)/4, $31
GLOBL winoHi<>(SB), RODATA|NOPTR, $64
// One column pass step of winogradInAVX512 for b at byte offset bo of an S
// row: the four V rows (a*4+b) of tile row ty from S rows 2ty..2ty+3.
#define INCOL(bo) \
	VMOVUPS bo(DI), Z0; \
	VMOVUPS bo+256(DI), Z1; \
	VMOVUPS bo+512(DI), Z2; \
	VMOVUPS bo+768(DI), Z3; \
	VSUBPS Z2, Z0, Z4; \
	VADDPS Z2, Z1, Z5; \
	VSUBPS Z1, Z2, Z6; \
	VSUBPS Z3, Z1, Z7; \
	VMOVUPS Z4, K1, (R11); \
	VMOVUPS Z5, K1, (R11)(R12*1); \
	LEAQ (R11)(R12*2), R13; \
	VMOVUPS Z6, K1, (R13); \
	VMOVUPS Z7, K1, (R13)(R12*1); \
	ADDQ R9, R11

// func winogradInAVX512(p *float32, wpad, hp, th int, s, v *float32, ldv, tw int, mask uint16)
//
// Rows pass: for each of the hp rows of the padded plane p (wpad floats
// apart), the 16 tiles' columns 2tx..2tx+3 come from two unaligned pairs
// of loads split into even and odd columns (VPERMT2PS); s gets, per row,
// s0 = d0-d2, s1 = d1+d2, s2 = d2-d1, s3 = d1-d3 (4 vectors, 256 bytes).
// Columns pass: for each tile row ty, the same combination of s rows
// 2ty..2ty+3 gives V rows a*4+b, stored at v + (a*4+b)*ldv + ty*tw for
// the lanes in mask.
TEXT ·winogradInAVX512(SB), NOSPLIT, $0-66
	MOVQ p+0(FP), SI
	MOVQ wpad+8(FP), R8
	SHLQ $2, R8
	MOVQ hp+16(FP), CX
	MOVQ s+32(FP), DI
	VMOVUPS ·lanesEven(SB), Z30
	VMOVUPS ·lanesOdd(SB), Z31

inrows:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 8(SI), Z2
	VMOVUPS 72(SI), Z3
	VMOVAPS Z0, Z4
	VPERMT2PS Z1, Z30, Z4 // d0: columns 0, 2, ..., 30
	VPERMT2PS Z1, Z31, Z0 // d1: columns 1, 3, ..., 31
	VMOVAPS Z2, Z5
	VPERMT2PS Z3, Z30, Z5 // d2: columns 2, 4, ..., 32
	VPERMT2PS Z3, Z31, Z2 // d3: columns 3, 5, ..., 33
	VSUBPS Z5, Z4, Z6     // d0 - d2
	VADDPS Z5, Z0, Z7     // d1 + d2
	VSUBPS Z0, Z5, Z8     // d2 - d1
	VSUBPS Z2, Z0, Z9     // d1 - d3
	VMOVUPS Z6, (DI)
	VMOVUPS Z7, 64(DI)
	VMOVUPS Z8, 128(DI)
	VMOVUPS Z9, 192(DI)
	ADDQ R8, SI
	ADDQ $256, DI
	DECQ CX
	JNZ inrows

	MOVWQZX mask+64(FP), AX
	KMOVW AX, K1
	MOVQ s+32(FP), DI
	MOVQ v+40(FP), DX
	MOVQ ldv+48(FP), R9
	SHLQ $2, R9  // bytes between V rows b and b+1
	MOVQ R9, R12
	SHLQ $2, R12 // bytes between V rows a and a+1
	MOVQ tw+56(FP), R10
	SHLQ $2, R10
	MOVQ th+24(FP), CX

incols:
	MOVQ DX, R11
	INCOL(0)
	INCOL(64)
	INCOL(128)
	INCOL(192)
	ADDQ R10, DX
	ADDQ $512, DI
	DECQ CX
	JNZ incols
	VZEROUPPER
	RET

// The columns step of winogradOutAVX512 for one row a of m:
// ra = (m0 + m1) + m2, rb = (m1 - m2) - m3.
#define OUTROW(m0, m1, m2, m3, ra, rb) \
	VADDPS m1, m0, ra; \
	VADDPS m2, ra, ra; \
	VSUBPS m2, m1, rb; \
	VSUBPS m3, rb, rb

// func winogradOutAVX512(m *float32, ldm, tw, th int, y *float32, ow, oh int, bias float32, tiles, lo, hi uint16)
//
// For each tile row ty: the 16 products m[xi] (ldm floats apart, lanes in
// tiles), R_q[a] along the block's columns, Y[p][q] along its rows plus
// the bias, and Y[p][0], Y[p][1] interleaved into output row 2ty+p (ow
// floats apart; the second only while rows remain of oh), columns 0-15 in
// lo and 16-31 in hi.
TEXT ·winogradOutAVX512(SB), NOSPLIT, $0-66
	MOVQ m+0(FP), SI
	MOVQ ldm+8(FP), R9
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R14
	MOVQ tw+16(FP), R10
	SHLQ $2, R10
	MOVQ th+24(FP), CX
	MOVQ y+32(FP), DI
	MOVQ ow+40(FP), R8
	SHLQ $2, R8
	MOVQ oh+48(FP), BX
	VBROADCASTSS bias+56(FP), Z28
	MOVWQZX tiles+60(FP), AX
	KMOVW AX, K1
	MOVWQZX lo+62(FP), AX
	KMOVW AX, K2
	MOVWQZX hi+64(FP), AX
	KMOVW AX, K3
	VMOVUPS winoLo<>(SB), Z29
	VMOVUPS winoHi<>(SB), Z30

outrows:
	MOVQ SI, R13
	VMOVUPS.Z (R13), K1, Z0
	VMOVUPS.Z (R13)(R9*1), K1, Z1
	VMOVUPS.Z (R13)(R9*2), K1, Z2
	VMOVUPS.Z (R13)(R14*1), K1, Z3
	LEAQ (R13)(R9*4), R13
	VMOVUPS.Z (R13), K1, Z4
	VMOVUPS.Z (R13)(R9*1), K1, Z5
	VMOVUPS.Z (R13)(R9*2), K1, Z6
	VMOVUPS.Z (R13)(R14*1), K1, Z7
	LEAQ (R13)(R9*4), R13
	VMOVUPS.Z (R13), K1, Z8
	VMOVUPS.Z (R13)(R9*1), K1, Z9
	VMOVUPS.Z (R13)(R9*2), K1, Z10
	VMOVUPS.Z (R13)(R14*1), K1, Z11
	LEAQ (R13)(R9*4), R13
	VMOVUPS.Z (R13), K1, Z12
	VMOVUPS.Z (R13)(R9*1), K1, Z13
	VMOVUPS.Z (R13)(R9*2), K1, Z14
	VMOVUPS.Z (R13)(R14*1), K1, Z15
	OUTROW(Z0, Z1, Z2, Z3, Z16, Z20)
	OUTROW(Z4, Z5, Z6, Z7, Z17, Z21)
	OUTROW(Z8, Z9, Z10, Z11, Z18, Z22)
	OUTROW(Z12, Z13, Z14, Z15, Z19, Z23)
	VADDPS Z17, Z16, Z24 // Y00 = ((R0[0] + R0[1]) + R0[2]) + bias
	VADDPS Z18, Z24, Z24
	VADDPS Z28, Z24, Z24
	VADDPS Z21, Z20, Z25 // Y01 = ((R1[0] + R1[1]) + R1[2]) + bias
	VADDPS Z22, Z25, Z25
	VADDPS Z28, Z25, Z25
	VSUBPS Z18, Z17, Z26 // Y10 = ((R0[1] - R0[2]) - R0[3]) + bias
	VSUBPS Z19, Z26, Z26
	VADDPS Z28, Z26, Z26
	VSUBPS Z22, Z21, Z27 // Y11 = ((R1[1] - R1[2]) - R1[3]) + bias
	VSUBPS Z23, Z27, Z27
	VADDPS Z28, Z27, Z27
	VMOVAPS Z24, Z31
	VPERMT2PS Z25, Z29, Z31
	VPERMT2PS Z25, Z30, Z24
	VMOVUPS Z31, K2, (DI)
	VMOVUPS Z24, K3, 64(DI)
	CMPQ BX, $1
	JLE outnext
	VMOVAPS Z26, Z31
	VPERMT2PS Z27, Z29, Z31
	VPERMT2PS Z27, Z30, Z26
	VMOVUPS Z31, K2, (DI)(R8*1)
	VMOVUPS Z26, K3, 64(DI)(R8*1)

outnext:
	LEAQ (DI)(R8*2), DI
	SUBQ $2, BX
	ADDQ R10, SI
	DECQ CX
	JNZ outrows
	VZEROUPPER
	RET
