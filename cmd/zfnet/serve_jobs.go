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
	res         *deconvnet.TopK
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
	idx := make([]int, b.images)
	for i := range idx {
		idx[i] = i
	}
	src := &stopSource{Source: data.Subset(s.src, fmt.Sprintf("%s[:%d]", s.src.Name(), b.images), idx), ctx: s.base}
	cfg := data.LoaderConfig{Pre: s.l.Pre, Mean: s.l.Mean, Workers: 1}
	b.res, b.err = deconvnet.Top9(s.indexNet, src, cfg, k.layer, nil, 9, k.opt, func(done, total int) {
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
	c, h, wd := s.l.Model.Arch.Input[0], s.l.Model.Arch.Input[1], s.l.Model.Arch.Input[2]
	side := max(h, wd)
	stride, err := intParam(r, "stride", max(1, (side+13)/14), 1, side)
	if err != nil {
		return err
	}
	size, err := intParam(r, "size", max(2, side/4), 1, side)
	if err != nil {
		return err
	}
	rows, cols := (h+stride-1)/stride, (wd+stride-1)/stride
	if rows*cols > 4096 {
		return badRequest("stride=%d makes %d occluder positions; at most 4096 (use a larger stride)", stride, rows*cols)
	}
	cfg := deconvnet.OcclusionConfig{Size: size, Stride: stride}
	st := newStream(w)
	ctx := r.Context()
	act := make([]float64, rows*cols)
	prob := make([]float64, rows*cols)
	var class int
	var cleanAct, cleanP float64
	start := time.Now()
	err = s.borrow(ctx, func(wk *worker) error {
		defer func() { wk.last = "" }()
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
		logits, err := wk.net.Forward(in.x)
		if err != nil {
			return err
		}
		if class = in.label; class < 0 {
			if class, err = zfnet.Argmax(logits); err != nil {
				return err
			}
		}
		cleanP = zfnet.Softmax(logits)[class]
		if cleanAct, err = unitTotal(); err != nil {
			return err
		}
		x := make([]float32, len(in.x))
		last := time.Now()
		for rr := 0; rr < rows; rr++ {
			for cc := 0; cc < cols; cc++ {
				if err := ctx.Err(); err != nil {
					return err
				}
				copy(x, in.x)
				sq := occluder(cfg, rr, cc).Intersect(image.Rect(0, 0, wd, h))
				for ch := 0; ch < c; ch++ {
					for y := sq.Min.Y; y < sq.Max.Y; y++ {
						row := x[(ch*h+y)*wd:]
						for xx := sq.Min.X; xx < sq.Max.X; xx++ {
							row[xx] = cfg.Fill
						}
					}
				}
				logits, err := wk.net.Forward(x)
				if err != nil {
					return err
				}
				prob[rr*cols+cc] = zfnet.Softmax(logits)[class]
				if act[rr*cols+cc], err = unitTotal(); err != nil {
					return err
				}
			}
			if time.Since(last) > 200*time.Millisecond || rr == rows-1 {
				last = time.Now()
				if err := st.send(progressLine("occlusion", (rr+1)*cols, rows*cols)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return st.finish(err)
	}
	base := deconvnet.Scale(in.img, displayScale(side, 168))
	lo, hi := minMax64(act)
	actImg := deconvnet.Overlay(base, deconvnet.Heatmap(act, rows, cols), 0.6)
	probImg := deconvnet.Overlay(base, heatmapFixed(prob, rows, cols), 0.6)
	a, err := dataURL(actImg)
	if err != nil {
		return st.finish(err)
	}
	b, err := dataURL(probImg)
	if err != nil {
		return st.finish(err)
	}
	return st.finish(st.send(map[string]any{"result": map[string]any{
		"layer": p.layer.Name, "unit": p.unit, "size": size, "stride": stride, "rows": rows, "cols": cols,
		"class": classScore{class, s.className(class), cleanP}, "cleanActivation": cleanAct, "minActivation": lo, "maxActivation": hi,
		"minProb": minOf(prob), "activationMap": a, "probabilityMap": b, "ms": msSince(start),
	}}))
}

// occluder is the square at grid position (r, c), centred on
// (r*stride + stride/2, c*stride + stride/2) as in deconvnet.Occlude.
func occluder(cfg deconvnet.OcclusionConfig, r, c int) image.Rectangle {
	cy, cx := r*cfg.Stride+cfg.Stride/2, c*cfg.Stride+cfg.Stride/2
	y0, x0 := cy-cfg.Size/2, cx-cfg.Size/2
	return image.Rect(x0, y0, x0+cfg.Size, y0+cfg.Size)
}

// heatmapFixed renders probabilities on the fixed scale [0, 1].
func heatmapFixed(v []float64, h, w int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, x := range v {
		img.SetRGBA(i%w, i/w, deconvnet.Heat(x))
	}
	return img
}

func minMax64(v []float64) (lo, hi float64) {
	lo, hi = v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

func minOf(v []float64) float64 { lo, _ := minMax64(v); return lo }

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
