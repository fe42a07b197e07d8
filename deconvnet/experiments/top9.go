package experiments

import (
	"container/heap"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"sort"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/zfnet"
)

// The paper's Fig. 2 shows, for a feature map, its nine strongest
// activations over the validation set, each projected to pixel space, beside
// the image patches that caused them. Finding them must not hold the data
// set in memory (60,000 MNIST images, 50,000 ImageNet ones), so the search
// runs in two passes:
//
//  1. Stream the set once in batches. For every image and feature map keep
//     the map's strongest position in that image, and for every map keep
//     the k best (value, image, position) in a min-heap of size k. Memory is
//     k entries per map whatever the set's size. One entry per image and
//     map, as the paper's grids show nine different images: otherwise the
//     nine would often be neighbouring positions of one image.
//  2. Load only the winners' images again, in batches (an image appears once
//     per map it won), run them forward and project every winner from its
//     recorded position, one batched projection per batch.
//
// Projections and patches are cropped to the winner's receptive field.

// Hit is one of a feature map's strongest activations.
type Hit struct {
	Value float32
	Index int // example index in the source
	Label int
	Y, X  int             // position in the layer's output (0, 0 for fully connected layers)
	Field deconvnet.Field // receptive field of the position
	// Projection is the projection cropped to Field.Window: C x h x w with
	// zeros where the window reaches outside the input.
	Projection []float32
	// Patch is the input under Field.Window with the mean added back; the
	// part outside the input is drawn in PatchFill.
	Patch image.Image
}

// PatchFill marks the part of a receptive field that lies outside the
// input (the network's zero padding), so a patch at a border is not
// mistaken for dark image content.
var PatchFill = color.RGBA{64, 80, 112, 255}

// TopK is the result of a top-k search on one layer.
type TopK struct {
	Layer  string
	Source string // the data set's name
	Images int    // examples streamed
	K      int
	Opt    deconvnet.Options
	Maps   []int
	// Hits[i] belongs to map Maps[i], strongest first. A map that fired
	// (activation > 0) on fewer than K images has fewer hits; a map that
	// never fired has none.
	Hits [][]Hit
	// C is the input's channel count; Window the side of a full receptive
	// field (every Hit's Field.Window has it).
	C, Window int
}

// Top9 finds the k (9 in the paper) strongest activations of each of the
// given feature maps of layer (nil: all) over src and projects them. cfg
// configures the loader (preprocessing and mean must be the model's); its
// batch size is the deconvnet's, and augmentation, shuffling and ten crops
// are turned off, since the winners are loaded a second time by index and
// must come out identical. progress, if not nil, hears about examples
// streamed and winners projected.
func Top9(d *deconvnet.Net, src data.Source, cfg data.LoaderConfig, layer string, maps []int, k int, opt deconvnet.Options, progress func(done, total int)) (*TopK, error) {
	ts, err := TopKLayers(d, src, cfg, []string{layer}, [][]int{maps}, k, opt, progress)
	if err != nil {
		return nil, err
	}
	return ts[0], nil
}

// TopKLayers is Top9 for several layers with a single pass over the data:
// maps[i] selects layer i's maps (a nil or short maps means all).
func TopKLayers(d *deconvnet.Net, src data.Source, cfg data.LoaderConfig, layers []string, maps [][]int, k int, opt deconvnet.Options, progress func(done, total int)) ([]*TopK, error) {
	if d == nil || src == nil {
		return nil, errors.New("top-k: nil deconvnet or source")
	}
	if k < 1 {
		return nil, errors.Errorf("top-k: k = %d; expected at least 1", k)
	}
	if len(layers) == 0 {
		return nil, errors.New("top-k: no layers")
	}
	cfg.BatchSize, cfg.Train, cfg.Shuffle, cfg.TenCrop, cfg.DropLast = d.Batch, false, false, false, false
	g := cfg.Pre.Geometry
	if in := d.Model.Arch.Input; g.C != in[0] || g.H != in[1] || g.W != in[2] {
		return nil, errors.Errorf("top-k: the preprocessing makes %v inputs, %s expects %dx%dx%d", g, d.Model.Arch.Name, in[0], in[1], in[2])
	}
	searches := make([]*layerSearch, len(layers))
	want := 0
	for i, l := range layers {
		var m []int
		if i < len(maps) {
			m = maps[i]
		}
		s, err := newLayerSearch(d, l, m, k)
		if err != nil {
			return nil, err
		}
		searches[i] = s
		want += len(s.maps) * k
	}
	report := func(done, total int) {
		if progress != nil {
			progress(done, total)
		}
	}
	seen, err := streamTopK(d, src, cfg, searches, func(seen int) { report(seen, src.Len()+want) })
	if err != nil {
		return nil, err
	}
	results := make([]*TopK, len(searches))
	for i, s := range searches {
		results[i] = &TopK{Layer: s.layer, Source: src.Name(), Images: seen, K: k, Opt: opt, Maps: s.maps,
			Hits: make([][]Hit, len(s.maps)), C: g.C, Window: s.window}
	}
	if err := projectAllWinners(d, src, cfg, searches, results, opt, seen, report); err != nil {
		return nil, err
	}
	for _, r := range results {
		for _, hs := range r.Hits {
			sort.SliceStable(hs, func(a, b int) bool {
				return better(entry{value: hs[a].Value, index: hs[a].Index}, entry{value: hs[b].Value, index: hs[b].Index})
			})
		}
	}
	return results, nil
}

