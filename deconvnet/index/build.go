package index

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/data/atomicfile"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/nn"
	"github.com/zfnet/zfnet/zfnet"
)

// Options configures Build.
type Options struct {
	Layers []string // conv1, ..., fc7, pool5, ...: what the deconvnet calls layers
	K      int      // places per unit (1 to MaxK)
	Mode   Mode
	// Shard, Shards: build shard Shard (0-based) of Shards (0 means 1):
	// a contiguous run of whole batches (see ShardRange).
	Shard, Shards int
	// Checkpoint is the file the selection state is saved to every Every
	// examples (rounded up to whole batches) and when ctx is cancelled; a
	// build finding a checkpoint of the same index continues from it.
	// Empty: no checkpoints.
	Checkpoint string
	Every      int
	// Fingerprint identifies the model and its inputs (Fingerprint()).
	Fingerprint string
	// Progress, if not nil, hears after every batch.
	Progress func(Progress)
	// afterBatch is a test hook: called with the batches done after each
	// batch's selection (and its checkpoint, if one was due).
	afterBatch func(batches int)
}

// Progress reports a running build.
type Progress struct {
	Done, Total  int // examples of this shard
	Resumed      int // examples restored from a checkpoint
	ImagesPerSec float64
	ETA          time.Duration
	Elapsed      time.Duration
}

// ShardRange is the examples [from, to) of shard i of n over a source of
// examples streamed in batches of batch: shard i takes batches
// floor(i*B/n) to floor((i+1)*B/n) of the B batches, so every example sits
// in the same batch, at the same row, as in the unsharded build, and its
// activations are the same bits.
func ShardRange(examples, batch, i, n int) (from, to int, err error) {
	if n < 1 || i < 0 || i >= n {
		return 0, 0, errors.Errorf("shard %d/%d; expected 0 <= i < n", i, n)
	}
	nb := (examples + batch - 1) / batch
	if n > nb {
		return 0, 0, errors.Errorf("shard %d/%d: %d examples make only %d batches of %d, fewer than %d shards", i, n, examples, nb, batch, n)
	}
	lo, hi := i*nb/n, (i+1)*nb/n
	return lo * batch, min(hi*batch, examples), nil
}

// Fingerprint identifies a model with its input pipeline: a SHA-256 over
// the architecture's name and input, every parameter (name, shape, bits),
// the preprocessing and the mean. Indexes with equal fingerprints were
// computed from the same activations.
func Fingerprint(m *zfnet.Model, pre data.Preprocess, mean *data.Mean) string {
	h := sha256.New()
	fmt.Fprintf(h, "arch %s %v\n", m.Arch.Name, m.Arch.Input)
	for _, p := range m.Params() {
		fmt.Fprintf(h, "param %s %v\n", p.Name, p.Value.Shape())
		binary.Write(h, binary.LittleEndian, p.Value.Data())
	}
	fmt.Fprintf(h, "pre %v %v %d %d %v %v\n", pre.Kind, pre.Geometry, pre.Resize, pre.PadCrop, pre.Flip, pre.Filter)
	if pre.Normalize != nil {
		fmt.Fprintf(h, "normalize %+v\n", *pre.Normalize)
	}
	if mean != nil && len(mean.Pix) > 0 {
		fmt.Fprintf(h, "mean %d %d %d\n", mean.C, mean.H, mean.W)
		binary.Write(h, binary.LittleEndian, mean.Pix)
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil))
}

// Layers describes the named layers of d's model as the index records them.
func Layers(m *zfnet.Model, names []string) ([]Layer, error) {
	if len(names) == 0 {
		return nil, errors.New("index: no layers")
	}
	var out []Layer
	seen := map[string]bool{}
	for _, name := range names {
		if _, i := m.Layer(name); i < 0 {
			all := make([]string, m.NumLayers())
			for j, l := range m.Layers() {
				all[j] = l.Name()
			}
			return nil, errors.Errorf("index: %s has no layer %q (layers: %s)", m.Arch.Name, name, strings.Join(all, ", "))
		}
		if seen[name] {
			return nil, errors.Errorf("index: layer %s named twice", name)
		}
		seen[name] = true
		output, err := deconvnet.Resolve(m, name)
		if err != nil {
			return nil, err
		}
		_, i := m.Layer(output)
		s := m.Shape(i)
		field, err := deconvnet.FieldSize(m, output)
		if err != nil {
			return nil, err
		}
		out = append(out, Layer{Name: name, Output: output, Units: s[0], Height: max(s[1], 1), Width: max(s[2], 1), Field: field})
	}
	return out, nil
}

