#include "textflag.h"

// AVX-512 Winograd F(4x4, 3x3) transforms (winograd43_amd64.go), 16
// tiles at once, one tile per lane: the input tiles gathered from a padded
// plane (VGATHERDPS at the tiles' origins) and transformed, and the
// products transformed into 4x4 output blocks scattered into a padded
// output plane (VSCATTERDPS). The passes of Bt and At share
// subexpressions (BT6, AT46), with their constants from the float32
// tables; dy's A runs as plain multiply-adds (PASS64).

// BT6: Z6-Z11 = Bt times Z0-Z5 (d0-d5) in 17 operations instead of 36
// multiply-adds, with e = d1-d3 and f = d4-d2 shared, the constants 1.5,
// -2, -0.5, 2, -2.5 and 0.5 in Z20-Z25 (BTCONST):
// Bt d = (d0+d4-2d2+1.5e, d4-d1-2.5d2-0.5d3, d4+d1+0.5d2-2.5d3, f-0.5e,
// f+2e, d5+d1-2d3+1.5(d2-d4)).
#define BT6 \
	VSUBPS Z3, Z1, Z12; \
	VSUBPS Z2, Z4, Z13; \
	VADDPS Z4, Z0, Z6; \
	VFMADD231PS Z21, Z2, Z6; \
	VFMADD231PS Z20, Z12, Z6; \
	VSUBPS Z1, Z4, Z7; \
	VFMADD231PS Z24, Z2, Z7; \
	VFMADD231PS Z22, Z3, Z7; \
	VADDPS Z1, Z4, Z8; \
	VFMADD231PS Z25, Z2, Z8; \
	VFMADD231PS Z24, Z3, Z8; \
	VMOVAPS Z13, Z9; \
	VFMADD231PS Z22, Z12, Z9; \
	VMOVAPS Z13, Z10; \
	VFMADD231PS Z23, Z12, Z10; \
	VSUBPS Z4, Z2, Z14; \
	VADDPS Z1, Z5, Z11; \
	VFMADD231PS Z21, Z3, Z11; \
	VFMADD231PS Z20, Z14, Z11

// BTCONST loads BT6's constants from the Bt table (R10).
#define BTCONST \
	VBROADCASTSS 4(R10), Z20; \
	VBROADCASTSS 8(R10), Z21; \
	VBROADCASTSS 36(R10), Z22; \
	VBROADCASTSS 100(R10), Z23; \
	VBROADCASTSS 32(R10), Z24; \
	VBROADCASTSS 56(R10), Z25

// AT46: Z6-Z9 = At times Z0-Z5 (m0-m5) in 12 operations instead of 24,
// with s = m1+m2 and d = m1-m2 shared, the constants 2, -0.5, 4, 0.25, 8
// and -0.125 in Z20-Z25 (ATCONST): At m = (m0+s+m3+m4, d+2m3-0.5m4,
// s+4m3+0.25m4, d+8m3-0.125m4+m5).
#define AT46 \
	VADDPS Z2, Z1, Z12; \
	VSUBPS Z2, Z1, Z13; \
	VADDPS Z12, Z0, Z6; \
	VADDPS Z3, Z6, Z6; \
	VADDPS Z4, Z6, Z6; \
	VMOVAPS Z13, Z7; \
	VFMADD231PS Z20, Z3, Z7; \
	VFMADD231PS Z21, Z4, Z7; \
	VMOVAPS Z12, Z8; \
	VFMADD231PS Z22, Z3, Z8; \
	VFMADD231PS Z23, Z4, Z8; \
	VADDPS Z5, Z13, Z9; \
	VFMADD231PS Z24, Z3, Z9; \
	VFMADD231PS Z25, Z4, Z9

// ATCONST loads AT46's constants from the At table (R10).
#define ATCONST \
	VBROADCASTSS 36(R10), Z20; \
	VBROADCASTSS 40(R10), Z21; \
	VBROADCASTSS 60(R10), Z22; \
	VBROADCASTSS 64(R10), Z23; \
	VBROADCASTSS 84(R10), Z24; \
	VBROADCASTSS 88(R10), Z25

