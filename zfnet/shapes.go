package zfnet

import (
	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/graph"
)

// specShapes propagates the input through the layer list without
// allocating parameters: each layer's (C, H, W) output, and for linear
// layers the input features they read. Importers use it to find the input
// size a file's fully connected weights imply before building anything.
func specShapes(in [3]int, classes int, seq []LayerSpec) ([][3]int, error) {
	out := make([][3]int, len(seq))
	s := in
	for i, l := range seq {
		switch l.Kind {
		case KindConv:
			if s[1]+2*l.Pad < l.Kernel || s[2]+2*l.Pad < l.Kernel || l.Stride < 1 {
				return nil, errors.Errorf("layer %s: input %dx%d does not fit a %dx%d/%d kernel", l.Name, s[1], s[2], l.Kernel, l.Kernel, l.Stride)
			}
			s = [3]int{l.Out, graph.PoolOutputSize(s[1], l.Kernel, l.Stride, l.Pad), graph.PoolOutputSize(s[2], l.Kernel, l.Stride, l.Pad)}
		case KindMaxPool, KindAvgPool:
			if s[1]+2*l.Pad < l.Kernel || s[2]+2*l.Pad < l.Kernel || l.Stride < 1 {
				return nil, errors.Errorf("layer %s: input %dx%d does not fit a %dx%d/%d window", l.Name, s[1], s[2], l.Kernel, l.Kernel, l.Stride)
			}
			s = [3]int{s[0], graph.PoolOutputSizeMode(s[1], l.Kernel, l.Stride, l.Pad, l.Ceil), graph.PoolOutputSizeMode(s[2], l.Kernel, l.Stride, l.Pad, l.Ceil)}
		case KindAdaptiveAvgPool:
			s = [3]int{s[0], l.OutH, l.OutW}
		case KindLinear:
			o := l.Out
			if o == 0 {
				o = classes
			}
			s = [3]int{o, 1, 1}
		}
		if s[1] < 1 || s[2] < 1 {
			return nil, errors.Errorf("layer %s: output %v is empty", l.Name, s)
		}
		out[i] = s
	}
	return out, nil
}

// linearInputs is the number of input features of every linear layer of
// the list for input in, by layer index (0 where the list does not fit).
func linearInputs(in [3]int, classes int, seq []LayerSpec) map[int]int {
	shapes, err := specShapes(in, classes, seq)
	if err != nil {
		return nil
	}
	feats := map[int]int{}
	prev := in
	for i, l := range seq {
		if l.Kind == KindLinear {
			feats[i] = prev[0] * prev[1] * prev[2]
		}
		prev = shapes[i]
	}
	return feats
}