// NewHeader is the header of an index of src through d's model.
func NewHeader(m *zfnet.Model, src data.Source, batch int, opt Options) (Header, error) {
	if err := opt.Mode.Validate(); err != nil {
		return Header{}, err
	}
	if opt.K < 1 || opt.K > MaxK {
		return Header{}, errors.Errorf("index: k = %d; expected 1 to %d", opt.K, MaxK)
	}
	layers, err := Layers(m, opt.Layers)
	if err != nil {
		return Header{}, err
	}
	return Header{Format: Format, Version: Version, Arch: m.Arch.Name, Fingerprint: opt.Fingerprint,
		Source: src.Name(), Examples: src.Len(), Batch: batch, Mode: opt.Mode, K: opt.K, Layers: layers}, nil
}

// Build streams the shard's examples of src through d once and keeps every
// unit's K best activations. cfg is the loader configuration (the model's
// preprocessing and mean); its batch size becomes d's, and augmentation,
// shuffling and ten crops are turned off. Memory is the selection (layers
// x units x K entries) plus a few batches, whatever the source's size.
// Cancelling ctx saves a checkpoint (when configured) and returns ctx's
// error.
func Build(ctx context.Context, d *deconvnet.Net, src data.Source, cfg data.LoaderConfig, opt Options) (*Index, error) {
	if d == nil || src == nil {
		return nil, errors.New("index: nil network or source")
	}
	if opt.Shards == 0 {
		opt.Shards = 1
	}
	cfg.BatchSize, cfg.Train, cfg.Shuffle, cfg.TenCrop, cfg.DropLast = d.Batch, false, false, false, false
	g := cfg.Pre.Geometry
	if in := d.Model.Arch.Input; g.C != in[0] || g.H != in[1] || g.W != in[2] {
		return nil, errors.Errorf("index: the preprocessing makes %v inputs, %s expects %dx%dx%d", g, d.Model.Arch.Name, in[0], in[1], in[2])
	}
	b, err := newBuilder(d, src, opt)
	if err != nil {
		return nil, err
	}
	sub := src
	if b.shard.From != 0 || b.shard.To != src.Len() {
		idx := make([]int, b.shard.To-b.shard.From)
		for i := range idx {
			idx[i] = b.shard.From + i
		}
		sub = data.Subset(src, fmt.Sprintf("%s[%d:%d]", src.Name(), b.shard.From, b.shard.To), idx)
	}
	loader, err := data.NewLoader(sub, cfg)
	if err != nil {
		return nil, errors.Wrap(err, "index")
	}
	// The scan reads layer outputs only: a plain forward pass without the
	// deconvnet's records (a copy of every ReLU output) costs less, and
	// gives the same activations, bit for bit.
	if b.fwd, err = zfnet.NewOutputPredictor(d.Model, d.Batch); err != nil {
		return nil, errors.Wrap(err, "index")
	}
	defer b.fwd.Close()
	return b.run(ctx, loader)
}

// builder is one Build: the header, the shard, the selection so far and
// the checkpoint and progress bookkeeping.
type builder struct {
	d     *deconvnet.Net
	fwd   *zfnet.Predictor // the scan's forward pass (layer outputs, no records)
	src   data.Source
	opt   Options
	h     Header
	shard Shard
	sel   *Selector
	// next is the first batch of the shard to run (after a checkpoint);
	// every the checkpoint interval in batches (0: none); lastSaved the
	// batches the latest checkpoint covers; selected the batches the
	// selector has seen.
	next, every, lastSaved, selected int
	total, resumed                   int // examples of the shard; already done at the start
	start                            time.Time
}

