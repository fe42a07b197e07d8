package weights

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/zfnet/zfnet/data/atomicfile"
)

// Array is one named tensor, converted to float32, C order.
type Array struct {
	Shape []int
	Data  []float32
	// DType is the source dtype as read: "float32", "float16", "bfloat16",
	// "float64" (or an integer dtype for an ONNX attribute tensor).
	DType string
}

// Arrays are a file's tensors by name, plus the order they appeared in.
type Arrays struct {
	Names  []string
	ByName map[string]*Array
}

// IntArray is one named integer (or bool) tensor, converted to int64, C
// order: a batch-norm num_batches_tracked, an ONNX Reshape shape.
type IntArray struct {
	Shape []int
	Data  []int64
	// DType is the source dtype: "int64", "int32", "int16", "int8", "uint8",
	// "bool", ...
	DType string
}

// IntArrays are a file's integer tensors by name, in file order.
type IntArrays struct {
	Names  []string
	ByName map[string]*IntArray
}

// File is what a weight file holds: its tensors and, for ONNX, its graph.
type File struct {
	Path   string
	Format string // "npz", "safetensors", "pth", "onnx"
	// Arrays are the floating-point tensors, as float32.
	Arrays Arrays
	// Ints are the integer and bool tensors, which Arrays leaves out
	// (num_batches_tracked in a state_dict, int64 ONNX initializers such as
	// Reshape shapes, integer safetensors/npz entries).
	Ints IntArrays
	// Metadata is the safetensors __metadata__ (string to string); nil for
	// other formats.
	Metadata map[string]string
	// Graph is the ONNX graph; nil for other formats.
	Graph *Graph
}

// Read reads a weight file, telling its format by its first bytes (zip:
// PyTorch or npz by the members inside; the legacy PyTorch pickle magic; the
// safetensors header), then by its extension (.onnx, which has no magic);
// a file with neither is tried as ONNX when it starts like a ModelProto.
func Read(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	f.Close()
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")):
		kind, err := zipKind(path)
		if err != nil {
			return nil, err
		}
		if kind == "pth" {
			return ReadTorch(path)
		}
		return ReadNpz(path)
	case bytes.HasPrefix(head, legacyTorchMagic):
		return ReadTorch(path)
	case len(head) >= 9 && head[8] == '{' && binary.LittleEndian.Uint64(head) >= 2:
		return ReadSafetensors(path)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".onnx":
		return ReadONNX(path)
	case ".safetensors":
		return ReadSafetensors(path)
	case ".npz":
		return ReadNpz(path)
	case ".pth", ".pt", ".bin", ".ckpt", ".tar":
		return ReadTorch(path)
	}
	// A ModelProto starts with ir_version (field 1, varint: tag 0x08)
	// and soon names its producer or graph.
	if len(head) > 0 && head[0] == 0x08 {
		if f, err := ReadONNX(path); err == nil {
			return f, nil
		}
	}
	return nil, fmt.Errorf("%s: not a weight file this package reads (npz, safetensors, PyTorch .pth, ONNX): unknown magic %q and extension", path, head)
}

// legacyTorchMagic starts a pre-1.6 torch.save file: pickle protocol 2,
// LONG1 of 10 bytes (the magic number 0x1950a86a20f9469cfc6c).
var legacyTorchMagic = []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19")

// dtype sizes in bytes, by canonical name.
var dtypeSize = map[string]int{
	"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2,
	"int64": 8, "int32": 4, "int16": 2, "int8": 1,
	"uint64": 8, "uint32": 4, "uint16": 2, "uint8": 1, "bool": 1,
}

func isFloat(dtype string) bool {
	switch dtype {
	case "float64", "float32", "float16", "bfloat16":
		return true
	}
	return false
}

// maxElems bounds a tensor's element count so that count*8 bytes fits in an
// int64 (and so an int on 64-bit platforms).
const maxElems = 1 << 56

// numel is the product of shape, or an error when a dimension is negative or
// the product overflows.
func numel(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d != 0 && n > maxElems/d {
			return 0, fmt.Errorf("shape %v overflows (more than 2^56 elements)", shape)
		}
		n *= d
	}
	if n > maxElems {
		return 0, fmt.Errorf("shape %v overflows (more than 2^56 elements)", shape)
	}
	return n, nil
}

// float16To32 converts IEEE half-precision bits exactly.
func float16To32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalize
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | e<<23 | mant<<13)
	case exp == 0x1f: // inf, NaN (payload kept)
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// decodeFloats converts little-endian raw of a float dtype to float32.
func decodeFloats(dst []float32, raw []byte, dtype string, bigEndian bool) {
	var bo binary.ByteOrder = binary.LittleEndian
	if bigEndian {
		bo = binary.BigEndian
	}
	switch dtype {
	case "float32":
		for i := range dst {
			dst[i] = math.Float32frombits(bo.Uint32(raw[4*i:]))
		}
	case "float64":
		for i := range dst {
			dst[i] = float32(math.Float64frombits(bo.Uint64(raw[8*i:])))
		}
	case "float16":
		for i := range dst {
			dst[i] = float16To32(bo.Uint16(raw[2*i:]))
		}
	case "bfloat16":
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(bo.Uint16(raw[2*i:])) << 16)
		}
	}
}