// streamTopK is pass 1: it streams src once, offering every batch to the
// searches' heaps, and returns the number of examples seen; step hears
// that number after each batch.
func streamTopK(d *deconvnet.Net, src data.Source, cfg data.LoaderConfig, searches []*layerSearch, step func(seen int)) (int, error) {
	loader, err := data.NewLoader(src, cfg)
	if err != nil {
		return 0, errors.Wrap(err, "top-k")
	}
	seen := 0
	err = loader.Each(func(b *data.Batch) error {
		if _, err := d.Forward(b.X); err != nil {
			return errors.Wrap(err, "top-k: pass 1")
		}
		for _, s := range searches {
			if err := s.offer(d, b); err != nil {
				return err
			}
		}
		seen += b.Valid
		step(seen)
		return nil
	})
	if err != nil {
		return 0, errors.Wrap(err, "top-k")
	}
	return seen, nil
}

// projectAllWinners is pass 2: every search's winners, in example order,
// projected each from its own image into results' hits (unsorted).
// Projections are batched per layer: one Project call runs one layer's
// graph, so a batch holds winners of one layer only.
func projectAllWinners(d *deconvnet.Net, src data.Source, cfg data.LoaderConfig, searches []*layerSearch, results []*TopK, opt deconvnet.Options, seen int, report func(done, total int)) error {
	var pairs []winner
	for si, s := range searches {
		for mi, h := range s.heaps {
			for _, e := range h.e {
				pairs = append(pairs, winner{search: si, mapPos: mi, e: e})
			}
		}
	}
	sort.Slice(pairs, func(a, b int) bool {
		if pairs[a].e.index != pairs[b].e.index {
			return pairs[a].e.index < pairs[b].e.index
		}
		if pairs[a].search != pairs[b].search {
			return pairs[a].search < pairs[b].search
		}
		return pairs[a].mapPos < pairs[b].mapPos
	})
	done, total := seen, seen+len(pairs)
	report(done, total)
	for si, s := range searches {
		var mine []winner
		for _, p := range pairs {
			if p.search == si {
				mine = append(mine, p)
			}
		}
		if len(mine) == 0 {
			continue
		}
		hits, err := projectWinners(d, src, cfg, s.layer, mine, opt, func(k int) { done += k; report(done, total) })
		if err != nil {
			return err
		}
		for j, p := range mine {
			results[si].Hits[p.mapPos] = append(results[si].Hits[p.mapPos], hits[j])
		}
	}
	return nil
}

// winner is one (layer, map, activation) to project in pass 2.
type winner struct {
	search, mapPos int
	e              entry
}

