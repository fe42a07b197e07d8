// Package graph adds to Gorgonia the operations ZFNet and its deconvnet need
// and that Gorgonia lacks or gets slow or wrong:
//
//   - Conv2d: a fused convolution (im2col + GEMM written straight into NCHW,
//     bias included, parallel over the batch) with its own backward;
//     GroupedConv2d splits the maps into groups (PyTorch's groups, Caffe
//     AlexNet's group 2), groups = 1 being Conv2d to the bit;
//   - ConvTranspose2d: filtering with the transposed weights of a forward
//     convolution, with an explicit output size (the deconvnet's filter step);
//     GroupedConvTranspose2d for grouped weights;
//   - Linear: a fully connected layer on the PyTorch (out, in) weight layout;
//   - ReLU, and RecordedReLU which keeps a copy of its output for the
//     deconvnet's guided and saliency modes;
//   - LRN: cross-map local response normalization, PyTorch's convention, or
//     within-map (LRNParams.WithinMap: Caffe's WITHIN_CHANNEL, alpha divided
//     by Size^2); LRNBackward, its gradient at a recorded input;
//   - MaxPool: max pooling that records its switches (argmax positions);
//     MaxPoolMode adds PyTorch's ceil_mode (PoolOutputSizeMode);
//   - Unpool: puts values back at the recorded switches (scatter-add);
//   - AvgPool (PyTorch's AvgPool2d: ceil_mode, count_include_pad) and
//     AdaptiveAvgPool (AdaptiveAvgPool2d), with AvgPoolTranspose and
//     AdaptiveAvgPoolTranspose, their input gradients as ops, for the
//     deconvnet;
//   - Mask: multiplies by the sign pattern of a recorded activation;
//   - Dropout: inverted dropout, right for every p, reproducible from a seed;
//   - SoftmaxCrossEntropy: mean cross-entropy against (one-hot) targets.
//
// Every op works on float32 and float64 tensors, implements gorgonia.SDOp so
// that gorgonia.Grad differentiates graphs built from it, and returns errors
// (a NaN in a pooling window, a shape mismatch) instead of panicking inside the
// virtual machine. Finite-difference gradient checks and reference values from
// PyTorch (testdata/) prove the numerics.
//
// # Output buffers
//
// Every op of this package except LRNBackward keeps its output tensor from
// one run of its graph to the next (a ZFNet training step would otherwise
// allocate about 1 GB of activations and gradients). The rules:
//
//   - A node's output buffer belongs to that node's op (Gorgonia gives each
//     node its own op value) and is reused by every run of the graph: the
//     kernels overwrite all of it, so its contents between runs are stale.
//   - LastOutput(n) returns that buffer itself, not a copy: it is valid
//     until the graph runs again, and must not be written. gorgonia.Read
//     copies instead (and is what works for ops that keep no output:
//     KeepsOutput says which).
//   - Switches and Activation are records that a pass writes and a later
//     pass (Unpool, Mask, LRNBackward, the deconvnet) reads; they too are
//     rewritten by the next forward run, so read them before it.
//
// Kernels: the convolutions and linear layers go through an SGEMM (AVX-512
// or AVX2 assembly on amd64, a Go fallback elsewhere; BLAS says which).
// float32 3x3 stride-1 convolutions of at least 128 input and output maps
// (zfnet's and AlexNet's conv3-5) run Winograd forward and backward: F(4x4,
// 3x3) with the points 0, 1, -1, 2, -1/2 (winograd43.go: 2.6 times fewer
// multiply-adds than the direct convolution on 13x13 maps, whose 4x4 blocks
// cover 16x16) on the AVX-512 path where the batch has at least 128 4x4
// output blocks (zfnet's 13x13 layers from batch 8), with AVX-512 transforms
// that gather 16 tiles at a time and filters arranged in the SGEMM's packed
// order, and F(2x2, 3x3) (winograd.go: 1.94 times fewer) on fewer, as in a
// one-image projection, and on the other paths; stride-2 5x5 and 6x6 ones
// (zfnet's conv2) run them on their four polyphase components
// (winograd_stride2.go: 2.4 times fewer with F(4x4, 3x3)), whose tiles the
// F(4x4, 3x3) transforms gather from the input itself. Both stay within 1e-5
// of the float64 direct convolution relative to the output's largest
// magnitude (F(4x4, 3x3) about 5e-6 on 384-1024 maps, F(2x2, 3x3) about
// 1e-6); ZFNET_WINOGRAD=2 or 4 forces one tile size and ZFNET_CONV=direct
// turns them off. A fully connected layer on at most 8 images dots its
// weight rows with the inputs (dot8AVX512) instead of packing them for the
// SGEMM, and 3x3/2 max pooling takes 16 windows at a time (the same switches
// as the Go loop). On small maps (under 256 positions: the 28x28 and 32x32
// networks' conv2-5) several images share one GEMM (conv_batched.go) and a
// stride-1 input gradient is the forward convolution of dy with the flipped,
// transposed filters; stride-1 im2col and col2im copy rows out of a padded
// plane 16 values at a time (im2col_padded.go). ReLU and its mask select in
// AVX-512, and LRN takes scale^-0.75 in float32 (within 2.7e-7 of the exact
// power). Work is split over goroutines by output block, each block summed
// in a fixed order: the same inputs give the same bits whatever the number
// of goroutines.
//
// The package knows nothing of ZFNet; nn builds layers from these ops.
package graph
