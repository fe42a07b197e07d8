package zfnet

import (
	"fmt"
	"strings"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/graph"
	"github.com/zfnet/zfnet/zfnet/weights"
)

// onnxArch turns an ONNX graph that is a chain of
// Conv/Relu/LRN/MaxPool/AveragePool/GlobalAveragePool/Flatten/Reshape/
// Gemm/MatMul+Add/Dropout/Softmax/Identity nodes into an architecture, and
// its initializers into our parameters (conv1.weight, ..., fc8.bias). The
// final Softmax is left out: the model's outputs are logits. Anything else
// is an error naming the node and its op. The preset is torchvision's when
// the initializers carry torchvision's names (torch.onnx.export), Caffe's
// otherwise (the model zoo's bvlcalexnet and zfnet512 come from Caffe).
func onnxArch(f *weights.File) (Arch, map[string]tensorRef, error) {
	a, in, err := onnxInput(f)
	if err != nil {
		return Arch{}, nil, err
	}
	c := &onnxChain{f: f, input: a.Input, src: map[string]tensorRef{}, cur: in}
	g := f.Graph
	for ni := 0; ni < len(g.Nodes); ni++ {
		n := &g.Nodes[ni]
		where := fmt.Sprintf("%s: node %q (%s)", f.Path, n.Name, n.Op)
		if n.Domain != "" && n.Domain != "ai.onnx" {
			return Arch{}, nil, errors.Errorf("%s: operator domain %q is not supported", where, n.Domain)
		}
		if n.Op == "Constant" {
			continue // shapes for Reshape: read where used
		}
		if len(n.Inputs) == 0 || n.Inputs[0] != c.cur || len(n.Outputs) == 0 {
			return Arch{}, nil, errors.Errorf("%s: reads %v, expected the output of the node before (%s): only a chain of layers is supported", where, n.Inputs, c.cur)
		}
		c.cur = n.Outputs[0]
		used, err := c.node(ni, where)
		if err != nil {
			return Arch{}, nil, err
		}
		ni += used
	}
	seq := c.seq
	if len(seq) == 0 || seq[len(seq)-1].Kind != KindLinear {
		return Arch{}, nil, errors.Errorf("%s: the graph does not end in a fully connected layer (Gemm or MatMul), so it has no class logits", f.Path)
	}
	last := &seq[len(seq)-1]
	a.Classes, last.Out = last.Out, 0
	nameLayers(seq)
	a.Layers = seq
	if extra := unusedArrays(onnxWeightsOnly(f), c.src); len(extra) > 0 {
		return Arch{}, nil, errors.Errorf("%s: initializers no layer reads: %s", f.Path, strings.Join(extra, ", "))
	}
	return a, c.src, nil
}

// onnxInput starts the architecture of an ONNX file: its name, its preset
// (torchvision's when the initializers carry torchvision's names, Caffe's
// for colour inputs otherwise, zfnet's for other channel counts) and its
// input geometry, from the one graph input that is not an initializer,
// whose name it returns.
func onnxInput(f *weights.File) (Arch, string, error) {
	g := f.Graph
	a := Arch{Name: importName(f.Path), Doc: "read from the ONNX graph of " + f.Path, Preprocess: PresetCaffe}
	if _, ok := f.Arrays.ByName["features.0.weight"]; ok {
		a.Preprocess = PresetTorchvision
	}
	var in *weights.ValueInfo
	for i := range g.Inputs {
		if _, init := f.Arrays.ByName[g.Inputs[i].Name]; !init {
			if in != nil {
				return Arch{}, "", errors.Errorf("%s: the graph has several inputs (%s, %s); expected one image input", f.Path, in.Name, g.Inputs[i].Name)
			}
			in = &g.Inputs[i]
		}
	}
	if in == nil || len(in.Shape) != 4 || in.Shape[1] < 1 || in.Shape[2] < 1 || in.Shape[3] < 1 {
		return Arch{}, "", errors.Errorf("%s: expected one graph input of shape (N, C, H, W) with known C, H, W", f.Path)
	}
	if in.Shape[1] > 1<<16 || in.Shape[2] > 1<<16 || in.Shape[3] > 1<<16 {
		return Arch{}, "", errors.Errorf("%s: input %s has shape %v; expected an image of at most 65536 pixels a side", f.Path, in.Name, in.Shape)
	}
	a.Input = [3]int{int(in.Shape[1]), int(in.Shape[2]), int(in.Shape[3])}
	if a.Input[0] != 3 {
		a.Preprocess = PresetZFNet // the ImageNet presets are for colour pictures
	}
	return a, in.Name, nil
}

