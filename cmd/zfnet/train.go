package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/zfnet/zfnet/zfnet"
)

func init() {
	register("train", "train a network (default: zfnet-small on MNIST)", runTrain)
}

// trainFlags are the flags of `zfnet train`: most go straight into cfg,
// the rest (init, snaps, anneal-at, scales, resume) are folded in by settle.
type trainFlags struct {
	cfg      zfnet.RunConfig
	init     string
	snaps    intList
	annealAt intList
	scales   stringList
	resume   string
	threads  int
	quiet    bool
	profile  func() (func(), error)
}

// parseTrainFlags defines and parses the flags of `zfnet train` into a run
// configuration.
func parseTrainFlags(args []string) (*trainFlags, error) {
	f := &trainFlags{cfg: zfnet.DefaultRunConfig()}
	cfg := &f.cfg
	fs := newFlags("train", "", "Trains with the paper's recipe and writes a run folder: checkpoint.npz (resumable),\n"+
		"metrics.csv, training-curve.png, weights.npz (PyTorch state_dict names), mean.npy, snapshots/.\n"+
		"SIGINT/SIGTERM finish the current step, write a checkpoint and exit; --resume continues exactly.")
	fs.StringVar(&cfg.Data, "data", cfg.Data, "data set: mnist, fashion-mnist, cifar10:DIR, cifar100:DIR, folder:DIR, list:FILE")
	fs.StringVar(&cfg.Arch, "arch", cfg.Arch, "architecture: "+strings.Join(zfnet.ArchNames(), ", "))
	fs.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "epochs to train")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "batch size")
	fs.Float64Var(&cfg.LR, "lr", cfg.LR, "initial learning rate")
	fs.Float64Var(&cfg.LRFactor, "lr-factor", cfg.LRFactor, "learning rate multiplier when the validation loss plateaus")
	fs.IntVar(&cfg.Patience, "patience", cfg.Patience, "epochs without validation improvement before annealing (the plateau rule; giving it without --anneal-at turns the schedule off)")
	fs.Float64Var(&cfg.Momentum, "momentum", cfg.Momentum, "SGD momentum")
	fs.Float64Var(&cfg.WeightDecay, "weight-decay", cfg.WeightDecay, "L2 weight decay (weights, not biases)")
	fs.Float64Var(&cfg.FilterRadius, "filter-radius", cfg.FilterRadius, "renormalize conv filters whose RMS exceeds this (0: off; -1: the architecture's: 0.1 for the 224 models, off for the He-initialized small ones)")
	fs.Float64Var(&cfg.Dropout, "dropout", cfg.Dropout, "dropout probability on fc6 and fc7")
	f.init = string(cfg.Init)
	fs.StringVar(&f.init, "init", f.init, "weight initialization: paper (N(0, 0.01^2)) or he")
	fs.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed for initialization, shuffling, augmentation and dropout")
	fs.Float64Var(&cfg.ValFraction, "val-fraction", cfg.ValFraction, "share of the training set held out for validation")
	fs.IntVar(&cfg.PadCrop, "pad-crop", cfg.PadCrop, "small images: random crops from the picture padded by this many pixels")
	fs.BoolVar(&cfg.Flip, "flip", cfg.Flip, "random horizontal flips (photographs; not for digits)")
	fs.StringVar(&cfg.Pipeline, "pipeline", "auto", "how pictures become inputs: auto (decided from the data set's picture sizes, printed at the start),\n"+
		"small (each picture resized whole to the input size) or imagenet (shorter side resized, centre square, crops)")
	fs.IntVar(&cfg.InputSize, "input-size", 0, "square model input of this side in pixels (0: decided from the data set and the architecture)")
	f.annealAt = intList(cfg.AnnealAt)
	fs.Var(&f.annealAt, "anneal-at", "epochs after which the learning rate is multiplied by --lr-factor (a fixed schedule); empty (--anneal-at ''): on a plateau (--patience)")
	f.snaps = intList(cfg.Snapshots)
	fs.Var(&f.snaps, "snapshots", "epochs whose weights are kept in snapshots/ (feature evolution)")
	fs.StringVar(&cfg.Out, "out", "", "run folder (default runs/ARCH-DATA, e.g. runs/zfnet-small-mnist)")
	fs.StringVar(&f.resume, "resume", "", "continue the run in this folder (its configuration wins; --epochs may extend it)")
	fs.IntVar(&cfg.Workers, "workers", 0, "data decoding goroutines (0: one per core)")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads for compute (0: all)")
	fs.BoolVar(&cfg.SkipBad, "skip-bad", false, "skip unreadable images (reported at the end) instead of failing")
	fs.IntVar(&cfg.TrainLimit, "limit", 0, "train on only the first N training examples (quick looks)")
	fs.StringVar(&cfg.InitFrom, "init-from", "", "start from these weights instead of a random initialization: any file --weights reads (.npz, .safetensors,\n"+
		".pth, .onnx), a checkpoint or a run folder; the architecture is the file's (unless --arch), the last layer is\n"+
		"re-initialized when the data's classes differ from the file's, and the input geometry must be the file's")
	fs.StringVar(&cfg.Freeze, "freeze", "", "layers that do not learn, in layer order: conv1-fc7 (only the last layer learns, the paper's transfer setting),\n"+
		"conv1,conv2, conv1-conv5; frozen layers get no gradient computation and keep their weights bit for bit")
	fs.Var(&f.scales, "lr-scale", "LAYER=FACTOR: multiply a layer's learning rate (fc8=10, conv1-conv5=0.1); comma lists and repeats add up")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar: one line per epoch, for logs")
	f.profile = cpuProfileFlag(fs)
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (all options are flags)", fs.Args())
	}
	f.settle(fs)
	return f, nil
}

