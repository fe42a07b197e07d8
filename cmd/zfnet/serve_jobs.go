package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	xdraw "golang.org/x/image/draw"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/experiments"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/zfnet"
)

// upload accepts one picture (a multipart form's first file, or the raw
// body) of at most MaxUpload bytes. Its header is read first, and a
// picture that declares more than MaxPixels pixels is refused before any
// decoding (no decompression bombs); then it goes through the same decoder
// and preprocessing as the data loaders' pictures.
func (s *server) upload(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.opt.MaxUpload)
	body, name, err := uploadedFile(r)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return badRequest("empty upload: send a picture (JPEG, PNG, GIF, BMP or WebP) as the form field \"file\" or as the request body")
	}
	release, err := s.decoding(r.Context())
	if err != nil {
		return err
	}
	defer release()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(body))
	if err != nil {
		return badRequest("%s is not a picture this server reads (JPEG, PNG, GIF, BMP or WebP): %v", uploadName(name), err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > int64(s.opt.MaxPixels) {
		return &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("%s is a %s picture of %dx%d pixels; at most %d pixels are accepted",
			uploadName(name), format, cfg.Width, cfg.Height, s.opt.MaxPixels)}
	}
	dir, err := os.MkdirTemp("", "zfnet-upload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "upload."+format)
	if err := os.WriteFile(path, body, 0o600); err != nil {
		return err
	}
	src, err := data.ImageFiles([]string{path}, nil)
	if err != nil {
		return err
	}
	base, err := s.l.Pre.Base(src, 0)
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), path, uploadName(name))
		return badRequest("%s", msg)
	}
	base.Label = data.Unlabeled
	id := newUploadID()
	in := s.prepare(id, base)
	in.name = uploadName(name)
	s.uploads.put(id, in)
	return writeJSON(w, http.StatusOK, map[string]any{"id": id, "name": in.name, "format": format, "width": cfg.Width, "height": cfg.Height})
}

func uploadName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 32 || r == 127 {
			return -1
		}
		return r
	}, filepath.Base(strings.ReplaceAll(name, "\\", "/")))
	if name == "" || name == "." || name == "/" {
		return "the upload"
	}
	return truncate(name, 80)
}

// uploadedFile reads the first file of a multipart form, or the body.
func uploadedFile(r *http.Request) ([]byte, string, error) {
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !strings.HasPrefix(ct, "multipart/") {
		b, err := io.ReadAll(r.Body)
		return b, r.URL.Query().Get("name"), err
	}
	if params["boundary"] == "" {
		return nil, "", badRequest("malformed multipart upload: no boundary")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", badRequest("malformed multipart upload: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, "", badRequest("the form has no file: send the picture as the field \"file\"")
		}
		if err != nil {
			if isMaxBytes(err) {
				return nil, "", err
			}
			return nil, "", badRequest("malformed multipart upload: %v", err)
		}
		if part.FileName() == "" && part.FormName() != "file" {
			part.Close()
			continue
		}
		b, err := io.ReadAll(part)
		part.Close()
		if err != nil {
			if isMaxBytes(err) {
				return nil, "", err
			}
			return nil, "", badRequest("malformed multipart upload: %v", err)
		}
		return b, part.FileName(), nil
	}
}

func isMaxBytes(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

// downscale resizes smoothly to w x h.
func downscale(img image.Image, w, h int) image.Image {
	out := image.NewRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
	xdraw.CatmullRom.Scale(out, out.Bounds(), img, img.Bounds(), xdraw.Src, nil)
	return out
}

// The top-9 index: the strongest activations of every map of a layer over
// the first IndexImages pictures of the set, built on first request by a
// deconvnet of its own (one build at a time) and kept while the server runs.
// A request watches the build's progress; a request that goes away leaves
// the build running, so the next one finds it further along or done.

type indexKey struct {
	layer string
	opt   deconvnet.Options
}

type indexBuild struct {
	done        chan struct{}
	step, total atomic.Int64
	images      int
	res         *experiments.TopK
	err         error
}

func (s *server) indexImages() int {
	if s.src == nil {
		return 0
	}
	n := s.opt.IndexImages
	if n <= 0 {
		n = 2000
		if in := s.l.Model.Arch.Input; in[1]*in[2] > 64*64 {
			n = 200
		}
	}
	return min(n, s.src.Len())
}

// index finds or starts the build for a layer and options.
func (s *server) index(k indexKey) *indexBuild {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	if b, ok := s.indexes[k]; ok {
		return b
	}
	b := &indexBuild{done: make(chan struct{}), images: s.indexImages()}
	b.total.Store(1)
	s.indexes[k] = b
	go s.buildIndex(k, b)
	return b
}

func (s *server) buildIndex(k indexKey, b *indexBuild) {
	defer close(b.done)
	s.indexRun.Lock()
	defer s.indexRun.Unlock()
	defer func() {
		if p := recover(); p != nil {
			b.err = fmt.Errorf("building the top-9 index: internal error: %v", p)
		}
		if b.err != nil { // not kept: the next request tries again
			s.indexMu.Lock()
			delete(s.indexes, k)
			s.indexMu.Unlock()
		}
	}()
	if b.err = s.prepareIndexNet(k); b.err != nil {
		return
	}
	src := &stopSource{Source: firstExamples(s.src, b.images), ctx: s.base}
	cfg := data.LoaderConfig{Pre: s.l.Pre, Mean: s.l.Mean, Workers: 1}
	b.res, b.err = experiments.Top9(s.indexNet, src, cfg, k.layer, nil, 9, k.opt, func(done, total int) {
		b.step.Store(int64(done))
		b.total.Store(int64(max(total, 1)))
	})
}

// stopSource fails every load once ctx ends, which stops a loader.
type stopSource struct {
	data.Source
	ctx context.Context
}

func (s *stopSource) Load(i int) (*data.Image, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, err
	}
	return s.Source.Load(i)
}

