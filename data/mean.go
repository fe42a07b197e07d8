package data

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/pkg/errors"
)

// Mean is the per-pixel mean image of a training set on the [0,1] scale, in
// the base geometry of its Preprocess (3x256x256 for ImageNet). The paper
// subtracts it from every input, and it must be stored with the model:
// SaveNpy writes it as a NumPy float32 array of shape (C, H, W).
type Mean struct {
	C, H, W int
	Pix     []float32
}

// Geometry is the mean's shape.
func (m *Mean) Geometry() Geometry { return Geometry{C: m.C, H: m.H, W: m.W} }

// ComputeMean averages the base pictures (see Preprocess.BaseGeometry) of
// every example of src, streaming: workers decode in parallel and each keeps
// only a running float64 sum. progress, if not nil, is called from one
// goroutine at a time with the number of examples done. It fails on the
// first bad file; see ComputeMeanPolicy to skip them.
func ComputeMean(src Source, pre Preprocess, workers int, progress func(done, total int)) (*Mean, error) {
	m, _, err := ComputeMeanPolicy(src, pre, workers, FailOnBad, progress)
	return m, err
}

// ComputeMeanPolicy is ComputeMean with a bad-file policy; with SkipBad it
// returns the skipped files, which the mean leaves out.
func ComputeMeanPolicy(src Source, pre Preprocess, workers int, policy BadFilePolicy, progress func(done, total int)) (*Mean, []SkippedFile, error) {
	if err := pre.Validate(); err != nil {
		return nil, nil, err
	}
	n := src.Len()
	if n == 0 {
		return nil, nil, errors.Errorf("%s: no examples to average", src.Name())
	}
	if workers < 1 {
		workers = 1
	}
	bg := pre.BaseGeometry()
	size := bg.Size()
	note := newNotifier(pre.Logf)

	type partial struct {
		sum   []float64
		count int
	}
	var (
		mu      sync.Mutex
		next    int
		done    int
		firstEr error
		skipped []SkippedFile
	)
	// Workers claim small chunks of indices so the sum order inside a chunk
	// is fixed; float64 sums make the result independent of which worker
	// summed what to well below float32 precision.
	const chunk = 64
	parts := make([]partial, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(pt *partial) {
			defer wg.Done()
			pt.sum = make([]float64, size)
			var sc scratch
			for {
				mu.Lock()
				if firstEr != nil || next >= n {
					mu.Unlock()
					return
				}
				lo := next
				hi := min(n, lo+chunk)
				next = hi
				mu.Unlock()
				for i := lo; i < hi; i++ {
					pix, _, path, err := pre.base(src, i, &sc, note)
					if err != nil {
						mu.Lock()
						if policy == SkipBad {
							skipped = append(skipped, SkippedFile{Index: i, Path: path, Reason: err.Error()})
						} else if firstEr == nil {
							firstEr = err
						}
						mu.Unlock()
						if policy != SkipBad {
							return
						}
						continue
					}
					for j, v := range pix {
						pt.sum[j] += float64(v)
					}
					pt.count++
				}
				mu.Lock()
				done += hi - lo
				if progress != nil {
					progress(done, n)
				}
				mu.Unlock()
			}
		}(&parts[w])
	}
	wg.Wait()
	if firstEr != nil {
		return nil, nil, firstEr
	}
	total := make([]float64, size)
	count := 0
	for _, pt := range parts {
		for j, v := range pt.sum {
			total[j] += v
		}
		count += pt.count
	}
	if count == 0 {
		return nil, skipped, errors.Errorf("%s: every example was bad; no mean", src.Name())
	}
	m := &Mean{C: bg.C, H: bg.H, W: bg.W, Pix: make([]float32, size)}
	for j, v := range total {
		m.Pix[j] = float32(v / float64(count))
	}
	return m, skipped, nil
}

// WriteNpy writes the mean as a NumPy .npy (version 1.0) float32 array of
// shape (C, H, W), so Python tools can read it too.
func (m *Mean) WriteNpy(w io.Writer) error {
	if len(m.Pix) != m.C*m.H*m.W {
		return errors.Errorf("mean: %d values for shape %dx%dx%d", len(m.Pix), m.C, m.H, m.W)
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d), }", m.C, m.H, m.W)
	// The format pads the header with spaces and a newline so the data
	// starts on a 64-byte boundary.
	total := 10 + len(header) + 1
	pad := (64 - total%64) % 64
	header += strings.Repeat(" ", pad) + "\n"
	bw := bufio.NewWriter(w)
	bw.WriteString("\x93NUMPY")
	bw.Write([]byte{1, 0})
	binary.Write(bw, binary.LittleEndian, uint16(len(header)))
	bw.WriteString(header)
	buf := make([]byte, 4*len(m.Pix))
	for i, v := range m.Pix {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	bw.Write(buf)
	return bw.Flush()
}

