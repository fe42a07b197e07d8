package npyfmt

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The dtype descriptions this toolkit writes: little-endian float32,
// int32 and int64.
const (
	Float32 = "<f4"
	Int32   = "<i4"
	Int64   = "<i8"
)

// Header is the format 1.0 header of a C-order array of dtype descr and
// shape. The dict is padded so that magic (6) + version (2) + length (2) +
// dict + '\n' is a multiple of 64 bytes, as numpy pads it.
func Header(descr string, shape []int) ([]byte, error) {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, tuple)
	h += strings.Repeat(" ", (64-(10+len(h)+1)%64)%64) + "\n"
	if len(h) > math.MaxUint16 {
		return nil, fmt.Errorf("npy: shape %v: the header would need %d bytes, format 1.0 holds %d", shape, len(h), math.MaxUint16)
	}
	b := make([]byte, 0, 10+len(h))
	b = append(b, "\x93NUMPY\x01\x00"...)
	b = append(b, byte(len(h)), byte(len(h)>>8))
	return append(b, h...), nil
}
