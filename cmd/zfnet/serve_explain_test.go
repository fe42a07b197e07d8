package main

import (
	"context"
	"image"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/figure"
)

// TestServeExplain: every method of /api/explain answers panels that are
// not blank, for the predicted class and for a chosen one, under each
// SmoothGrad rule and integrated-gradients baseline; Grad-CAM's answer is
// deconvnet.GradCAM's for the same input and class.
func TestServeExplain(t *testing.T) {
	s, ts := newServeTest(t, defaultServeOptions())
	mi := get(t, ts, "/api/model").json(t)
	ex, ok := mi["explain"].(map[string]any)
	if !ok || len(ex["methods"].([]any)) != 4 || ex["defaults"].(map[string]any)["layer"] != "conv5" {
		t.Fatalf("/api/model explain: %v", mi["explain"])
	}
	pred := get(t, ts, "/api/predict?image=d0").json(t)
	top := pred["top"].([]any)[0].(map[string]any)
	checkPanels := func(path string, want int) map[string]any {
		t.Helper()
		a := get(t, ts, path)
		mustOK(t, a, path)
		r := a.json(t)
		ps, _ := r["panels"].([]any)
		if len(ps) != want {
			t.Fatalf("%s: %d panels, expected %d", path, len(ps), want)
		}
		for _, p := range ps {
			p := p.(map[string]any)
			img := decodeDataURL(t, p["image"])
			// A black or gray baseline is blank by nature.
			if n := distinctGray(img); n <= 2 && !strings.HasPrefix(p["title"].(string), "baseline") {
				t.Errorf("%s: panel %q is blank (%d gray levels)", path, p["title"], n)
			}
			if b := img.Bounds(); b.Dx() < 160 || b.Dy() < 160 {
				t.Errorf("%s: panel %q is %v; expected the display size (about 168 pixels)", path, p["title"], b)
			}
		}
		if r["caption"] == "" || r["ms"] == nil {
			t.Errorf("%s: no caption or time: %v", path, r)
		}
		return r
	}
	for _, c := range []struct {
		query  string
		panels int
	}{
		{"method=gradcam", 2},
		{"method=gradcam&layer=conv3", 2},
		{"method=gradcam&layer=pool5", 2},
		{"method=guided-gradcam", 3},
		{"method=smoothgrad", 3},
		{"method=smoothgrad&rule=guided&samples=3&noise=0.2&seed=5", 3},
		{"method=smoothgrad&rule=deconvnet&samples=2", 3},
		{"method=integrated-gradients", 3},
		{"method=integrated-gradients&baseline=mean&steps=8", 3},
		{"method=integrated-gradients&baseline=blur&steps=4", 3},
		{"method=integrated-gradients&baseline=gray&steps=4", 3},
	} {
		r := checkPanels("/api/explain?image=d0&"+c.query, c.panels)
		cls := r["class"].(map[string]any)
		if cls["class"] != top["class"] || r["predicted"].(map[string]any)["class"] != top["class"] {
			t.Errorf("%s: explains class %v (predicted %v); expected the predicted class %v", c.query, cls, r["predicted"], top)
		}
	}
	// A chosen class, and the completeness check.
	r := checkPanels("/api/explain?image=d0&method=integrated-gradients&class=3&steps=64&baseline=black", 3)
	if r["class"].(map[string]any)["class"].(float64) != 3 {
		t.Errorf("class=3 explains %v", r["class"])
	}
	ce, sum, fx, fb := r["completenessError"].(float64), r["sum"].(float64), r["fx"].(float64), r["fBaseline"].(float64)
	if math.Abs(ce-(sum-(fx-fb))) > 1e-6*(1+math.Abs(sum)) {
		t.Errorf("completeness error %g is not sum - (F(x) - F(x')) = %g - (%g - %g)", ce, sum, fx, fb)
	}
	if rel := r["relativeError"].(float64); rel > 0.1 {
		t.Errorf("64 steps: completeness error %.1f%%; expected within 10%%", 100*rel)
	}
	if !strings.Contains(r["caption"].(string), "completeness error") {
		t.Errorf("caption %q does not give the completeness error", r["caption"])
	}
	// With stream=1: progress lines, then the result.
	for _, q := range []string{"method=smoothgrad&samples=30", "method=integrated-gradients&steps=30", "method=gradcam"} {
		a := get(t, ts, "/api/explain?image=d0&stream=1&"+q)
		mustOK(t, a, q+" streamed")
		if a.ct != "application/x-ndjson" {
			t.Errorf("%s&stream=1: content type %q", q, a.ct)
		}
		ls := a.lines(t)
		res, ok := ls[len(ls)-1]["result"].(map[string]any)
		if !ok || len(res["panels"].([]any)) == 0 {
			t.Fatalf("%s&stream=1: last line %v", q, ls[len(ls)-1])
		}
		if p, _ := ls[0]["progress"].(map[string]any); !strings.HasPrefix(q, "method=gradcam") && (p == nil || p["total"].(float64) != 30) {
			t.Errorf("%s&stream=1: first line %v; expected progress out of 30", q, ls[0])
		}
	}
	// An upload too.
	up := postUpload(t, ts, "seven.png", pngBytes(t, testDigit(50, 50)))
	mustOK(t, up, "upload")
	checkPanels("/api/explain?method=gradcam&image="+up.json(t)["id"].(string), 2)

	// Grad-CAM as the server computes it is deconvnet.GradCAM's.
	in, err := s.input(context.Background(), "d5")
	if err != nil {
		t.Fatal(err)
	}
	a := get(t, ts, "/api/explain?image=d5&method=gradcam&layer=conv4&class=2")
	mustOK(t, a, "gradcam d5")
	got := a.json(t)
	d, err := deconvnet.New(s.l.Model, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s.buildMu.Lock() // the server's workers build graphs under it
	want, err := deconvnet.GradCAM(d, [][]float32{in.x}, deconvnet.GradCAMConfig{Layer: "conv4", Classes: []int{2}})
	s.buildMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	w := want[0]
	gm, _ := got["map"].([]any)
	if got["mapH"].(float64) != float64(w.MapH) || got["mapW"].(float64) != float64(w.MapW) || len(gm) != len(w.Map) {
		t.Fatalf("Grad-CAM map %vx%v (%d values); deconvnet.GradCAM's is %dx%d", got["mapH"], got["mapW"], len(gm), w.MapH, w.MapW)
	}
	_, peak := figure.MinMax(w.Map)
	for i, v := range gm {
		if math.Abs(v.(float64)-w.Map[i]) > 1e-5*(1+peak) {
			t.Fatalf("Grad-CAM map value %d: served %g, deconvnet.GradCAM %g", i, v, w.Map[i])
		}
	}
	if math.Abs(got["score"].(float64)-float64(w.Score)) > 1e-4*(1+math.Abs(float64(w.Score))) {
		t.Errorf("score %v, deconvnet.GradCAM's %v", got["score"], w.Score)
	}
	heat := decodeDataURL(t, got["panels"].([]any)[0].(map[string]any)["image"])
	if diff := maxPixelDiff(heat, w.HeatImage(s.l.Mean, displayScale(28, 168))); diff > 2 {
		t.Errorf("the served Grad-CAM picture differs from deconvnet's HeatImage by up to %d levels", diff)
	}
	if n := s.stats.failures.Load(); n != 0 {
		t.Errorf("%d requests failed with 5xx", n)
	}
}

// maxPixelDiff is the largest difference of two same-sized images' RGB
// components (255 when the sizes differ).
func maxPixelDiff(a, b image.Image) int {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 255
	}
	worst := 0
	ab, bb := a.Bounds(), b.Bounds()
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			for _, d := range []int{int(r1>>8) - int(r2>>8), int(g1>>8) - int(g2>>8), int(b1>>8) - int(b2>>8)} {
				worst = max(worst, max(d, -d))
			}
		}
	}
	return worst
}

