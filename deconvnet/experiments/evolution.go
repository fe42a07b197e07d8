package experiments

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/zfnet"
)

// The paper's Fig. 4 follows features through training: for a few feature
// maps, the strongest activation at several epochs, projected. Lower layers
// settle within a few epochs, upper ones only after many; a sudden jump
// means the image giving the strongest activation changed.
//
// A run keeps weight snapshots at chosen epochs (<run>/snapshots/
// epoch-NNN.npz). Evolution copies each snapshot into the model's own
// tensors in turn, so the deconvnet's graphs (bound to those tensors) see
// it without being rebuilt; the model's weights are restored afterwards.

// EvolutionCell is one map at one epoch.
type EvolutionCell struct {
	Value  float32 // the strongest activation over the sample; 0: the map did not fire
	Image  int     // which sample image gave it
	Y, X   int
	Field  deconvnet.Field
	Window int // side of Projection
	// Projection is cropped to Field.Window (zeros outside the input).
	Projection []float32
}

// Evolved is the result of Evolution.
type Evolved struct {
	Layer  string
	Maps   []int
	Epochs []int
	C      int
	// Cells[i][j] is map Maps[i] at epoch Epochs[j].
	Cells [][]EvolutionCell
}

// SnapshotFiles lists a run's weight snapshots (<runDir>/snapshots/
// epoch-NNN.npz, see zfnet.SnapshotName) in epoch order.
func SnapshotFiles(runDir string) (paths []string, epochs []int, err error) {
	dir := filepath.Join(runDir, "snapshots")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, errors.Wrapf(err, "listing the snapshots of %s", runDir)
	}
	re := regexp.MustCompile(`^epoch-(\d+)\.npz$`)
	type snap struct {
		epoch int
		path  string
	}
	var ss []snap
	for _, e := range ents {
		m := re.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		ss = append(ss, snap{n, filepath.Join(dir, e.Name())})
	}
	if len(ss) == 0 {
		return nil, nil, errors.Errorf("%s holds no epoch-NNN.npz snapshots", dir)
	}
	sort.Slice(ss, func(a, b int) bool { return ss[a].epoch < ss[b].epoch })
	for _, s := range ss {
		paths, epochs = append(paths, s.path), append(epochs, s.epoch)
	}
	return paths, epochs, nil
}

// Evolution loads each snapshot (weights files for d's model, epochs[i]
// labels paths[i]) and, for each map of layer, finds its strongest
// activation over the sample and projects it. sample holds n preprocessed
// inputs (n*C*H*W floats). maps nil chooses the (at most) eight maps with
// the strongest activation under the last snapshot. d's model gets its own
// weights back before Evolution returns.
func Evolution(d *deconvnet.Net, paths []string, epochs []int, sample []float32, layer string, maps []int, opt deconvnet.Options) (*Evolved, error) {
	if d == nil {
		return nil, errors.New("evolution: nil deconvnet")
	}
	if len(paths) == 0 || len(paths) != len(epochs) {
		return nil, errors.Errorf("evolution: %d snapshots and %d epochs; expected the same positive number", len(paths), len(epochs))
	}
	in := d.Model.Arch.Input
	size := in[0] * in[1] * in[2]
	if len(sample) == 0 || len(sample)%size != 0 {
		return nil, errors.Errorf("evolution: the sample has %d values, not a positive multiple of one %dx%dx%d input", len(sample), in[0], in[1], in[2])
	}
	name, err := deconvnet.Resolve(d.Model, layer)
	if err != nil {
		return nil, errors.Wrap(err, "evolution")
	}
	nmaps, err := d.Maps(layer)
	if err != nil {
		return nil, errors.Wrap(err, "evolution")
	}
	for _, m := range maps {
		if m < 0 || m >= nmaps {
			return nil, errors.Errorf("evolution: layer %s has %d feature maps (0 to %d), asked for map %d", layer, nmaps, nmaps-1, m)
		}
	}
	// Keep the model's weights to put them back.
	saved := make([][]float32, len(d.Model.Params()))
	for i, p := range d.Model.Params() {
		saved[i] = append([]float32(nil), p.Data()...)
	}
	defer func() {
		for i, p := range d.Model.Params() {
			copy(p.Data(), saved[i])
		}
	}()

	// Pass 1: the strongest activation of every map at every epoch.
	best := make([][]entry, len(paths)) // [epoch][map]
	for j, p := range paths {
		if err := d.Model.LoadWeights(p); err != nil {
			return nil, errors.Wrapf(err, "evolution: epoch %d", epochs[j])
		}
		if best[j], err = strongestPerMap(d, sample, layer, nmaps); err != nil {
			return nil, errors.Wrapf(err, "evolution: epoch %d", epochs[j])
		}
	}
	if maps == nil {
		maps = strongestMaps(best[len(best)-1], 8)
	}
	ev := &Evolved{Layer: layer, Maps: append([]int(nil), maps...), Epochs: append([]int(nil), epochs...), C: in[0],
		Cells: make([][]EvolutionCell, len(maps))}
	for i := range ev.Cells {
		ev.Cells[i] = make([]EvolutionCell, len(paths))
	}
	win, err := deconvnet.FieldSize(d.Model, name)
	if err != nil {
		return nil, err
	}

	// Pass 2: per epoch, project every chosen map's winner.
	for j, p := range paths {
		if err := d.Model.LoadWeights(p); err != nil {
			return nil, errors.Wrapf(err, "evolution: epoch %d", epochs[j])
		}
		if err := ev.projectEpoch(d, j, best[j], sample, name, win, opt); err != nil {
			return nil, errors.Wrapf(err, "evolution: epoch %d", epochs[j])
		}
	}
	return ev, nil
}

