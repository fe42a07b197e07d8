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
package nn
