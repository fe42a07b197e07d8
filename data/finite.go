package data

import (
	"fmt"
	"math"

	"github.com/pkg/errors"
)

// Non-finite values are refused where they enter: a model input batch, a
// custom source's float pixels, a mean image. They cannot be left to the
// network to report: graph's ReLU maps NaN to 0 (a deliberate choice of its
// branch-free select, which keeps x only when 0 <= bits(x)-1 < bits(+Inf)),
// so a NaN pixel would vanish after the first ReLU and give an
// ordinary-looking prediction, where PyTorch's relu would carry the NaN to
// the logits. Checking the inputs makes the difference moot.

// FirstNonFinite is the index of the first NaN or infinite value of x, or -1.
func FirstNonFinite(x []float32) int {
	for i, v := range x {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return i
		}
	}
	return -1
}

// CheckFinite reports the first NaN or infinite value of x, a batch of
// inputs of geometry g in NCHW order (or a single picture), as an error that
// names the input (name) and the position: example (when x holds more than
// one), channel, row, column.
func CheckFinite(name string, g Geometry, x []float32) error {
	i := FirstNonFinite(x)
	if i < 0 {
		return nil
	}
	return errors.Errorf("%s: %v at %s; expected finite values", name, x[i], position(g, i, len(x)))
}

// position formats flat index i of an NCHW buffer of n values of geometry g.
func position(g Geometry, i, n int) string {
	size := g.Size()
	if size <= 0 {
		return fmt.Sprintf("value %d", i)
	}
	ex, r := i/size, i%size
	s := fmt.Sprintf("channel %d, row %d, column %d", r/(g.H*g.W), r%(g.H*g.W)/g.W, r%g.W)
	if n > size {
		s = fmt.Sprintf("example %d, %s", ex, s)
	}
	return s
}