// onnxChain is the walk down an ONNX graph's chain of nodes: the layers so
// far, the file's tensors they take (our parameter name -> the file's), the
// tensor the next node must read, and the counts that number the layers.
type onnxChain struct {
	f              *weights.File
	input          [3]int
	src            map[string]tensorRef
	seq            []LayerSpec
	cur            string
	nConv, nLinear int
}

// node adds graph node ni to the chain. It returns how many of the nodes
// after it it consumed too (a MatMul's Add). A single switch on the op: each
// case is one layer kind, and the longer ones have their own method.
func (c *onnxChain) node(ni int, where string) (used int, err error) {
	n := &c.f.Graph.Nodes[ni]
	switch n.Op {
	case "Conv":
		return 0, c.conv(n, where)
	case "Relu":
		c.seq = append(c.seq, ReLU())
	case "LRN":
		return 0, c.lrn(n, where)
	case "MaxPool", "AveragePool":
		return 0, c.pool(n, where)
	case "GlobalAveragePool":
		c.seq = append(c.seq, AdaptiveAvgPool(1, 1))
	case "Flatten", "Reshape", "Identity":
		// Linear layers flatten their input in (C, H, W) order, which is
		// what Flatten(axis=1) and Reshape(N, -1) give.
		if ax, ok := n.Attrs["axis"]; n.Op == "Flatten" && ok && ax.Int != 1 {
			return 0, errors.Errorf("%s: axis %d; expected 1", where, ax.Int)
		}
	case "Dropout":
		p := attrFloat(n, "ratio", 0.5)
		if len(n.Inputs) > 1 && n.Inputs[1] != "" {
			if r := c.f.Arrays.ByName[n.Inputs[1]]; r != nil && len(r.Data) == 1 {
				p = float64(r.Data[0])
			}
		}
		c.seq = append(c.seq, Dropout(p))
	case "Gemm":
		return 0, c.gemm(n, where)
	case "MatMul":
		return c.matMul(ni, where)
	case "Softmax":
		if ni != len(c.f.Graph.Nodes)-1 {
			return 0, errors.Errorf("%s: Softmax is supported only as the last node (the model's outputs are logits)", where)
		}
	default:
		return 0, errors.Errorf("%s: op %s is not supported; a chain of Conv, Relu, LRN, MaxPool, AveragePool, "+
			"GlobalAveragePool, Flatten, Reshape, Gemm, MatMul+Add, Dropout and a final Softmax is", where, n.Op)
	}
	return 0, nil
}

// param is node n's input i as an initializer, with its name; nil when the
// input is absent (an optional bias).
func (c *onnxChain) param(n *weights.Node, i int) (*weights.Array, string, error) {
	if i >= len(n.Inputs) || n.Inputs[i] == "" {
		return nil, "", nil
	}
	w := c.f.Arrays.ByName[n.Inputs[i]]
	if w == nil {
		return nil, "", errors.Errorf("%s: node %s (%s): input %s is not an initializer; expected constant weights", c.f.Path, n.Name, n.Op, n.Inputs[i])
	}
	return w, n.Inputs[i], nil
}

