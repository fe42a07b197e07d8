package zfnet

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zfnet/zfnet/zfnet/weights"
)

// Tests of Import on files written by PyTorch, torch.onnx.export, the onnx
// package's helpers (spelled as the ONNX model zoo's Caffe-born graphs) and
// by hand (safetensors): testdata/gen_pretrained.py, which also wrote
// PyTorch's logits on one shared picture (testdata/pretrained/expected.npz).
//
// Logit tolerance: |got - want| <= 1e-4 * max_j |want_j| for every logit,
// i.e. 1e-4 relative to the logit vector's scale (the references are
// float64 from the same float32 weights; our forward pass is float32).

const ptDir = "testdata/pretrained"

// ptExpected is expected.npz: the picture as float32 (uint8/255, computed
// in float32 as the generator does) and the logits by file stem.
func ptExpected(t *testing.T) ([]float32, *weights.File) {
	t.Helper()
	f, err := weights.Read(filepath.Join(ptDir, "expected.npz"))
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 zfnet/testdata/gen_pretrained.py)", err)
	}
	pic := f.Ints.ByName["picture"]
	if pic == nil || pic.DType != "uint8" || len(pic.Data) != 3*224*224 {
		t.Fatalf("expected.npz: picture is %+v, want uint8 (1, 3, 224, 224)", pic)
	}
	x := make([]float32, len(pic.Data))
	for i, v := range pic.Data {
		x[i] = float32(v) / 255
	}
	return x, f
}

func ptLogits(t *testing.T, m *Model, x []float32) []float32 {
	t.Helper()
	p, err := NewPredictor(m, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got, err := p.Logits(x)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// ptCloseLogits checks the tolerance above and returns the worst
// |got - want| / max|want|.
func ptCloseLogits(t *testing.T, what string, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d logits, reference %d", what, len(got), len(want))
		return math.Inf(1)
	}
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	worst := 0.0
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		worst = math.Max(worst, d/scale)
		if !(d <= 1e-4*scale) {
			t.Errorf("%s: logit %d: got %.7g, reference %.7g (off by %.3g, limit %.3g)", what, i, got[i], want[i], d, 1e-4*scale)
		}
	}
	return worst
}

