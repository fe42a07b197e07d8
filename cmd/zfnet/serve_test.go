package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The server's tests run on the tiny model the CLI tests train (tinyRun:
// zfnet-small's stages at 8 maps, trained on 1024 MNIST digits) with the
// MNIST test split to browse.

var (
	serveLoadOnce sync.Once
	serveLoaded   *loaded
	serveLoadErr  error
)

func serveModel(t testing.TB) *loaded {
	t.Helper()
	ck := tinyRun(t.(*testing.T))
	serveLoadOnce.Do(func() {
		mf := modelFlags{checkpoint: ck}
		serveLoaded, serveLoadErr = mf.load(false)
	})
	if serveLoadErr != nil {
		t.Fatalf("loading the tiny model: %v", serveLoadErr)
	}
	return serveLoaded
}

// newServeTest starts the handlers on a loopback test server.
func newServeTest(t *testing.T, opt serveOptions) (*server, *httptest.Server) {
	t.Helper()
	s, err := newServer(serveModel(t), opt)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.handler())
	t.Cleanup(func() {
		ts.Close()
		if err := s.Close(); err != nil {
			t.Errorf("closing the server: %v", err)
		}
	})
	return s, ts
}

type answer struct {
	code int
	body []byte
	ct   string
}

func get(t testing.TB, ts *httptest.Server, path string) answer {
	t.Helper()
	resp, err := ts.Client().Get(ts.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading: %v", path, err)
	}
	return answer{resp.StatusCode, b, resp.Header.Get("Content-Type")}
}

func (a answer) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("not JSON (%v): %.300s", err, a.body)
	}
	return m
}

// lines splits an NDJSON stream into objects.
func (a answer) lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(a.body))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("stream line not JSON (%v): %.300s", err, sc.Bytes())
		}
		out = append(out, m)
	}
	return out
}

func mustOK(t testing.TB, a answer, what string) {
	t.Helper()
	if a.code != http.StatusOK {
		t.Fatalf("%s: %d %.400s", what, a.code, a.body)
	}
}

// decodeDataURL decodes a data:image/png;base64 URL.
func decodeDataURL(t testing.TB, u any) image.Image {
	t.Helper()
	s, _ := u.(string)
	b64, ok := strings.CutPrefix(s, "data:image/png;base64,")
	if !ok {
		t.Fatalf("not a PNG data URL: %.60s", s)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// distinctGray counts the distinct gray levels of an image: a blank
// (constant) picture has one.
func distinctGray(img image.Image) int {
	seen := map[uint8]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			seen[color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y] = true
		}
	}
	return len(seen)
}

func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testDigit draws a white 7-like stroke on black, w x h.
func testDigit(w, h int) image.Image {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for x := w / 4; x < 3*w/4; x++ {
		for t := 0; t < max(1, h/12); t++ {
			img.SetGray(x, h/4+t, color.Gray{255})
		}
	}
	for y := h / 4; y < 7*h/8; y++ {
		x := 3*w/4 - (y-h/4)*w/(2*h)
		for t := 0; t < max(1, w/12); t++ {
			img.SetGray(x+t, y, color.Gray{255})
		}
	}
	return img
}

func postUpload(t testing.TB, ts *httptest.Server, name string, body []byte) answer {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(body)
	mw.Close()
	resp, err := ts.Client().Post(ts.URL+"/api/upload", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, b, resp.Header.Get("Content-Type")}
}