func (s *server) top9(w http.ResponseWriter, r *http.Request) error {
	p, err := s.parseUnit(r, true)
	if err != nil {
		return err
	}
	if s.ix != nil {
		if ok, err := s.indexedTop9(w, r, p); ok {
			return err
		}
	}
	if s.src == nil {
		return notFound("no top-9 index: the server has no set of pictures to search (start it with --data or --images)")
	}
	b := s.index(indexKey{p.layer.Name, p.opt})
	st := newStream(w)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-b.done:
		case <-r.Context().Done():
			return st.finish(r.Context().Err())
		case <-tick.C:
			if err := st.send(progressLine(fmt.Sprintf("top-9 index of %s over %d images", p.layer.Name, b.images), int(b.step.Load()), int(b.total.Load()))); err != nil {
				return nil
			}
			continue
		}
		break
	}
	if b.err != nil {
		return st.finish(b.err)
	}
	t := b.res
	i := -1
	for j, m := range t.Maps {
		if m == p.unit {
			i = j
		}
	}
	if i < 0 {
		return st.finish(fmt.Errorf("map %d was not indexed", p.unit))
	}
	type hit struct {
		ID    string  `json:"id"`
		Value float32 `json:"value"`
		Label string  `json:"label"`
	}
	hits := []hit{}
	for _, h := range t.Hits[i] {
		lab := ""
		if h.Label >= 0 {
			lab = s.className(h.Label)
		}
		hits = append(hits, hit{fmt.Sprintf("d%d", h.Index), h.Value, lab})
	}
	url, err := dataURL(t.MapImage(p.unit))
	if err != nil {
		return st.finish(err)
	}
	return st.finish(st.send(map[string]any{"result": map[string]any{
		"layer": p.layer.Name, "unit": p.unit, "rule": p.ruleName, "images": t.Images, "hits": hits, "figure": url,
	}}))
}

// occlusion slides a square (the mean: zero in input space) over the image
// and records, for each position, the total activation of the chosen map
// and the probability of the image's class (its label, else the clean
// prediction): the paper's Fig. 7 for one unit. It holds one deconvnet for
// its whole run and stops when the browser goes away.
func (s *server) occlusion(w http.ResponseWriter, r *http.Request) error {
	in, err := s.input(r.Context(), r.URL.Query().Get("image"))
	if err != nil {
		return err
	}
	p, err := s.parseUnit(r, true)
	if err != nil {
		return err
	}
	g, err := s.parseOcclusionGrid(r)
	if err != nil {
		return err
	}
	st := newStream(w)
	start := time.Now()
	var sw *occlusionSweep
	err = s.borrow(r.Context(), func(wk *worker) error {
		defer func() { wk.last = "" }()
		var err error
		sw, err = g.sweep(r.Context(), wk, in, p, func(done int) error {
			return st.send(progressLine("occlusion", done, g.rows*g.cols))
		})
		return err
	})
	if err != nil {
		return st.finish(err)
	}
	res, err := s.occlusionResult(in, p, g, sw)
	if err != nil {
		return st.finish(err)
	}
	res["ms"] = msSince(start)
	return st.finish(st.send(map[string]any{"result": res}))
}

// occlusionGrid is the occluder of a request: its side, its stride and
// the grid of positions they make (deconvnet.OccluderWindow's).
type occlusionGrid struct{ size, stride, rows, cols int }

// parseOcclusionGrid reads size and stride (defaults: a quarter of the
// input, a 14x14 grid), at most 4096 positions.
func (s *server) parseOcclusionGrid(r *http.Request) (occlusionGrid, error) {
	h, wd := s.l.Model.Arch.Input[1], s.l.Model.Arch.Input[2]
	side := max(h, wd)
	stride, err := intParam(r, "stride", max(1, (side+13)/14), 1, side)
	if err != nil {
		return occlusionGrid{}, err
	}
	size, err := intParam(r, "size", max(2, side/4), 1, side)
	if err != nil {
		return occlusionGrid{}, err
	}
	g := occlusionGrid{size: size, stride: stride, rows: (h + stride - 1) / stride, cols: (wd + stride - 1) / stride}
	if g.rows*g.cols > 4096 {
		return occlusionGrid{}, badRequest("stride=%d makes %d occluder positions; at most 4096 (use a larger stride)", stride, g.rows*g.cols)
	}
	return g, nil
}

