package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/zfnet/zfnet/data"
)

// zfnet serve: the HTTP interface. The page (web/, embedded) uses these
// endpoints; they are plain JSON and PNG, usable from scripts too. Images
// are named by id: d<N> is picture N of the set (--data's test split or the
// --images folder), u<hex> an upload. Errors are JSON {"error": "..."}
// with a 4xx status for what the request got wrong.
//
//	GET  /                    the page; its query (image, layer, unit, y, x, rule, lrn, sort, all; explain, class,
//	                          camlayer, srule, samples, noise, steps, baseline) is the view
//	GET  /healthz             200 "ok: ARCH" once the model is loaded
//	GET  /api/model           architecture, input shape, layers (name, kind, maps, h, w), rules, index, explain
//	                          (methods, Grad-CAM's layers, baselines, defaults, bounds)
//	GET  /api/inputs          ?offset&limit: the set's picture ids and names
//	GET  /api/thumb           ?image&size: PNG thumbnail of the input as the model sees it
//	GET  /api/input           ?image: PNG of the input as the model sees it (mean added back)
//	POST /api/upload          a picture (multipart field "file", or the body): {"id": "u..."}
//	GET  /api/predict         ?image: top-5 classes with names and probabilities, and the true class when known
//	GET  /api/features        ?image&layer: every map of the layer in one PNG sprite (data: URL), per-map max and mean
//	GET  /api/project         ?image&layer&unit[&y&x][&rule][&lrn=1]: the unit projected to pixels (PNG data: URL),
//	                          its position, value and receptive field; without y, x the map's strongest position
//	GET  /api/filters         ?layer[&unit]: PNG of a convolution's filters (default: the first), or of one map's
//	GET  /api/top9            ?layer&unit[&rule][&lrn]: NDJSON progress lines, then the map's top-9 figure and images,
//	                          from --index or from an index built on demand over the set's first --index-images
//	GET  /api/occlusion       ?image&layer&unit[&size&stride]: NDJSON progress, then the unit's activation and the
//	                          class probability as a gray square slides over the image
//	GET  /api/explain         ?image&method[&class][&layer][&rule&samples&noise&seed][&steps&baseline][&stream=1]:
//	                          explain a class (default: the predicted one) by method gradcam (Grad-CAM at layer,
//	                          default the last convolution), guided-gradcam, smoothgrad (the walk of rule, default
//	                          saliency, averaged over samples noisy copies, noise a fraction of the input's range) or
//	                          integrated-gradients (steps from baseline black, mean, blur or gray; with the
//	                          completeness error); JSON with panels (title, PNG data: URL), the class and the
//	                          method's numbers. Light defaults by input size (/api/model's explain), samples at most
//	                          200, steps at most 300; with stream=1 NDJSON progress lines, then {"result": ...}
//
// Requests that compute borrow one of --workers deconvnets (a Gorgonia
// machine is not safe for concurrent use); at most --queue wait, the rest
// get 503. A request ends when its client goes away: queued ones at once,
// occlusion between positions, an explanation between its passes, a
// projection after the pass under way.

func init() {
	register("serve", "explore the network live in the browser: maps, projections, top-9, occlusion, filters, explaining a class", runServe)
}

// serveOptions bound what the server holds and accepts.
type serveOptions struct {
	// Workers is the number of deconvnets (one machine each) that answer
	// requests; requests beyond them wait in a queue of at most Queue.
	Workers, Queue int
	// MaxUpload is the largest upload in bytes, MaxPixels the largest
	// decoded picture (width x height) it may declare.
	MaxUpload int64
	MaxPixels int
	// Uploads is how many uploaded pictures are kept (least recently used
	// go first).
	Uploads int
	// IndexImages is how many images of the set the on-demand top-9 index
	// scans (0: a default by input size).
	IndexImages int
	// Log receives one line per failed request (nil: none).
	Log func(format string, args ...any)
}

func defaultServeOptions() serveOptions {
	return serveOptions{Workers: min(2, runtime.GOMAXPROCS(0)), Queue: 64, MaxUpload: 8 << 20, MaxPixels: 40_000_000, Uploads: 64}
}

func runServe(args []string) error {
	var mf modelFlags
	opt := defaultServeOptions()
	fs := newFlags("serve", "", "Starts a web server to look inside the model: pick an input (the data set, a folder of pictures or an\n"+
		"upload), see its prediction and every feature map of a layer, click a unit to project it to pixels (deconvnet,\n"+
		"guided backprop, saliency), see its top-9 images and its occlusion map; explain a class (the predicted one,\n"+
		"or any of the top 5) with Grad-CAM, Guided Grad-CAM, SmoothGrad or integrated gradients. The page is built\n"+
		"into the binary.\n"+
		"The URL holds the image, layer, unit, rule and explanation, so a view can be bookmarked or shared.")
	mf.register(fs)
	fs.StringVar(&mf.imageDir, "images", "", "folder of pictures to browse instead of the data set's test split")
	indexDir := fs.String("index", "", "activation index (zfnet index build) of the same model: top-9 of its layers come from it; other layers get an on-demand index")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on; the default is this machine only (give 0.0.0.0:8080 to expose it on purpose)")
	fs.IntVar(&opt.Workers, "workers", opt.Workers, "requests computed at once (one deconvnet each); more wait in a queue")
	fs.IntVar(&opt.Queue, "queue", opt.Queue, "requests that may wait for a worker; beyond that the server answers 503")
	maxUpload := fs.Int("max-upload-mb", int(opt.MaxUpload>>20), "largest picture upload, in MiB")
	fs.IntVar(&opt.MaxPixels, "max-pixels", opt.MaxPixels, "largest uploaded picture, in pixels (width x height), checked before decoding")
	fs.IntVar(&opt.IndexImages, "index-images", 0, "images of the set the on-demand top-9 index scans (default: 2000 for small inputs, 200 for photographs)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if opt.Workers < 1 || opt.Queue < 0 || *maxUpload < 1 || opt.MaxPixels < 1 || opt.IndexImages < 0 {
		return fmt.Errorf("--workers and --max-upload-mb must be at least 1, --max-pixels positive, --queue and --index-images not negative")
	}
	opt.MaxUpload = int64(*maxUpload) << 20
	opt.Log = func(format string, args ...any) { fmt.Fprintf(os.Stderr, "zfnet serve: "+format+"\n", args...) }
	l, err := mf.load(false)
	if err != nil {
		return err
	}
	s, err := newServer(l, opt)
	if err != nil {
		return err
	}
	if mf.imageDir != "" {
		s.names = pictureNames(mf.imageDir)
	}
	if *indexDir != "" {
		if err := s.useIndex(*indexDir); err != nil {
			s.Close()
			return err
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		s.Close()
		return fmt.Errorf("--addr %s: %v", *addr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = s.serve(ctx, ln, func(url string) {
		fmt.Printf("zfnet serve: %s, %d inputs; open %s (Ctrl-C stops)\n", l.About, s.inputCount(), url)
	})
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// serve answers on ln until ctx ends, then shuts down gracefully: no new
// connections, running computations cancelled, at most 10 s for the rest.
func (s *server) serve(ctx context.Context, ln net.Listener, ready func(url string)) error {
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.base = base
	srv := &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready("http://" + ln.Addr().String() + "/")
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(os.Stderr, "zfnet serve: shutting down")
	cancel() // streams and queued requests see their context end
	sctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	err := srv.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// pictureNames are the file names of an --images folder, in the order the
// data set has them.
func pictureNames(dir string) []string {
	paths, err := data.ImagePaths(dir)
	if err != nil {
		return nil
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	return names
}
