package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/experiments"
	"github.com/zfnet/zfnet/deconvnet/figure"
)

func init() {
	registerExperiment("invariance", "Fig. 5: layer-1/layer-7 feature distance and P(true class) under translation, scale, rotation", runInvariance)
}

// invarianceFlags are the flags of `visualize invariance`.
type invarianceFlags struct {
	mf                                       modelFlags
	pics                                     pictureFlag
	translate, scale, rotate, low, high, out string
	batch                                    int
}

func parseInvarianceFlags(args []string) (*invarianceFlags, error) {
	f := &invarianceFlags{pics: pictureFlag{indices: intList{0, 1, 2, 3, 4}}}
	fs := newFlags("visualize invariance", "", "Fig. 5 of the paper: transforms sample test images (vertical translation, scale,\n"+
		"rotation) and plots, one line per image, the Euclidean distance of layer-1 and\n"+
		"layer-7 feature vectors from the untransformed image's and the probability of the\n"+
		"true class. Transforms act on the decoded picture before the mean is subtracted;\n"+
		"uncovered pixels take the picture's border colour (black for digits).")
	f.mf.register(fs)
	fs.Var(&f.pics, "images", "test-set indices of the sample images (comma-separated, from 0), or a folder of pictures (its first 5; no data set needed)")
	fs.StringVar(&f.translate, "translate", "", "vertical translation in pixels FROM:TO:STEP (default: a quarter of the height either way); none to skip")
	fs.StringVar(&f.scale, "scale", "0.5:1.5:0.1", "scale factors FROM:TO:STEP; none to skip")
	fs.StringVar(&f.rotate, "rotate", "0:360:15", "rotation in degrees (counter-clockwise) FROM:TO:STEP; none to skip")
	fs.StringVar(&f.low, "low", "conv1", "the low layer compared (the paper's layer 1)")
	fs.StringVar(&f.high, "high", "", "the high layer compared (default: the last hidden fc layer, fc7)")
	fs.IntVar(&f.batch, "batch", 64, "images per forward pass")
	outFlag(fs, &f.out)
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if f.batch < 1 {
		return nil, fmt.Errorf("--batch %d: must be positive", f.batch)
	}
	return f, nil
}

// sweeps reads --translate, --scale and --rotate for an h x w input.
func (f *invarianceFlags) sweeps(h, w int) ([]experiments.Sweep, error) {
	def := experiments.DefaultSweeps(h, w)
	var sweeps []experiments.Sweep
	for _, s := range []struct {
		flag, spec string
		kind       experiments.TransformKind
		def        []float64
	}{{"translate", f.translate, experiments.TranslateY, def[0].Amounts}, {"scale", f.scale, experiments.Zoom, nil}, {"rotate", f.rotate, experiments.Rotate, nil}} {
		amounts, skip, err := parseSweepRange(s.flag, s.spec, s.def)
		if err != nil {
			return nil, err
		}
		if !skip {
			sweeps = append(sweeps, experiments.Sweep{Kind: s.kind, Amounts: amounts})
		}
	}
	if len(sweeps) == 0 {
		return nil, fmt.Errorf("every transformation is set to none: nothing to sweep")
	}
	return sweeps, nil
}

func runInvariance(args []string) error {
	f, err := parseInvarianceFlags(args)
	if err != nil {
		return err
	}
	images := f.pics.use(&f.mf, 5)
	if len(images) == 0 {
		return fmt.Errorf("--images: give at least one test-set index")
	}
	l, err := f.mf.load(false)
	if err != nil {
		return err
	}
	in := l.Model.Arch.Input
	sweeps, err := f.sweeps(in[1], in[2])
	if err != nil {
		return err
	}
	samples, err := loadTestPictures(l, images)
	if err != nil {
		return err
	}
	if err := labelPictures(l, samples); err != nil {
		return err
	}
	dir, err := f.mf.makeOutDir(f.out)
	if err != nil {
		return err
	}
	net, err := deconvnet.New(l.Model, f.batch)
	if err != nil {
		return err
	}
	defer net.Close()
	res, err := experiments.Invariance(net, l.Pre, l.Mean, samples, experiments.InvarianceConfig{Sweeps: sweeps, LowLayer: f.low, HighLayer: f.high})
	if err != nil {
		return err
	}
	items, err := invariancePlots(dir, res, classNames(l), fmt.Sprint(images))
	if err != nil {
		return err
	}
	strips, err := invarianceStrips(dir, res)
	if err != nil {
		return err
	}
	items = append(items, strips...)
	if err := figure.WriteGallery(dir, galleryTitle(l), items); err != nil {
		return err
	}
	fmt.Printf("wrote %d pictures to %s (open %s)\n", len(items), dir, filepath.Join(dir, "index.html"))
	return nil
}

const invarianceSection = "Invariance (Fig. 5)"

