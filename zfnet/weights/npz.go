package weights

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/zfnet/zfnet/data/npyfmt"
)

// maxDeflateRatio bounds how much a deflated zip member may claim to expand
// (deflate cannot exceed about 1032:1): a member that claims more is lying,
// and its claimed size is never allocated.
const maxDeflateRatio = 1100

// openZip opens a zip archive and checks that every member's claimed sizes
// are possible for a file of this size.
func openZip(path string) (*zip.ReadCloser, int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		what := "a zip archive (PyTorch .pth and NumPy .npz files are zip archives)"
		if strings.EqualFold(filepath.Ext(path), ".npz") {
			what = "a NumPy .npz (a zip archive of .npy members, as numpy.savez writes)"
		}
		return nil, 0, fmt.Errorf("%s: expected %s: %v", path, what, err)
	}
	return z, st.Size(), nil
}

// readMember reads a whole zip member, refusing sizes the archive cannot
// hold.
func readMember(m *zip.File, fileSize int64) ([]byte, error) {
	if err := checkMemberSize(m, fileSize); err != nil {
		return nil, err
	}
	r, err := m.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	buf := make([]byte, m.UncompressedSize64)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("reading %d bytes: %v", len(buf), err)
	}
	return buf, nil
}

func checkMemberSize(m *zip.File, fileSize int64) error {
	if m.CompressedSize64 > uint64(fileSize) {
		return fmt.Errorf("compressed size %d exceeds the %d-byte file", m.CompressedSize64, fileSize)
	}
	limit := m.CompressedSize64
	if m.Method != zip.Store {
		limit = m.CompressedSize64*maxDeflateRatio + 1024
	}
	if m.UncompressedSize64 > limit || m.UncompressedSize64 > maxElems {
		return fmt.Errorf("claims %d bytes uncompressed from %d compressed, impossible", m.UncompressedSize64, m.CompressedSize64)
	}
	return nil
}

// zipKind tells a PyTorch zip ("pth") from an npz ("npz") by its members.
func zipKind(path string) (string, error) {
	z, err := zip.OpenReader(path)
	if err != nil {
		return "", fmt.Errorf("%s: not a readable zip archive: %v", path, err)
	}
	defer z.Close()
	npy := false
	for _, m := range z.File {
		if m.Name == "data.pkl" || strings.HasSuffix(m.Name, "/data.pkl") {
			return "pth", nil
		}
		npy = npy || strings.HasSuffix(m.Name, ".npy")
	}
	if npy {
		return "npz", nil
	}
	return "", fmt.Errorf("%s: a zip archive with neither data.pkl (PyTorch) nor .npy members (npz)", path)
}

// ReadNpz reads a NumPy .npz archive (numpy.savez or savez_compressed): each
// member NAME.npy becomes tensor NAME, in archive order. dtypes f2, f4, f8
// (either byte order) become Arrays; integer and bool arrays go to
// File.Ints; Fortran-order arrays are transposed to C order. Object arrays
// (which need pickle) are refused.
func ReadNpz(path string) (*File, error) {
	file, _, err := readNpzMembers(path, false)
	return file, err
}

// readNpzMembers reads an .npz's .npy members into a File; the other
// members are kept as raw bytes when keepRaw, refused otherwise.
func readNpzMembers(path string, keepRaw bool) (file *File, raw map[string][]byte, err error) {
	defer guard(path, &file, &err)
	z, size, err := openZip(path)
	if err != nil {
		return nil, nil, err
	}
	defer z.Close()
	file = newFile(path, "npz")
	raw = map[string][]byte{}
	for _, m := range z.File {
		if strings.HasSuffix(m.Name, "/") {
			continue
		}
		name := strings.TrimSuffix(m.Name, ".npy")
		if name == m.Name {
			if !keepRaw {
				return nil, nil, fmt.Errorf("%s: member %q is not a .npy array", path, m.Name)
			}
			if raw[name], err = readMember(m, size); err != nil {
				return nil, nil, fmt.Errorf("%s: member %s: %v", path, m.Name, err)
			}
			continue
		}
		if err := readNpyMember(file, m, size, name); err != nil {
			return nil, nil, fmt.Errorf("%s: member %s: %v", path, m.Name, err)
		}
	}
	return file, raw, nil
}

