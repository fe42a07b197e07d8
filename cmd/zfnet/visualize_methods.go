package main

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/figure"
)

// The methods people compare the deconvnet with (issue 15): `visualize
// methods` runs them side by side on the same images, `visualize actmax`
// draws what units respond to most.

func init() {
	registerExperiment("methods", "Grad-CAM, Guided Grad-CAM, SmoothGrad, integrated gradients and occlusion variants beside the deconvnet", runMethods)
}

// stageProgress prints "\rwhat: done/total elapsed" at most twice a second.
func stageProgress(prefix string) func(what string, done, total int) {
	start, last := time.Now(), time.Time{}
	return func(what string, done, total int) {
		if time.Since(last) < 500*time.Millisecond && done < total {
			return
		}
		last = time.Now()
		fmt.Fprintf(os.Stderr, "\r%s%s: %d/%d %s        ", prefix, what, done, total, time.Since(start).Round(time.Second))
	}
}

// constantInput is the model input of a picture of one value everywhere
// (0: black, 0.5: gray), preprocessed as the test images are.
func constantInput(l *loaded, v float32) []float32 {
	b := l.Pre.BaseGeometry()
	base := make([]float32, b.Size())
	for i := range base {
		base[i] = v
	}
	dst := make([]float32, l.Pre.Geometry.Size())
	l.Pre.ApplyCrop(base, l.Mean, l.Pre.CenterCrop(), dst)
	return dst
}

// fillPicture is the picture named by --fill or --baseline in model input
// space: mean (zeros), black, gray or blur (the input blurred).
func fillPicture(l *loaded, kind string, x []float32, sigma float64) ([]float32, error) {
	in := l.Model.Arch.Input
	switch kind {
	case "gray":
		return constantInput(l, 0.5), nil
	case deconvnet.BaselineBlack, deconvnet.BaselineMean, deconvnet.BaselineBlur:
		return deconvnet.MakeBaseline(kind, x, in[0], in[1], in[2], constantInput(l, 0), sigma)
	}
	return nil, fmt.Errorf("unknown fill %q: expected mean, black, gray or blur", kind)
}

// methodsFlags are the flags of `visualize methods`.
type methodsFlags struct {
	mf                              modelFlags
	pics                            pictureFlag
	class                           *int
	layer, rule, baseline, fill     *string
	samples, steps                  *int
	noise, blur                     *float64
	seed                            *uint64
	igProb, keep, variants          *bool
	occSize, occStride, zoom, batch *int
	out                             *string
}

