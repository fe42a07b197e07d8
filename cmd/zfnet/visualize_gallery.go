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
	fs := newFlags("visualize gallery", "", "Runs every experiment on a trained run and collects the pictures in one index.html.")
	ck := fs.String("checkpoint", "", "checkpoint.npz of a run made by zfnet train")
	out := fs.String("out", "", "output folder (default: <run>/gallery)")
	limit := fs.Int("limit", 0, "top-9: stream only the first N test images (default: all)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *ck == "" {
		return fmt.Errorf("--checkpoint is required (e.g. runs/zfnet-small-mnist/checkpoint.npz)")
	}
	if _, err := os.Stat(*ck); err != nil {
		return fmt.Errorf("--checkpoint: %v", err)
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join(filepath.Dir(*ck), "gallery")
	}
	common := []string{"--checkpoint", *ck, "--out", dir}
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
	}
	for _, s := range steps {
		if s.name == "evolution" {
			if m, _ := filepath.Glob(filepath.Join(filepath.Dir(*ck), "snapshots", "epoch-*.npz")); len(m) == 0 {
				fmt.Fprintf(os.Stderr, "gallery: no snapshots beside %s; skipping feature evolution\n", *ck)
				continue
			}
		}
		start := time.Now()
		fmt.Fprintf(os.Stderr, "gallery: %s ...\n", s.name)
		a := append(append([]string{}, common...), s.args...)
		if s.name == "top9" && *limit == 0 {
			a = common
		}
		if err := experiments[s.name].run(a); err != nil {
			return fmt.Errorf("%s: %v", s.name, err)
		}
		fmt.Fprintf(os.Stderr, "gallery: %s done in %s\n", s.name, time.Since(start).Round(time.Second))
	}
	fmt.Printf("gallery: %s\n", filepath.Join(dir, "index.html"))
	return nil
}
