package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/zfnet/zfnet/data/testenv"
)

// findChromium is Debian's chromium (or another Chrome) on PATH.
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestServeBrowser drives the page in headless chromium: it opens the
// page on the tiny MNIST model, clicks the strongest conv5 map where it is
// strongest and checks that a projection appears and is not blank, changes
// the rule, runs the top-9 search and the occlusion, explains the predicted
// class and another one (Grad-CAM, integrated gradients), opens a shared
// link (with an explanation), uploads a picture, and saves screenshots
// (in ZFNET_SCREENSHOT_DIR when set; ZFNET_SERVE_CHECKPOINT=RUN uses that
// run's model instead of the tiny one). It skips loudly without chromium, and fails instead under
// ZFNET_REQUIRE_ALL=1.
func TestServeBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("serve browser test: skipped under -short (starts chromium)")
	}
	chrome := findChromium()
	if chrome == "" {
		testenv.SkipLoudly(t, "chromium is not installed, so the zfnet serve page was not tested in a browser; install with: apt-get install -y chromium")
	}
	opt := defaultServeOptions()
	opt.IndexImages = 300
	var s *server
	var ts *httptest.Server
	if ck := os.Getenv("ZFNET_SERVE_CHECKPOINT"); ck != "" {
		// Another run (the README's screenshots come from the default MNIST run).
		mf := modelFlags{checkpoint: ck}
		l, err := mf.load(false)
		if err != nil {
			t.Fatal(err)
		}
		if s, err = newServer(l, opt); err != nil {
			t.Fatal(err)
		}
		ts = httptest.NewServer(s.handler())
		defer func() { ts.Close(); s.Close() }()
	} else {
		s, ts = newServeTest(t, opt)
	}
	shots := os.Getenv("ZFNET_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(1280, 1100), chromedp.Flag("disable-gpu", true))...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first Run starts the browser and must not have a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", chrome, err)
	}
	run := func(what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, done := context.WithTimeout(ctx, timeout)
		defer done()
		if err := chromedp.Do(c, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(what, js string) string {
		t.Helper()
		c, done := context.WithTimeout(ctx, 20*time.Second)
		defer done()
		v, err := chromedp.Run(c, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	poll := func(what, js string) {
		t.Helper()
		run(what, 40*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(35*time.Second))(ctx, tg)
			return err
		}))
	}
	screenshot := func(name string) {
		t.Helper()
		c, done := context.WithTimeout(ctx, 20*time.Second)
		defer done()
		b, err := chromedp.Run(c, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		p := filepath.Join(shots, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
	// projectionOK is a script that says whether the projection image is
	// loaded, of the given rule, and not blank (more than 2 gray levels).
	projectionOK := func(rule string) string {
		return fmt.Sprintf(`(() => {
			const img = document.getElementById('projection');
			if (!img.src.startsWith('data:image/png') || !img.complete || img.naturalWidth === 0 || img.dataset.rule !== %q) return false;
			const c = document.createElement('canvas');
			c.width = img.naturalWidth; c.height = img.naturalHeight;
			const g = c.getContext('2d');
			g.drawImage(img, 0, 0);
			const d = g.getImageData(0, 0, c.width, c.height).data;
			const seen = new Set();
			for (let i = 0; i < d.length; i += 4) seen.add(d[i]);
			return seen.size > 2;
		})()`, rule)
	}

	// explanationOK says whether the explain panel shows the method's
	// pictures, loaded and not blank (more than 2 levels of red).
	explanationOK := func(method string) string {
		return fmt.Sprintf(`(() => {
			const imgs = [...document.querySelectorAll('#explain-panels img')];
			if (imgs.length === 0 || document.getElementById('explain-view').hidden) return false;
			const img = imgs[0];
			if (img.dataset.method !== %q || !img.src.startsWith('data:image/png') || !img.complete || img.naturalWidth === 0) return false;
			const c = document.createElement('canvas');
			c.width = img.naturalWidth; c.height = img.naturalHeight;
			const g = c.getContext('2d');
			g.drawImage(img, 0, 0);
			const d = g.getImageData(0, 0, c.width, c.height).data;
			const seen = new Set();
			for (let i = 0; i < d.length; i += 4) seen.add(d[i]);
			return seen.size > 2;
		})()`, method)
	}

	// Open the page, on conv5 (the default layer) and the first digit.
	start := time.Now()
	run("open the page", 30*time.Second, chromedp.Navigate(ts.URL+"/"))
	poll("page ready", `document.body.dataset.ready === '1' && document.getElementById('tiles').width > 0 && document.querySelectorAll('#top5 li').length === 5`)
	t.Logf("first page load, ready with tiles and prediction: %v", time.Since(start))
	if got := eval("layer", `document.getElementById('layer').value`); got != "conv5" {
		t.Errorf("default layer %q, expected conv5", got)
	}

	// Click the strongest conv5 map where it is strongest: find the
	// brightest sprite pixel of that map and click the canvas there.
	xy := eval("find the strongest tile", `(() => {
		const f = features, m = f.max.indexOf(Math.max(...f.max));
		const c = document.createElement('canvas');
		c.width = sprite.naturalWidth; c.height = sprite.naturalHeight;
		const g = c.getContext('2d');
		g.drawImage(sprite, 0, 0);
		const sx = (m % f.cols) * f.w, sy = Math.floor(m / f.cols) * f.h;
		const d = g.getImageData(sx, sy, f.w, f.h).data;
		let best = 0;
		for (let i = 0; i < f.w * f.h; i++) if (d[4 * i] > d[4 * best]) best = i;
		const y = Math.floor(best / f.w), x = best % f.w;
		const i = order.indexOf(m);
		const cv = document.getElementById('tiles');
		cv.scrollIntoView();
		const r = cv.getBoundingClientRect();
		const k = r.width / cv.width;
		const px = (i % layout.cols) * (layout.tw + layout.gap) + (x + 0.5) * layout.scale;
		const py = Math.floor(i / layout.cols) * (layout.th + layout.gap) + (y + 0.5) * layout.scale;
		return [r.left + px * k, r.top + py * k, m, y, x].join(',');
	})()`)
	var cx, cy float64
	var unit, uy, ux int
	if _, err := fmt.Sscanf(xy, "%g,%g,%d,%d,%d", &cx, &cy, &unit, &uy, &ux); err != nil {
		t.Fatalf("tile position %q: %v", xy, err)
	}
	start = time.Now()
	run("click the tile", 10*time.Second, chromedp.MouseClickXY(cx, cy))
	poll("a projection appears, not blank", projectionOK("deconvnet"))
	t.Logf("click to projection shown: %v", time.Since(start))
	loc := eval("location", `location.search`)
	want := fmt.Sprintf("unit=%d&y=%d&x=%d", unit, uy, ux)
	if !strings.Contains(loc, "layer=conv5") || !strings.Contains(loc, want) {
		t.Errorf("the URL %q does not hold the view (want layer=conv5 and %s)", loc, want)
	}
	screenshot("serve-conv5-deconvnet.png")

	// Change the rule.
	run("choose guided backprop", 10*time.Second, chromedp.Click(chromedp.CSS(`input[name=rule][value=guided]`)))
	poll("the guided projection appears", projectionOK("guided"))
	if loc := eval("location", `location.search`); !strings.Contains(loc, "rule=guided") {
		t.Errorf("the URL %q does not hold the rule", loc)
	}
	run("strongest", 10*time.Second, chromedp.Click(chromedp.ID("strongest-btn")))
	poll("the strongest position", `!location.search.includes('&y=') && document.getElementById('unit-title').textContent.includes('strongest')`)
	run("compare all rules", 10*time.Second, chromedp.Click(chromedp.ID("all-rules")))
	poll("the other rules appear", `document.querySelectorAll('#others img').length === 2`)

	// Top-9 and occlusion, with progress.
	run("top-9", 10*time.Second, chromedp.Click(chromedp.ID("top9-btn")))
	poll("the top-9 figure appears", `document.querySelector('#top9 img') !== null && document.querySelector('#top9 img').complete && document.querySelectorAll('#top9 a').length === 9`)
	run("occlusion", 10*time.Second, chromedp.Click(chromedp.ID("occ-btn")))
	poll("the occlusion maps appear", `document.querySelectorAll('#occ img').length === 2`)
	if e := eval("job errors", `document.getElementById('job-error').textContent`); e != "" {
		t.Errorf("the page shows an error: %s", e)
	}
	screenshot("serve-conv5-top9-occlusion.png")

	// Explain a class: Grad-CAM of the predicted class, then of another
	// class picked among the top 5.
	run("choose Grad-CAM", 10*time.Second, chromedp.Click(chromedp.CSS(`input[name=explain][value=gradcam]`)))
	poll("a Grad-CAM picture appears, not blank", explanationOK("gradcam"))
	if loc := eval("location", `location.search`); !strings.Contains(loc, "explain=gradcam") {
		t.Errorf("the URL %q does not hold the explanation", loc)
	}
	if got := eval("the explained class", `document.querySelector('#top5 li.chosen') === document.querySelector('#top5 li') ? 'top' : 'other'`); got != "top" {
		t.Errorf("Grad-CAM explains the %s class; expected the predicted (top) one", got)
	}
	second := eval("the second class", `document.querySelectorAll('#top5 li')[1].dataset.class`)
	run("pick the second class", 10*time.Second, chromedp.Click(chromedp.CSS(`#top5 li:nth-child(2)`)))
	poll("the second class is explained", fmt.Sprintf(`location.search.includes('class=%s') && document.querySelector('#top5 li.chosen') === document.querySelectorAll('#top5 li')[1] && !document.getElementById('explain-panels').classList.contains('stale') && document.getElementById('explain-caption').textContent.includes('predicted: ')`, second))
	poll("its Grad-CAM picture", explanationOK("gradcam"))
	screenshot("serve-explain-gradcam.png")
	run("choose integrated gradients", 10*time.Second, chromedp.Click(chromedp.CSS(`input[name=explain][value=integrated-gradients]`)))
	poll("integrated gradients appear", explanationOK("integrated-gradients")+` && document.getElementById('explain-caption').textContent.includes('completeness error')`)
	screenshot("serve-explain.png")

	// A shared link restores the view, the explanation too.
	link := ts.URL + "/?image=d7&layer=conv3&unit=2&y=3&x=4&rule=saliency&sort=1&explain=smoothgrad&class=3&samples=3&srule=guided"
	run("open a shared link", 30*time.Second, chromedp.Navigate(link))
	poll("the linked view", `document.body.dataset.ready === '1' && document.getElementById('layer').value === 'conv3' && document.getElementById('sorted').checked && document.querySelector('input[name=rule]:checked').value === 'saliency'`)
	poll("the linked projection", `document.getElementById('projection').dataset.rule === 'saliency' && document.getElementById('unit-title').textContent.includes('map 2') && document.getElementById('unit-title').textContent.includes('(3, 4)')`)
	poll("the linked explanation", explanationOK("smoothgrad")+` && document.getElementById('samples').value === '3' && document.getElementById('sg-rule').value === 'guided' && document.querySelector('input[name=explain]:checked').value === 'smoothgrad' && document.getElementById('explain-class').textContent.startsWith('class ')`)
	if e := eval("explain errors", `document.getElementById('explain-error').textContent`); e != "" {
		t.Errorf("the explain panel shows an error: %s", e)
	}

	// Upload a picture through the file input.
	dir := t.TempDir()
	pic := filepath.Join(dir, "seven.png")
	if err := os.WriteFile(pic, pngBytes(t, testDigit(120, 120)), 0o644); err != nil {
		t.Fatal(err)
	}
	run("upload", 20*time.Second, chromedp.SetUploadFiles(chromedp.ID("file"), []string{pic}))
	poll("the upload is shown", `location.search.includes('image=u') && document.getElementById('input-name').textContent === 'seven.png' && document.querySelectorAll('#top5 li').length === 5`)
	poll("the upload's projection", projectionOK("saliency"))
	screenshot("serve-upload.png")

	// A bad upload shows its error in the page.
	bad := filepath.Join(dir, "notes.png")
	os.WriteFile(bad, []byte("not a picture"), 0o644)
	run("bad upload", 20*time.Second, chromedp.SetUploadFiles(chromedp.ID("file"), []string{bad}))
	poll("the upload error is shown", `document.getElementById('upload-error').textContent.includes('notes.png is not a picture')`)

	if n := s.stats.failures.Load(); n != 0 {
		t.Errorf("%d requests failed with 5xx", n)
	}
}
