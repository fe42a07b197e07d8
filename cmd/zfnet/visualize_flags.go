package main

// The flags and helpers the deconvnet experiments share: the model, the
// layers and maps to look at, the projection rule, the output folder and
// the test pictures. Each visualize_*.go file adds its own flags and its
// progress; the work itself is a library call.

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
	"github.com/zfnet/zfnet/nn"
	"github.com/zfnet/zfnet/zfnet"
)

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
		src = firstExamples(src, limit)
	}
	return src, nil
}

// firstExamples is the first n examples of src, named "<name>[:n]" (the
// name an index records, and finds its examples again by).
func firstExamples(src data.Source, n int) data.Source {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return data.Subset(src, fmt.Sprintf("%s[:%d]", src.Name(), n), idx)
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

// projectInput reads --image: a test-set index, a preprocessed .npy input
// or a picture file, as one preprocessed input, with a name for file
// names and captions and its label (-1 unknown).
func (f *deconvFlags) projectInput(l *loaded, spec string) (x []float32, tag, desc string, label int, err error) {
	if i, aerr := strconv.Atoi(spec); aerr == nil {
		return f.testInput(l, i)
	}
	base := strings.TrimSuffix(filepath.Base(spec), filepath.Ext(spec))
	tag = regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(base, "_")
	if strings.EqualFold(filepath.Ext(spec), ".npy") {
		x, err = npyInput(l, spec)
	} else {
		x, err = pictureInput(l, spec)
	}
	if err != nil {
		return nil, "", "", 0, err
	}
	return x, tag, filepath.Base(spec), data.Unlabeled, nil
}

// testInput is test image i as the model sees it at test time.
func (f *deconvFlags) testInput(l *loaded, i int) (x []float32, tag, desc string, label int, err error) {
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
	x = make([]float32, l.Pre.Geometry.Size())
	l.Pre.ApplyCrop(base.Pix, l.Mean, l.Pre.CenterCrop(), x)
	return x, fmt.Sprintf("test%d", i), fmt.Sprintf("test image %d of %s", i, src.Name()), base.Label, nil
}

// npyInput reads an already preprocessed input, (1, C, H, W) or (C, H, W),
// as NumPy and PyTorch pipelines hand it over.
func npyInput(l *loaded, spec string) ([]float32, error) {
	fh, err := os.Open(spec)
	if err != nil {
		return nil, fmt.Errorf("--image: %v", err)
	}
	defer fh.Close()
	arr, err := data.ReadNpyArray(fh, spec)
	if err != nil {
		return nil, err
	}
	in := l.Model.Arch.Input
	if len(arr.Data) != l.Pre.Geometry.Size() || (len(arr.Shape) != 4 && len(arr.Shape) != 3) || (len(arr.Shape) == 4 && arr.Shape[0] != 1) {
		return nil, fmt.Errorf("--image %s: shape %v, expected (1, %d, %d, %d) or (%d, %d, %d): one preprocessed input for %s",
			spec, arr.Shape, in[0], in[1], in[2], in[0], in[1], in[2], l.Model.Arch.Name)
	}
	if err := data.CheckFinite(spec, l.Pre.Geometry, arr.Data); err != nil {
		return nil, err
	}
	return append([]float32(nil), arr.Data...), nil
}

// pictureInput decodes a picture file through the model's preprocessing.
func pictureInput(l *loaded, spec string) ([]float32, error) {
	src, err := data.ImageFiles([]string{spec}, nil)
	if err != nil {
		return nil, err
	}
	loader, err := data.NewLoader(src, data.LoaderConfig{BatchSize: 1, Pre: l.Pre, Mean: l.Mean, Workers: 1})
	if err != nil {
		return nil, err
	}
	st := loader.Start(0, 0)
	defer st.Close()
	b, err := st.Next()
	if err != nil {
		return nil, fmt.Errorf("--image %s: %v", spec, err)
	}
	return append([]float32(nil), b.X[:l.Pre.Geometry.Size()]...), nil
}

// className is a class's name when the data set knows it.
func (f *deconvFlags) className(l *loaded, c int) string {
	if c >= 0 && c < len(l.Classes) {
		return l.Classes[c]
	}
	return strconv.Itoa(c)
}

// outFlag registers --out, the gallery folder of the experiments that
// take modelFlags (see modelFlags.makeOutDir for the default).
func outFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "out", "", `output folder (default "<run dir>/gallery" with --checkpoint, else "gallery")`)
}

// testInputsNet loads test images as model inputs with their labels (the
// predicted class for pictures without one) and a deconvnet over the
// model for batches of batch; the caller closes it.
func testInputsNet(l *loaded, images []int, batch int) ([][]float32, []int, *deconvnet.Net, error) {
	xs, labels, err := loadTestInputs(l, images)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := predictedLabels(l, xs, labels); err != nil {
		return nil, nil, nil, err
	}
	net, err := deconvnet.New(l.Model, batch)
	if err != nil {
		return nil, nil, nil, err
	}
	return xs, labels, net, nil
}
