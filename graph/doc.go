// Package graph adds to Gorgonia the operations ZFNet and its deconvnet need
// and that Gorgonia lacks or gets slow or wrong:
//
//   - Conv2d: a fused convolution (im2col + GEMM written straight into NCHW,
//     bias included, parallel over the batch) with its own backward;
//   - ConvTranspose2d: filtering with the transposed weights of a forward
//     convolution, with an explicit output size (the deconvnet's filter step);
//   - Linear: a fully connected layer on the PyTorch (out, in) weight layout;
//   - ReLU, and RecordedReLU which keeps a copy of its output for the
//     deconvnet's guided and saliency modes;
//   - LRN: cross-map local response normalization, PyTorch's convention;
//   - MaxPool: max pooling that records its switches (argmax positions);
//   - Unpool: puts values back at the recorded switches (scatter-add);
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
