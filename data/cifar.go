package data

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"
)

// CIFAR binary records: label byte(s) then 3072 bytes of 32x32 planar RGB
// (1024 red, 1024 green, 1024 blue), which is already the CHW layout.
const (
	cifarSide   = 32
	cifarPixels = 3 * cifarSide * cifarSide
)

// CIFARFormat describes one of the two CIFAR binary layouts.
type CIFARFormat struct {
	LabelBytes int // 1 for CIFAR-10; 2 for CIFAR-100 (coarse, fine)
	LabelIndex int // which label byte is the class: 0 for CIFAR-10, 1 (fine) for CIFAR-100
	NumClasses int // 10 or 100
}

// The two standard layouts.
var (
	CIFAR10Format  = CIFARFormat{LabelBytes: 1, LabelIndex: 0, NumClasses: 10}
	CIFAR100Format = CIFARFormat{LabelBytes: 2, LabelIndex: 1, NumClasses: 100}
)

// RecordSize is the byte size of one record.
func (f CIFARFormat) RecordSize() int { return f.LabelBytes + cifarPixels }

// CIFARBatch is one parsed binary batch file.
type CIFARBatch struct {
	Labels []uint8
	Pix    []byte // len(Labels) * 3072, planar RGB per record
}

// ParseCIFAR parses the bytes of one CIFAR binary batch file. name is used
// in errors, which say what was expected.
func ParseCIFAR(data []byte, name string, f CIFARFormat) (*CIFARBatch, error) {
	if f.LabelBytes < 1 || f.LabelIndex < 0 || f.LabelIndex >= f.LabelBytes || f.NumClasses < 1 || f.NumClasses > 256 {
		return nil, errors.Errorf("%s: invalid CIFAR format %+v", name, f)
	}
	rs := f.RecordSize()
	if len(data) == 0 {
		return nil, errors.Errorf("%s: empty CIFAR batch file; expected records of %d bytes", name, rs)
	}
	if len(data)%rs != 0 {
		return nil, errors.Errorf("%s: CIFAR file of %d bytes is not a whole number of %d-byte records (%d label byte(s) + %d pixels); truncated, or CIFAR-10 vs CIFAR-100 mixed up", name, len(data), rs, f.LabelBytes, cifarPixels)
	}
	n := len(data) / rs
	b := &CIFARBatch{Labels: make([]uint8, n), Pix: make([]byte, n*cifarPixels)}
	for i := 0; i < n; i++ {
		rec := data[i*rs : (i+1)*rs]
		l := rec[f.LabelIndex]
		if int(l) >= f.NumClasses {
			return nil, errors.Errorf("%s: record %d has label %d; expected 0 to %d", name, i, l, f.NumClasses-1)
		}
		b.Labels[i] = l
		copy(b.Pix[i*cifarPixels:], rec[f.LabelBytes:])
	}
	return b, nil
}

// cifarSource holds CIFAR records in memory (180 MB at most for the whole
// data set as bytes) and converts one per Load.
type cifarSource struct {
	name    string
	classes []string
	files   []string // file of each batch, for Image.Path
	starts  []int    // first record index of each batch
	labels  []uint8
	pix     []byte
}

// OpenCIFAR reads the given batch files as one source.
func OpenCIFAR(name string, files []string, f CIFARFormat, classes []string) (Source, error) {
	if len(classes) != f.NumClasses {
		return nil, errors.Errorf("%s: %d class names for a %d-class CIFAR format", name, len(classes), f.NumClasses)
	}
	s := &cifarSource{name: name, classes: classes}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, errors.Wrapf(err, "%s: reading CIFAR batch file", p)
		}
		b, err := ParseCIFAR(data, p, f)
		if err != nil {
			return nil, err
		}
		s.files = append(s.files, p)
		s.starts = append(s.starts, len(s.labels))
		s.labels = append(s.labels, b.Labels...)
		s.pix = append(s.pix, b.Pix...)
	}
	return s, nil
}

func (s *cifarSource) Name() string      { return s.name }
func (s *cifarSource) Len() int          { return len(s.labels) }
func (s *cifarSource) Classes() []string { return s.classes }

