package zfnet

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pkg/errors"
)

// ParamLayers lists the names of the model's layers that hold parameters
// (conv1, ..., fc8), in layer order.
func (m *Model) ParamLayers() []string {
	var out []string
	for _, l := range m.layers {
		if len(l.Params()) > 0 {
			out = append(out, l.Name())
		}
	}
	return out
}

// HeadLayer is the last layer: the linear layer that outputs the logits.
func (m *Model) HeadLayer() string { return m.layers[len(m.layers)-1].Name() }

// ResolveLayers reads a layer list as a user types it: names and ranges in
// layer order, comma separated ("conv1-fc7", "conv1,conv2", "conv3-conv5,fc8")
// and returns the layers with parameters it covers, in layer order. A range
// may start or end at any layer (pool1, relu6); a name the model lacks is an
// error listing the layers it has.
func ResolveLayers(m *Model, spec string) ([]string, error) {
	index := func(name string) (int, error) {
		if _, i := m.Layer(name); i >= 0 {
			return i, nil
		}
		return -1, errors.Errorf("%s has no layer %q; its layers with weights are %s (ranges like conv1-fc7 may start or end at any of its layers: %s)",
			m.Arch.Name, name, strings.Join(m.ParamLayers(), ", "), strings.Join(layerNames(m), ", "))
	}
	chosen := map[int]bool{}
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi := part, part
		if a, b, ok := strings.Cut(part, "-"); ok {
			lo, hi = strings.TrimSpace(a), strings.TrimSpace(b)
		}
		i, err := index(lo)
		if err != nil {
			return nil, err
		}
		j, err := index(hi)
		if err != nil {
			return nil, err
		}
		if i > j {
			return nil, errors.Errorf("layer range %s: %s comes after %s in %s; write ranges in layer order", part, lo, hi, m.Arch.Name)
		}
		any := false
		for k := i; k <= j; k++ {
			if len(m.layers[k].Params()) > 0 {
				chosen[k], any = true, true
			}
		}
		if !any {
			return nil, errors.Errorf("layer range %s: no layer with weights in it; %s's are %s", part, m.Arch.Name, strings.Join(m.ParamLayers(), ", "))
		}
	}
	var out []string
	for k, l := range m.layers {
		if chosen[k] {
			out = append(out, l.Name())
		}
	}
	return out, nil
}

func layerNames(m *Model) []string {
	out := make([]string, len(m.layers))
	for i, l := range m.layers {
		out[i] = l.Name()
	}
	return out
}

// ParseLRScale reads learning-rate factors per layer: "fc8=10",
// "conv1-conv5=0.1,fc8=10" (ranges as in ResolveLayers). Factors must be
// finite and positive; freeze a layer instead of giving it 0.
func ParseLRScale(m *Model, specs []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, spec := range specs {
		for part := range strings.SplitSeq(spec, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			layers, factor, ok := strings.Cut(part, "=")
			if !ok {
				return nil, errors.Errorf("--lr-scale %q: expected LAYER=FACTOR (fc8=10, conv1-conv5=0.1)", part)
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(factor), 64)
			if err != nil || !(f > 0) || math.IsInf(f, 0) {
				return nil, errors.Errorf("--lr-scale %q: the factor must be a positive number (freeze a layer with --freeze instead of 0)", part)
			}
			names, err := ResolveLayers(m, layers)
			if err != nil {
				return nil, errors.Wrapf(err, "--lr-scale %s", part)
			}
			for _, n := range names {
				out[n] = f
			}
		}
	}
	return out, nil
}

// FormatLRScale writes factors back in ParseLRScale's form, in layer order.
func FormatLRScale(m *Model, scale map[string]float64) string {
	var parts []string
	for _, n := range m.ParamLayers() {
		if f, ok := scale[n]; ok {
			parts = append(parts, fmt.Sprintf("%s=%g", n, f))
		}
	}
	return strings.Join(parts, ",")
}

// layerOfParam is the layer a parameter belongs to ("conv1.weight" -> "conv1").
func layerOfParam(m *Model, name string) string {
	for _, l := range m.layers {
		for _, p := range l.Params() {
			if p.Name == name {
				return l.Name()
			}
		}
	}
	return ""
}

// checkTrainable refuses a freeze that leaves nothing to learn.
func checkTrainable(m *Model, frozen []string) error {
	for _, n := range m.ParamLayers() {
		if !slices.Contains(frozen, n) {
			return nil
		}
	}
	return errors.Errorf("every layer with weights of %s is frozen (%s): nothing would learn; leave at least the last layer (%s) out of --freeze",
		m.Arch.Name, strings.Join(frozen, ", "), m.HeadLayer())
}
