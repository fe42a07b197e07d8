package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/zfnet"
)

// modelFlags are the flags every command that loads a trained model shares.
type modelFlags struct {
	checkpoint, weights, arch, data string
	tenCrop                         bool
}

func (f *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.checkpoint, "checkpoint", "", "checkpoint.npz of a run (carries its architecture, data set and mean)")
	fs.StringVar(&f.weights, "weights", "", "weights .npz (ours, or a PyTorch state_dict saved with numpy.savez); needs --arch and --data")
	fs.StringVar(&f.arch, "arch", "zfnet-small", "architecture, with --weights")
	fs.StringVar(&f.data, "data", "", "data set (default: the checkpoint's)")
}

// loaded is a model ready to use with the data it was trained on.
type loaded struct {
	Model *zfnet.Model
	Mean  *data.Mean
	Pre   data.Preprocess
	Set   *data.Set // nil when no data set is known
	Cfg   zfnet.RunConfig
}

// load opens the model and, unless noData, its data set.
func (f *modelFlags) load(noData bool) (*loaded, error) {
	if (f.checkpoint == "") == (f.weights == "") {
		return nil, fmt.Errorf("give exactly one of --checkpoint or --weights")
	}
	l := &loaded{Cfg: zfnet.DefaultRunConfig()}
	spec := f.data
	if f.checkpoint != "" {
		ck, err := zfnet.LoadCheckpoint(f.checkpoint)
		if err != nil {
			return nil, err
		}
		l.Model, l.Mean, l.Cfg = ck.Model, ck.Mean, ck.State.Config
		if spec == "" {
			spec = ck.State.Config.Data
		}
	}
	if spec == "" && (f.weights != "" || !noData) {
		return nil, fmt.Errorf("--data is needed with --weights")
	}
	if spec != "" && !noData || f.weights != "" {
		// The split the run trained with, so that its held-out examples are
		// the ones scored (folders and lists carve their test set out).
		set, err := data.Open(spec, data.OpenOptions{ValFraction: l.Cfg.ValFraction, Seed: l.Cfg.Seed})
		if err != nil {
			return nil, err
		}
		l.Set = set
	}
	if f.weights != "" {
		a, _, err := zfnet.ArchFor(f.arch, l.Set, -1)
		if err != nil {
			return nil, err
		}
		if l.Model, l.Mean, err = zfnet.LoadModel(f.weights, a); err != nil {
			return nil, err
		}
		if l.Mean == nil {
			fmt.Fprintf(flagOutput, "note: no mean.npy beside %s; inputs are not mean-subtracted\n", filepath.Base(f.weights))
		}
	}
	if l.Set != nil && len(l.Set.Classes) != l.Model.Arch.Classes {
		return nil, fmt.Errorf("data set %s has %d classes; the model was trained for %d", l.Set.Name, len(l.Set.Classes), l.Model.Arch.Classes)
	}
	l.Pre = zfnet.Preprocessing(l.Model.Arch, l.Cfg)
	return l, nil
}

// outPath is out, or the gallery folder beside the checkpoint or weights.
func (f *modelFlags) outPath(out string) string {
	switch {
	case out != "":
		return out
	case f.checkpoint != "":
		return filepath.Join(filepath.Dir(f.checkpoint), "gallery")
	case f.weights != "":
		return filepath.Join(filepath.Dir(f.weights), "gallery")
	}
	return "gallery"
}

// makeOutDir is outPath, created.
func (f *modelFlags) makeOutDir(out string) (string, error) {
	dir := f.outPath(out)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating the output folder: %v", err)
	}
	return dir, nil
}

// galleryTitle names the model a gallery page shows.
func galleryTitle(l *loaded) string {
	t := l.Model.Arch.Name
	if l.Set != nil {
		t += " on " + l.Set.Name
	}
	return t + ": inside the network"
}

// classNames names the model's classes (numbers where the data set does
// not say).
func classNames(l *loaded) []string {
	names := make([]string, l.Model.Arch.Classes)
	for i := range names {
		names[i] = strconv.Itoa(i)
		if l.Set != nil && i < len(l.Set.Classes) {
			names[i] = l.Set.Classes[i]
		}
	}
	return names
}
