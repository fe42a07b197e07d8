package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/index"
)

func init() {
	register.DoFn3x1[context.Context, int, func(int, []byte), error](&forwardFn{})
	register.DoFn3x1[context.Context, int, func(*[]byte) bool, error](&writeFn{})
	register.Function2x2(gatherFn)
	register.Combiner1[[]byte](&topKFn{})
	register.Emitter2[int, []byte]()
	register.Iter1[[]byte]()
}

// The pipeline:
//
//	batch numbers 0..B-1 (the unsharded build's batches: the same bits)
//	  -> Reshuffle (spread over workers)
//	  -> forwardFn: model loaded once per worker (Setup); per bundle a
//	     selector; per element one forward pass of one batch; at the end
//	     of the bundle one KV per (layer, unit): key layer<<24|unit, value
//	     the unit's entries
//	  -> CombinePerKey(topKFn): the K best under index.Better (the merge
//	     zfnet index merge does)
//	  -> one group -> writeFn: the index, written as zfnet index build does.

// Build adds the pipeline to s and returns nothing: its effect is the index
// folder out.
func Build(s beam.Scope, spec Spec, batches int, out string) {
	nums := make([]int, batches)
	for i := range nums {
		nums[i] = i
	}
	col := beam.CreateList(s, nums)
	col = beam.Reshuffle(s, col)
	units := beam.ParDo(s, &forwardFn{Spec: spec}, col)
	best := beam.CombinePerKey(s, &topKFn{K: spec.K}, units)
	one := beam.GroupByKey(s, beam.ParDo(s, gatherFn, best))
	beam.ParDo0(s, &writeFn{Spec: spec, Out: out}, one)
}

// forwardFn runs the forward passes.
type forwardFn struct {
	Spec Spec

	o      *opened
	d      *deconvnet.Net
	layers []index.Layer
	sel    *index.Selector
}

func (f *forwardFn) Setup() error {
	o, err := f.Spec.open()
	if err != nil {
		return err
	}
	if f.d, err = deconvnet.New(o.model, f.Spec.Batch); err != nil {
		return err
	}
	if f.layers, err = index.Layers(o.model, o.opt.Layers); err != nil {
		return err
	}
	f.o = o
	return nil
}

func (f *forwardFn) Teardown() error {
	if f.d != nil {
		return f.d.Close()
	}
	return nil
}

func (f *forwardFn) StartBundle(_ context.Context, _ func(int, []byte)) error {
	units := make([]int, len(f.layers))
	for i, l := range f.layers {
		units[i] = l.Units
	}
	var err error
	f.sel, err = index.NewSelector(f.o.opt.Mode, f.o.opt.K, units)
	return err
}

func (f *forwardFn) ProcessElement(ctx context.Context, b int, _ func(int, []byte)) error {
	bs, n := f.Spec.Batch, f.o.src.Len()
	lo, hi := b*bs, min((b+1)*bs, n)
	if lo >= hi {
		return fmt.Errorf("batch %d is past the %d examples of %s", b, n, f.o.src.Name())
	}
	idx := make([]int, hi-lo)
	for i := range idx {
		idx[i] = lo + i
	}
	cfg := f.o.cfg
	cfg.BatchSize, cfg.Train, cfg.Shuffle, cfg.TenCrop, cfg.DropLast = bs, false, false, false, false
	loader, err := data.NewLoader(data.Subset(f.o.src, f.o.src.Name(), idx), cfg)
	if err != nil {
		return err
	}
	st := loader.Start(0, 0)
	defer st.Close()
	batch, err := st.Next()
	if err == io.EOF {
		return fmt.Errorf("batch %d of %s: no readable example", b, f.o.src.Name())
	}
	if err != nil {
		return fmt.Errorf("batch %d of %s: %v", b, f.o.src.Name(), err)
	}
	if _, err := f.d.Forward(batch.X); err != nil {
		return err
	}
	examples := make([]int, batch.Valid)
	for r := range examples {
		examples[r] = lo + batch.Indices[r]
	}
	for li, l := range f.layers {
		a, err := f.d.Activation(l.Name)
		if err != nil {
			return err
		}
		if err := f.sel.Offer(li, a.Data().([]float32), l.Height*l.Width, l.Width, examples); err != nil {
			return fmt.Errorf("layer %s: %v", l.Name, err)
		}
	}
	return nil
}

