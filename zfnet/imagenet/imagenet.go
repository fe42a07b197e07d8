// Package imagenet holds the 1000 class names of ImageNet's ILSVRC-2012
// classification task in the standard class-index order (index 0 "tench",
// 281 "tabby", 999 "toilet tissue"): the order of the synset ids sorted as
// strings, which every published ImageNet network (torchvision, pytorchcv,
// the ONNX model zoo's Caffe-born models) uses for its 1000 logits. The
// names are torchvision's short forms (torchvision/models/_meta.py,
// _IMAGENET_CATEGORIES), written out by gen_classes.sh.
package imagenet

import (
	_ "embed"
	"strings"
)

//go:embed classes.txt
var classesTxt string

// Classes is the number of ImageNet classes.
const Classes = 1000

// Names returns a fresh copy of the 1000 class names in index order.
func Names() []string {
	names := strings.Split(strings.TrimSuffix(classesTxt, "\n"), "\n")
	if len(names) != Classes {
		panic("imagenet: classes.txt does not hold 1000 names") // the embedded file is part of the build
	}
	return names
}
