package weights

import (
	"archive/zip"
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
)

var torchNames = []string{"conv1.weight", "conv1.bias", "fc.weight", "fc.t", "bn.running_mean", "bf", "scalar"}

func checkStateDict(t *testing.T, f *File) {
	t.Helper()
	if f.Format != "pth" {
		t.Errorf("format %q", f.Format)
	}
	if !reflect.DeepEqual(f.Arrays.Names, torchNames) {
		t.Errorf("names %v, want %v", f.Arrays.Names, torchNames)
	}
	if n := checkAgainstExpect(t, f, "state_dict", ""); n != len(torchNames) {
		t.Errorf("%d expectations for %d tensors", n, len(torchNames))
	}
	for name, dt := range map[string]string{"conv1.weight": "float32", "conv1.bias": "float16", "fc.weight": "float64", "bf": "bfloat16"} {
		if a := f.Arrays.ByName[name]; a == nil || a.DType != dt {
			t.Errorf("%s: %+v, want dtype %s", name, a, dt)
		}
	}
	nb := f.Ints.ByName["bn.num_batches_tracked"]
	if nb == nil || nb.DType != "int64" || !reflect.DeepEqual(nb.Data, []int64{17}) || len(nb.Shape) != 0 {
		t.Errorf("num_batches_tracked: %+v", nb)
	}
}

func TestReadTorchStateDict(t *testing.T) {
	f, err := ReadTorch("testdata/state_dict.pth")
	if err != nil {
		t.Fatal(err)
	}
	checkStateDict(t, f)
	if g, err := Read("testdata/state_dict.pth"); err != nil || g.Format != "pth" {
		t.Errorf("Read: %v", err)
	}
}

func TestReadTorchCheckpoint(t *testing.T) {
	f, err := Read("testdata/checkpoint.pth")
	if err != nil {
		t.Fatal(err)
	}
	checkStateDict(t, f)
}

func TestReadTorchLegacy(t *testing.T) {
	f, err := Read("testdata/legacy.pth")
	if err != nil {
		t.Fatal(err)
	}
	checkStateDict(t, f)
}

func TestReadTorchRefusesCode(t *testing.T) {
	mustFail(t, ReadTorch, "testdata/evil.pth",
		"testdata/evil.pth: data.pkl asks for class posix.system; a weight file only needs torch tensors and dicts")
	mustFail(t, Read, "testdata/evil_eval.pth", "data.pkl asks for class builtins.eval")
	// The same pickle as a legacy file.
	b := append([]byte{}, legacyTorchMagic...)
	b = append(b, '.')
	b = append(b, "\x80\x02M\xe9\x03."...)       // 1001
	b = append(b, "\x80\x02}."...)               // sys info
	b = append(b, "\x80\x02cos\nsystem\n)R."...) // os.system()
	p := writeTemp(t, "evil_legacy.pth", b)
	mustFail(t, ReadTorch, p, "asks for class os.system")
}

// pthWith builds a zip torch file from data.pkl and storages.
func pthWith(t testing.TB, pkl []byte, storages map[string][]byte) []byte {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	w, _ := z.CreateHeader(&zip.FileHeader{Name: "archive/data.pkl", Method: zip.Store})
	w.Write(pkl)
	for k, v := range storages {
		w, _ := z.CreateHeader(&zip.FileHeader{Name: "archive/data/" + k, Method: zip.Store})
		w.Write(v)
	}
	z.Close()
	return buf.Bytes()
}

