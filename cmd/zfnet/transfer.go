package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zfnet/zfnet/zfnet"
)

func init() {
	register("transfer", "how well a network's features carry to another data set: table (per layer), curve (images per class)", runTransfer)
}

// transferUsage is the error of `zfnet transfer` without table or curve.
const transferUsage = "usage: zfnet transfer table|curve [flags]\n" +
	"  table: the paper's Table 7: a linear softmax classifier on each layer's features, accuracy per layer\n" +
	"  curve: the paper's Fig. 9: accuracy of a retrained top layer against training images per class,\n" +
	"         pretrained against random weights and against the whole network trained from scratch"

// transferAbout is the help text of each transfer command.
var transferAbout = map[string]string{
	"table": "The paper's Table 7 on --data: for each layer with weights (conv1 .. fc7), a linear softmax classifier trained on\n" +
		"the output of that layer's stage (conv1: pool1, fc6: relu6) for a stratified sample of the training split, scored\n" +
		"on a sample of the test split. Writes table.md, table.json and table.png.",
	"curve": "The paper's Fig. 9 on --data: test accuracy against training images per class, several random draws each:\n" +
		"the model's layers kept and a new softmax trained on --layer's features (the paper's 'retrain the softmax'),\n" +
		"the same over a randomly initialized network, the whole network trained from scratch on the same images, and\n" +
		"the whole pretrained network fine-tuned with the same recipe (only the starting weights differ).\n" +
		"Writes curve.md, curve.json and curve.png.",
}

// transferFlags are the flags of `zfnet transfer table` and `zfnet transfer
// curve` (sub); tc holds table's own, cc and perClass and scratch curve's.
type transferFlags struct {
	sub           string
	sf            sourceFlags
	out           string
	test, threads int
	seed          int64
	lin           zfnet.LinearConfig
	tc            zfnet.TableConfig
	cc            zfnet.CurveConfig
	layers        string
	perClass      intList
	scratch       bool
}

// parseTransferFlags defines and parses the flags of `zfnet transfer sub`:
// those both commands share, then sub's own.
func parseTransferFlags(sub string, args []string) (*transferFlags, error) {
	f := &transferFlags{sub: sub, lin: zfnet.DefaultLinearConfig(), tc: zfnet.DefaultTableConfig(), cc: zfnet.DefaultCurveConfig(), scratch: true}
	f.perClass = intList(f.cc.PerClass)
	fs := newFlags("transfer "+sub, "", transferAbout[sub])
	f.sf.register(fs, false)
	fs.StringVar(&f.out, "out", "", "output folder (default: transfer-DATA beside the checkpoint or weights)")
	fs.IntVar(&f.test, "test", 2000, "test examples (stratified sample of the test split)")
	fs.Int64Var(&f.seed, "seed", 1, "seed for the samples, the draws and the classifiers")
	fs.IntVar(&f.lin.Epochs, "linear-epochs", f.lin.Epochs, "epochs of the linear classifier")
	fs.Float64Var(&f.lin.LR, "linear-lr", f.lin.LR, "learning rate of the linear classifier (features are standardized to unit length)")
	fs.Float64Var(&f.lin.WeightDecay, "linear-decay", f.lin.WeightDecay, "weight decay of the linear classifier")
	fs.IntVar(&f.sf.workers, "workers", 0, "data decoding goroutines (0: one per core)")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads for compute (0: all)")
	if sub == "table" {
		f.registerTable(fs)
	} else {
		f.registerCurve(fs)
	}
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (all options are flags)", fs.Args())
	}
	return f, nil
}

// registerTable adds the flags of transfer table alone.
func (f *transferFlags) registerTable(fs *flag.FlagSet) {
	fs.IntVar(&f.tc.TrainPerClass, "train-per-class", f.tc.TrainPerClass, "training images per class")
	fs.BoolVar(&f.tc.Random, "random", f.tc.Random, "also score each layer of a randomly initialized network of the same architecture")
	fs.StringVar(&f.layers, "layers", "", "layers with weights to score, in layer order (default: all but the last, e.g. conv1-fc7)")
}

// registerCurve adds the flags of transfer curve alone.
func (f *transferFlags) registerCurve(fs *flag.FlagSet) {
	fs.Var(&f.perClass, "per-class", "training images per class at each point of the curve")
	fs.IntVar(&f.cc.Draws, "draws", f.cc.Draws, "random draws of the training images at each point")
	fs.StringVar(&f.cc.Layer, "layer", "", "the layer whose stage output feeds the retrained top layer (default: the one before the last, fc7)")
	fs.BoolVar(&f.scratch, "scratch", true, "also train the whole network from scratch on each draw (the slow part)")
	fs.BoolVar(&f.cc.FineTune, "fine-tune", f.cc.FineTune, "also fine-tune the whole pretrained network (last layer re-initialized) with the from-scratch recipe")
	fs.IntVar(&f.cc.ScratchMaxSteps, "scratch-steps", f.cc.ScratchMaxSteps, "at most this many training steps from scratch per draw (30 epochs of 32, at least 60)")
}