func parseMethodsFlags(args []string) (*methodsFlags, error) {
	f := &methodsFlags{pics: pictureFlag{indices: intList{0, 1, 2}}}
	fs := newFlags("visualize methods", "", "Explains each image's class with the methods that came after the deconvnet, side by side:\n"+
		"the deconvnet, saliency and guided backpropagation from the class logit; Grad-CAM (Selvaraju et al. 2017)\n"+
		"and Guided Grad-CAM; SmoothGrad (Smilkov et al. 2017); integrated gradients (Sundararajan et al. 2017)\n"+
		"with its completeness error; and occlusion sensitivity. Also writes each method's own figure and\n"+
		"the occlusion variants (mean, black, gray and blurred fills; occluding a window or keeping only it).\n"+
		"Cost per image: about 2*samples + steps + 9 occlusion grids of forward and backward passes; on a 224x224\n"+
		"network that is minutes per image on a CPU: lower --samples, --steps, or raise --occ-stride, or --variants=false.")
	f.mf.register(fs)
	fs.Var(&f.pics, "images", "test-set indices of the images (comma-separated, from 0), or a folder of pictures (its first 3; no data set needed)")
	f.class = fs.Int("class", -1, "class to explain (default -1: each image's predicted class)")
	f.layer = fs.String("layer", "", "Grad-CAM's layer (default: the last convolution)")
	f.samples = fs.Int("samples", 50, "SmoothGrad: noisy copies per image")
	f.noise = fs.Float64("noise", 0.15, "SmoothGrad: noise sigma as a fraction of the input's range")
	f.seed = fs.Uint64("seed", 1, "SmoothGrad: noise seed")
	f.rule = fs.String("rule", "saliency", "SmoothGrad: the walk smoothed: saliency (the gradient), guided or deconvnet")
	f.steps = fs.Int("steps", 64, "integrated gradients: steps of the path")
	f.baseline = fs.String("baseline", "black", "integrated gradients: baseline: black, mean, gray or blur")
	f.igProb = fs.Bool("ig-probability", false, "integrated gradients: attribute the class probability instead of its logit")
	f.blur = fs.Float64("blur-sigma", 0, "sigma in pixels of the blur baseline and fill (default: 1/20 of the input's side)")
	f.occSize = fs.Int("occ-size", 0, "occlusion: window side in pixels (default: a quarter of the input)")
	f.occStride = fs.Int("occ-stride", 0, "occlusion: stride in pixels (default: 1 up to 28-pixel inputs, a 28x28 grid for larger)")
	f.fill = fs.String("fill", "mean", "occlusion in the comparison: fill of the window: mean, black, gray or blur")
	f.keep = fs.Bool("keep", false, "occlusion in the comparison: keep only the window and occlude the rest")
	f.variants = fs.Bool("variants", true, "also write occlusion-variants.png: every fill, occluding and keeping")
	f.zoom = fs.Int("zoom", 0, "enlargement of the pictures (default: to about 168 pixels)")
	f.batch = fs.Int("batch", 16, "inputs per forward pass")
	f.out = new(string)
	outFlag(fs, f.out)
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	return f, f.check()
}

// check validates the flags that need no model.
func (f *methodsFlags) check() error {
	if *f.batch < 1 || *f.samples < 1 || *f.steps < 1 || *f.noise < 0 || *f.occSize < 0 || *f.occStride < 0 || *f.blur < 0 {
		return fmt.Errorf("--batch, --samples and --steps must be positive; --noise, --occ-size, --occ-stride and --blur-sigma not negative")
	}
	if *f.zoom < 0 || *f.zoom > 64 {
		return fmt.Errorf("--zoom %d: must be between 1 and 64 (0: automatic)", *f.zoom)
	}
	if _, err := deconvnet.ParseRule(*f.rule); err != nil {
		return fmt.Errorf("--rule: %v", err)
	}
	fills := map[string]bool{"mean": true, "black": true, "gray": true, "blur": true}
	if !fills[*f.fill] {
		return fmt.Errorf("--fill %q: expected mean, black, gray or blur", *f.fill)
	}
	if !fills[*f.baseline] {
		return fmt.Errorf("--baseline %q: expected black, mean, gray or blur", *f.baseline)
	}
	return nil
}

// fitModel checks the flags against the model and fills in the defaults
// that depend on its input size.
func (f *methodsFlags) fitModel(l *loaded) error {
	in := l.Model.Arch.Input
	side := max(in[1], in[2])
	if *f.class >= l.Model.Arch.Classes {
		return fmt.Errorf("--class %d: %s has %d classes", *f.class, l.Model.Arch.Name, l.Model.Arch.Classes)
	}
	if *f.layer != "" {
		if _, i := l.Model.Layer(*f.layer); i < 0 {
			return fmt.Errorf("--layer: %s has no layer %q", l.Model.Arch.Name, *f.layer)
		}
	}
	if *f.blur == 0 {
		*f.blur = max(1, float64(side)/20)
	}
	if *f.occSize == 0 {
		*f.occSize = (side + 3) / 4
	}
	if *f.occStride == 0 {
		*f.occStride = max(1, side/28)
	}
	if *f.occSize > side || *f.occStride > side {
		return fmt.Errorf("--occ-size %d and --occ-stride %d must be at most the input's %d pixels", *f.occSize, *f.occStride, side)
	}
	if *f.zoom == 0 {
		*f.zoom = max(1, 168/side)
	}
	return nil
}

