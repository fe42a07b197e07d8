package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/experiments"
	"github.com/zfnet/zfnet/deconvnet/index"
	"github.com/zfnet/zfnet/zfnet"
)

func init() {
	register("index", "activation index: every unit's top-K activations over a whole data set (build, sharded, resumable; merge; show)", runIndex)
}

func indexUsage() {
	fmt.Fprintf(os.Stderr, `Usage: zfnet index <build|merge|show> [flags]

  build   stream a data set once and keep, for every unit of the chosen layers,
          its K strongest activations (--shard i/N builds one part)
  merge   combine shard indexes into the index of the whole data set
          (byte for byte the unsharded build's)
  show    summarize an index, or list one unit's entries

The format (a folder of .npy arrays and index.json) is documented in
deconvnet/index (go doc github.com/zfnet/zfnet/deconvnet/index).
`)
}

func runIndex(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		indexUsage()
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "build":
		return runIndexBuild(args[1:])
	case "merge":
		return runIndexMerge(args[1:])
	case "show":
		return runIndexShow(args[1:])
	}
	indexUsage()
	return fmt.Errorf("unknown index command %q; expected build, merge or show", args[0])
}

// parseShard reads --shard i/N (0-based i).
func parseShard(s string) (i, n int, err error) {
	if s == "" {
		return 0, 1, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, e1 := strconv.Atoi(strings.TrimSpace(a))
	n, e2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || e1 != nil || e2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard %q: expected i/N with 0 <= i < N (shard 0/3, 1/3, 2/3 cover a data set)", s)
	}
	return i, n, nil
}

// checkpointFile is where build keeps its state: beside the index.
func checkpointFile(out string) string { return filepath.Clean(out) + ".partial" }

// indexBuildFlags are the flags of `zfnet index build`.
type indexBuildFlags struct {
	mf                              modelFlags
	layers, mode, out, shard, split string
	snapshots                       string
	k, limit, batch, every, threads int
	quiet                           bool
	profile                         func() (func(), error)
	modeV                           index.Mode
	shardI, shardN                  int
}

func parseIndexBuildFlags(args []string) (*indexBuildFlags, error) {
	f := &indexBuildFlags{}
	fs := newFlags("index build", "", "Streams a data set (or a folder of pictures) through the model once and keeps, for every unit\n"+
		"of the chosen layers, its K strongest activations: value, example (index, path, label), position\n"+
		"and receptive field. Memory does not grow with the data set. Progress (images/s, ETA) goes to\n"+
		"stderr. The state is saved to OUT.partial every --save-every images and on Ctrl-C; running the\n"+
		"same command again continues from it and ends with the same bytes as an uninterrupted build.")
	f.mf.register(fs)
	fs.StringVar(&f.mf.imageDir, "images", "", "folder of pictures to index instead of a data set")
	fs.StringVar(&f.layers, "layers", "", "layers, comma separated (default: every convolution and every fully connected layer but the classifier)")
	fs.IntVar(&f.k, "top", 9, fmt.Sprintf("activations kept per unit (1 to %d)", index.MaxK))
	fs.StringVar(&f.mode, "mode", "image", "image: one entry per image and unit (the paper's); position: every position competes")
	fs.StringVar(&f.out, "out", "", "index folder to write (required)")
	fs.StringVar(&f.snapshots, "snapshots", "", "build one index per weight snapshot of this run folder (RUN/snapshots/epoch-NNN.npz) into OUT/epoch-NNN, "+
		"for zfnet visualize evolution --indexes OUT (the paper's Fig. 4); indexes already there are kept")
	fs.StringVar(&f.shard, "shard", "", "build shard i/N (0-based): a deterministic 1/N of the examples, in whole batches; merge the N with zfnet index merge")
	fs.StringVar(&f.split, "split", "test", "which part of --data: test, or train (the whole training split, a run's held-out share included; --images: the pictures)")
	fs.IntVar(&f.limit, "limit", 0, "only the first N examples (default: all)")
	fs.IntVar(&f.batch, "batch", 64, "images per forward pass (shards and their merge need the same)")
	fs.IntVar(&f.every, "save-every", 10000, "save the state every N images (0: only on Ctrl-C)")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads (GOMAXPROCS; 0: all cores)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress line")
	f.profile = cpuProfileFlag(fs)
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (all options are flags)", fs.Args())
	}
	return f, f.check()
}