func (f *forwardFn) FinishBundle(_ context.Context, emit func(int, []byte)) error {
	for li, l := range f.layers {
		for u := 0; u < l.Units; u++ {
			if es := f.sel.Sorted(li, u); len(es) > 0 {
				emit(li<<24|u, encodeEntries(es))
			}
		}
	}
	f.sel = nil
	return nil
}

// topKFn keeps a unit's K best entries.
type topKFn struct {
	K int
}

func (c *topKFn) MergeAccumulators(a, b []byte) []byte {
	es := append(decodeEntries(a), decodeEntries(b)...)
	slices.SortFunc(es, func(x, y index.Entry) int {
		if index.Better(x, y) {
			return -1
		}
		if index.Better(y, x) {
			return 1
		}
		return 0
	})
	return encodeEntries(es[:min(len(es), c.K)])
}

// gatherFn puts every unit under one key, for the writer.
func gatherFn(key int, v []byte) (int, []byte) {
	return 0, append(binary.LittleEndian.AppendUint32(nil, uint32(key)), v...)
}

// writeFn writes the index.
type writeFn struct {
	Spec Spec
	Out  string
}

func (w *writeFn) ProcessElement(_ context.Context, _ int, vals func(*[]byte) bool) error {
	o, err := w.Spec.open()
	if err != nil {
		return err
	}
	h, err := index.NewHeader(o.model, o.src, w.Spec.Batch, o.opt)
	if err != nil {
		return err
	}
	units := make([]int, len(h.Layers))
	for i, l := range h.Layers {
		units[i] = l.Units
	}
	sel, err := index.NewSelector(h.Mode, h.K, units)
	if err != nil {
		return err
	}
	var v []byte
	for vals(&v) {
		if len(v) < 4 || (len(v)-4)%entryBytes != 0 {
			return fmt.Errorf("a unit's entries are %d bytes long", len(v))
		}
		key := int(binary.LittleEndian.Uint32(v))
		li, u := key>>24, key&(1<<24-1)
		if li >= len(units) || u >= units[li] {
			return fmt.Errorf("entries for layer %d unit %d, which the index does not have", li, u)
		}
		for _, e := range decodeEntries(v[4:]) {
			sel.Add(li, u, e)
		}
	}
	n := o.src.Len()
	ix, err := index.FromSelection(o.model, o.src, h, index.Shard{Index: 0, Count: 1, From: 0, To: n}, sel)
	if err != nil {
		return err
	}
	return index.Write(w.Out, ix)
}

const entryBytes = 20

func encodeEntries(es []index.Entry) []byte {
	b := make([]byte, 0, entryBytes*len(es))
	for _, e := range es {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(e.Value))
		b = binary.LittleEndian.AppendUint64(b, uint64(int64(e.Example)))
		b = binary.LittleEndian.AppendUint32(b, uint32(int32(e.Y)))
		b = binary.LittleEndian.AppendUint32(b, uint32(int32(e.X)))
	}
	return b
}

func decodeEntries(b []byte) []index.Entry {
	es := make([]index.Entry, 0, len(b)/entryBytes)
	for ; len(b) >= entryBytes; b = b[entryBytes:] {
		es = append(es, index.Entry{
			Value:   math.Float32frombits(binary.LittleEndian.Uint32(b)),
			Example: int(int64(binary.LittleEndian.Uint64(b[4:]))),
			Y:       int(int32(binary.LittleEndian.Uint32(b[12:]))),
			X:       int(int32(binary.LittleEndian.Uint32(b[16:]))),
		})
	}
	return es
}
