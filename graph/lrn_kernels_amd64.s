#include "textflag.h"

// AVX versions of lrn_kernels.go's loops for the bulk of a slice: n is a
// positive multiple of 4 (8 for the all-float32 loops). Operand order is
// Go's: VSUBPD a, b, c computes c = b - a.

// func accumulateAVX(run *float64, v *float32, n int, sub bool)
TEXT ·accumulateAVX(SB), NOSPLIT, $0-25
	MOVQ    run+0(FP), DI
	MOVQ    v+8(FP), SI
	MOVQ    n+16(FP), CX
	MOVBLZX sub+24(FP), AX
	TESTQ   AX, AX
	JNZ     subloop

addloop:
	VCVTPS2PD (SI), Y0
	VADDPD    (DI), Y0, Y0
	VMOVUPD   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	SUBQ      $4, CX
	JNZ       addloop
	VZEROUPPER
	RET

subloop:
	VCVTPS2PD (SI), Y0
	VMOVUPD   (DI), Y1
	VSUBPD    Y0, Y1, Y1
	VMOVUPD   Y1, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	SUBQ      $4, CX
	JNZ       subloop
	VZEROUPPER
	RET

// func scale075AVX(sums *float64, n int, k, a float64, scale, pw *float32)
TEXT ·scale075AVX(SB), NOSPLIT, $0-48
	MOVQ         sums+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSD k+16(FP), Y6
	VBROADCASTSD a+24(FP), Y7
	MOVQ         scale+32(FP), DI
	MOVQ         pw+40(FP), DX
	VXORPD       Y8, Y8, Y8
	MOVL         $0x3F800000, AX // float32 1.0
	MOVQ         AX, X9
	VBROADCASTSS X9, X9

scaleloop:
	VMOVUPD    (SI), Y0
	VMAXPD     Y0, Y8, Y0 // max(0, s): s itself when s is NaN, as Go's max
	VMULPD     Y7, Y0, Y0
	VADDPD     Y6, Y0, Y0 // sc = k + a*s
	VCVTPD2PSY Y0, X1     // scale, rounded to float32
	VMOVUPS    X1, (DI)
	VSQRTPS    X1, X2     // r = sqrt(scale), in float32 as pow075
	VSQRTPS    X2, X3
	VMULPS     X3, X2, X3 // r*sqrt(r)
	VDIVPS     X3, X9, X3 // 1/(r*sqrt(r))
	VMOVUPS    X3, (DX)
	ADDQ       $32, SI
	ADDQ       $16, DI
	ADDQ       $16, DX
	SUBQ       $4, CX
	JNZ        scaleloop
	VZEROUPPER
	RET

// func squareAVX(x, sq *float32, n int)
TEXT ·squareAVX(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ sq+8(FP), DI
	MOVQ n+16(FP), CX

sqloop:
	VMOVUPS (SI), Y0
	VMULPS  Y0, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     sqloop
	VZEROUPPER
	RET

// func backwardTermsAVX(dy, x, pw, scale, t, dx *float32, n int)
TEXT ·backwardTermsAVX(SB), NOSPLIT, $0-56
	MOVQ dy+0(FP), SI
	MOVQ x+8(FP), R8
	MOVQ pw+16(FP), R9
	MOVQ scale+24(FP), R10
	MOVQ t+32(FP), R11
	MOVQ dx+40(FP), R12
	MOVQ n+48(FP), CX

termloop:
	VMOVUPS (SI), Y0
	VMULPS  (R8), Y0, Y1  // dy*x
	VMULPS  (R9), Y1, Y1  // *pw
	VDIVPS  (R10), Y1, Y1 // /scale
	VMOVUPS Y1, (R11)
	VMULPS  (R9), Y0, Y2  // dy*pw
	VMOVUPS Y2, (R12)
	ADDQ    $32, SI
	ADDQ    $32, R8
	ADDQ    $32, R9
	ADDQ    $32, R10
	ADDQ    $32, R11
	ADDQ    $32, R12
	SUBQ    $8, CX
	JNZ     termloop
	VZEROUPPER
	RET

// func backwardCrossAVX(dx, x *float32, sums *float64, n int, f float64)
TEXT ·backwardCrossAVX(SB), NOSPLIT, $0-40
	MOVQ         dx+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         sums+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSD f+32(FP), Y7

crossloop:
	VCVTPS2PD  (SI), Y0
	VMULPD     Y7, Y0, Y0   // f*x
	VMULPD     (DX), Y0, Y0 // (f*x)*s
	VCVTPD2PSY Y0, X0
	VMOVUPS    (DI), X1
	VSUBPS     X0, X1, X1   // dx - term
	VMOVUPS    X1, (DI)
	ADDQ       $16, SI
	ADDQ       $16, DI
	ADDQ       $32, DX
	SUBQ       $4, CX
	JNZ        crossloop
	VZEROUPPER
	RET

// func productAVX(x, y, out *float32, n int)
TEXT ·productAVX(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DX
	MOVQ out+16(FP), DI
	MOVQ n+24(FP), CX

prodloop:
	VMOVUPS (SI), Y0
	VMULPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     prodloop
	VZEROUPPER
	RET
