//go:build !amd64

package graph

// stride2Copy has no assembly here: im2colAny's Go loop copies.
func stride2Copy[T float](dst, src []T) int { return 0 }

// addScalar adds v to every element of row.
func addScalar[T float](row []T, v T) {
	for i := range row {
		row[i] += v
	}
}
