package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"io/fs"
	"math"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/nn"
	"github.com/zfnet/zfnet/zfnet"
)

//go:embed web
var webFiles embed.FS

var pageTemplate = template.Must(template.ParseFS(webFiles, "web/index.html"))

// apiMethods is each endpoint's method, for 405 answers.
var apiMethods = map[string]string{
	"/api/model": "GET", "/api/inputs": "GET", "/api/thumb": "GET", "/api/input": "GET", "/api/upload": "POST",
	"/api/predict": "GET", "/api/features": "GET", "/api/project": "GET", "/api/filters": "GET", "/api/top9": "GET",
	"/api/occlusion": "GET", "/api/explain": "GET",
}

// handler routes every endpoint.
func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(webFiles, "web")
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(http.FileServerFS(static))))
	mux.Handle("GET /{$}", s.api(s.page))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "ok: %s\n", s.l.Model.Arch.Name)
	})
	mux.Handle("GET /api/model", s.api(s.model))
	mux.Handle("GET /api/inputs", s.api(s.inputList))
	mux.Handle("GET /api/thumb", s.api(s.thumb))
	mux.Handle("GET /api/input", s.api(s.inputImage))
	mux.Handle("POST /api/upload", s.api(s.upload))
	mux.Handle("GET /api/predict", s.api(s.predict))
	mux.Handle("GET /api/features", s.api(s.features))
	mux.Handle("GET /api/project", s.api(s.project))
	mux.Handle("GET /api/filters", s.api(s.filters))
	mux.Handle("GET /api/top9", s.api(s.top9))
	mux.Handle("GET /api/occlusion", s.api(s.occlusion))
	mux.Handle("GET /api/explain", s.api(s.explain))
	mux.Handle("/api/", s.api(func(w http.ResponseWriter, r *http.Request) error {
		if m, ok := apiMethods[r.URL.Path]; ok {
			w.Header().Set("Allow", m)
			return &httpError{http.StatusMethodNotAllowed, fmt.Sprintf("%s takes %s, not %s", r.URL.Path, m, r.Method)}
		}
		return notFound("no endpoint %s %s", r.Method, truncate(r.URL.Path, 60))
	}))
	return securityHeaders(mux)
}

func staticHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// securityHeaders keeps the page to its own origin's scripts and images.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'")
		h.ServeHTTP(w, r)
	})
}

// apiFunc is a handler that reports failure as an error: an *httpError
// for what the request got wrong (4xx), anything else is the server's (5xx).
type apiFunc func(w http.ResponseWriter, r *http.Request) error

func (s *server) api(f apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.stats.requests.Add(1)
		defer func() {
			if p := recover(); p != nil {
				s.fail(w, r, fmt.Errorf("internal error: %v", p))
			}
		}()
		if err := f(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := http.StatusInternalServerError, err.Error()
	var he *httpError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		code = he.code
	case errors.As(err, &mb):
		code, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("upload larger than %s; send a smaller picture", byteSize(s.opt.MaxUpload))
	case errors.Is(err, errBusy):
		code, msg = http.StatusServiceUnavailable, "the server is busy (too many requests waiting); try again"
		w.Header().Set("Retry-After", "1")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		code, msg = http.StatusServiceUnavailable, "request cancelled"
	}
	if code >= 500 {
		s.stats.failures.Add(1)
	}
	if s.opt.Log != nil && code >= 500 && code != http.StatusServiceUnavailable {
		s.opt.Log("%s %s: %d %s", r.Method, r.URL.RequestURI(), code, msg)
	}
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, err = w.Write(append(b, '\n'))
	return err
}

