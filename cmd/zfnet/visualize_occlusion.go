package main

import (
	"fmt"
	"image"
	"image/color"
	"path/filepath"
	"strings"

	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/experiments"
	"github.com/zfnet/zfnet/deconvnet/figure"
)

func init() {
	registerExperiment("occlusion", "Fig. 7: occlusion sensitivity: a gray square slides over images; feature, P(correct) and label maps", runOcclusion)
}

func runOcclusion(args []string) error {
	var mf modelFlags
	fs := newFlags("visualize occlusion", "", "Fig. 7 of the paper: slides a gray square over each image and maps, for every position,\n"+
		"the total activation of the strongest top-layer feature map (chosen on the unoccluded\n"+
		"image), the probability of the correct class and the most probable label, beside the\n"+
		"deconvnet projection of that feature. One row per image.")
	mf.register(fs)
	pics := pictureFlag{indices: intList{0, 1, 2}}
	fs.Var(&pics, "images", "test-set indices of the images (comma-separated, from 0), or a folder of pictures (its first 3; no data set needed)")
	size := fs.Int("size", 0, "side of the square in input pixels (default: a quarter of the input, rounded up)")
	stride := fs.Int("stride", 0, "step between square positions in pixels (default: 1 up to 28-pixel inputs, a 28x28 grid of positions for larger ones)")
	fill := fs.Float64("fill", 0, "value of the square in model input space, where 0 is the mean image (the paper's gray)")
	layer := fs.String("layer", "", "feature layer watched (default: the last convolution, conv5)")
	fmap := fs.Int("map", -1, "feature map watched; -1 picks the strongest on each unoccluded image")
	zoom := fs.Int("zoom", 0, "enlargement of the pictures (default: to about 224 pixels)")
	batch := fs.Int("batch", 64, "occluded copies per forward pass")
	out := fs.String("out", "", `output folder (default "<run dir>/gallery" with --checkpoint, else "gallery")`)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *batch < 1 {
		return fmt.Errorf("--batch %d: must be positive", *batch)
	}
	images := pics.use(&mf, 3)
	if len(images) == 0 {
		return fmt.Errorf("--images: give at least one test-set index")
	}
	if *zoom < 0 || *zoom > 64 {
		return fmt.Errorf("--zoom %d: must be between 1 and 64 (0: automatic)", *zoom)
	}
	l, err := mf.load(false)
	if err != nil {
		return err
	}
	in := l.Model.Arch.Input
	if *size == 0 {
		*size = (max(in[1], in[2]) + 3) / 4
	}
	if *size < 1 || *size > max(in[1], in[2]) {
		return fmt.Errorf("--size %d: must be between 1 and %d pixels", *size, max(in[1], in[2]))
	}
	if *stride == 0 {
		*stride = max(1, max(in[1], in[2])/28)
	}
	if *stride < 1 || *stride > max(in[1], in[2]) {
		return fmt.Errorf("--stride %d: must be between 1 and %d pixels", *stride, max(in[1], in[2]))
	}
	if *layer != "" {
		if _, i := l.Model.Layer(*layer); i < 0 {
			return fmt.Errorf("--layer: %s has no layer %q", l.Model.Arch.Name, *layer)
		}
	}
	if *zoom == 0 {
		*zoom = max(1, 224/max(in[1], in[2]))
	}
	xs, labels, err := loadTestInputs(l, images)
	if err != nil {
		return err
	}
	if err := predictedLabels(l, xs, labels); err != nil {
		return err
	}
	net, err := deconvnet.New(l.Model, *batch)
	if err != nil {
		return err
	}
	defer net.Close()
	classes := classNames(l)
	cfg := experiments.OcclusionConfig{Size: *size, Stride: *stride, Fill: float32(*fill), Layer: *layer, Map: *fmap}
	var rows []image.Image
	var notes []string
	for i, x := range xs {
		res, err := experiments.Occlude(net, x, labels[i], cfg)
		if err != nil {
			return fmt.Errorf("test image %d: %w", images[i], err)
		}
		fig, err := experiments.OcclusionFigure(res, l.Mean, classes, *zoom)
		if err != nil {
			return err
		}
		rows = append(rows, fig)
		cfg.Layer = res.Config.Layer
		lo, _ := figure.MinMax(res.PTrue)
		notes = append(notes, fmt.Sprintf("image %d (%s): map %d, P(correct) %.2f unoccluded, down to %.2f", images[i], classes[labels[i]], res.Map, res.CleanP, lo))
	}
	dir, err := mf.makeOutDir(*out)
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
			*size, *size, *fill, *stride, cfg.Layer, strings.Join(notes, "; "))}
	if err := figure.WriteGallery(dir, galleryTitle(l), []figure.GalleryItem{item}); err != nil {
		return err
	}
	fmt.Printf("wrote %s (open %s)\n", filepath.Join(dir, name), filepath.Join(dir, "index.html"))
	return nil
}