// strongestMaps are the (at most n) maps with the strongest activations
// in best (one entry per map), strongest first, ties in map order.
func strongestMaps(best []entry, n int) []int {
	order := make([]int, len(best))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return best[order[a]].value > best[order[b]].value })
	return append([]int(nil), order[:min(n, len(best))]...)
}

// projectEpoch fills column j of ev (the weights of that epoch loaded):
// every chosen map's strongest activation in best (per map, over the
// sample), projected from its image and cropped to its receptive field
// (name: the resolved layer), d.Batch at a time. Maps that did not fire
// keep an empty cell.
func (ev *Evolved) projectEpoch(d *deconvnet.Net, j int, best []entry, sample []float32, name string, win int, opt deconvnet.Options) error {
	in := d.Model.Arch.Input
	size := in[0] * in[1] * in[2]
	var rows []int // map positions (in maps) that fired
	for i, m := range ev.Maps {
		e := best[m]
		ev.Cells[i][j] = EvolutionCell{Value: e.value, Image: e.index, Y: e.y, X: e.x, Window: win}
		if e.value > 0 {
			rows = append(rows, i)
		}
	}
	for start := 0; start < len(rows); start += d.Batch {
		part := rows[start:min(start+d.Batch, len(rows))]
		x := make([]float32, d.Batch*size)
		targets := make([]deconvnet.Target, len(part))
		for r, i := range part {
			e := best[ev.Maps[i]]
			copy(x[r*size:(r+1)*size], sample[e.index*size:(e.index+1)*size])
			targets[r] = deconvnet.Target{Map: ev.Maps[i], Y: e.y, X: e.x}
		}
		if _, err := d.Forward(x); err != nil {
			return err
		}
		projs, _, err := d.ProjectTargets(ev.Layer, targets, opt)
		if err != nil {
			return err
		}
		for r, i := range part {
			c := &ev.Cells[i][j]
			f, err := deconvnet.ReceptiveField(d.Model, name, c.Y, c.X)
			if err != nil {
				return errors.Wrap(err, "evolution")
			}
			c.Field = f
			c.Projection = f.Crop(projs[r], in[0], in[1], in[2])
		}
	}
	return nil
}