func writePNG(w http.ResponseWriter, img image.Image, cache bool) error {
	var buf bytes.Buffer
	if err := figure.WritePNG(&buf, img); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	if cache {
		w.Header().Set("Cache-Control", "private, max-age=3600")
	} else {
		w.Header().Set("Cache-Control", "no-store")
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// dataURL encodes an image as a PNG data: URL for JSON answers.
func dataURL(img image.Image) (string, error) {
	var buf bytes.Buffer
	if err := figure.WritePNG(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// intParam reads a whole number in [lo, hi]; def when absent.
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, badRequest("%s=%q: expected a whole number", name, truncate(v, 20))
	}
	if n < lo || n > hi {
		return 0, badRequest("%s=%d is out of range: expected %d to %d", name, n, lo, hi)
	}
	return n, nil
}

func boolParam(r *http.Request, name string) (bool, error) {
	switch v := r.URL.Query().Get(name); v {
	case "", "0", "false", "no":
		return false, nil
	case "1", "true", "yes":
		return true, nil
	default:
		return false, badRequest("%s=%q: expected 1 or 0", name, truncate(v, 20))
	}
}

// borrow runs f with a deconvnet from the pool.
func (s *server) borrow(ctx context.Context, f func(w *worker) error) error {
	w, err := s.pool.acquire(ctx)
	if err != nil {
		return err
	}
	defer s.pool.release(w)
	return f(w)
}

func (s *server) page(w http.ResponseWriter, r *http.Request) error {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, map[string]any{
		"Title": s.l.Model.Arch.Name,
		"About": s.l.About,
	}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, err := w.Write(buf.Bytes())
	return err
}

func (s *server) model(w http.ResponseWriter, r *http.Request) error {
	m := s.l.Model
	in := m.Arch.Input
	hasLRN, lrnOK := s.lrnBelow(m.NumLayers() - 1)
	src := ""
	if s.src != nil {
		src = s.src.Name()
	}
	first := ""
	for _, li := range s.layers() {
		if li.Conv {
			first = li.Name
			break
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"name": m.Arch.Name, "about": s.l.About, "input": map[string]int{"c": in[0], "h": in[1], "w": in[2]},
		"classes": len(s.l.Classes), "layers": s.layers(), "rules": []string{"deconvnet", "guided", "saliency"},
		"hasLRN": hasLRN, "lrnProjectable": lrnOK, "inputs": s.inputCount(), "source": src,
		"defaultLayer": m.TopConvLayer(), "firstConv": first,
		"maxUploadBytes": s.opt.MaxUpload, "indexImages": s.indexImages(), "index": s.indexInfo(),
		"explain": s.explainInfo(),
	})
}

func (s *server) inputList(w http.ResponseWriter, r *http.Request) error {
	n := s.inputCount()
	off, err := intParam(r, "offset", 0, 0, max(n, 1)-1)
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 48, 1, 500)
	if err != nil {
		return err
	}
	type item struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	items := []item{}
	for i := off; i < min(n, off+limit); i++ {
		name := fmt.Sprintf("#%d", i)
		if i < len(s.names) {
			name = s.names[i]
		}
		items = append(items, item{fmt.Sprintf("d%d", i), name})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"total": n, "offset": off, "items": items})
}

// displayScale is the whole-number factor that brings an input side to at
// least about target pixels.
func displayScale(side, target int) int { return max(1, (target+side-1)/max(side, 1)) }

func (s *server) thumb(w http.ResponseWriter, r *http.Request) error {
	in, err := s.input(r.Context(), r.URL.Query().Get("image"))
	if err != nil {
		return err
	}
	size, err := intParam(r, "size", 64, 8, 256)
	if err != nil {
		return err
	}
	return writePNG(w, fitImage(in.img, size), true)
}

func (s *server) inputImage(w http.ResponseWriter, r *http.Request) error {
	in, err := s.input(r.Context(), r.URL.Query().Get("image"))
	if err != nil {
		return err
	}
	return writePNG(w, in.img, true)
}

type classScore struct {
	Class int     `json:"class"`
	Name  string  `json:"name"`
	Prob  float64 `json:"prob"`
}

