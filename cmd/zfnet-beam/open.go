package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"

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

func (s Spec) open() (*opened, error) {
	if (s.Checkpoint == "") == (s.Weights == "") {
		return nil, fmt.Errorf("give exactly one of --checkpoint or --weights")
	}
	var (
		m    *zfnet.Model
		mean *data.Mean
		rc   = zfnet.DefaultRunConfig()
		spec = s.Data
		err  error
	)
	if s.Checkpoint != "" {
		path := s.Checkpoint
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			path = filepath.Join(path, zfnet.CheckpointFile)
		}
		ck, err := zfnet.LoadCheckpoint(path)
		if err != nil {
			return nil, err
		}
		m, mean, rc = ck.Model, ck.Mean, ck.State.Config
		if spec == "" {
			spec = rc.Data
		}
		if s.Data != "" && s.Data != rc.Data {
			return nil, fmt.Errorf("--data %s: the checkpoint was trained on %s", s.Data, rc.Data)
		}
	} else {
		if m, _, err = zfnet.Import(s.Weights, zfnet.ImportOptions{Arch: s.Arch, Preprocess: s.Preprocess}); err != nil {
			return nil, err
		}
		if m.Arch.Preprocess == "" || m.Arch.Preprocess == zfnet.PresetZFNet {
			if mean, err = zfnet.MeanBeside(s.Weights); err != nil {
				return nil, err
			}
		}
	}
	preName := m.Arch.Preprocess
	if s.Preprocess != "" {
		preName = s.Preprocess
	}
	pre, err := zfnet.PresetPreprocess(preName, m.Arch.Input, rc)
	if err != nil {
		return nil, err
	}
	if mean == nil {
		mean = pre.DisplayMean()
	}
	var src data.Source
	switch {
	case s.Images != "":
		if s.Split == "train" {
			return nil, fmt.Errorf("--split train: a folder of pictures has no training part")
		}
		paths, err := data.ImagePaths(s.Images)
		if err != nil {
			return nil, err
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("--images %s: no pictures in that folder", s.Images)
		}
		classes := make([]string, m.Arch.Classes)
		for i := range classes {
			classes[i] = strconv.Itoa(i)
		}
		if src, err = data.ImageFiles(paths, classes); err != nil {
			return nil, err
		}
	case spec != "":
		set, err := data.Open(spec, data.OpenOptions{ValFraction: rc.ValFraction, Seed: rc.Seed})
		if err != nil {
			return nil, err
		}
		src = set.Test
		if s.Split == "train" {
			src = set.Train
			if set.Val != nil {
				// As zfnet index build: the whole training split, a
				// run's held-out share included (the first copy freed
				// before the second is read).
				set, src = nil, nil
				debug.FreeOSMemory()
				if set, err = data.Open(spec, data.OpenOptions{}); err != nil {
					return nil, err
				}
				src = set.Train
			}
		}
	default:
		return nil, fmt.Errorf("nothing to index: give --data or --images")
	}
	if s.Limit > 0 && s.Limit < src.Len() {
		idx := make([]int, s.Limit)
		for i := range idx {
			idx[i] = i
		}
		src = data.Subset(src, fmt.Sprintf("%s[:%d]", src.Name(), s.Limit), idx)
	}
	opt := index.Options{Layers: s.Layers, K: s.K, Mode: index.Mode(s.Mode), Fingerprint: index.Fingerprint(m, pre, mean)}
	if len(opt.Layers) == 0 {
		opt.Layers = index.DefaultLayers(m)
	}
	return &opened{model: m, src: src, cfg: data.LoaderConfig{Pre: pre, Mean: mean, BatchSize: s.Batch}, opt: opt}, nil
}
