package graph_test

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/zfnet/zfnet/graph"
)

// Max pooling records its switches (where each maximum came from), and
// Unpool puts values back at those places: the deconvnet's unpooling step.
// LastOutput reads an op's output in place, valid until the graph runs
// again.
func ExampleUnpool() {
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(1, 1, 4, 4), G.WithName("x"), G.WithValue(tensor.New(
		tensor.WithShape(1, 1, 4, 4), tensor.WithBacking([]float32{
			1, 5, 0, 2,
			3, 4, 8, 1,
			0, 0, 1, 1,
			9, 0, 1, 7,
		}))))
	y, sw, err := graph.MaxPool(x, 2, 2, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	up, err := graph.Unpool(y, sw, 4, 4)
	if err != nil {
		fmt.Println(err)
		return
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		fmt.Println(err)
		return
	}
	pooled, _ := graph.LastOutput(y)
	unpooled, _ := graph.LastOutput(up)
	fmt.Println("pooled:  ", pooled.Data())
	fmt.Println("switches:", sw.Index)
	fmt.Println("unpooled:", unpooled.Data())
	// Output:
	// pooled:   [5 8 9 7]
	// switches: [1 6 12 15]
	// unpooled: [0 5 0 0 0 0 8 0 0 0 0 0 9 0 0 7]
}

// PoolOutputSize is the output side of a pooling or convolution window:
// ZFNet's 3x3 stride-2 pooling of its 110x110 conv1 maps gives 54x54
// (the paper's 55 needs PyTorch's ceil mode, PoolOutputSizeMode).
func ExamplePoolOutputSize() {
	fmt.Println(graph.PoolOutputSize(110, 3, 2, 0), graph.PoolOutputSizeMode(110, 3, 2, 0, true))
	// Output: 54 55
}