// TestPretrainedLayouts: every fixture loads with Import alone (no
// architecture named), is recognized as the layout it was written in,
// gets the input size, class count and preprocessing preset of that
// layout, and gives PyTorch's logits.
func TestPretrainedLayouts(t *testing.T) {
	x, exp := ptExpected(t)
	in224 := [3]int{3, 224, 224}
	cases := []struct {
		file                         string
		opt                          ImportOptions // empty but for ours.npz
		format, layout, arch, preset string
		// renamed: some of our names and the file key they must come from
		renamed map[string]string
		// layers: checks on the imported layer list, "index:kind/detail"
		check func(t *testing.T, m *Model)
	}{
		{file: "tv_alexnet.pth", format: "pth", layout: "torchvision-alexnet", arch: "alexnet-torchvision", preset: PresetTorchvision,
			renamed: map[string]string{"conv1.weight": "features.0.weight", "conv5.bias": "features.10.bias", "fc6.weight": "classifier.1.weight", "fc8.bias": "classifier.6.bias"}},
		{file: "tv_alexnet_ckpt.pth", format: "pth", layout: "torchvision-alexnet", arch: "alexnet-torchvision", preset: PresetTorchvision,
			renamed: map[string]string{"conv2.weight": "features.3.weight", "fc7.weight": "classifier.4.weight"}},
		{file: "tv_alexnet_half.pth", format: "pth", layout: "torchvision-alexnet", arch: "alexnet-torchvision", preset: PresetTorchvision},
		{file: "tv_alexnet.safetensors", format: "safetensors", layout: "torchvision-alexnet", arch: "alexnet-torchvision", preset: PresetTorchvision},
		{file: "tv_alexnet_export.onnx", format: "onnx", layout: "onnx", arch: "onnx:tv_alexnet_export", preset: PresetTorchvision},
		{file: "pcv_zfnet.pth", format: "pth", layout: "pytorchcv", arch: "zfnet-pytorchcv", preset: PresetTorchvision,
			renamed: map[string]string{"conv1.weight": "features.stage1.unit1.conv.weight", "conv2.weight": "features.stage2.unit1.conv.weight",
				"conv5.weight": "features.stage3.unit3.conv.weight", "fc6.weight": "output.fc1.fc.weight", "fc8.weight": "output.fc3.weight"},
			check: func(t *testing.T, m *Model) { ptWantPools(t, m.Arch, true) }},
		{file: "pcv_zfnetb.pth", format: "pth", layout: "pytorchcv", arch: "zfnetb-pytorchcv", preset: PresetTorchvision,
			check: func(t *testing.T, m *Model) { ptWantPools(t, m.Arch, true) }},
		{file: "pcv_alexnet.pth", format: "pth", layout: "pytorchcv", arch: "alexnet-pytorchcv", preset: PresetTorchvision,
			check: func(t *testing.T, m *Model) { ptWantPools(t, m.Arch, true) }},
		{file: "caffe_alexnet.onnx", format: "onnx", layout: "onnx", arch: "onnx:caffe_alexnet", preset: PresetCaffe,
			renamed: map[string]string{"conv2.weight": "conv2_w_0", "fc6.weight": "fc6_w_0"},
			check: func(t *testing.T, m *Model) {
				var groups []int
				for _, l := range m.Arch.Layers {
					if l.Kind == KindConv {
						groups = append(groups, max(l.Groups, 1))
					}
				}
				if fmt.Sprint(groups) != "[1 2 1 2 2]" {
					t.Errorf("convolution groups %v, want [1 2 1 2 2]", groups)
				}
				ptWantPools(t, m.Arch, false)
			}},
		{file: "caffe_zfnet.onnx", format: "onnx", layout: "onnx", arch: "onnx:caffe_zfnet", preset: PresetCaffe,
			// pads (0, 0, 1, 1): ONNX's output sizes, as ceil mode gives
			// them (pool5's 13 -> 6 is floor mode's too: the same windows).
			check: func(t *testing.T, m *Model) { ptWantPoolSizes(t, m, 55, 13, 6) }},
		// zfnet's own names do not say the strides or pooling: the file
		// loads with the architecture named (TestPretrainedOursAmbiguous).
		{file: "ours.npz", opt: ImportOptions{Arch: "zfnet"}, format: "npz", layout: "zfnet", arch: "zfnet", preset: ""},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join(ptDir, c.file)
			m, info, err := Import(path, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != c.format || info.Layout != c.layout {
				t.Errorf("format %q layout %q, want %q %q", info.Format, info.Layout, c.format, c.layout)
			}
			a := m.Arch
			if a.Name != c.arch || a.Input != in224 || a.Classes != 10 || a.Preprocess != c.preset {
				t.Errorf("arch %q input %v classes %d preset %q, want %q %v 10 %q", a.Name, a.Input, a.Classes, a.Preprocess, c.arch, in224, c.preset)
			}
			for ours, key := range c.renamed {
				if info.Renamed[ours] != key {
					t.Errorf("%s came from %q, want %q", ours, info.Renamed[ours], key)
				}
			}
			if c.check != nil {
				c.check(t, m)
			}
			stem := strings.TrimSuffix(c.file, filepath.Ext(c.file))
			if c.format == "safetensors" {
				stem += "_safetensors"
			}
			want := exp.Arrays.ByName[stem]
			if want == nil {
				t.Fatalf("expected.npz has no logits %q", stem)
			}
			worst := ptCloseLogits(t, c.file, ptLogits(t, m, x), want.Data)
			t.Logf("%s: %s as %s, worst |logit - PyTorch| / max|logit| = %.2g", c.file, info.Layout, a.Name, worst)
		})
	}
}

