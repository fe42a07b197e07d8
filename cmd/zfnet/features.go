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

// featuresFlags are the flags of `zfnet features`.
type featuresFlags struct {
	sf                sourceFlags
	layer, split, out string
	ext               string // .npy or .npz, from --out
	batch, limit      int
	resume, quiet     bool
}

// parseFeaturesFlags defines and parses the flags of `zfnet features` and
// checks them.
func parseFeaturesFlags(args []string) (*featuresFlags, error) {
	f := &featuresFlags{}
	fs := newFlags("features", "", "Writes the output of one layer for every example of a split: F.npy (examples x features, float32,\n"+
		"each example's C*H*W values in C order) and F.labels.npy (int64), or one F.npz holding \"features\" and \"labels\".\n"+
		"The .npy files are streamed to disk; an interrupted run continues with --resume.\n"+
		"  python3 -c 'import numpy as np; X = np.load(\"F.npy\"); y = np.load(\"F.labels.npy\")'")
	f.sf.register(fs, true)
	fs.StringVar(&f.layer, "layer", "", "the layer: any of the model's (conv1, relu1, pool1, ..., fc6, relu6, fc7); zfnet arch lists them")
	fs.StringVar(&f.split, "split", "test", "which split of --data: test, train or val")
	fs.StringVar(&f.out, "out", "", "output file: F.npy (labels in F.labels.npy) or F.npz")
	fs.IntVar(&f.batch, "batch", 64, "batch size")
	fs.IntVar(&f.limit, "limit", 0, "only the first N examples of the split")
	fs.BoolVar(&f.resume, "resume", false, "continue an interrupted .npy output (same model, layer, data and split)")
	fs.IntVar(&f.sf.workers, "workers", 0, "data decoding goroutines (0: one per core)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	return f, f.check()
}

// check validates --layer and --out and reads --out's kind from its
// extension. (--split is checked against the data set once it is open.)
func (f *featuresFlags) check() error {
	if f.layer == "" || f.out == "" {
		return fmt.Errorf("--layer and --out are required")
	}
	f.ext = strings.ToLower(filepath.Ext(f.out))
	if f.ext != ".npy" && f.ext != ".npz" {
		return fmt.Errorf("--out %s: expected a .npy or .npz file", f.out)
	}
	return nil
}

// runFeatures writes one layer's features for every example of a split
// (`zfnet features`).
func runFeatures(args []string) error {
	f, err := parseFeaturesFlags(args)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.out), 0o755); err != nil {
		return fmt.Errorf("--out: %v", err)
	}
	l, err := f.sf.open(func(l *loaded) error {
		_, err := zfnet.StageOutput(l.Model, f.layer) // the layer exists
		return err
	})
	if err != nil {
		return err
	}
	src, err := f.source(l)
	if err != nil {
		return err
	}
	fx, err := zfnet.NewFeatureExtractor(l.Model, f.batch, []string{f.layer})
	if err != nil {
		return err
	}
	defer fx.Close()
	loader, err := data.NewLoader(src, data.LoaderConfig{BatchSize: f.batch, Pre: l.Pre, Mean: l.Mean, Workers: f.sf.workers})
	if err != nil {
		return err
	}
	n, d := src.Len(), fx.Dims[0]
	b := newBar(f.quiet)
	b.logf("%s of %s (%s): %d examples x %d features (%s)", f.layer, l.About, src.Name(), n, d, zfnet.DescribeInput(l.Model.Arch, l.Cfg))
	sink, from, err := f.openSink(src, n, d, b)
	if err != nil {
		return err
	}
	defer sink.close()
	if err := f.extract(fx, loader, from, d, sink, b); err != nil {
		return err
	}
	return sink.finish(f.out, n, d, b)
}

