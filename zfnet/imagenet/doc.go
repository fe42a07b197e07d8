// Package imagenet holds the 1000 class names of ImageNet's ILSVRC-2012
// classification task in the standard class-index order (index 0 "tench",
// 281 "tabby", 999 "toilet tissue"): the order of the synset ids sorted as
// strings, which every published ImageNet network (torchvision, pytorchcv,
// the ONNX model zoo's Caffe-born models) uses for its 1000 logits. The
// names are torchvision's short forms (torchvision/models/_meta.py,
// _IMAGENET_CATEGORIES), written out by gen_classes.sh.
//
// Invariants: Names always returns 1000 names, a fresh slice each call (the
// caller may change it); index i is logit i of every ImageNet network this
// toolkit imports. The list is embedded in the binary: no file is read at
// run time.
package imagenet
