package weights

import (
	"archive/zip"
	"bytes"
	"path/filepath"
	"reflect"
	"testing"
)

func TestReadNpzFixture(t *testing.T) {
	for _, name := range []string{"arrays.npz", "arrays_compressed.npz"} {
		p := filepath.Join("testdata", name)
		f, err := Read(p)
		if err != nil {
			t.Fatal(err)
		}
		if f.Format != "npz" {
			t.Errorf("%s: format %s", name, f.Format)
		}
		if want := []string{"conv1.weight", "conv1.bias", "half", "fortran"}; !reflect.DeepEqual(f.Arrays.Names, want) {
			t.Errorf("%s: names %v, want %v", name, f.Arrays.Names, want)
		}
		if c := f.Ints.ByName["count"]; c == nil || !reflect.DeepEqual(c.Data, []int64{9}) || len(c.Shape) != 0 {
			t.Errorf("%s: count %+v", name, c)
		}
		if d := f.Arrays.ByName["half"].DType; d != "float16" {
			t.Errorf("half: dtype %s", d)
		}
		checkAgainstExpect(t, f, "arrays", "")
	}
}

func TestNpzRoundTrip(t *testing.T) {
	a := Arrays{Names: []string{"w", "s", "v"}, ByName: map[string]*Array{
		"w": {Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}},
		"s": {Shape: []int{}, Data: []float32{-1}},
		"v": {Shape: []int{3}, Data: []float32{0.5, 0.25, 0.125}},
	}}
	p := filepath.Join(t.TempDir(), "w.npz")
	if err := WriteNpz(p, a); err != nil {
		t.Fatal(err)
	}
	f, err := ReadNpz(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Arrays.Names, a.Names) {
		t.Errorf("names %v", f.Arrays.Names)
	}
	for _, n := range a.Names {
		sameArray(t, n, f.Arrays.ByName[n], a.ByName[n].Shape, a.ByName[n].Data)
	}
}

func npzOf(t *testing.T, members map[string][]byte, method uint16) []byte {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for name, b := range members {
		w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	z.Close()
	return buf.Bytes()
}

func npyBytes(header string, data []byte) []byte {
	b := []byte("\x93NUMPY\x01\x00")
	b = append(b, byte(len(header)), byte(len(header)>>8))
	return append(append(b, header...), data...)
}

func TestNpzHostile(t *testing.T) {
	cases := []struct {
		name   string
		member []byte
		want   string
	}{
		{"magic", []byte("hello world!"), "not a .npy"},
		{"object", npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n", nil), "object arrays"},
		{"overflow", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }\n", nil), "overflows"},
		{"lying", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000,), }\n", make([]byte, 8)), "needs 4000000000 bytes"},
		{"short", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", make([]byte, 8)), "needs 12 bytes"},
		{"malformed", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,", nil), "malformed"},
		{"unknownkey", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}\n", nil), "unknown key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, method := range []uint16{zip.Store, zip.Deflate} {
				p := writeTemp(t, c.name+".npz", npzOf(t, map[string][]byte{"bad.npy": c.member}, method))
				mustFail(t, ReadNpz, p, p+": member bad.npy", c.want)
			}
		})
	}
	p := writeTemp(t, "notnpy.npz", npzOf(t, map[string][]byte{"x.txt": []byte("hi")}, zip.Store))
	mustFail(t, ReadNpz, p, "x.txt", "not a .npy")
	p = writeTemp(t, "garbage.npz", []byte("PK\x03\x04garbage"))
	mustFail(t, ReadNpz, p, "expected a NumPy .npz")
}
