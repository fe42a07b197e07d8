package main

import (
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/index"
	"github.com/zfnet/zfnet/nn"
)

// The server holds one model and a fixed pool of deconvnets over its
// weights (a deconvnet is one Gorgonia machine: not safe for concurrent
// use, so each request borrows one for its whole computation: forward pass,
// then projection from that pass's switches). Everything the browser names
// is looked up, never used as a path: data set images by index, uploads by
// a random id the server gave out.

// server is the state behind the handlers.
type server struct {
	l     *loaded
	opt   serveOptions
	src   data.Source // the pictures to browse; nil when only uploads
	names []string    // file names of src's pictures, when known
	pool  *netPool
	base  context.Context // ends at shutdown

	// decode bounds the pictures decoded at once (a page of thumbnails of
	// photographs, uploads): each can take a few hundred MB while decoded.
	decode chan struct{}

	uploads *lru[*serveInput]
	inputs  *lru[*serveInput]

	ix    *index.Index // --index: read at start
	ixSrc data.Source  // the set the index's examples are of

	indexMu    sync.Mutex
	indexes    map[indexKey]*indexBuild
	indexNet   *deconvnet.Net // built on first use, used under indexRun
	indexBuilt map[indexKey]bool
	indexRun   sync.Mutex

	// buildMu serializes building machines: Gorgonia's NewTapeMachine sets
	// the engine of every tensor its graph binds, the model's shared weight
	// tensors included, so two deconvnets must not build a projection
	// graph at the same time (running them at once is fine: they only
	// read the weights).
	buildMu sync.Mutex

	stats serveStats
}

type serveStats struct {
	requests, failures atomic.Int64
}

// serveInput is one model input: preprocessed (C*H*W floats) and how to
// show it.
type serveInput struct {
	id    string
	x     []float32
	label int // data.Unlabeled when unknown
	name  string
	img   image.Image // the input as the model sees it, mean added back
}

func newServer(l *loaded, opt serveOptions) (*server, error) {
	if opt.Workers < 1 {
		opt.Workers = 1
	}
	if opt.Uploads < 1 {
		opt.Uploads = 1
	}
	// Inputs of the set are kept decoded, about 64 MB of them (a 28x28
	// digit takes 6 KB, a 224x224 photograph 800 KB).
	in := l.Model.Arch.Input
	per := 4*in[0]*in[1]*in[2] + 4*in[1]*in[2]
	s := &server{l: l, opt: opt, base: context.Background(),
		uploads: newLRU[*serveInput](opt.Uploads), inputs: newLRU[*serveInput](min(1024, max(16, (64<<20)/per))),
		indexes: map[indexKey]*indexBuild{}, indexBuilt: map[indexKey]bool{}, decode: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}
	if l.Set != nil && l.Set.Test != nil {
		s.src = l.Set.Test
	}
	p, err := newNetPool(l, opt.Workers, opt.Queue)
	if err != nil {
		return nil, err
	}
	s.pool = p
	return s, nil
}

// Close releases the deconvnets; call it when no request runs any more.
func (s *server) Close() error {
	err := s.pool.close()
	s.indexRun.Lock()
	defer s.indexRun.Unlock()
	if s.indexNet != nil {
		if e := s.indexNet.Close(); err == nil {
			err = e
		}
		s.indexNet = nil
	}
	return err
}

func (s *server) inputCount() int {
	if s.src == nil {
		return 0
	}
	return s.src.Len()
}

// netPool lends deconvnets of batch 1, one request at a time each.
type netPool struct {
	free    chan *worker
	all     []*worker
	waiting atomic.Int64
	queue   int64
}

// worker is one deconvnet and the input its latest forward pass ran on, so
// that clicks on the same image skip the forward pass.
type worker struct {
	net    *deconvnet.Net
	last   string
	logits []float32         // of the pass on last
	built  map[indexKey]bool // the projection graphs this deconvnet has built
	// explained: the kinds of walk from the logits (explain's methods)
	// this deconvnet has built graphs for.
	explained map[string]bool
}

// projectOn projects targets of layer on the worker's latest forward pass;
// the first projection of a (layer, options) builds its graph, under
// buildMu.
func (s *server) projectOn(wk *worker, layer string, ts []deconvnet.Target, opt deconvnet.Options) ([][]float32, []deconvnet.Picked, error) {
	k := indexKey{layer, opt}
	if !wk.built[k] {
		s.buildMu.Lock()
		defer s.buildMu.Unlock()
	}
	ps, picked, err := wk.net.ProjectTargets(layer, ts, opt)
	if err == nil {
		wk.built[k] = true
	}
	return ps, picked, err
}

