package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/zfnet/zfnet/deconvnet/experiments"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/nn"
	"github.com/zfnet/zfnet/zfnet"
)

func init() {
	registerExperiment("filters", "layer-1 filters, beside AlexNet's and with/without RMS renormalization (Fig. 6)", runFilters)
}

// filtersFlags are the flags of `visualize filters`.
type filtersFlags struct {
	deconvFlags
	cmpArch, cmpWeights string
	radius              float64
	seed                int64
}

const filtersSection = "Layer-1 filters (Fig. 6)"

func runFilters(args []string) error {
	f := &filtersFlags{}
	fs := newFlags("visualize filters", "", "Draws the first layer's filters (each stretched to full contrast), beside another architecture's\n"+
		"(AlexNet by default: untrained with the paper's N(0, 0.01^2) initialization unless --compare-weights),\n"+
		"and as trained versus renormalized to the RMS radius on one shared scale: the paper's Fig. 6.")
	f.register(fs, "", false, false)
	fs.StringVar(&f.cmpArch, "compare-arch", "alexnet", "architecture to compare with (empty: none)")
	fs.StringVar(&f.cmpWeights, "compare-weights", "", "trained weights or checkpoint of --compare-arch (default: untrained)")
	fs.Float64Var(&f.radius, "radius", 0, "RMS radius for the renormalization view (default: the run's, or the paper's 0.1)")
	fs.Int64Var(&f.seed, "seed", 1, "seed of the untrained comparison model")
	if err := parse(fs, args); err != nil {
		return err
	}
	l, err := f.model.load(true)
	if err != nil {
		return err
	}
	first, err := l.Model.FirstFilters()
	if err != nil {
		return err
	}
	out := f.outDir()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var items []figure.GalleryItem
	for _, draw := range []func(*loaded, *nn.Param, string) (*figure.GalleryItem, error){f.filters, f.comparison, f.renormalization} {
		it, err := draw(l, first, out)
		if err != nil {
			return err
		}
		if it != nil {
			items = append(items, *it)
		}
	}
	if err := figure.WriteGallery(out, galleryTitle(l), items); err != nil {
		return err
	}
	for _, it := range items {
		fmt.Printf("wrote %s\n", filepath.Join(out, it.File))
	}
	return nil
}

// filters draws the model's layer-1 filters (and with --raw saves them).
func (f *filtersFlags) filters(l *loaded, first *nn.Param, out string) (*figure.GalleryItem, error) {
	name := l.Model.Arch.Name
	s := first.Value.Shape()
	img, err := figure.FilterImage(first)
	if err != nil {
		return nil, err
	}
	file := "filters-" + name + ".png"
	if err := figure.SavePNG(filepath.Join(out, file), img); err != nil {
		return nil, err
	}
	if f.raw {
		if err := f.saveNpy(out, "filters-"+name+".npy", []int(s), first.Data()); err != nil {
			return nil, err
		}
	}
	return &figure.GalleryItem{File: file, Section: filtersSection,
		Title: fmt.Sprintf("%s layer-1 filters: %d of %dx%d, stride %d", name, s[0], s[2], s[3], f.firstStride(l.Model)),
		Caption: fmt.Sprintf("Every filter of %s's first convolution, each stretched on its own from its smallest weight (black) "+
			"to its largest (white)%s. Trained layer-1 filters are edge, blob and stroke detectors.", name, f.colourNote(s[1]))}, nil
}

