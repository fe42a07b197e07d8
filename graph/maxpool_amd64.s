#include "textflag.h"

// AVX-512 3x3 stride-2 max pooling argmax (maxpool_amd64.go): 16 windows of
// a row of output at once on the order-preserving int32 keys of
// orderKeys32, the same choice as argmax3x3 (the largest key, the first in
// row-major order on ties).

// Columns 2i, 2i+1, 2i+2 (i = 0..15) of the key row at ptr into c0, c1, c2
// (Z0, Z1, Z2), from two unaligned pairs of loads split into even and odd
// columns.
#define POOLROW(ptr) \
	VMOVDQU32 (ptr), Z0; \
	VMOVDQU32 64(ptr), Z3; \
	VMOVDQU32 8(ptr), Z2; \
	VMOVDQU32 72(ptr), Z4; \
	VMOVDQA32 Z0, Z1; \
	VPERMT2D Z3, Z30, Z0; \
	VPERMT2D Z3, Z31, Z1; \
	VPERMT2D Z4, Z30, Z2

// Where key k is larger than the best so far, it becomes the best and its
// window offset off the position (a strict comparison: ties keep the first).
#define POOLTAKE(k, off) \
	VPCMPGTD Z5, k, K1; \
	VMOVDQA32 k, K1, Z5; \
	VMOVDQA32 off, K1, Z6

// func pool3x3s2AVX512(key *int32, w, n int, base int32, out *int32)
//
// out[i] = base + 2i + (the row-major offset r*w+c of the largest key among
// key[r*w + 2i + c], r, c = 0..2), for i < n: n windows of one output row,
// every window inside the plane (rows w keys apart). Reads up to 34 keys
// past the last window's first column in each of its rows.
TEXT ·pool3x3s2AVX512(SB), NOSPLIT, $0-40
	MOVQ key+0(FP), SI
	MOVQ w+8(FP), AX
	MOVQ AX, R8
	SHLQ $2, R8
	MOVQ n+16(FP), CX
	MOVQ out+32(FP), DI
	VMOVDQU32 ·lanesEven(SB), Z30
	VMOVDQU32 ·lanesOdd(SB), Z31
	MOVL base+24(FP), BX
	VPBROADCASTD BX, Z20
	VPADDD Z30, Z20, Z20 // base + 2i (lanesEven is 0, 2, ..., 30)
	MOVL $32, BX
	VPBROADCASTD BX, Z21
	MOVL $1, BX
	VPBROADCASTD BX, Z11
	MOVL $2, BX
	VPBROADCASTD BX, Z12
	VPBROADCASTD AX, Z13 // w
	LEAL 1(AX), BX
	VPBROADCASTD BX, Z14
	LEAL 2(AX), BX
	VPBROADCASTD BX, Z15
	LEAL (AX)(AX*1), BX
	VPBROADCASTD BX, Z16 // 2w
	LEAL 1(BX), DX
	VPBROADCASTD DX, Z17
	LEAL 2(BX), DX
	VPBROADCASTD DX, Z18

chunk:
	MOVQ $0xffff, BX
	CMPQ CX, $16
	JGE full
	MOVQ $1, BX
	SHLQ CX, BX
	DECQ BX

full:
	KMOVW BX, K2
	LEAQ (SI)(R8*1), R9
	LEAQ (SI)(R8*2), R10
	POOLROW(SI)
	VMOVDQA32 Z0, Z5
	VPXORD Z6, Z6, Z6
	POOLTAKE(Z1, Z11)
	POOLTAKE(Z2, Z12)
	POOLROW(R9)
	POOLTAKE(Z0, Z13)
	POOLTAKE(Z1, Z14)
	POOLTAKE(Z2, Z15)
	POOLROW(R10)
	POOLTAKE(Z0, Z16)
	POOLTAKE(Z1, Z17)
	POOLTAKE(Z2, Z18)
	VPADDD Z20, Z6, Z6
	VMOVDQU32 Z6, K2, (DI)
	ADDQ $128, SI
	ADDQ $64, DI
	VPADDD Z21, Z20, Z20
	SUBQ $16, CX
	JG chunk
	VZEROUPPER
	RET

DATA poolMag<>+0(SB)/4, $0x7fffffff
GLOBL poolMag<>(SB), RODATA|NOPTR, $4
DATA poolInf<>+0(SB)/4, $0x7f800000
GLOBL poolInf<>(SB), RODATA|NOPTR, $4

// func orderKeysAVX512(plane *float32, key *int32, n int) (hasNaN bool)
//
// orderKeys32 16 values at a time (the last chunk masked): key = (mag ^
// s) - s with s the sign spread over the word and mag the bits without it;
// a NaN is a mag above the infinity's.
TEXT ·orderKeysAVX512(SB), NOSPLIT, $0-25
	MOVQ plane+0(FP), SI
	MOVQ key+8(FP), DI
	MOVQ n+16(FP), CX
	VPBROADCASTD poolMag<>(SB), Z29
	VPBROADCASTD poolInf<>(SB), Z28
	KXORW K3, K3, K3
	TESTQ CX, CX
	JLE keysdone

keys:
	MOVQ $0xffff, BX
	CMPQ CX, $16
	JGE keysfull
	MOVQ $1, BX
	SHLQ CX, BX
	DECQ BX

keysfull:
	KMOVW BX, K2
	VMOVDQU32.Z (SI), K2, Z0
	VPSRAD $31, Z0, Z1
	VPANDD Z29, Z0, Z2
	VPXORD Z1, Z2, Z3
	VPSUBD Z1, Z3, Z3
	VMOVDQU32 Z3, K2, (DI)
	VPCMPGTD Z28, Z2, K1
	KORW K1, K3, K3
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JG keys

keysdone:
	KMOVW K3, AX
	TESTL AX, AX
	SETNE hasNaN+24(FP)
	VZEROUPPER
	RET