// newBuilder makes the header and the selection, continuing from
// opt.Checkpoint when it holds this build's.
func newBuilder(d *deconvnet.Net, src data.Source, opt Options) (*builder, error) {
	bs := d.Batch
	h, err := NewHeader(d.Model, src, bs, opt)
	if err != nil {
		return nil, err
	}
	from, to, err := ShardRange(src.Len(), bs, opt.Shard, opt.Shards)
	if err != nil {
		return nil, errors.Wrap(err, "index")
	}
	b := &builder{d: d, src: src, opt: opt, h: h, shard: Shard{Index: opt.Shard, Count: opt.Shards, From: from, To: to}, total: to - from}
	units := make([]int, len(h.Layers))
	for i, l := range h.Layers {
		units[i] = l.Units
	}
	if b.sel, err = NewSelector(opt.Mode, opt.K, units); err != nil {
		return nil, err
	}
	if opt.Checkpoint != "" {
		s, n, err := readCheckpoint(opt.Checkpoint, h, b.shard)
		if err != nil {
			return nil, err
		}
		if s != nil {
			b.sel, b.next = s, n
		}
	}
	b.resumed, b.lastSaved, b.selected = min(b.next*bs, b.total), b.next, b.next
	if opt.Every > 0 {
		b.every = (opt.Every + bs - 1) / bs
	}
	return b, nil
}

// run streams the shard: each batch runs forward, then the selector reads
// the layers' outputs where the forward pass left them (no copy), its
// units split over the cores; then the batch is checkpointed and reported.
// The loader's workers decode the next batches meanwhile. (An earlier
// version selected in a second goroutine on a copy of the activations,
// overlapping the next forward pass; with the forward pass already on
// every core, that goroutine stalled it, and the copy cost as much as it
// hid: 0.78-0.97 of a bare forward pass's throughput, median 0.86,
// against 0.79-1.00, median 0.9, now; BENCHMARKS.md.) Cancelling ctx
// checkpoints what was selected.
func (b *builder) run(ctx context.Context, loader *data.Loader) (*Index, error) {
	b.start = time.Now()
	st := loader.Start(0, b.next)
	defer st.Close()
	for bi := b.next; ; bi++ {
		if err := ctx.Err(); err != nil {
			// Cancelled (an interrupt): keep what was selected, with the
			// number of batches it covers, so a resumed build counts none twice.
			if serr := b.save(b.selected); serr != nil {
				return nil, serr
			}
			return nil, err
		}
		batch, err := st.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errors.Wrapf(err, "index: reading %s", b.src.Name())
		}
		if _, err := b.fwd.Logits(batch.X); err != nil {
			return nil, errors.Wrap(err, "index: forward pass")
		}
		examples := make([]int, batch.Valid)
		for r := range examples {
			examples[r] = b.shard.From + batch.Indices[r]
		}
		if err := b.selectBatch(bi+1, examples); err != nil {
			return nil, err
		}
		st.Recycle(batch)
	}
	return finish(b.d.Model, b.src, b.h, b.shard, b.sel)
}

// selectBatch offers the latest forward pass's outputs (batch number
// done-1, rows examples) to the selector, then checkpoints and reports as
// configured.
func (b *builder) selectBatch(done int, examples []int) error {
	for li, l := range b.h.Layers {
		a, err := b.fwd.Output(l.Output)
		if err != nil {
			return errors.Wrap(err, "index")
		}
		act := a.Data().([]float32)
		if len(act) != b.d.Batch*l.Units*l.Height*l.Width {
			return errors.Errorf("index: %s's output has %d values per batch; expected %d (%d units of %dx%d)", l.Name, len(act), b.d.Batch*l.Units*l.Height*l.Width, l.Units, l.Height, l.Width)
		}
		if err := b.sel.OfferParallel(li, act, l.Height*l.Width, l.Width, examples, runtime.GOMAXPROCS(0)); err != nil {
			return errors.Wrapf(err, "index: layer %s", l.Name)
		}
	}
	b.selected = done
	if b.every > 0 && done%b.every == 0 {
		if err := b.save(done); err != nil {
			return err
		}
	}
	if b.opt.afterBatch != nil {
		b.opt.afterBatch(done)
	}
	if b.opt.Progress != nil {
		n := min(done*b.d.Batch, b.total)
		el := time.Since(b.start)
		p := Progress{Done: n, Total: b.total, Resumed: b.resumed, Elapsed: el}
		if s := el.Seconds(); s > 0 && n > b.resumed {
			p.ImagesPerSec = float64(n-b.resumed) / s
			p.ETA = time.Duration(float64(b.total-n) / p.ImagesPerSec * float64(time.Second))
		}
		b.opt.Progress(p)
	}
	return nil
}

