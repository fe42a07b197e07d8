package main

import (
	"fmt"
	"image"
	"image/color"
	"path/filepath"
	"strings"

	"github.com/zfnet/zfnet/deconvnet/experiments"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/zfnet"
)

func init() {
	registerExperiment("occlusion", "Fig. 7: occlusion sensitivity: a gray square slides over images; feature, P(correct) and label maps", runOcclusion)
}

// occlusionFlags are the flags of `visualize occlusion`.
type occlusionFlags struct {
	mf                              modelFlags
	pics                            pictureFlag
	size, stride, fmap, zoom, batch int
	fill                            float64
	layer, out                      string
}

func parseOcclusionFlags(args []string) (*occlusionFlags, error) {
	f := &occlusionFlags{pics: pictureFlag{indices: intList{0, 1, 2}}}
	fs := newFlags("visualize occlusion", "", "Fig. 7 of the paper: slides a gray square over each image and maps, for every position,\n"+
		"the total activation of the strongest top-layer feature map (chosen on the unoccluded\n"+
		"image), the probability of the correct class and the most probable label, beside the\n"+
		"deconvnet projection of that feature. One row per image.")
	f.mf.register(fs)
	fs.Var(&f.pics, "images", "test-set indices of the images (comma-separated, from 0), or a folder of pictures (its first 3; no data set needed)")
	fs.IntVar(&f.size, "size", 0, "side of the square in input pixels (default: a quarter of the input, rounded up)")
	fs.IntVar(&f.stride, "stride", 0, "step between square positions in pixels (default: 1 up to 28-pixel inputs, a 28x28 grid of positions for larger ones)")
	fs.Float64Var(&f.fill, "fill", 0, "value of the square in model input space, where 0 is the mean image (the paper's gray)")
	fs.StringVar(&f.layer, "layer", "", "feature layer watched (default: the last convolution, conv5)")
	fs.IntVar(&f.fmap, "map", -1, "feature map watched; -1 picks the strongest on each unoccluded image")
	fs.IntVar(&f.zoom, "zoom", 0, "enlargement of the pictures (default: to about 224 pixels)")
	fs.IntVar(&f.batch, "batch", 64, "occluded copies per forward pass")
	outFlag(fs, &f.out)
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if f.batch < 1 {
		return nil, fmt.Errorf("--batch %d: must be positive", f.batch)
	}
	return f, nil
}

// fitModel checks the flags against the model and fills in the defaults
// that depend on its input size.
func (f *occlusionFlags) fitModel(m *zfnet.Model) error {
	in := m.Arch.Input
	side := max(in[1], in[2])
	if f.size == 0 {
		f.size = (side + 3) / 4
	}
	if f.size < 1 || f.size > side {
		return fmt.Errorf("--size %d: must be between 1 and %d pixels", f.size, side)
	}
	if f.stride == 0 {
		f.stride = max(1, side/28)
	}
	if f.stride < 1 || f.stride > side {
		return fmt.Errorf("--stride %d: must be between 1 and %d pixels", f.stride, side)
	}
	if f.layer != "" {
		if _, i := m.Layer(f.layer); i < 0 {
			return fmt.Errorf("--layer: %s has no layer %q", m.Arch.Name, f.layer)
		}
	}
	if f.zoom == 0 {
		f.zoom = max(1, 224/side)
	}
	return nil
}

func runOcclusion(args []string) error {
	f, err := parseOcclusionFlags(args)
	if err != nil {
		return err
	}
	images := f.pics.use(&f.mf, 3)
	if len(images) == 0 {
		return fmt.Errorf("--images: give at least one test-set index")
	}
	if f.zoom < 0 || f.zoom > 64 {
		return fmt.Errorf("--zoom %d: must be between 1 and 64 (0: automatic)", f.zoom)
	}
	l, err := f.mf.load(false)
	if err != nil {
		return err
	}
	if err := f.fitModel(l.Model); err != nil {
		return err
	}
	xs, labels, net, err := testInputsNet(l, images, f.batch)
	if err != nil {
		return err
	}
	defer net.Close()
	classes := classNames(l)
	cfg := experiments.OcclusionConfig{Size: f.size, Stride: f.stride, Fill: float32(f.fill), Layer: f.layer, Map: f.fmap}
	var rows []image.Image
	var notes []string
	for i, x := range xs {
		res, err := experiments.Occlude(net, x, labels[i], cfg)
		if err != nil {
			return fmt.Errorf("test image %d: %w", images[i], err)
		}
		fig, err := experiments.OcclusionFigure(res, l.Mean, classes, f.zoom)
		if err != nil {
			return err
		}
		rows = append(rows, fig)
		cfg.Layer = res.Config.Layer
		lo, _ := figure.MinMax(res.PTrue)
		notes = append(notes, fmt.Sprintf("image %d (%s): map %d, P(correct) %.2f unoccluded, down to %.2f", images[i], classes[labels[i]], res.Map, res.CleanP, lo))
	}
	return f.write(l, rows, cfg.Layer, strings.Join(notes, "; "))
}

// write stacks the figures' rows into occlusion.png and adds it to the
// gallery; layer is the watched layer, notes the images' numbers.
func (f *occlusionFlags) write(l *loaded, rows []image.Image, layer, notes string) error {
	dir, err := f.mf.makeOutDir(f.out)
	if err != nil {
		return err
	}
	const name = "occlusion.png"
	if err := figure.SavePNG(filepath.Join(dir, name), figure.Column(rows, 6, color.White)); err != nil {
		return err
	}
	item := figure.GalleryItem{File: name, Section: "Occlusion sensitivity (Fig. 7)",
		Title: "Occluding parts of the image with a gray square",
		Caption: fmt.Sprintf("A %dx%d square of value %g (model input space: 0 is the mean image) slides over each test image with stride %d. "+
			"(a) The input, with the square where it hurts the correct class most (red outline). "+
			"(b) Total activation of the strongest %s feature map as a function of the square's position, over the image: it drops where the square covers what the feature responds to. "+
			"(c) The deconvnet projection of that feature map's strongest activation. "+
			"(d) Probability of the correct class by square position: dark where covering the digit's key strokes makes the network doubt. "+
			"(e) The most probable label by position, one colour per class. Colour maps run from dark blue (minimum) to yellow (maximum). %s.",
			f.size, f.size, f.fill, f.stride, layer, notes)}
	if err := figure.WriteGallery(dir, galleryTitle(l), []figure.GalleryItem{item}); err != nil {
		return err
	}
	fmt.Printf("wrote %s (open %s)\n", filepath.Join(dir, name), filepath.Join(dir, "index.html"))
	return nil
}