// occlusionSweep is what the network said at every occluder position
// (row-major) and on the clean image.
type occlusionSweep struct {
	class            int
	cleanAct, cleanP float64
	act, prob        []float64
}

// sweep runs the clean image and every occluded copy through wk's
// network, one at a time (the worker's batch), calling progress after
// each row of the grid at most five times a second; it stops when ctx
// ends.
func (g occlusionGrid) sweep(ctx context.Context, wk *worker, in *serveInput, p projectionRequest, progress func(done int) error) (*occlusionSweep, error) {
	unitTotal := func() (float64, error) {
		t, err := wk.net.Activation(p.layer.Name)
		if err != nil {
			return 0, err
		}
		a := t.Data().([]float32)
		hw := len(a) / p.layer.Maps
		var sum float64
		for _, v := range a[p.unit*hw : (p.unit+1)*hw] {
			sum += float64(v)
		}
		return sum, nil
	}
	sw := &occlusionSweep{act: make([]float64, g.rows*g.cols), prob: make([]float64, g.rows*g.cols)}
	logits, err := wk.net.Forward(in.x)
	if err != nil {
		return nil, err
	}
	if sw.class = in.label; sw.class < 0 {
		if sw.class, err = zfnet.Argmax(logits); err != nil {
			return nil, err
		}
	}
	sw.cleanP = zfnet.Softmax(logits)[sw.class]
	if sw.cleanAct, err = unitTotal(); err != nil {
		return nil, err
	}
	in3 := wk.net.Model.Arch.Input
	c, h, wd := in3[0], in3[1], in3[2]
	x := make([]float32, len(in.x))
	last := time.Now()
	for rr := 0; rr < g.rows; rr++ {
		for cc := 0; cc < g.cols; cc++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			copy(x, in.x)
			sq := deconvnet.OccluderWindow(g.size, g.stride, rr, cc).Intersect(image.Rect(0, 0, wd, h))
			for ch := 0; ch < c; ch++ {
				for y := sq.Min.Y; y < sq.Max.Y; y++ {
					row := x[(ch*h+y)*wd:]
					for xx := sq.Min.X; xx < sq.Max.X; xx++ {
						row[xx] = 0 // the mean image
					}
				}
			}
			logits, err := wk.net.Forward(x)
			if err != nil {
				return nil, err
			}
			sw.prob[rr*g.cols+cc] = zfnet.Softmax(logits)[sw.class]
			if sw.act[rr*g.cols+cc], err = unitTotal(); err != nil {
				return nil, err
			}
		}
		if time.Since(last) > 200*time.Millisecond || rr == g.rows-1 {
			last = time.Now()
			if err := progress((rr + 1) * g.cols); err != nil {
				return nil, err
			}
		}
	}
	return sw, nil
}

// occlusionResult is the page's answer: the activation map (from its
// minimum) and the class probability (on [0, 1]) over the picture, with
// the numbers they are drawn from.
func (s *server) occlusionResult(in *serveInput, p projectionRequest, g occlusionGrid, sw *occlusionSweep) (map[string]any, error) {
	in3 := s.l.Model.Arch.Input
	base := figure.Scale(in.img, displayScale(max(in3[1], in3[2]), 168))
	lo, hi := figure.MinMax(sw.act)
	plo, _ := figure.MinMax(sw.prob)
	a, err := dataURL(figure.Overlay(base, figure.Heatmap(sw.act, g.rows, g.cols), 0.6))
	if err != nil {
		return nil, err
	}
	b, err := dataURL(figure.Overlay(base, figure.HeatmapRange(sw.prob, g.rows, g.cols, 0, 1), 0.6))
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"layer": p.layer.Name, "unit": p.unit, "size": g.size, "stride": g.stride, "rows": g.rows, "cols": g.cols,
		"class": classScore{sw.class, s.className(sw.class), sw.cleanP}, "cleanActivation": sw.cleanAct, "minActivation": lo, "maxActivation": hi,
		"minProb": plo, "activationMap": a, "probabilityMap": b,
	}, nil
}

// prepareIndexNet makes the index's deconvnet and builds its graphs for k
// (a forward and a projection of zeros), under buildMu, so that the search
// itself builds nothing.
func (s *server) prepareIndexNet(k indexKey) error {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	if s.indexNet == nil {
		d, err := deconvnet.New(s.l.Model, 8)
		if err != nil {
			return err
		}
		s.indexNet = d
	}
	if s.indexBuilt[k] {
		return nil
	}
	d := s.indexNet
	in := s.l.Model.Arch.Input
	if _, err := d.Forward(make([]float32, d.Batch*in[0]*in[1]*in[2])); err != nil {
		return err
	}
	act, err := d.Activation(k.layer)
	if err != nil {
		return err
	}
	if _, err := d.Project(k.layer, make([]float32, len(act.Data().([]float32))), k.opt); err != nil {
		return err
	}
	s.indexBuilt[k] = true
	return nil
}