// comparison draws the model's layer-1 filters beside --compare-arch's
// (nil without one).
func (f *filtersFlags) comparison(l *loaded, first *nn.Param, out string) (*figure.GalleryItem, error) {
	if f.cmpArch == "" {
		return nil, nil
	}
	name := l.Model.Arch.Name
	s := first.Value.Shape()
	other, desc, err := f.compareModel(l, f.cmpArch, f.cmpWeights, f.seed)
	if err != nil {
		return nil, err
	}
	img, err := experiments.CompareFilters(l.Model, other, fmt.Sprintf("%s (trained)", name), fmt.Sprintf("%s (%s)", other.Arch.Name, desc))
	if err != nil {
		return nil, err
	}
	file := fmt.Sprintf("filters-%s-vs-%s.png", name, other.Arch.Name)
	if err := figure.SavePNG(filepath.Join(out, file), img); err != nil {
		return nil, err
	}
	op, _ := other.FirstFilters()
	o := op.Value.Shape()
	caption := fmt.Sprintf("Left: %s's %d layer-1 filters (%dx%d, stride %d). Right: %s's (%s, %dx%d, stride %d). "+
		"The paper's Fig. 6 (c, d): AlexNet's large stride-4 filters mix extremely high and low frequencies and alias, "+
		"several are dead; ZFNet's smaller 7x7 stride-2 filters are cleaner.",
		name, s[0], s[2], s[3], f.firstStride(l.Model), other.Arch.Name, desc, o[2], o[3], f.firstStride(other))
	if f.cmpWeights == "" {
		caption += " The comparison model is untrained, so it shows the filter size and the starting noise, not learned features; pass --compare-weights for a trained one."
	}
	return &figure.GalleryItem{File: file, Section: filtersSection, Caption: caption,
		Title: fmt.Sprintf("%s vs %s layer-1 filters", name, other.Arch.Name)}, nil
}

// renormalization draws the filters as trained and renormalized to the
// radius (--radius, else the run's, else the paper's 0.1).
func (f *filtersFlags) renormalization(l *loaded, first *nn.Param, out string) (*figure.GalleryItem, error) {
	name := l.Model.Arch.Name
	r := f.radius
	if r <= 0 {
		r = l.Cfg.FilterRadius
	}
	if r <= 0 {
		r = 0.1
	}
	img, before, after, err := experiments.RenormalizationComparison(first, r)
	if err != nil {
		return nil, err
	}
	file := "filters-" + name + "-renorm.png"
	if err := figure.SavePNG(filepath.Join(out, file), img); err != nil {
		return nil, err
	}
	trained := "trained without renormalization"
	if l.Model != nil && l.Cfg.FilterRadius > 0 && f.model.checkpoint != "" {
		trained = fmt.Sprintf("trained with renormalization to %g, so clipping changes little", l.Cfg.FilterRadius)
	} else if f.model.checkpoint == "" {
		trained = "training settings unknown (weights file)"
	}
	return &figure.GalleryItem{File: file, Section: filtersSection,
		Title: fmt.Sprintf("%s layer-1 filters with and without RMS renormalization (radius %g)", name, r),
		Caption: fmt.Sprintf("Both on one shared scale (zero is gray, the largest weight magnitude black or white), so a filter's "+
			"contrast shows its strength. The paper renormalizes every filter whose RMS exceeds a fixed radius back to it, "+
			"which stops a few filters from dominating (Fig. 6 a). This model was %s. As trained: %s. Renormalized: %s.",
			trained, before, after)}, nil
}

// firstStride is the stride of a model's first convolution.
func (f *deconvFlags) firstStride(m *zfnet.Model) int {
	if len(m.Arch.Convs) == 0 {
		return 0
	}
	return m.Arch.Convs[0].Stride
}

func (f *deconvFlags) colourNote(channels int) string {
	if channels == 3 {
		return "; the three colour channels are scaled together, so hues are the filter's"
	}
	return ""
}

// compareModel builds the comparison architecture for the model's input
// channels: at the data's input size when it fits there, else at its own
// (AlexNet's stride-4 stack does not fit 28x28). Untrained, only its
// classifier is kept small: the first layer is what is compared.
func (f *deconvFlags) compareModel(l *loaded, arch, weights string, seed int64) (*zfnet.Model, string, error) {
	a, err := zfnet.LookupArch(arch)
	if err != nil {
		return nil, "", err
	}
	in := l.Model.Arch.Input
	candidates := []zfnet.Arch{a.WithInput(in[0], in[1], in[2], l.Model.Arch.Classes), a.WithInput(in[0], 0, 0, l.Model.Arch.Classes)}
	var problems []string
	for _, c := range candidates {
		if weights != "" {
			m, _, err := zfnet.LoadModel(weights, c)
			if err == nil {
				return m, "trained: " + filepath.Base(weights), nil
			}
			problems = append(problems, err.Error())
			continue
		}
		c.FCs = []zfnet.FC{{Out: 0}}
		m, err := zfnet.New(c)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if err := m.Initialize(zfnet.InitPaper, seed); err != nil {
			return nil, "", err
		}
		return m, "untrained, paper init", nil
	}
	return nil, "", fmt.Errorf("comparison model %s: %s", arch, strings.Join(problems, "; "))
}
