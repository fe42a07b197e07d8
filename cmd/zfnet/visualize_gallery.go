package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func init() {
	registerExperiment("gallery", "all of the above for one run: top-9 for every conv layer, filters, evolution, occlusion, invariance, correspondence, rule comparison", runGallery)
}

// runGallery makes the whole gallery of a run with one command by running
// each experiment with its defaults into the same folder.
func runGallery(args []string) error {
	fs := newFlags("visualize gallery", "", "Runs every experiment on a trained run, or on any network's weights with a folder of\n"+
		"pictures (--weights W --images DIR: no data set needed), and collects the pictures in one index.html.")
	var mf modelFlags
	mf.register(fs)
	fs.StringVar(&mf.imageDir, "images", "", "folder of pictures to use instead of the data set's test split")
	out := fs.String("out", "", "output folder (default: <run>/gallery, or gallery beside --weights)")
	limit := fs.Int("limit", 0, "top-9: stream only the first N test images (default: all)")
	indexDir := fs.String("index", "", "top-9 from this activation index (zfnet index build) instead of a scan")
	if err := parse(fs, args); err != nil {
		return err
	}
	if (mf.checkpoint == "") == (mf.weights == "") {
		return fmt.Errorf("give exactly one of --checkpoint (e.g. runs/zfnet-small-mnist) or --weights (with --images DIR or --data)")
	}
	if mf.checkpoint != "" {
		ck, err := checkpointPath(mf.checkpoint)
		if err != nil {
			return err
		}
		mf.checkpoint = ck
	} else if mf.imageDir == "" && mf.data == "" {
		return fmt.Errorf("--weights needs pictures to look at: give --images DIR (a folder of pictures) or --data")
	}
	l, err := mf.load(false) // fail before any experiment runs
	if err != nil {
		return err
	}
	in := l.Model.Arch.Input
	small := in[1] <= 64 && in[2] <= 64
	dir := mf.outPath(*out)
	common := galleryArgs(&mf, dir)
	steps := []struct {
		name string
		args []string
	}{
		{"top9", []string{"--limit", fmt.Sprint(*limit)}},
		{"filters", nil},
		{"project", nil},
		{"occlusion", nil},
		{"invariance", nil},
		{"correspondence", nil},
		{"evolution", nil},
		// The later methods: lighter settings than the command's defaults,
		// which take minutes per image on a 224x224 network.
		{"methods", []string{"--samples", "10", "--steps", "24", "--variants=false"}},
		{"actmax", nil},
	}
	for _, s := range steps {
		if why := gallerySkip(s.name, small, in, mf.checkpoint); why != "" {
			fmt.Fprintf(os.Stderr, "gallery: %s\n", why)
			continue
		}
		start := time.Now()
		fmt.Fprintf(os.Stderr, "gallery: %s ...\n", s.name)
		a := append(append([]string{}, common...), s.args...)
		if s.name == "top9" && *limit == 0 {
			a = common
		}
		if s.name == "top9" && *indexDir != "" {
			a = append(append([]string{}, common...), "--index", *indexDir)
		}
		if err := visualizations[s.name].run(a); err != nil {
			return fmt.Errorf("%s: %v", s.name, err)
		}
		fmt.Fprintf(os.Stderr, "gallery: %s done in %s\n", s.name, time.Since(start).Round(time.Second))
	}
	fmt.Printf("gallery: %s\n", filepath.Join(dir, "index.html"))
	return nil
}

// galleryArgs are the model and data flags every experiment of the
// gallery gets, and --out dir.
func galleryArgs(mf *modelFlags, dir string) []string {
	var common []string
	for _, f := range []struct{ name, v string }{{"checkpoint", mf.checkpoint}, {"weights", mf.weights}, {"arch", mf.arch},
		{"data", mf.data}, {"preprocess", mf.preprocess}, {"labels", mf.labels}, {"images", mf.imageDir}} {
		if f.v != "" {
			common = append(common, "--"+f.name, f.v)
		}
	}
	return append(common, "--out", dir)
}

// gallerySkip says why the gallery leaves an experiment out ("": it does
// not): activation maximization on large inputs (minutes per unit), and
// feature evolution without a run's snapshots (checkpoint: --checkpoint).
func gallerySkip(name string, small bool, in [3]int, checkpoint string) string {
	switch {
	case name == "actmax" && !small:
		return fmt.Sprintf("activation maximization takes minutes per unit at %dx%d; run zfnet visualize actmax for it", in[1], in[2])
	case name != "evolution":
		return ""
	case checkpoint == "":
		return "feature evolution needs a training run's snapshots; skipping it for --weights"
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(checkpoint), "snapshots", "epoch-*.npz")); len(m) == 0 {
		return fmt.Sprintf("no snapshots beside %s; skipping feature evolution", checkpoint)
	}
	return ""
}
