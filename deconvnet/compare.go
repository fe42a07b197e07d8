package deconvnet

import (
	"fmt"
	"image"
	"image/color"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet/figure"
)

// RuleComparison is one activation projected with each of the three rules
// (the deconvnet, guided backpropagation, gradient saliency). The methods
// differ only in how a ReLU passes the signal down, so putting them side by
// side on the same activation shows what that choice does: the deconvnet's
// projections are less tied to the particular image, saliency is noisy,
// guided backpropagation is sharp but image-specific.
type RuleComparison struct {
	Layer  string
	Picked Picked // the activation (map, position, value)
	Field  Field  // its receptive field
	Input  image.Image
	Rules  []Rule
	// Projections[i] is Rules[i]'s projection, C x H x W of the model input.
	Projections [][]float32
	C, H, W     int
}

// CompareRules runs one preprocessed input x (C*H*W floats, mean
// subtracted; mean, if not nil, is added back for display) and projects the
// activation t of layer with each rule. throughLRN applies to all three.
func CompareRules(d *Net, x []float32, mean *data.Mean, layer string, t Target, throughLRN bool) (*RuleComparison, error) {
	if d == nil {
		return nil, errors.New("compare rules: nil deconvnet")
	}
	in := d.Model.Arch.Input
	size := in[0] * in[1] * in[2]
	if len(x) != size {
		return nil, errors.Errorf("compare rules: input has %d values, expected %dx%dx%d = %d", len(x), in[0], in[1], in[2], size)
	}
	batch := make([]float32, d.Batch*size)
	copy(batch, x)
	if _, err := d.Forward(batch); err != nil {
		return nil, errors.Wrap(err, "compare rules")
	}
	rc := &RuleComparison{Layer: layer, Rules: []Rule{Deconvnet, Guided, Saliency}, C: in[0], H: in[1], W: in[2],
		Input: data.ToImage(x, data.Geometry{C: in[0], H: in[1], W: in[2]}, mean)}
	for _, r := range rc.Rules {
		ps, picked, err := d.ProjectTargets(layer, []Target{t}, Options{Rule: r, ThroughLRN: throughLRN})
		if err != nil {
			return nil, errors.Wrapf(err, "compare rules: %s", r)
		}
		rc.Projections = append(rc.Projections, append([]float32(nil), ps[0]...))
		rc.Picked = picked[0]
	}
	f, err := ReceptiveField(d.Model, layer, rc.Picked.Y, rc.Picked.X)
	if err != nil {
		// Fully connected layers resolve too; anything else is a bug upstream.
		return nil, errors.Wrap(err, "compare rules")
	}
	rc.Field = f
	return rc, nil
}

// Image shows the input with the receptive field outlined, then the three
// projections of the whole input, each scaled on its own (see
// figure.ProjectionImage), with a title over every panel.
func (rc *RuleComparison) Image() image.Image {
	factor := max(1, 168/max(rc.H, 1))
	in := figure.ToRGBA(figure.Scale(rc.Input, factor))
	figure.Outline(in, image.Rect(rc.Field.Box.Min.X*factor, rc.Field.Box.Min.Y*factor, rc.Field.Box.Max.X*factor, rc.Field.Box.Max.Y*factor), color.RGBA{255, 40, 40, 255})
	panels := []image.Image{figure.Titled(in, "input", figure.Ink)}
	for i, r := range rc.Rules {
		p := figure.Scale(figure.ProjectionImage(rc.Projections[i], rc.C, rc.H, rc.W), factor)
		panels = append(panels, figure.Titled(p, ruleTitle(r), figure.Ink))
	}
	body := figure.Row(panels, 10, figure.Paper)
	head := fmt.Sprintf("%s, map %d at (%d, %d), activation %.3g", rc.Layer, rc.Picked.Map, rc.Picked.Y, rc.Picked.X, rc.Picked.Value)
	return figure.Padded(figure.Titled(body, head, figure.Ink), 6, figure.Paper)
}

func ruleTitle(r Rule) string {
	switch r {
	case Deconvnet:
		return "deconvnet (paper)"
	case Guided:
		return "guided backprop"
	case Saliency:
		return "saliency (gradient)"
	}
	return r.String()
}
