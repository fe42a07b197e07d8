package experiments_test

import (
	"fmt"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet/experiments"
)

// The correspondence measure of the paper's Table 1: the sign of each
// feature's change when a part is occluded, compared between images. Two
// images whose features change the same way agree everywhere; the third
// differs in one feature of three.
func ExampleDelta() {
	eps := [][]float32{{0.5, -1, 0}, {2, -0.1, 0}, {1, 1, 0}}
	var signs [][]int8
	for _, e := range eps {
		signs = append(signs, experiments.Signs(e))
	}
	st, err := experiments.Delta(signs)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d pairs, Delta %d, mean %.3f\n", st.Pairs, st.Sum, st.Mean)
	// Output: 6 pairs, Delta 4, mean 0.222
}

// The invariance experiment moves a picture before the mean is
// subtracted; an integer shift copies pixels and fills the uncovered ones.
func ExampleTransform_Apply() {
	img := &data.Image{C: 1, H: 1, W: 4, Pix: []float32{1, 2, 3, 4}}
	moved, err := experiments.Transform{Kind: experiments.TranslateX, Amount: 1}.Apply(img, []float32{0})
	if err != nil {
		panic(err)
	}
	fmt.Println(moved.Pix)
	// Output: [0 1 2 3]
}