// tensorPickle is {name: _rebuild_tensor_v2(FloatStorage key "0" of numel,
// offset, size, stride)} in protocol 2, sizes as BININT (4 bytes).
func tensorPickle(numel, offset int, size, stride []int) []byte {
	i4 := func(v int) []byte { return []byte{'J', byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
	p := []byte("\x80\x02}X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu")
	p = append(p, i4(numel)...)
	p = append(p, "tQ"...)
	p = append(p, i4(offset)...)
	p = append(p, '(')
	for _, s := range size {
		p = append(p, i4(s)...)
	}
	p = append(p, "t("...)
	for _, s := range stride {
		p = append(p, i4(s)...)
	}
	p = append(p, "t\x89NtRs."...)
	return p
}

func TestReadTorchHostile(t *testing.T) {
	good := tensorPickle(6, 0, []int{2, 3}, []int{3, 1})
	f, err := ReadTorch(writeTemp(t, "good.pth", pthWith(t, good, map[string][]byte{"0": make([]byte, 24)})))
	if err != nil {
		t.Fatalf("the hand-made pickle itself: %v", err)
	}
	if w := f.Arrays.ByName["w"]; w == nil || !reflect.DeepEqual(w.Shape, []int{2, 3}) {
		t.Fatalf("w: %+v", w)
	}
	cases := []struct {
		name     string
		pkl      []byte
		storages map[string][]byte
		want     string
	}{
		{"missing storage", good, nil, "member archive/data/0 is missing"},
		{"short storage", good, map[string][]byte{"0": make([]byte, 20)}, "holds 20 bytes"},
		{"past storage", tensorPickle(6, 2, []int{2, 3}, []int{3, 1}), map[string][]byte{"0": make([]byte, 24)}, `tensor "w": size [2 3], stride [3 1] and offset 2 reach past`},
		{"stride past", tensorPickle(6, 0, []int{2, 3}, []int{1, 3}), map[string][]byte{"0": make([]byte, 24)}, "reach past"},
		{"huge stride", tensorPickle(6, 0, []int{2, 3}, []int{1 << 30, 1}), map[string][]byte{"0": make([]byte, 24)}, "reach past"},
		{"overflow", tensorPickle(6, 0, []int{1 << 30, 1 << 30, 1 << 30}, []int{0, 0, 0}), map[string][]byte{"0": make([]byte, 24)}, "overflows"},
		{"broadcast bomb", tensorPickle(6, 0, []int{1 << 30, 1 << 20}, []int{0, 0}), map[string][]byte{"0": make([]byte, 24)}, "more elements than a file"},
		{"truncated", good[:len(good)-3], map[string][]byte{"0": make([]byte, 24)}, "pickle ends without STOP"},
		{"huge binbytes", []byte("\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f."), nil, "wants 9223372036854775807 bytes"},
		{"huge frame", []byte("\x80\x04\x95\xff\xff\xff\xff\x00\x00\x00\x00."), nil, "wants 4294967295 bytes"},
		{"list", []byte("\x80\x02]."), nil, "not a dict of tensors"},
		{"empty", []byte("\x80\x02}."), nil, "no tensors found"},
		{"bad opcode", []byte("\x80\x02\xff."), nil, "unknown"},
		{"stack underflow", []byte("\x80\x02s."), nil, "not a readable pickle"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeTemp(t, "bad.pth", pthWith(t, c.pkl, c.storages))
			mustFail(t, ReadTorch, p, p+":", c.want)
		})
	}
	p := writeTemp(t, "junk.pth", []byte("not a torch file at all"))
	mustFail(t, ReadTorch, p, "not a torch.save file")
}

func TestReadTorchTruncatedFixtures(t *testing.T) {
	for _, name := range []string{"state_dict.pth", "legacy.pth"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 1, 10, len(b) / 3, len(b) / 2, len(b) - 100, len(b) - 1} {
			p := writeTemp(t, name, b[:n])
			if _, err := ReadTorch(p); err == nil || !strings.Contains(err.Error(), p) {
				t.Errorf("%s cut at %d: %v", name, n, err)
			}
		}
	}
}

func TestReadTorchRefusesBypassModules(t *testing.T) {
	// STACK_GLOBAL copy_reg._reconstructor, which gopickle would resolve
	// without asking FindClass.
	p := writeTemp(t, "reconstructor.pth", pthWith(t, []byte("\x80\x04\x8c\x08copy_reg\x8c\x0e_reconstructor\x93)R."), nil))
	mustFail(t, ReadTorch, p, "data.pkl asks for module copy_reg")
	p = writeTemp(t, "object.pth", pthWith(t, []byte("\x80\x04\x8c\x0b__builtin__\x8c\x06object\x93)R."), nil))
	mustFail(t, ReadTorch, p, "data.pkl asks for module __builtin__")
	p = writeTemp(t, "global.pth", pthWith(t, []byte("ccopy_reg\n_reconstructor\n)R."), nil))
	mustFail(t, ReadTorch, p, "data.pkl asks for class copy_reg._reconstructor")
}

func TestReadTorchModuleStateDict(t *testing.T) {
	f, err := Read("testdata/module_state.pth")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "4.weight", "4.bias"}
	if !reflect.DeepEqual(f.Arrays.Names, want) {
		t.Errorf("names %v, want %v", f.Arrays.Names, want)
	}
	checkAgainstExpect(t, f, "module_state", "")
	if nb := f.Ints.ByName["1.num_batches_tracked"]; nb == nil || nb.DType != "int64" {
		t.Errorf("num_batches_tracked %+v", nb)
	}
}

func TestReadTorchParameters(t *testing.T) {
	f, err := Read("testdata/parameters.pth")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"}
	if !reflect.DeepEqual(f.Arrays.Names, want) {
		t.Errorf("names %v, want %v", f.Arrays.Names, want)
	}
	for _, n := range want {
		shape, v := expected(t, "module_state", n)
		sameArray(t, n, f.Arrays.ByName[n], shape, v)
	}
}
