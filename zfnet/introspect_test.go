package zfnet_test

import (
	"fmt"

	"github.com/zfnet/zfnet/zfnet"
)

// The layers the paper names by role, found in the layer list: layer 5
// (the top convolution and its pooled output), layer 7 and the logits,
// and the layer-1 filters.
func ExampleModel_TopConvLayer() {
	a, err := zfnet.LookupArch("zfnet-small")
	if err != nil {
		panic(err)
	}
	m, err := zfnet.New(a)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.TopConvLayer(), m.TopConvOutput(), m.PenultimateLayer(), m.LogitsLayer())
	w, err := m.FirstFilters()
	if err != nil {
		panic(err)
	}
	fmt.Println(w.Name, []int(w.Value.Shape()))
	// Output:
	// conv5 pool5 fc7 fc8
	// conv1.weight [32 1 7 7]
}