// source is the --split of the opened data set, cut to its first --limit
// examples.
func (f *featuresFlags) source(l *loaded) (data.Source, error) {
	var src data.Source
	switch f.split {
	case "test":
		src = l.Set.Test
	case "train":
		src = l.Set.Train
	case "val":
		src = l.Set.Val
	default:
		return nil, fmt.Errorf("--split %q: expected test, train or val", f.split)
	}
	if src == nil {
		return nil, fmt.Errorf("--split %s: %s has no such split", f.split, l.Set.Name)
	}
	if f.limit > 0 && f.limit < src.Len() {
		src = firstExamples(src, f.limit)
	}
	return src, nil
}

// openSink starts the output. A .npy output is streamed to disk by a
// feature writer that knows its job (model, layer, data, split, batch), so
// that --resume continues only the same job; from is the first batch still
// to run. A .npz is gathered in memory and written at the end.
func (f *featuresFlags) openSink(src data.Source, n, d int, b *bar) (sink *featureSink, from int, err error) {
	if f.ext != ".npy" {
		return &featureSink{}, 0, nil
	}
	job := fmt.Sprintf("%s|%s|%s|%s|%s|%d", f.sf.mf.checkpoint+f.sf.mf.weights, f.layer, f.sf.data+f.sf.mf.imageDir, f.split, src.Name(), f.batch)
	w, err := zfnet.OpenFeatureWriter(f.out, strings.TrimSuffix(f.out, filepath.Ext(f.out))+".labels.npy", job, n, d, f.batch, f.resume)
	if err != nil {
		return nil, 0, err
	}
	from = w.Done / f.batch
	if from > 0 {
		b.logf("resuming at example %d of %d", w.Done, n)
	}
	return &featureSink{w: w}, from, nil
}

// extract runs the batches of loader from the from'th on through fx and
// hands each one's d features per example to sink, drawing the progress
// bar (its rate counts only the batches of this run).
func (f *featuresFlags) extract(fx *zfnet.FeatureExtractor, loader *data.Loader, from, d int, sink *featureSink, b *bar) error {
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
		fe, err := fx.Run(bt.Crop(0))
		if err != nil {
			return err
		}
		if err := sink.add(fe[0][:bt.Valid*d], bt.Labels[:bt.Valid]); err != nil {
			return err
		}
		s.Recycle(bt)
		done++
		el := time.Since(start).Seconds()
		ips := float64((done-from)*f.batch) / el
		b.step(zfnet.Progress{Epoch: 1, Epochs: 1, Batch: done, Batches: total, ImagesPerSec: ips,
			ETA: time.Duration(float64((total-done)*f.batch) / ips * float64(time.Second))})
	}
	if !b.quiet {
		fmt.Fprintln(os.Stderr)
	}
	return nil
}

// featureSink receives the features: streamed to F.npy and F.labels.npy by
// w, flushed after every batch so that an interruption loses at most one,
// or, without w, gathered in memory for F.npz.
type featureSink struct {
	w      *zfnet.FeatureWriter
	all    []float32
	labels []int
}

// add takes one batch's rows (examples x features) and labels; both are
// copied or written before it returns, so the caller may reuse them.
func (s *featureSink) add(rows []float32, labels []int) error {
	if s.w == nil {
		s.all, s.labels = append(s.all, rows...), append(s.labels, labels...)
		return nil
	}
	if err := s.w.Write(rows, labels); err != nil {
		return err
	}
	return s.w.Flush()
}

// finish completes the output (out, for F.npz) and says what was written.
func (s *featureSink) finish(out string, n, d int, b *bar) error {
	if s.w != nil {
		if err := s.w.Finish(); err != nil {
			return err
		}
		b.logf("wrote %s (%d x %d float32) and %s (int64 labels)", s.w.Path, n, d, s.w.LabelsPath)
		return nil
	}
	if err := zfnet.WriteFeaturesNpz(out, s.all, len(s.labels), d, s.labels); err != nil {
		return err
	}
	b.logf("wrote %s: features (%d x %d float32), labels (int64)", out, len(s.labels), d)
	return nil
}

// close releases the feature writer, if any (after finish, or on an error).
func (s *featureSink) close() {
	if s.w != nil {
		s.w.Close()
	}
}
