package main

import (
	"encoding/json"
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

func runTransfer(args []string) error {
	if len(args) == 0 || (args[0] != "table" && args[0] != "curve") {
		return fmt.Errorf("usage: zfnet transfer table|curve [flags]\n" +
			"  table: the paper's Table 7: a linear softmax classifier on each layer's features, accuracy per layer\n" +
			"  curve: the paper's Fig. 9: accuracy of a retrained top layer against training images per class,\n" +
			"         pretrained against random weights and against the whole network trained from scratch")
	}
	sub, args := args[0], args[1:]
	var sf sourceFlags
	about := map[string]string{
		"table": "The paper's Table 7 on --data: for each layer with weights (conv1 .. fc7), a linear softmax classifier trained on\n" +
			"the output of that layer's stage (conv1: pool1, fc6: relu6) for a stratified sample of the training split, scored\n" +
			"on a sample of the test split. Writes table.md, table.json and table.png.",
		"curve": "The paper's Fig. 9 on --data: test accuracy against training images per class, several random draws each:\n" +
			"the model's layers kept and a new softmax trained on --layer's features (the paper's 'retrain the softmax'),\n" +
			"the same over a randomly initialized network, the whole network trained from scratch on the same images, and\n" +
			"the whole pretrained network fine-tuned with the same recipe (only the starting weights differ).\n" +
			"Writes curve.md, curve.json and curve.png.",
	}[sub]
	fs := newFlags("transfer "+sub, "", about)
	sf.register(fs, false)
	out := fs.String("out", "", "output folder (default: transfer-DATA beside the checkpoint or weights)")
	test := fs.Int("test", 2000, "test examples (stratified sample of the test split)")
	seed := fs.Int64("seed", 1, "seed for the samples, the draws and the classifiers")
	lin := zfnet.DefaultLinearConfig()
	fs.IntVar(&lin.Epochs, "linear-epochs", lin.Epochs, "epochs of the linear classifier")
	fs.Float64Var(&lin.LR, "linear-lr", lin.LR, "learning rate of the linear classifier (features are standardized to unit length)")
	fs.Float64Var(&lin.WeightDecay, "linear-decay", lin.WeightDecay, "weight decay of the linear classifier")
	fs.IntVar(&sf.workers, "workers", 0, "data decoding goroutines (0: one per core)")
	threads := fs.Int("threads", 0, "CPU threads for compute (0: all)")
	tc, cc := zfnet.DefaultTableConfig(), zfnet.DefaultCurveConfig()
	var layers string
	perClass := intList(cc.PerClass)
	scratch := true
	if sub == "table" {
		fs.IntVar(&tc.TrainPerClass, "train-per-class", tc.TrainPerClass, "training images per class")
		fs.BoolVar(&tc.Random, "random", tc.Random, "also score each layer of a randomly initialized network of the same architecture")
		fs.StringVar(&layers, "layers", "", "layers with weights to score, in layer order (default: all but the last, e.g. conv1-fc7)")
	} else {
		fs.Var(&perClass, "per-class", "training images per class at each point of the curve")
		fs.IntVar(&cc.Draws, "draws", cc.Draws, "random draws of the training images at each point")
		fs.StringVar(&cc.Layer, "layer", "", "the layer whose stage output feeds the retrained top layer (default: the one before the last, fc7)")
		fs.BoolVar(&scratch, "scratch", true, "also train the whole network from scratch on each draw (the slow part)")
		fs.BoolVar(&cc.FineTune, "fine-tune", cc.FineTune, "also fine-tune the whole pretrained network (last layer re-initialized) with the from-scratch recipe")
		fs.IntVar(&cc.ScratchMaxSteps, "scratch-steps", cc.ScratchMaxSteps, "at most this many training steps from scratch per draw (30 epochs of 32, at least 60)")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (all options are flags)", fs.Args())
	}
	setThreads(*threads)
	l, err := sf.open(func(l *loaded) error {
		var err error
		if sub == "table" && layers != "" {
			if tc.Layers, err = zfnet.ResolveLayers(l.Model, layers); err != nil {
				return fmt.Errorf("--layers: %v", err)
			}
		}
		if sub == "curve" && cc.Layer != "" {
			_, err = zfnet.StageOutput(l.Model, cc.Layer)
		}
		return err
	})
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join(filepath.Dir(sf.mf.checkpoint+sf.mf.weights), "transfer-"+strings.NewReplacer(":", "-", "/", "-").Replace(sf.data))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %v", dir, err)
	}
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) }
	src := &zfnet.TransferSource{Model: l.Model, Pre: l.Pre, Mean: l.Mean, Set: l.Set, Workers: sf.workers, Logf: logf}
	title := fmt.Sprintf("%s -> %s", l.About, l.Set.Name)
	logf("%s; input %s", title, zfnet.DescribeInput(l.Model.Arch, l.Cfg))
	start := time.Now()
	if sub == "table" {
		tc.Test, tc.Linear, tc.Seed = *test, lin, *seed
		rows, err := zfnet.TransferTable(src, tc)
		if err != nil {
			return err
		}
		var md strings.Builder
		zfnet.FormatTable(&md, fmt.Sprintf("Linear softmax on each layer's features: %s, %d training images per class, %d test images", title, tc.TrainPerClass, *test), rows)
		return writeTransfer(dir, "table", md.String(), rows, func(p string) error {
			return zfnet.PlotTable(p, fmt.Sprintf("%s -> %s: softmax per layer", l.Model.Arch.Name, l.Set.Name), rows)
		}, start)
	}
	cc.PerClass, cc.Test, cc.Linear, cc.Seed = perClass, *test, lin, *seed
	if !scratch {
		cc.ScratchMaxSteps = 0
	}
	pts, err := zfnet.TransferCurve(src, cc)
	if err != nil {
		return err
	}
	var md strings.Builder
	zfnet.FormatCurve(&md, fmt.Sprintf("Test top-1 against training images per class (mean ± sd of %d draws): %s, %d test images", cc.Draws, title, *test), pts)
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
