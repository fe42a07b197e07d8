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

func runIndexBuild(args []string) error {
	var mf modelFlags
	fs := newFlags("index build", "", "Streams a data set (or a folder of pictures) through the model once and keeps, for every unit\n"+
		"of the chosen layers, its K strongest activations: value, example (index, path, label), position\n"+
		"and receptive field. Memory does not grow with the data set. Progress (images/s, ETA) goes to\n"+
		"stderr. The state is saved to OUT.partial every --save-every images and on Ctrl-C; running the\n"+
		"same command again continues from it and ends with the same bytes as an uninterrupted build.")
	mf.register(fs)
	fs.StringVar(&mf.imageDir, "images", "", "folder of pictures to index instead of a data set")
	layers := fs.String("layers", "", "layers, comma separated (default: every convolution and every fully connected layer but the classifier)")
	k := fs.Int("top", 9, fmt.Sprintf("activations kept per unit (1 to %d)", index.MaxK))
	mode := fs.String("mode", "image", "image: one entry per image and unit (the paper's); position: every position competes")
	out := fs.String("out", "", "index folder to write (required)")
	shard := fs.String("shard", "", "build shard i/N (0-based): a deterministic 1/N of the examples, in whole batches; merge the N with zfnet index merge")
	split := fs.String("split", "test", "which part of --data: test, or train (the whole training split, a run's held-out share included; --images: the pictures)")
	limit := fs.Int("limit", 0, "only the first N examples (default: all)")
	batch := fs.Int("batch", 64, "images per forward pass (shards and their merge need the same)")
	every := fs.Int("save-every", 10000, "save the state every N images (0: only on Ctrl-C)")
	threads := fs.Int("threads", 0, "CPU threads (GOMAXPROCS; 0: all cores)")
	quiet := fs.Bool("quiet", false, "no progress line")
	profile := cpuProfileFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (all options are flags)", fs.Args())
	}
	switch {
	case *out == "":
		return fmt.Errorf("--out: give the index folder to write")
	case *k < 1 || *k > index.MaxK:
		return fmt.Errorf("--top %d: expected 1 to %d", *k, index.MaxK)
	case *batch < 1 || *limit < 0 || *every < 0 || *threads < 0:
		return fmt.Errorf("--batch must be positive, --limit, --save-every and --threads at least 0")
	case *split != "test" && *split != "train":
		return fmt.Errorf("--split %q: expected test or train", *split)
	}
	m := index.Mode(*mode)
	if err := m.Validate(); err != nil {
		return fmt.Errorf("--mode %q: expected image or position", *mode)
	}
	si, sn, err := parseShard(*shard)
	if err != nil {
		return err
	}
	setThreads(*threads)
	stopProfile, err := profile()
	if err != nil {
		return err
	}
	defer stopProfile()
	l, err := mf.load(false)
	if err != nil {
		return err
	}
	src, err := indexSource(l, *split, *limit, mf.imageDir != "")
	if err != nil {
		return err
	}
	l.Set = nil // only src is read from now on: the rest of the set (a second copy of MNIST for --split train) can go
	names := index.DefaultLayers(l.Model)
	if *layers != "" {
		names = nil
		for _, s := range strings.Split(*layers, ",") {
			if s = strings.TrimSpace(s); s != "" {
				names = append(names, s)
			}
		}
	}
	d, err := deconvnet.New(l.Model, *batch)
	if err != nil {
		return err
	}
	defer d.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ck := checkpointFile(*out)
	if _, err := os.Stat(ck); err == nil {
		fmt.Fprintf(os.Stderr, "index: continuing from %s\n", ck)
	}
	pr := newIndexProgress(*quiet)
	opt := index.Options{Layers: names, K: *k, Mode: m, Shard: si, Shards: sn, Checkpoint: ck, Every: *every,
		Fingerprint: index.Fingerprint(l.Model, l.Pre, l.Mean), Progress: pr.report}
	start := time.Now()
	ix, err := index.Build(ctx, d, src, data.LoaderConfig{Pre: l.Pre, Mean: l.Mean}, opt)
	pr.end()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted; the state is saved in %s: run the same command again to continue", ck)
		}
		return err
	}
	if err := index.Write(*out, ix); err != nil {
		return err
	}
	if err := os.Remove(ck); err != nil && !os.IsNotExist(err) {
		return err
	}
	n := ix.Shard.To - ix.Shard.From
	fmt.Printf("indexed %d images of %s (examples [%d, %d), shard %d/%d) in %s: %s, top %d per %s -> %s\n",
		n, src.Name(), ix.Shard.From, ix.Shard.To, ix.Shard.Index, ix.Shard.Count, time.Since(start).Round(time.Millisecond),
		strings.Join(names, ","), *k, m, *out)
	fmt.Printf("images_per_s=%.1f peak_rss_mb=%.1f\n", pr.rate, zfnet.PeakRSSMB())
	return nil
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
		idx := make([]int, limit)
		for i := range idx {
			idx[i] = i
		}
		src = data.Subset(src, fmt.Sprintf("%s[:%d]", src.Name(), limit), idx)
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
