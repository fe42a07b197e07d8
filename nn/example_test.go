package nn_test

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/zfnet/zfnet/graph"
	"github.com/zfnet/zfnet/nn"
)

// A layer owns its parameters; a Builder binds them into a graph without a
// copy, so writing a parameter's data is what every graph bound to it sees.
func ExampleBuilder() {
	fc := nn.NewLinear("fc1", 2, 2)
	copy(fc.Weight.Data(), []float32{1, 2, -3, -4}) // (out, in), as in PyTorch
	copy(fc.Bias.Data(), []float32{0.5, 1})
	relu := &nn.ReLU{ID: "relu1"}

	b := nn.NewBuilder(false, false, 0) // inference: no dropout, nothing recorded
	x := b.Input("x", 1, 2)
	h, err := fc.Forward(b, x)
	if err != nil {
		fmt.Println(err)
		return
	}
	y, err := relu.Forward(b, h)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := G.Let(x, tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float32{1, 1}))); err != nil {
		fmt.Println(err)
		return
	}
	vm := G.NewTapeMachine(b.G)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		fmt.Println(err)
		return
	}
	logits, _ := graph.LastOutput(h)
	out, _ := graph.LastOutput(y)
	fmt.Println(fc.Weight.Name, logits.Data(), out.Data())
	// Output: fc1.weight [3.5 -6] [3.5 0]
}

// OutShape checks that a layer fits its input before any graph is built.
func ExampleConv2d_OutShape() {
	conv1 := nn.NewConv2d("conv1", 3, 96, 7, 2, 1) // the paper's conv1
	s, err := conv1.OutShape([3]int{3, 224, 224})
	fmt.Println(s, err)
	_, err = conv1.OutShape([3]int{1, 224, 224})
	fmt.Println(err)
	// Output:
	// [96 110 110] <nil>
	// layer conv1: input has 1 channels, expected 3
}