// check validates the flags and reads --mode and --shard.
func (f *indexBuildFlags) check() error {
	switch {
	case f.out == "":
		return fmt.Errorf("--out: give the index folder to write")
	case f.k < 1 || f.k > index.MaxK:
		return fmt.Errorf("--top %d: expected 1 to %d", f.k, index.MaxK)
	case f.batch < 1 || f.limit < 0 || f.every < 0 || f.threads < 0:
		return fmt.Errorf("--batch must be positive, --limit, --save-every and --threads at least 0")
	case f.split != "test" && f.split != "train":
		return fmt.Errorf("--split %q: expected test or train", f.split)
	}
	f.modeV = index.Mode(f.mode)
	if err := f.modeV.Validate(); err != nil {
		return fmt.Errorf("--mode %q: expected image or position", f.mode)
	}
	var err error
	f.shardI, f.shardN, err = parseShard(f.shard)
	return err
}

// layerNames is --layers, or the index's default layers of m.
func (f *indexBuildFlags) layerNames(m *zfnet.Model) []string {
	if f.layers == "" {
		return index.DefaultLayers(m)
	}
	var names []string
	for _, s := range strings.Split(f.layers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			names = append(names, s)
		}
	}
	return names
}

func runIndexBuild(args []string) error {
	f, err := parseIndexBuildFlags(args)
	if err != nil {
		return err
	}
	setThreads(f.threads)
	stopProfile, err := f.profile()
	if err != nil {
		return err
	}
	defer stopProfile()
	l, err := f.mf.load(false)
	if err != nil {
		return err
	}
	src, err := indexSource(l, f.split, f.limit, f.mf.imageDir != "")
	if err != nil {
		return err
	}
	l.Set = nil // only src is read from now on: the rest of the set (a second copy of MNIST for --split train) can go
	names := f.layerNames(l.Model)
	d, err := deconvnet.New(l.Model, f.batch)
	if err != nil {
		return err
	}
	defer d.Close()
	if f.snapshots != "" {
		return f.buildSnapshots(d, l, src, names)
	}
	start := time.Now()
	pr := newIndexProgress(f.quiet)
	ix, err := f.build(d, l, src, names, pr)
	if err != nil {
		return err
	}
	n := ix.Shard.To - ix.Shard.From
	fmt.Printf("indexed %d images of %s (examples [%d, %d), shard %d/%d) in %s: %s, top %d per %s -> %s\n",
		n, src.Name(), ix.Shard.From, ix.Shard.To, ix.Shard.Index, ix.Shard.Count, time.Since(start).Round(time.Millisecond),
		strings.Join(names, ","), f.k, f.modeV, f.out)
	fmt.Printf("images_per_s=%.1f peak_rss_mb=%.1f\n", pr.rate, zfnet.PeakRSSMB())
	return nil
}

// buildSnapshots builds one index per weight snapshot of --snapshots, each
// with the snapshot's weights in the loaded model (the run's preprocessing
// and mean), into index.SnapshotDir(--out, epoch). A finished index is
// kept, so an interrupted series continues where it stopped.
func (f *indexBuildFlags) buildSnapshots(d *deconvnet.Net, l *loaded, src data.Source, names []string) error {
	paths, epochs, err := experiments.SnapshotFiles(f.snapshots)
	if err != nil {
		return err
	}
	for i, p := range paths {
		g := *f
		g.out = index.SnapshotDir(f.out, epochs[i])
		if _, err := os.Stat(filepath.Join(g.out, "index.json")); err == nil {
			fmt.Fprintf(os.Stderr, "epoch %d: %s exists, kept\n", epochs[i], g.out)
			continue
		}
		if err := l.Model.LoadWeights(p); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "epoch %d (%d of %d): %s\n", epochs[i], i+1, len(paths), p)
		pr := newIndexProgress(f.quiet)
		if _, err := g.build(d, l, src, names, pr); err != nil {
			return fmt.Errorf("epoch %d: %w", epochs[i], err)
		}
		fmt.Printf("epoch %d: indexed %s -> %s (%.1f images/s)\n", epochs[i], src.Name(), g.out, pr.rate)
	}
	return nil
}