func (s *cifarSource) Load(i int) (*Image, error) {
	if i < 0 || i >= len(s.labels) {
		return nil, errors.Errorf("%s: record %d out of range; expected 0 to %d", s.name, i, len(s.labels)-1)
	}
	pix := make([]float32, cifarPixels)
	for j, v := range s.pix[i*cifarPixels : (i+1)*cifarPixels] {
		pix[j] = float32(v) * (1.0 / 255)
	}
	fi := 0
	for fi+1 < len(s.starts) && s.starts[fi+1] <= i {
		fi++
	}
	return &Image{Pix: pix, C: 3, H: cifarSide, W: cifarSide, Label: int(s.labels[i]), Path: fmt.Sprintf("%s#%d", s.files[fi], i-s.starts[fi])}, nil
}

// Standard CIFAR class names, used when the meta file is missing.
var cifar10Classes = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// cifarDir finds the folder holding the batch files: DIR itself or the
// folder the official archive unpacks to.
func cifarDir(dir string, probe string, sub string) (string, error) {
	for _, d := range []string{dir, filepath.Join(dir, sub)} {
		if _, err := os.Stat(filepath.Join(d, probe)); err == nil {
			return d, nil
		}
	}
	if _, err := os.Stat(dir); err != nil {
		return "", errors.Wrapf(err, "%s: CIFAR folder", dir)
	}
	return "", errors.Errorf("%s: no %s here or in %s/; expected the CIFAR binary version (the *-binary.tar.gz archive, unpacked)", dir, probe, sub)
}

// readNames reads one class name per line (batches.meta.txt,
// fine_label_names.txt), ignoring blank lines.
func readNames(path string, want int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			names = append(names, t)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, errors.Wrapf(err, "%s: reading class names", path)
	}
	if len(names) != want {
		return nil, errors.Errorf("%s: %d class names; expected %d", path, len(names), want)
	}
	return names, nil
}

// openCIFAR10 opens DIR (or DIR/cifar-10-batches-bin) as train and test.
func openCIFAR10(dir string) (train, test Source, classes []string, err error) {
	d, err := cifarDir(dir, "data_batch_1.bin", "cifar-10-batches-bin")
	if err != nil {
		return nil, nil, nil, err
	}
	classes, err = readNames(filepath.Join(d, "batches.meta.txt"), 10)
	if os.IsNotExist(errors.Cause(err)) {
		classes, err = cifar10Classes, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	var files []string
	for i := 1; i <= 5; i++ {
		files = append(files, filepath.Join(d, fmt.Sprintf("data_batch_%d.bin", i)))
	}
	if train, err = OpenCIFAR("cifar10/train", files, CIFAR10Format, classes); err != nil {
		return nil, nil, nil, err
	}
	if test, err = OpenCIFAR("cifar10/test", []string{filepath.Join(d, "test_batch.bin")}, CIFAR10Format, classes); err != nil {
		return nil, nil, nil, err
	}
	return train, test, classes, nil
}

// openCIFAR100 opens DIR (or DIR/cifar-100-binary) with the 100 fine labels.
func openCIFAR100(dir string) (train, test Source, classes []string, err error) {
	d, err := cifarDir(dir, "train.bin", "cifar-100-binary")
	if err != nil {
		return nil, nil, nil, err
	}
	classes, err = readNames(filepath.Join(d, "fine_label_names.txt"), 100)
	if os.IsNotExist(errors.Cause(err)) {
		// Without the names file the classes are still well defined by index.
		classes, err = make([]string, 100), nil
		for i := range classes {
			classes[i] = fmt.Sprint(i)
		}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if train, err = OpenCIFAR("cifar100/train", []string{filepath.Join(d, "train.bin")}, CIFAR100Format, classes); err != nil {
		return nil, nil, nil, err
	}
	if test, err = OpenCIFAR("cifar100/test", []string{filepath.Join(d, "test.bin")}, CIFAR100Format, classes); err != nil {
		return nil, nil, nil, err
	}
	return train, test, classes, nil
}