// GATHER(z, o): z = the plane's values at the 16 tile origins (Z28) plus
// o elements; lanes outside K1 stay zero.
#define GATHER(z, o) \
	KMOVW K1, K2; \
	VPXORD z, z, z; \
	VGATHERDPS o*4(BX)(Z28*4), K2, z

// STORE6: Z6-Z11 to six rows of V (from R11, R12 bytes apart) for the
// lanes in K1; R11 moves to the next column's first row (R9 bytes on).
#define STORE6 \
	MOVQ R11, R13; \
	VMOVUPS Z6, K1, (R13); \
	ADDQ R12, R13; \
	VMOVUPS Z7, K1, (R13); \
	ADDQ R12, R13; \
	VMOVUPS Z8, K1, (R13); \
	ADDQ R12, R13; \
	VMOVUPS Z9, K1, (R13); \
	ADDQ R12, R13; \
	VMOVUPS Z10, K1, (R13); \
	ADDQ R12, R13; \
	VMOVUPS Z11, K1, (R13); \
	ADDQ R9, R11

// INCOL(bo): V rows a*6+b (a = 0..5, 6*ldv apart from R11) from the
// scratch rows i*6+b (i = 0..5) at byte offset bo of DI.
#define INCOL(bo) \
	VMOVUPS bo(DI), Z0; \
	VMOVUPS bo+384(DI), Z1; \
	VMOVUPS bo+768(DI), Z2; \
	VMOVUPS bo+1152(DI), Z3; \
	VMOVUPS bo+1536(DI), Z4; \
	VMOVUPS bo+1920(DI), Z5; \
	BT6; \
	STORE6

// INROW(o0, ..., o5): the rows pass for one tile row: the six values at
// element offsets oj from the origins gathered, Bt applied, S[i][b] stored
// to the scratch (DI), BX and DI moved to the next row.
#define INROW(o0, o1, o2, o3, o4, o5) \
	GATHER(Z0, o0); \
	GATHER(Z1, o1); \
	GATHER(Z2, o2); \
	GATHER(Z3, o3); \
	GATHER(Z4, o4); \
	GATHER(Z5, o5); \
	BT6; \
	VMOVUPS Z6, (DI); \
	VMOVUPS Z7, 64(DI); \
	VMOVUPS Z8, 128(DI); \
	VMOVUPS Z9, 192(DI); \
	VMOVUPS Z10, 256(DI); \
	VMOVUPS Z11, 320(DI); \
	ADDQ R8, BX; \
	ADDQ $384, DI

// func wino43InAVX512(p *float32, rowStep int, idx *int32, mask uint16, bt, s, v *float32, ldv, dil int)
//
// For the 16 tiles whose origins (element offsets from p) are idx, lanes
// in mask: rows pass, for each tile row i, S[i][b] = sum_j Bt[b][j]
// d[i][j] with d[i][j] gathered (VGATHERDPS) at origin + i*rowStep +
// dil*j (dil 1, or 2 for the phases of a stride-2 convolution), into the scratch s (36 vectors, row i*6+b); columns pass,
// V[a*6+b] = sum_i Bt[a][i] S[i][b], stored at v + (a*6+b)*ldv for the
// lanes in mask. (Scalar moves into a tile scratch instead of the gathers
// measured 1.4 times slower.)
TEXT ·wino43InAVX512(SB), NOSPLIT, $0-72
	MOVQ p+0(FP), BX
	MOVQ rowStep+8(FP), R8
	SHLQ $2, R8
	MOVQ idx+16(FP), AX
	VMOVDQU32 (AX), Z28
	MOVWQZX mask+24(FP), AX
	KMOVW AX, K1
	MOVQ bt+32(FP), R10
	BTCONST
	MOVQ s+40(FP), DI
	MOVQ $6, CX
	MOVQ dil+64(FP), DX
	CMPQ DX, $2
	JEQ in43rows2