// TestServeExplainBadParameters: what a request gets wrong is a 4xx with a
// message that says what to give, never a 5xx.
func TestServeExplainBadParameters(t *testing.T) {
	s, ts := newServeTest(t, defaultServeOptions())
	for _, c := range []struct {
		path string
		code int
		msg  string
	}{
		{"/api/explain?image=d0", 400, "missing method: give method=gradcam, guided-gradcam, smoothgrad, integrated-gradients"},
		{"/api/explain?image=d0&method=lime", 400, `method="lime": expected gradcam`},
		{"/api/explain?image=d0&method=GradCAM", 400, "expected gradcam"},
		{"/api/explain?method=gradcam", 400, "missing image"},
		{"/api/explain?image=d10000&method=gradcam", 404, "d0 to d9999"},
		{"/api/explain?image=d0&method=gradcam&class=10", 400, "class=10 is out of range: expected 0 to 9"},
		{"/api/explain?image=d0&method=gradcam&class=-1", 400, "class=-1 is out of range"},
		{"/api/explain?image=d0&method=gradcam&class=seven", 400, "class=\"seven\": expected a whole number"},
		{"/api/explain?image=d0&method=gradcam&layer=fc6", 400, "layer=fc6 is fully connected: Grad-CAM weighs feature maps; give one of conv1"},
		{"/api/explain?image=d0&method=gradcam&layer=fc8", 400, "Grad-CAM weighs feature maps"},
		{"/api/explain?image=d0&method=guided-gradcam&layer=relu5", 400, `unknown layer "relu5"`},
		{"/api/explain?image=d0&method=gradcam&layer=nope", 400, `unknown layer "nope"`},
		{"/api/explain?image=d0&method=integrated-gradients&steps=0", 400, "steps=0 is out of range: expected 1 to 300"},
		{"/api/explain?image=d0&method=integrated-gradients&steps=301", 400, "steps=301 is out of range"},
		{"/api/explain?image=d0&method=integrated-gradients&steps=1e3", 400, "steps=\"1e3\": expected a whole number"},
		{"/api/explain?image=d0&method=integrated-gradients&baseline=white", 400, `baseline="white": expected black, mean, blur, gray`},
		{"/api/explain?image=d0&method=smoothgrad&samples=0", 400, "samples=0 is out of range: expected 1 to 200"},
		{"/api/explain?image=d0&method=smoothgrad&samples=100000", 400, "samples=100000 is out of range"},
		{"/api/explain?image=d0&method=smoothgrad&noise=2", 400, "noise=2 is out of range: expected 0 to 1"},
		{"/api/explain?image=d0&method=smoothgrad&noise=NaN", 400, `noise="NaN": expected a number`},
		{"/api/explain?image=d0&method=smoothgrad&noise=-0.1", 400, "out of range"},
		{"/api/explain?image=d0&method=smoothgrad&rule=lrp", 400, "expected deconvnet, guided or saliency"},
		{"/api/explain?image=d0&method=smoothgrad&seed=-4", 400, "seed=-4 is out of range"},
		{"/api/explain?image=d0&method=smoothgrad&stream=maybe", 400, `stream="maybe": expected 1 or 0`},
		{"/api/explain?image=d0&method=smoothgrad&samples=0&stream=1", 400, "samples=0 is out of range"},
	} {
		a := get(t, ts, c.path)
		msg, _ := a.json(t)["error"].(string)
		if a.code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("GET %s: %d %q; expected %d with %q", c.path, a.code, msg, c.code, c.msg)
		}
	}
	resp, err := ts.Client().Post(ts.URL+"/api/explain?image=d0&method=gradcam", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
		t.Errorf("POST /api/explain: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if n := s.stats.failures.Load(); n != 0 {
		t.Errorf("%d requests failed with 5xx", n)
	}
}

