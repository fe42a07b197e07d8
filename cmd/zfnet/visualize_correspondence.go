package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/data/atomicfile"
	"github.com/zfnet/zfnet/deconvnet/experiments"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/zfnet"
)

func init() {
	registerExperiment("correspondence", "Table 1: occlude the same part in several images vs random parts; Delta at layers 5 and 7", runCorrespondence)
}

// correspondenceFlags are the flags of `visualize correspondence`.
type correspondenceFlags struct {
	mf                          modelFlags
	pics                        pictureFlag
	class, count, trials, batch int
	parts, layers, out          string
	seed                        int64
	fill                        float64
}

func parseCorrespondenceFlags(args []string) (*correspondenceFlags, error) {
	f := &correspondenceFlags{}
	fs := newFlags("visualize correspondence", "", "Table 1 of the paper: occludes the same part (a rectangle of the input) in several test\n"+
		"images of one class and, as the baseline, rectangles of the same size at random places,\n"+
		"and reports Delta, the Hamming distance between the sign vectors of the feature changes\n"+
		"of every pair of images, at layer 5 and layer 7. Lower is more consistent: the network\n"+
		"ties that part to the same features in every image. Writes correspondence.md and PNGs.")
	f.mf.register(fs)
	fs.IntVar(&f.class, "class", -1, "class whose images are used (default: the class of test image 0)")
	fs.IntVar(&f.count, "count", 5, "how many test images of the class (the first ones), as the paper's 5 dogs")
	fs.Var(&f.pics, "images", "explicit test-set indices instead of --class/--count (comma-separated, from 0), or a folder of pictures (its first --count)")
	fs.StringVar(&f.parts, "parts", "top-left,top-right,bottom-left,bottom-right,centre",
		"parts to occlude, comma-separated: presets ("+experiments.PartNames+") or NAME=X0:Y0:X1:Y1 in input pixels")
	fs.StringVar(&f.layers, "layers", "", "comma-separated layers compared (default: pool5 and fc7, the paper's layers 5 and 7)")
	fs.IntVar(&f.trials, "trials", 5, "random placements per image for the baseline")
	fs.Int64Var(&f.seed, "seed", 1, "seed of the random placements")
	fs.Float64Var(&f.fill, "fill", 0, "value of the occluder in model input space, where 0 is the mean image")
	fs.IntVar(&f.batch, "batch", 64, "images per forward pass")
	outFlag(fs, &f.out)
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if f.batch < 1 {
		return nil, fmt.Errorf("--batch %d: must be positive", f.batch)
	}
	if f.trials < 1 || f.trials > 1000 {
		return nil, fmt.Errorf("--trials %d: must be between 1 and 1000", f.trials)
	}
	return f, nil
}

// config reads --parts and --layers for m.
func (f *correspondenceFlags) config(m *zfnet.Model) (experiments.CorrespondenceConfig, error) {
	in := m.Arch.Input
	cfg := experiments.CorrespondenceConfig{Fill: float32(f.fill), RandomTrials: f.trials, Seed: f.seed}
	for _, s := range strings.Split(f.parts, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		// Commas separate parts, so rectangles use colons.
		p, err := experiments.ParsePart(s, in[1], in[2])
		if err != nil {
			return cfg, errors.Wrap(err, "--parts")
		}
		cfg.Parts = append(cfg.Parts, p)
	}
	if len(cfg.Parts) == 0 {
		return cfg, fmt.Errorf("--parts: give at least one part")
	}
	for _, s := range strings.Split(f.layers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			if _, i := m.Layer(s); i < 0 {
				return cfg, fmt.Errorf("--layers: %s has no layer %q", m.Arch.Name, s)
			}
			cfg.Layers = append(cfg.Layers, s)
		}
	}
	return cfg, nil
}

