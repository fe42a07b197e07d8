package main

import (
	"context"
	"fmt"
	"image"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	xdraw "golang.org/x/image/draw"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/nn"
	"github.com/zfnet/zfnet/zfnet"
)

// "Explain a class" (issue 15): the methods that came after the deconvnet,
// for the current input and one class, on a borrowed worker.
//
//	GET /api/explain ?image&method[&class][&layer][&rule&samples&noise&seed][&steps&baseline][&stream=1]
//
// method is gradcam (Grad-CAM at layer, default the last convolution),
// guided-gradcam (Grad-CAM times guided backpropagation), smoothgrad (the
// walk of rule, default saliency, averaged over samples noisy copies with
// noise sigma a fraction of the input's range, seeded) or
// integrated-gradients (steps from a baseline: black, mean, blur or
// gray). class defaults to the predicted one. The answer is JSON: the
// class and the prediction, panels (title and PNG data: URL each, shown
// beside the input), and the method's numbers: Grad-CAM's coarse map,
// SmoothGrad's sigma, integrated gradients' completeness error. With
// stream=1 it comes as the last line of an NDJSON stream of progress lines
// (the page's way: SmoothGrad and integrated gradients can take a while on
// a 224x224 network).

// Explanation methods, in the page's order.
const (
	methodGradCAM       = "gradcam"
	methodGuidedGradCAM = "guided-gradcam"
	methodSmoothGrad    = "smoothgrad"
	methodIntegrated    = "integrated-gradients"
)

var explainMethods = []string{methodGradCAM, methodGuidedGradCAM, methodSmoothGrad, methodIntegrated}

// explainBaselines are integrated gradients' baselines (fillPicture's).
var explainBaselines = []string{deconvnet.BaselineBlack, deconvnet.BaselineMean, deconvnet.BaselineBlur, "gray"}

// Bounds of the explanation's work: one forward and one backward pass per
// sample or step, on one worker, for as long as the client waits.
const (
	maxExplainSamples = 200 // SmoothGrad's paper: about 50
	maxExplainSteps   = 300 // integrated gradients' paper: 20 to 300
)

// explainDefaults are light settings. On a 224x224 network a forward and
// backward pass takes about 0.15 s on 2 idle cores (0.4-0.7 s on this
// project's busy machine), so SmoothGrad and integrated gradients default
// to 4 samples and 4 steps (5 and 6 passes: a click within a couple of
// seconds; raise them in the page); on small inputs, where a pass takes a
// millisecond, the defaults are closer to the papers' (25 samples, 32
// steps).
type explainDefaults struct {
	Samples  int     `json:"samples"`
	Noise    float64 `json:"noise"`
	Seed     int     `json:"seed"`
	Rule     string  `json:"rule"`
	Steps    int     `json:"steps"`
	Baseline string  `json:"baseline"`
	Layer    string  `json:"layer"`
}

func (s *server) explainDefaults() explainDefaults {
	d := explainDefaults{Samples: 25, Noise: 0.15, Seed: 1, Rule: "saliency", Steps: 32, Baseline: deconvnet.BaselineBlack,
		Layer: s.l.Model.TopConvLayer()}
	if in := s.l.Model.Arch.Input; in[1]*in[2] > 64*64 {
		d.Samples, d.Steps = 4, 4
	}
	return d
}

// camLayers are the layers Grad-CAM can weigh: those with feature maps
// (convolutions, pooling, normalization) below the logits.
func (s *server) camLayers() []string {
	var out []string
	for _, li := range s.layers() {
		if s.camLayerOK(li) {
			out = append(out, li.Name)
		}
	}
	return out
}

// camLayerOK: below every fully connected layer (whose outputs are flat).
func (s *server) camLayerOK(li layerInfo) bool {
	for _, l := range s.l.Model.Layers()[:li.Index+1] {
		if _, fc := l.(*nn.Linear); fc {
			return false
		}
	}
	return li.Index < s.l.Model.NumLayers()-1
}

