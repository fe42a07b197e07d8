package main

import "fmt"

// Every subcommand is a function of its arguments, as from the shell:
// `zfnet arch --arch zfnet-small` prints the layer table (kernel, stride,
// output shape, parameters and multiply-adds of each layer) of an
// architecture, the first thing to look at before training or loading
// weights.
func Example_arch() {
	if err := commands["arch"].run([]string{"--arch", "zfnet-small"}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// zfnet-small: ZFNet's stage structure scaled for 28x28 gray (MNIST) and 32x32 colour (CIFAR) inputs: conv+LRN+pool twice (conv1 keeps ZFNet's 7x7 kernel at stride 1), three convs (the widest in the middle, as variant (b)), pool, three fc
	// preprocessing: zfnet
	//   layer                                     kind  kernel  stride  pad   in  out  output (CxHxW)  params  mult-adds
	//   conv1                         conv 7x7/1 pad 3       7       1    3    1   32        32x28x28    1.6K      1.23M
	//   relu1                                     ReLU       -       -    -   32   32        32x28x28       -          -
	//   norm1  LRN across maps n=5 a=0.0001 b=0.75 k=2       -       -    -   32   32        32x28x28       -          -
	//   pool1                     max pool 3x3/2 pad 1       3       2    1   32   32        32x14x14       -          -
	//   conv2                         conv 3x3/1 pad 1       3       1    1   32   48        48x14x14   13.9K      2.71M
	//   relu2                                     ReLU       -       -    -   48   48        48x14x14       -          -
	//   norm2  LRN across maps n=5 a=0.0001 b=0.75 k=2       -       -    -   48   48        48x14x14       -          -
	//   pool2                     max pool 3x3/2 pad 1       3       2    1   48   48          48x7x7       -          -
	//   conv3                         conv 3x3/1 pad 1       3       1    1   48   64          64x7x7   27.7K      1.35M
	//   relu3                                     ReLU       -       -    -   64   64          64x7x7       -          -
	//   conv4                         conv 3x3/1 pad 1       3       1    1   64   96          96x7x7   55.4K      2.71M
	//   relu4                                     ReLU       -       -    -   96   96          96x7x7       -          -
	//   conv5                         conv 3x3/1 pad 1       3       1    1   96   64          64x7x7   55.4K      2.71M
	//   relu5                                     ReLU       -       -    -   64   64          64x7x7       -          -
	//   pool5                     max pool 3x3/2 pad 0       3       2    0   64   64          64x3x3       -          -
	//     fc6                          fully connected       -       -    -  576  256         256x1x1  147.7K     147.5K
	//   relu6                                     ReLU       -       -    -  256  256         256x1x1       -          -
	//   drop6                            dropout p=0.5       -       -    -  256  256         256x1x1       -          -
	//     fc7                          fully connected       -       -    -  256  256         256x1x1   65.8K      65.5K
	//   relu7                                     ReLU       -       -    -  256  256         256x1x1       -          -
	//   drop7                            dropout p=0.5       -       -    -  256  256         256x1x1       -          -
	//     fc8                          fully connected       -       -    -  256   10          10x1x1    2.6K       2.6K
	//   total                                                                           1x28x28 input  370.0K     10.93M
}
