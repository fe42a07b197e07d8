package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/zfnet"
)

func init() {
	register("features", "a layer's features for every example of a data set, as .npy (for NumPy, scikit-learn)", runFeatures)
}

// sourceFlags are the model and data flags of features and transfer: the
// model from --weights or --checkpoint, the data from --data (any data set,
// not only the model's own) or --images.
type sourceFlags struct {
	mf      modelFlags
	data    string
	workers int
}

func (s *sourceFlags) register(fs *flag.FlagSet, images bool) {
	fs.StringVar(&s.mf.checkpoint, "checkpoint", "", "checkpoint.npz of a run, or the run folder")
	fs.StringVar(&s.mf.weights, "weights", "", "weight file: .npz, .safetensors, PyTorch .pth/.pt or ONNX .onnx (see zfnet predict -h)")
	fs.StringVar(&s.mf.arch, "arch", "", "architecture, overriding the one recognized from --weights")
	fs.StringVar(&s.mf.preprocess, "preprocess", "", "input preprocessing: zfnet, torchvision or caffe (default: the model's)")
	fs.StringVar(&s.data, "data", "", "data set: "+data.Specs+" (any data set: its pictures go through the model's own preprocessing)")
	if images {
		fs.StringVar(&s.mf.imageDir, "images", "", "a folder of pictures instead of --data (unlabeled: labels are -1)")
	}
}

// open loads the model, runs check on it (before the data set is read),
// and opens the data set.
func (s *sourceFlags) open(check func(*loaded) error) (*loaded, error) {
	if (s.data == "") == (s.mf.imageDir == "") {
		return nil, fmt.Errorf("give one of --data or --images")
	}
	l, err := s.mf.load(true)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(l); err != nil {
			return nil, err
		}
	}
	if s.data != "" {
		// A checkpoint's own data set opens with the run's split, so that
		// "train" leaves its held-out examples out.
		opt := data.OpenOptions{Seed: l.Cfg.Seed}
		if s.mf.checkpoint != "" && s.data == l.Cfg.Data {
			opt.ValFraction = l.Cfg.ValFraction
		}
		if l.Set, err = data.Open(s.data, opt); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func runFeatures(args []string) error {
	var sf sourceFlags
	fs := newFlags("features", "", "Writes the output of one layer for every example of a split: F.npy (examples x features, float32,\n"+
		"each example's C*H*W values in C order) and F.labels.npy (int64), or one F.npz holding \"features\" and \"labels\".\n"+
		"The .npy files are streamed to disk; an interrupted run continues with --resume.\n"+
		"  python3 -c 'import numpy as np; X = np.load(\"F.npy\"); y = np.load(\"F.labels.npy\")'")
	sf.register(fs, true)
	layer := fs.String("layer", "", "the layer: any of the model's (conv1, relu1, pool1, ..., fc6, relu6, fc7); zfnet arch lists them")
	split := fs.String("split", "test", "which split of --data: test, train or val")
	out := fs.String("out", "", "output file: F.npy (labels in F.labels.npy) or F.npz")
	batch := fs.Int("batch", 64, "batch size")
	limit := fs.Int("limit", 0, "only the first N examples of the split")
	resume := fs.Bool("resume", false, "continue an interrupted .npy output (same model, layer, data and split)")
	fs.IntVar(&sf.workers, "workers", 0, "data decoding goroutines (0: one per core)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *layer == "" || *out == "" {
		return fmt.Errorf("--layer and --out are required")
	}
	ext := strings.ToLower(filepath.Ext(*out))
	if ext != ".npy" && ext != ".npz" {
		return fmt.Errorf("--out %s: expected a .npy or .npz file", *out)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("--out: %v", err)
	}
	l, err := sf.open(func(l *loaded) error {
		_, err := zfnet.StageOutput(l.Model, *layer) // the layer exists
		return err
	})
	if err != nil {
		return err
	}
	var src data.Source
	switch *split {
	case "test":
		src = l.Set.Test
	case "train":
		src = l.Set.Train
	case "val":
		src = l.Set.Val
	default:
		return fmt.Errorf("--split %q: expected test, train or val", *split)
	}
	if src == nil {
		return fmt.Errorf("--split %s: %s has no such split", *split, l.Set.Name)
	}
	if *limit > 0 && *limit < src.Len() {
		idx := make([]int, *limit)
		for i := range idx {
			idx[i] = i
		}
		src = data.Subset(src, fmt.Sprintf("%s[:%d]", src.Name(), *limit), idx)
	}
	f, err := zfnet.NewFeatureExtractor(l.Model, *batch, []string{*layer})
	if err != nil {
		return err
	}
	defer f.Close()
	loader, err := data.NewLoader(src, data.LoaderConfig{BatchSize: *batch, Pre: l.Pre, Mean: l.Mean, Workers: sf.workers})
	if err != nil {
		return err
	}
	n, d := src.Len(), f.Dims[0]
	b := newBar(*quiet)
	b.logf("%s of %s (%s): %d examples x %d features (%s)", *layer, l.About, src.Name(), n, d, zfnet.DescribeInput(l.Model.Arch, l.Cfg))
	var w *zfnet.FeatureWriter
	var all []float32
	var labels []int
	from := 0
	if ext == ".npy" {
		job := fmt.Sprintf("%s|%s|%s|%s|%s|%d", sf.mf.checkpoint+sf.mf.weights, *layer, sf.data+sf.mf.imageDir, *split, src.Name(), *batch)
		if w, err = zfnet.OpenFeatureWriter(*out, strings.TrimSuffix(*out, filepath.Ext(*out))+".labels.npy", job, n, d, *batch, *resume); err != nil {
			return err
		}
		defer w.Close()
		from = w.Done / *batch
		if from > 0 {
			b.logf("resuming at example %d of %d", w.Done, n)
		}
	}
	start := time.Now()
	s := loader.Start(0, from)
	defer s.Close()
	total, done := loader.BatchesPerEpoch(), from
	for {
		bt, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		fe, err := f.Run(bt.Crop(0))
		if err != nil {
			return err
		}
		rows, lab := fe[0][:bt.Valid*d], bt.Labels[:bt.Valid]
		if w != nil {
			if err := w.Write(rows, lab); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
		} else {
			all, labels = append(all, rows...), append(labels, lab...)
		}
		s.Recycle(bt)
		done++
		el := time.Since(start).Seconds()
		ips := float64((done-from)**batch) / el
		b.step(zfnet.Progress{Epoch: 1, Epochs: 1, Batch: done, Batches: total, ImagesPerSec: ips,
			ETA: time.Duration(float64((total-done)**batch) / ips * float64(time.Second))})
	}
	if !b.quiet {
		fmt.Fprintln(os.Stderr)
	}
	if w != nil {
		if err := w.Finish(); err != nil {
			return err
		}
		b.logf("wrote %s (%d x %d float32) and %s (int64 labels)", w.Path, n, d, w.LabelsPath)
		return nil
	}
	if err := zfnet.WriteFeaturesNpz(*out, all, len(labels), d, labels); err != nil {
		return err
	}
	b.logf("wrote %s: features (%d x %d float32), labels (int64)", *out, len(labels), d)
	return nil
}