// explainInfo is what /api/model tells the page about the panel.
func (s *server) explainInfo() map[string]any {
	return map[string]any{"methods": explainMethods, "baselines": explainBaselines, "layers": s.camLayers(),
		"defaults": s.explainDefaults(), "maxSamples": maxExplainSamples, "maxSteps": maxExplainSteps}
}

// explainRequest is a parsed /api/explain query.
type explainRequest struct {
	method   string
	class    int // -1: the predicted class
	layer    string
	rule     deconvnet.Rule
	ruleName string
	samples  int
	noise    float64
	seed     int
	steps    int
	baseline string
}

// floatParam reads a finite number in [lo, hi]; def when absent.
func floatParam(r *http.Request, name string, def, lo, hi float64) (float64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, badRequest("%s=%q: expected a number", name, truncate(v, 20))
	}
	if f < lo || f > hi {
		return 0, badRequest("%s=%g is out of range: expected %g to %g", name, f, lo, hi)
	}
	return f, nil
}

func (s *server) parseExplain(r *http.Request) (explainRequest, error) {
	q := r.URL.Query()
	def := s.explainDefaults()
	e := explainRequest{method: q.Get("method")}
	var err error
	switch e.method {
	case methodGradCAM, methodGuidedGradCAM, methodSmoothGrad, methodIntegrated:
	case "":
		return e, badRequest("missing method: give method=%s", strings.Join(explainMethods, ", "))
	default:
		return e, badRequest("method=%q: expected %s", truncate(e.method, 30), strings.Join(explainMethods, ", "))
	}
	k := s.l.Model.Arch.Classes
	if e.class, err = intParam(r, "class", -1, 0, k-1); err != nil {
		return e, err
	}
	e.layer = q.Get("layer")
	if e.layer == "" {
		e.layer = def.Layer
	}
	li, err := s.layer(e.layer)
	if err != nil {
		return e, err
	}
	if !s.camLayerOK(li) {
		return e, badRequest("layer=%s is %s: Grad-CAM weighs feature maps; give one of %s", li.Name, li.Kind, strings.Join(s.camLayers(), ", "))
	}
	e.ruleName = q.Get("rule")
	if e.ruleName == "" {
		e.ruleName = def.Rule
	}
	if e.rule, err = deconvnet.ParseRule(e.ruleName); err != nil {
		return e, badRequest("rule=%q: expected deconvnet, guided or saliency", truncate(e.ruleName, 20))
	}
	if e.samples, err = intParam(r, "samples", def.Samples, 1, maxExplainSamples); err != nil {
		return e, err
	}
	if e.noise, err = floatParam(r, "noise", def.Noise, 0, 1); err != nil {
		return e, err
	}
	if e.seed, err = intParam(r, "seed", def.Seed, 0, math.MaxInt32); err != nil {
		return e, err
	}
	if e.steps, err = intParam(r, "steps", def.Steps, 1, maxExplainSteps); err != nil {
		return e, err
	}
	e.baseline = q.Get("baseline")
	if e.baseline == "" {
		e.baseline = def.Baseline
	}
	found := false
	for _, b := range explainBaselines {
		found = found || b == e.baseline
	}
	if !found {
		return e, badRequest("baseline=%q: expected %s", truncate(e.baseline, 20), strings.Join(explainBaselines, ", "))
	}
	return e, nil
}

// explainPanel is one picture of an explanation.
type explainPanel struct {
	Title string `json:"title"`
	Image string `json:"image"` // PNG data: URL
}

// buildGuard holds buildMu while a method may build a projection graph on
// the worker's deconvnet: the first time the worker runs that kind of walk.
// release may be called early (once the graphs exist) and again.
func (s *server) buildGuard(wk *worker, key string) (release func()) {
	if wk.explained[key] {
		return func() {}
	}
	s.buildMu.Lock()
	var once sync.Once
	return func() { once.Do(s.buildMu.Unlock) }
}

