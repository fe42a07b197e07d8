#include "textflag.h"

// func momentumKernel(w, v, grad *float32, n int, lr, mu, wd float32)
// n is a positive multiple of 8. Per element, as momentumGo:
// v = (mu*v + g) + wd*w; w = w - lr*v.
TEXT ·momentumKernel(SB), NOSPLIT, $0-44
	MOVQ         w+0(FP), DI
	MOVQ         v+8(FP), SI
	MOVQ         grad+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS lr+32(FP), Y5
	VBROADCASTSS mu+36(FP), Y6
	VBROADCASTSS wd+40(FP), Y7

loop:
	VMOVUPS (SI), Y0
	VMULPS  Y6, Y0, Y0 // mu*v
	VADDPS  (DX), Y0, Y0 // + g
	VMOVUPS (DI), Y1
	VMULPS  Y7, Y1, Y2 // wd*w
	VADDPS  Y2, Y0, Y0
	VMOVUPS Y0, (SI)
	VMULPS  Y5, Y0, Y3 // lr*v
	VSUBPS  Y3, Y1, Y1 // w - lr*v
	VMOVUPS Y1, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JNZ     loop
	VZEROUPPER
	RET
