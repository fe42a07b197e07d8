package npyfmt_test

import (
	"fmt"

	"github.com/zfnet/zfnet/data/npyfmt"
)

// The header of a 2x3 float32 array: padded to 128 bytes (a multiple of
// 64), the data follows.
func ExampleHeader() {
	h, err := npyfmt.Header(npyfmt.Float32, []int{2, 3})
	fmt.Println(len(h), err)
	fmt.Printf("%q\n", h[10:])
	// Output:
	// 128 <nil>
	// "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }                                                          \n"
}
