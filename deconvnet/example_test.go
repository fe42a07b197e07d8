package deconvnet_test

import (
	"fmt"

	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/zfnet"
)

// Project one activation of conv2 of an (untrained) zfnet-small back to
// pixels: the projection has the input's shape, and its receptive field
// says which pixels the activation can see.
func Example() {
	m, err := zfnet.NewInitialized("zfnet-small", zfnet.InitHe, 1)
	if err != nil {
		panic(err)
	}
	d, err := deconvnet.New(m, 1)
	if err != nil {
		panic(err)
	}
	defer d.Close()
	x := make([]float32, 1*28*28)
	for i := range x {
		x[i] = float32(i%28) / 28 // a horizontal ramp
	}
	if _, err := d.Forward(x); err != nil {
		panic(err)
	}
	proj, picked, err := d.ProjectTargets("conv2", []deconvnet.Target{{Map: 3, Y: 2, X: 2}}, deconvnet.Options{Rule: deconvnet.Deconvnet})
	if err != nil {
		panic(err)
	}
	f, err := deconvnet.ReceptiveField(m, "conv2", picked[0].Y, picked[0].X)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(proj[0]), picked[0].Map, f.Window, f.Box)
	// Output: 784 3 (-2,-2)-(11,11) (0,0)-(11,11)
}
