package weights

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func checkTiny(t *testing.T, f *File, prefix string) {
	t.Helper()
	if f.Format != "onnx" || f.Graph == nil {
		t.Fatalf("format %q graph %v", f.Format, f.Graph)
	}
	if want := []string{"conv1.weight", "conv1.bias", "fc.weight", "fc.bias"}; !reflect.DeepEqual(f.Arrays.Names, want) {
		t.Errorf("names %v, want %v", f.Arrays.Names, want)
	}
	checkAgainstExpect(t, f, prefix, "")
	if s := f.Ints.ByName["shape"]; s == nil || !reflect.DeepEqual(s.Data, []int64{1, -1}) || s.DType != "int64" {
		t.Errorf("shape initializer: %+v", s)
	}
	g := f.Graph
	if want := []ValueInfo{{Name: "x", Shape: []int64{-1, 3, 6, 6}, ElemType: "float32"}}; !reflect.DeepEqual(g.Inputs, want) {
		t.Errorf("inputs %+v", g.Inputs)
	}
	if want := []ValueInfo{{Name: "y", Shape: []int64{-1, 5}, ElemType: "float32"}}; !reflect.DeepEqual(g.Outputs, want) {
		t.Errorf("outputs %+v", g.Outputs)
	}
	var ops []string
	for _, n := range g.Nodes {
		ops = append(ops, n.Op)
	}
	if want := []string{"Conv", "Relu", "LRN", "MaxPool", "Flatten", "Dropout", "Gemm", "Softmax"}; !reflect.DeepEqual(ops, want) {
		t.Errorf("ops %v", ops)
	}
	conv := g.Nodes[0]
	if conv.Name != "conv1" || !reflect.DeepEqual(conv.Inputs, []string{"x", "conv1.weight", "conv1.bias"}) || !reflect.DeepEqual(conv.Outputs, []string{"c1"}) {
		t.Errorf("conv node %+v", conv)
	}
	if a := conv.Attrs["pads"]; a.Kind != "ints" || !reflect.DeepEqual(a.Ints, []int64{1, 1, 1, 1}) {
		t.Errorf("pads %+v", a)
	}
	lrn := g.Nodes[2].Attrs
	if lrn["size"].Kind != "int" || lrn["size"].Int != 3 || lrn["alpha"].Kind != "float" || lrn["alpha"].Float != 1e-4 || lrn["beta"].Float != 0.75 || lrn["bias"].Float != 2 {
		t.Errorf("LRN attrs %+v", lrn)
	}
	if a := g.Nodes[6].Attrs["transB"]; a.Kind != "int" || a.Int != 1 {
		t.Errorf("Gemm transB %+v", a)
	}
}

func TestReadONNX(t *testing.T) {
	for _, c := range []struct{ path, prefix string }{
		{"testdata/tiny.onnx", "tiny"},
		{"testdata/tiny_float_data.onnx", "tiny_float_data"},
		{"testdata/external/tiny_external.onnx", "tiny_external"},
	} {
		t.Run(c.prefix, func(t *testing.T) {
			f, err := Read(c.path)
			if err != nil {
				t.Fatal(err)
			}
			checkTiny(t, f, c.prefix)
		})
	}
}

// Protobuf builders for hand-made models.
func pbBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func pbVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func model(inits ...[]byte) []byte {
	var g []byte
	for _, t := range inits {
		g = pbBytes(g, 5, t)
	}
	return pbBytes(nil, 7, g)
}

// tensorPB is a TensorProto; extra is appended as is.
func tensorPB(name string, dtype uint64, dims []uint64, extra []byte) []byte {
	t := pbBytes(nil, 8, []byte(name))
	t = pbVarint(t, 2, dtype)
	for _, d := range dims {
		t = pbVarint(t, 1, d)
	}
	return append(t, extra...)
}

func extEntry(k, v string) []byte {
	return pbBytes(nil, 13, pbBytes(pbBytes(nil, 1, []byte(k)), 2, []byte(v)))
}

