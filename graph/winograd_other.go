//go:build !amd64

package graph

// Without assembly, the Winograd transforms run in Go (winogradInputsOf,
// winogradOutputsOf).

func winogradInputsAsm[T float](P []T, wpad, hp, th, tw int, S, v []T, ldv int) bool { return false }

func winogradOutputsAsm[T float](g convGeom, m []T, ldm int, bo T, yo []T, th, tw int) bool {
	return false
}

// The F(4x4, 3x3) transforms run as SGEMMs (wino43Inputs, wino43Place).

func wino43Asm() bool { return false }

func wino43InputsAsm[T float](g convGeom, x []T, th, tw int, V []T) {}

func wino43OutputsAsm[T float](g convGeom, M, b, y []T, th, tw int) {}

func phase43InputsAsm[T float](g, pg convGeom, x []T, th, tw int, V []T) bool { return false }

func wino43DyAsm[T float](g convGeom, dy []T, th, tw int, yh []T) bool { return false }