func TestServeEndpoints(t *testing.T) {
	s, ts := newServeTest(t, defaultServeOptions())
	a := get(t, ts, "/healthz")
	mustOK(t, a, "healthz")
	if !strings.HasPrefix(string(a.body), "ok") {
		t.Errorf("healthz says %q", a.body)
	}
	page := get(t, ts, "/")
	mustOK(t, page, "page")
	if !strings.Contains(string(page.body), "/static/app.js") || !strings.Contains(string(page.body), "zfnet-small") {
		t.Errorf("the page does not load its script or name the model: %.300s", page.body)
	}
	for _, f := range []string{"/static/app.js", "/static/style.css"} {
		mustOK(t, get(t, ts, f), f)
	}

	mi := get(t, ts, "/api/model").json(t)
	if mi["name"] != "zfnet-small" || mi["defaultLayer"] != "conv5" || mi["inputs"].(float64) != 10000 {
		t.Errorf("model info: %v", mi)
	}
	layers := mi["layers"].([]any)
	var names []string
	for _, l := range layers {
		names = append(names, l.(map[string]any)["name"].(string))
	}
	t.Logf("layers: %v", names)

	list := get(t, ts, "/api/inputs?offset=10&limit=5").json(t)
	if items := list["items"].([]any); len(items) != 5 || items[0].(map[string]any)["id"] != "d10" {
		t.Errorf("inputs: %v", list)
	}
	th := get(t, ts, "/api/thumb?image=d3&size=64")
	mustOK(t, th, "thumb")
	if img, err := png.Decode(bytes.NewReader(th.body)); err != nil || img.Bounds().Dx() < 56 {
		t.Errorf("thumbnail: %v %v", err, img)
	}
	mustOK(t, get(t, ts, "/api/input?image=d3"), "input")

	pr := get(t, ts, "/api/predict?image=d0").json(t)
	top := pr["top"].([]any)
	if len(top) != 5 {
		t.Fatalf("top-5: %v", pr)
	}
	best := top[0].(map[string]any)
	label := pr["label"].(map[string]any)
	if best["name"] != label["name"] || best["prob"].(float64) < 0.5 {
		t.Errorf("the tiny model should get test digit 0 (a %v) right: %v", label["name"], top)
	}

	for _, l := range layers {
		li := l.(map[string]any)
		name := li["name"].(string)
		f := get(t, ts, "/api/features?image=d0&layer="+name)
		mustOK(t, f, "features "+name)
		fm := f.json(t)
		maps, h, w := int(fm["maps"].(float64)), int(fm["h"].(float64)), int(fm["w"].(float64))
		if maps != int(li["maps"].(float64)) || len(fm["max"].([]any)) != maps {
			t.Errorf("features %s: %d maps, layer says %v", name, maps, li["maps"])
		}
		sp := decodeDataURL(t, fm["sprite"])
		cols := int(fm["cols"].(float64))
		if sp.Bounds().Dx() != cols*w || sp.Bounds().Dy() != (maps+cols-1)/cols*h {
			t.Errorf("features %s: sprite %v for %d maps of %dx%d in %d columns", name, sp.Bounds(), maps, h, w, cols)
		}
		// The strongest map's projection, under each rule, is not blank.
		unit := 0
		for i, v := range fm["max"].([]any) {
			if v.(float64) > fm["max"].([]any)[unit].(float64) {
				unit = i
			}
		}
		for _, rule := range []string{"deconvnet", "guided", "saliency"} {
			p := get(t, ts, fmt.Sprintf("/api/project?image=d0&layer=%s&unit=%d&rule=%s", name, unit, rule))
			mustOK(t, p, "project "+name+" "+rule)
			pm := p.json(t)
			img := decodeDataURL(t, pm["projection"])
			if img.Bounds().Dx() != 28 || img.Bounds().Dy() != 28 {
				t.Errorf("project %s: %v", name, img.Bounds())
			}
			if pm["value"].(float64) > 0 && distinctGray(img) < 3 {
				t.Errorf("project %s map %d (%s): blank projection of activation %v", name, unit, rule, pm["value"])
			}
		}
		if h > 1 {
			p := get(t, ts, fmt.Sprintf("/api/project?image=d0&layer=%s&unit=%d&y=%d&x=%d&lrn=1", name, unit, h-1, w-1))
			mustOK(t, p, "project at a position")
			pm := p.json(t)
			if int(pm["y"].(float64)) != h-1 || int(pm["x"].(float64)) != w-1 {
				t.Errorf("project %s at (%d, %d) answered %v", name, h-1, w-1, pm)
			}
		}
		if li["conv"].(bool) {
			mustOK(t, get(t, ts, fmt.Sprintf("/api/filters?layer=%s&unit=%d", name, unit)), "map filter")
		}
	}
	fl := get(t, ts, "/api/filters")
	mustOK(t, fl, "layer-1 filters")
	if fl.ct != "image/png" {
		t.Errorf("filters content type %q", fl.ct)
	}

	// An upload becomes an input like the others.
	up := postUpload(t, ts, "seven.png", pngBytes(t, testDigit(280, 280)))
	mustOK(t, up, "upload")
	id := up.json(t)["id"].(string)
	pu := get(t, ts, "/api/predict?image="+id).json(t)
	if pu["name"] != "seven.png" || pu["label"] != nil {
		t.Errorf("predict on the upload: %v", pu)
	}
	mustOK(t, get(t, ts, "/api/project?layer=conv5&unit=0&image="+id), "project the upload")

	// Top-9 (an index over the first 300 digits) and occlusion stream
	// their progress, then the result.
	s.opt.IndexImages = 300
	t9 := get(t, ts, "/api/top9?layer=conv5&unit=1")
	mustOK(t, t9, "top9")
	ls := t9.lines(t)
	res := ls[len(ls)-1]["result"].(map[string]any)
	if hits := res["hits"].([]any); len(hits) != 9 || res["images"].(float64) != 300 {
		t.Errorf("top9: %d hits over %v images", len(hits), res["images"])
	}
	decodeDataURL(t, res["figure"])
	oc := get(t, ts, "/api/occlusion?image=d0&layer=conv5&unit=1&stride=4&size=8")
	mustOK(t, oc, "occlusion")
	ol := oc.lines(t)
	if len(ol) < 2 || ol[0]["progress"] == nil {
		t.Errorf("occlusion: no progress before the result: %v", len(ol))
	}
	or := ol[len(ol)-1]["result"].(map[string]any)
	if or["rows"].(float64) != 7 || or["cols"].(float64) != 7 {
		t.Errorf("occlusion grid %vx%v, expected 7x7", or["rows"], or["cols"])
	}
	decodeDataURL(t, or["activationMap"])
	decodeDataURL(t, or["probabilityMap"])
	if n := s.stats.failures.Load(); n != 0 {
		t.Errorf("%d requests failed with 5xx", n)
	}
}

