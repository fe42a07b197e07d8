#include "textflag.h"

// Horizontal sum of Zr (its low half Yr, quarter Xr) into the float at
// off(DX): halves, then quarters, then pairs, then the last two lanes.
#define HSUM(Zr, Yr, Xr, off) \
	VEXTRACTF64X4 $1, Zr, Y8; \
	VADDPS Y8, Yr, Yr; \
	VEXTRACTF128 $1, Yr, X8; \
	VADDPS X8, Xr, Xr; \
	VMOVHLPS Xr, Xr, X8; \
	VADDPS X8, Xr, Xr; \
	VMOVSHDUP Xr, X8; \
	VADDSS X8, Xr, Xr; \
	VMOVSS Xr, off(DX)

// func dot8AVX512(k int, x, w *float32, ldw int, out *float32)
//
// out[r] = sum over i < k of x[i] * w[r*ldw+i], r = 0..7: one accumulator
// of 16 lanes per row (lane l sums i = l mod 16 in order, the last partial
// chunk masked), then HSUM.
TEXT ·dot8AVX512(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DI
	MOVQ ldw+24(FP), R8
	SHLQ $2, R8
	MOVQ out+32(FP), DX
	LEAQ (DI)(R8*1), R9
	LEAQ (DI)(R8*2), R10
	LEAQ (R9)(R8*2), R11
	LEAQ (DI)(R8*4), R12
	LEAQ (R9)(R8*4), R13
	LEAQ (R10)(R8*4), R14
	LEAQ (R11)(R8*4), R15
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ AX, AX
	MOVQ CX, BX
	SHRQ $4, BX
	JZ tail

loop:
	VMOVUPS (SI)(AX*1), Z8
	VFMADD231PS (DI)(AX*1), Z8, Z0
	VFMADD231PS (R9)(AX*1), Z8, Z1
	VFMADD231PS (R10)(AX*1), Z8, Z2
	VFMADD231PS (R11)(AX*1), Z8, Z3
	VFMADD231PS (R12)(AX*1), Z8, Z4
	VFMADD231PS (R13)(AX*1), Z8, Z5
	VFMADD231PS (R14)(AX*1), Z8, Z6
	VFMADD231PS (R15)(AX*1), Z8, Z7
	ADDQ $64, AX
	DECQ BX
	JNZ loop

tail:
	ANDQ $15, CX
	JZ reduce
	MOVQ $1, BX
	SHLQ CX, BX
	DECQ BX
	KMOVW BX, K1
	VMOVUPS.Z (SI)(AX*1), K1, Z8
	VMOVUPS.Z (DI)(AX*1), K1, Z9
	VFMADD231PS Z9, Z8, Z0
	VMOVUPS.Z (R9)(AX*1), K1, Z9
	VFMADD231PS Z9, Z8, Z1
	VMOVUPS.Z (R10)(AX*1), K1, Z9
	VFMADD231PS Z9, Z8, Z2
	VMOVUPS.Z (R11)(AX*1), K1, Z9
	VFMADD231PS Z9, Z8, Z3
	VMOVUPS.Z (R12)(AX*1), K1, Z9
	VFMADD231PS Z9, Z8, Z4
	VMOVUPS.Z (R13)(AX*1), K1, Z9
	VFMADD231PS Z9, Z8, Z5
	VMOVUPS.Z (R14)(AX*1), K1, Z9
	VFMADD231PS Z9, Z8, Z6
	VMOVUPS.Z (R15)(AX*1), K1, Z9
	VFMADD231PS Z9, Z8, Z7

reduce:
	HSUM(Z0, Y0, X0, 0)
	HSUM(Z1, Y1, X1, 4)
	HSUM(Z2, Y2, X2, 8)
	HSUM(Z3, Y3, X3, 12)
	HSUM(Z4, Y4, X4, 16)
	HSUM(Z5, Y5, X5, 20)
	HSUM(Z6, Y6, X6, 24)
	HSUM(Z7, Y7, X7, 28)
	VZEROUPPER
	RET