var errBusy = errors.New("busy")

func newNetPool(l *loaded, n, queue int) (*netPool, error) {
	p := &netPool{free: make(chan *worker, n), queue: int64(queue)}
	for i := 0; i < n; i++ {
		d, err := deconvnet.New(l.Model, 1)
		if err != nil {
			p.close()
			return nil, err
		}
		w := &worker{net: d, built: map[indexKey]bool{}, explained: map[string]bool{}}
		p.all = append(p.all, w)
		p.free <- w
	}
	return p, nil
}

// acquire waits for a free deconvnet, or for ctx to end; with more than
// queue requests already waiting it gives up at once (errBusy).
func (p *netPool) acquire(ctx context.Context) (*worker, error) {
	select {
	case w := <-p.free:
		return w, nil
	default:
	}
	if p.waiting.Add(1) > p.queue {
		p.waiting.Add(-1)
		return nil, errBusy
	}
	defer p.waiting.Add(-1)
	select {
	case w := <-p.free:
		if err := ctx.Err(); err != nil {
			p.free <- w
			return nil, err
		}
		return w, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *netPool) release(w *worker) { p.free <- w }

// close takes every deconvnet back (waiting for running requests) and
// closes them.
func (p *netPool) close() error {
	var err error
	for range p.all {
		w := <-p.free
		if e := w.net.Close(); err == nil {
			err = e
		}
	}
	p.all = nil
	return err
}

// forward runs in through the worker's deconvnet unless its latest pass
// was on the same input, and returns the logits (nil when skipped).
func (w *worker) forward(in *serveInput) ([]float32, error) {
	w.last = ""
	logits, err := w.net.Forward(in.x)
	if err != nil {
		return nil, err
	}
	w.last = in.id
	w.logits = append(w.logits[:0], logits...)
	return logits, nil
}

// logitsOf returns in's logits, from the worker's latest pass when it was
// on in.
func (w *worker) logitsOf(in *serveInput) ([]float32, error) {
	if w.last == in.id && len(w.logits) > 0 {
		return append([]float32(nil), w.logits...), nil
	}
	logits, err := w.forward(in)
	if err != nil {
		return nil, err
	}
	return append([]float32(nil), logits...), nil
}

// ensure makes the deconvnet's recorded pass be in's.
func (w *worker) ensure(in *serveInput) error {
	if w.last == in.id {
		return nil
	}
	_, err := w.forward(in)
	return err
}

// httpError is an answer other than 200 with a message for the page.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &httpError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

// input resolves an image id: "d<N>" is picture N of the set, "u<hex>" an
// upload.
func (s *server) input(ctx context.Context, id string) (*serveInput, error) {
	if id == "" {
		return nil, badRequest("missing image: give image=d<N> (a picture of the set) or the id of an upload")
	}
	if in, ok := s.inputs.get(id); ok {
		return in, nil
	}
	switch {
	case strings.HasPrefix(id, "u"):
		if in, ok := s.uploads.get(id); ok {
			return in, nil
		}
		return nil, notFound("image %q: no such upload (uploads are kept only while the server runs, the %d latest); upload it again", id, s.opt.Uploads)
	case strings.HasPrefix(id, "d"):
		i, err := strconv.Atoi(id[1:])
		if err != nil || i < 0 || id[1:] != strconv.Itoa(i) {
			return nil, badRequest("image %q: expected d<N>, N a picture number from 0", id)
		}
		if s.src == nil {
			return nil, notFound("image %q: the server has no pictures to browse (start it with --data or --images); upload one", id)
		}
		if i >= s.src.Len() {
			return nil, notFound("image %q: the set %s has pictures d0 to d%d", id, s.src.Name(), s.src.Len()-1)
		}
		release, err := s.decoding(ctx)
		if err != nil {
			return nil, err
		}
		base, err := s.l.Pre.Base(s.src, i)
		release()
		if err != nil {
			return nil, &httpError{http.StatusUnprocessableEntity, fmt.Sprintf("image %s: %v", id, err)}
		}
		in := s.prepare(id, base)
		in.name = fmt.Sprintf("%s #%d", s.src.Name(), i)
		if i < len(s.names) {
			in.name = s.names[i]
		}
		s.inputs.put(id, in)
		return in, nil
	}
	return nil, badRequest("image %q: expected d<N> (a picture of the set) or the id of an upload (u...)", id)
}

// prepare makes a base picture (decoded, resized, [0,1]) a model input.
func (s *server) prepare(id string, base *data.Image) *serveInput {
	x := make([]float32, s.l.Pre.Geometry.Size())
	s.l.Pre.ApplyCrop(base.Pix, s.l.Mean, s.l.Pre.CenterCrop(), x)
	return &serveInput{id: id, x: x, label: base.Label, img: data.ToImage(x, s.l.Pre.Geometry, s.l.Mean)}
}

// decoding waits for a decoding slot; call release when done.
func (s *server) decoding(ctx context.Context) (release func(), err error) {
	select {
	case s.decode <- struct{}{}:
		return func() { <-s.decode }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func newUploadID() string {
	var b [8]byte
	rand.Read(b[:])
	return "u" + hex.EncodeToString(b[:])
}

// layerInfo describes a layer the page can show.
type layerInfo struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Maps  int    `json:"maps"` // feature maps (units for fully connected layers)
	H     int    `json:"h"`
	W     int    `json:"w"`
	Conv  bool   `json:"conv"` // has filters
	Index int    `json:"-"`
}

// layers lists the layers a user picks from: convolutions (their rectified
// output), pooling, normalization and fully connected layers.
func (s *server) layers() []layerInfo {
	m := s.l.Model
	var out []layerInfo
	flat := false
	for i, l := range m.Layers() {
		var kind string
		switch l := l.(type) {
		case *nn.Conv2d:
			kind = fmt.Sprintf("conv %dx%d/%d", l.Kernel, l.Kernel, l.Stride)
		case *nn.MaxPool:
			kind = "max pool"
		case *nn.AvgPool, *nn.AdaptiveAvgPool:
			kind = "average pool"
		case *nn.LRN:
			kind = "normalization"
		case *nn.Linear:
			kind, flat = "fully connected", true
		default:
			continue
		}
		sh := m.Shape(i)
		li := layerInfo{Name: l.Name(), Kind: kind, Maps: sh[0], H: sh[1], W: sh[2], Index: i}
		if flat {
			li.H, li.W = 1, 1
		}
		_, li.Conv = l.(*nn.Conv2d)
		out = append(out, li)
	}
	return out
}

// layer looks a layer name up among layers().
func (s *server) layer(name string) (layerInfo, error) {
	if name == "" {
		return layerInfo{}, badRequest("missing layer: give layer=NAME (%s)", s.layerList())
	}
	for _, li := range s.layers() {
		if li.Name == name {
			return li, nil
		}
	}
	return layerInfo{}, badRequest("unknown layer %q: %s has %s", truncate(name, 40), s.l.Model.Arch.Name, s.layerList())
}

func (s *server) layerList() string {
	var names []string
	for _, li := range s.layers() {
		names = append(names, li.Name)
	}
	return strings.Join(names, ", ")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// hasLRN says whether any normalization layer lies at or below layer i, and
// whether the projection can go through all of them (each must follow a
// recorded ReLU).
func (s *server) lrnBelow(i int) (has, ok bool) {
	m := s.l.Model
	ok = true
	for j := 0; j <= i && j < m.NumLayers(); j++ {
		if _, isLRN := m.LayerAt(j).(*nn.LRN); isLRN {
			has = true
			if j == 0 {
				ok = false
			} else if _, relu := m.LayerAt(j - 1).(*nn.ReLU); !relu {
				ok = false
			}
		}
	}
	return has, ok
}

// lru is a small least-recently-used map, safe for concurrent use.
type lru[V any] struct {
	mu    sync.Mutex
	cap   int
	order *list.List
	items map[string]*list.Element
}

type lruEntry[V any] struct {
	key string
	val V
}

func newLRU[V any](n int) *lru[V] {
	return &lru[V]{cap: n, order: list.New(), items: map[string]*list.Element{}}
}

func (c *lru[V]) get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruEntry[V]).val, true
	}
	var zero V
	return zero, false
}

func (c *lru[V]) put(k string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		e.Value.(*lruEntry[V]).val = v
		c.order.MoveToFront(e)
		return
	}
	c.items[k] = c.order.PushFront(&lruEntry[V]{k, v})
	for c.order.Len() > c.cap {
		e := c.order.Back()
		c.order.Remove(e)
		delete(c.items, e.Value.(*lruEntry[V]).key)
	}
}

func (c *lru[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
