#include "textflag.h"

// ROWS2D_SETUP loads the arguments of copyRowsAVX512 and addRowsAVX512:
// DI, SI the first rows of dst and src, R8 the rows, R10 and R11 the
// strides in bytes, R12 the whole chunks of 16 per row, CX = w%16 and K1
// the mask of that tail.
#define ROWS2D_SETUP \
	MOVQ dst+0(FP), DI; \
	MOVQ src+8(FP), SI; \
	MOVQ rows+16(FP), R8; \
	MOVQ w+24(FP), R9; \
	MOVQ dstStride+32(FP), R10; \
	MOVQ srcStride+40(FP), R11; \
	SHLQ $2, R10; \
	SHLQ $2, R11; \
	MOVQ R9, CX; \
	ANDQ $15, CX; \
	MOVQ $1, BX; \
	SHLQ CX, BX; \
	DECQ BX; \
	KMOVW BX, K1; \
	MOVQ R9, R12; \
	SHRQ $4, R12

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

// func copyRowsAVX512(dst, src *float32, rows, w, dstStride, srcStride int)
//
// dst[r*dstStride+j] = src[r*srcStride+j] for r < rows, j < w: a strided
// 2-D block copy (im2col's rows from a padded plane), 16 values per move,
// each row's tail masked.
TEXT ·copyRowsAVX512(SB), NOSPLIT, $0-48
	ROWS2D_SETUP
	TESTQ R8, R8
	JLE   cpdone

cprow:
	MOVQ  DI, AX
	MOVQ  SI, DX
	MOVQ  R12, R13
	TESTQ R13, R13
	JZ    cptail

cpfull:
	VMOVUPS (DX), Z0
	VMOVUPS Z0, (AX)
	ADDQ    $64, AX
	ADDQ    $64, DX
	DECQ    R13
	JNZ     cpfull

cptail:
	TESTQ CX, CX
	JZ    cpnext
	VMOVUPS.Z (DX), K1, Z0
	VMOVUPS   Z0, K1, (AX)

cpnext:
	ADDQ R10, DI
	ADDQ R11, SI
	DECQ R8
	JNZ  cprow

cpdone:
	VZEROUPPER
	RET

// func addRowsAVX512(dst, src *float32, rows, w, dstStride, srcStride int)
//
// dst[r*dstStride+j] += src[r*srcStride+j] for r < rows, j < w (col2im onto
// a padded plane): one rounding per element, dst the first operand, as
// Go's dst[i] += v.
TEXT ·addRowsAVX512(SB), NOSPLIT, $0-48
	ROWS2D_SETUP
	TESTQ R8, R8
	JLE   addrdone

addrrow:
	MOVQ  DI, AX
	MOVQ  SI, DX
	MOVQ  R12, R13
	TESTQ R13, R13
	JZ    addrtail

addrfull:
	VMOVUPS (AX), Z0
	VMOVUPS (DX), Z1
	VADDPS  Z1, Z0, Z0
	VMOVUPS Z0, (AX)
	ADDQ    $64, AX
	ADDQ    $64, DX
	DECQ    R13
	JNZ     addrfull

addrtail:
	TESTQ CX, CX
	JZ    addrnext
	VMOVUPS.Z (AX), K1, Z0
	VMOVUPS.Z (DX), K1, Z1
	VADDPS    Z1, Z0, Z0
	VMOVUPS   Z0, K1, (AX)

addrnext:
	ADDQ R10, DI
	ADDQ R11, SI
	DECQ R8
	JNZ  addrrow

addrdone:
	VZEROUPPER
	RET

// func windowAVX512(dst, src *float32, chunks int, starts, idx *int32, tail uint16)
//
// dst[16c+i] = src[starts[c] + idx[16c+i]] for c < chunks, i < 16, the
// last chunk's store masked by tail: one window of a padded plane with rows
// narrower than 16 (im2col on 7x7 and 14x14 maps), each 16 outputs picked
// from the 32 values at src[starts[c]:] by VPERMT2PS (idx < 32; src must
// hold 32 values from every start).
TEXT ·windowAVX512(SB), NOSPLIT, $0-42
	MOVQ   dst+0(FP), DI
	MOVQ   src+8(FP), SI
	MOVQ   chunks+16(FP), CX
	MOVQ   starts+24(FP), R8
	MOVQ   idx+32(FP), R9
	MOVWLZX tail+40(FP), BX
	KMOVW  BX, K1
	MOVQ   $0xffff, BX
	KMOVW  BX, K2

winloop:
	CMPQ      CX, $1
	JNE       winfull
	KMOVW     K1, K2 // the last chunk

winfull:
	MOVLQSX   (R8), AX
	VMOVUPS   (SI)(AX*4), Z0
	VMOVUPS   64(SI)(AX*4), Z2
	VMOVDQU32 (R9), Z1
	VPERMT2PS Z2, Z1, Z0
	VMOVUPS   Z0, K2, (DI)
	ADDQ      $4, R8
	ADDQ      $64, R9
	ADDQ      $64, DI
	DECQ      CX
	JNZ       winloop
	VZEROUPPER
	RET

// func gather12AVX512(dst, src *float32, kc int, idx *int32)
//
// dst[12p+i] = src[p + idx[i]] for p < kc, i < 12: the SGEMM's packing of
// 12 rows of a row-major A into its k-major sliver (idx[i] = i*lda), one
// gather and one masked store per k, two in flight.
TEXT ·gather12AVX512(SB), NOSPLIT, $0-32
	MOVQ      dst+0(FP), DI
	MOVQ      src+8(FP), SI
	MOVQ      kc+16(FP), CX
	MOVQ      idx+24(FP), AX
	VMOVDQU32 (AX), Z31
	MOVQ      $0x0fff, BX
	KMOVW     BX, K2
	CMPQ      CX, $2
	JLT       g12one

g12two:
	KMOVW       K2, K1
	KMOVW       K2, K3
	VPGATHERDD  (SI)(Z31*4), K1, Z0
	VPGATHERDD  4(SI)(Z31*4), K3, Z1
	VMOVDQU32   Z0, K2, (DI)
	VMOVDQU32   Z1, K2, 48(DI)
	ADDQ        $8, SI
	ADDQ        $96, DI
	SUBQ        $2, CX
	CMPQ        CX, $2
	JGE         g12two

g12one:
	TESTQ       CX, CX
	JLE         g12done
	KMOVW       K2, K1
	VPGATHERDD  (SI)(Z31*4), K1, Z0
	VMOVDQU32   Z0, K2, (DI)

g12done:
	VZEROUPPER
	RET