// methodsRows are the figures' rows, one per image, and the notes of the
// captions.
type methodsRows struct {
	methods, cam, sg, ig, variants []image.Image
	notes                          []string
	last                           *deconvnet.MethodsComparison
}

func runMethods(args []string) error {
	f, err := parseMethodsFlags(args)
	if err != nil {
		return err
	}
	images := f.pics.use(&f.mf, 3)
	if len(images) == 0 {
		return fmt.Errorf("--images: give at least one test-set index")
	}
	l, err := f.mf.load(false)
	if err != nil {
		return err
	}
	if err := f.fitModel(l); err != nil {
		return err
	}
	xs, labels, err := loadTestInputs(l, images)
	if err != nil {
		return err
	}
	net, err := deconvnet.New(l.Model, *f.batch)
	if err != nil {
		return err
	}
	defer net.Close()
	var rows methodsRows
	progress := stageProgress("")
	for i, x := range xs {
		if err := f.explain(net, l, x, images[i], labels[i], &rows, progress); err != nil {
			return err
		}
	}
	fmt.Fprintln(os.Stderr)
	return f.writeGallery(l, &rows)
}

// explain runs every method on one image (test-set index image, true class
// label or -1) and adds its rows.
func (f *methodsFlags) explain(net *deconvnet.Net, l *loaded, x []float32, idx, label int, rows *methodsRows, progress func(string, int, int)) error {
	classes := classNames(l)
	base, err := fillPicture(l, *f.baseline, x, *f.blur)
	if err != nil {
		return fmt.Errorf("--baseline: %v", err)
	}
	fp, err := fillPicture(l, *f.fill, x, *f.blur)
	if err != nil {
		return fmt.Errorf("--fill: %v", err)
	}
	cfg := deconvnet.MethodsConfig{Class: *f.class, GradCAMLayer: *f.layer, SmoothSamples: *f.samples, SmoothNoise: *f.noise,
		SmoothSeed: *f.seed, SmoothRule: *f.rule, IGSteps: *f.steps, Baseline: base, BaselineName: *f.baseline, IGProbability: *f.igProb,
		Occlusion: deconvnet.OcclusionMapConfig{Size: *f.occSize, Stride: *f.occStride, Fill: fp, FillName: *f.fill, Keep: *f.keep},
		Progress:  func(m string, done, total int) { progress(fmt.Sprintf("image %d: %s", idx, m), done, total) }}
	r, err := deconvnet.CompareMethods(net, x, cfg)
	if err != nil {
		return fmt.Errorf("image %d: %w", idx, err)
	}
	rows.last = r
	rows.methods = append(rows.methods, r.Image(l.Mean, classes, *f.zoom))
	rows.cam = append(rows.cam, r.GradCAM.Image(l.Mean, classes, *f.zoom))
	rows.sg = append(rows.sg, r.SmoothGrad.Image(l.Mean, classes, *f.zoom))
	rows.ig = append(rows.ig, r.Integrated.Image(l.Mean, classes, *f.zoom))
	truth := "unlabeled"
	if label >= 0 {
		truth = "true " + classes[label]
	}
	rows.notes = append(rows.notes, fmt.Sprintf("image %d (%s): %s P=%.2f, integrated gradients completeness error %.3g (%.1f%%)",
		idx, truth, classes[r.Class], r.Prob, r.Integrated.CompletenessError, 100*r.Integrated.RelativeError))
	if !*f.variants {
		return nil
	}
	v, err := f.occlusionVariants(net, l, x, r.Class, func(done, total int) {
		progress(fmt.Sprintf("image %d: occlusion variants", idx), done, total)
	})
	if err != nil {
		return fmt.Errorf("image %d: %w", idx, err)
	}
	rows.variants = append(rows.variants, v)
	return nil
}