// projectWinners loads the winners' images (one row per winner, so an image
// that won several maps appears several times) and projects them.
func projectWinners(d *deconvnet.Net, src data.Source, cfg data.LoaderConfig, layer string, ws []winner, opt deconvnet.Options, step func(int)) ([]Hit, error) {
	idx := make([]int, len(ws))
	for i, w := range ws {
		idx[i] = w.e.index
	}
	sub := data.Subset(src, src.Name()+" (top-k winners)", idx)
	loader, err := data.NewLoader(sub, cfg)
	if err != nil {
		return nil, errors.Wrap(err, "top-k: pass 2")
	}
	g := cfg.Pre.Geometry
	size := g.Size()
	hits := make([]Hit, len(ws))
	got := make([]bool, len(ws))
	err = loader.Each(func(b *data.Batch) error {
		if _, err := d.Forward(b.X); err != nil {
			return errors.Wrap(err, "top-k: pass 2")
		}
		targets := make([]deconvnet.Target, b.Valid)
		for r := 0; r < b.Valid; r++ {
			w := ws[b.Indices[r]]
			targets[r] = deconvnet.Target{Map: w.e.fmap, Y: w.e.y, X: w.e.x}
		}
		projs, picked, err := d.ProjectTargets(layer, targets, opt)
		if err != nil {
			return errors.Wrapf(err, "top-k: projecting the winners of %s", layer)
		}
		for r := 0; r < b.Valid; r++ {
			j := b.Indices[r]
			w := ws[j]
			if v, want := picked[r].Value, w.e.value; math.Abs(float64(v-want)) > 1e-3*math.Abs(float64(want))+1e-5 {
				return errors.Errorf("top-k: example %d gives activation %g at %s map %d (%d, %d) on the second pass, %g on the first: the source or preprocessing is not deterministic",
					w.e.index, v, layer, targets[r].Map, w.e.y, w.e.x, want)
			}
			f, err := deconvnet.ReceptiveField(d.Model, layer, w.e.y, w.e.x)
			if err != nil {
				return errors.Wrap(err, "top-k")
			}
			x := b.X[r*size : (r+1)*size]
			hits[j] = Hit{Value: w.e.value, Index: w.e.index, Label: w.e.label, Y: w.e.y, X: w.e.x, Field: f,
				Projection: f.Crop(projs[r], g.C, g.H, g.W),
				Patch:      CropPatch(data.ToImage(x, g, cfg.Mean), f.Window)}
			got[j] = true
		}
		step(b.Valid)
		return nil
	})
	if err != nil {
		return nil, errors.Wrapf(err, "top-k: reloading the winners of %s", layer)
	}
	for j, ok := range got {
		if !ok {
			return nil, errors.Errorf("top-k: example %d of %s could not be read again", ws[j].e.index, src.Name())
		}
	}
	return hits, nil
}

// CropPatch cuts window w (a receptive field's Window, which may reach
// outside the picture) out of img, PatchFill outside img: the input patch
// of a Hit. The result is a new image, w.Dx() x w.Dy(), origin (0, 0).
func CropPatch(img image.Image, w image.Rectangle) image.Image {
	out := image.NewRGBA(image.Rect(0, 0, w.Dx(), w.Dy()))
	draw.Draw(out, out.Bounds(), image.NewUniform(PatchFill), image.Point{}, draw.Src)
	in := w.Intersect(img.Bounds())
	if !in.Empty() {
		draw.Draw(out, in.Sub(w.Min), img, in.Min, draw.Src)
	}
	return out
}

// layerSearch is pass 1's state for one layer.
type layerSearch struct {
	layer  string
	maps   []int
	heaps  []*minHeap
	window int
}

func newLayerSearch(d *deconvnet.Net, layer string, maps []int, k int) (*layerSearch, error) {
	name, err := deconvnet.Resolve(d.Model, layer)
	if err != nil {
		return nil, errors.Wrap(err, "top-k")
	}
	c, err := d.Maps(layer)
	if err != nil {
		return nil, errors.Wrap(err, "top-k")
	}
	if maps == nil {
		maps = make([]int, c)
		for j := range maps {
			maps[j] = j
		}
	}
	seen := map[int]bool{}
	for _, m := range maps {
		if m < 0 || m >= c {
			return nil, errors.Errorf("top-k: layer %s has %d feature maps (0 to %d), asked for map %d", layer, c, c-1, m)
		}
		if seen[m] {
			return nil, errors.Errorf("top-k: map %d of %s asked for twice", m, layer)
		}
		seen[m] = true
	}
	win, err := deconvnet.FieldSize(d.Model, name)
	if err != nil {
		return nil, err
	}
	s := &layerSearch{layer: layer, maps: append([]int(nil), maps...), heaps: make([]*minHeap, len(maps)), window: win}
	for j := range s.heaps {
		s.heaps[j] = &minHeap{k: k}
	}
	return s, nil
}