// invariancePlots writes Fig. 5 with raw and with normalized distances;
// images names the sample images in the caption.
func invariancePlots(dir string, res *experiments.InvarianceResult, classes []string, images string) ([]figure.GalleryItem, error) {
	kinds := make([]string, len(res.Sweeps))
	for i, s := range res.Sweeps {
		kinds[i] = s.Kind.String()
	}
	var items []figure.GalleryItem
	for _, norm := range []bool{false, true} {
		name, title, what := "invariance.png", "Feature distance and P(true class) under transformations", "raw Euclidean distance, as the paper plots it"
		if norm {
			name, title = "invariance-normalized.png", title+" (normalized)"
			what = "distance divided by the norm of the untransformed image's feature vector, so the two layers compare"
		}
		if err := experiments.PlotInvariance(filepath.Join(dir, name), res, classes, norm); err != nil {
			return nil, err
		}
		items = append(items, figure.GalleryItem{File: name, Section: invarianceSection,
			Title: title,
			Caption: fmt.Sprintf("Rows: %s. Columns: Euclidean distance between the feature vectors of the original and the transformed image "+
				"at layer 1 (%s) and layer 7 (%s), and the probability of the true label. One line per test image (%s); %s. "+
				"The paper finds that small transformations change layer 1 sharply but layer 7 less, and that the output is stable "+
				"under translation and scaling but not under rotation, except for rotationally symmetric objects (here a 0, and a 1 turned by 180 degrees).",
				strings.Join(kinds, ", "), res.LowLayer, res.HighLayer, images, what)})
	}
	return items, nil
}

// invarianceStrips writes, per sweep, the transformed images as the
// network saw them.
func invarianceStrips(dir string, res *experiments.InvarianceResult) ([]figure.GalleryItem, error) {
	var items []figure.GalleryItem
	for s, sw := range res.Sweeps {
		img, err := experiments.InvarianceStrip(res, s, 2)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("invariance-strip-%s.png", strings.Fields(sw.Kind.String())[0])
		if sw.Kind == experiments.TranslateY {
			name = "invariance-strip-translation.png"
		}
		if err := figure.SavePNG(filepath.Join(dir, name), img); err != nil {
			return nil, err
		}
		items = append(items, figure.GalleryItem{File: name, Section: invarianceSection,
			Title:   fmt.Sprintf("The sample images under %s", sw.Kind),
			Caption: fmt.Sprintf("What the network was shown for the %s curves: one row per test image, one column per amount (%s).", sw.Kind, sw.Kind.Unit())})
	}
	return items, nil
}

// parseSweepRange reads FROM:TO:STEP; "none" skips the sweep and "" keeps def
// (when def is nil, "" is an error).
func parseSweepRange(flag, spec string, def []float64) ([]float64, bool, error) {
	spec = strings.TrimSpace(spec)
	switch {
	case spec == "none":
		return nil, true, nil
	case spec == "" && def != nil:
		return def, false, nil
	}
	f := strings.Split(spec, ":")
	if len(f) != 3 {
		return nil, false, fmt.Errorf("--%s %q: expected FROM:TO:STEP (e.g. 0:360:15) or none", flag, spec)
	}
	var v [3]float64
	for i, s := range f {
		x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, false, fmt.Errorf("--%s %q: %q is not a number", flag, spec, s)
		}
		v[i] = x
	}
	r, err := experiments.Range(v[0], v[1], v[2])
	if err != nil {
		return nil, false, errors.Wrapf(err, "--%s", flag)
	}
	return r, false, nil
}

// loadTestPictures decodes test-set images as base pictures in [0,1]
// (before the mean is subtracted).
func loadTestPictures(l *loaded, idx []int) ([]*data.Image, error) {
	if l.Set == nil || l.Set.Test == nil {
		return nil, fmt.Errorf("no test set to take images from (give --data)")
	}
	var out []*data.Image
	for _, i := range idx {
		if i < 0 || i >= l.Set.Test.Len() {
			return nil, fmt.Errorf("--images: index %d is outside the test set %s (0 to %d)", i, l.Set.Test.Name(), l.Set.Test.Len()-1)
		}
		img, err := l.Pre.Base(l.Set.Test, i)
		if err != nil {
			return nil, errors.Wrapf(err, "test image %d", i)
		}
		out = append(out, img)
	}
	return out, nil
}

// loadTestInputs is loadTestPictures as model inputs: centre crop, mean
// subtracted, as at test time.
func loadTestInputs(l *loaded, idx []int) ([][]float32, []int, error) {
	pics, err := loadTestPictures(l, idx)
	if err != nil {
		return nil, nil, err
	}
	xs, labels := testTimeInputs(l, pics)
	return xs, labels, nil
}

// testTimeInputs cuts base pictures into model inputs as at test time
// (centre crop, mean subtracted, normalized) and lists their labels.
func testTimeInputs(l *loaded, pics []*data.Image) ([][]float32, []int) {
	xs := make([][]float32, len(pics))
	labels := make([]int, len(pics))
	for i, p := range pics {
		xs[i] = make([]float32, l.Pre.Geometry.Size())
		l.Pre.ApplyCrop(p.Pix, l.Mean, l.Pre.CenterCrop(), xs[i])
		labels[i] = p.Label
	}
	return xs, labels
}
