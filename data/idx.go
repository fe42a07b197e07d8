package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/pkg/errors"
)

// IDX is one parsed IDX file (the format of MNIST and Fashion-MNIST):
// unsigned bytes with a shape. Only the unsigned-byte element type is
// accepted because it is the only one the image data sets use; anything
// else is far more likely a wrong file than a wanted one.
type IDX struct {
	Dims []int
	Data []byte
}

// maxIDXBytes bounds the data one IDX header may announce (1 GiB), so a
// corrupt header cannot make the reader allocate without limit.
const maxIDXBytes = 1 << 30

// ReadIDX parses an IDX stream, gzipped or raw (recognised by the gzip
// magic number). name is used in errors, which say what was expected.
func ReadIDX(r io.Reader, name string) (*IDX, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, errors.Wrapf(err, "%s: corrupt gzip header", name)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, errors.Wrapf(err, "%s: reading IDX magic number (expected 4 bytes 00 00 08 NDIMS)", name)
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, errors.Errorf("%s: IDX magic number %02x %02x %02x %02x; expected 00 00 08 NDIMS", name, hdr[0], hdr[1], hdr[2], hdr[3])
	}
	if hdr[2] != 0x08 {
		return nil, errors.Errorf("%s: IDX element type 0x%02x; expected 0x08 (unsigned byte)", name, hdr[2])
	}
	nd := int(hdr[3])
	if nd < 1 || nd > 4 {
		return nil, errors.Errorf("%s: IDX has %d dimensions; expected 1 to 4", name, nd)
	}
	dims := make([]int, nd)
	total := int64(1)
	for i := range dims {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, errors.Wrapf(err, "%s: reading IDX dimension %d of %d", name, i+1, nd)
		}
		dims[i] = int(d)
		total *= int64(d)
		if total > maxIDXBytes {
			return nil, errors.Errorf("%s: IDX shape %v announces more than %d bytes; expected a smaller file", name, dims[:i+1], maxIDXBytes)
		}
	}
	// Read what is there rather than allocating what the header claims, so a
	// short file costs only its real size before it is rejected.
	data, err := io.ReadAll(io.LimitReader(br, total+1))
	if err != nil {
		return nil, errors.Wrapf(err, "%s: reading IDX data (expected %d bytes for shape %v)", name, total, dims)
	}
	if int64(len(data)) < total {
		return nil, errors.Errorf("%s: IDX data is truncated: %d bytes; expected %d for shape %v", name, len(data), total, dims)
	}
	if int64(len(data)) > total {
		return nil, errors.Errorf("%s: IDX data is longer than shape %v says (%d bytes expected); wrong file or corrupt header", name, dims, total)
	}
	return &IDX{Dims: dims, Data: data}, nil
}

// ReadIDXFile parses the IDX file at path.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Wrapf(err, "%s: opening IDX file", path)
	}
	defer f.Close()
	return ReadIDX(f, path)
}

// idxSource is an IDX image file paired with its IDX label file. The whole
// data set is held as bytes (47 MB for MNIST) and converted per Load.
type idxSource struct {
	name    string
	path    string
	classes []string
	n, h, w int
	pix     []byte
	labels  []byte
}

// NewIDXSource pairs parsed image (N,H,W) and label (N) IDX data, checking
// that counts agree and that every label is below len(classes). The paths
// only label errors and Image.Path.
func NewIDXSource(name string, images *IDX, imagesPath string, labels *IDX, labelsPath string, classes []string) (Source, error) {
	if len(images.Dims) != 3 {
		return nil, errors.Errorf("%s: IDX images have shape %v; expected 3 dimensions (count, rows, columns)", imagesPath, images.Dims)
	}
	if len(labels.Dims) != 1 {
		return nil, errors.Errorf("%s: IDX labels have shape %v; expected 1 dimension (count)", labelsPath, labels.Dims)
	}
	n, h, w := images.Dims[0], images.Dims[1], images.Dims[2]
	if labels.Dims[0] != n {
		return nil, errors.Errorf("%s: %d labels for %d images in %s; expected the same count", labelsPath, labels.Dims[0], n, imagesPath)
	}
	if n > 0 && (h == 0 || w == 0) {
		return nil, errors.Errorf("%s: IDX images of %dx%d pixels; expected at least 1x1", imagesPath, h, w)
	}
	for i, l := range labels.Data {
		if int(l) >= len(classes) {
			return nil, errors.Errorf("%s: label %d of record %d is out of range; expected 0 to %d", labelsPath, l, i, len(classes)-1)
		}
	}
	return &idxSource{name: name, path: imagesPath, classes: classes, n: n, h: h, w: w, pix: images.Data, labels: labels.Data}, nil
}

// OpenIDX reads an image IDX file and a label IDX file (gzipped or raw).
func OpenIDX(name, imagesPath, labelsPath string, classes []string) (Source, error) {
	im, err := ReadIDXFile(imagesPath)
	if err != nil {
		return nil, err
	}
	lb, err := ReadIDXFile(labelsPath)
	if err != nil {
		return nil, err
	}
	return NewIDXSource(name, im, imagesPath, lb, labelsPath, classes)
}

func (s *idxSource) Name() string      { return s.name }
func (s *idxSource) Len() int          { return s.n }
func (s *idxSource) Classes() []string { return s.classes }

func (s *idxSource) Load(i int) (*Image, error) {
	if i < 0 || i >= s.n {
		return nil, errors.Errorf("%s: record %d out of range; expected 0 to %d", s.path, i, s.n-1)
	}
	m := s.h * s.w
	pix := make([]float32, m)
	for j, v := range s.pix[i*m : (i+1)*m] {
		pix[j] = float32(v) * (1.0 / 255)
	}
	return &Image{Pix: pix, C: 1, H: s.h, W: s.w, Label: int(s.labels[i]), Path: fmt.Sprintf("%s#%d", s.path, i)}, nil
}