// offer feeds one forwarded batch to the heaps.
func (s *layerSearch) offer(d *deconvnet.Net, b *data.Batch) error {
	act, err := d.Activation(s.layer)
	if err != nil {
		return errors.Wrap(err, "top-k")
	}
	a := act.Data().([]float32)
	shape := act.Shape()
	c, hw, w := shape[1], 1, 1
	if len(shape) == 4 {
		hw, w = shape[2]*shape[3], shape[3]
	}
	for r := 0; r < b.Valid; r++ {
		for mi, m := range s.maps {
			plane := a[(r*c+m)*hw : (r*c+m+1)*hw]
			// The one ranking rule (zfnet.Argmax): ties to the first
			// position, a NaN activation an error rather than a silent loser.
			best, err := zfnet.Argmax(plane)
			if err != nil {
				return errors.Wrapf(err, "top-k: layer %s, map %d of example %d", s.layer, m, b.Indices[r])
			}
			v := plane[best]
			if !(v > 0) { // a map that does not fire says nothing
				continue
			}
			s.heaps[mi].offer(entry{value: v, index: b.Indices[r], label: b.Labels[r], fmap: m, y: best / w, x: best % w})
		}
	}
	return nil
}

// entry is one candidate activation.
type entry struct {
	value        float32
	index, label int
	fmap, y, x   int
}

// better orders candidates: a larger value wins; on a tie the earlier
// example, so results do not depend on batch boundaries.
func better(a, b entry) bool {
	if a.value != b.value {
		return a.value > b.value
	}
	return a.index < b.index
}

// minHeap keeps the k best entries with the worst at the root, so a new
// candidate is compared with one entry and most are rejected at once.
type minHeap struct {
	k int
	e []entry
}

func (h *minHeap) Len() int           { return len(h.e) }
func (h *minHeap) Less(i, j int) bool { return better(h.e[j], h.e[i]) }
func (h *minHeap) Swap(i, j int)      { h.e[i], h.e[j] = h.e[j], h.e[i] }
func (h *minHeap) Push(x any)         { h.e = append(h.e, x.(entry)) }
func (h *minHeap) Pop() any {
	x := h.e[len(h.e)-1]
	h.e = h.e[:len(h.e)-1]
	return x
}

func (h *minHeap) offer(e entry) {
	if len(h.e) < h.k {
		heap.Push(h, e)
		return
	}
	if better(e, h.e[0]) {
		h.e[0] = e
		heap.Fix(h, 0)
	}
}

// topCell is the side of a rendered cell: small fields are enlarged with
// whole-pixel nearest-neighbour scaling until they are about this big.
const topCell = 56

// MapImage renders map m (a feature map number, one of Maps) as the paper's
// Fig. 2 does: a 3x3 grid (for k = 9) of the projections, strongest first in
// reading order, beside the grid of the matching input patches, under a
// line naming the map. It is nil when m was not searched.
func (t *TopK) MapImage(m int) image.Image {
	i := -1
	for j, mm := range t.Maps {
		if mm == m {
			i = j
		}
	}
	if i < 0 {
		return nil
	}
	win := max(t.Window, 1)
	factor := max(1, (topCell+win-1)/win)
	side := win * factor
	cols := int(math.Ceil(math.Sqrt(float64(t.K))))
	cellBG := color.RGBA{220, 220, 220, 255}
	projs := make([]image.Image, t.K)
	patches := make([]image.Image, t.K)
	for j := range projs {
		projs[j], patches[j] = figure.Blank(side, side, cellBG), figure.Blank(side, side, cellBG)
	}
	for j, h := range t.Hits[i] {
		if j >= t.K {
			break
		}
		wd, ht := h.Field.Window.Dx(), h.Field.Window.Dy()
		projs[j] = figure.Scale(figure.ProjectionImage(h.Projection, t.C, ht, wd), factor)
		patches[j] = figure.Scale(h.Patch, factor)
	}
	left := figure.Grid(projs, cols, 2, cellBG)
	right := figure.Grid(patches, cols, 2, cellBG)
	title := fmt.Sprintf("map %d", m)
	if len(t.Hits[i]) > 0 {
		title += fmt.Sprintf("  max %.3g", t.Hits[i][0].Value)
	} else {
		title += "  (never fired)"
	}
	return figure.Titled(figure.Row([]image.Image{left, right}, 6, figure.Paper), title, figure.Ink)
}

// Sheet tiles the maps' images cols per row (Maps order), the layout of the
// paper's Fig. 2 for one layer.
func (t *TopK) Sheet(cols int) image.Image {
	return t.SheetOf(t.Maps, cols)
}

// SheetOf is Sheet for some of the maps (unknown ones are left out), so a
// layer with many maps can be split over several pages.
func (t *TopK) SheetOf(maps []int, cols int) image.Image {
	var imgs []image.Image
	for _, m := range maps {
		if im := t.MapImage(m); im != nil {
			imgs = append(imgs, im)
		}
	}
	if cols < 1 {
		cols = 1
	}
	return figure.Padded(figure.Grid(imgs, cols, 12, figure.Paper), 4, figure.Paper)
}