in43rows:
	INROW(0, 1, 2, 3, 4, 5)
	DECQ CX
	JNZ in43rows
	JMP in43cols

in43rows2: // the same with every other column
	INROW(0, 2, 4, 6, 8, 10)
	DECQ CX
	JNZ in43rows2

in43cols:
	MOVQ s+40(FP), DI
	MOVQ v+48(FP), R11
	MOVQ ldv+56(FP), R9
	SHLQ $2, R9          // bytes between V rows b and b+1
	LEAQ (R9)(R9*2), R12
	SHLQ $1, R12         // bytes between V rows a*6 and (a+1)*6
	INCOL(0)
	INCOL(64)
	INCOL(128)
	INCOL(192)
	INCOL(256)
	INCOL(320)
	VZEROUPPER
	RET

// OUTROW: Z0-Z5 = six consecutive product rows (R9 bytes apart) at R11,
// lanes outside K1 zero; R11 moves past them.
#define OUTROW \
	VMOVUPS.Z (R11), K1, Z0; \
	ADDQ R9, R11; \
	VMOVUPS.Z (R11), K1, Z1; \
	ADDQ R9, R11; \
	VMOVUPS.Z (R11), K1, Z2; \
	ADDQ R9, R11; \
	VMOVUPS.Z (R11), K1, Z3; \
	ADDQ R9, R11; \
	VMOVUPS.Z (R11), K1, Z4; \
	ADDQ R9, R11; \
	VMOVUPS.Z (R11), K1, Z5; \
	ADDQ R9, R11

// SCATTER(z, o): z plus the bias (Z27) to the output plane at the 16
// block origins (Z28) plus the element offset at byte o of R8's table.
#define SCATTER(z, o) \
	VADDPS Z27, z, z; \
	MOVLQSX o(R8), BX; \
	LEAQ (DX)(BX*4), BX; \
	KMOVW K1, K2; \
	VSCATTERDPS z, K2, (BX)(Z28*4)

// OUTCOL(bo, o): output column q of the blocks from the scratch rows a*4+q
// (a = 0..5) at byte offset bo of DI; o is the byte offset of block value
// (0, q) in the offsets table.
#define OUTCOL(bo, o) \
	VMOVUPS bo(DI), Z0; \
	VMOVUPS bo+256(DI), Z1; \
	VMOVUPS bo+512(DI), Z2; \
	VMOVUPS bo+768(DI), Z3; \
	VMOVUPS bo+1024(DI), Z4; \
	VMOVUPS bo+1280(DI), Z5; \
	AT46; \
	SCATTER(Z6, o); \
	SCATTER(Z7, o+16); \
	SCATTER(Z8, o+32); \
	SCATTER(Z9, o+48)

// func wino43OutAVX512(m *float32, ldm int, at *float32, bias float32, y *float32, offs, idx *int32, mask uint16, s *float32)
//
// For the 16 tiles in mask whose products start at m (row xi = a*6+b at
// m + xi*ldm): rows pass, T[a][q] = sum_b At[q][b] m[a*6+b] into the
// scratch s (row a*4+q); columns pass, Y[p][q] = sum_a At[p][a] T[a][q] +
// bias, scattered to y + idx (the blocks' origins) + offs[p*4+q].
TEXT ·wino43OutAVX512(SB), NOSPLIT, $0-72
	MOVQ m+0(FP), R11
	MOVQ ldm+8(FP), R9
	SHLQ $2, R9
	MOVQ at+16(FP), R10
	ATCONST
	VBROADCASTSS bias+24(FP), Z27
	MOVQ y+32(FP), DX
	MOVQ offs+40(FP), R8
	MOVQ idx+48(FP), AX
	VMOVDQU32 (AX), Z28
	MOVWQZX mask+56(FP), AX
	KMOVW AX, K1
	MOVQ s+64(FP), DI
	MOVQ $6, CX

