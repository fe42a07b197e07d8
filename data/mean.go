package data

import (
	"io"
	"os"
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
	// Normalize is the per-channel transform the inputs went through after
	// the mean (Preprocess.Normalize), kept here so that ToImage can undo
	// it for display; nil for zfnet's own pipeline.
	Normalize *Normalize
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
	mp := &meanPass{src: src, pre: pre, policy: policy, progress: progress, note: newNotifier(pre.Logf), n: n, size: bg.Size()}
	parts := make([]meanPartial, workers)
	var wg sync.WaitGroup
	for w := range parts {
		wg.Add(1)
		go func(pt *meanPartial) {
			defer wg.Done()
			mp.work(pt)
		}(&parts[w])
	}
	wg.Wait()
	if mp.firstErr != nil {
		return nil, nil, mp.firstErr
	}
	m, err := mp.mean(parts, bg)
	return m, mp.skipped, err
}

// meanChunk is how many examples a mean worker claims at a time: the sum
// order inside a chunk is fixed, and float64 sums make the result
// independent of which worker summed what to well below float32 precision.
const meanChunk = 64

// meanPartial is one worker's running sum and example count.
type meanPartial struct {
	sum   []float64
	count int
}

// meanPass is the shared state of ComputeMeanPolicy's workers; mu guards
// next, done, firstErr and skipped.
type meanPass struct {
	src      Source
	pre      Preprocess
	policy   BadFilePolicy
	progress func(done, total int)
	note     *notifier
	n, size  int

	mu       sync.Mutex
	next     int
	done     int
	firstErr error
	skipped  []SkippedFile
}

// claim takes the next chunk of examples; ok is false when there is none
// left or a worker has failed.
func (mp *meanPass) claim() (lo, hi int, ok bool) {
	mp.mu.Lock()
	defer mp.mu.Unlock()
	if mp.firstErr != nil || mp.next >= mp.n {
		return 0, 0, false
	}
	lo = mp.next
	hi = min(mp.n, lo+meanChunk)
	mp.next = hi
	return lo, hi, true
}

// work sums chunks into pt until none is left or a bad file stops the pass.
func (mp *meanPass) work(pt *meanPartial) {
	pt.sum = make([]float64, mp.size)
	var sc scratch
	for {
		lo, hi, ok := mp.claim()
		if !ok {
			return
		}
		for i := lo; i < hi; i++ {
			pix, _, path, err := mp.pre.base(mp.src, i, &sc, mp.note)
			if err != nil {
				if !mp.bad(i, path, err) {
					return
				}
				continue
			}
			for j, v := range pix {
				pt.sum[j] += float64(v)
			}
			pt.count++
		}
		mp.mu.Lock()
		mp.done += hi - lo
		if mp.progress != nil {
			mp.progress(mp.done, mp.n)
		}
		mp.mu.Unlock()
	}
}

// bad records a bad example by the policy: skipped (and the pass goes on:
// true) or the pass's first error (false).
func (mp *meanPass) bad(i int, path string, err error) bool {
	mp.mu.Lock()
	defer mp.mu.Unlock()
	if mp.policy == SkipBad {
		mp.skipped = append(mp.skipped, SkippedFile{Index: i, Path: path, Reason: err.Error()})
		return true
	}
	if mp.firstErr == nil {
		mp.firstErr = err
	}
	return false
}

// mean adds the workers' sums in worker order and divides by the count.
func (mp *meanPass) mean(parts []meanPartial, bg Geometry) (*Mean, error) {
	total := make([]float64, mp.size)
	count := 0
	for _, pt := range parts {
		for j, v := range pt.sum {
			total[j] += v
		}
		count += pt.count
	}
	if count == 0 {
		return nil, errors.Errorf("%s: every example was bad; no mean", mp.src.Name())
	}
	m := &Mean{C: bg.C, H: bg.H, W: bg.W, Pix: make([]float32, mp.size)}
	for j, v := range total {
		m.Pix[j] = float32(v / float64(count))
	}
	return m, nil
}

// WriteNpy writes the mean as a NumPy .npy (version 1.0) float32 array of
// shape (C, H, W), so Python tools can read it too.
func (m *Mean) WriteNpy(w io.Writer) error {
	if len(m.Pix) != m.C*m.H*m.W {
		return errors.Errorf("mean: %d values for shape %dx%dx%d", len(m.Pix), m.C, m.H, m.W)
	}
	return WriteNpyArray(w, []int{m.C, m.H, m.W}, m.Pix)
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

// ReadNpy reads a mean written by WriteNpy (or by numpy.save of a
// little-endian float32 or float64 C-order array of shape (C, H, W)).
// name is used in errors.
func ReadNpy(r io.Reader, name string) (*Mean, error) {
	a, err := ReadNpyArray(r, name)
	if err != nil {
		return nil, err
	}
	if len(a.Shape) != 3 || (a.Shape[0] != 1 && a.Shape[0] != 3) || a.Shape[1] < 1 || a.Shape[2] < 1 ||
		a.Shape[1] > 1<<15 || a.Shape[2] > 1<<15 || len(a.Data) != a.Shape[0]*a.Shape[1]*a.Shape[2] {
		return nil, errors.Errorf("%s: mean image of shape %v; expected (C, H, W) with C 1 or 3", name, a.Shape)
	}
	m := &Mean{C: a.Shape[0], H: a.Shape[1], W: a.Shape[2], Pix: a.Data}
	if err := CheckFinite(name+": mean image", m.Geometry(), m.Pix); err != nil {
		return nil, err
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