func TestReadONNXUnpackedAndTyped(t *testing.T) {
	// Unpacked float_data, packed and unpacked int64_data, float16 in
	// int32_data, double_data.
	var unpacked []byte
	for _, v := range []float32{1.5, -2} {
		unpacked = protowire.AppendTag(unpacked, 4, protowire.Fixed32Type)
		unpacked = protowire.AppendFixed32(unpacked, mathFloat32bits(v))
	}
	packedInts := pbBytes(nil, 7, protowire.AppendVarint(protowire.AppendVarint(nil, 5), uint64(1<<64-3)))
	unpackedInts := pbVarint(pbVarint(nil, 7, 5), 7, uint64(1<<64-3))
	half := pbVarint(pbVarint(nil, 5, 0x3c00), 5, 0xc000) // 1, -2
	dbl := protowire.AppendTag(nil, 10, protowire.Fixed64Type)
	dbl = protowire.AppendFixed64(dbl, mathFloat64bits(0.25))
	p := writeTemp(t, "m.onnx", model(
		tensorPB("f", 1, []uint64{2}, unpacked),
		tensorPB("ip", 7, []uint64{2}, packedInts),
		tensorPB("iu", 7, []uint64{2}, unpackedInts),
		tensorPB("h", 10, []uint64{2}, half),
		tensorPB("d", 11, []uint64{1, 1}, dbl),
	))
	f, err := ReadONNX(p)
	if err != nil {
		t.Fatal(err)
	}
	if a := f.Arrays.ByName["f"]; !reflect.DeepEqual(a.Data, []float32{1.5, -2}) {
		t.Errorf("f %+v", a)
	}
	for _, n := range []string{"ip", "iu"} {
		if a := f.Ints.ByName[n]; !reflect.DeepEqual(a.Data, []int64{5, -3}) {
			t.Errorf("%s %+v", n, a)
		}
	}
	if a := f.Arrays.ByName["h"]; !reflect.DeepEqual(a.Data, []float32{1, -2}) || a.DType != "float16" {
		t.Errorf("h %+v", a)
	}
	if a := f.Arrays.ByName["d"]; !reflect.DeepEqual(a.Data, []float32{0.25}) || !reflect.DeepEqual(a.Shape, []int{1, 1}) {
		t.Errorf("d %+v", a)
	}
}

func TestReadONNXHostile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "w.data"), make([]byte, 16), 0o644)
	outside := filepath.Join(t.TempDir(), "secret.data")
	os.WriteFile(outside, make([]byte, 16), 0o644)
	os.Symlink(outside, filepath.Join(dir, "link.data"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	ext := func(kv ...string) []byte {
		b := pbVarint(nil, 14, 1)
		for i := 0; i < len(kv); i += 2 {
			b = append(b, extEntry(kv[i], kv[i+1])...)
		}
		return b
	}
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"garbage", []byte{0xff, 0xff, 0xff}, "not an ONNX model"},
		{"nograph", pbVarint(nil, 1, 8), "no graph"},
		{"truncated", model(tensorPB("w", 1, []uint64{4}, pbBytes(nil, 9, make([]byte, 16))))[:20], "not an ONNX model"},
		{"raw short", model(tensorPB("w", 1, []uint64{4}, pbBytes(nil, 9, make([]byte, 12)))), `tensor "w": raw_data holds 12 bytes, float32 [4] needs 16`},
		{"dims lie", model(tensorPB("w", 1, []uint64{1 << 40}, nil)), `tensor "w": float_data holds 0 values`},
		{"dims overflow", model(tensorPB("w", 1, []uint64{1 << 40, 1 << 40}, nil)), "overflows"},
		{"negative dim", model(tensorPB("w", 1, []uint64{1<<64 - 1}, nil)), "bad dimension"},
		{"dtype", model(tensorPB("w", 8, []uint64{1}, nil)), "unsupported data_type string"},
		{"dup", model(tensorPB("w", 1, []uint64{}, pbBytes(nil, 9, make([]byte, 4))), tensorPB("w", 1, []uint64{}, pbBytes(nil, 9, make([]byte, 4)))), "twice"},
		{"escape", model(tensorPB("w", 1, []uint64{4}, ext("location", "../secret.data"))), `location "../secret.data" leaves the model's folder`},
		{"absolute", model(tensorPB("w", 1, []uint64{4}, ext("location", outside))), "leaves the model's folder"},
		{"symlink", model(tensorPB("w", 1, []uint64{4}, ext("location", "link.data"))), "links outside"},
		{"ext past", model(tensorPB("w", 1, []uint64{4}, ext("location", "w.data", "offset", "8"))), "run past"},
		{"ext length", model(tensorPB("w", 1, []uint64{4}, ext("location", "w.data", "length", "8"))), "length 8, the tensor needs 16"},
		{"ext overlap", model(tensorPB("a", 1, []uint64{4}, ext("location", "w.data")), tensorPB("b", 1, []uint64{4}, ext("location", "w.data"))), "overlap"},
		{"ext dir", model(tensorPB("w", 1, []uint64{4}, ext("location", "sub"))), "not a regular file"},
		{"ext missing", model(tensorPB("w", 1, []uint64{4}, ext("location", "nope.data"))), "nope.data"},
		{"packed floats", model(tensorPB("w", 1, []uint64{1}, pbBytes(nil, 4, make([]byte, 5)))), "not a multiple of 4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".onnx")
			os.WriteFile(p, c.file, 0o644)
			mustFail(t, ReadONNX, p, p+":", c.want)
		})
	}
	// The fixture cut short anywhere fails cleanly.
	b, _ := os.ReadFile("testdata/tiny.onnx")
	for n := 1; n < len(b); n += 97 {
		p := writeTemp(t, "cut.onnx", b[:n])
		if _, err := ReadONNX(p); err == nil {
			t.Errorf("cut at %d: no error", n)
		}
	}
}