func runCorrespondence(args []string) error {
	f, err := parseCorrespondenceFlags(args)
	if err != nil {
		return err
	}
	images := []int(f.pics.use(&f.mf, f.count))
	if len(images) == 0 && (f.count < 2 || f.count > 1000) {
		return fmt.Errorf("--count %d: must be between 2 and 1000", f.count)
	}
	if len(images) == 1 {
		return fmt.Errorf("--images: give at least 2 images to compare")
	}
	l, err := f.mf.load(false)
	if err != nil {
		return err
	}
	cfg, err := f.config(l.Model)
	if err != nil {
		return err
	}
	if len(images) == 0 {
		if images, err = firstOfClass(l, f.class, f.count); err != nil {
			return err
		}
	}
	xs, labels, net, err := testInputsNet(l, images, f.batch)
	if err != nil {
		return err
	}
	defer net.Close()
	res, err := experiments.Correspondence(net, xs, cfg)
	if err != nil {
		return err
	}
	var what []string
	for i, lab := range labels {
		what = append(what, fmt.Sprintf("%d (%s)", images[i], classNames(l)[lab]))
	}
	return f.write(l, res, xs, strings.Join(what, ", "))
}

// write saves the table (as Markdown and as a picture) and the occluded
// images, and adds them to the gallery; what names the test images.
func (f *correspondenceFlags) write(l *loaded, res *experiments.CorrespondenceResult, xs [][]float32, what string) error {
	md := res.Markdown() + "\nTest images: " + what + ".\n"
	fmt.Print(md)
	dir, err := f.mf.makeOutDir(f.out)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "correspondence.md"), func(w io.Writer) error {
		_, err := io.WriteString(w, md)
		return errors.Wrap(err, "writing correspondence.md")
	}); err != nil {
		return err
	}
	if err := figure.SavePNG(filepath.Join(dir, "correspondence.png"), res.TableImage()); err != nil {
		return err
	}
	ex, err := experiments.CorrespondenceExamples(res, xs, l.Pre.Geometry, l.Mean, float32(f.fill), 3)
	if err != nil {
		return err
	}
	if err := figure.SavePNG(filepath.Join(dir, "correspondence-examples.png"), ex); err != nil {
		return err
	}
	const section = "Correspondence (Table 1)"
	items := []figure.GalleryItem{
		{File: "correspondence.png", Section: section, Title: "Consistency of the feature change when the same part is occluded",
			Caption: fmt.Sprintf("For each part, the same rectangle is covered in %d test images (%s); Delta compares the sign patterns of the resulting "+
				"feature changes between every pair of images, at %s. The 'random' columns cover rectangles of the same size at random places "+
				"(%d placements per image). A part whose Delta is below its random baseline (green) is one the network maps to the same features "+
				"in every image. %s (table as text: correspondence.md)", res.Images, what, strings.Join(res.Layers, " and "), res.Trials, experiments.CorrespondenceNote)},
		{File: "correspondence-examples.png", Section: section, Title: "The occluded images",
			Caption: "Each part occluded in every image, followed by the first random placement of the same size, as the network saw them."},
	}
	if err := figure.WriteGallery(dir, galleryTitle(l), items); err != nil {
		return err
	}
	fmt.Printf("wrote the table to %s (open %s)\n", filepath.Join(dir, "correspondence.md"), filepath.Join(dir, "index.html"))
	return nil
}

// firstOfClass lists the first n test images of class c (c < 0: the class
// of test image 0).
func firstOfClass(l *loaded, c, n int) ([]int, error) {
	if l.Set == nil || l.Set.Test == nil {
		return nil, fmt.Errorf("no test set to take images from (give --data)")
	}
	test := l.Set.Test
	if c < 0 {
		img, err := test.Load(0)
		if err != nil {
			return nil, errors.Wrap(err, "test image 0")
		}
		c = img.Label
		if c == data.Unlabeled {
			// A folder of pictures: the first n, whatever they show.
			idx := make([]int, min(n, test.Len()))
			for i := range idx {
				idx[i] = i
			}
			if len(idx) < 2 {
				return nil, fmt.Errorf("%s: only %d pictures; correspondence compares at least 2", test.Name(), len(idx))
			}
			return idx, nil
		}
	}
	if c >= l.Model.Arch.Classes {
		return nil, fmt.Errorf("--class %d: the model has %d classes (0 to %d)", c, l.Model.Arch.Classes, l.Model.Arch.Classes-1)
	}
	var idx []int
	for i := 0; i < test.Len() && len(idx) < n; i++ {
		img, err := test.Load(i)
		if err != nil {
			return nil, errors.Wrapf(err, "test image %d", i)
		}
		if img.Label == c {
			idx = append(idx, i)
		}
	}
	if len(idx) < 2 {
		return nil, fmt.Errorf("--class %d: only %d test images of that class", c, len(idx))
	}
	return idx, nil
}
