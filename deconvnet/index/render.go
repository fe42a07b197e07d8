package index

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/experiments"
)

// Check says whether ix was built from d's model with cfg's preprocessing
// and mean over src (the same fingerprint, source name and size): an index
// of another model, or of other data, is an error naming what differs.
func (ix *Index) Check(d *deconvnet.Net, src data.Source, cfg data.LoaderConfig) error {
	if fp := Fingerprint(d.Model, cfg.Pre, cfg.Mean); fp != ix.Fingerprint {
		return errors.Errorf("index of %s (%.19s...) does not belong to this model (%s, %.19s...): other weights, preprocessing or mean",
			ix.Arch, ix.Fingerprint, d.Model.Arch.Name, fp)
	}
	if src.Name() != ix.Source || src.Len() != ix.Examples {
		return errors.Errorf("index of %s (%d examples) does not belong to %s (%d examples): give the data it was built over", ix.Source, ix.Examples, src.Name(), src.Len())
	}
	return nil
}

// TopK renders a layer of the index as experiments.TopKLayers does after its
// scan (the paper's Fig. 2): the forward pass runs again only for the
// examples the entries name, each entry is projected from its stored
// position, and the recomputed activation is compared with the stored
// value; a mismatch (beyond float rounding) is reported to warn, as the
// Deep Visualization Toolbox does, and the entry is drawn anyway. maps
// selects units (nil: all). ix must pass Check for d, src and cfg.
func (ix *Index) TopK(d *deconvnet.Net, src data.Source, cfg data.LoaderConfig, layer string, maps []int, opt deconvnet.Options, warn func(string)) (*experiments.TopK, error) {
	if err := ix.Check(d, src, cfg); err != nil {
		return nil, err
	}
	li := ix.LayerIndex(layer)
	if li < 0 {
		return nil, errors.Errorf("the index has no layer %s (it has %s)", layer, joinNames(ix.Layers))
	}
	l := ix.Layers[li]
	if maps == nil {
		maps = make([]int, l.Units)
		for i := range maps {
			maps[i] = i
		}
	}
	for _, m := range maps {
		if m < 0 || m >= l.Units {
			return nil, errors.Errorf("layer %s has %d units (0 to %d), asked for %d", layer, l.Units, l.Units-1, m)
		}
	}
	g := cfg.Pre.Geometry
	out := &experiments.TopK{Layer: l.Name, Source: ix.Source, Images: ix.Examples, K: ix.K, Opt: opt, Maps: slices.Clone(maps),
		Hits: make([][]experiments.Hit, len(maps)), C: g.C, Window: l.Field}
	var ws []indexedHit
	for mi, m := range maps {
		out.Hits[mi] = make([]experiments.Hit, len(ix.Entries[li][m]))
		for j, e := range ix.Entries[li][m] {
			ws = append(ws, indexedHit{mi, j, e})
		}
	}
	if len(ws) == 0 {
		return out, nil
	}
	slices.SortStableFunc(ws, func(a, b indexedHit) int { return a.e.Example - b.e.Example })
	if err := drawHits(d, src, cfg, l, maps, ws, opt, warn, out.Hits); err != nil {
		return nil, err
	}
	return out, nil
}

// indexedHit is entry e, place j of unit maps[mi], to draw.
type indexedHit struct {
	mi, j int
	e     Entry
}

// drawHits runs the examples ws name again (ws in example order), projects
// each entry from its stored position into hits[mi][j], and warns where
// the recomputed activation differs from the stored one.
func drawHits(d *deconvnet.Net, src data.Source, cfg data.LoaderConfig, l Layer, maps []int, ws []indexedHit, opt deconvnet.Options, warn func(string), hits [][]experiments.Hit) error {
	idx := make([]int, len(ws))
	for i, w := range ws {
		idx[i] = w.e.Example
	}
	cfg.BatchSize, cfg.Train, cfg.Shuffle, cfg.TenCrop, cfg.DropLast = d.Batch, false, false, false, false
	loader, err := data.NewLoader(data.Subset(src, src.Name()+" (indexed winners)", idx), cfg)
	if err != nil {
		return errors.Wrap(err, "index")
	}
	g := cfg.Pre.Geometry
	size := g.Size()
	err = loader.Each(func(b *data.Batch) error {
		if _, err := d.Forward(b.X); err != nil {
			return err
		}
		targets := make([]deconvnet.Target, b.Valid)
		for r := range targets {
			w := ws[b.Indices[r]]
			targets[r] = deconvnet.Target{Map: maps[w.mi], Y: w.e.Y, X: w.e.X}
		}
		projs, picked, err := d.ProjectTargets(l.Name, targets, opt)
		if err != nil {
			return err
		}
		for r := range targets {
			w := ws[b.Indices[r]]
			if v, s := picked[r].Value, w.e.Value; math.Abs(float64(v-s)) > 1e-3*math.Abs(float64(s))+1e-5 && warn != nil {
				warn(fmt.Sprintf("%s unit %d: example %d gives %g at (%d, %d) now, the index says %g (changed data or a non-deterministic input pipeline?)",
					l.Name, maps[w.mi], w.e.Example, v, w.e.Y, w.e.X, s))
			}
			f, err := deconvnet.ReceptiveField(d.Model, l.Output, w.e.Y, w.e.X)
			if err != nil {
				return err
			}
			x := b.X[r*size : (r+1)*size]
			hits[w.mi][w.j] = experiments.Hit{Value: w.e.Value, Index: w.e.Example, Label: b.Labels[r], Y: w.e.Y, X: w.e.X, Field: f,
				Projection: f.Crop(projs[r], g.C, g.H, g.W),
				Patch:      experiments.CropPatch(data.ToImage(x, g, cfg.Mean), f.Window)}
		}
		return nil
	})
	return errors.Wrapf(err, "index: reloading the examples of %s", l.Name)
}

func joinNames(ls []Layer) string {
	s := ""
	for i, l := range ls {
		if i > 0 {
			s += ", "
		}
		s += l.Name
	}
	return s
}

// SourceIn finds, in a data set as zfnet opens it, the examples ix was
// built over: its test split, its training split (whole, as zfnet index
// build --split train takes it, or as carved by a run) or the first N of
// one of them (--limit N), matched by name and size.
func (ix *Index) SourceIn(set *data.Set) (data.Source, error) {
	if set == nil {
		return nil, errors.Errorf("index over %s: no data set given to read its examples from", ix.Source)
	}
	base, limit := ix.Source, 0
	if i := strings.LastIndex(base, "[:"); i > 0 && strings.HasSuffix(base, "]") {
		if n, err := strconv.Atoi(base[i+2 : len(base)-1]); err == nil && n > 0 {
			base, limit = base[:i], n
		}
	}
	cands := []data.Source{set.Test, set.Train}
	if set.Val != nil && set.Train != nil && set.Train.Name() == base {
		if whole, err := data.Open(set.Name, data.OpenOptions{}); err == nil {
			cands = append([]data.Source{whole.Train}, cands...)
		}
	}
	for _, c := range cands {
		if c == nil || c.Name() != base {
			continue
		}
		src := c
		if limit > 0 {
			if limit > c.Len() {
				continue
			}
			idx := make([]int, limit)
			for i := range idx {
				idx[i] = i
			}
			src = data.Subset(c, ix.Source, idx)
		}
		if src.Len() == ix.Examples {
			return src, nil
		}
	}
	return nil, errors.Errorf("index over %s (%d examples): %s has no such examples (give the --data or --images it was built over)", ix.Source, ix.Examples, set.Name)
}
