package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/experiments"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/deconvnet/index"
)

func init() {
	registerExperiment("evolution", "how features develop during training: the strongest projection per map at each snapshot epoch (Fig. 4)", runEvolution)
}

func runEvolution(args []string) error {
	var f deconvFlags
	fs := newFlags("visualize evolution", "", "Loads each weight snapshot of a run (<run>/snapshots/epoch-NNN.npz) in turn and, for chosen feature\n"+
		"maps, projects the strongest activation over a sample of test images: one row per map, one column per\n"+
		"epoch, as the paper's Fig. 4.")
	f.register(fs, "all", true, true)
	run := fs.String("run", "", "run folder holding snapshots/ (default: the folder of --checkpoint or --weights)")
	sample := fs.Int("sample", 500, "test images searched for each map's strongest activation")
	indexes := fs.String("indexes", "", "read each epoch's strongest activations from its activation index instead of scanning a sample: "+
		"DIR/epoch-NNN, one per snapshot (zfnet index build --snapshots RUN --out DIR), the paper's search over the whole training set")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *sample < 1 || f.batch < 1 {
		return fmt.Errorf("--sample and --batch must be positive")
	}
	l, opt, layers, maps, err := f.loadLayers()
	if err != nil {
		return err
	}
	dir := *run
	if dir == "" {
		dir = f.runDir()
	}
	if *indexes != "" {
		return f.evolutionFromIndexes(l, dir, *indexes, layers, maps, opt)
	}
	return f.evolutionFromSample(l, dir, *sample, layers, maps, opt)
}

// evolutionFromSample draws every layer's figure by scanning the first
// sample test images under each snapshot of run (experiments.Evolution).
func (f *deconvFlags) evolutionFromSample(l *loaded, run string, sample int, layers []string, maps []int, opt deconvnet.Options) error {
	paths, epochs, err := experiments.SnapshotFiles(run)
	if err != nil {
		return err
	}
	src, err := f.testSource(l, sample)
	if err != nil {
		return err
	}
	x, err := experiments.SampleInputs(src, f.loaderConfig(l), sample)
	if err != nil {
		return err
	}
	err = f.evolutionFigures(l, src, layers, maps, opt, func(d *deconvnet.Net, layer string) (*experiments.Evolved, error) {
		fmt.Fprintf(os.Stderr, "evolution of %s over %d snapshots\n", layer, len(paths))
		return experiments.Evolution(d, paths, epochs, x, layer, maps, opt)
	})
	if err == nil && len(paths) == 1 {
		fmt.Fprintf(os.Stderr, "note: %s holds one snapshot; train longer (zfnet train keeps epochs --snapshots) to see features change\n", filepath.Join(run, "snapshots"))
	}
	return err
}

// evolutionFromIndexes draws every layer's figure from one activation
// index per snapshot of run (index.Evolution): only the winners run again.
func (f *deconvFlags) evolutionFromIndexes(l *loaded, run, indexes string, layers []string, maps []int, opt deconvnet.Options) error {
	snaps, err := index.ReadSnapshots(run, indexes)
	if err != nil {
		return err
	}
	src, err := snaps[0].Index.SourceIn(l.Set)
	if err != nil {
		return err
	}
	return f.evolutionFigures(l, src, layers, maps, opt, func(d *deconvnet.Net, layer string) (*experiments.Evolved, error) {
		fmt.Fprintf(os.Stderr, "evolution of %s from %d snapshot indexes over %s (%d examples)\n", layer, len(snaps), src.Name(), src.Len())
		return index.Evolution(d, snaps, src, f.loaderConfig(l), layer, maps, opt, func(s string) { fmt.Fprintln(os.Stderr, "warning: "+s) })
	})
}

// evolutionFigures runs evolve for each layer on one deconvnet over l's
// model and writes the figures and their gallery page; src is what the
// strongest activations were searched in (for the captions).
func (f *deconvFlags) evolutionFigures(l *loaded, src data.Source, layers []string, maps []int, opt deconvnet.Options,
	evolve func(d *deconvnet.Net, layer string) (*experiments.Evolved, error)) error {
	d, err := deconvnet.New(l.Model, f.batch)
	if err != nil {
		return err
	}
	defer d.Close()
	out := f.outDir()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var items []figure.GalleryItem
	for _, layer := range layers {
		ev, err := evolve(d, layer)
		if err != nil {
			return err
		}
		it, err := f.writeEvolution(out, ev, maps != nil, src, opt)
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	if err := figure.WriteGallery(out, galleryTitle(l), items); err != nil {
		return err
	}
	for _, it := range items {
		fmt.Printf("wrote %s\n", filepath.Join(out, it.File))
	}
	return nil
}

// writeEvolution saves one layer's figure (and with --raw its
// projections) and describes it for the gallery; given says the maps came
// from --maps, src is the sample's source.
func (f *deconvFlags) writeEvolution(out string, ev *experiments.Evolved, given bool, src data.Source, opt deconvnet.Options) (figure.GalleryItem, error) {
	file := "evolution-" + ev.Layer + ".png"
	if err := figure.SavePNG(filepath.Join(out, file), ev.Image()); err != nil {
		return figure.GalleryItem{}, err
	}
	if f.raw {
		if err := f.saveEvolution(out, ev); err != nil {
			return figure.GalleryItem{}, err
		}
	}
	ep := make([]string, len(ev.Epochs))
	for i, e := range ev.Epochs {
		ep[i] = fmt.Sprint(e)
	}
	chosen := "the maps given with --maps"
	if !given {
		chosen = fmt.Sprintf("the %d maps with the strongest activation at the last epoch", len(ev.Maps))
	}
	return figure.GalleryItem{File: file, Section: "Feature evolution during training (Fig. 4)",
		Title: fmt.Sprintf("%s through training (epochs %s)", ev.Layer, strings.Join(ep, ", ")),
		Caption: fmt.Sprintf("Rows: %s of %s; columns: the weight snapshots of the run. Each cell is the strongest activation of "+
			"that map over %d images of %s under that epoch's weights, projected to pixel space with the %s and cropped to its "+
			"receptive field; the number under it is the activation. The paper sees lower layers settle within a few epochs and "+
			"upper layers only after many; a sudden change means another image became the strongest.",
			chosen, ev.Layer, src.Len(), src.Name(), opt.Rule)}, nil
}

// saveEvolution writes evolution-<layer>.npy: (maps, epochs, C, window,
// window) cropped projections, zero where a map did not fire.
func (f *deconvFlags) saveEvolution(out string, ev *experiments.Evolved) error {
	win := 0
	for _, row := range ev.Cells {
		for _, c := range row {
			win = max(win, c.Window)
		}
	}
	cell := ev.C * win * win
	all := make([]float32, len(ev.Maps)*len(ev.Epochs)*cell)
	for i, row := range ev.Cells {
		for j, c := range row {
			copy(all[(i*len(ev.Epochs)+j)*cell:], c.Projection)
		}
	}
	return f.saveNpy(out, "evolution-"+ev.Layer+".npy", []int{len(ev.Maps), len(ev.Epochs), ev.C, win, win}, all)
}
