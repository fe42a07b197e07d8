package data

import (
	"io"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/pkg/errors"
)

// LoaderConfig configures a Loader.
type LoaderConfig struct {
	BatchSize int        // the graph's fixed batch size
	Pre       Preprocess // how pictures become inputs
	Mean      *Mean      // subtracted from every input; nil (or no Pix) subtracts nothing. Must have Pre.BaseGeometry()
	Train     bool       // augment: random crops (and flips when Pre.Flip); otherwise centre crops
	Shuffle   bool       // a fresh order every epoch
	Seed      int64      // all randomness derives from (Seed, epoch, example)
	Workers   int        // decoding goroutines; 0 means GOMAXPROCS
	Prefetch  int        // batches prepared ahead of the consumer; 0 means 2
	Policy    BadFilePolicy
	DropLast  bool // leave out the short last batch instead of padding it
	TenCrop   bool // test only: each example yields the ten crops (see Batch)
}

// Loader streams a source as fixed-size batches of model inputs.
type Loader struct {
	src  Source
	cfg  LoaderConfig
	note *notifier

	mu      sync.Mutex
	skipped map[int]SkippedFile
}

// NewLoader checks the configuration against the source.
func NewLoader(src Source, cfg LoaderConfig) (*Loader, error) {
	if src == nil {
		return nil, errors.New("loader: nil source")
	}
	if cfg.BatchSize < 1 {
		return nil, errors.Errorf("loader %s: batch size %d; expected at least 1", src.Name(), cfg.BatchSize)
	}
	if err := cfg.Pre.Validate(); err != nil {
		return nil, errors.Wrapf(err, "loader %s", src.Name())
	}
	if cfg.Mean != nil && len(cfg.Mean.Pix) > 0 { // a Mean without Pix only says how to display inputs
		if bg := cfg.Pre.BaseGeometry(); cfg.Mean.Geometry() != bg || len(cfg.Mean.Pix) != bg.Size() {
			return nil, errors.Errorf("loader %s: mean image is %v with %d values; expected %v (the preprocessing's base geometry)", src.Name(), cfg.Mean.Geometry(), len(cfg.Mean.Pix), bg)
		}
		// A mean from a checkpoint or a file: a NaN in it would reach every
		// input (see finite.go).
		if err := CheckFinite("loader "+src.Name()+": mean image", cfg.Mean.Geometry(), cfg.Mean.Pix); err != nil {
			return nil, err
		}
	}
	if cfg.TenCrop && cfg.Train {
		return nil, errors.Errorf("loader %s: ten crops are for testing; expected Train false with TenCrop", src.Name())
	}
	if src.Len() == 0 {
		return nil, errors.Errorf("loader %s: the source is empty", src.Name())
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = 2
	}
	return &Loader{src: src, cfg: cfg, note: newNotifier(cfg.Pre.Logf), skipped: map[int]SkippedFile{}}, nil
}

// Source is the loader's source.
func (l *Loader) Source() Source { return l.src }

// Geometry is the shape of one input in a batch.
func (l *Loader) Geometry() Geometry { return l.cfg.Pre.Geometry }

// Crops is 10 with TenCrop, else 1.
func (l *Loader) Crops() int {
	if l.cfg.TenCrop {
		return 10
	}
	return 1
}

// BatchesPerEpoch counts the batches Start delivers for a full epoch
// (batches whose every file was skipped as bad are left out of a stream but
// still counted here, so indices stay stable).
func (l *Loader) BatchesPerEpoch() int {
	n, b := l.src.Len(), l.cfg.BatchSize
	if l.cfg.DropLast {
		return n / b
	}
	return (n + b - 1) / b
}

// Skipped lists the files left out so far (Policy SkipBad), by index.
func (l *Loader) Skipped() []SkippedFile {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]SkippedFile, 0, len(l.skipped))
	for _, s := range l.skipped {
		out = append(out, s)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Index < out[b].Index })
	return out
}

