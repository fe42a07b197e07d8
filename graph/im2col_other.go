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

// Without the assembly the padded-plane im2col does not run.
var rowsOn = false

func rowsAvailable() bool                              { return false }
func copyRows(dst, src []float32, rows, w, ds, ss int) { panic("graph: copyRows without AVX-512") }
func addRows(dst, src []float32, rows, w, ds, ss int)  { panic("graph: addRows without AVX-512") }

// windowPlan has no assembly here: windowFor serves no window.
type windowPlan struct{}

func windowFor(oh, ow, wp int) *windowPlan           { return nil }
func (pl *windowPlan) copyWindow(dst, src []float32) { panic("graph: copyWindow without AVX-512") }

// gather12 has no assembly here.
func gather12(dst, a []float32, base, lda, kc int) bool { return false }
