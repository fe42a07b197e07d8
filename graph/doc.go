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
// The package knows nothing of ZFNet; nn builds layers from these ops.
package graph
