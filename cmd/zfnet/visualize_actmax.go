package main

// `visualize actmax`: feature visualization by activation maximization,
// one picture per unit of a layer (deconvnet.ActMax).

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/nn"
	"github.com/zfnet/zfnet/zfnet"
)

func init() {
	registerExperiment("actmax", "feature visualization by activation maximization: one picture per unit of a layer (a grid)", runActMax)
}

func isLinear(l nn.Layer) bool { _, ok := l.(*nn.Linear); return ok }

// actmaxFlags are the flags of `visualize actmax`; the ascent's settings
// go straight into the library's configuration.
type actmaxFlags struct {
	mf                modelFlags
	cfg               deconvnet.ActMaxConfig
	units             intList
	center            bool
	cols, zoom, batch int
	out               string
}

func parseActMaxFlags(args []string) (*actmaxFlags, error) {
	f := &actmaxFlags{}
	fs := newFlags("visualize actmax", "", "Feature visualization by activation maximization (Erhan et al. 2009; Yosinski et al. 2015;\n"+
		"Olah et al. 2017): gradient ascent on the input for each unit of a layer, with L2 decay, blur every few\n"+
		"steps, jitter and clipping of small pixel norms and contributions. Deterministic for a seed. One picture\n"+
		"per unit, in a grid. Needs no data set.")
	f.mf.register(fs)
	def, c := deconvnet.DefaultActMax(""), &f.cfg
	fs.StringVar(&c.Layer, "layer", "", "layer: a convolution (its maps, before the ReLU), a fully connected layer (its units) or the logits "+
		"layer (classes) (default: the logits layer, one picture per class)")
	fs.Var(&f.units, "units", "units (maps, classes) to draw, comma-separated (default: the first 64)")
	fs.BoolVar(&f.center, "center", false, "maximize a map's centre unit instead of the whole map")
	fs.IntVar(&c.Steps, "steps", def.Steps, "ascent steps")
	fs.Float64Var(&c.LR, "lr", def.LR, "step size: mean absolute change of the input per step")
	fs.Float64Var(&c.Decay, "decay", def.Decay, "L2 decay per step")
	fs.IntVar(&c.BlurEvery, "blur-every", def.BlurEvery, "blur every N steps (0: never)")
	fs.Float64Var(&c.BlurSigma, "blur-sigma", def.BlurSigma, "blur sigma in pixels")
	fs.IntVar(&c.Jitter, "jitter", def.Jitter, "largest random shift per step, pixels")
	fs.Float64Var(&c.NormPercentile, "norm-pct", def.NormPercentile, "zero the pixels whose norm is below this percentile (0: off)")
	fs.Float64Var(&c.ContribPercentile, "contrib-pct", def.ContribPercentile, "zero the pixels whose contribution |x . grad| is below this percentile (0: off)")
	fs.Uint64Var(&c.Seed, "seed", def.Seed, "seed of the start and the jitter")
	fs.Float64Var(&c.InitScale, "init-scale", def.InitScale, "standard deviation of the starting noise (0: the mean image)")
	fs.IntVar(&f.cols, "cols", 8, "pictures per row")
	fs.IntVar(&f.zoom, "zoom", 0, "enlargement of the pictures (default: to about 84 pixels)")
	fs.IntVar(&f.batch, "batch", 16, "units optimized together")
	outFlag(fs, &f.out)
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if f.batch < 1 || f.cols < 1 || c.Steps < 0 {
		return nil, fmt.Errorf("--batch and --cols must be positive, --steps not negative")
	}
	if f.zoom < 0 || f.zoom > 64 {
		return nil, fmt.Errorf("--zoom %d: must be between 1 and 64 (0: automatic)", f.zoom)
	}
	return f, nil
}

// fitModel checks --layer against the model and fills in the defaults
// that depend on it: the logits layer, its first 64 units, the zoom.
func (f *actmaxFlags) fitModel(m *zfnet.Model) error {
	if f.cfg.Layer == "" {
		f.cfg.Layer = m.LogitsLayer()
	}
	_, i := m.Layer(f.cfg.Layer)
	if i < 0 {
		return fmt.Errorf("--layer: %s has no layer %q", m.Arch.Name, f.cfg.Layer)
	}
	if in := m.Arch.Input; f.zoom == 0 {
		f.zoom = max(1, 84/max(in[1], in[2]))
	}
	if len(f.units) == 0 {
		n := m.Shape(i)[0]
		if f.cfg.Layer == m.LogitsLayer() {
			n = m.Arch.Classes
		}
		for u := 0; u < min(n, 64); u++ {
			f.units = append(f.units, u)
		}
	}
	f.cfg.Units, f.cfg.WholeMap = f.units, !f.center
	return nil
}

func runActMax(args []string) error {
	f, err := parseActMaxFlags(args)
	if err != nil {
		return err
	}
	l, err := f.mf.load(true)
	if err != nil {
		return err
	}
	if err := f.fitModel(l.Model); err != nil {
		return err
	}
	net, err := deconvnet.New(l.Model, f.batch)
	if err != nil {
		return err
	}
	defer net.Close()
	progress := stageProgress("")
	f.cfg.Progress = func(done, total int) {
		progress("activation maximization of "+f.cfg.Layer+" (unit steps)", done, total)
	}
	r, err := deconvnet.ActMax(net, f.cfg)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	dir, err := f.mf.makeOutDir(f.out)
	if err != nil {
		return err
	}
	name := "actmax-" + f.cfg.Layer + ".png"
	if err := figure.SavePNG(filepath.Join(dir, name), r.Grid(f.cols, f.zoom)); err != nil {
		return err
	}
	item := figure.GalleryItem{File: name, Section: "Feature visualization by activation maximization",
		Title: "What " + f.cfg.Layer + "'s units respond to most", Caption: f.caption(l.Model)}
	if err := figure.WriteGallery(dir, galleryTitle(l), []figure.GalleryItem{item}); err != nil {
		return err
	}
	fmt.Printf("wrote %s (open %s)\n", filepath.Join(dir, name), filepath.Join(dir, "index.html"))
	return nil
}

// caption states the objective and every setting of the ascent.
func (f *actmaxFlags) caption(m *zfnet.Model) string {
	c := f.cfg
	what := "the sum of each feature map"
	if f.center {
		what = "each feature map's centre unit"
	}
	if c.Layer == m.LogitsLayer() {
		what = "each class's logit"
	} else if ly, _ := m.Layer(c.Layer); isLinear(ly) {
		what = "each unit"
	}
	return fmt.Sprintf("Gradient ascent on the input for %s of %s, before the ReLU (units %s): %d steps of mean size %g, L2 decay %g, "+
		"blur sigma %g every %d steps, jitter up to %d pixels, pixels below the %gth percentile of norm and the %gth of contribution "+
		"zeroed, start: noise of sigma %g (seed %d). Each picture is stretched to full contrast; below it, the unit and its final value.",
		what, c.Layer, f.units.String(), c.Steps, c.LR, c.Decay, c.BlurSigma, c.BlurEvery, c.Jitter, c.NormPercentile, c.ContribPercentile, c.InitScale, c.Seed)
}