// conv adds a Conv node: square kernel, symmetric padding, no dilation,
// groups allowed; a missing bias is zeros.
func (c *onnxChain) conv(n *weights.Node, where string) error {
	w, wk, err := c.param(n, 1)
	if err != nil {
		return err
	}
	if w == nil || len(w.Shape) != 4 {
		return errors.Errorf("%s: expected a 4-D weight initializer", where)
	}
	k, s, p, err := onnxWindow(n, where, w.Shape[2:])
	if err != nil {
		return err
	}
	if d := n.Attrs["dilations"]; len(d.Ints) > 0 && (d.Ints[0] != 1 || d.Ints[len(d.Ints)-1] != 1) {
		return errors.Errorf("%s: dilations %v; only 1 is supported", where, d.Ints)
	}
	if ap := n.Attrs["auto_pad"].String; ap != "" && ap != "NOTSET" {
		return errors.Errorf("%s: auto_pad %s; expected explicit pads", where, ap)
	}
	groups := 1
	if gr, ok := n.Attrs["group"]; ok {
		groups = int(gr.Int)
	}
	c.nConv++
	l := GroupedConv(w.Shape[0], k, s, p[0], groups)
	l.Name = fmt.Sprintf("conv%d", c.nConv+c.nLinear)
	c.seq = append(c.seq, l)
	c.src[l.Name+".weight"] = tensorRef{wk, w}
	b, bk, err := c.param(n, 2)
	if err != nil {
		return err
	}
	if b == nil {
		b, bk = &weights.Array{Shape: []int{w.Shape[0]}, Data: make([]float32, w.Shape[0]), DType: "float32"}, "(no bias: zeros)"
	}
	c.src[l.Name+".bias"] = tensorRef{bk, b}
	return nil
}

// lrn adds an LRN node (odd sizes only).
func (c *onnxChain) lrn(n *weights.Node, where string) error {
	size := int(n.Attrs["size"].Int)
	alpha, beta, bias := attrFloat(n, "alpha", 1e-4), attrFloat(n, "beta", 0.75), attrFloat(n, "bias", 1)
	if size < 1 || size%2 == 0 {
		// ONNX's window for an even size reaches one map further
		// after the map than before it, PyTorch's (ours) one further
		// before; Caffe allows odd sizes only.
		return errors.Errorf("%s: size %d; expected an odd size >= 1", where, size)
	}
	// ONNX divides alpha by size, as torch.nn.LocalResponseNorm does.
	c.seq = append(c.seq, CrossMapLRN(size, alpha, beta, bias))
	return nil
}

// pool adds a MaxPool or AveragePool node; asymmetric pads are read as
// ceil mode where that gives the same windows.
func (c *onnxChain) pool(n *weights.Node, where string) error {
	k, s, p, err := onnxWindow(n, where, nil)
	if err != nil {
		return err
	}
	ceil := n.Attrs["ceil_mode"].Int == 1
	pad := p[0]
	if p[0] != p[1] {
		// Caffe's exporters spell ceil-mode pooling as extra padding
		// at the bottom and right: the same windows, clipped, where
		// the sizes agree (see onnxPoolCeil).
		if ceil {
			return errors.Errorf("%s: ceil_mode with pads %v; expected one or the other", where, n.Attrs["pads"].Ints)
		}
		shapes, err := specShapes(c.input, 1, c.seq)
		if err != nil {
			return errors.Wrapf(err, "%s", where)
		}
		in := c.input
		if len(shapes) > 0 {
			in = shapes[len(shapes)-1]
		}
		countPad := n.Op == "AveragePool" && n.Attrs["count_include_pad"].Int == 1
		if ceil, err = onnxPoolCeil(in, k, s, p, countPad, where); err != nil {
			return err
		}
	}
	if n.Op == "MaxPool" {
		if len(n.Outputs) > 1 && n.Outputs[1] != "" {
			return errors.Errorf("%s: the Indices output is not supported", where)
		}
		c.seq = append(c.seq, LayerSpec{Kind: KindMaxPool, Kernel: k, Stride: s, Pad: pad, Ceil: ceil})
	} else {
		c.seq = append(c.seq, LayerSpec{Kind: KindAvgPool, Kernel: k, Stride: s, Pad: pad, Ceil: ceil, ExcludePad: n.Attrs["count_include_pad"].Int == 0})
	}
	return nil
}