func (s *server) predict(w http.ResponseWriter, r *http.Request) error {
	in, err := s.input(r.Context(), r.URL.Query().Get("image"))
	if err != nil {
		return err
	}
	var logits []float32
	start := time.Now()
	err = s.borrow(r.Context(), func(wk *worker) error {
		logits, err = wk.forward(in)
		return err
	})
	if err != nil {
		return err
	}
	probs := zfnet.Softmax(logits)
	order := make([]int, len(probs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
	top := []classScore{}
	for _, c := range order[:min(5, len(order))] {
		top = append(top, classScore{c, s.className(c), probs[c]})
	}
	res := map[string]any{"image": in.id, "name": in.name, "top": top, "ms": msSince(start)}
	if in.label >= 0 {
		res["label"] = classScore{in.label, s.className(in.label), probs[in.label]}
	}
	return writeJSON(w, http.StatusOK, res)
}

func msSince(t time.Time) float64 { return math.Round(float64(time.Since(t).Microseconds())/100) / 10 }

func (s *server) className(c int) string {
	if c >= 0 && c < len(s.l.Classes) {
		return s.l.Classes[c]
	}
	return strconv.Itoa(c)
}

// features renders every map of a layer for an image into one sprite: maps
// in rows of cols tiles, each tile the map's h x w activations on one
// gray scale for the whole layer (lo black, hi white), so weak maps look
// weak.
func (s *server) features(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	in, err := s.input(r.Context(), q.Get("image"))
	if err != nil {
		return err
	}
	li, err := s.layer(q.Get("layer"))
	if err != nil {
		return err
	}
	var act []float32
	start := time.Now()
	err = s.borrow(r.Context(), func(wk *worker) error {
		if err := wk.ensure(in); err != nil {
			return err
		}
		t, err := wk.net.Activation(li.Name)
		if err != nil {
			return err
		}
		act = append([]float32(nil), t.Data().([]float32)...)
		return nil
	})
	if err != nil {
		return err
	}
	hw := li.H * li.W
	if len(act) != li.Maps*hw {
		return fmt.Errorf("layer %s: %d activations, expected %d maps of %dx%d", li.Name, len(act), li.Maps, li.H, li.W)
	}
	lo, hi := float32(0), float32(0)
	for _, v := range act {
		lo, hi = min(lo, v), max(hi, v)
	}
	span := hi - lo
	if span <= 0 {
		span = 1
	}
	cols := int(math.Ceil(math.Sqrt(float64(li.Maps))))
	rows := (li.Maps + cols - 1) / cols
	sprite := image.NewGray(image.Rect(0, 0, cols*li.W, rows*li.H))
	maxes := make([]float32, li.Maps)
	means := make([]float32, li.Maps)
	for m := 0; m < li.Maps; m++ {
		plane := act[m*hw : (m+1)*hw]
		ox, oy := (m%cols)*li.W, (m/cols)*li.H
		best, sum := plane[0], float32(0)
		for i, v := range plane {
			best, sum = max(best, v), sum+v
			sprite.Pix[(oy+i/li.W)*sprite.Stride+ox+i%li.W] = uint8(math.Round(float64(255 * (v - lo) / span)))
		}
		maxes[m], means[m] = best, sum/float32(hw)
	}
	url, err := dataURL(sprite)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"image": in.id, "layer": li.Name, "maps": li.Maps, "h": li.H, "w": li.W, "cols": cols, "rows": rows,
		"lo": lo, "hi": hi, "max": maxes, "mean": means, "sprite": url, "ms": msSince(start),
	})
}

// projectionRequest is the unit and method a projection asks for.
type projectionRequest struct {
	layer    layerInfo
	unit     int
	y, x     int
	strong   bool // no position given: the map's strongest activation
	opt      deconvnet.Options
	ruleName string
}

func (s *server) parseUnit(r *http.Request, needUnit bool) (projectionRequest, error) {
	q := r.URL.Query()
	var p projectionRequest
	var err error
	if p.layer, err = s.layer(q.Get("layer")); err != nil {
		return p, err
	}
	if q.Get("unit") == "" && needUnit {
		return p, badRequest("missing unit: give unit=0..%d (a feature map of %s)", p.layer.Maps-1, p.layer.Name)
	}
	if p.unit, err = intParam(r, "unit", -1, 0, p.layer.Maps-1); err != nil {
		return p, err
	}
	p.strong = q.Get("y") == "" && q.Get("x") == ""
	if !p.strong {
		if q.Get("y") == "" || q.Get("x") == "" {
			return p, badRequest("give both y and x (a position in %s's %dx%d maps), or neither for the strongest", p.layer.Name, p.layer.H, p.layer.W)
		}
		if p.y, err = intParam(r, "y", 0, 0, p.layer.H-1); err != nil {
			return p, err
		}
		if p.x, err = intParam(r, "x", 0, 0, p.layer.W-1); err != nil {
			return p, err
		}
	}
	p.ruleName = q.Get("rule")
	if p.ruleName == "" {
		p.ruleName = "deconvnet"
	}
	if p.opt.Rule, err = deconvnet.ParseRule(p.ruleName); err != nil {
		return p, badRequest("rule=%q: expected deconvnet, guided or saliency", truncate(p.ruleName, 20))
	}
	lrn, err := boolParam(r, "lrn")
	if err != nil {
		return p, err
	}
	if has, ok := s.lrnBelow(p.layer.Index); lrn && has {
		if !ok {
			return p, badRequest("lrn=1: %s's normalization does not follow a ReLU, so the projection cannot go through it; project with lrn=0 (as the paper does)", s.l.Model.Arch.Name)
		}
		p.opt.ThroughLRN = true
	}
	return p, nil
}