// runTransfer runs `zfnet transfer table` or `zfnet transfer curve`: it
// opens the model and the data set, then scores the transfer and writes the
// results into the output folder.
func runTransfer(args []string) error {
	if len(args) == 0 || (args[0] != "table" && args[0] != "curve") {
		return errors.New(transferUsage)
	}
	f, err := parseTransferFlags(args[0], args[1:])
	if err != nil {
		return err
	}
	setThreads(f.threads)
	l, err := f.sf.open(f.checkLayers)
	if err != nil {
		return err
	}
	dir := f.outDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %v", dir, err)
	}
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) }
	src := &zfnet.TransferSource{Model: l.Model, Pre: l.Pre, Mean: l.Mean, Set: l.Set, Workers: f.sf.workers, Logf: logf}
	title := fmt.Sprintf("%s -> %s", l.About, l.Set.Name)
	logf("%s; input %s", title, zfnet.DescribeInput(l.Model.Arch, l.Cfg))
	start := time.Now()
	if f.sub == "table" {
		return f.table(src, l, title, dir, start)
	}
	return f.curve(src, l, title, dir, start)
}

// checkLayers resolves table's --layers and checks curve's --layer against
// the model, before the data set is read.
func (f *transferFlags) checkLayers(l *loaded) error {
	var err error
	if f.sub == "table" && f.layers != "" {
		if f.tc.Layers, err = zfnet.ResolveLayers(l.Model, f.layers); err != nil {
			return fmt.Errorf("--layers: %v", err)
		}
	}
	if f.sub == "curve" && f.cc.Layer != "" {
		_, err = zfnet.StageOutput(l.Model, f.cc.Layer)
	}
	return err
}

// outDir is --out, or transfer-DATA beside the checkpoint or weights.
func (f *transferFlags) outDir() string {
	if f.out != "" {
		return f.out
	}
	return filepath.Join(filepath.Dir(f.sf.mf.checkpoint+f.sf.mf.weights), "transfer-"+strings.NewReplacer(":", "-", "/", "-").Replace(f.sf.data))
}

// table scores a linear softmax on each layer's features (Table 7) and
// writes table.md, table.json and table.png into dir.
func (f *transferFlags) table(src *zfnet.TransferSource, l *loaded, title, dir string, start time.Time) error {
	tc := f.tc
	tc.Test, tc.Linear, tc.Seed = f.test, f.lin, f.seed
	rows, err := zfnet.TransferTable(src, tc)
	if err != nil {
		return err
	}
	var md strings.Builder
	zfnet.FormatTable(&md, fmt.Sprintf("Linear softmax on each layer's features: %s, %d training images per class, %d test images", title, tc.TrainPerClass, f.test), rows)
	return writeTransfer(dir, "table", md.String(), rows, func(p string) error {
		return zfnet.PlotTable(p, fmt.Sprintf("%s -> %s: softmax per layer", l.Model.Arch.Name, l.Set.Name), rows)
	}, start)
}

// curve measures test accuracy against training images per class (Fig. 9)
// and writes curve.md, curve.json and curve.png into dir. Without --scratch
// the from-scratch training is left out by allowing it no steps.
func (f *transferFlags) curve(src *zfnet.TransferSource, l *loaded, title, dir string, start time.Time) error {
	cc := f.cc
	cc.PerClass, cc.Test, cc.Linear, cc.Seed = f.perClass, f.test, f.lin, f.seed
	if !f.scratch {
		cc.ScratchMaxSteps = 0
	}
	pts, err := zfnet.TransferCurve(src, cc)
	if err != nil {
		return err
	}
	var md strings.Builder
	zfnet.FormatCurve(&md, fmt.Sprintf("Test top-1 against training images per class (mean ± sd of %d draws): %s, %d test images", cc.Draws, title, f.test), pts)
	return writeTransfer(dir, "curve", md.String(), pts, func(p string) error {
		return zfnet.PlotCurve(p, fmt.Sprintf("%s -> %s", l.Model.Arch.Name, l.Set.Name), pts)
	}, start)
}

// writeTransfer writes NAME.md, NAME.json and NAME.png into dir and prints
// the table.
func writeTransfer(dir, name, md string, v any, plot func(string) error, start time.Time) error {
	fmt.Print(md)
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		ext string
		b   []byte
	}{{".md", []byte(md)}, {".json", js}} {
		if err := os.WriteFile(filepath.Join(dir, name+f.ext), f.b, 0o644); err != nil {
			return err
		}
	}
	png := filepath.Join(dir, name+".png")
	if err := plot(png); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s, %s.md, %s.json (%.0fs)\n", png, name, name, time.Since(start).Seconds())
	return nil
}
