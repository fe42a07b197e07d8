package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/experiments"
	"github.com/zfnet/zfnet/deconvnet/index"
)

// An activation index (zfnet index build) gives each unit's strongest
// activations over a whole data set; the server reads it once at start
// (--index DIR) and, on a click, projects the unit's top entries with the
// rule the page shows, each from its own image at its recorded position:
// the paper's Fig. 2 for any unit, with no search at click time.

// useIndex reads an index and checks that it was built with the served
// model (weights, preprocessing, mean: its fingerprint) on a set the server
// can load the examples of (the data set's test or training part, or the
// --images folder, whole or its first N).
func (s *server) useIndex(dir string) error {
	ix, err := index.Read(dir)
	if err != nil {
		return err
	}
	m := s.l.Model
	if ix.Arch != m.Arch.Name {
		return fmt.Errorf("--index %s was built for %s; the server's model is %s", dir, ix.Arch, m.Arch.Name)
	}
	if fp := index.Fingerprint(m, s.l.Pre, s.l.Mean); ix.Fingerprint != fp {
		return fmt.Errorf("--index %s was built with other weights, preprocessing or mean image than the server's %s "+
			"(fingerprint %.19s, the model's %.19s): rebuild it with zfnet index build and the same model flags", dir, m.Arch.Name, ix.Fingerprint, fp)
	}
	var cands []data.Source
	if s.l.Set != nil {
		cands = append(cands, s.l.Set.Test, s.l.Set.Train)
	}
	var names []string
	for _, c := range cands {
		if c == nil {
			continue
		}
		names = append(names, c.Name())
		if ix.Source == c.Name() || strings.HasPrefix(ix.Source, c.Name()+"[:") {
			if ix.Examples > c.Len() {
				return fmt.Errorf("--index %s covers %d examples of %s; the set has %d", dir, ix.Examples, ix.Source, c.Len())
			}
			s.ix, s.ixSrc = ix, c
			return nil
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("--index %s indexes %s: give that set (--data or --images) so that its examples can be shown", dir, ix.Source)
	}
	return fmt.Errorf("--index %s indexes %s; the server has %s (give the --data or --images the index was built on)", dir, ix.Source, strings.Join(names, " and "))
}

// indexedTop9 answers a top-9 request from the index; ok is false when the
// index does not hold the layer.
func (s *server) indexedTop9(w http.ResponseWriter, r *http.Request, p projectionRequest) (ok bool, err error) {
	li := s.ix.LayerIndex(p.layer.Name)
	if li < 0 {
		return false, nil
	}
	if u := s.ix.Layers[li].Units; u != p.layer.Maps {
		return true, fmt.Errorf("the index has %d units for %s; the model %d", u, p.layer.Name, p.layer.Maps)
	}
	entries := s.ix.Entries[li][p.unit]
	entries = entries[:min(len(entries), 9)]
	st := newStream(w)
	in3 := s.l.Model.Arch.Input
	win, err := deconvnet.FieldSize(s.l.Model, p.layer.Name)
	if err != nil {
		return true, err
	}
	t := &experiments.TopK{Layer: p.layer.Name, Source: s.ix.Source, Images: s.ix.Examples, K: 9, Opt: p.opt,
		Maps: []int{p.unit}, Hits: [][]experiments.Hit{nil}, C: in3[0], Window: win}
	type hit struct {
		ID    string  `json:"id"`
		Value float32 `json:"value"`
		Label string  `json:"label"`
	}
	hits := []hit{}
	for j, e := range entries {
		key := fmt.Sprintf("d%d", e.Example)
		if s.ixSrc != s.src {
			key = fmt.Sprintf("train%d", e.Example)
		}
		in, err := s.inputOf(r.Context(), s.ixSrc, e.Example, key)
		if err != nil {
			return true, st.finish(err)
		}
		var proj []float32
		err = s.borrow(r.Context(), func(wk *worker) error {
			if err := wk.ensure(in); err != nil {
				return err
			}
			ps, _, err := s.projectOn(wk, p.layer.Name, []deconvnet.Target{{Map: p.unit, Y: e.Y, X: e.X}}, p.opt)
			if err != nil {
				return err
			}
			proj = ps[0]
			return nil
		})
		if err != nil {
			return true, st.finish(err)
		}
		f, err := deconvnet.ReceptiveField(s.l.Model, p.layer.Name, e.Y, e.X)
		if err != nil {
			return true, st.finish(err)
		}
		t.Hits[0] = append(t.Hits[0], experiments.Hit{Value: e.Value, Index: e.Example, Label: in.label, Y: e.Y, X: e.X, Field: f,
			Projection: f.Crop(proj, in3[0], in3[1], in3[2]), Patch: experiments.CropPatch(in.img, f.Window)})
		lab := ""
		if in.label >= 0 {
			lab = s.className(in.label)
		}
		id := key
		if s.ixSrc != s.src {
			id = "" // not browsable: the index is of the training part
		}
		hits = append(hits, hit{id, e.Value, lab})
		if err := st.send(progressLine(fmt.Sprintf("projecting the index's top %d of %s", len(entries), p.layer.Name), j+1, len(entries))); err != nil {
			return true, nil
		}
	}
	url, err := dataURL(t.MapImage(p.unit))
	if err != nil {
		return true, st.finish(err)
	}
	return true, st.finish(st.send(map[string]any{"result": map[string]any{
		"layer": p.layer.Name, "unit": p.unit, "rule": p.ruleName, "images": s.ix.Examples, "hits": hits, "figure": url,
		"index": s.ix.Source,
	}}))
}

// inputOf is example i of src as a model input, cached under key.
func (s *server) inputOf(ctx context.Context, src data.Source, i int, key string) (*serveInput, error) {
	if in, ok := s.inputs.get(key); ok {
		return in, nil
	}
	release, err := s.decoding(ctx)
	if err != nil {
		return nil, err
	}
	base, err := s.l.Pre.Base(src, i)
	release()
	if err != nil {
		return nil, err
	}
	in := s.prepare(key, base)
	in.name = fmt.Sprintf("%s #%d", src.Name(), i)
	s.inputs.put(key, in)
	return in, nil
}

// indexInfo describes the --index for the page (nil without one).
func (s *server) indexInfo() map[string]any {
	if s.ix == nil {
		return nil
	}
	var layers []string
	for _, l := range s.ix.Layers {
		layers = append(layers, l.Name)
	}
	return map[string]any{"source": s.ix.Source, "examples": s.ix.Examples, "k": s.ix.K, "mode": s.ix.Mode, "layers": layers}
}