func readNpyMember(file *File, m *zip.File, fileSize int64, name string) error {
	if err := checkMemberSize(m, fileSize); err != nil {
		return err
	}
	r, err := m.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	br := bufio.NewReader(r)
	h, err := readNpyHeader(br)
	if err != nil {
		return err
	}
	n, err := numel(h.shape)
	if err != nil {
		return err
	}
	size := dtypeSize[h.dtype]
	want := uint64(n) * uint64(size)
	if avail := m.UncompressedSize64 - uint64(h.headerLen); m.UncompressedSize64 < uint64(h.headerLen) || want > avail {
		return fmt.Errorf("shape %v of %s needs %d bytes, the member holds %d after its header", h.shape, h.descr, want, int64(m.UncompressedSize64)-int64(h.headerLen))
	}
	raw := make([]byte, want)
	if _, err := io.ReadFull(br, raw); err != nil {
		return fmt.Errorf("shape %v of %s needs %d bytes of data: %v", h.shape, h.descr, want, err)
	}
	shape := h.shape
	if h.fortran && len(shape) > 1 {
		raw = fortranToC(raw, shape, size)
	}
	return file.add(name, h.dtype, shape, raw, h.bigEndian)
}

// fortranToC reorders column-major raw of element size sz into row-major.
func fortranToC(raw []byte, shape []int, sz int) []byte {
	out := make([]byte, len(raw))
	nd := len(shape)
	fstride := make([]int, nd) // Fortran strides in elements
	s := 1
	for i := 0; i < nd; i++ {
		fstride[i] = s
		s *= shape[i]
	}
	idx := make([]int, nd)
	total := len(raw) / sz
	for c := 0; c < total; c++ {
		f := 0
		for i := 0; i < nd; i++ {
			f += idx[i] * fstride[i]
		}
		copy(out[c*sz:(c+1)*sz], raw[f*sz:(f+1)*sz])
		for i := nd - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

type npyHeader struct {
	descr     string
	dtype     string
	bigEndian bool
	fortran   bool
	shape     []int
	headerLen int // bytes before the data
}

var npyKinds = map[string]string{
	"f2": "float16", "f4": "float32", "f8": "float64",
	"i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64",
	"u1": "uint8", "u2": "uint16", "u4": "uint32", "u8": "uint64", "b1": "bool",
}

func readNpyHeader(r io.Reader) (*npyHeader, error) {
	head := make([]byte, 10)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, fmt.Errorf("reading the .npy header: %v", err)
	}
	if string(head[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("not a .npy array (magic %q)", head[:6])
	}
	var hlen, pre int
	switch head[6] {
	case 1:
		hlen, pre = int(binary.LittleEndian.Uint16(head[8:])), 10
	case 2, 3:
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return nil, fmt.Errorf("reading the .npy header: %v", err)
		}
		hlen, pre = int(binary.LittleEndian.Uint32(append(head[8:10:10], ext[:]...))), 12
	default:
		return nil, fmt.Errorf(".npy version %d.%d, expected 1.0, 2.0 or 3.0", head[6], head[7])
	}
	if hlen > 1<<16 {
		return nil, fmt.Errorf(".npy header of %d bytes is implausible", hlen)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, fmt.Errorf("reading the %d-byte .npy header: %v", hlen, err)
	}
	h, err := parseNpyDict(string(hb))
	if err != nil {
		return nil, err
	}
	h.headerLen = pre + hlen
	return h, nil
}

// parseNpyDict parses the header's Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
func parseNpyDict(s string) (*npyHeader, error) {
	p := &pyLit{s: s}
	h := &npyHeader{}
	got := map[string]bool{}
	if !p.eat('{') {
		return nil, fmt.Errorf(".npy header %q is not a dict", s)
	}
	for {
		if p.eat('}') {
			break
		}
		key, ok := p.str()
		if !ok || !p.eat(':') {
			return nil, fmt.Errorf(".npy header %q: malformed", s)
		}
		got[key] = true
		switch key {
		case "descr":
			d, ok := p.str()
			if !ok {
				return nil, fmt.Errorf(".npy header %q: descr is not a string (structured dtypes are not supported)", s)
			}
			h.descr = d
		case "fortran_order":
			switch {
			case p.word("False"):
			case p.word("True"):
				h.fortran = true
			default:
				return nil, fmt.Errorf(".npy header %q: fortran_order is not True or False", s)
			}
		case "shape":
			if !p.eat('(') {
				return nil, fmt.Errorf(".npy header %q: shape is not a tuple", s)
			}
			for !p.eat(')') {
				v, ok := p.int()
				if !ok {
					return nil, fmt.Errorf(".npy header %q: bad dimension in shape", s)
				}
				h.shape = append(h.shape, v)
				if !p.eat(',') && !p.peek(')') {
					return nil, fmt.Errorf(".npy header %q: malformed shape", s)
				}
				if len(h.shape) > 64 {
					return nil, fmt.Errorf(".npy header: more than 64 dimensions")
				}
			}
		default:
			return nil, fmt.Errorf(".npy header %q: unknown key %q", s, key)
		}
		if !p.eat(',') && !p.peek('}') {
			return nil, fmt.Errorf(".npy header %q: malformed", s)
		}
	}
	if !got["descr"] || !got["fortran_order"] || !got["shape"] {
		return nil, fmt.Errorf(".npy header %q: needs descr, fortran_order and shape", s)
	}
	if len(h.descr) != 3 {
		return nil, fmt.Errorf("unsupported dtype %q (only numeric arrays; object arrays would need pickle)", h.descr)
	}
	h.dtype = npyKinds[h.descr[1:]]
	switch h.descr[0] {
	case '<', '|', '=':
	case '>':
		h.bigEndian = true
	default:
		h.dtype = ""
	}
	if h.dtype == "" {
		return nil, fmt.Errorf("unsupported dtype %q (only numeric arrays; object arrays would need pickle)", h.descr)
	}
	return h, nil
}

// pyLit scans a Python literal.
type pyLit struct {
	s string
	i int
}

func (p *pyLit) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *pyLit) peek(c byte) bool { p.skip(); return p.i < len(p.s) && p.s[p.i] == c }

