// Package zfnet is ZFNet (Zeiler & Fergus, "Visualizing and Understanding
// Convolutional Networks", ECCV 2014) as a Gorgonia expression graph.
//
// Architectures are data (arch.go): a table of convolution stages and fully
// connected layers per name, like the paper's Fig. 3. A Model is built from
// an Arch and owns the parameters; a Trainer adds a training graph
// (cross-entropy, gorgonia.Grad, SGD with momentum, weight decay and the
// paper's per-filter RMS renormalization) and a Predictor an inference graph,
// both bound to the same weight tensors. Weights are saved as NumPy .npz
// under PyTorch's state_dict names; checkpoints add what an exact resume
// needs and are written atomically.
package zfnet
