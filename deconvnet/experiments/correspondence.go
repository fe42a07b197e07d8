package experiments

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand"
	"strconv"
	"strings"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/zfnet"
)

// Correspondence (the paper's Table 1): does the network tie a part of an
// object to the same features in different images? The paper occludes the
// same part (say the left eye) in several images of one kind of object and
// compares how the features change: with eps_i = x_i - x~_i the difference
// between the features of image i and of its occluded copy at a layer,
//
//	Delta = sum over pairs i != j of H(sign(eps_i), sign(eps_j)),
//
// H the Hamming distance. A part the network has learned to find everywhere
// changes the same features the same way, so Delta is lower than for
// occluders at random places of the same size.
//
// Normalization (the paper reports values like 0.067 +- 0.007): we divide
// every pair's Hamming distance by the length of the feature vector (the
// fraction of features whose change differs in sign) and report the mean
// over the n(n-1) ordered pairs, +- the standard deviation over those
// pairs; random placements pool the pairs of every trial. The raw sum is
// kept too. sign(0) = 0, so a feature unchanged in one image and changed in
// the other counts as a difference; features that stay zero in both (dead
// ReLUs) count as agreement.

// Part is a named rectangle of the model input, in input pixels, the
// occluded "object part".
type Part struct {
	Name string
	Rect image.Rectangle
}

// String is the part as ParsePart reads it: NAME=X0,Y0,X1,Y1.
func (p Part) String() string {
	r := p.Rect
	return fmt.Sprintf("%s=%d,%d,%d,%d", p.Name, r.Min.X, r.Min.Y, r.Max.X, r.Max.Y)
}

// PartNames are the parts NamedPart knows, for help texts.
const PartNames = "top, bottom, left, right (halves), top-left, top-right, bottom-left, bottom-right (quarters), centre (the middle half in each direction)"

// NamedPart is a preset part of an h x w input.
func NamedPart(name string, h, w int) (Part, error) {
	hh, hw := h/2, w/2
	var r image.Rectangle
	switch name {
	case "top":
		r = image.Rect(0, 0, w, hh)
	case "bottom":
		r = image.Rect(0, h-hh, w, h)
	case "left":
		r = image.Rect(0, 0, hw, h)
	case "right":
		r = image.Rect(w-hw, 0, w, h)
	case "top-left":
		r = image.Rect(0, 0, hw, hh)
	case "top-right":
		r = image.Rect(w-hw, 0, w, hh)
	case "bottom-left":
		r = image.Rect(0, h-hh, hw, h)
	case "bottom-right":
		r = image.Rect(w-hw, h-hh, w, h)
	case "centre", "center":
		r = image.Rect(w/4, h/4, w/4+hw, h/4+hh)
	default:
		return Part{}, errors.Errorf("unknown part %q: expected one of %s, or NAME=X0:Y0:X1:Y1", name, PartNames)
	}
	if r.Empty() {
		return Part{}, errors.Errorf("part %q of a %dx%d input is empty", name, h, w)
	}
	return Part{Name: name, Rect: r}, nil
}

// ParsePart reads a preset name (see NamedPart) or NAME=X0,Y0,X1,Y1, a
// rectangle with X0 <= x < X1, Y0 <= y < Y1 inside an h x w input; colons
// may replace the commas (on a command line where commas separate parts).
func ParsePart(s string, h, w int) (Part, error) {
	s = strings.TrimSpace(s)
	name, spec, ok := strings.Cut(s, "=")
	if !ok {
		return NamedPart(s, h, w)
	}
	f := strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == ':' })
	if name == "" || len(f) != 4 {
		return Part{}, errors.Errorf("part %q: expected NAME=X0:Y0:X1:Y1", s)
	}
	var v [4]int
	for i, x := range f {
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return Part{}, errors.Errorf("part %q: %q is not an integer", s, x)
		}
		v[i] = n
	}
	r := image.Rect(v[0], v[1], v[2], v[3])
	if v[0] >= v[2] || v[1] >= v[3] || !r.In(image.Rect(0, 0, w, h)) {
		return Part{}, errors.Errorf("part %q: the rectangle must be non-empty and inside the %dx%d input (X0 < X1 <= %d, Y0 < Y1 <= %d)", s, h, w, w, h)
	}
	return Part{Name: name, Rect: r}, nil
}

// Signs is sign(eps) per feature: -1, 0 or +1.
func Signs(eps []float32) []int8 {
	s := make([]int8, len(eps))
	for i, v := range eps {
		switch {
		case v > 0:
			s[i] = 1
		case v < 0:
			s[i] = -1
		}
	}
	return s
}

