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
	"github.com/zfnet/zfnet/nn"
)

func isLinear(l nn.Layer) bool { _, ok := l.(*nn.Linear); return ok }

// The methods people compare the deconvnet with (issue 15): `visualize
// methods` runs them side by side on the same images, `visualize actmax`
// draws what units respond to most.

func init() {
	registerExperiment("methods", "Grad-CAM, Guided Grad-CAM, SmoothGrad, integrated gradients and occlusion variants beside the deconvnet", runMethods)
	registerExperiment("actmax", "feature visualization by activation maximization: one picture per unit of a layer (a grid)", runActMax)
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

func runMethods(args []string) error {
	var mf modelFlags
	fs := newFlags("visualize methods", "", "Explains each image's class with the methods that came after the deconvnet, side by side:\n"+
		"the deconvnet, saliency and guided backpropagation from the class logit; Grad-CAM (Selvaraju et al. 2017)\n"+
		"and Guided Grad-CAM; SmoothGrad (Smilkov et al. 2017); integrated gradients (Sundararajan et al. 2017)\n"+
		"with its completeness error; and occlusion sensitivity. Also writes each method's own figure and\n"+
		"the occlusion variants (mean, black, gray and blurred fills; occluding a window or keeping only it).\n"+
		"Cost per image: about 2*samples + steps + 9 occlusion grids of forward and backward passes; on a 224x224\n"+
		"network that is minutes per image on a CPU: lower --samples, --steps, or raise --occ-stride, or --variants=false.")
	mf.register(fs)
	pics := pictureFlag{indices: intList{0, 1, 2}}
	fs.Var(&pics, "images", "test-set indices of the images (comma-separated, from 0), or a folder of pictures (its first 3; no data set needed)")
	class := fs.Int("class", -1, "class to explain (default -1: each image's predicted class)")
	layer := fs.String("layer", "", "Grad-CAM's layer (default: the last convolution)")
	samples := fs.Int("samples", 50, "SmoothGrad: noisy copies per image")
	noise := fs.Float64("noise", 0.15, "SmoothGrad: noise sigma as a fraction of the input's range")
	seed := fs.Uint64("seed", 1, "SmoothGrad: noise seed")
	rule := fs.String("rule", "saliency", "SmoothGrad: the walk smoothed: saliency (the gradient), guided or deconvnet")
	steps := fs.Int("steps", 64, "integrated gradients: steps of the path")
	baseline := fs.String("baseline", "black", "integrated gradients: baseline: black, mean, gray or blur")
	igProb := fs.Bool("ig-probability", false, "integrated gradients: attribute the class probability instead of its logit")
	blur := fs.Float64("blur-sigma", 0, "sigma in pixels of the blur baseline and fill (default: 1/20 of the input's side)")
	occSize := fs.Int("occ-size", 0, "occlusion: window side in pixels (default: a quarter of the input)")
	occStride := fs.Int("occ-stride", 0, "occlusion: stride in pixels (default: 1 up to 28-pixel inputs, a 28x28 grid for larger)")
	fill := fs.String("fill", "mean", "occlusion in the comparison: fill of the window: mean, black, gray or blur")
	keep := fs.Bool("keep", false, "occlusion in the comparison: keep only the window and occlude the rest")
	variants := fs.Bool("variants", true, "also write occlusion-variants.png: every fill, occluding and keeping")
	zoom := fs.Int("zoom", 0, "enlargement of the pictures (default: to about 168 pixels)")
	batch := fs.Int("batch", 16, "inputs per forward pass")
	out := fs.String("out", "", `output folder (default "<run dir>/gallery" with --checkpoint, else "gallery")`)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *batch < 1 || *samples < 1 || *steps < 1 || *noise < 0 || *occSize < 0 || *occStride < 0 || *blur < 0 {
		return fmt.Errorf("--batch, --samples and --steps must be positive; --noise, --occ-size, --occ-stride and --blur-sigma not negative")
	}
	if *zoom < 0 || *zoom > 64 {
		return fmt.Errorf("--zoom %d: must be between 1 and 64 (0: automatic)", *zoom)
	}
	if _, err := deconvnet.ParseRule(*rule); err != nil {
		return fmt.Errorf("--rule: %v", err)
	}
	fills := map[string]bool{"mean": true, "black": true, "gray": true, "blur": true}
	if !fills[*fill] {
		return fmt.Errorf("--fill %q: expected mean, black, gray or blur", *fill)
	}
	if !fills[*baseline] {
		return fmt.Errorf("--baseline %q: expected black, mean, gray or blur", *baseline)
	}
	images := pics.use(&mf, 3)
	if len(images) == 0 {
		return fmt.Errorf("--images: give at least one test-set index")
	}
	l, err := mf.load(false)
	if err != nil {
		return err
	}
	in := l.Model.Arch.Input
	side := max(in[1], in[2])
	if *class >= l.Model.Arch.Classes {
		return fmt.Errorf("--class %d: %s has %d classes", *class, l.Model.Arch.Name, l.Model.Arch.Classes)
	}
	if *layer != "" {
		if _, i := l.Model.Layer(*layer); i < 0 {
			return fmt.Errorf("--layer: %s has no layer %q", l.Model.Arch.Name, *layer)
		}
	}
	if *blur == 0 {
		*blur = max(1, float64(side)/20)
	}
	if *occSize == 0 {
		*occSize = (side + 3) / 4
	}
	if *occStride == 0 {
		*occStride = max(1, side/28)
	}
	if *occSize > side || *occStride > side {
		return fmt.Errorf("--occ-size %d and --occ-stride %d must be at most the input's %d pixels", *occSize, *occStride, side)
	}
	if *zoom == 0 {
		*zoom = max(1, 168/side)
	}
	xs, labels, err := loadTestInputs(l, images)
	if err != nil {
		return err
	}
	net, err := deconvnet.New(l.Model, *batch)
	if err != nil {
		return err
	}
	defer net.Close()
	classes := classNames(l)
	progress := stageProgress("")
	var rows, camRows, sgRows, igRows, varRows []image.Image
	var notes []string
	var last *deconvnet.MethodsComparison
	for i, x := range xs {
		base, err := fillPicture(l, *baseline, x, *blur)
		if err != nil {
			return fmt.Errorf("--baseline: %v", err)
		}
		fp, err := fillPicture(l, *fill, x, *blur)
		if err != nil {
			return fmt.Errorf("--fill: %v", err)
		}
		cfg := deconvnet.MethodsConfig{Class: *class, GradCAMLayer: *layer, SmoothSamples: *samples, SmoothNoise: *noise,
			SmoothSeed: *seed, SmoothRule: *rule, IGSteps: *steps, Baseline: base, BaselineName: *baseline, IGProbability: *igProb,
			Occlusion: deconvnet.OcclusionMapConfig{Size: *occSize, Stride: *occStride, Fill: fp, FillName: *fill, Keep: *keep},
			Progress:  func(m string, done, total int) { progress(fmt.Sprintf("image %d: %s", images[i], m), done, total) }}
		r, err := deconvnet.CompareMethods(net, x, cfg)
		if err != nil {
			return fmt.Errorf("image %d: %w", images[i], err)
		}
		last = r
		rows = append(rows, r.Image(l.Mean, classes, *zoom))
		camRows = append(camRows, r.GradCAM.Image(l.Mean, classes, *zoom))
		sgRows = append(sgRows, r.SmoothGrad.Image(l.Mean, classes, *zoom))
		igRows = append(igRows, r.Integrated.Image(l.Mean, classes, *zoom))
		truth := "unlabeled"
		if labels[i] >= 0 {
			truth = "true " + classes[labels[i]]
		}
		notes = append(notes, fmt.Sprintf("image %d (%s): %s P=%.2f, integrated gradients completeness error %.3g (%.1f%%)",
			images[i], truth, classes[r.Class], r.Prob, r.Integrated.CompletenessError, 100*r.Integrated.RelativeError))
		if *variants {
			var cells []image.Image
			for _, keepOnly := range []bool{false, true} {
				for _, f := range []string{"mean", "black", "gray", "blur"} {
					fv, err := fillPicture(l, f, x, *blur)
					if err != nil {
						return err
					}
					om, err := deconvnet.OcclusionMap(net, x, deconvnet.OcclusionMapConfig{Size: *occSize, Stride: *occStride, Fill: fv, FillName: f,
						Keep: keepOnly, Class: r.Class, Progress: func(done, total int) {
							progress(fmt.Sprintf("image %d: occlusion variants", images[i]), done, total)
						}})
					if err != nil {
						return fmt.Errorf("image %d: %w", images[i], err)
					}
					cells = append(cells, om.Image(l.Mean, classes, *zoom))
				}
			}
			varRows = append(varRows, figure.Grid(cells, 4, 4, image.White))
		}
	}
	fmt.Fprintln(os.Stderr)
	dir, err := mf.makeOutDir(*out)
	if err != nil {
		return err
	}
	const section = "Methods compared with the deconvnet"
	who := "each image's predicted class"
	if *class >= 0 {
		who = "class " + classes[*class]
	}
	igScore := "logit"
	if *igProb {
		igScore = "probability"
	}
	figs := []struct {
		name, title, caption string
		rows                 []image.Image
	}{
		{"methods.png", "The deconvnet beside the methods that came after it", fmt.Sprintf("For %s, one row per image. %s %s.",
			who, last.Caption(), strings.Join(notes, "; ")), rows},
		{"gradcam.png", "Grad-CAM and Guided Grad-CAM", fmt.Sprintf("For %s: Grad-CAM at %s (Selvaraju et al. 2017: the layer's maps weighted by the "+
			"mean gradient of the class logit, rectified, upsampled bilinearly; dark blue 0 to yellow the largest value), guided "+
			"backpropagation of the class logit, and their product, Guided Grad-CAM.", who, last.GradCAM.Layer), camRows},
		{"smoothgrad.png", "SmoothGrad", fmt.Sprintf("For %s: the %s walk from the class logit on the image, and averaged over %d copies with "+
			"Gaussian noise of sigma %.0f%% of the input's range (seed %d; Smilkov et al. 2017); signed (gray is zero) and as the largest "+
			"magnitude over the channels.", who, *rule, *samples, 100**noise, *seed), sgRows},
		{"integrated-gradients.png", "Integrated gradients", fmt.Sprintf("For %s: attributions of the class %s along %d steps "+
			"from the %s baseline (blur sigma %.3g pixels where blurred; Sundararajan et al. 2017); the title gives the completeness "+
			"check, sum of attributions against F(x) - F(baseline). %s.", who, igScore, *steps, *baseline, *blur, strings.Join(notes, "; ")), igRows},
	}
	if *variants {
		figs = append(figs, struct {
			name, title, caption string
			rows                 []image.Image
		}{"occlusion-variants.png", "Occlusion variants", fmt.Sprintf("For %s: a %dx%d window at stride %d, filled with the mean image, "+
			"black, gray or the image blurred with sigma %.3g pixels; top row of each image: the window occluded (the paper's Fig. 7), "+
			"bottom row: only the window kept. Each panel shows one position of the window (red) and the class probability by "+
			"position over the image (0 dark blue, 1 yellow).", who, *occSize, *occSize, *occStride, *blur), varRows})
	}
	var items []figure.GalleryItem
	for _, f := range figs {
		if err := figure.SavePNG(filepath.Join(dir, f.name), figure.Column(f.rows, 6, color.White)); err != nil {
			return err
		}
		items = append(items, figure.GalleryItem{File: f.name, Title: f.title, Caption: f.caption, Section: section})
		fmt.Printf("wrote %s\n", filepath.Join(dir, f.name))
	}
	if err := figure.WriteGallery(dir, galleryTitle(l), items); err != nil {
		return err
	}
	fmt.Printf("open %s\n", filepath.Join(dir, "index.html"))
	return nil
}

func runActMax(args []string) error {
	var mf modelFlags
	fs := newFlags("visualize actmax", "", "Feature visualization by activation maximization (Erhan et al. 2009; Yosinski et al. 2015;\n"+
		"Olah et al. 2017): gradient ascent on the input for each unit of a layer, with L2 decay, blur every few\n"+
		"steps, jitter and clipping of small pixel norms and contributions. Deterministic for a seed. One picture\n"+
		"per unit, in a grid. Needs no data set.")
	mf.register(fs)
	def := deconvnet.DefaultActMax("")
	layer := fs.String("layer", "", "layer: a convolution (its maps, before the ReLU), a fully connected layer (its units) or the logits "+
		"layer (classes) (default: the logits layer, one picture per class)")
	var units intList
	fs.Var(&units, "units", "units (maps, classes) to draw, comma-separated (default: the first 64)")
	center := fs.Bool("center", false, "maximize a map's centre unit instead of the whole map")
	steps := fs.Int("steps", def.Steps, "ascent steps")
	lr := fs.Float64("lr", def.LR, "step size: mean absolute change of the input per step")
	decay := fs.Float64("decay", def.Decay, "L2 decay per step")
	blurEvery := fs.Int("blur-every", def.BlurEvery, "blur every N steps (0: never)")
	blurSigma := fs.Float64("blur-sigma", def.BlurSigma, "blur sigma in pixels")
	jitter := fs.Int("jitter", def.Jitter, "largest random shift per step, pixels")
	normPct := fs.Float64("norm-pct", def.NormPercentile, "zero the pixels whose norm is below this percentile (0: off)")
	contribPct := fs.Float64("contrib-pct", def.ContribPercentile, "zero the pixels whose contribution |x . grad| is below this percentile (0: off)")
	seed := fs.Uint64("seed", def.Seed, "seed of the start and the jitter")
	initScale := fs.Float64("init-scale", def.InitScale, "standard deviation of the starting noise (0: the mean image)")
	cols := fs.Int("cols", 8, "pictures per row")
	zoom := fs.Int("zoom", 0, "enlargement of the pictures (default: to about 84 pixels)")
	batch := fs.Int("batch", 16, "units optimized together")
	out := fs.String("out", "", `output folder (default "<run dir>/gallery" with --checkpoint, else "gallery")`)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *batch < 1 || *cols < 1 || *steps < 0 {
		return fmt.Errorf("--batch and --cols must be positive, --steps not negative")
	}
	if *zoom < 0 || *zoom > 64 {
		return fmt.Errorf("--zoom %d: must be between 1 and 64 (0: automatic)", *zoom)
	}
	l, err := mf.load(true)
	if err != nil {
		return err
	}
	if *layer == "" {
		*layer = l.Model.LogitsLayer()
	}
	if _, i := l.Model.Layer(*layer); i < 0 {
		return fmt.Errorf("--layer: %s has no layer %q", l.Model.Arch.Name, *layer)
	}
	in := l.Model.Arch.Input
	if *zoom == 0 {
		*zoom = max(1, 84/max(in[1], in[2]))
	}
	net, err := deconvnet.New(l.Model, *batch)
	if err != nil {
		return err
	}
	defer net.Close()
	if len(units) == 0 {
		_, i := l.Model.Layer(*layer)
		n := l.Model.Shape(i)[0]
		if *layer == l.Model.LogitsLayer() {
			n = l.Model.Arch.Classes
		}
		for u := 0; u < min(n, 64); u++ {
			units = append(units, u)
		}
	}
	progress := stageProgress("")
	cfg := deconvnet.ActMaxConfig{Layer: *layer, Units: units, WholeMap: !*center, Steps: *steps, LR: *lr, Decay: *decay,
		BlurEvery: *blurEvery, BlurSigma: *blurSigma, Jitter: *jitter, NormPercentile: *normPct, ContribPercentile: *contribPct,
		Seed: *seed, InitScale: *initScale, Progress: func(done, total int) { progress("activation maximization of "+*layer+" (unit steps)", done, total) }}
	r, err := deconvnet.ActMax(net, cfg)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	dir, err := mf.makeOutDir(*out)
	if err != nil {
		return err
	}
	name := "actmax-" + *layer + ".png"
	if err := figure.SavePNG(filepath.Join(dir, name), r.Grid(*cols, *zoom)); err != nil {
		return err
	}
	what := "the sum of each feature map"
	if *center {
		what = "each feature map's centre unit"
	}
	if *layer == l.Model.LogitsLayer() {
		what = "each class's logit"
	} else if ly, _ := l.Model.Layer(*layer); isLinear(ly) {
		what = "each unit"
	}
	caption := fmt.Sprintf("Gradient ascent on the input for %s of %s, before the ReLU (units %s): %d steps of mean size %g, L2 decay %g, "+
		"blur sigma %g every %d steps, jitter up to %d pixels, pixels below the %gth percentile of norm and the %gth of contribution "+
		"zeroed, start: noise of sigma %g (seed %d). Each picture is stretched to full contrast; below it, the unit and its final value.",
		what, *layer, units.String(), *steps, *lr, *decay, *blurSigma, *blurEvery, *jitter, *normPct, *contribPct, *initScale, *seed)
	item := figure.GalleryItem{File: name, Section: "Feature visualization by activation maximization",
		Title: "What " + *layer + "'s units respond to most", Caption: caption}
	if err := figure.WriteGallery(dir, galleryTitle(l), []figure.GalleryItem{item}); err != nil {
		return err
	}
	fmt.Printf("wrote %s (open %s)\n", filepath.Join(dir, name), filepath.Join(dir, "index.html"))
	return nil
}