// decodeInts converts little-endian raw of an integer dtype to int64.
func decodeInts(dst []int64, raw []byte, dtype string, bigEndian bool) {
	var bo binary.ByteOrder = binary.LittleEndian
	if bigEndian {
		bo = binary.BigEndian
	}
	for i := range dst {
		switch dtype {
		case "int64", "uint64":
			dst[i] = int64(bo.Uint64(raw[8*i:]))
		case "int32":
			dst[i] = int64(int32(bo.Uint32(raw[4*i:])))
		case "uint32":
			dst[i] = int64(bo.Uint32(raw[4*i:]))
		case "int16":
			dst[i] = int64(int16(bo.Uint16(raw[2*i:])))
		case "uint16":
			dst[i] = int64(bo.Uint16(raw[2*i:]))
		case "int8":
			dst[i] = int64(int8(raw[i]))
		case "uint8":
			dst[i] = int64(raw[i])
		case "bool":
			if raw[i] != 0 {
				dst[i] = 1
			} else {
				dst[i] = 0
			}
		}
	}
}

// newFile returns an empty File of a format.
func newFile(path, format string) *File {
	return &File{Path: path, Format: format,
		Arrays: Arrays{ByName: map[string]*Array{}},
		Ints:   IntArrays{ByName: map[string]*IntArray{}}}
}

// add stores raw (little-endian unless bigEndian) data of a dtype under name,
// as a float or an integer array. raw must hold exactly numel(shape) values.
func (f *File) add(name, dtype string, shape []int, raw []byte, bigEndian bool) error {
	if f.has(name) {
		return fmt.Errorf("tensor %q appears twice", name)
	}
	n, err := numel(shape)
	if err != nil {
		return err
	}
	size := dtypeSize[dtype]
	if size == 0 {
		return fmt.Errorf("unsupported dtype %s", dtype)
	}
	if len(raw) != n*size {
		return fmt.Errorf("%d bytes of %s data for shape %v, expected %d", len(raw), dtype, shape, n*size)
	}
	if isFloat(dtype) {
		a := &Array{Shape: shape, Data: make([]float32, n), DType: dtype}
		decodeFloats(a.Data, raw, dtype, bigEndian)
		f.addArray(name, a)
		return nil
	}
	a := &IntArray{Shape: shape, Data: make([]int64, n), DType: dtype}
	decodeInts(a.Data, raw, dtype, bigEndian)
	f.addInt(name, a)
	return nil
}

func (f *File) has(name string) bool {
	_, a := f.Arrays.ByName[name]
	_, b := f.Ints.ByName[name]
	return a || b
}

func (f *File) addArray(name string, a *Array) {
	f.Arrays.Names = append(f.Arrays.Names, name)
	f.Arrays.ByName[name] = a
}

func (f *File) addInt(name string, a *IntArray) {
	f.Ints.Names = append(f.Ints.Names, name)
	f.Ints.ByName[name] = a
}

// errPrefix wraps err with the file path unless it already starts with it.
func errPrefix(path string, err error) error {
	if err == nil || strings.HasPrefix(err.Error(), path+":") {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// guard turns a panic in a reader (a bug this package's own checks missed,
// or one in a dependency) into an error naming the file: hostile input must
// never crash the caller.
func guard(path string, file **File, err *error) {
	if r := recover(); r != nil {
		*file = nil
		*err = fmt.Errorf("%s: malformed file (reader panicked: %v)", path, r)
	}
}

// checkArrays validates a before writing: every name present once, shapes
// matching data.
func checkArrays(a Arrays) error {
	seen := map[string]bool{}
	for _, name := range a.Names {
		if seen[name] {
			return fmt.Errorf("name %q appears twice in Names", name)
		}
		seen[name] = true
		arr := a.ByName[name]
		if arr == nil {
			return fmt.Errorf("%q is in Names but not in ByName", name)
		}
		n, err := numel(arr.Shape)
		if err != nil {
			return fmt.Errorf("%q: %v", name, err)
		}
		if n != len(arr.Data) {
			return fmt.Errorf("%q: shape %v holds %d values, Data has %d", name, arr.Shape, n, len(arr.Data))
		}
	}
	if len(seen) != len(a.ByName) {
		for name := range a.ByName {
			if !seen[name] {
				return fmt.Errorf("%q is in ByName but not in Names", name)
			}
		}
	}
	return nil
}

// writeAtomic writes path through atomicfile.Write (a temporary file in the
// same folder, fsync, rename, fsync the folder) with a 1 MiB buffer: a crash
// leaves the old file or the new one, never half of one.
func writeAtomic(path string, fill func(w *bufio.Writer) error) error {
	return atomicfile.Write(path, func(f io.Writer) error {
		w := bufio.NewWriterSize(f, 1<<20)
		if err := fill(w); err != nil {
			return err
		}
		return w.Flush()
	})
}

// errTruncated is returned when a length or count runs past the data.
var errTruncated = errors.New("truncated")
