package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/zfnet/zfnet/deconvnet/experiments"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/zfnet"
)

func init() {
	registerExperiment("filters", "layer-1 filters, beside AlexNet's and with/without RMS renormalization (Fig. 6)", runFilters)
}

func runFilters(args []string) error {
	var f deconvFlags
	fs := newFlags("visualize filters", "", "Draws the first layer's filters (each stretched to full contrast), beside another architecture's\n"+
		"(AlexNet by default: untrained with the paper's N(0, 0.01^2) initialization unless --compare-weights),\n"+
		"and as trained versus renormalized to the RMS radius on one shared scale: the paper's Fig. 6.")
	f.register(fs, "", false, false)
	cmpArch := fs.String("compare-arch", "alexnet", "architecture to compare with (empty: none)")
	cmpWeights := fs.String("compare-weights", "", "trained weights or checkpoint of --compare-arch (default: untrained)")
	radius := fs.Float64("radius", 0, "RMS radius for the renormalization view (default: the run's, or the paper's 0.1)")
	seed := fs.Int64("seed", 1, "seed of the untrained comparison model")
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
	name := l.Model.Arch.Name
	s := first.Value.Shape()
	var items []figure.GalleryItem
	const section = "Layer-1 filters (Fig. 6)"

	img, err := figure.FilterImage(first)
	if err != nil {
		return err
	}
	file := "filters-" + name + ".png"
	if err := figure.SavePNG(filepath.Join(out, file), img); err != nil {
		return err
	}
	items = append(items, figure.GalleryItem{File: file, Section: section,
		Title: fmt.Sprintf("%s layer-1 filters: %d of %dx%d, stride %d", name, s[0], s[2], s[3], f.firstStride(l.Model)),
		Caption: fmt.Sprintf("Every filter of %s's first convolution, each stretched on its own from its smallest weight (black) "+
			"to its largest (white)%s. Trained layer-1 filters are edge, blob and stroke detectors.", name, f.colourNote(s[1]))})
	if f.raw {
		if err := f.saveNpy(out, "filters-"+name+".npy", []int(s), first.Data()); err != nil {
			return err
		}
	}

	if *cmpArch != "" {
		other, desc, err := f.compareModel(l, *cmpArch, *cmpWeights, *seed)
		if err != nil {
			return err
		}
		img, err := experiments.CompareFilters(l.Model, other, fmt.Sprintf("%s (trained)", name), fmt.Sprintf("%s (%s)", other.Arch.Name, desc))
		if err != nil {
			return err
		}
		file := fmt.Sprintf("filters-%s-vs-%s.png", name, other.Arch.Name)
		if err := figure.SavePNG(filepath.Join(out, file), img); err != nil {
			return err
		}
		op, _ := other.FirstFilters()
		o := op.Value.Shape()
		caption := fmt.Sprintf("Left: %s's %d layer-1 filters (%dx%d, stride %d). Right: %s's (%s, %dx%d, stride %d). "+
			"The paper's Fig. 6 (c, d): AlexNet's large stride-4 filters mix extremely high and low frequencies and alias, "+
			"several are dead; ZFNet's smaller 7x7 stride-2 filters are cleaner.",
			name, s[0], s[2], s[3], f.firstStride(l.Model), other.Arch.Name, desc, o[2], o[3], f.firstStride(other))
		if *cmpWeights == "" {
			caption += " The comparison model is untrained, so it shows the filter size and the starting noise, not learned features; pass --compare-weights for a trained one."
		}
		items = append(items, figure.GalleryItem{File: file, Section: section, Caption: caption,
			Title: fmt.Sprintf("%s vs %s layer-1 filters", name, other.Arch.Name)})
	}

	r := *radius
	if r <= 0 {
		r = l.Cfg.FilterRadius
	}
	if r <= 0 {
		r = 0.1
	}
	img, before, after, err := experiments.RenormalizationComparison(first, r)
	if err != nil {
		return err
	}
	file = "filters-" + name + "-renorm.png"
	if err := figure.SavePNG(filepath.Join(out, file), img); err != nil {
		return err
	}
	trained := "trained without renormalization"
	if l.Model != nil && l.Cfg.FilterRadius > 0 && f.model.checkpoint != "" {
		trained = fmt.Sprintf("trained with renormalization to %g, so clipping changes little", l.Cfg.FilterRadius)
	} else if f.model.checkpoint == "" {
		trained = "training settings unknown (weights file)"
	}
	items = append(items, figure.GalleryItem{File: file, Section: section,
		Title: fmt.Sprintf("%s layer-1 filters with and without RMS renormalization (radius %g)", name, r),
		Caption: fmt.Sprintf("Both on one shared scale (zero is gray, the largest weight magnitude black or white), so a filter's "+
			"contrast shows its strength. The paper renormalizes every filter whose RMS exceeds a fixed radius back to it, "+
			"which stops a few filters from dominating (Fig. 6 a). This model was %s. As trained: %s. Renormalized: %s.",
			trained, before, after)})

	if err := figure.WriteGallery(out, galleryTitle(l), items); err != nil {
		return err
	}
	for _, it := range items {
		fmt.Printf("wrote %s\n", filepath.Join(out, it.File))
	}
	return nil
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