// Hamming counts the positions where a and b differ.
func Hamming(a, b []int8) (int, error) {
	if len(a) != len(b) {
		return 0, errors.Errorf("hamming distance of vectors of length %d and %d", len(a), len(b))
	}
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n, nil
}

// DeltaStat is the consistency of one set of sign vectors.
type DeltaStat struct {
	Features int     // length of each sign vector
	Pairs    int     // ordered pairs i != j
	Sum      int     // the paper's Delta: the sum of their Hamming distances
	Mean     float64 // mean over pairs of Hamming distance / Features
	Std      float64 // standard deviation of the same over pairs
}

// Delta computes the paper's Delta over all ordered pairs i != j of sign
// vectors (see the package's correspondence notes for the normalization).
func Delta(signs [][]int8) (DeltaStat, error) {
	ds, st, err := pairDistances(signs)
	if err != nil {
		return DeltaStat{}, err
	}
	st.Mean, st.Std = meanStd(ds)
	return st, nil
}

// pairDistances lists the normalized Hamming distance of every ordered pair.
func pairDistances(signs [][]int8) ([]float64, DeltaStat, error) {
	if len(signs) < 2 {
		return nil, DeltaStat{}, errors.Errorf("delta needs at least 2 sign vectors, got %d", len(signs))
	}
	st := DeltaStat{Features: len(signs[0])}
	if st.Features == 0 {
		return nil, st, errors.New("delta of empty sign vectors")
	}
	var ds []float64
	for i := range signs {
		for j := range signs {
			if i == j {
				continue
			}
			h, err := Hamming(signs[i], signs[j])
			if err != nil {
				return nil, st, errors.Wrapf(err, "delta, images %d and %d", i, j)
			}
			st.Sum += h
			st.Pairs++
			ds = append(ds, float64(h)/float64(st.Features))
		}
	}
	return ds, st, nil
}

func meanStd(v []float64) (float64, float64) {
	if len(v) == 0 {
		return 0, 0
	}
	var s, ss float64
	for _, x := range v {
		s += x
	}
	m := s / float64(len(v))
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(v)))
}

// CorrespondenceConfig chooses the parts, layers and random baseline.
type CorrespondenceConfig struct {
	Parts []Part
	// Layers compared; empty means the top convolutional stage's output
	// (pool5, the paper's layer 5) and the model's PenultimateLayer (fc7, layer 7).
	Layers []string
	// Fill is the occluder's value in model input space (0: the mean).
	Fill float32
	// RandomTrials is how many random placements per image make the
	// baseline (default 5); Seed fixes them.
	RandomTrials int
	Seed         int64
}

// CorrespondenceRow is one part: Delta at each layer when the part is
// occluded, and for occluders of the same size at random places.
type CorrespondenceRow struct {
	Part          Part
	Delta, Random []DeltaStat // by layer
	// RandomRects[t][i] is where trial t occluded image i.
	RandomRects [][]image.Rectangle
}

// CorrespondenceResult is Table 1.
type CorrespondenceResult struct {
	Layers []string
	Images int
	Trials int
	Rows   []CorrespondenceRow
}

// Correspondence occludes every part in every input (model inputs, C x H x W
// each, preprocessed; several images of one class) and, for the baseline,
// same-sized rectangles at random places, and computes Delta per layer.
func Correspondence(net *deconvnet.Net, inputs [][]float32, cfg CorrespondenceConfig) (*CorrespondenceResult, error) {
	if net == nil {
		return nil, errors.New("correspondence: no network")
	}
	if err := cfg.check(net.Model, inputs); err != nil {
		return nil, err
	}
	res := &CorrespondenceResult{Layers: cfg.Layers, Images: len(inputs), Trials: cfg.RandomTrials}
	rects := res.place(cfg, net.Model.Arch.Input)
	signs, err := occlusionSigns(net, inputs, cfg.Layers, rects, cfg.Fill)
	if err != nil {
		return nil, err
	}
	if err := res.deltas(signs); err != nil {
		return nil, err
	}
	return res, nil
}