func TestReadONNXTorchExport(t *testing.T) {
	f, err := Read("testdata/exported.onnx")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"conv1.weight", "conv1.bias", "fc.weight", "fc.bias"}; !reflect.DeepEqual(f.Arrays.Names, want) {
		t.Errorf("names %v", f.Arrays.Names)
	}
	checkAgainstExpect(t, f, "exported", "")
	g := f.Graph
	if want := []ValueInfo{{Name: "image", Shape: []int64{-1, 3, 8, 8}, ElemType: "float32"}}; !reflect.DeepEqual(g.Inputs, want) {
		t.Errorf("inputs %+v", g.Inputs)
	}
	var ops []string
	var consts []*Array
	for _, n := range g.Nodes {
		ops = append(ops, n.Op)
		if n.Op == "Constant" {
			consts = append(consts, n.Attrs["value"].Tensor)
		}
	}
	want := []string{"Conv", "Relu", "MaxPool", "Shape", "Constant", "Gather", "Constant", "Unsqueeze", "Constant", "Concat", "Reshape", "Gemm", "Softmax"}
	if !reflect.DeepEqual(ops, want) {
		t.Errorf("ops %v", ops)
	}
	// The Concat's constant is the -1 of reshape(x.shape[0], -1), an int64.
	if c := consts[2]; c == nil || c.DType != "int64" || !reflect.DeepEqual(c.Data, []float32{-1}) {
		t.Errorf("constant %+v", c)
	}
	if a := g.Nodes[0].Attrs["strides"]; !reflect.DeepEqual(a.Ints, []int64{2, 2}) {
		t.Errorf("conv strides %+v", a)
	}
}

func TestReadDispatch(t *testing.T) {
	b, _ := os.ReadFile("testdata/tiny.onnx")
	p := writeTemp(t, "model.weights", b) // no .onnx extension: told by its first field
	if f, err := Read(p); err != nil || f.Format != "onnx" {
		t.Errorf("ONNX without its extension: %v", err)
	}
	p = writeTemp(t, "notes.txt", []byte("hello"))
	mustFail(t, Read, p, p+": not a weight file")
	p = writeTemp(t, "x.zip", npzOf(t, map[string][]byte{"readme.txt": []byte("hi")}, 0))
	mustFail(t, Read, p, "neither data.pkl")
}