// Batch is one fixed-size batch of model inputs.
//
// X holds Crops*BatchSize inputs of Geometry in NCHW order, each
// x = pixel/255 - mean on the [0,1] scale. With TenCrop the layout is
// crop-major: input k*BatchSize+j is crop k of example j, so Crop(k) is a
// batch of the graph's size and the ten softmax outputs for example j are
// averaged across the ten slices.
//
// Only the first Valid examples are real; the rest pad the fixed batch size
// with copies of earlier ones (including their Labels and Indices), so
// metrics must count only Valid.
type Batch struct {
	X        []float32
	Labels   []int
	Valid    int
	Indices  []int // source index of each example
	Epoch    int
	Index    int // batch number within the epoch
	Crops    int // 1, or 10 with TenCrop
	Geometry Geometry
}

// Crop returns the inputs of crop k (0 <= k < Crops): BatchSize inputs.
func (b *Batch) Crop(k int) []float32 {
	n := len(b.Labels) * b.Geometry.Size()
	return b.X[k*n : (k+1)*n]
}

// Stream delivers the batches of one epoch in order. It is used by one
// goroutine; Close it when done, or let Next reach io.EOF.
type Stream struct {
	l      *Loader
	epoch  int
	order  chan *pending
	jobs   chan job
	quit   chan struct{}
	wg     sync.WaitGroup
	pool   chan []float32
	err    error
	closed bool
}

type pending struct {
	index     int
	batch     *Batch
	rows      int // real rows before dropping bad ones
	errs      []error
	paths     []string
	remaining atomic.Int32
	done      chan struct{}
}

type job struct {
	p   *pending
	row int
}

// Start streams epoch `epoch` beginning at batch `from`, so a run restored
// from a checkpoint continues exactly where it stopped. Worker goroutines
// prepare up to Prefetch batches ahead; memory stays bounded by that many
// batches whatever the source size.
func (l *Loader) Start(epoch, from int) *Stream {
	s := &Stream{
		l:     l,
		epoch: epoch,
		order: make(chan *pending, l.cfg.Prefetch),
		jobs:  make(chan job, l.cfg.BatchSize),
		quit:  make(chan struct{}),
		pool:  make(chan []float32, l.cfg.Prefetch+2),
	}
	if from < 0 {
		s.err = errors.Errorf("loader %s: start at batch %d; expected >= 0", l.src.Name(), from)
		close(s.order)
		return s
	}
	var perm []int
	if l.cfg.Shuffle {
		perm = permutation(l.src.Len(), l.cfg.Seed, epoch)
	}
	s.wg.Add(1 + l.cfg.Workers)
	go s.dispatch(perm, from)
	for w := 0; w < l.cfg.Workers; w++ {
		go s.work()
	}
	return s
}

// dispatch hands out the batches in order; the order channel's capacity is
// what bounds the read-ahead.
func (s *Stream) dispatch(perm []int, from int) {
	defer s.wg.Done()
	defer close(s.jobs)
	defer close(s.order)
	l := s.l
	n, bs := l.src.Len(), l.cfg.BatchSize
	size := l.cfg.Pre.Geometry.Size() * l.Crops()
	for b := from; b < l.BatchesPerEpoch(); b++ {
		lo, hi := b*bs, min(n, (b+1)*bs)
		p := &pending{index: b, rows: hi - lo, errs: make([]error, bs), paths: make([]string, bs), done: make(chan struct{})}
		var x []float32
		select {
		case x = <-s.pool:
		default:
			x = make([]float32, bs*size)
		}
		p.batch = &Batch{X: x, Labels: make([]int, bs), Indices: make([]int, bs), Epoch: s.epoch, Index: b, Crops: l.Crops(), Geometry: l.cfg.Pre.Geometry}
		for r := 0; r < p.rows; r++ {
			i := lo + r
			if perm != nil {
				i = perm[i]
			}
			p.batch.Indices[r] = i
		}
		p.remaining.Store(int32(p.rows))
		select {
		case s.order <- p:
		case <-s.quit:
			return
		}
		for r := 0; r < p.rows; r++ {
			select {
			case s.jobs <- job{p: p, row: r}:
			case <-s.quit:
				return
			}
		}
	}
}