// check validates cfg for m and the inputs, filling in the default
// trials and layers.
func (cfg *CorrespondenceConfig) check(m *zfnet.Model, inputs [][]float32) error {
	in := m.Arch.Input
	c, h, w := in[0], in[1], in[2]
	if len(inputs) < 2 {
		return errors.Errorf("correspondence: needs at least 2 images, got %d", len(inputs))
	}
	for i, x := range inputs {
		if len(x) != c*h*w {
			return errors.Errorf("correspondence: image %d has %d values, %s takes %dx%dx%d", i, len(x), m.Arch.Name, c, h, w)
		}
	}
	if len(cfg.Parts) == 0 {
		return errors.New("correspondence: no parts to occlude")
	}
	for _, p := range cfg.Parts {
		if p.Rect.Empty() || !p.Rect.In(image.Rect(0, 0, w, h)) {
			return errors.Errorf("correspondence: part %v is empty or outside the %dx%d input", p, h, w)
		}
	}
	if f := float64(cfg.Fill); math.IsNaN(f) || math.IsInf(f, 0) {
		return errors.Errorf("correspondence: fill value %g must be finite", cfg.Fill)
	}
	if cfg.RandomTrials < 0 {
		return errors.Errorf("correspondence: %d random trials", cfg.RandomTrials)
	}
	if cfg.RandomTrials == 0 {
		cfg.RandomTrials = 5
	}
	if len(cfg.Layers) == 0 {
		cfg.Layers = []string{m.TopConvOutput(), m.PenultimateLayer()}
	}
	for _, l := range cfg.Layers {
		if _, err := deconvnet.Resolve(m, l); err != nil {
			return errors.Wrap(err, "correspondence")
		}
	}
	return nil
}

// place adds a row per part to r and returns the groups of occluders:
// rects[g][i] is the occluder of image i in group g, one group per part
// (the part everywhere), then r.Trials groups per part of same-sized
// rectangles at random places (cfg.Seed's), drawn part after part.
func (r *CorrespondenceResult) place(cfg CorrespondenceConfig, in [3]int) [][]image.Rectangle {
	h, w := in[1], in[2]
	n, T, P := r.Images, r.Trials, len(cfg.Parts)
	rng := rand.New(rand.NewSource(cfg.Seed))
	rects := make([][]image.Rectangle, P*(1+T))
	for p, part := range cfg.Parts {
		row := CorrespondenceRow{Part: part}
		rects[p] = make([]image.Rectangle, n)
		for i := range rects[p] {
			rects[p][i] = part.Rect
		}
		sz := part.Rect.Size()
		for t := 0; t < T; t++ {
			g := P + p*T + t
			rects[g] = make([]image.Rectangle, n)
			for i := range rects[g] {
				x0, y0 := rng.Intn(w-sz.X+1), rng.Intn(h-sz.Y+1)
				rects[g][i] = image.Rect(x0, y0, x0+sz.X, y0+sz.Y)
			}
			row.RandomRects = append(row.RandomRects, rects[g])
		}
		r.Rows = append(r.Rows, row)
	}
	return rects
}

// occlusionSigns runs the inputs, then every group of occluded copies,
// and returns signs[g][l][i]: the sign of the change of layer l's features
// of image i when group g occludes it (fill in model input space).
func occlusionSigns(net *deconvnet.Net, inputs [][]float32, layers []string, rects [][]image.Rectangle, fill float32) ([][][][]int8, error) {
	in := net.Model.Arch.Input
	c, h, w := in[0], in[1], in[2]
	n, L := len(inputs), len(layers)
	orig := make([][][]float32, L)          // [layer][image]
	signs := make([][][][]int8, len(rects)) // [group][layer][image]
	for g := range signs {
		signs[g] = make([][][]int8, L)
		for l := range signs[g] {
			signs[g][l] = make([][]int8, n)
		}
	}
	for l := range orig {
		orig[l] = make([][]float32, n)
	}
	total := n * (1 + len(rects))
	input := func(k int, dst []float32) error {
		img := k % n
		copy(dst, inputs[img])
		if k >= n {
			fillRect(dst, c, h, w, rects[k/n-1][img], fill)
		}
		return nil
	}
	visit := func(k, slot int, _ []float32) error {
		img := k % n
		for l, layer := range layers {
			row, err := net.ActivationRow(layer, slot)
			if err != nil {
				return err
			}
			if k < n {
				orig[l][img] = append([]float32(nil), row...)
				continue
			}
			eps := make([]float32, len(row))
			for f := range row {
				eps[f] = orig[l][img][f] - row[f]
			}
			signs[k/n-1][l][img] = Signs(eps)
		}
		return nil
	}
	if err := net.ForwardEach(total, input, visit); err != nil {
		return nil, errors.Wrap(err, "correspondence")
	}
	return signs, nil
}