// gemm adds a Gemm node as a fully connected layer (alpha = beta = 1, A
// not transposed; B is transposed to (out, in) when it is not already).
func (c *onnxChain) gemm(n *weights.Node, where string) error {
	w, wk, err := c.param(n, 1)
	if err != nil {
		return err
	}
	if w == nil || len(w.Shape) != 2 {
		return errors.Errorf("%s: expected a 2-D weight initializer", where)
	}
	if attrFloat(n, "alpha", 1) != 1 || attrFloat(n, "beta", 1) != 1 || n.Attrs["transA"].Int != 0 {
		return errors.Errorf("%s: alpha, beta and transA other than 1, 1, 0 are not supported", where)
	}
	if n.Attrs["transB"].Int == 0 {
		w, wk = transposed(w), wk+" (transposed)"
	}
	b, bk, err := c.param(n, 2)
	if err != nil {
		return err
	}
	l, err := onnxLinear(&c.nConv, &c.nLinear, w, wk, b, bk, c.src, where)
	if err != nil {
		return err
	}
	c.seq = append(c.seq, l)
	return nil
}

// matMul adds MatMul node ni as a fully connected layer, taking the Add
// right after it as its bias (and returning 1: that node is consumed).
func (c *onnxChain) matMul(ni int, where string) (int, error) {
	g := c.f.Graph
	n := &g.Nodes[ni]
	w, wk, err := c.param(n, 1)
	if err != nil {
		return 0, err
	}
	if w == nil || len(w.Shape) != 2 {
		return 0, errors.Errorf("%s: expected a 2-D weight initializer", where)
	}
	var b *weights.Array
	bk, used := "", 0
	if ni+1 < len(g.Nodes) && g.Nodes[ni+1].Op == "Add" && len(g.Nodes[ni+1].Inputs) == 2 && g.Nodes[ni+1].Inputs[0] == c.cur {
		add := &g.Nodes[ni+1]
		if b, bk, err = c.param(add, 1); err != nil {
			return 0, err
		}
		c.cur = add.Outputs[0]
		used = 1
	}
	l, err := onnxLinear(&c.nConv, &c.nLinear, transposed(w), wk+" (transposed)", b, bk, c.src, where)
	if err != nil {
		return 0, err
	}
	c.seq = append(c.seq, l)
	return used, nil
}

// onnxLinear names a fully connected layer and records its tensors; w is
// (out, in).
func onnxLinear(nConv, nLinear *int, w *weights.Array, wk string, b *weights.Array, bk string, src map[string]tensorRef, where string) (LayerSpec, error) {
	*nLinear++
	l := Linear(w.Shape[0])
	l.Name = fmt.Sprintf("fc%d", *nConv+*nLinear)
	if b == nil {
		b, bk = &weights.Array{Shape: []int{w.Shape[0]}, Data: make([]float32, w.Shape[0]), DType: "float32"}, "(no bias: zeros)"
	}
	if len(b.Data) != w.Shape[0] {
		return l, errors.Errorf("%s: bias of %d values for %d outputs", where, len(b.Data), w.Shape[0])
	}
	b = &weights.Array{Shape: []int{w.Shape[0]}, Data: b.Data, DType: b.DType} // Gemm's C may be (1, out)
	src[l.Name+".weight"], src[l.Name+".bias"] = tensorRef{wk, w}, tensorRef{bk, b}
	return l, nil
}