func (s *Stream) work() {
	defer s.wg.Done()
	var sc scratch
	l := s.l
	pre := l.cfg.Pre
	size := pre.Geometry.Size()
	bs := l.cfg.BatchSize
	for j := range s.jobs {
		select {
		case <-s.quit:
			continue // drain quickly
		default:
		}
		p, r := j.p, j.row
		idx := p.batch.Indices[r]
		base, label, path, err := pre.base(l.src, idx, &sc, l.note)
		p.paths[r] = path
		if err != nil {
			p.errs[r] = err
		} else {
			p.batch.Labels[r] = label
			x := p.batch.X
			switch {
			case l.cfg.TenCrop:
				for k, c := range pre.TenCrops() {
					o := (k*bs + r) * size
					pre.ApplyCrop(base, l.cfg.Mean, c, x[o:o+size])
				}
			case l.cfg.Train:
				c := pre.RandomCrop(exampleRand(l.cfg.Seed, s.epoch, idx))
				pre.ApplyCrop(base, l.cfg.Mean, c, x[r*size:(r+1)*size])
			default:
				pre.ApplyCrop(base, l.cfg.Mean, pre.CenterCrop(), x[r*size:(r+1)*size])
			}
		}
		if p.remaining.Add(-1) == 0 {
			close(p.done)
		}
	}
}

// Next returns the next batch, io.EOF after the last one of the epoch, or
// the first bad file's error (Policy FailOnBad), after which the stream is
// finished. The batch belongs to the caller; handing it back with Recycle
// lets the stream reuse its memory.
func (s *Stream) Next() (*Batch, error) {
	for {
		if s.err != nil {
			return nil, s.err
		}
		if s.closed {
			return nil, errors.New("loader: Next on a closed stream")
		}
		var p *pending
		var ok bool
		select {
		case p, ok = <-s.order:
		case <-s.quit:
		}
		if !ok {
			s.err = io.EOF
			return nil, io.EOF
		}
		if p.rows > 0 {
			<-p.done
		}
		b, err := s.finish(p)
		if err != nil {
			s.err = err
			s.Close()
			return nil, err
		}
		if b != nil {
			return b, nil
		}
		// Every file of this batch was bad and skipped: move on.
		s.Recycle(p.batch)
	}
}

// finish applies the bad-file policy and pads the batch to its fixed size.
func (s *Stream) finish(p *pending) (*Batch, error) {
	l := s.l
	b := p.batch
	bs := l.cfg.BatchSize
	valid := 0
	for r := 0; r < p.rows; r++ {
		if err := p.errs[r]; err != nil {
			if l.cfg.Policy != SkipBad {
				return nil, err
			}
			l.mu.Lock()
			l.skipped[b.Indices[r]] = SkippedFile{Index: b.Indices[r], Path: p.paths[r], Reason: err.Error()}
			l.mu.Unlock()
			continue
		}
		if valid != r {
			s.moveRow(b, r, valid)
		}
		valid++
	}
	if valid == 0 {
		return nil, nil
	}
	b.Valid = valid
	for r := valid; r < bs; r++ {
		s.moveRow(b, r%valid, r)
	}
	return b, nil
}

// moveRow copies example row `from` (all its crops) to row `to`.
func (s *Stream) moveRow(b *Batch, from, to int) {
	bs := s.l.cfg.BatchSize
	size := s.l.cfg.Pre.Geometry.Size()
	for k := 0; k < b.Crops; k++ {
		src := (k*bs + from) * size
		dst := (k*bs + to) * size
		copy(b.X[dst:dst+size], b.X[src:src+size])
	}
	b.Labels[to] = b.Labels[from]
	b.Indices[to] = b.Indices[from]
}

// Recycle hands a batch's memory back to the stream for a later batch. The
// batch must not be used afterwards. Optional.
func (s *Stream) Recycle(b *Batch) {
	if b == nil {
		return
	}
	select {
	case s.pool <- b.X:
	default:
	}
}

// Close stops the workers and waits for them. It is safe to call twice.
func (s *Stream) Close() {
	if s.closed {
		return
	}
	s.closed = true
	close(s.quit)
	s.wg.Wait()
}
