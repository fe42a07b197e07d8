// Package nn turns the ops of package graph into layers: small values that
// own their named parameters and add their nodes to whatever Gorgonia graph
// a Builder is filling. Because parameters are plain tensors bound into each
// graph by a Builder, a training graph, an inference graph and the
// deconvnet's graph all share the same weight memory: a solver step on one is
// seen by the others with no copy.
//
// Layers: Conv2d (with bias), ReLU, LRN, MaxPool (recording switches),
// Dropout, Linear; CrossEntropy is the loss. Parameter names and layouts
// follow PyTorch (conv1.weight is out x in x kh x kw).
//
// # Invariants
//
//   - A Param's tensor is the one memory for that weight: Builder.Bind
//     wraps it in a node of its graph without a copy, once per graph.
//     Writing Param.Data (loading weights, a solver step) is seen by every
//     graph at its next run.
//   - A Builder is for one graph. Train adds dropout (an inference graph
//     leaves it out); Record makes ReLU and LRN layers keep copies of what
//     the deconvnet needs later; InputGrad keeps gradients with respect to
//     Input nodes, which training leaves out.
//   - The Switches, Activations and Dropouts a Builder collects, by layer
//     name, are written by the forward runs of its graph and read by later
//     passes; package zfnet keeps its Builders private and hands out only
//     read access (Predictor.Switches, Predictor.RecordedActivation).
//   - A layer's OutShape checks that it fits its input and says what it
//     outputs, before any graph is built; Forward assumes it fits.
package nn