// TestPretrainedOursAmbiguous: weights under zfnet's names (conv1.weight,
// ..., fc8.bias) with the kernels 7, 5, 3, 3, 3 fit zfnet, zfnet-fig3,
// zfnet-pytorchcv and zfnetb-pytorchcv alike, which differ in pooling and
// normalization, and nothing in the file (no checkpoint beside it, no
// metadata) says which: Import must not guess, and says to give --arch.
func TestPretrainedOursAmbiguous(t *testing.T) {
	path := filepath.Join(ptDir, "ours.npz")
	m, _, err := Import(path, ImportOptions{})
	if err == nil {
		t.Fatalf("%s loaded as %s without --arch, though zfnet-pytorchcv fits it too", path, m.Arch.Name)
	}
	ptWantErr(t, "zfnet-named weights", err, path, "zfnet-pytorchcv", "zfnet-fig3", "--arch")
}

// ptWantPools checks that every max pooling of the imported list has the
// wanted ceil mode.
func ptWantPools(t *testing.T, a Arch, ceil bool) {
	t.Helper()
	n := 0
	for _, l := range a.Layers {
		if l.Kind == KindMaxPool {
			n++
			if l.Ceil != ceil {
				t.Errorf("%s: ceil mode %v, want %v (%+v)", l.Name, l.Ceil, ceil, l)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d max poolings, want 3", n)
	}
}

// ptWantPoolSizes checks the max poolings' output sizes (square).
func ptWantPoolSizes(t *testing.T, m *Model, sizes ...int) {
	t.Helper()
	var got []int
	for i, l := range m.Arch.Layers {
		if l.Kind == KindMaxPool {
			got = append(got, m.shapes[i][1])
			if m.shapes[i][1] != m.shapes[i][2] {
				t.Errorf("%s: output %v is not square", l.Name, m.shapes[i])
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(sizes) {
		t.Errorf("max pooling outputs %v, want %v", got, sizes)
	}
}

// TestPretrainedSameWeights: the state_dict, the DataParallel checkpoint
// and the hand-written safetensors give bit-identical parameters; the
// float16 file gives the float16 values exactly.
func TestPretrainedSameWeights(t *testing.T) {
	load := func(file string) *Model {
		m, _, err := Import(filepath.Join(ptDir, file), ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	ref := load("tv_alexnet.pth")
	for _, file := range []string{"tv_alexnet_ckpt.pth", "tv_alexnet.safetensors", "tv_alexnet_half.pth"} {
		m := load(file)
		for i, p := range ref.Params() {
			q := m.Params()[i]
			if p.Name != q.Name || len(p.Data()) != len(q.Data()) {
				t.Fatalf("%s: parameter %d is %s %v, want %s %v", file, i, q.Name, q.Value.Shape(), p.Name, p.Value.Shape())
			}
			for j, v := range p.Data() {
				want := v
				if strings.Contains(file, "half") {
					want = ptRoundHalf(v)
				}
				if math.Float32bits(q.Data()[j]) != math.Float32bits(want) {
					t.Fatalf("%s: %s[%d] = %v, want %v", file, p.Name, j, q.Data()[j], want)
				}
			}
		}
	}
}

// ptRoundHalf rounds a float32 to the nearest float16 (ties to even),
// subnormals included (no overflow in the fixture's range).
func ptRoundHalf(v float32) float32 {
	if v == 0 {
		return v
	}
	_, e := math.Frexp(float64(v))       // v = f * 2^e, 0.5 <= |f| < 1
	ulp := math.Ldexp(1, max(e-11, -24)) // 11 significant bits; 2^-24 below float16's normals
	return float32(math.RoundToEven(float64(v)/ulp) * ulp)
}

// TestPretrainedOverride: --arch overrides the recognized table (widths
// still from the file); an ONNX file refuses one.
func TestPretrainedOverride(t *testing.T) {
	x, exp := ptExpected(t)
	m, _, err := Import(filepath.Join(ptDir, "pcv_zfnetb.pth"), ImportOptions{Arch: "zfnet-pytorchcv", Preprocess: PresetCaffe})
	if err != nil {
		t.Fatal(err)
	}
	if m.Arch.Name != "zfnet-pytorchcv" || m.Arch.Preprocess != PresetCaffe {
		t.Errorf("arch %s preset %s, want zfnet-pytorchcv caffe", m.Arch.Name, m.Arch.Preprocess)
	}
	ptCloseLogits(t, "pcv_zfnetb.pth as zfnet-pytorchcv", ptLogits(t, m, x), exp.Arrays.ByName["pcv_zfnetb"].Data)
	_, _, err = Import(filepath.Join(ptDir, "pcv_zfnet.pth"), ImportOptions{Arch: "alexnet-torchvision"})
	if err == nil {
		t.Error("a pytorchcv file loaded as alexnet-torchvision")
	} else {
		t.Logf("pytorchcv file as alexnet-torchvision: %v", err)
	}
	if _, _, err := Import(filepath.Join(ptDir, "caffe_alexnet.onnx"), ImportOptions{Arch: "alexnet"}); err == nil || !strings.Contains(err.Error(), "drop --arch") {
		t.Errorf("ONNX with --arch: %v", err)
	}
	if _, _, err := Import(filepath.Join(ptDir, "tv_alexnet.pth"), ImportOptions{Preprocess: "imagenet"}); err == nil || !strings.Contains(err.Error(), "unknown preprocessing") {
		t.Errorf("unknown preset: %v", err)
	}
}

// ptRewrite writes the arrays of a fixture, changed by edit, as a
// safetensors file in a temporary directory.
func ptRewrite(t *testing.T, file string, edit func(a *weights.Arrays)) string {
	t.Helper()
	f, err := weights.Read(filepath.Join(ptDir, file))
	if err != nil {
		t.Fatal(err)
	}
	a := weights.Arrays{ByName: map[string]*weights.Array{}}
	for _, n := range f.Arrays.Names {
		a.Names = append(a.Names, n)
		a.ByName[n] = f.Arrays.ByName[n]
	}
	edit(&a)
	path := filepath.Join(t.TempDir(), "edited.safetensors")
	if err := weights.WriteSafetensors(path, a); err != nil {
		t.Fatal(err)
	}
	return path
}

func ptWantErr(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: loaded", what)
		return
	}
	for _, s := range want {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%s: error %q does not say %q", what, err, s)
		}
	}
	t.Logf("%s: %v", what, err)
}

// TestPretrainedRefused: files of other networks are refused with an error
// naming the file and the key.
func TestPretrainedRefused(t *testing.T) {
	// A VGG state_dict matches no layout: the error lists what each layout
	// expects and what the file holds.
	vgg := filepath.Join(ptDir, "vgg_like.pth")
	_, _, err := Import(vgg, ImportOptions{})
	ptWantErr(t, "VGG state_dict", err, vgg, "match no known layout", "torchvision-alexnet: features.0.weight",
		"pytorchcv: features.stage1.unit1.conv.weight", "zfnet: conv1.weight", "features.0.weight [4 3 3 3]", "classifier.0.weight")

	// AlexNet with an extra tensor: named.
	path := ptRewrite(t, "tv_alexnet.pth", func(a *weights.Arrays) {
		a.Names = append(a.Names, "features.13.weight")
		a.ByName["features.13.weight"] = &weights.Array{Shape: []int{8}, Data: make([]float32, 8), DType: "float32"}
	})
	_, _, err = Import(path, ImportOptions{})
	ptWantErr(t, "AlexNet with an extra tensor", err, path, "features.13.weight", "alexnet-torchvision")

	// AlexNet with a missing tensor: named.
	path = ptRewrite(t, "tv_alexnet.pth", func(a *weights.Arrays) {
		delete(a.ByName, "features.8.bias")
		for i, n := range a.Names {
			if n == "features.8.bias" {
				a.Names = append(a.Names[:i:i], a.Names[i+1:]...)
				break
			}
		}
	})
	_, _, err = Import(path, ImportOptions{})
	ptWantErr(t, "AlexNet without features.8.bias", err, path, "features.8.bias")

	// A wrong kernel size: the key and the expected shape.
	path = ptRewrite(t, "tv_alexnet.pth", func(a *weights.Arrays) {
		a.ByName["features.3.weight"] = &weights.Array{Shape: []int{16, 8, 3, 3}, Data: make([]float32, 16*8*9), DType: "float32"}
	})
	_, _, err = Import(path, ImportOptions{})
	ptWantErr(t, "conv2 with 3x3 kernels", err, path, "features.3.weight", "[16 8 3 3]", "(out, in, 5, 5)")

	// A linear layer whose input matches no map count: the key's layer.
	path = ptRewrite(t, "pcv_zfnet.pth", func(a *weights.Arrays) {
		a.ByName["output.fc1.fc.weight"] = &weights.Array{Shape: []int{16, 287}, Data: make([]float32, 16*287), DType: "float32"}
	})
	_, _, err = Import(path, ImportOptions{})
	ptWantErr(t, "fc6 reading 287 features", err, path, "287")

	// Names of nothing known.
	path = ptRewrite(t, "tv_alexnet.pth", func(a *weights.Arrays) {
		*a = weights.Arrays{Names: []string{"encoder.weight"}, ByName: map[string]*weights.Array{
			"encoder.weight": {Shape: []int{2, 2}, Data: make([]float32, 4), DType: "float32"}}}
	})
	_, _, err = Import(path, ImportOptions{})
	ptWantErr(t, "unknown names", err, path, "match no known layout", "torchvision-alexnet", "pytorchcv", "zfnet", "encoder.weight [2 2]")
}

// TestPretrainedONNXEdges: small graphs on the edges of the ONNX reader
// (testdata/pretrained/edge_*.onnx). Gemm with transB=0 and MatMul+Add
// load and give ONNX's logits; pooling with asymmetric pads and LRN of
// even size either give ONNX's logits or are refused naming the node,
// never a different network (a convolution and global average pooling
// follow each, so a wrong size would not fail by itself).
func TestPretrainedONNXEdges(t *testing.T) {
	_, exp := ptExpected(t)
	for _, c := range []struct {
		name       string
		mustLoad   bool
		refusedFor string // what the error must say when refused
	}{
		{"gemm_transb0", true, ""},
		{"matmul_add", true, ""},
		{"avgpool_pads", true, ""},
		{"maxpool_s3_pads", false, "MaxPool"},
		{"avgpool_pads_count", false, "AveragePool"},
		{"lrn_even", false, "LRN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(ptDir, "edge_"+c.name+".onnx")
			// Not 3 colour channels: the preset is named.
			m, _, err := Import(path, ImportOptions{Preprocess: PresetZFNet})
			if err != nil {
				if c.mustLoad {
					t.Fatal(err)
				}
				ptWantErr(t, c.name, err, path, c.refusedFor)
				return
			}
			x, want := exp.Arrays.ByName["edge_"+c.name+"_x"], exp.Arrays.ByName["edge_"+c.name]
			if x == nil || want == nil {
				t.Fatalf("expected.npz lacks edge_%s", c.name)
			}
			worst := ptCloseLogits(t, c.name, ptLogits(t, m, x.Data), want.Data)
			t.Logf("%s: loaded, worst |logit - ONNX| / max|logit| = %.2g", c.name, worst)
		})
	}
}
