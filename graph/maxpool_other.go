//go:build !amd64

package graph

// poolKeyPad is the slack kept after a plane's keys (none needed here).
const poolKeyPad = 0

// poolRow3x3s2 has no assembly here: poolArgmax's Go loop runs.
func poolRow3x3s2(key []int32, w, n int, base int32, out []int32) bool { return false }

// orderKeysAsm has no assembly here: orderKeys32's Go loop runs.
func orderKeysAsm(plane []float32, key []int32) (hasNaN, ok bool) { return false, false }
