// Package zfnet is ZFNet (Zeiler & Fergus, "Visualizing and Understanding
// Convolutional Networks", ECCV 2014) as a Gorgonia expression graph.
//
// Architectures are data (arch.go): an ordered list of layers per name
// (layerspec.go), read like torchvision's nn.Sequential, or the paper's
// stage form of convolution stages and fully connected layers. A Model is
// built from
// an Arch and owns the parameters; a Trainer adds a training graph
// (cross-entropy, gorgonia.Grad, SGD with momentum, weight decay and the
// paper's per-filter RMS renormalization) and a Predictor an inference graph,
// both bound to the same weight tensors. Weights are saved as NumPy .npz
// under PyTorch's state_dict names; checkpoints add what an exact resume
// needs and are written atomically.
//
// Import (pretrained.go, onnx.go) reads the weight files people have
// (package weights: .pth, safetensors, ONNX, .npz), recognizes the layout
// from the tensor names (torchvision, pytorchcv, zfnet's own, an ONNX
// graph), and brings the input preprocessing (preset.go) along. Transfer
// (the paper's Section 5.2) starts runs from such weights
// (RunConfig.InitFrom), freezes layers (Freeze: no gradient nodes) and
// scales learning rates (LRScale); FeatureExtractor streams a layer's
// features, and TransferTable and TransferCurve are Table 7 and Fig. 9.
// Ranking (rank.go) follows one rule everywhere: ties to the lower index,
// NaN an error.
package zfnet
