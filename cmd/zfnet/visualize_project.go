package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/zfnet"
)

func init() {
	registerExperiment("project", "project one activation to pixel space: deconvnet, guided backprop and saliency side by side", runProject)
}

// projectFlags are the flags of `visualize project`.
type projectFlags struct {
	deconvFlags
	image, pos string
	fmap       int
	whole      bool
}

func parseProjectFlags(args []string) (*projectFlags, error) {
	f := &projectFlags{}
	fs := newFlags("visualize project", "", "Projects one activation of one image back to pixel space with the deconvnet (the paper's method),\n"+
		"guided backpropagation and the plain gradient (saliency), side by side with the input.")
	f.register(fs, "conv5", false, false)
	fs.StringVar(&f.image, "image", "0", "a test-set index (of --data or --images), a picture file, or a preprocessed .npy input (1, C, H, W)")
	fs.IntVar(&f.fmap, "map", -1, "feature map (unit for fc layers); -1: the map with the strongest activation on this image")
	fs.StringVar(&f.pos, "position", "", "y,x in the layer's map; empty: the map's strongest activation")
	fs.BoolVar(&f.whole, "whole-map", false, "project the whole feature map instead of one activation")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	return f, nil
}

func runProject(args []string) error {
	f, err := parseProjectFlags(args)
	if err != nil {
		return err
	}
	_, err = strconv.Atoi(f.image)
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
	x, tag, desc, label, err := f.projectInput(l, f.image)
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
	t, err := f.target(d, layer)
	if err != nil {
		return err
	}
	rc, err := deconvnet.CompareRules(d, x, l.Mean, layer, t, f.throughLRN)
	if err != nil {
		return err
	}
	return f.write(l, rc, logits, tag, desc, label)
}

// target is the activation --map, --position and --whole-map select in
// layer of d's latest forward pass (no --map: the map holding the largest
// activation).
func (f *projectFlags) target(d *deconvnet.Net, layer string) (deconvnet.Target, error) {
	t := deconvnet.Target{Map: f.fmap, Strongest: f.pos == "", WholeMap: f.whole}
	if f.fmap < 0 {
		act, err := d.Activation(layer)
		if err != nil {
			return t, err
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
	if f.pos != "" {
		if _, err := fmt.Sscanf(strings.ReplaceAll(f.pos, " ", ""), "%d,%d", &t.Y, &t.X); err != nil {
			return t, fmt.Errorf("--position %q: expected y,x", f.pos)
		}
	}
	return t, nil
}

// write saves the comparison (and with --raw its projections) and adds it
// to the gallery with a caption naming the input (tag for file names,
// desc, its label or -1) and the network's prediction from logits.
func (f *projectFlags) write(l *loaded, rc *deconvnet.RuleComparison, logits []float32, tag, desc string, label int) error {
	probs := zfnet.Softmax(logits)
	pred, err := zfnet.Argmax(logits)
	if err != nil {
		return err
	}
	layer := rc.Layer
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
	if f.whole {
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