// TestServeExplainCancel: an explanation stops between its passes when its
// client goes away, hands its worker back, and the worker answers the
// next request (a full one, so no half-built state is left behind).
func TestServeExplainCancel(t *testing.T) {
	opt := defaultServeOptions()
	opt.Workers = 1
	s, ts := newServeTest(t, opt)
	full := func(q string) time.Duration {
		start := time.Now()
		mustOK(t, get(t, ts, "/api/explain?image=d1&"+q), q)
		return time.Since(start)
	}
	full("method=smoothgrad&samples=2") // builds its graphs
	for _, q := range []string{"method=smoothgrad&samples=200", "method=integrated-gradients&steps=300"} {
		whole := full(q)
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/explain?image=d2&"+q, nil)
		done := make(chan struct{})
		go func() {
			if resp, err := ts.Client().Do(req); err == nil {
				resp.Body.Close()
			}
			close(done)
		}()
		time.Sleep(whole / 10)
		cancel()
		<-done
		start := time.Now()
		mustOK(t, get(t, ts, "/api/predict?image=d3"), "predict after a cancelled explanation")
		if d := time.Since(start); d > whole/2+200*time.Millisecond {
			t.Errorf("%s: the next request waited %v after the cancel; the whole explanation takes %v", q, d, whole)
		}
	}
	// The worker is whole after the cancels.
	a := get(t, ts, "/api/explain?image=d2&method=gradcam&class=1")
	mustOK(t, a, "gradcam after the cancels")
	// The cancelled requests are logged as 503 "request cancelled" (their
	// clients are gone); nothing else failed.
	if n := s.stats.failures.Load(); n != 2 {
		t.Errorf("%d requests failed with 5xx; expected the 2 cancelled", n)
	}
}
