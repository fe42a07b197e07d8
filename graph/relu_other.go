//go:build !amd64

package graph

// keepPositive32 has no assembly here: the Go loop.
func keepPositive32(m, x, y []float32) { keepPositiveGo32(m, x, y) }