// save checkpoints the selection covering done batches (once per count).
func (b *builder) save(done int) error {
	if b.opt.Checkpoint == "" || done == b.lastSaved {
		return nil
	}
	b.lastSaved = done
	return writeCheckpoint(b.opt.Checkpoint, b.h, b.shard, done, b.sel)
}

// finish turns a selection into an index: entries best first, receptive
// fields and the examples referred to.
func finish(m *zfnet.Model, src data.Source, h Header, shard Shard, sel *Selector) (*Index, error) {
	ix := &Index{Header: h, Shard: shard}
	refs := map[int]bool{}
	for li, l := range h.Layers {
		ents := make([][]Entry, l.Units)
		boxes := make([][][4]int, l.Units)
		for u := range ents {
			ents[u] = sel.Sorted(li, u)
			boxes[u] = make([][4]int, len(ents[u]))
			for j, e := range ents[u] {
				f, err := deconvnet.ReceptiveField(m, l.Output, e.Y, e.X)
				if err != nil {
					return nil, errors.Wrap(err, "index")
				}
				w := f.Window
				boxes[u][j] = [4]int{w.Min.X, w.Min.Y, w.Max.X, w.Max.Y}
				refs[e.Example] = true
			}
		}
		ix.Entries = append(ix.Entries, ents)
		ix.Boxes = append(ix.Boxes, boxes)
	}
	var err error
	if ix.Referenced, err = Describe(src, refs); err != nil {
		return nil, err
	}
	return ix, nil
}

// Describe lists the examples of src in refs (path and label), by index.
func Describe(src data.Source, refs map[int]bool) ([]Example, error) {
	ids := make([]int, 0, len(refs))
	for i := range refs {
		ids = append(ids, i)
	}
	slices.Sort(ids)
	out := make([]Example, len(ids))
	for j, i := range ids {
		im, err := src.Load(i)
		if err != nil {
			return nil, errors.Wrapf(err, "index: example %d of %s", i, src.Name())
		}
		out[j] = Example{Index: i, Path: im.Path, Label: im.Label}
	}
	return out, nil
}

const ckptMagic = "ZFNETIXC"

type ckptHeader struct {
	Header
	Shard   Shard `json:"shard"`
	Batches int   `json:"batches_done"`
}

// writeCheckpoint saves the selection after `batches` batches of the shard.
func writeCheckpoint(path string, h Header, shard Shard, batches int, sel *Selector) error {
	hj, err := json.Marshal(ckptHeader{Header: h, Shard: shard, Batches: batches})
	if err != nil {
		return errors.Wrap(err, "index: checkpoint")
	}
	sb, err := sel.MarshalBinary()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString(ckptMagic)
	binary.Write(&buf, binary.LittleEndian, uint64(len(hj)))
	buf.Write(hj)
	binary.Write(&buf, binary.LittleEndian, uint64(len(sb)))
	buf.Write(sb)
	sum := sha256.Sum256(buf.Bytes())
	buf.Write(sum[:])
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(buf.Bytes())
		return err
	})
}