// deltas fills every row's Delta per layer for its part (signs group p)
// and for its random placements (pooled over the trials' groups).
func (r *CorrespondenceResult) deltas(signs [][][][]int8) error {
	T, P := r.Trials, len(r.Rows)
	for p := range r.Rows {
		row := &r.Rows[p]
		for l := range r.Layers {
			st, err := Delta(signs[p][l])
			if err != nil {
				return errors.Wrapf(err, "correspondence, part %s", row.Part.Name)
			}
			row.Delta = append(row.Delta, st)
			var all []float64
			var rs DeltaStat
			for t := 0; t < T; t++ {
				ds, st, err := pairDistances(signs[P+p*T+t][l])
				if err != nil {
					return errors.Wrapf(err, "correspondence, random parts like %s", row.Part.Name)
				}
				all = append(all, ds...)
				rs.Features, rs.Pairs, rs.Sum = st.Features, rs.Pairs+st.Pairs, rs.Sum+st.Sum
			}
			rs.Mean, rs.Std = meanStd(all)
			row.Random = append(row.Random, rs)
		}
	}
	return nil
}

// fillRect sets rectangle r (clipped) of every channel of x to v.
func fillRect(x []float32, c, h, w int, r image.Rectangle, v float32) {
	r = r.Intersect(image.Rect(0, 0, w, h))
	for ch := 0; ch < c; ch++ {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := x[(ch*h+y)*w : (ch*h+y+1)*w]
			for xx := r.Min.X; xx < r.Max.X; xx++ {
				row[xx] = v
			}
		}
	}
}

// Occluded returns a copy of input x (C x H x W) with rectangle r set to
// fill, as the correspondence experiment feeds it.
func Occluded(x []float32, c, h, w int, r image.Rectangle, fill float32) []float32 {
	out := append([]float32(nil), x...)
	if len(out) == c*h*w {
		fillRect(out, c, h, w, r, fill)
	}
	return out
}

// CorrespondenceNote states the normalization, for captions and tables.
const CorrespondenceNote = "Delta = sum over ordered pairs i != j of Hamming(sign(eps_i), sign(eps_j)), " +
	"eps_i = features(image i) - features(image i occluded). Shown: Hamming distance / feature count, " +
	"mean +- std over the n(n-1) pairs (random: pooled over all trials). Lower = more consistent."

func (r *CorrespondenceResult) cells() ([]string, [][]string) {
	head := []string{"Occluded part", "Rectangle"}
	for _, l := range r.Layers {
		head = append(head, "Delta "+l, "Delta "+l+" random")
	}
	var rows [][]string
	for _, row := range r.Rows {
		rr := row.Part.Rect
		cells := []string{row.Part.Name, fmt.Sprintf("x %d-%d, y %d-%d", rr.Min.X, rr.Max.X, rr.Min.Y, rr.Max.Y)}
		for l := range r.Layers {
			cells = append(cells, fmt.Sprintf("%.3f +- %.3f", row.Delta[l].Mean, row.Delta[l].Std),
				fmt.Sprintf("%.3f +- %.3f", row.Random[l].Mean, row.Random[l].Std))
		}
		rows = append(rows, cells)
	}
	return head, rows
}