func (s *server) project(w http.ResponseWriter, r *http.Request) error {
	in, err := s.input(r.Context(), r.URL.Query().Get("image"))
	if err != nil {
		return err
	}
	p, err := s.parseUnit(r, true)
	if err != nil {
		return err
	}
	var proj []float32
	var picked deconvnet.Picked
	start := time.Now()
	err = s.borrow(r.Context(), func(wk *worker) error {
		if err := wk.ensure(in); err != nil {
			return err
		}
		if err := r.Context().Err(); err != nil {
			return err
		}
		ps, pk, err := s.projectOn(wk, p.layer.Name, []deconvnet.Target{{Map: p.unit, Y: p.y, X: p.x, Strongest: p.strong}}, p.opt)
		if err != nil {
			return err
		}
		proj, picked = ps[0], pk[0]
		return nil
	})
	if err != nil {
		return err
	}
	in3 := s.l.Model.Arch.Input
	field, err := deconvnet.ReceptiveField(s.l.Model, p.layer.Name, picked.Y, picked.X)
	if err != nil {
		return err
	}
	url, err := dataURL(figure.ProjectionImage(proj, in3[0], in3[1], in3[2]))
	if err != nil {
		return err
	}
	var peak float32
	for _, v := range proj {
		peak = max(peak, float32(math.Abs(float64(v))))
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"image": in.id, "layer": p.layer.Name, "unit": picked.Map, "y": picked.Y, "x": picked.X, "value": picked.Value,
		"rule": p.ruleName, "lrn": p.opt.ThroughLRN, "peak": peak,
		"field": map[string]int{"x0": field.Box.Min.X, "y0": field.Box.Min.Y, "x1": field.Box.Max.X, "y1": field.Box.Max.Y},
		"w":     in3[2], "h": in3[1], "projection": url, "ms": msSince(start),
	})
}

// filters draws a convolution's filters: with unit, the filter of that
// map (one tile per input channel, or one colour tile for RGB input); without,
// every filter of the layer (the first convolution by default).
func (s *server) filters(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	name := q.Get("layer")
	if name == "" {
		for _, li := range s.layers() {
			if li.Conv {
				name = li.Name
				break
			}
		}
	}
	li, err := s.layer(name)
	if err != nil {
		return err
	}
	conv, ok := s.l.Model.LayerAt(li.Index).(*nn.Conv2d)
	if !ok {
		return badRequest("layer %s is %s: only convolutions have filters to draw", li.Name, li.Kind)
	}
	if q.Get("unit") == "" {
		img, err := figure.FilterImage(conv.Weight)
		if err != nil {
			return err
		}
		return writePNG(w, img, false)
	}
	unit, err := intParam(r, "unit", 0, 0, li.Maps-1)
	if err != nil {
		return err
	}
	return writePNG(w, filterOfMap(conv, unit), false)
}

// filterOfMap draws map m's filter: its weights (In/Groups x k x k) on one
// scale, zero at gray; in colour when it reads three input channels.
func filterOfMap(conv *nn.Conv2d, m int) image.Image {
	wt := conv.Weight.Data()
	in := conv.In / conv.GroupCount()
	k := conv.Kernel
	f := wt[m*in*k*k : (m+1)*in*k*k]
	factor := max(1, 48/k)
	if in == 3 { // the channels on one scale: a projection's rendering
		return figure.Scale(figure.ProjectionImage(f, 3, k, k), factor)
	}
	peak := figure.Peak(f)
	tiles := make([]image.Image, in)
	for c := range tiles {
		tiles[c] = figure.Scale(figure.SignedGray(f[c*k*k:(c+1)*k*k], k, k, peak), factor)
	}
	cols := int(math.Ceil(math.Sqrt(float64(in))))
	return figure.Grid(tiles, cols, 2, color.RGBA{40, 40, 40, 255})
}

// fitImage scales a picture so its longer side is about size pixels:
// nearest-neighbour up by whole factors, smooth down.
func fitImage(img image.Image, size int) image.Image {
	b := img.Bounds()
	side := max(b.Dx(), b.Dy())
	if side <= size {
		return figure.Scale(img, max(1, size/max(side, 1)))
	}
	return downscale(img, size*b.Dx()/side, size*b.Dy()/side)
}

// stream writes newline-delimited JSON objects and flushes each, for
// answers that report progress before their result.
type stream struct {
	w       http.ResponseWriter
	flusher http.Flusher
	started bool
}

func newStream(w http.ResponseWriter) *stream {
	f, _ := w.(http.Flusher)
	return &stream{w: w, flusher: f}
}

func (st *stream) send(v any) error {
	if !st.started {
		st.w.Header().Set("Content-Type", "application/x-ndjson")
		st.w.Header().Set("Cache-Control", "no-store")
		st.w.WriteHeader(http.StatusOK)
		st.started = true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := st.w.Write(append(b, '\n')); err != nil {
		return err
	}
	if st.flusher != nil {
		st.flusher.Flush()
	}
	return nil
}

// finish ends a stream: after the first line an error becomes a last line
// {"error": ...} (the status is already sent), before it an ordinary error
// answer.
func (st *stream) finish(err error) error {
	if err == nil || !st.started {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return nil // the browser left
	}
	st.send(map[string]string{"error": err.Error()})
	return nil
}

func progressLine(stage string, done, total int) map[string]any {
	return map[string]any{"progress": map[string]any{"stage": stage, "done": done, "total": total}}
}

// byteSize writes a size in MiB or KiB.
func byteSize(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