// onnxWindow reads a square kernel, stride and the (begin, end) padding of
// a Conv or pooling node; a Conv's kernel may come from its weight.
func onnxWindow(n *weights.Node, where string, wk []int) (k, s int, pad [2]int, err error) {
	ks := n.Attrs["kernel_shape"].Ints
	switch {
	case len(ks) == 2 && ks[0] == ks[1]:
		k = int(ks[0])
	case len(ks) == 0 && len(wk) == 2 && wk[0] == wk[1]:
		k = wk[0]
	default:
		return 0, 0, pad, errors.Errorf("%s: kernel_shape %v; expected a square 2-D kernel", where, ks)
	}
	s = 1
	if st := n.Attrs["strides"].Ints; len(st) > 0 {
		if len(st) != 2 || st[0] != st[1] {
			return 0, 0, pad, errors.Errorf("%s: strides %v; expected equal strides", where, st)
		}
		s = int(st[0])
	}
	if p := n.Attrs["pads"].Ints; len(p) > 0 {
		// (top, left, bottom, right)
		if len(p) != 4 || p[0] != p[1] || p[2] != p[3] || p[2] < p[0] {
			return 0, 0, pad, errors.Errorf("%s: pads %v; expected the same padding on top and left, and on bottom and right", where, p)
		}
		pad = [2]int{int(p[0]), int(p[2])}
	}
	if ap := n.Attrs["auto_pad"].String; ap != "" && ap != "NOTSET" {
		return 0, 0, pad, errors.Errorf("%s: auto_pad %s; expected explicit pads", where, ap)
	}
	if k < 1 || s < 1 || k > 1<<12 || s > 1<<12 || pad[0] < 0 || pad[1] > k {
		return 0, 0, pad, errors.Errorf("%s: kernel %d, stride %d, pads %v out of range", where, k, s, pad)
	}
	return k, s, pad, nil
}

// onnxPoolCeil says whether ONNX pooling of a (C, H, W) input with pads
// p (begin, end) is PyTorch's floor mode (false) or ceil mode (true) with
// padding p[0] on both sides: the one that gives ONNX's output size,
// floor((in + p[0] + p[1] - k)/s) + 1, in both dimensions. An average that
// counts the padding (count_include_pad=1) is only the floor mode's: in
// ceil mode its last windows would divide by the cells inside the input
// and p[0], ONNX's by the whole window. Anything else is an error.
func onnxPoolCeil(in [3]int, k, s int, p [2]int, countPad bool, where string) (bool, error) {
	floorOK, ceilOK := true, true
	for _, d := range in[1:] {
		if d+p[0]+p[1] < k {
			return false, errors.Errorf("%s: input %dx%d is smaller than the %dx%d window", where, in[1], in[2], k, k)
		}
		want := (d+p[0]+p[1]-k)/s + 1
		floorOK = floorOK && graph.PoolOutputSizeMode(d, k, s, p[0], false) == want
		ceilOK = ceilOK && graph.PoolOutputSizeMode(d, k, s, p[0], true) == want
	}
	switch {
	case floorOK:
		return false, nil
	case ceilOK && !countPad:
		return true, nil
	}
	return false, errors.Errorf("%s: pads (%d, %d, %d, %d) on a %dx%d input give windows that neither floor- nor ceil-mode "+
		"pooling with padding %d gives (or an average counting padding the ceil mode would not count); not supported",
		where, p[0], p[0], p[1], p[1], in[1], in[2], p[0])
}

func attrFloat(n *weights.Node, name string, def float64) float64 {
	if a, ok := n.Attrs[name]; ok && a.Kind == "float" {
		return float64(a.Float)
	}
	return def
}

// transposed is a (rows, cols) matrix as (cols, rows).
func transposed(w *weights.Array) *weights.Array {
	r, c := w.Shape[0], w.Shape[1]
	t := make([]float32, len(w.Data))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			t[j*r+i] = w.Data[i*c+j]
		}
	}
	return &weights.Array{Shape: []int{c, r}, Data: t, DType: w.DType}
}

// onnxWeightsOnly is the file's float initializers minus the one-value
// constants (a Dropout's ratio) that are not weights.
func onnxWeightsOnly(f *weights.File) weights.Arrays {
	var out weights.Arrays
	out.ByName = map[string]*weights.Array{}
	for _, n := range f.Arrays.Names {
		if a := f.Arrays.ByName[n]; len(a.Shape) > 1 || (len(a.Shape) == 1 && a.Shape[0] > 1) {
			out.Names = append(out.Names, n)
			out.ByName[n] = a
		}
	}
	return out
}