// explain answers /api/explain: JSON, or with stream=1 NDJSON progress
// lines (SmoothGrad's samples, integrated gradients' steps) and then
// {"result": ...}, as /api/occlusion.
func (s *server) explain(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	in, err := s.input(ctx, r.URL.Query().Get("image"))
	if err != nil {
		return err
	}
	e, err := s.parseExplain(r)
	if err != nil {
		return err
	}
	streaming, err := boolParam(r, "stream")
	if err != nil {
		return err
	}
	if !streaming {
		res, err := s.explainOn(ctx, in, e, nil)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, res)
	}
	st := newStream(w)
	last := time.Now()
	res, err := s.explainOn(ctx, in, e, func(stage string, done, total int) {
		if time.Since(last) > 200*time.Millisecond || done == total {
			last = time.Now()
			st.send(progressLine(stage, done, total)) // a client gone ends ctx, which stops the work
		}
	})
	if err != nil {
		return st.finish(err)
	}
	return st.finish(st.send(map[string]any{"result": res}))
}

// explainOn computes an explanation on a borrowed worker; progress, if not
// nil, hears about SmoothGrad's samples and integrated gradients' steps.
func (s *server) explainOn(ctx context.Context, in *serveInput, e explainRequest, progress func(stage string, done, total int)) (map[string]any, error) {
	m := s.l.Model
	h, wd := m.Arch.Input[1], m.Arch.Input[2]
	side := max(h, wd)
	scale := displayScale(side, 168)
	var baseline []float32
	if e.method == methodIntegrated {
		var err error
		if baseline, err = fillPicture(s.l, e.baseline, in.x, max(1, float64(side)/20)); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	r, err := s.runExplain(ctx, in, &e, baseline, progress)
	if err != nil {
		return nil, err
	}
	ms := msSince(start)
	probs := zfnet.Softmax(r.logits)
	pred, _ := zfnet.Argmax(r.logits)
	res := map[string]any{"image": in.id, "method": e.method}
	res["class"] = classScore{e.class, s.className(e.class), probs[e.class]}
	res["predicted"] = classScore{pred, s.className(pred), probs[pred]}
	res["logit"] = r.logits[e.class]
	res["w"], res["h"] = wd, h
	var imgs []titledImage
	switch e.method {
	case methodGradCAM, methodGuidedGradCAM:
		imgs = s.gradCAMResult(e, r.cam, scale, res)
	case methodSmoothGrad:
		imgs = s.smoothGradResult(e, r.sg, res)
	case methodIntegrated:
		imgs = s.integratedResult(e, r.ig, res)
	}
	panels, err := explainPanels(imgs, side, scale)
	if err != nil {
		return nil, err
	}
	res["panels"], res["ms"] = panels, ms
	return res, nil
}

// explainResults is what one method computed for one input.
type explainResults struct {
	logits []float32
	cam    *deconvnet.GradCAMResult
	sg     *deconvnet.SmoothGradResult
	ig     *deconvnet.IntegratedGradientsResult
}

// runExplain runs e's method on a borrowed worker, building its graphs
// under the build guard (released once a first pass has built them);
// a negative e.class becomes the predicted class.
func (s *server) runExplain(ctx context.Context, in *serveInput, e *explainRequest, baseline []float32, progress func(stage string, done, total int)) (*explainResults, error) {
	r := &explainResults{}
	err := s.borrow(ctx, func(wk *worker) error {
		defer func() { wk.last = "" }() // the methods run other inputs (noisy copies, path points)
		var err error
		if r.logits, err = wk.logitsOf(in); err != nil {
			return err
		}
		if e.class < 0 {
			if e.class, err = zfnet.Argmax(r.logits); err != nil {
				return err
			}
		}
		if wk.explained == nil {
			wk.explained = map[string]bool{}
		}
		var key string
		switch e.method {
		case methodGradCAM, methodGuidedGradCAM:
			key = "gradcam/" + e.layer
		case methodSmoothGrad:
			key = "walk/" + e.rule.String()
		case methodIntegrated:
			key = "walk/" + deconvnet.Saliency.String()
		}
		release := s.buildGuard(wk, key)
		defer release()
		if err := ctx.Err(); err != nil {
			return err
		}
		stage := map[string]string{methodSmoothGrad: "SmoothGrad: noisy samples", methodIntegrated: "integrated gradients: steps"}[e.method]
		step := func(done, total int) {
			release() // the graphs exist once a pass is done
			if progress != nil {
				progress(stage, done, total)
			}
		}
		if err := r.run(ctx, wk.net, in.x, *e, baseline, step); err != nil {
			return err
		}
		wk.explained[key] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// run computes e's method on x with net.
func (r *explainResults) run(ctx context.Context, net *deconvnet.Net, x []float32, e explainRequest, baseline []float32, step func(done, total int)) error {
	var err error
	switch e.method {
	case methodGradCAM, methodGuidedGradCAM:
		rs, err := deconvnet.GradCAM(net, [][]float32{x}, deconvnet.GradCAMConfig{Layer: e.layer, Classes: []int{e.class}})
		if err != nil {
			return err
		}
		r.cam = rs[0]
	case methodSmoothGrad:
		// SmoothGrad walks through LRN as CompareMethods does, so
		// that only the ReLU rule differs between the rules.
		r.sg, err = deconvnet.SmoothGrad(net, x, deconvnet.SmoothGradConfig{Class: e.class, Samples: e.samples, Noise: e.noise,
			Seed: uint64(e.seed), Options: deconvnet.Options{Rule: e.rule, ThroughLRN: true}, Progress: step, Context: ctx})
	case methodIntegrated:
		r.ig, err = deconvnet.IntegratedGradients(net, x, deconvnet.IntegratedGradientsConfig{Class: e.class,
			Baseline: baseline, BaselineName: e.baseline, Steps: e.steps, Progress: step, Context: ctx})
	}
	return err
}

// titledImage is one picture of an explanation, before encoding.
type titledImage struct {
	title string
	img   image.Image
}

// explainPanels encodes the pictures for the page, each enlarged to the
// display size unless it is already (Grad-CAM's heat image is drawn at
// that size).
func explainPanels(imgs []titledImage, side, scale int) ([]explainPanel, error) {
	var panels []explainPanel
	for _, t := range imgs {
		img := t.img
		if b := img.Bounds(); max(b.Dx(), b.Dy()) <= side {
			img = figure.Scale(img, scale)
		}
		u, err := dataURL(img)
		if err != nil {
			return nil, err
		}
		panels = append(panels, explainPanel{t.title, u})
	}
	return panels, nil
}

// gradCAMResult adds Grad-CAM's (or Guided Grad-CAM's) numbers and caption
// to res and returns its pictures.
func (s *server) gradCAMResult(e explainRequest, cam *deconvnet.GradCAMResult, scale int, res map[string]any) []titledImage {
	in := s.l.Model.Arch.Input
	c, h, wd := in[0], in[1], in[2]
	heat := cam.HeatImage(s.l.Mean, scale)
	var imgs []titledImage
	if e.method == methodGradCAM {
		coarse := nearest(figure.Heatmap(cam.Map, cam.MapH, cam.MapW), wd*scale, h*scale)
		imgs = []titledImage{{fmt.Sprintf("Grad-CAM (%s) over the input", e.layer), heat}, {fmt.Sprintf("Grad-CAM map, %dx%d", cam.MapH, cam.MapW), coarse}}
	} else {
		imgs = []titledImage{{"Guided Grad-CAM", figure.ProjectionImage(cam.GuidedGradCAM, c, h, wd)},
			{"guided backprop", figure.ProjectionImage(cam.Guided, c, h, wd)}, {fmt.Sprintf("Grad-CAM (%s)", e.layer), heat}}
	}
	res["layer"], res["mapH"], res["mapW"], res["map"], res["score"] = e.layer, cam.MapH, cam.MapW, cam.Map, cam.Score
	res["caption"] = fmt.Sprintf("Grad-CAM at %s: its %d maps weighted by the mean gradient of the class logit, rectified, upsampled "+
		"(dark blue 0 to yellow the largest value)", e.layer, len(cam.Weights))
	if e.method == methodGuidedGradCAM {
		res["caption"] = fmt.Sprintf("Guided Grad-CAM: guided backpropagation of the class logit times Grad-CAM at %s (gray is zero)", e.layer)
	}
	return imgs
}

// smoothGradResult adds SmoothGrad's settings and caption to res and
// returns its pictures.
func (s *server) smoothGradResult(e explainRequest, sg *deconvnet.SmoothGradResult, res map[string]any) []titledImage {
	in := s.l.Model.Arch.Input
	c, h, wd := in[0], in[1], in[2]
	res["rule"], res["samples"], res["noise"], res["seed"], res["sigma"] = e.ruleName, e.samples, e.noise, e.seed, sg.Sigma
	res["caption"] = fmt.Sprintf("SmoothGrad: the %s walk from the class logit averaged over %d copies with Gaussian noise of sigma "+
		"%.0f%% of the input's range (seed %d); signed (gray is zero) and as the largest magnitude over the channels", e.ruleName, e.samples,
		100*e.noise, e.seed)
	return []titledImage{{"SmoothGrad (" + e.ruleName + ")", figure.ProjectionImage(sg.Map, c, h, wd)},
		{"SmoothGrad |.|", figure.MagnitudeImage(sg.Map, c, h, wd)}, {e.ruleName + ", no noise", figure.ProjectionImage(sg.Plain, c, h, wd)}}
}

// integratedResult adds integrated gradients' completeness check and
// caption to res and returns its pictures.
func (s *server) integratedResult(e explainRequest, ig *deconvnet.IntegratedGradientsResult, res map[string]any) []titledImage {
	in := s.l.Model.Arch.Input
	c, h, wd := in[0], in[1], in[2]
	rel := ig.RelativeError
	if math.IsInf(rel, 0) {
		rel = -1 // F(x) = F(baseline): no relative error
	}
	res["steps"], res["baseline"], res["fx"], res["fBaseline"], res["sum"] = e.steps, e.baseline, ig.FX, ig.FBaseline, ig.Sum
	res["completenessError"], res["relativeError"] = ig.CompletenessError, rel
	res["caption"] = fmt.Sprintf("Integrated gradients of the class logit along %d steps from the %s baseline: the attributions add "+
		"up to %.4g, F(x) - F(baseline) = %.4g - %.4g; completeness error %.3g", e.steps, e.baseline, ig.Sum, ig.FX, ig.FBaseline,
		ig.CompletenessError)
	if rel >= 0 {
		res["caption"] = res["caption"].(string) + fmt.Sprintf(" (%.1f%%; more steps make it smaller)", 100*rel)
	}
	return []titledImage{{"integrated gradients", figure.ProjectionImage(ig.Attributions, c, h, wd)},
		{"|attribution|", figure.MagnitudeImage(ig.Attributions, c, h, wd)},
		{"baseline (" + e.baseline + ")", data.ToImage(ig.Baseline, s.l.Pre.Geometry, s.l.Mean)}}
}

// nearest resizes to w x h by nearest-neighbour sampling (a coarse map
// shown cell by cell at the input's display size).
func nearest(img image.Image, w, h int) image.Image {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.NearestNeighbor.Scale(out, out.Bounds(), img, img.Bounds(), xdraw.Src, nil)
	return out
}
