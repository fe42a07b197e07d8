#include "textflag.h"

// func keepPositiveAVX512(m, x, y *float32, n int)
//
// y[i] = x[i] where m[i] > 0, else 0, for i < n, 16 at a time with the last
// chunk masked. m > 0 is tested on the bits as signed integers, as the Go
// loop does: 1 <= bits <= 0x7f800000 (+inf kept; zeros, negatives and NaNs
// give 0). x's bits are moved, never computed on: the same bits as Go.
TEXT ·keepPositiveAVX512(SB), NOSPLIT, $0-32
	MOVQ m+0(FP), SI
	MOVQ x+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
	VPXORD Z30, Z30, Z30
	MOVL $0x7f800001, AX
	VPBROADCASTD AX, Z31
	TESTQ CX, CX
	JLE kpdone

kploop:
	MOVQ $0xffff, BX
	CMPQ CX, $16
	JGE kpfull
	MOVQ $1, BX
	SHLQ CX, BX
	DECQ BX

kpfull:
	KMOVW BX, K1
	VMOVDQU32.Z (SI), K1, Z0
	VPCMPGTD Z30, Z0, K1, K2
	VPCMPGTD Z0, Z31, K2, K2
	VMOVDQU32.Z (DX), K2, Z1
	VMOVDQU32 Z1, K1, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JG kploop

kpdone:
	VZEROUPPER
	RET