out43rows:
	OUTROW
	AT46
	VMOVUPS Z6, (DI)
	VMOVUPS Z7, 64(DI)
	VMOVUPS Z8, 128(DI)
	VMOVUPS Z9, 192(DI)
	ADDQ $256, DI
	DECQ CX
	JNZ out43rows

	MOVQ s+64(FP), DI
	OUTCOL(0, 0)
	OUTCOL(64, 4)
	OUTCOL(128, 8)
	OUTCOL(192, 12)
	VZEROUPPER
	RET

// W4(z, o0, o1, o2, o3): z = sum over j < 4 of the table's (R10) values
// at byte offsets oj times Zj.
#define W4(z, o0, o1, o2, o3) \
	VMULPS.BCST o0(R10), Z0, z; \
	VFMADD231PS.BCST o1(R10), Z1, z; \
	VFMADD231PS.BCST o2(R10), Z2, z; \
	VFMADD231PS.BCST o3(R10), Z3, z

// PASS64: Z6-Z11 = the 6x4 table (A, row-major) times Z0-Z3.
#define PASS64 \
	W4(Z6, 0, 4, 8, 12); \
	W4(Z7, 16, 20, 24, 28); \
	W4(Z8, 32, 36, 40, 44); \
	W4(Z9, 48, 52, 56, 60); \
	W4(Z10, 64, 68, 72, 76); \
	W4(Z11, 80, 84, 88, 92)

// DYCOL(bo): Yhat rows b*6+a (b = 0..5, 6*ldv apart from R11) from the
// scratch rows i*6+a (i = 0..3) at byte offset bo of DI.
#define DYCOL(bo) \
	VMOVUPS bo(DI), Z0; \
	VMOVUPS bo+384(DI), Z1; \
	VMOVUPS bo+768(DI), Z2; \
	VMOVUPS bo+1152(DI), Z3; \
	PASS64; \
	STORE6

// func wino43DyAVX512(p *float32, rowStep int, idx *int32, mask uint16, a, s, v *float32, ldv int)
//
// The weight gradient's transform of dy, Yhat = A d A^T, for the 16 4x4
// blocks whose origins (element offsets from p) are idx, lanes in mask:
// rows pass, T[i][a] = sum_j A[a][j] d[i][j] with d[i][j] gathered at
// origin + i*rowStep + j, into the scratch s (row i*6+a); columns pass,
// Yhat[b*6+a] = sum_i A[b][i] T[i][a], stored at v + (b*6+a)*ldv.
TEXT ·wino43DyAVX512(SB), NOSPLIT, $0-64
	MOVQ p+0(FP), BX
	MOVQ rowStep+8(FP), R8
	SHLQ $2, R8
	MOVQ idx+16(FP), AX
	VMOVDQU32 (AX), Z28
	MOVWQZX mask+24(FP), AX
	KMOVW AX, K1
	MOVQ a+32(FP), R10
	MOVQ s+40(FP), DI
	MOVQ $4, CX

dy43rows:
	GATHER(Z0, 0)
	GATHER(Z1, 1)
	GATHER(Z2, 2)
	GATHER(Z3, 3)
	PASS64
	VMOVUPS Z6, (DI)
	VMOVUPS Z7, 64(DI)
	VMOVUPS Z8, 128(DI)
	VMOVUPS Z9, 192(DI)
	VMOVUPS Z10, 256(DI)
	VMOVUPS Z11, 320(DI)
	ADDQ R8, BX
	ADDQ $384, DI
	DECQ CX
	JNZ dy43rows

	MOVQ s+40(FP), DI
	MOVQ v+48(FP), R11
	MOVQ ldv+56(FP), R9
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R12
	SHLQ $1, R12
	DYCOL(0)
	DYCOL(64)
	DYCOL(128)
	DYCOL(192)
	DYCOL(256)
	DYCOL(320)
	VZEROUPPER
	RET
