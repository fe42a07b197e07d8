package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/zfnet"
)

func init() {
	register("evaluate", "top-1/top-5, per-class accuracy and a confusion matrix on a test set", runEvaluate)
}

func runEvaluate(args []string) error {
	var mf modelFlags
	fs := newFlags("evaluate", "", "Evaluates a trained model on the test split of its data set.")
	mf.register(fs)
	batch := fs.Int("batch", 100, "batch size")
	tenCrop := fs.Bool("ten-crop", false, "average the softmax over ten crops (four corners and centre, each flipped)")
	out := fs.String("out", "", "folder for confusion.png (default: beside the checkpoint or weights)")
	split := fs.String("split", "test", "which split: test or train")
	if err := parse(fs, args); err != nil {
		return err
	}
	l, err := mf.load(false)
	if err != nil {
		return err
	}
	src := l.Set.Test
	if *split == "train" {
		src = l.Set.Train
	} else if *split != "test" {
		return fmt.Errorf("--split %q: expected test or train", *split)
	}
	// The pipeline the model was trained with, as training printed it.
	fmt.Fprintf(os.Stderr, "input: %s\n", zfnet.DescribeInput(l.Model.Arch, l.Cfg))
	p, err := zfnet.NewPredictor(l.Model, *batch, false)
	if err != nil {
		return err
	}
	defer p.Close()
	loader, err := data.NewLoader(src, data.LoaderConfig{BatchSize: *batch, Pre: l.Pre, Mean: l.Mean, TenCrop: *tenCrop})
	if err != nil {
		return err
	}
	start := time.Now()
	b := newBar(false)
	ev, err := zfnet.Evaluate(p, loader, func(done, total int) {
		b.step(zfnet.Progress{Epoch: 1, Epochs: 1, Batch: done, Batches: total,
			ImagesPerSec: float64(done**batch) / time.Since(start).Seconds()})
	})
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	fmt.Printf("%s on %s (%d images%s): top-1 %.2f%%  top-5 %.2f%%  loss %.4f\n", l.Model.Arch.Name, src.Name(), ev.Examples,
		map[bool]string{true: ", 10 crops", false: ""}[*tenCrop], 100*ev.Top1, 100*ev.Top5, ev.Loss)
	for c, acc := range ev.PerClass {
		fmt.Printf("  %-14s %6.2f%%\n", l.Set.Classes[c], 100*acc)
	}
	dir := *out
	if dir == "" {
		dir = filepath.Dir(mf.checkpoint + mf.weights)
	}
	path := filepath.Join(dir, "confusion.png")
	if err := figure.SavePNG(path, zfnet.ConfusionImage(ev.Confusion, l.Set.Classes)); err != nil {
		return err
	}
	fmt.Printf("confusion matrix: %s\n", path)
	return nil
}
