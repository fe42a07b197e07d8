package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"

	"github.com/pkg/errors"
	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet/index"
	"github.com/zfnet/zfnet/zfnet"
)

// Spec is everything a worker needs to open the model and the examples: it
// travels inside the DoFns (Beam serializes their exported fields), so the
// paths must be readable where the workers run (a shared file system or
// files baked into the worker image).
type Spec struct {
	Checkpoint string // run folder or checkpoint.npz
	Weights    string // or a weight file (.npz, .safetensors, .pth, .onnx)
	Arch       string
	Preprocess string
	Data       string // data set (mnist, folder:DIR, list:FILE, ...)
	Images     string // or a folder of pictures
	Split      string // test or train
	Limit      int
	Batch      int
	Layers     []string
	K          int
	Mode       string
}

// opened is a spec's model and examples, as zfnet index build opens them
// (the same source name, preprocessing, mean and fingerprint, so that both
// write the same bytes).
type opened struct {
	model *zfnet.Model
	src   data.Source
	cfg   data.LoaderConfig
	opt   index.Options
}

// open opens the spec's model, its preprocessing and mean, its examples and
// its index options, in that order (so the first problem reported is the one
// zfnet index build reports first).
func (s Spec) open() (*opened, error) {
	if (s.Checkpoint == "") == (s.Weights == "") {
		return nil, fmt.Errorf("give exactly one of --checkpoint or --weights")
	}
	var (
		m    *zfnet.Model
		mean *data.Mean
		rc   = zfnet.DefaultRunConfig()
		err  error
	)
	if s.Checkpoint != "" {
		m, mean, rc, err = s.fromCheckpoint()
	} else {
		m, mean, err = s.fromWeights()
	}
	if err != nil {
		return nil, err
	}
	preName := m.Arch.Preprocess
	if s.Preprocess != "" {
		preName = s.Preprocess
	}
	pre, err := zfnet.PresetPreprocess(preName, m.Arch.Input, rc)
	if err != nil {
		return nil, errors.Wrapf(err, "preprocessing %q", preName)
	}
	if mean == nil {
		mean = pre.DisplayMean()
	}
	spec := s.Data
	if spec == "" && s.Checkpoint != "" {
		spec = rc.Data // the data set the checkpoint was trained on
	}
	src, err := s.source(spec, m.Arch.Classes, rc)
	if err != nil {
		return nil, err
	}
	src = s.limited(src)
	opt := index.Options{Layers: s.Layers, K: s.K, Mode: index.Mode(s.Mode), Fingerprint: index.Fingerprint(m, pre, mean)}
	if len(opt.Layers) == 0 {
		opt.Layers = index.DefaultLayers(m)
	}
	return &opened{model: m, src: src, cfg: data.LoaderConfig{Pre: pre, Mean: mean, BatchSize: s.Batch}, opt: opt}, nil
}

// fromCheckpoint loads --checkpoint (a run folder or its checkpoint file):
// the model, the run's mean and the run's configuration, whose data set must
// be --data's when that is given.
func (s Spec) fromCheckpoint() (*zfnet.Model, *data.Mean, zfnet.RunConfig, error) {
	path := s.Checkpoint
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, zfnet.CheckpointFile)
	}
	ck, err := zfnet.LoadCheckpoint(path)
	if err != nil {
		return nil, nil, zfnet.RunConfig{}, errors.Wrapf(err, "--checkpoint %s", s.Checkpoint)
	}
	rc := ck.State.Config
	if s.Data != "" && s.Data != rc.Data {
		return nil, nil, rc, fmt.Errorf("--data %s: the checkpoint was trained on %s", s.Data, rc.Data)
	}
	return ck.Model, ck.Mean, rc, nil
}

// fromWeights imports --weights, and for the ZFNet preprocessing the mean
// image stored beside the file; other presets bring their own mean (nil here).
func (s Spec) fromWeights() (*zfnet.Model, *data.Mean, error) {
	m, _, err := zfnet.Import(s.Weights, zfnet.ImportOptions{Arch: s.Arch, Preprocess: s.Preprocess})
	if err != nil {
		return nil, nil, errors.Wrapf(err, "--weights %s", s.Weights)
	}
	if m.Arch.Preprocess != "" && m.Arch.Preprocess != zfnet.PresetZFNet {
		return m, nil, nil
	}
	mean, err := zfnet.MeanBeside(s.Weights)
	if err != nil {
		return nil, nil, errors.Wrapf(err, "--weights %s: its mean image", s.Weights)
	}
	return m, mean, nil
}

// source opens the examples to index: the --images folder, or split --split
// of data set spec.
func (s Spec) source(spec string, classes int, rc zfnet.RunConfig) (data.Source, error) {
	switch {
	case s.Images != "":
		return s.pictures(classes)
	case spec != "":
		return s.split(spec, rc)
	default:
		return nil, fmt.Errorf("nothing to index: give --data or --images")
	}
}

// pictures is the --images folder as a test split, its pictures labelled
// with the model's class numbers (a folder of pictures carries no labels).
func (s Spec) pictures(classes int) (data.Source, error) {
	if s.Split == "train" {
		return nil, fmt.Errorf("--split train: a folder of pictures has no training part")
	}
	paths, err := data.ImagePaths(s.Images)
	if err != nil {
		return nil, errors.Wrapf(err, "--images %s", s.Images)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("--images %s: no pictures in that folder", s.Images)
	}
	names := make([]string, classes)
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	src, err := data.ImageFiles(paths, names)
	if err != nil {
		return nil, errors.Wrapf(err, "--images %s", s.Images)
	}
	return src, nil
}

// split opens data set spec and returns its --split part. The training split
// is the whole of it, as zfnet index build has it: a run's held-out share
// (carved with the run's seed and fraction) included.
func (s Spec) split(spec string, rc zfnet.RunConfig) (data.Source, error) {
	set, err := data.Open(spec, data.OpenOptions{ValFraction: rc.ValFraction, Seed: rc.Seed})
	if err != nil {
		return nil, errors.Wrapf(err, "--data %s", spec)
	}
	if s.Split != "train" {
		return set.Test, nil
	}
	if set.Val == nil {
		return set.Train, nil
	}
	// The first copy is freed before the second, uncarved one is read, so
	// that only one copy of the data set is in memory.
	set = nil
	debug.FreeOSMemory()
	if set, err = data.Open(spec, data.OpenOptions{}); err != nil {
		return nil, errors.Wrapf(err, "--data %s", spec)
	}
	return set.Train, nil
}

// limited is src cut to its first --limit examples (all of them when the
// limit is 0 or not below its length).
func (s Spec) limited(src data.Source) data.Source {
	if s.Limit <= 0 || s.Limit >= src.Len() {
		return src
	}
	idx := make([]int, s.Limit)
	for i := range idx {
		idx[i] = i
	}
	return data.Subset(src, fmt.Sprintf("%s[:%d]", src.Name(), s.Limit), idx)
}
