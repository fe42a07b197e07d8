// Package zfnet is ZFNet (Zeiler & Fergus, "Visualizing and Understanding
// Convolutional Networks", ECCV 2014) as a Gorgonia expression graph.
//
// # Models
//
// Architectures are data (arch.go): an ordered list of layers per name
// (layerspec.go), read like torchvision's nn.Sequential, or the paper's
// stage form of convolution stages and fully connected layers. New builds a
// Model from an Arch and checks that every layer fits the one before; the
// Model owns the parameters. A Trainer adds a training graph
// (cross-entropy, gorgonia.Grad, SGD with momentum, weight decay and the
// paper's per-filter RMS renormalization) and a Predictor an inference
// graph, both bound to the same weight tensors.
//
//	m, err := zfnet.NewInitialized("zfnet-small", zfnet.InitHe, 1) // or New + Initialize
//	p, err := zfnet.NewPredictor(m, 64, false)
//	logits, err := p.Logits(x) // x: 64 x C x H x W floats, NCHW
//
// # Training runs
//
// Train runs the paper's recipe on a data set into a run folder (run.go;
// the configuration and its checks in runconfig.go, the fitting of an
// architecture to the data in fit.go and pipeline.go, the epoch loop in
// epochs.go, the files in runfiles.go): checkpoint.npz after every epoch,
// weights.npz, metrics.csv, the training curve, mean.npy, snapshots and
// summary.json. Weights are NumPy .npz under PyTorch's state_dict names
// (package weights writes and reads them).
//
// # Import and transfer
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
//
// # Invariants
//
//   - A Model's layer list is fixed by New: Layers and Shapes return
//     copies, and every graph built from the model relies on that list.
//     Its parameters are shared: loading weights or a Trainer's step
//     changes what every Predictor, Trainer and deconvnet over the model
//     computes from its next run on.
//   - Every weight load (LoadWeights, LoadCheckpoint, LoadModel, Import) is
//     all or nothing: each parameter must be present with its shape (and,
//     for zfnet's own .npz, stored as float32); otherwise the error lists
//     every mismatch and no weight changes.
//   - A Predictor or a Trainer runs one batch at a time: it is not safe for
//     concurrent use. A recording Predictor's Switches and
//     RecordedActivation are those of its latest batch, rewritten by the
//     next.
//   - Files are written atomically (data/atomicfile): a crash leaves the
//     old file or the new one. The same weights always give the same bytes,
//     and a resumed run ends with the bytes of an uninterrupted one.
//   - Train checks everything it can before creating the run folder, and a
//     new run that fails before its first checkpoint removes the folder.
package zfnet