// settle completes cfg from the parsed flags fs: --init, --snapshots and
// --lr-scale; with --init-from and no --arch the file's architecture; the
// default run folder; and for --resume the run's folder, whose checkpoint's
// configuration wins (--epochs counts only when given).
func (f *trainFlags) settle(fs *flag.FlagSet) {
	cfg := &f.cfg
	cfg.Init, cfg.Snapshots, cfg.AnnealAt = zfnet.Init(f.init), f.snaps, f.annealAt
	if flagSet(fs, "patience") && !flagSet(fs, "anneal-at") {
		cfg.AnnealAt = nil // --patience asks for the plateau rule
	}
	cfg.LRScale = strings.Join(f.scales, ",")
	if cfg.InitFrom != "" && !flagSet(fs, "arch") {
		cfg.Arch = "" // the file's
	}
	if cfg.Out == "" {
		arch := cfg.Arch
		if arch == "" {
			arch = "tuned"
		}
		cfg.Out = defaultRunDir(arch, cfg.Data)
	}
	if f.resume != "" {
		cfg.Out = f.resume
		if !flagSet(fs, "epochs") {
			cfg.Epochs = 0
		}
	}
}

// runTrain trains (or with --resume continues) a run (`zfnet train`);
// SIGINT/SIGTERM end it with a checkpoint and exit status 0.
func runTrain(args []string) error {
	f, err := parseTrainFlags(args)
	if err != nil {
		return err
	}
	setThreads(f.threads)
	stopProfile, err := f.profile()
	if err != nil {
		return err
	}
	defer stopProfile()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := newBar(f.quiet)
	// Train checks the arguments, the data set and the input geometry
	// before it creates the run folder or says "training ... into".
	ev, err := zfnet.Train(ctx, f.cfg, f.resume != "", zfnet.Hooks{Step: b.step, Epoch: b.epoch, Logf: b.logf})
	if err == zfnet.ErrInterrupted {
		b.logf("\n%v", err)
		return nil
	}
	if err != nil {
		return err
	}
	b.logf("test top-1 %.2f%%  top-5 %.2f%% on %d images; weights: %s", 100*ev.Top1, 100*ev.Top5, ev.Examples, filepath.Join(f.cfg.Out, zfnet.WeightsFile))
	return nil
}

// defaultRunDir names a run folder after the architecture and the data
// set, so that runs on different data do not collide: runs/zfnet-small-mnist,
// runs/zfnet-small-fashion-mnist, runs/zfnet-folder-photos for folder:/x/photos.
func defaultRunDir(arch, data string) string {
	name := data
	if kind, path, ok := strings.Cut(data, ":"); ok {
		name = kind + "-" + filepath.Base(filepath.Clean(path))
	}
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, name)
	return filepath.Join("runs", arch+"-"+name)
}

// stringList collects a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}