// build runs the index build until it ends or is interrupted (its state
// then saved beside --out), writes the index and removes the state.
func (f *indexBuildFlags) build(d *deconvnet.Net, l *loaded, src data.Source, names []string, pr *indexProgress) (*index.Index, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ck := checkpointFile(f.out)
	// The state lives beside --out: its folder must exist before the first save.
	if err := os.MkdirAll(filepath.Dir(ck), 0o755); err != nil {
		return nil, err
	}
	if _, err := os.Stat(ck); err == nil {
		fmt.Fprintf(os.Stderr, "index: continuing from %s\n", ck)
	}
	opt := index.Options{Layers: names, K: f.k, Mode: f.modeV, Shard: f.shardI, Shards: f.shardN, Checkpoint: ck, Every: f.every,
		Fingerprint: index.Fingerprint(l.Model, l.Pre, l.Mean), Progress: pr.report}
	ix, err := index.Build(ctx, d, src, data.LoaderConfig{Pre: l.Pre, Mean: l.Mean}, opt)
	pr.end()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("interrupted; the state is saved in %s: run the same command again to continue", ck)
		}
		return nil, err
	}
	if err := index.Write(f.out, ix); err != nil {
		return nil, err
	}
	if err := os.Remove(ck); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	return ix, nil
}

// indexSource picks the examples to index.
func indexSource(l *loaded, split string, limit int, pictures bool) (data.Source, error) {
	if l.Set == nil {
		return nil, fmt.Errorf("nothing to index: give --data (a data set) or --images (a folder of pictures)")
	}
	name := l.Set.Name
	src := l.Set.Test
	if split == "train" {
		if pictures || l.Set.Train == nil {
			return nil, fmt.Errorf("--split train: %s has no training part", name)
		}
		src = l.Set.Train
		if l.Set.Val != nil {
			// A set with its own test split, of which the run held out a
			// validation share: the index covers the whole training split.
			// The set is opened again; the first copy goes first, so that
			// the peak memory holds one.
			l.Set, src = nil, nil
			debug.FreeOSMemory()
			set, err := data.Open(name, data.OpenOptions{})
			if err != nil {
				return nil, err
			}
			src = set.Train
		}
	}
	if src == nil || src.Len() == 0 {
		return nil, fmt.Errorf("%s: no examples to index", name)
	}
	if limit > 0 && limit < src.Len() {
		src = firstExamples(src, limit)
	}
	return src, nil
}

// indexProgress prints images/s and ETA: a redrawn line on a terminal,
// a line every 10 s in a log.
type indexProgress struct {
	quiet, term bool
	last        time.Time
	drawn       bool
	rate        float64
}

func newIndexProgress(quiet bool) *indexProgress {
	term := false
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		term = true
	}
	return &indexProgress{quiet: quiet, term: term, last: time.Now()}
}

func (p *indexProgress) report(r index.Progress) {
	p.rate = r.ImagesPerSec
	if p.quiet {
		return
	}
	gap := 10 * time.Second
	if p.term {
		gap = 250 * time.Millisecond
	}
	if time.Since(p.last) < gap && r.Done < r.Total {
		return
	}
	p.last = time.Now()
	line := fmt.Sprintf("index: %d/%d images (%.1f%%) %.0f img/s ETA %s", r.Done, r.Total, 100*float64(r.Done)/float64(max(r.Total, 1)),
		r.ImagesPerSec, r.ETA.Round(time.Second))
	if r.Resumed > 0 {
		line += fmt.Sprintf(" (%d restored)", r.Resumed)
	}
	if p.term {
		fmt.Fprintf(os.Stderr, "\r%s  ", line)
		p.drawn = true
	} else {
		fmt.Fprintln(os.Stderr, line)
	}
}

