package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/data/atomicfile"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/nn"
	"github.com/zfnet/zfnet/zfnet"
)

func init() {
	registerExperiment("project", "project one activation to pixel space: deconvnet, guided backprop and saliency side by side", runProject)
}

// deconvFlags are the flags the deconvnet experiments (project, top9,
// evolution, filters) share.
type deconvFlags struct {
	model      modelFlags
	layer      string
	maps       string
	rule       string
	throughLRN bool
	out        string
	raw        bool
	batch      int
}

// register adds the flags; layer is the --layer default (empty: no
// --layer flag), withRule adds --rule and withMaps --maps.
func (f *deconvFlags) register(fs *flag.FlagSet, layer string, withRule, withMaps bool) {
	f.model.register(fs)
	if layer != "" {
		fs.StringVar(&f.layer, "layer", layer, "layer(s) to look at, comma separated (conv1..conv5, pool1, fc6, ...); all: every convolution")
	}
	if withMaps {
		fs.StringVar(&f.maps, "maps", "", "feature maps to show, comma separated, counting from 0 (default: all)")
	}
	if withRule {
		fs.StringVar(&f.rule, "rule", "deconvnet", "how the projection passes ReLUs: deconvnet (the paper's), guided or saliency")
	}
	fs.StringVar(&f.model.imageDir, "images", "", "folder of pictures to use instead of the data set's test split (photographs: no data set needed)")
	fs.BoolVar(&f.throughLRN, "through-lrn", false, "propagate through contrast normalization instead of skipping it as the paper does")
	fs.StringVar(&f.out, "out", "", "output folder with index.html (default: <run>/gallery with --checkpoint, else gallery)")
	fs.BoolVar(&f.raw, "raw", false, "also write the raw float projections as .npy")
	fs.IntVar(&f.batch, "batch", 64, "images per forward and projection pass")
}

func (f *deconvFlags) options() (deconvnet.Options, error) {
	r := deconvnet.Deconvnet
	if f.rule != "" {
		var err error
		if r, err = deconvnet.ParseRule(f.rule); err != nil {
			return deconvnet.Options{}, err
		}
	}
	return deconvnet.Options{Rule: r, ThroughLRN: f.throughLRN}, nil
}

// outDir is --out, or the gallery folder of the run the model comes from.
func (f *deconvFlags) outDir() string { return f.model.outPath(f.out) }

// runDir is the folder of the checkpoint or weights file.
func (f *deconvFlags) runDir() string {
	if f.model.checkpoint != "" {
		return filepath.Dir(f.model.checkpoint)
	}
	return filepath.Dir(f.model.weights)
}

// loadLayers loads the model and its data and resolves --rule, --layer and
// --maps: the common start of the experiments that walk layers and maps.
func (f *deconvFlags) loadLayers() (*loaded, deconvnet.Options, []string, []int, error) {
	opt, err := f.options()
	if err != nil {
		return nil, opt, nil, nil, err
	}
	l, err := f.model.load(false)
	if err != nil {
		return nil, opt, nil, nil, err
	}
	layers, err := f.layers(l.Model)
	if err != nil {
		return nil, opt, nil, nil, err
	}
	maps, err := f.mapList()
	return l, opt, layers, maps, err
}

// layers expands --layer.
func (f *deconvFlags) layers(m *zfnet.Model) ([]string, error) {
	var out []string
	for _, s := range strings.Split(f.layer, ",") {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
		case s == "all":
			for _, l := range m.Layers() {
				if _, ok := l.(*nn.Conv2d); ok {
					out = append(out, l.Name())
				}
			}
		default:
			if _, i := m.Layer(s); i < 0 {
				names := make([]string, m.NumLayers())
				for j, l := range m.Layers() {
					names[j] = l.Name()
				}
				return nil, fmt.Errorf("--layer %s: %s has no such layer (layers: %s)", s, m.Arch.Name, strings.Join(names, ", "))
			}
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--layer: no layer given")
	}
	return out, nil
}