// Markdown renders the table with its normalization stated.
func (r *CorrespondenceResult) Markdown() string {
	head, rows := r.cells()
	var b strings.Builder
	fmt.Fprintf(&b, "Correspondence (Table 1 of Zeiler & Fergus 2014): %d images, %d random placements per image.\n\n", r.Images, r.Trials)
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for range head {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, row := range rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	b.WriteString("\n" + CorrespondenceNote + "\n")
	return b.String()
}

// TableImage draws the table as a picture (x/image's 7x13 fixed font):
// part rows, a pair of columns per layer with the random baseline beside
// the part's value; the lower of each pair is printed in bold colour.
func (r *CorrespondenceResult) TableImage() image.Image {
	head, rows := r.cells()
	const padX, padY, margin = 10, 5, 12
	lineH := figure.TextHeight + 2*padY
	widths := make([]int, len(head))
	for j, hcell := range head {
		widths[j] = figure.TextWidth(hcell) + 2*padX
		for _, row := range rows {
			widths[j] = max(widths[j], figure.TextWidth(row[j])+2*padX)
		}
	}
	tw := 0
	for _, wd := range widths {
		tw += wd
	}
	title := fmt.Sprintf("Correspondence (Table 1): %d images, %d random placements each", r.Images, r.Trials)
	notes := figure.WrapText(CorrespondenceNote, max(tw, 400)/7)
	width := 2*margin + max(tw, figure.TextWidth(title))
	height := 2*margin + figure.TextHeight + 8 + lineH*(1+len(rows)) + 8 + len(notes)*(figure.TextHeight+2)
	out := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	figure.Text(out, margin, margin, title, color.Black)
	y := margin + figure.TextHeight + 8
	grid := color.RGBA{170, 170, 170, 255}
	draw.Draw(out, image.Rect(margin, y, margin+tw, y+lineH), image.NewUniform(color.RGBA{230, 230, 236, 255}), image.Point{}, draw.Src)
	good := color.RGBA{0, 110, 40, 255}
	for i := 0; i <= len(rows); i++ {
		cells := head
		if i > 0 {
			cells = rows[i-1]
		}
		x := margin
		for j, cell := range cells {
			col := color.Color(color.Black)
			if i > 0 && j >= 2 {
				l, random := (j-2)/2, (j-2)%2 == 1
				d, rd := r.Rows[i-1].Delta[l].Mean, r.Rows[i-1].Random[l].Mean
				if (!random && d < rd) || (random && rd < d) {
					col = good
				}
			}
			figure.Text(out, x+padX, y+padY, cell, col)
			x += widths[j]
		}
		y += lineH
	}
	top := margin + figure.TextHeight + 8
	for i := 0; i <= len(rows)+1; i++ {
		yy := top + i*lineH
		draw.Draw(out, image.Rect(margin, yy, margin+tw, yy+1), image.NewUniform(grid), image.Point{}, draw.Src)
	}
	x := margin
	for j := 0; j <= len(widths); j++ {
		draw.Draw(out, image.Rect(x, top, x+1, top+lineH*(1+len(rows))+1), image.NewUniform(grid), image.Point{}, draw.Src)
		if j < len(widths) {
			x += widths[j]
		}
	}
	y += 8
	for _, l := range notes {
		figure.Text(out, margin, y, l, color.RGBA{60, 60, 60, 255})
		y += figure.TextHeight + 2
	}
	return out
}

// CorrespondenceExamples shows what the network was given: for every part a
// row of the images with the part occluded, followed by a row with the
// first random placement of the same size; each row is labelled on the
// left. inputs, g and fill are those of Correspondence; mean is added back
// for display (nil: none); scale enlarges the pictures.
func CorrespondenceExamples(r *CorrespondenceResult, inputs [][]float32, g data.Geometry, mean *data.Mean, fill float32, scale int) (image.Image, error) {
	if r == nil || len(r.Rows) == 0 {
		return nil, errors.New("correspondence examples: no result")
	}
	if len(inputs) != r.Images {
		return nil, errors.Errorf("correspondence examples: %d inputs for a result on %d images", len(inputs), r.Images)
	}
	scale = max(1, scale)
	type row struct {
		label string
		imgs  []image.Image
	}
	var rows []row
	for _, cr := range r.Rows {
		part := row{label: cr.Part.Name}
		random := row{label: "random"}
		for i, x := range inputs {
			if len(x) != g.Size() {
				return nil, errors.Errorf("correspondence examples: input %d has %d values, expected %v", i, len(x), g)
			}
			part.imgs = append(part.imgs, figure.Scale(data.ToImage(Occluded(x, g.C, g.H, g.W, cr.Part.Rect, fill), g, mean), scale))
			if len(cr.RandomRects) > 0 {
				random.imgs = append(random.imgs, figure.Scale(data.ToImage(Occluded(x, g.C, g.H, g.W, cr.RandomRects[0][i], fill), g, mean), scale))
			}
		}
		rows = append(rows, part)
		if len(random.imgs) > 0 {
			rows = append(rows, random)
		}
	}
	labelW := 0
	for _, rw := range rows {
		labelW = max(labelW, figure.TextWidth(rw.label))
	}
	labelW += 10
	cw, ch, pad := g.W*scale, g.H*scale, 3
	width := labelW + len(inputs)*(cw+pad) + pad
	height := len(rows)*(ch+pad) + pad
	out := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	for k, rw := range rows {
		y := pad + k*(ch+pad)
		figure.Text(out, 4, y+(ch-figure.TextHeight)/2, rw.label, color.Black)
		for i, im := range rw.imgs {
			x := labelW + pad + i*(cw+pad)
			draw.Draw(out, image.Rect(x, y, x+cw, y+ch), im, im.Bounds().Min, draw.Src)
		}
	}
	return out, nil
}
