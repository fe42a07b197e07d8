package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/zfnet"
	"github.com/zfnet/zfnet/zfnet/imagenet"
)

// modelFlags are the flags every command that loads a trained model shares.
type modelFlags struct {
	checkpoint, weights, arch, data string
	preprocess, labels              string
	imageDir                        string // --images DIR: pictures instead of a data set's test split
	tenCrop                         bool
}

func (f *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.checkpoint, "checkpoint", "", "checkpoint.npz of a run, or the run folder (carries its architecture, data set, class names and mean)")
	fs.StringVar(&f.weights, "weights", "", "weight file: .npz, .safetensors, PyTorch .pth/.pt or ONNX .onnx; the architecture "+
		"(torchvision's AlexNet, pytorchcv's ZFNet/ZFNet-b/AlexNet, zfnet's own, an ONNX graph) is recognized from its tensor names and shapes")
	fs.StringVar(&f.arch, "arch", "", "architecture, overriding the one recognized from --weights (see zfnet arch)")
	fs.StringVar(&f.data, "data", "", "data set (default: the checkpoint's; none is needed with --weights)")
	fs.StringVar(&f.preprocess, "preprocess", "", "input preprocessing: zfnet, torchvision or caffe (default: the model's)")
	fs.StringVar(&f.labels, "labels", "", "file of class names, one per line in class-index order (default: the data set's, or ImageNet's for 1000 classes)")
}

// loaded is a model ready to use with the data it was trained on.
type loaded struct {
	Model *zfnet.Model
	Mean  *data.Mean
	Pre   data.Preprocess
	Set   *data.Set // nil when no data set is known
	Cfg   zfnet.RunConfig
	// Classes names every class (numbers where nothing says).
	Classes []string
	// About says in one line where the model comes from, for captions and
	// predict's note.
	About string
}

// checkpointPath accepts a run folder where a checkpoint is meant.
func checkpointPath(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("--checkpoint %s: %v", p, err)
	}
	if !st.IsDir() {
		return p, nil
	}
	ck := filepath.Join(p, zfnet.CheckpointFile)
	if _, err := os.Stat(ck); err != nil {
		return "", fmt.Errorf("--checkpoint %s is a folder without %s: give a run folder or its checkpoint file", p, zfnet.CheckpointFile)
	}
	return ck, nil
}

// load opens the model and, unless noData, its data set. With --weights
// no data set is needed: the file says the architecture, the layout the
// preprocessing, and a 1000-class model gets ImageNet's class names.
func (f *modelFlags) load(noData bool) (*loaded, error) {
	if (f.checkpoint == "") == (f.weights == "") {
		return nil, fmt.Errorf("give exactly one of --checkpoint or --weights")
	}
	l := &loaded{Cfg: zfnet.DefaultRunConfig()}
	spec := f.data
	if f.checkpoint != "" {
		path, err := checkpointPath(f.checkpoint)
		if err != nil {
			return nil, err
		}
		f.checkpoint = path
		ck, err := zfnet.LoadCheckpoint(path)
		if err != nil {
			return nil, err
		}
		l.Model, l.Mean, l.Cfg = ck.Model, ck.Mean, ck.State.Config
		l.Classes = ck.State.ClassNames
		if spec == "" && !noData {
			spec = ck.State.Config.Data
		}
		if f.data != "" && f.data != ck.State.Config.Data {
			return nil, fmt.Errorf("--data %s: the checkpoint was trained on %s; evaluating or visualizing it on another data set "+
				"gives meaningless numbers (give the same data set, or load the weights with --weights to use them elsewhere)", f.data, ck.State.Config.Data)
		}
		l.About = fmt.Sprintf("%s trained on %s", ck.Model.Arch.Name, ck.State.Config.Data)
		if f.arch != "" && f.arch != ck.Model.Arch.Name {
			return nil, fmt.Errorf("--arch %s: the checkpoint carries its own architecture (%s); --arch goes with --weights", f.arch, ck.Model.Arch.Name)
		}
	}
	if f.weights != "" {
		st, err := os.Stat(f.weights)
		if err != nil {
			return nil, fmt.Errorf("--weights: %v", err)
		}
		if st.IsDir() {
			return nil, fmt.Errorf("--weights %s is a folder: give a weight file (.npz, .safetensors, .pth, .onnx), or --checkpoint for a run folder", f.weights)
		}
		m, info, err := zfnet.Import(f.weights, zfnet.ImportOptions{Arch: f.arch, Preprocess: f.preprocess})
		if err != nil {
			return nil, err
		}
		l.Model = m
		l.About = fmt.Sprintf("%s read from %s (%s layout, %s)", m.Arch.Name, filepath.Base(f.weights), info.Layout, info.Format)
		if m.Arch.Preprocess == "" || m.Arch.Preprocess == zfnet.PresetZFNet {
			if l.Mean, err = zfnet.MeanBeside(f.weights); err != nil {
				return nil, err
			}
			if l.Mean == nil {
				fmt.Fprintf(flagOutput, "note: no mean.npy beside %s; inputs are not mean-subtracted\n", filepath.Base(f.weights))
			}
		}
	}
	if f.imageDir != "" {
		return l, f.usePictureFolder(l)
	}
	if spec != "" && !noData {
		// The split the run trained with, so that its held-out examples are
		// the ones scored (folders and lists carve their test set out).
		set, err := data.Open(spec, data.OpenOptions{ValFraction: l.Cfg.ValFraction, Seed: l.Cfg.Seed})
		if err != nil {
			return nil, err
		}
		l.Set = set
		if len(set.Classes) != l.Model.Arch.Classes {
			return nil, fmt.Errorf("data set %s has %d classes; the model was trained for %d", set.Name, len(set.Classes), l.Model.Arch.Classes)
		}
		if len(l.Classes) == 0 {
			l.Classes = set.Classes
		} else if !slices.Equal(l.Classes, set.Classes) {
			return nil, fmt.Errorf("data set %s names its classes %s; the model was trained on %s",
				set.Name, shortList(set.Classes), shortList(l.Classes))
		}
	}
	return l, f.finish(l)
}