// SaveNpy writes the mean to path (see WriteNpy).
func (m *Mean) SaveNpy(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return errors.Wrapf(err, "%s: saving mean", path)
	}
	if err := m.WriteNpy(f); err != nil {
		f.Close()
		return errors.Wrapf(err, "%s: saving mean", path)
	}
	return errors.Wrapf(f.Close(), "%s: saving mean", path)
}

var (
	npyDescr = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	npyOrder = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	npyShape = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// ReadNpy reads a mean written by WriteNpy (or by numpy.save of a
// little-endian float32 or float64 C-order array of shape (C, H, W)).
// name is used in errors.
func ReadNpy(r io.Reader, name string) (*Mean, error) {
	br := bufio.NewReader(r)
	var pre [8]byte
	if _, err := io.ReadFull(br, pre[:]); err != nil {
		return nil, errors.Wrapf(err, "%s: reading .npy magic", name)
	}
	if string(pre[:6]) != "\x93NUMPY" {
		return nil, errors.Errorf("%s: not a .npy file (expected magic \\x93NUMPY)", name)
	}
	var hlen int
	switch pre[6] {
	case 1:
		var l uint16
		if err := binary.Read(br, binary.LittleEndian, &l); err != nil {
			return nil, errors.Wrapf(err, "%s: reading .npy header length", name)
		}
		hlen = int(l)
	case 2, 3:
		var l uint32
		if err := binary.Read(br, binary.LittleEndian, &l); err != nil {
			return nil, errors.Wrapf(err, "%s: reading .npy header length", name)
		}
		if l > 1<<20 {
			return nil, errors.Errorf("%s: .npy header of %d bytes; expected a small header", name, l)
		}
		hlen = int(l)
	default:
		return nil, errors.Errorf("%s: .npy version %d.%d; expected 1.0 to 3.0", name, pre[6], pre[7])
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return nil, errors.Wrapf(err, "%s: reading .npy header", name)
	}
	h := string(hdr)
	d := npyDescr.FindStringSubmatch(h)
	o := npyOrder.FindStringSubmatch(h)
	s := npyShape.FindStringSubmatch(h)
	if d == nil || o == nil || s == nil {
		return nil, errors.Errorf("%s: .npy header %q lacks descr, fortran_order or shape", name, strings.TrimSpace(h))
	}
	if o[1] != "False" {
		return nil, errors.Errorf("%s: Fortran-order .npy; expected C order", name)
	}
	var dims []int
	for _, f := range strings.Split(s[1], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 || v > 1<<16 {
			return nil, errors.Errorf("%s: .npy shape (%s); expected (C, H, W) with positive sizes", name, s[1])
		}
		dims = append(dims, v)
	}
	if len(dims) != 3 || (dims[0] != 1 && dims[0] != 3) {
		return nil, errors.Errorf("%s: .npy shape (%s); expected (C, H, W) with C 1 or 3", name, s[1])
	}
	m := &Mean{C: dims[0], H: dims[1], W: dims[2]}
	n := m.C * m.H * m.W
	var width int
	switch d[1] {
	case "<f4":
		width = 4
	case "<f8":
		width = 8
	default:
		return nil, errors.Errorf("%s: .npy dtype %s; expected <f4 (float32) or <f8", name, d[1])
	}
	buf := make([]byte, n*width)
	if _, err := io.ReadFull(br, buf); err != nil {
		return nil, errors.Wrapf(err, "%s: .npy data truncated (expected %d values)", name, n)
	}
	m.Pix = make([]float32, n)
	for i := range m.Pix {
		if width == 4 {
			m.Pix[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		} else {
			m.Pix[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(buf[8*i:])))
		}
	}
	return m, nil
}

// LoadNpy reads a mean from path (see ReadNpy).
func LoadNpy(path string) (*Mean, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Wrapf(err, "%s: loading mean", path)
	}
	defer f.Close()
	return ReadNpy(f, path)
}
