package data

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data/npyfmt"
)

// NumPy .npy (format 1.0) float arrays: the interchange format with NumPy
// and PyTorch for means, weights (.npz is a zip of .npy files) and raw
// projections.

var npyMagic = []byte("\x93NUMPY")

// WriteNpyArray writes v as a little-endian float32 array of the given shape in
// C order.
func WriteNpyArray(w io.Writer, shape []int, v []float32) error {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n != len(v) {
		return errors.Errorf("npy: shape %v holds %d values, got %d", shape, n, len(v))
	}
	header, err := npyfmt.Header(npyfmt.Float32, shape)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(header)
	buf := make([]byte, 4)
	for _, x := range v {
		binary.LittleEndian.PutUint32(buf, math.Float32bits(x))
		bw.Write(buf)
	}
	return errors.Wrap(bw.Flush(), "npy: writing")
}

// NpyHeaderFloat32 is the .npy header of a little-endian float32 array of
// shape: what a file streamed row by row starts with (the rows follow as
// raw little-endian values).
func NpyHeaderFloat32(shape []int) ([]byte, error) { return npyfmt.Header(npyfmt.Float32, shape) }

// NpyHeaderInt64 is the .npy header of a little-endian int64 array of
// shape (class labels).
func NpyHeaderInt64(shape []int) ([]byte, error) { return npyfmt.Header(npyfmt.Int64, shape) }

// Int64Npy encodes v as a whole .npy file of little-endian int64 values
// (class labels, as numpy.save writes them).
func Int64Npy(v []int) ([]byte, error) {
	b, err := NpyHeaderInt64([]int{len(v)})
	if err != nil {
		return nil, err
	}
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(int64(x)))
	}
	return b, nil
}

// NpyArray is a decoded .npy array converted to float32.
type NpyArray struct {
	Shape []int
	// Descr is the stored dtype ('<f4', '<f8', ...), before conversion.
	Descr string
	Data  []float32
}

// ReadNpyArray reads a C-order little-endian float32 or float64 array (float64 is
// converted; Descr says which it was). name labels errors (a file or an
// archive member).
func ReadNpyArray(r io.Reader, name string) (*NpyArray, error) {
	br := bufio.NewReader(r)
	head := make([]byte, 10)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, errors.Wrapf(err, "%s: reading the .npy header", name)
	}
	if string(head[:6]) != string(npyMagic) {
		return nil, errors.Errorf("%s: not a .npy file (magic %q, expected \\x93NUMPY)", name, head[:6])
	}
	var hlen int
	switch head[6] {
	case 1:
		hlen = int(binary.LittleEndian.Uint16(head[8:10]))
	case 2, 3:
		ext := make([]byte, 2)
		if _, err := io.ReadFull(br, ext); err != nil {
			return nil, errors.Wrapf(err, "%s: reading the .npy header", name)
		}
		hlen = int(binary.LittleEndian.Uint32(append(head[8:10:10], ext...)))
	default:
		return nil, errors.Errorf("%s: .npy version %d.%d, expected 1.0, 2.0 or 3.0", name, head[6], head[7])
	}
	if hlen > 1<<20 {
		return nil, errors.Errorf("%s: .npy header of %d bytes is implausible", name, hlen)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(br, hb); err != nil {
		return nil, errors.Wrapf(err, "%s: reading the .npy header", name)
	}
	a, err := parseNpyHeader(string(hb))
	if err != nil {
		return nil, errors.Wrapf(err, "%s", name)
	}
	size := map[string]int{"<f4": 4, "<f8": 8}[a.Descr]
	if a.Descr == "<f2" || a.Descr == "|f2" || a.Descr == "=f2" {
		// Float64 would be read here but not as weights (they must be
		// float32), so the one conversion that works everywhere is named.
		return nil, errors.Errorf("%s: dtype %s (float16); convert to float32 first: numpy a.astype(numpy.float32), PyTorch {k: v.float().numpy() for k, v in model.state_dict().items()}", name, a.Descr)
	}
	if size == 0 {
		return nil, errors.Errorf("%s: dtype %s, expected little-endian float32 ('<f4') or float64 ('<f8')", name, a.Descr)
	}
	n := 1
	for _, d := range a.Shape {
		if d != 0 && n > (1<<31/size)/d { // checked before multiplying: no overflow
			return nil, errors.Errorf("%s: shape %v is too large", name, a.Shape)
		}
		n *= d
	}
	raw := make([]byte, n*size)
	if _, err := io.ReadFull(br, raw); err != nil {
		return nil, errors.Wrapf(err, "%s: shape %v needs %d bytes of data", name, a.Shape, len(raw))
	}
	a.Data = make([]float32, n)
	for i := range a.Data {
		if size == 4 {
			a.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		} else {
			a.Data[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	}
	return a, nil
}

// parseNpyHeader reads the Python dict literal of a .npy header.
func parseNpyHeader(h string) (*NpyArray, error) {
	field := func(key string) (string, error) {
		i := strings.Index(h, "'"+key+"'")
		if i < 0 {
			return "", errors.Errorf(".npy header %q has no %q field", strings.TrimSpace(h), key)
		}
		rest := strings.TrimLeft(h[i+len(key)+2:], " :")
		return rest, nil
	}
	a := &NpyArray{}
	d, err := field("descr")
	if err != nil {
		return nil, err
	}
	if len(d) < 2 || (d[0] != '\'' && d[0] != '"') {
		return nil, errors.Errorf(".npy header: malformed descr in %q", h)
	}
	end := strings.IndexByte(d[1:], d[0])
	if end < 0 {
		return nil, errors.Errorf(".npy header: malformed descr in %q", h)
	}
	a.Descr = d[1 : 1+end]
	if a.Descr == "|f4" || a.Descr == "=f4" {
		a.Descr = "<f4"
	}
	f, err := field("fortran_order")
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(f, "False") {
		return nil, errors.Errorf(".npy header: fortran_order arrays are not supported, expected C order")
	}
	s, err := field("shape")
	if err != nil {
		return nil, err
	}
	if len(s) == 0 || s[0] != '(' || strings.IndexByte(s, ')') < 0 {
		return nil, errors.Errorf(".npy header: malformed shape in %q", h)
	}
	for _, part := range strings.Split(s[1:strings.IndexByte(s, ')')], ",") {
		part = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(part), "L"))
		if part == "" {
			continue
		}
		v, err := strconv.Atoi(part)
		if err != nil || v < 0 {
			return nil, errors.Errorf(".npy header: bad dimension %q in shape", part)
		}
		a.Shape = append(a.Shape, v)
	}
	return a, nil
}
