package index

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/zfnet"
)

// Merge combines shard indexes into the index of the whole source: the
// same bytes as the unsharded build. The parts must share their header
// (model, data, layers, k, mode, batch) and their ranges must cover the
// source exactly once; overlapping or missing ranges are errors naming them.
func Merge(parts []*Index) (*Index, error) {
	if len(parts) == 0 {
		return nil, errors.New("index merge: no indexes")
	}
	if err := checkCover(parts); err != nil {
		return nil, err
	}
	h := parts[0].Header
	out := &Index{Header: h, Shard: Shard{Index: 0, Count: 1, From: 0, To: h.Examples}}
	examples := map[int]Example{}
	for li, l := range h.Layers {
		ents := make([][]Entry, l.Units)
		boxes := make([][][4]int, l.Units)
		for u := range ents {
			ents[u], boxes[u] = mergeUnit(parts, li, u, h.K)
			for _, e := range ents[u] {
				examples[e.Example] = Example{}
			}
		}
		out.Entries = append(out.Entries, ents)
		out.Boxes = append(out.Boxes, boxes)
	}
	for _, p := range parts {
		for _, e := range p.Referenced {
			if _, ok := examples[e.Index]; ok {
				examples[e.Index] = e
			}
		}
	}
	for _, e := range examples {
		out.Referenced = append(out.Referenced, e)
	}
	slices.SortFunc(out.Referenced, func(a, b Example) int { return a.Index - b.Index })
	if err := out.check(); err != nil {
		return nil, errors.Wrap(err, "index merge")
	}
	return out, nil
}

// checkCover says whether the parts are of one build (the same header)
// and cover its examples exactly once.
func checkCover(parts []*Index) error {
	h := parts[0].Header
	hj, _ := json.Marshal(h)
	for i, p := range parts[1:] {
		pj, _ := json.Marshal(p.Header)
		if !bytes.Equal(hj, pj) {
			return errors.Errorf("index merge: index %d is not of the same build as index 1: %s", i+2, describeDiff(p.Header, p.Shard, h, p.Shard))
		}
	}
	order := make([]int, len(parts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return parts[a].Shard.From - parts[b].Shard.From })
	at := 0
	for _, i := range order {
		s := parts[i].Shard
		switch {
		case s.From > at:
			return errors.Errorf("index merge: no index covers examples [%d, %d) of %d (missing shard?)", at, s.From, h.Examples)
		case s.From < at:
			return errors.Errorf("index merge: index %d (shard %d/%d, examples [%d, %d)) overlaps examples before %d covered by another", i+1, s.Index, s.Count, s.From, s.To, at)
		}
		at = s.To
	}
	if at != h.Examples {
		return errors.Errorf("index merge: no index covers examples [%d, %d) of %d (missing shard?)", at, h.Examples, h.Examples)
	}
	return nil
}

// mergeUnit is the k best entries (with their boxes) of unit u of layer
// li over all the parts, best first.
func mergeUnit(parts []*Index, li, u, k int) ([]Entry, [][4]int) {
	type eb struct {
		e Entry
		b [4]int
	}
	var all []eb
	for _, p := range parts {
		for j, e := range p.Entries[li][u] {
			all = append(all, eb{e, p.Boxes[li][u][j]})
		}
	}
	slices.SortFunc(all, func(a, b eb) int {
		if Better(a.e, b.e) {
			return -1
		}
		if Better(b.e, a.e) {
			return 1
		}
		return 0
	})
	all = all[:min(len(all), k)]
	var ents []Entry
	var boxes [][4]int
	for _, x := range all {
		ents = append(ents, x.e)
		boxes = append(boxes, x.b)
	}
	return ents, boxes
}

// FromSelection makes the index of a complete selection (all of the
// shard's examples offered), as Build does at its end; the Beam pipeline
// uses it after its combine.
func FromSelection(m *zfnet.Model, src data.Source, h Header, shard Shard, sel *Selector) (*Index, error) {
	return finish(m, src, h, shard, sel)
}
