package deconvnet

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/zfnet"
)

// Occlusion variants. The paper (section 4.2, Fig. 7) slides a gray
// square (the mean) over the image; what the square is filled with and
// whether it hides a window or everything but one change what the map
// says, so the variants here make both choices explicit: the fill is any
// picture of the input's size in model input space (its pixels replace the
// occluded ones: the mean image is zeros, a black or gray picture is the
// preprocessing of one, a blur is GaussianBlur of the input), and Keep
// turns the occluder inside out (only the window is seen, as in
// Zintgraf et al.'s and Fong & Vedaldi's "preservation" game). The map is
// the class's probability and logit at each position.

// OcclusionMapConfig sets the window and the fill.
type OcclusionMapConfig struct {
	Size   int // side of the square window, input pixels
	Stride int // step between window positions, pixels
	// Fill (C x H x W, model input space) supplies the occluded pixels;
	// nil means zeros (the mean image, the paper's gray). FillName names it
	// in captions ("mean", "black", "gray", "blur").
	Fill     []float32
	FillName string
	// Keep occludes everything except the window instead of the window.
	Keep bool
	// Class is the class watched; negative: the predicted one.
	Class int
	// Progress, if not nil, is called after each batch with the positions
	// done and their total.
	Progress func(done, total int)
}

// OcclusionMapResult is the class's score for every window position.
// Position (r, c) of the Rows x Cols grid centres the window on input
// pixel (r*Stride + Stride/2, c*Stride + Stride/2) (OccluderWindow).
type OcclusionMapResult struct {
	Config     OcclusionMapConfig
	Class      int
	Rows, Cols int
	// Prob and Logit are the class's probability and logit by position;
	// Clean* on the unoccluded input.
	Prob, Logit           []float64
	CleanProb, CleanLogit float64
	Input                 []float32
	C, H, W               int
}

// OcclusionMap runs the occlusion variant cfg on x (C x H x W, model input
// space), d.Batch occluded copies per forward pass.
func OcclusionMap(d *Net, x []float32, cfg OcclusionMapConfig) (*OcclusionMapResult, error) {
	if err := checkInput(d, "occlusion map", x); err != nil {
		return nil, err
	}
	in := d.Model.Arch.Input
	c, h, w := in[0], in[1], in[2]
	if cfg.Size < 1 || cfg.Size > max(h, w) {
		return nil, errors.Errorf("occlusion map: window size %d must be between 1 and %d pixels", cfg.Size, max(h, w))
	}
	if cfg.Stride < 1 || cfg.Stride > max(h, w) {
		return nil, errors.Errorf("occlusion map: stride %d must be between 1 and %d pixels", cfg.Stride, max(h, w))
	}
	fill := cfg.Fill
	if fill == nil {
		fill = make([]float32, len(x))
		if cfg.FillName == "" {
			cfg.FillName = "mean"
		}
	}
	if err := checkInput(d, "occlusion map fill", fill); err != nil {
		return nil, err
	}
	res := &OcclusionMapResult{Config: cfg, Class: cfg.Class, C: c, H: h, W: w, Input: append([]float32(nil), x...),
		Rows: (h + cfg.Stride - 1) / cfg.Stride, Cols: (w + cfg.Stride - 1) / cfg.Stride}
	k := d.Model.Arch.Classes
	err := d.ForwardEach(1, func(_ int, dst []float32) error { copy(dst, x); return nil },
		func(_, _ int, logits []float32) error {
			if res.Class < 0 {
				var err error
				if res.Class, err = zfnet.Argmax(logits); err != nil {
					return err
				}
			}
			if res.Class >= k {
				return errors.Errorf("class %d is outside %s's %d classes", res.Class, d.Model.Arch.Name, k)
			}
			res.CleanProb, res.CleanLogit = zfnet.Softmax(logits)[res.Class], float64(logits[res.Class])
			return nil
		})
	if err != nil {
		return nil, errors.Wrap(err, "occlusion map")
	}
	n := res.Rows * res.Cols
	res.Prob, res.Logit = make([]float64, n), make([]float64, n)
	input := func(i int, dst []float32) error {
		win := res.Window(i/res.Cols, i%res.Cols).Intersect(image.Rect(0, 0, w, h))
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				for xx := 0; xx < w; xx++ {
					j := (ch*h+y)*w + xx
					if image.Pt(xx, y).In(win) != cfg.Keep {
						dst[j] = fill[j]
					} else {
						dst[j] = x[j]
					}
				}
			}
		}
		return nil
	}
	visit := func(i, _ int, logits []float32) error {
		res.Prob[i], res.Logit[i] = zfnet.Softmax(logits)[res.Class], float64(logits[res.Class])
		if cfg.Progress != nil && ((i+1)%d.Batch == 0 || i == n-1) {
			cfg.Progress(i+1, n)
		}
		return nil
	}
	if err := d.ForwardEach(n, input, visit); err != nil {
		return nil, errors.Wrap(err, "occlusion map")
	}
	return res, nil
}