// occlusionVariants is one image's grid of occlusion maps: every fill,
// occluding the window (top row) and keeping only it (bottom row).
func (f *methodsFlags) occlusionVariants(net *deconvnet.Net, l *loaded, x []float32, class int, progress func(int, int)) (image.Image, error) {
	var cells []image.Image
	for _, keepOnly := range []bool{false, true} {
		for _, fill := range []string{"mean", "black", "gray", "blur"} {
			fv, err := fillPicture(l, fill, x, *f.blur)
			if err != nil {
				return nil, err
			}
			om, err := deconvnet.OcclusionMap(net, x, deconvnet.OcclusionMapConfig{Size: *f.occSize, Stride: *f.occStride, Fill: fv, FillName: fill,
				Keep: keepOnly, Class: class, Progress: progress})
			if err != nil {
				return nil, err
			}
			cells = append(cells, om.Image(l.Mean, classNames(l), *f.zoom))
		}
	}
	return figure.Grid(cells, 4, 4, image.White), nil
}

// writeGallery saves each figure (its rows stacked) and adds it, captioned
// with every setting, to the gallery.
func (f *methodsFlags) writeGallery(l *loaded, rows *methodsRows) error {
	dir, err := f.mf.makeOutDir(*f.out)
	if err != nil {
		return err
	}
	classes := classNames(l)
	const section = "Methods compared with the deconvnet"
	who := "each image's predicted class"
	if *f.class >= 0 {
		who = "class " + classes[*f.class]
	}
	igScore := "logit"
	if *f.igProb {
		igScore = "probability"
	}
	notes := strings.Join(rows.notes, "; ")
	type fig struct {
		name, title, caption string
		rows                 []image.Image
	}
	figs := []fig{
		{"methods.png", "The deconvnet beside the methods that came after it", fmt.Sprintf("For %s, one row per image. %s %s.",
			who, rows.last.Caption(), notes), rows.methods},
		{"gradcam.png", "Grad-CAM and Guided Grad-CAM", fmt.Sprintf("For %s: Grad-CAM at %s (Selvaraju et al. 2017: the layer's maps weighted by the "+
			"mean gradient of the class logit, rectified, upsampled bilinearly; dark blue 0 to yellow the largest value), guided "+
			"backpropagation of the class logit, and their product, Guided Grad-CAM.", who, rows.last.GradCAM.Layer), rows.cam},
		{"smoothgrad.png", "SmoothGrad", fmt.Sprintf("For %s: the %s walk from the class logit on the image, and averaged over %d copies with "+
			"Gaussian noise of sigma %.0f%% of the input's range (seed %d; Smilkov et al. 2017); signed (gray is zero) and as the largest "+
			"magnitude over the channels.", who, *f.rule, *f.samples, 100**f.noise, *f.seed), rows.sg},
		{"integrated-gradients.png", "Integrated gradients", fmt.Sprintf("For %s: attributions of the class %s along %d steps "+
			"from the %s baseline (blur sigma %.3g pixels where blurred; Sundararajan et al. 2017); the title gives the completeness "+
			"check, sum of attributions against F(x) - F(baseline). %s.", who, igScore, *f.steps, *f.baseline, *f.blur, notes), rows.ig},
	}
	if *f.variants {
		figs = append(figs, fig{"occlusion-variants.png", "Occlusion variants", fmt.Sprintf("For %s: a %dx%d window at stride %d, filled with the mean image, "+
			"black, gray or the image blurred with sigma %.3g pixels; top row of each image: the window occluded (the paper's Fig. 7), "+
			"bottom row: only the window kept. Each panel shows one position of the window (red) and the class probability by "+
			"position over the image (0 dark blue, 1 yellow).", who, *f.occSize, *f.occSize, *f.occStride, *f.blur), rows.variants})
	}
	var items []figure.GalleryItem
	for _, g := range figs {
		if err := figure.SavePNG(filepath.Join(dir, g.name), figure.Column(g.rows, 6, color.White)); err != nil {
			return err
		}
		items = append(items, figure.GalleryItem{File: g.name, Title: g.title, Caption: g.caption, Section: section})
		fmt.Printf("wrote %s\n", filepath.Join(dir, g.name))
	}
	if err := figure.WriteGallery(dir, galleryTitle(l), items); err != nil {
		return err
	}
	fmt.Printf("open %s\n", filepath.Join(dir, "index.html"))
	return nil
}