func TestServeBadParameters(t *testing.T) {
	s, ts := newServeTest(t, defaultServeOptions())
	cases := []struct {
		path string
		code int
		says string
	}{
		{"/api/features?image=d0&layer=nope", 400, `unknown layer "nope"`},
		{"/api/features?image=d0", 400, "missing layer"},
		{"/api/features?layer=conv5", 400, "missing image"},
		{"/api/features?image=d10000&layer=conv5", 404, "d0 to d9999"},
		{"/api/features?image=d-1&layer=conv5", 400, "expected d<N>"},
		{"/api/features?image=d01&layer=conv5", 400, "expected d<N>"},
		{"/api/features?image=d99999999999999999999&layer=conv5", 400, "expected d<N>"},
		{"/api/predict?image=" + url.QueryEscape("../../../etc/passwd"), 400, "expected d<N>"},
		{"/api/predict?image=" + url.QueryEscape("/etc/passwd"), 400, "expected d<N>"},
		{"/api/predict?image=u0123456789abcdef", 404, "no such upload"},
		{"/api/project?image=d0&layer=conv5", 400, "missing unit"},
		{"/api/project?image=d0&layer=conv5&unit=8", 400, "unit=8 is out of range: expected 0 to 7"},
		{"/api/project?image=d0&layer=conv5&unit=-1", 400, "out of range"},
		{"/api/project?image=d0&layer=conv5&unit=abc", 400, "expected a whole number"},
		{"/api/project?image=d0&layer=conv5&unit=0&y=100&x=0", 400, "y=100 is out of range"},
		{"/api/project?image=d0&layer=conv5&unit=0&y=1", 400, "give both y and x"},
		{"/api/project?image=d0&layer=conv5&unit=0&rule=magic", 400, "expected deconvnet, guided or saliency"},
		{"/api/project?image=d0&layer=conv5&unit=0&lrn=maybe", 400, "expected 1 or 0"},
		{"/api/project?image=d0&layer=conv5%00&unit=0", 400, "unknown layer"},
		{"/api/filters?layer=pool1", 400, "only convolutions"},
		{"/api/filters?layer=conv1&unit=1000", 400, "out of range"},
		{"/api/inputs?offset=-5", 400, "out of range"},
		{"/api/inputs?limit=100000", 400, "out of range"},
		{"/api/thumb?image=d0&size=100000", 400, "out of range"},
		{"/api/top9?layer=conv5", 400, "missing unit"},
		{"/api/occlusion?image=d0&layer=conv5&unit=0&stride=0", 400, "stride=0 is out of range"},
		{"/api/occlusion?image=d0&layer=conv5&unit=0&stride=abc", 400, "whole number"},
		{"/api/nothing", 404, "no endpoint"},
	}
	for _, c := range cases {
		a := get(t, ts, c.path)
		if a.code != c.code {
			t.Errorf("GET %s: %d, expected %d: %.300s", c.path, a.code, c.code, a.body)
			continue
		}
		if msg, _ := a.json(t)["error"].(string); !strings.Contains(msg, c.says) {
			t.Errorf("GET %s: error %q does not say %q", c.path, msg, c.says)
		}
	}
	// Wrong methods are 405, not 500.
	for _, m := range []struct{ method, path string }{{"POST", "/api/predict?image=d0"}, {"GET", "/api/upload"}, {"DELETE", "/healthz"}} {
		req, _ := http.NewRequest(m.method, ts.URL+m.path, nil)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d, expected 405", m.method, m.path, resp.StatusCode)
		}
	}
	if n := s.stats.failures.Load(); n != 0 {
		t.Errorf("%d requests failed with 5xx", n)
	}
}

