package main

import (
	"bufio"
	"fmt"
	"image"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zfnet/zfnet/zfnet"
)

// untrainedLoaded is an architecture with He-initialized weights and no
// data set: what the server costs does not depend on what was learned.
func untrainedLoaded(t *testing.T, arch string) *loaded {
	t.Helper()
	a, err := zfnet.LookupArch(arch)
	if err != nil {
		t.Fatal(err)
	}
	m, err := zfnet.New(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Initialize(zfnet.InitHe, 1); err != nil {
		t.Fatal(err)
	}
	l := &loaded{Model: m, Cfg: zfnet.DefaultRunConfig(), About: arch + " (untrained)"}
	if err := (&modelFlags{}).finish(l); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestServeLatency measures what a user waits for, on the full-size
// networks (untrained: the cost is the same): the first page load (page,
// model, prediction and the default layer's maps) and a projection click
// (a new position on the same image, and on another image, which needs a
// forward pass first), and an explanation of each method with its default
// settings. Set ZFNET_SERVE_LATENCY=1 to run it (the 224x224 zfnet takes a
// few minutes on 2 cores); it fails above the issues' bounds: 1 s for the
// page, 200 ms for a zfnet-small click, 2 s for zfnet; an explanation
// (the fastest of two) 1 s on zfnet-small, 6 s on zfnet (measured 1.1-1.9 s
// for Grad-CAM, 2.4-3.3 s for SmoothGrad and 4.5 s for integrated
// gradients, default settings, at load average 9-11 on 2 cores).
func TestServeLatency(t *testing.T) {
	if os.Getenv("ZFNET_SERVE_LATENCY") != "1" {
		t.Skip("set ZFNET_SERVE_LATENCY=1 to measure the server's latency on zfnet-small and the 224x224 zfnet")
	}
	for _, c := range []struct {
		arch           string
		click, explain time.Duration
		pic            int
	}{{"zfnet-small", 200 * time.Millisecond, time.Second, 28}, {"zfnet", 2 * time.Second, 6 * time.Second, 320}} {
		t.Run(c.arch, func(t *testing.T) {
			opt := defaultServeOptions()
			opt.Workers = 1
			s, err := newServer(untrainedLoaded(t, c.arch), opt)
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(s.handler())
			defer func() { ts.Close(); s.Close() }()
			var ids []string
			for i := 0; i < 3; i++ {
				up := postUpload(t, ts, fmt.Sprintf("pic%d.png", i), pngBytes(t, testDigit(c.pic+i, c.pic+i)))
				mustOK(t, up, "upload")
				ids = append(ids, up.json(t)["id"].(string))
			}
			layer := s.layers()
			top := "conv5"
			timed := func(paths ...string) time.Duration {
				start := time.Now()
				for _, p := range paths {
					mustOK(t, get(t, ts, p), p)
				}
				return time.Since(start)
			}
			// The first page load: the page, its script, the model, the
			// prediction and the maps of the default layer (the browser asks
			// for the last three at once; here one after the other).
			load := timed("/", "/static/app.js", "/static/style.css", "/api/model", "/api/predict?image="+ids[0],
				"/api/features?image="+ids[0]+"&layer="+top, "/api/filters")
			t.Logf("%s: first page load (page, script, model, prediction, %s maps, filters): %v", c.arch, top, load.Round(time.Millisecond))
			var maps int
			var h, w int
			for _, li := range layer {
				if li.Name == top {
					maps, h, w = li.Maps, li.H, li.W
				}
			}
			// Warm: the first projection of a layer and rule builds its graph.
			for _, rule := range []string{"deconvnet", "guided", "saliency"} {
				timed(fmt.Sprintf("/api/project?image=%s&layer=%s&unit=0&rule=%s", ids[0], top, rule))
			}
			var same, other []time.Duration
			for i := 0; i < 6; i++ {
				rule := []string{"deconvnet", "guided", "saliency"}[i%3]
				same = append(same, timed(fmt.Sprintf("/api/project?image=%s&layer=%s&unit=%d&y=%d&x=%d&rule=%s", ids[0], top, (7*i)%maps, i%h, (2*i)%w, rule)))
				other = append(other, timed(fmt.Sprintf("/api/project?image=%s&layer=%s&unit=%d&rule=%s", ids[1+i%2], top, (5*i)%maps, rule)))
			}
			med := func(d []time.Duration) time.Duration {
				sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
				return d[len(d)/2]
			}
			t.Logf("%s: projection click on %s: same image median %v (max %v); another image (forward pass first) median %v (max %v)",
				c.arch, top, med(same).Round(time.Millisecond), same[len(same)-1].Round(time.Millisecond),
				med(other).Round(time.Millisecond), other[len(other)-1].Round(time.Millisecond))
			// Explain a class with the default (light) settings: the first
			// click of a method builds its graphs; then on other images.
			for _, m := range explainMethods {
				warm := timed(fmt.Sprintf("/api/explain?image=%s&method=%s", ids[0], m))
				var clicks []time.Duration
				for i := 1; i < 3; i++ {
					clicks = append(clicks, timed(fmt.Sprintf("/api/explain?image=%s&method=%s", ids[i], m)))
				}
				sort.Slice(clicks, func(i, j int) bool { return clicks[i] < clicks[j] })
				t.Logf("%s: explain %s (defaults %+v): first %v, then %v and %v", c.arch, m, s.explainDefaults(), warm.Round(time.Millisecond),
					clicks[0].Round(time.Millisecond), clicks[1].Round(time.Millisecond))
				if clicks[0] > c.explain {
					t.Errorf("%s: explaining with %s takes %v; expected under %v", c.arch, m, clicks[0], c.explain)
				}
			}
			if load > time.Second {
				t.Errorf("%s: the first page load took %v; expected under 1 s", c.arch, load)
			}
			if m := med(other); m > c.click {
				t.Errorf("%s: a projection click takes %v; expected under %v", c.arch, m, c.click)
			}
		})
	}
}

// TestServeCommand runs the real command: it prints its address, answers
// /healthz and stops cleanly on SIGINT.
func TestServeCommand(t *testing.T) {
	ck := tinyRun(t)
	cmd := exec.Command(binary, "serve", "--checkpoint", ck, "--addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("no address printed: %v; stderr: %s", err, stderr.String())
	}
	i := strings.Index(line, "http://")
	if i < 0 {
		t.Fatalf("no URL in %q", line)
	}
	url := strings.Fields(line[i:])[0]
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("serves on %s; expected loopback by default", url)
	}
	for _, p := range []string{"healthz", "api/project?image=d0&layer=conv5&unit=0"} {
		resp, err := http.Get(url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after SIGINT: %v; stderr: %s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not stop on SIGINT")
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Errorf("stderr: %q", stderr.String())
	}
}

// TestServeArchitectures serves networks of other shapes: 32x32 colour
// (zfnet-small, untrained) and 224x224 photographs networks read from ONNX
// files (Caffe's ZFNet and AlexNet layouts, small widths), each with an
// uploaded colour picture: every layer's maps, a projection under each
// rule (through LRN where there is one) and the filters answer 200.
func TestServeArchitectures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds several networks")
	}
	colour := func(t *testing.T) *loaded {
		a, err := zfnet.LookupArch("zfnet-small")
		if err != nil {
			t.Fatal(err)
		}
		m, err := zfnet.New(a.WithInput(3, 32, 32, 10))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Initialize(zfnet.InitHe, 1); err != nil {
			t.Fatal(err)
		}
		l := &loaded{Model: m, Cfg: zfnet.DefaultRunConfig(), About: "zfnet-small 3x32x32 (untrained)"}
		if err := (&modelFlags{}).finish(l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	onnx := func(file string) func(t *testing.T) *loaded {
		return func(t *testing.T) *loaded {
			mf := modelFlags{weights: "../../zfnet/testdata/pretrained/" + file}
			l, err := mf.load(false)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
	}
	for _, c := range []struct {
		name string
		load func(t *testing.T) *loaded
	}{{"zfnet-small-32x32", colour}, {"caffe_zfnet.onnx", onnx("caffe_zfnet.onnx")}, {"caffe_alexnet.onnx", onnx("caffe_alexnet.onnx")}} {
		t.Run(c.name, func(t *testing.T) {
			l := c.load(t)
			s, err := newServer(l, defaultServeOptions())
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(s.handler())
			defer func() { ts.Close(); s.Close() }()
			pic := image.NewRGBA(image.Rect(0, 0, 300, 240))
			for i := range pic.Pix {
				pic.Pix[i] = uint8(i*7 + i/1200)
			}
			up := postUpload(t, ts, "colour.png", pngBytes(t, pic))
			mustOK(t, up, "upload")
			id := up.json(t)["id"].(string)
			mustOK(t, get(t, ts, "/api/model"), "model")
			mustOK(t, get(t, ts, "/api/predict?image="+id), "predict")
			mustOK(t, get(t, ts, "/api/filters"), "filters")
			for _, m := range explainMethods {
				a := get(t, ts, fmt.Sprintf("/api/explain?image=%s&method=%s&samples=2&steps=2", id, m))
				mustOK(t, a, "explain "+m)
				for _, p := range a.json(t)["panels"].([]any) {
					img := decodeDataURL(t, p.(map[string]any)["image"])
					if b := img.Bounds(); b.Dx() < l.Model.Arch.Input[2] {
						t.Errorf("explain %s: panel %v for input %v", m, b, l.Model.Arch.Input)
					}
				}
			}
			for _, li := range s.layers() {
				mustOK(t, get(t, ts, "/api/features?layer="+li.Name+"&image="+id), "features "+li.Name)
				for _, rule := range []string{"deconvnet", "guided", "saliency"} {
					a := get(t, ts, fmt.Sprintf("/api/project?image=%s&layer=%s&unit=%d&rule=%s&lrn=1", id, li.Name, li.Maps-1, rule))
					mustOK(t, a, "project "+li.Name)
					img := decodeDataURL(t, a.json(t)["projection"])
					if in := l.Model.Arch.Input; img.Bounds().Dx() != in[2] || img.Bounds().Dy() != in[1] {
						t.Errorf("%s: projection %v for input %v", li.Name, img.Bounds(), in)
					}
				}
			}
			if n := s.stats.failures.Load(); n != 0 {
				t.Errorf("%d requests failed with 5xx", n)
			}
		})
	}
}

// TestServePictureFolder serves a 224x224 network on a folder of pictures
// (--images): names, thumbnails, the on-demand top-9 over the folder and
// an occlusion on a photograph-sized input.
func TestServePictureFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 224x224 network")
	}
	dir := t.TempDir()
	for i, name := range []string{"b.png", "a.png", "c.png"} {
		pic := image.NewRGBA(image.Rect(0, 0, 260+20*i, 240))
		for j := range pic.Pix {
			pic.Pix[j] = uint8(j*(3+i) + j/900)
		}
		if err := os.WriteFile(dir+"/"+name, pngBytes(t, pic), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mf := modelFlags{weights: "../../zfnet/testdata/pretrained/caffe_zfnet.onnx", imageDir: dir}
	l, err := mf.load(false)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newServer(l, defaultServeOptions())
	if err != nil {
		t.Fatal(err)
	}
	s.names = pictureNames(dir)
	ts := httptest.NewServer(s.handler())
	defer func() { ts.Close(); s.Close() }()
	list := get(t, ts, "/api/inputs").json(t)
	items := list["items"].([]any)
	if len(items) != 3 || items[0].(map[string]any)["name"] != "a.png" {
		t.Fatalf("inputs: %v", list)
	}
	mustOK(t, get(t, ts, "/api/thumb?image=d2"), "thumb")
	pr := get(t, ts, "/api/predict?image=d0").json(t)
	if pr["name"] != "a.png" {
		t.Errorf("predict names the picture %v", pr["name"])
	}
	a := get(t, ts, "/api/top9?layer=conv5&unit=0")
	mustOK(t, a, "top9")
	ls := a.lines(t)
	if res, ok := ls[len(ls)-1]["result"].(map[string]any); !ok || res["images"].(float64) != 3 {
		t.Errorf("top9 over the folder: %v", ls[len(ls)-1])
	}
	oc := get(t, ts, "/api/occlusion?image=d1&layer=conv5&unit=0&stride=32&size=48")
	mustOK(t, oc, "occlusion")
	ol := oc.lines(t)
	if res, ok := ol[len(ol)-1]["result"].(map[string]any); !ok || res["rows"].(float64) != 7 {
		t.Errorf("occlusion: %v", ol[len(ol)-1])
	}
	if n := s.stats.failures.Load(); n != 0 {
		t.Errorf("%d requests failed with 5xx", n)
	}
}