func (p *pyLit) eat(c byte) bool {
	if p.peek(c) {
		p.i++
		return true
	}
	return false
}

func (p *pyLit) word(w string) bool {
	p.skip()
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

func (p *pyLit) str() (string, bool) {
	p.skip()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", false
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", false
	}
	v := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return v, true
}

func (p *pyLit) int() (int, bool) {
	p.skip()
	j := p.i
	for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
		j++
	}
	v, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
	if err != nil || v > maxElems {
		return 0, false
	}
	p.i = j
	if p.i < len(p.s) && p.s[p.i] == 'L' { // Python 2 long
		p.i++
	}
	return int(v), true
}

// WriteNpz writes a as an uncompressed .npz of little-endian float32 ('<f4')
// arrays in a.Names order, as numpy.savez does, atomically (temp file,
// fsync, rename): WriteArchive's format.
func WriteNpz(path string, a Arrays) error {
	if err := checkArrays(a); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	ms := make([]Member, len(a.Names))
	for i, name := range a.Names {
		arr := a.ByName[name]
		ms[i] = Member{Name: name, Shape: arr.Shape, Data: arr.Data}
	}
	return WriteArchive(path, ms)
}

// writeNpy writes a .npy 1.0 little-endian float32 array (npyfmt's
// header, padded as numpy pads it).
func writeNpy(w io.Writer, shape []int, v []float32) error {
	header, err := npyfmt.Header(npyfmt.Float32, shape)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(header)+4*len(v))
	buf = append(buf, header...)
	for _, x := range v {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
	}
	_, err = w.Write(buf)
	return err
}