func TestServeUploadGuards(t *testing.T) {
	opt := defaultServeOptions()
	opt.MaxUpload = 64 << 10
	opt.MaxPixels = 1000 * 1000
	s, ts := newServeTest(t, opt)
	good := pngBytes(t, testDigit(64, 64))
	// A PNG whose header declares 20000 x 20000 pixels: refused from its
	// header, before any decoding.
	bomb := pngBytes(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	bomb = append([]byte(nil), bomb...)
	putBE := func(b []byte, v uint32) { b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v) }
	putBE(bomb[16:], 20000)
	putBE(bomb[20:], 20000)
	putBE(bomb[29:], crc32.ChecksumIEEE(bomb[12:29])) // IHDR's checksum
	big := make([]byte, 100<<10)
	copy(big, good)
	cases := []struct {
		name string
		body []byte
		code int
		says string
	}{
		{"junk.png", []byte("this is not a picture"), 400, "junk.png is not a picture"},
		{"empty.png", nil, 400, "empty upload"},
		{"truncated.png", good[:len(good)/2], 400, "truncated.png"},
		{"bomb.png", bomb, 413, "20000x20000 pixels; at most 1000000"},
		{"huge.png", big, 413, "upload larger than 64 KiB"},
		{"../../../etc/passwd", []byte("x"), 400, "passwd is not a picture"},
	}
	for _, c := range cases {
		a := postUpload(t, ts, c.name, c.body)
		if a.code != c.code {
			t.Errorf("upload %s: %d, expected %d: %.300s", c.name, a.code, c.code, a.body)
			continue
		}
		if msg, _ := a.json(t)["error"].(string); !strings.Contains(msg, c.says) {
			t.Errorf("upload %s: error %q does not say %q", c.name, msg, c.says)
		}
	}
	// Malformed multipart and a raw body.
	resp, err := ts.Client().Post(ts.URL+"/api/upload", "multipart/form-data; boundary=xyz", strings.NewReader("--xyz\r\nnonsense"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("malformed multipart: %d", resp.StatusCode)
	}
	resp, err = ts.Client().Post(ts.URL+"/api/upload?name=raw.png", "image/png", bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"name":"raw.png"`) {
		t.Errorf("raw upload: %d %s", resp.StatusCode, b)
	}
	// Only the latest uploads are kept.
	for i := 0; i < opt.Uploads+5; i++ {
		mustOK(t, postUpload(t, ts, "d.png", good), "upload")
	}
	if n := s.uploads.len(); n != opt.Uploads {
		t.Errorf("%d uploads kept, expected %d", n, opt.Uploads)
	}
	if n := s.stats.failures.Load(); n != 0 {
		t.Errorf("%d requests failed with 5xx", n)
	}
}

// TestServeLoad sends a few hundred mixed requests from 8 concurrent
// clients over loopback: every one must succeed, and the heap must not grow
// from one round to the next (caches are bounded). It reports latencies.
func TestServeLoad(t *testing.T) {
	s, ts := newServeTest(t, defaultServeOptions())
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	layers := s.layers()
	round := func(seed uint64, n int) (map[string][]time.Duration, int) {
		var mu sync.Mutex
		lat := map[string][]time.Duration{}
		failed := 0
		var wg sync.WaitGroup
		for c := 0; c < 8; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(seed, uint64(c)))
				for i := 0; i < n; i++ {
					img := fmt.Sprintf("d%d", rng.IntN(200))
					li := layers[rng.IntN(len(layers))]
					var kind, path string
					switch k := rng.IntN(11); {
					case k < 5:
						kind = "project"
						rule := []string{"deconvnet", "guided", "saliency"}[rng.IntN(3)]
						path = fmt.Sprintf("/api/project?image=%s&layer=%s&unit=%d&rule=%s", img, li.Name, rng.IntN(li.Maps), rule)
						if li.H > 1 && rng.IntN(2) == 0 {
							path += fmt.Sprintf("&y=%d&x=%d", rng.IntN(li.H), rng.IntN(li.W))
						}
					case k < 7:
						kind, path = "features", fmt.Sprintf("/api/features?image=%s&layer=%s", img, li.Name)
					case k < 9:
						kind, path = "predict", "/api/predict?image="+img
					case k < 10:
						kind, path = "thumb", "/api/thumb?image="+img
					default:
						kind = "explain"
						path = fmt.Sprintf("/api/explain?image=%s&method=%s&rule=%s&samples=4&steps=4&class=%d", img,
							explainMethods[rng.IntN(len(explainMethods))], []string{"deconvnet", "guided", "saliency"}[rng.IntN(3)], rng.IntN(10))
					}
					start := time.Now()
					resp, err := client.Get(ts.URL + path)
					if err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if err == nil && resp.StatusCode != 200 {
							err = fmt.Errorf("status %d", resp.StatusCode)
						}
					}
					mu.Lock()
					if err != nil {
						failed++
						t.Errorf("GET %s: %v", path, err)
					}
					lat[kind] = append(lat[kind], time.Since(start))
					mu.Unlock()
				}
			}(c)
		}
		wg.Wait()
		return lat, failed
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	round(1, 10) // warm: every projection graph built
	h0 := heap()
	start := time.Now()
	lat, failed := round(2, 40)
	wall := time.Since(start)
	h1 := heap()
	round(3, 40)
	h2 := heap()
	total := 0
	for kind, ds := range lat {
		total += len(ds)
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		t.Logf("%-8s %3d requests: p50 %6.1f ms, p95 %6.1f ms, max %6.1f ms", kind, len(ds),
			ms(ds[len(ds)/2]), ms(ds[len(ds)*95/100]), ms(ds[len(ds)-1]))
	}
	t.Logf("%d requests from 8 clients in %.2f s (%.0f/s); heap after warm-up %.1f MB, after round 1 %.1f MB, after round 2 %.1f MB",
		total, wall.Seconds(), float64(total)/wall.Seconds(), mb(h0), mb(h1), mb(h2))
	if failed > 0 {
		t.Fatalf("%d of %d requests failed", failed, total)
	}
	if h2 > h1+32<<20 {
		t.Errorf("the heap grew from %.1f MB to %.1f MB over a second round of the same requests", mb(h1), mb(h2))
	}
	if n := s.stats.failures.Load(); n != 0 {
		t.Errorf("%d requests failed with 5xx", n)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func mb(b uint64) float64        { return float64(b) / (1 << 20) }

// TestServeCancel: a request waiting for a busy worker gives up when its
// client does, an occlusion stops when its client goes away, and the
// server answers the next request at once.
func TestServeCancel(t *testing.T) {
	opt := defaultServeOptions()
	opt.Workers, opt.Queue = 1, 2
	s, ts := newServeTest(t, opt)
	w, err := s.pool.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/predict?image=d0", nil)
	if _, err := ts.Client().Do(req); err == nil {
		t.Errorf("a request waiting for the busy worker should have timed out")
	}
	cancel()
	// The queue is bounded: beyond it, 503 at once.
	var wg sync.WaitGroup
	codes := make(chan int, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/predict?image=d1", nil)
			resp, err := ts.Client().Do(req)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	time.Sleep(500 * time.Millisecond)
	s.pool.release(w)
	wg.Wait()
	close(codes)
	got := map[int]int{}
	for c := range codes {
		got[c]++
	}
	if got[503] == 0 || got[200] == 0 || got[500] > 0 {
		t.Errorf("6 requests on 1 worker with a queue of 2: answers %v; expected some 503 (queue full) and some 200", got)
	}

	// An occlusion at stride 1 (784 forward passes) cancelled after its
	// first progress line.
	ctx, cancel = context.WithCancel(context.Background())
	req, _ = http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/occlusion?image=d0&layer=conv5&unit=0&stride=1&size=6", nil)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.Contains(line, "progress") {
		t.Fatalf("occlusion: first line %q, %v", line, err)
	}
	cancel()
	resp.Body.Close()
	start := time.Now()
	mustOK(t, get(t, ts, "/api/project?image=d2&layer=conv3&unit=0"), "project after a cancelled occlusion")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the next request took %v after the occlusion was cancelled", d)
	}
}

// TestServeShutdown runs the real listener and stops it as SIGINT would.
func TestServeShutdown(t *testing.T) {
	s, err := newServer(serveModel(t), defaultServeOptions())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- s.serve(ctx, ln, func(u string) { urls <- u }) }()
	u := <-urls
	resp, err := http.Get(u + "healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	// A long occlusion is running when the signal comes.
	go func() {
		if resp, err := http.Get(u + "api/occlusion?image=d0&layer=conv5&unit=0&stride=1&size=4"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not shut down")
	}
	t.Logf("shut down in %v", time.Since(start))
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if _, err := http.Get(u + "healthz"); err == nil {
		t.Error("the server still answers after shutdown")
	}
}

// TestServeNeverFails throws random combinations of odd parameter values
// at every endpoint: each answer is 200 or a 4xx with a JSON message,
// never a 5xx or a panic.
func TestServeNeverFails(t *testing.T) {
	s, ts := newServeTest(t, defaultServeOptions())
	up := postUpload(t, ts, "x.png", pngBytes(t, testDigit(40, 40)))
	mustOK(t, up, "upload")
	uid := up.json(t)["id"].(string)
	values := map[string][]string{
		"image":  {"", "d0", "d9999", "d10000", "d-1", "d1e3", "u", uid, "uZZ", "../x", "%00", "d 1", "D0", "d٣"},
		"layer":  {"", "conv1", "conv5", "fc6", "fc8", "pool5", "norm1", "relu1", "dropout6", "CONV1", "conv1 ", "x"},
		"unit":   {"", "0", "7", "8", "63", "-1", "1.5", "9999999999999999999", "NaN"},
		"y":      {"", "0", "6", "27", "-3", "x"},
		"x":      {"", "0", "6", "27", "-3", "x"},
		"rule":   {"", "deconvnet", "guided", "saliency", "Guided", "all"},
		"lrn":    {"", "0", "1", "true", "2"},
		"offset": {"", "0", "9999", "10000", "-1"},
		"limit":  {"", "1", "500", "501", "0"},
		"size":   {"", "8", "1", "28", "29", "0"},
		"stride": {"", "1", "14", "28", "0", "-2"},
		// /api/explain's
		"method":   {"", "gradcam", "guided-gradcam", "smoothgrad", "integrated-gradients", "GradCAM", "lime"},
		"class":    {"", "0", "9", "10", "-1", "x"},
		"samples":  {"", "1", "3", "0", "201", "2.5"},
		"noise":    {"", "0", "0.3", "1", "1.5", "-0.1", "NaN", "Inf", "1e-300"},
		"steps":    {"", "1", "5", "0", "301", "x"},
		"baseline": {"", "black", "mean", "blur", "gray", "white"},
		"seed":     {"", "0", "7", "-1", "99999999999"},
		"stream":   {"", "1", "0", "x"},
	}
	endpoints := []string{"/api/inputs", "/api/thumb", "/api/input", "/api/predict", "/api/features", "/api/project", "/api/filters", "/api/top9", "/api/occlusion", "/api/explain"}
	rng := rand.New(rand.NewPCG(7, 7))
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s.opt.IndexImages = 100
	codes := map[int]int{}
	for i := 0; i < 400; i++ {
		q := url.Values{}
		for _, k := range keys {
			if v := values[k][rng.IntN(len(values[k]))]; v != "" {
				q.Set(k, v)
			}
		}
		if q.Get("stride") == "1" { // keep occlusions short
			q.Set("stride", "14")
		}
		path := endpoints[rng.IntN(len(endpoints))] + "?" + q.Encode()
		a := get(t, ts, path)
		codes[a.code]++
		switch {
		case a.code == 200:
		case a.code >= 400 && a.code < 500:
			if msg, _ := a.json(t)["error"].(string); msg == "" {
				t.Errorf("GET %s: %d without a message", path, a.code)
			}
		default:
			t.Errorf("GET %s: %d %.300s", path, a.code, a.body)
		}
		// A stream that started fine may still end in an error line: only
		// for server faults, which must not happen.
		if a.code == 200 && a.ct == "application/x-ndjson" {
			for _, l := range a.lines(t) {
				if l["error"] != nil {
					t.Errorf("GET %s: stream ended with %v", path, l["error"])
				}
			}
		}
	}
	t.Logf("answers: %v", codes)
	if codes[200] == 0 {
		t.Errorf("no request succeeded: the generator is too harsh to test anything")
	}
	if n := s.stats.failures.Load(); n != 0 {
		t.Errorf("%d requests failed with 5xx", n)
	}
}
