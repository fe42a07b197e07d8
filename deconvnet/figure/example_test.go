package figure_test

import (
	"fmt"
	"image"

	"github.com/zfnet/zfnet/deconvnet/figure"
)

// A 2x3 map on the Heat scale, enlarged 4 times, beside its projection-style
// rendering, in a titled grid.
func Example() {
	v := []float64{0, 0.2, 0.4, 0.6, 0.8, 1}
	heat := figure.Scale(figure.Heatmap(v, 2, 3), 4)
	signal := figure.Scale(figure.ProjectionImage([]float32{-1, 0, 1, -1, 0, 1}, 1, 2, 3), 4)
	grid := figure.Grid([]image.Image{heat, signal}, 2, 1, figure.Paper)
	fmt.Println(heat.Bounds(), grid.Bounds())
	fmt.Println(figure.Heat(0), figure.Heat(1))
	// Output:
	// (0,0)-(12,8) (0,0)-(27,10)
	// {68 1 84 255} {253 231 37 255}
}

// HeatmapRange keeps an absolute scale: 0.5 is mid-scale whatever the
// other values are.
func ExampleHeatmapRange() {
	img := figure.HeatmapRange([]float64{0.5, 0.5}, 1, 2, 0, 1)
	fmt.Println(img.At(0, 0) == figure.Heat(0.5))
	// Output: true
}

// Row and Column lay pictures out along one axis, gap pixels apart; the
// other side is the largest picture's.
func ExampleRow() {
	a, b := figure.Blank(2, 3, figure.Paper), figure.Blank(4, 1, figure.Ink)
	fmt.Println(figure.Row([]image.Image{a, b}, 1, figure.Paper).Bounds())
	fmt.Println(figure.Column([]image.Image{a, b}, 1, figure.Paper).Bounds())
	// Output:
	// (0,0)-(7,3)
	// (0,0)-(4,5)
}