// mapList parses --maps (nil when not given).
func (f *deconvFlags) mapList() ([]int, error) {
	var out []int
	for _, s := range strings.Split(f.maps, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--maps: %q is not a feature map number (0, 1, ...)", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// testSource is the data set's test split, its first limit examples when
// limit > 0.
func (f *deconvFlags) testSource(l *loaded, limit int) (data.Source, error) {
	if l.Set == nil || l.Set.Test == nil {
		return nil, fmt.Errorf("no pictures to look at: give --data (a data set) or --images (a folder of pictures)")
	}
	src := l.Set.Test
	if limit > 0 && limit < src.Len() {
		idx := make([]int, limit)
		for i := range idx {
			idx[i] = i
		}
		src = data.Subset(src, fmt.Sprintf("%s[:%d]", src.Name(), limit), idx)
	}
	return src, nil
}

// loaderConfig streams test inputs as the model saw them at test time.
func (f *deconvFlags) loaderConfig(l *loaded) data.LoaderConfig {
	return data.LoaderConfig{BatchSize: f.batch, Pre: l.Pre, Mean: l.Mean}
}

// saveNpy writes a raw array into the output folder.
func (f *deconvFlags) saveNpy(dir, name string, shape []int, v []float32) error {
	return atomicfile.Write(filepath.Join(dir, name), func(w io.Writer) error {
		return data.WriteNpyArray(w, shape, v)
	})
}

// projectInput reads --image: a test-set index or a picture file, as one
// preprocessed input, with a name for file names and captions and its
// label (-1 unknown).
func (f *deconvFlags) projectInput(l *loaded, spec string) (x []float32, tag, desc string, label int, err error) {
	size := l.Pre.Geometry.Size()
	x = make([]float32, size)
	if i, aerr := strconv.Atoi(spec); aerr == nil {
		src, err := f.testSource(l, 0)
		if err != nil {
			return nil, "", "", 0, err
		}
		if i < 0 || i >= src.Len() {
			return nil, "", "", 0, fmt.Errorf("--image %d: %s has images 0 to %d", i, src.Name(), src.Len()-1)
		}
		base, err := l.Pre.Base(src, i)
		if err != nil {
			return nil, "", "", 0, err
		}
		l.Pre.ApplyCrop(base.Pix, l.Mean, l.Pre.CenterCrop(), x)
		return x, fmt.Sprintf("test%d", i), fmt.Sprintf("test image %d of %s", i, src.Name()), base.Label, nil
	}
	base := strings.TrimSuffix(filepath.Base(spec), filepath.Ext(spec))
	tag = regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(base, "_")
	if strings.EqualFold(filepath.Ext(spec), ".npy") {
		// An already preprocessed input, (1, C, H, W) or (C, H, W), as
		// NumPy and PyTorch pipelines hand it over.
		fh, err := os.Open(spec)
		if err != nil {
			return nil, "", "", 0, fmt.Errorf("--image: %v", err)
		}
		defer fh.Close()
		arr, err := data.ReadNpyArray(fh, spec)
		if err != nil {
			return nil, "", "", 0, err
		}
		in := l.Model.Arch.Input
		if len(arr.Data) != size || (len(arr.Shape) != 4 && len(arr.Shape) != 3) || (len(arr.Shape) == 4 && arr.Shape[0] != 1) {
			return nil, "", "", 0, fmt.Errorf("--image %s: shape %v, expected (1, %d, %d, %d) or (%d, %d, %d): one preprocessed input for %s",
				spec, arr.Shape, in[0], in[1], in[2], in[0], in[1], in[2], l.Model.Arch.Name)
		}
		if err := data.CheckFinite(spec, l.Pre.Geometry, arr.Data); err != nil {
			return nil, "", "", 0, err
		}
		copy(x, arr.Data)
		return x, tag, filepath.Base(spec), data.Unlabeled, nil
	}
	src, err := data.ImageFiles([]string{spec}, nil)
	if err != nil {
		return nil, "", "", 0, err
	}
	loader, err := data.NewLoader(src, data.LoaderConfig{BatchSize: 1, Pre: l.Pre, Mean: l.Mean, Workers: 1})
	if err != nil {
		return nil, "", "", 0, err
	}
	st := loader.Start(0, 0)
	defer st.Close()
	b, err := st.Next()
	if err != nil {
		return nil, "", "", 0, fmt.Errorf("--image %s: %v", spec, err)
	}
	copy(x, b.X)
	return x, tag, filepath.Base(spec), data.Unlabeled, nil
}

// className is a class's name when the data set knows it.
func (f *deconvFlags) className(l *loaded, c int) string {
	if c >= 0 && c < len(l.Classes) {
		return l.Classes[c]
	}
	return strconv.Itoa(c)
}

func runProject(args []string) error {
	var f deconvFlags
	fs := newFlags("visualize project", "", "Projects one activation of one image back to pixel space with the deconvnet (the paper's method),\n"+
		"guided backpropagation and the plain gradient (saliency), side by side with the input.")
	f.register(fs, "conv5", false, false)
	image := fs.String("image", "0", "a test-set index (of --data or --images), a picture file, or a preprocessed .npy input (1, C, H, W)")
	fmap := fs.Int("map", -1, "feature map (unit for fc layers); -1: the map with the strongest activation on this image")
	pos := fs.String("position", "", "y,x in the layer's map; empty: the map's strongest activation")
	whole := fs.Bool("whole-map", false, "project the whole feature map instead of one activation")
	if err := parse(fs, args); err != nil {
		return err
	}
	_, err := strconv.Atoi(*image)
	l, err := f.model.load(err != nil)
	if err != nil {
		return err
	}
	layers, err := f.layers(l.Model)
	if err != nil {
		return err
	}
	if len(layers) != 1 {
		return fmt.Errorf("--layer: project takes one layer, got %d", len(layers))
	}
	layer := layers[0]
	x, tag, desc, label, err := f.projectInput(l, *image)
	if err != nil {
		return err
	}
	d, err := deconvnet.New(l.Model, 1)
	if err != nil {
		return err
	}
	defer d.Close()
	logits, err := d.Forward(x)
	if err != nil {
		return err
	}
	probs := zfnet.Softmax(logits)
	pred, err := zfnet.Argmax(logits)
	if err != nil {
		return err
	}
	t := deconvnet.Target{Map: *fmap, Strongest: *pos == "", WholeMap: *whole}
	if *fmap < 0 {
		act, err := d.Activation(layer)
		if err != nil {
			return err
		}
		a, s := act.Data().([]float32), act.Shape()
		hw := len(a) / s[1]
		best := float32(-1)
		for m := 0; m < s[1]; m++ {
			for _, v := range a[m*hw : (m+1)*hw] {
				if v > best {
					best, t.Map = v, m
				}
			}
		}
	}
	if *pos != "" {
		if _, err := fmt.Sscanf(strings.ReplaceAll(*pos, " ", ""), "%d,%d", &t.Y, &t.X); err != nil {
			return fmt.Errorf("--position %q: expected y,x", *pos)
		}
	}
	rc, err := deconvnet.CompareRules(d, x, l.Mean, layer, t, f.throughLRN)
	if err != nil {
		return err
	}
	out := f.outDir()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	name := fmt.Sprintf("project-%s-map%d-%s", layer, rc.Picked.Map, tag)
	if err := figure.SavePNG(filepath.Join(out, name+".png"), rc.Image()); err != nil {
		return err
	}
	if f.raw {
		var all []float32
		for _, p := range rc.Projections {
			all = append(all, p...)
		}
		if err := f.saveNpy(out, name+".npy", []int{len(rc.Projections), rc.C, rc.H, rc.W}, all); err != nil {
			return err
		}
	}
	truth := ""
	if label >= 0 {
		truth = fmt.Sprintf("true class %s, ", f.className(l, label))
	}
	what := fmt.Sprintf("the activation of %s's map %d at (%d, %d), value %.3g", layer, rc.Picked.Map, rc.Picked.Y, rc.Picked.X, rc.Picked.Value)
	if *whole {
		what = fmt.Sprintf("the whole of %s's map %d (strongest %.3g at (%d, %d))", layer, rc.Picked.Map, rc.Picked.Value, rc.Picked.Y, rc.Picked.X)
	}
	lrn := "LRN layers skipped, as in the paper"
	if f.throughLRN {
		lrn = "propagated through LRN"
	}
	caption := fmt.Sprintf("Input: %s (%spredicted %s, %.1f%%); the red box is the receptive field. "+
		"Then %s projected back to pixel space three ways: the deconvnet (unpool with the forward pass's switches, rectify, "+
		"filter with the transposed weights), guided backpropagation (also masked where the forward ReLU was off) and the "+
		"gradient (saliency: masked only). Each projection is scaled to its own largest magnitude: gray is zero, "+
		"bright positive, dark negative; %s.", desc, truth, f.className(l, pred), 100*probs[pred], what, lrn)
	if err := figure.WriteGallery(out, galleryTitle(l), []figure.GalleryItem{{
		File: name + ".png", Section: "Projections", Caption: caption,
		Title: fmt.Sprintf("%s map %d on %s: deconvnet, guided, saliency", layer, rc.Picked.Map, desc),
	}}); err != nil {
		return err
	}
	fmt.Printf("wrote %s\n", filepath.Join(out, name+".png"))
	return nil
}
