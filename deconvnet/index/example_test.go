package index_test

import (
	"fmt"

	"github.com/zfnet/zfnet/deconvnet/index"
)

// A selector keeps each unit's K best activations whatever order the
// examples arrive in: two shards' selections merge into the same top-K as
// one pass over all the examples.
func ExampleSelector_Merge() {
	// One layer with one unit (a 1x2 map), K = 2, one entry per example.
	a, _ := index.NewSelector(index.PerImage, 2, []int{1})
	b, _ := index.NewSelector(index.PerImage, 2, []int{1})
	// Shard a holds examples 0 and 1, shard b examples 2 and 3: a batch's
	// activations, example after example, hw = 2 positions of width 2.
	if err := a.Offer(0, []float32{0.5, 3, 1, 0}, 2, 2, []int{0, 1}); err != nil {
		panic(err)
	}
	if err := b.Offer(0, []float32{2, 0, 0, 0}, 2, 2, []int{2, 3}); err != nil {
		panic(err)
	}
	if err := a.Merge(b); err != nil {
		panic(err)
	}
	for _, e := range a.Sorted(0, 0) {
		fmt.Printf("example %d at (%d, %d): %g\n", e.Example, e.Y, e.X, e.Value)
	}
	// Output:
	// example 0 at (0, 1): 3
	// example 2 at (0, 0): 2
}