// strongestPerMap runs the sample through d and returns, per map, the
// strongest activation (index = sample image); value 0 when it never fired.
func strongestPerMap(d *deconvnet.Net, sample []float32, layer string, nmaps int) ([]entry, error) {
	in := d.Model.Arch.Input
	size := in[0] * in[1] * in[2]
	n := len(sample) / size
	best := make([]entry, nmaps)
	x := make([]float32, d.Batch*size)
	for start := 0; start < n; start += d.Batch {
		valid := min(d.Batch, n-start)
		clear(x)
		copy(x, sample[start*size:(start+valid)*size])
		if _, err := d.Forward(x); err != nil {
			return nil, err
		}
		act, err := d.Activation(layer)
		if err != nil {
			return nil, err
		}
		a := act.Data().([]float32)
		s := act.Shape()
		c, hw, w := s[1], 1, 1
		if len(s) == 4 {
			hw, w = s[2]*s[3], s[3]
		}
		for r := 0; r < valid; r++ {
			for m := 0; m < nmaps; m++ {
				plane := a[(r*c+m)*hw : (r*c+m+1)*hw]
				k, err := zfnet.Argmax(plane)
				if err != nil {
					return nil, errors.Wrapf(err, "map %d of example %d", m, start+r)
				}
				if v := plane[k]; v > best[m].value {
					best[m] = entry{value: v, index: start + r, fmap: m, y: k / w, x: k % w}
				}
			}
		}
	}
	return best, nil
}

// Image lays the result out as the paper's Fig. 4: one row per map, one
// column per epoch (labelled on top), each cell the projection cropped to
// the receptive field and scaled on its own, with the activation's value
// under it. A map that did not fire at an epoch shows an empty cell.
func (ev *Evolved) Image() image.Image {
	win := 1
	for _, row := range ev.Cells {
		for _, c := range row {
			win = max(win, c.Window)
		}
	}
	factor := max(1, (72+win-1)/win)
	side := win * factor
	cellBG := color.RGBA{220, 220, 220, 255}
	labelW := figure.TextWidth(fmt.Sprintf("map %d", 9999)) + 8
	var rows []image.Image
	head := []image.Image{figure.Blank(labelW, figure.LineHeight, figure.Paper)}
	for _, e := range ev.Epochs {
		head = append(head, figure.Titled(figure.Blank(side, 1, figure.Paper), fmt.Sprintf("epoch %d", e), figure.Ink))
	}
	rows = append(rows, figure.Row(head, 4, figure.Paper))
	for i, m := range ev.Maps {
		lab := figure.Blank(labelW, side, figure.Paper)
		figure.Text(lab, 2, side/2-figure.LineHeight/2, fmt.Sprintf("map %d", m), figure.Ink)
		cells := []image.Image{lab}
		for _, c := range ev.Cells[i] {
			var im image.Image = figure.Blank(side, side, cellBG)
			caption := "-"
			if c.Projection != nil {
				im = figure.Scale(figure.ProjectionImage(c.Projection, ev.C, c.Field.Window.Dy(), c.Field.Window.Dx()), factor)
				caption = fmt.Sprintf("%.3g", c.Value)
			}
			cells = append(cells, figure.Captioned(im, caption, figure.Muted))
		}
		rows = append(rows, figure.Row(cells, 4, figure.Paper))
	}
	title := fmt.Sprintf("%s: strongest activation per map, by epoch", ev.Layer)
	return figure.Padded(figure.Titled(figure.Column(rows, 4, figure.Paper), title, figure.Ink), 6, figure.Paper)
}

// SampleInputs reads the first n examples of src through the model's
// preprocessing (cfg as for a test loader) into one slice, the sample that
// Evolution searches.
func SampleInputs(src data.Source, cfg data.LoaderConfig, n int) ([]float32, error) {
	if src == nil || n < 1 {
		return nil, errors.New("sample: need a source and n >= 1")
	}
	n = min(n, src.Len())
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	cfg.Train, cfg.Shuffle, cfg.TenCrop, cfg.DropLast = false, false, false, false
	if cfg.BatchSize < 1 {
		cfg.BatchSize = 64
	}
	loader, err := data.NewLoader(data.Subset(src, src.Name(), idx), cfg)
	if err != nil {
		return nil, errors.Wrap(err, "sample")
	}
	size := cfg.Pre.Geometry.Size()
	out := make([]float32, 0, n*size)
	err = loader.Each(func(b *data.Batch) error {
		out = append(out, b.X[:b.Valid*size]...)
		return nil
	})
	if err != nil {
		return nil, errors.Wrap(err, "sample")
	}
	return out, nil
}