// readCheckpoint restores a checkpoint of the same index, or nil when there
// is none. A checkpoint of another index or a damaged one is an error: it
// is not silently thrown away.
func readCheckpoint(path string, h Header, shard Shard) (*Selector, int, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, errors.Wrap(err, "index: checkpoint")
	}
	bad := errors.Errorf("index: checkpoint %s is corrupt or truncated; delete it to start over", path)
	if len(b) < len(ckptMagic)+16+sha256.Size || string(b[:len(ckptMagic)]) != ckptMagic {
		return nil, 0, bad
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if s := sha256.Sum256(body); !bytes.Equal(s[:], sum) {
		return nil, 0, bad
	}
	r := body[len(ckptMagic):]
	hl := binary.LittleEndian.Uint64(r)
	if hl > uint64(len(r)-8) {
		return nil, 0, bad
	}
	var ch ckptHeader
	if err := json.Unmarshal(r[8:8+hl], &ch); err != nil {
		return nil, 0, bad
	}
	r = r[8+hl:]
	if len(r) < 8 || binary.LittleEndian.Uint64(r) != uint64(len(r)-8) {
		return nil, 0, bad
	}
	want, _ := json.Marshal(ckptHeader{Header: h, Shard: shard, Batches: ch.Batches})
	got, _ := json.Marshal(ch)
	if !bytes.Equal(want, got) {
		return nil, 0, errors.Errorf("index: checkpoint %s belongs to another build (%s); delete it, or give the same model, data, layers, k, mode, batch and shard",
			path, describeDiff(ch.Header, ch.Shard, h, shard))
	}
	sel, err := UnmarshalSelector(r[8:])
	if err != nil {
		return nil, 0, errors.Wrapf(err, "index: checkpoint %s", path)
	}
	if ch.Batches < 0 {
		return nil, 0, bad
	}
	return sel, ch.Batches, nil
}

// describeDiff names the first fields in which two builds differ.
func describeDiff(a Header, as Shard, b Header, bs Shard) string {
	var d []string
	if a.Fingerprint != b.Fingerprint || a.Arch != b.Arch {
		d = append(d, fmt.Sprintf("model %s %.19s... vs %s %.19s...", a.Arch, a.Fingerprint, b.Arch, b.Fingerprint))
	}
	if a.Source != b.Source || a.Examples != b.Examples {
		d = append(d, fmt.Sprintf("data %s (%d examples) vs %s (%d)", a.Source, a.Examples, b.Source, b.Examples))
	}
	if !slices.Equal(layerNames(a.Layers), layerNames(b.Layers)) || !slices.Equal(a.Layers, b.Layers) {
		d = append(d, fmt.Sprintf("layers %s vs %s", strings.Join(layerNames(a.Layers), ","), strings.Join(layerNames(b.Layers), ",")))
	}
	if a.K != b.K || a.Mode != b.Mode {
		d = append(d, fmt.Sprintf("top-%d per %s vs top-%d per %s", a.K, a.Mode, b.K, b.Mode))
	}
	if a.Batch != b.Batch {
		d = append(d, fmt.Sprintf("batch %d vs %d", a.Batch, b.Batch))
	}
	if as != bs {
		d = append(d, fmt.Sprintf("shard %d/%d [%d, %d) vs %d/%d [%d, %d)", as.Index, as.Count, as.From, as.To, bs.Index, bs.Count, bs.From, bs.To))
	}
	if a.Format != b.Format || a.Version != b.Version {
		d = append(d, fmt.Sprintf("format %s v%d vs %s v%d", a.Format, a.Version, b.Format, b.Version))
	}
	if len(d) == 0 {
		return "it differs"
	}
	return strings.Join(d, "; ")
}

func layerNames(ls []Layer) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Name
	}
	return out
}

// DefaultLayers is every convolution and every fully connected layer but
// the classifier: conv1..conv5, fc6, fc7 in zfnet.
func DefaultLayers(m *zfnet.Model) []string {
	var out, fcs []string
	for _, l := range m.Layers() {
		switch l.(type) {
		case *nn.Conv2d:
			out = append(out, l.Name())
		case *nn.Linear:
			fcs = append(fcs, l.Name())
		}
	}
	if len(fcs) > 0 {
		fcs = fcs[:len(fcs)-1]
	}
	return append(out, fcs...)
}