func (p *indexProgress) end() {
	if p.drawn {
		fmt.Fprintln(os.Stderr)
	}
}

// interleaved parses flags given before, between or after positional
// arguments (zfnet index merge A B --out M).
func interleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func runIndexMerge(args []string) error {
	fs := newFlags("index merge", "INDEX...", "Combines the indexes of the shards of one build (zfnet index build --shard i/N) into the\n"+
		"index of the whole data set: the same bytes as the unsharded build. The shards must be of the\n"+
		"same model, data, layers, k, mode and batch, and cover every example exactly once.")
	out := fs.String("out", "", "index folder to write (required)")
	parts, err := interleaved(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(parts) == 0 {
		return fmt.Errorf("give the shard indexes and --out (zfnet index merge A B C --out M)")
	}
	var ixs []*index.Index
	for _, p := range parts {
		ix, err := index.Read(p)
		if err != nil {
			return err
		}
		ixs = append(ixs, ix)
	}
	m, err := index.Merge(ixs)
	if err != nil {
		return fmt.Errorf("%v (indexes: %s)", err, strings.Join(parts, ", "))
	}
	if err := index.Write(*out, m); err != nil {
		return err
	}
	fmt.Printf("merged %d indexes: %d examples of %s -> %s\n", len(parts), m.Examples, m.Source, *out)
	return nil
}

func runIndexShow(args []string) error {
	fs := newFlags("index show", "INDEX", "Prints what an index is of, per layer how many units fired, or one unit's entries.")
	layer := fs.String("layer", "", "list this layer's units (with --unit: one unit's entries)")
	unit := fs.Int("unit", -1, "unit (feature map) whose entries to list")
	pos, err := interleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("give one index folder")
	}
	ix, err := index.Read(pos[0])
	if err != nil {
		return err
	}
	fmt.Printf("%s v%d: %s (%s) over %s, examples [%d, %d) of %d (shard %d/%d), top %d per %s, batch %d\n",
		ix.Format, ix.Version, ix.Arch, ix.Fingerprint[:min(len(ix.Fingerprint), 19)], ix.Source, ix.Shard.From, ix.Shard.To, ix.Examples,
		ix.Shard.Index, ix.Shard.Count, ix.K, ix.Mode, ix.Batch)
	for li, l := range ix.Layers {
		if *layer != "" && l.Name != *layer {
			continue
		}
		fired := 0
		for _, es := range ix.Entries[li] {
			if len(es) > 0 {
				fired++
			}
		}
		fmt.Printf("%s (%s): %d units of %dx%d, field %d px, %d fired\n", l.Name, l.Output, l.Units, l.Height, l.Width, l.Field, fired)
		if *layer == "" || *unit < 0 {
			continue
		}
		if *unit >= l.Units {
			return fmt.Errorf("--unit %d: %s has units 0 to %d", *unit, l.Name, l.Units-1)
		}
		for j, e := range ix.Entries[li][*unit] {
			ex, _ := ix.Example(e.Example)
			b := ix.Boxes[li][*unit][j]
			fmt.Printf("  %d. %g  example %d (%s, label %d)  at (%d, %d)  field x %d..%d y %d..%d\n", j+1, e.Value, e.Example, ex.Path, ex.Label, e.Y, e.X, b[0], b[2], b[1], b[3])
		}
	}
	if *layer != "" && ix.LayerIndex(*layer) < 0 {
		return fmt.Errorf("--layer %s: the index has layers %s", *layer, layerList(ix))
	}
	return nil
}

func layerList(ix *index.Index) string {
	var s []string
	for _, l := range ix.Layers {
		s = append(s, l.Name)
	}
	return strings.Join(s, ", ")
}