// Window is the occluder's pixel rectangle at grid position (r, c)
// (before clipping to the picture).
func (r *OcclusionMapResult) Window(row, col int) image.Rectangle {
	return OccluderWindow(r.Config.Size, r.Config.Stride, row, col)
}

// OccluderWindow is the square window of side size at position (row, col)
// of an occlusion grid of the given stride, in input pixels, before
// clipping to the picture: centred on pixel (row*stride + stride/2,
// col*stride + stride/2), so that the grid's cells line up with the
// picture when a map is stretched over it. OcclusionMap, the paper's
// occlusion experiment (package experiments) and `zfnet serve` share it.
func OccluderWindow(size, stride, row, col int) image.Rectangle {
	cy, cx := row*stride+stride/2, col*stride+stride/2
	y0, x0 := cy-size/2, cx-size/2
	return image.Rect(x0, y0, x0+size, y0+size)
}

// Sensitivity is the drop of the class probability from the unoccluded
// input at each position: positive where occluding the window hurts the
// class, or, with Keep, where the window alone does not carry the class.
func (r *OcclusionMapResult) Sensitivity() []float64 {
	s := make([]float64, len(r.Prob))
	for i, p := range r.Prob {
		s[i] = r.CleanProb - p
	}
	return s
}

// Caption states every option of the variant.
func (r *OcclusionMapResult) Caption() string {
	what := "occluding a"
	if r.Config.Keep {
		what = "keeping only a"
	}
	return fmt.Sprintf("%s %dx%d window, stride %d, filled with %s", what, r.Config.Size, r.Config.Size, r.Config.Stride, r.Config.FillName)
}

// Image shows the input with one window applied (the centre position), and
// the class probability by position over the input on an absolute scale
// (0 dark blue, 1 yellow).
func (r *OcclusionMapResult) Image(mean *data.Mean, classes []string, scale int) image.Image {
	scale = max(1, scale)
	g := data.Geometry{C: r.C, H: r.H, W: r.W}
	base := figure.Scale(data.ToImage(r.Input, g, mean), scale)
	// An example of the occluded input: the window at the grid's centre.
	ex := make([]float32, len(r.Input))
	fill := r.Config.Fill
	win := r.Window(r.Rows/2, r.Cols/2).Intersect(image.Rect(0, 0, r.W, r.H))
	for ch := 0; ch < r.C; ch++ {
		for y := 0; y < r.H; y++ {
			for x := 0; x < r.W; x++ {
				j := (ch*r.H+y)*r.W + x
				ex[j] = r.Input[j]
				if image.Pt(x, y).In(win) != r.Config.Keep {
					ex[j] = 0
					if fill != nil {
						ex[j] = fill[j]
					}
				}
			}
		}
	}
	example := figure.ToRGBA(figure.Scale(data.ToImage(ex, g, mean), scale))
	figure.Outline(example, image.Rect(win.Min.X*scale, win.Min.Y*scale, win.Max.X*scale, win.Max.Y*scale), color.RGBA{255, 40, 40, 255})
	prob := figure.Overlay(base, figure.HeatmapRange(r.Prob, r.Rows, r.Cols, 0, 1), 0.6)
	lo, _ := figure.MinMax(r.Prob)
	panels := []image.Image{
		figure.Titled(example, "one position", figure.Ink),
		figure.Titled(prob, fmt.Sprintf("P(%s): %.2f clean, %.2f lowest", figure.ClassName(classes, r.Class), r.CleanProb, lo), figure.Ink),
	}
	return figure.Padded(figure.Titled(figure.Row(panels, 10, figure.Paper), r.Caption(), figure.Ink), 6, figure.Paper)
}

// OcclusionHeat renders the sensitivity (the probability drop) by position
// over the input, from no drop (dark blue) to the largest drop (yellow).
func (r *OcclusionMapResult) OcclusionHeat(mean *data.Mean, scale int) image.Image {
	base := figure.Scale(data.ToImage(r.Input, data.Geometry{C: r.C, H: r.H, W: r.W}, mean), max(1, scale))
	s := r.Sensitivity()
	if r.Config.Keep { // evidence of the window alone: the probability itself
		s = append([]float64(nil), r.Prob...)
	}
	_, hi := figure.MinMax(s)
	return figure.Overlay(base, figure.HeatmapRange(s, r.Rows, r.Cols, 0, math.Max(hi, 1e-12)), 0.6)
}
