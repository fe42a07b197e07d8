package imagenet_test

import (
	"fmt"

	"github.com/zfnet/zfnet/zfnet/imagenet"
)

// Class i of an ImageNet network's 1000 logits is Names()[i].
func ExampleNames() {
	names := imagenet.Names()
	fmt.Println(len(names), names[0], names[281], names[999])
	// Output: 1000 tench tabby toilet tissue
}