// finish settles class names and preprocessing.
func (f *modelFlags) finish(l *loaded) error {
	if f.labels != "" {
		names, err := readLabels(f.labels, l.Model.Arch.Classes)
		if err != nil {
			return err
		}
		l.Classes = names
	}
	if len(l.Classes) == 0 && l.Model.Arch.Classes == imagenet.Classes &&
		(l.Model.Arch.Preprocess == zfnet.PresetTorchvision || l.Model.Arch.Preprocess == zfnet.PresetCaffe) {
		l.Classes = imagenet.Names()
	}
	if len(l.Classes) != l.Model.Arch.Classes {
		l.Classes = make([]string, l.Model.Arch.Classes)
		for i := range l.Classes {
			l.Classes[i] = strconv.Itoa(i)
		}
	}
	pre := l.Model.Arch.Preprocess
	if f.preprocess != "" {
		pre = f.preprocess
	}
	var err error
	if l.Pre, err = zfnet.PresetPreprocess(pre, l.Model.Arch.Input, l.Cfg); err != nil {
		return err
	}
	if l.Mean == nil {
		// Networks trained elsewhere normalize per channel instead of
		// subtracting a mean image; figures undo it to show the pictures.
		l.Mean = l.Pre.DisplayMean()
	}
	return nil
}

// usePictureFolder makes the --images folder the test split: unlabeled
// pictures, which the experiments label with the model's prediction.
func (f *modelFlags) usePictureFolder(l *loaded) error {
	if err := f.finish(l); err != nil {
		return err
	}
	paths, err := data.ImagePaths(f.imageDir)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return fmt.Errorf("--images %s: no pictures (.png, .jpg, .jpeg, .gif, .webp, .bmp, .tif) in that folder", f.imageDir)
	}
	src, err := data.ImageFiles(paths, l.Classes)
	if err != nil {
		return err
	}
	l.Set = &data.Set{Name: "pictures in " + f.imageDir, Test: src, Classes: l.Classes}
	return nil
}

// labelPictures gives unlabeled base pictures the model's prediction as
// their label (see predictedLabels).
func labelPictures(l *loaded, pics []*data.Image) error {
	xs, labels := testTimeInputs(l, pics)
	if err := predictedLabels(l, xs, labels); err != nil {
		return err
	}
	for i, p := range pics {
		p.Label = labels[i]
	}
	return nil
}

// predictedLabels fills unknown labels (pictures from a folder) with the
// model's prediction on the input, so "the correct class" of the paper's
// figures becomes "the predicted class" for photographs.
func predictedLabels(l *loaded, xs [][]float32, labels []int) error {
	var p *zfnet.Predictor
	for i := range labels {
		if labels[i] >= 0 {
			continue
		}
		if p == nil {
			var err error
			if p, err = zfnet.NewPredictor(l.Model, 1, false); err != nil {
				return err
			}
			defer p.Close()
		}
		logits, err := p.Logits(xs[i])
		if err != nil {
			return err
		}
		if labels[i], err = zfnet.Argmax(logits); err != nil {
			return err
		}
	}
	return nil
}

// readLabels reads class names, one per line.
func readLabels(path string, classes int) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--labels: %v", err)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimRight(string(b), "\r\n"), "\n") {
		names = append(names, strings.TrimSpace(line))
	}
	if len(names) != classes {
		return nil, fmt.Errorf("--labels %s: %d names, expected one per line for each of the model's %d classes", path, len(names), classes)
	}
	for i, n := range names {
		if n == "" {
			return nil, fmt.Errorf("--labels %s: line %d is empty; expected a class name", path, i+1)
		}
	}
	return names, nil
}

// shortList shows the first few names.
func shortList(s []string) string {
	if len(s) > 4 {
		return strings.Join(s[:4], ", ") + fmt.Sprintf(", ... (%d)", len(s))
	}
	return strings.Join(s, ", ")
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

// classNames names the model's classes.
func classNames(l *loaded) []string { return l.Classes }
