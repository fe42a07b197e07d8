package weights

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadSafetensorsFixture(t *testing.T) {
	f, err := ReadSafetensors("testdata/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != "safetensors" || f.Metadata["format"] != "pt" {
		t.Errorf("format %q metadata %v", f.Format, f.Metadata)
	}
	if want := []string{"conv1.weight", "conv1.bias", "fc.weight", "empty"}; !reflect.DeepEqual(f.Arrays.Names, want) {
		t.Errorf("names %v, want %v", f.Arrays.Names, want)
	}
	if got := f.Arrays.ByName["conv1.bias"].DType; got != "float16" {
		t.Errorf("conv1.bias dtype %s", got)
	}
	if got := f.Arrays.ByName["fc.weight"].DType; got != "float64" {
		t.Errorf("fc.weight dtype %s", got)
	}
	if s := f.Ints.ByName["steps"]; s == nil || s.DType != "int64" || !reflect.DeepEqual(s.Data, []int64{42}) {
		t.Errorf("steps: %+v", s)
	}
	checkAgainstExpect(t, f, "model_safetensors", "")
	g, err := Read("testdata/model.safetensors")
	if err != nil || g.Format != "safetensors" {
		t.Errorf("Read: %v", err)
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	a := Arrays{Names: []string{"b", "a", "scalar", "nan", "zero"}, ByName: map[string]*Array{
		"b":      {Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, 0, float32(math.Inf(-1)), 1e-42}},
		"a":      {Shape: []int{1}, Data: []float32{7}},
		"scalar": {Shape: []int{}, Data: []float32{3}},
		"nan":    {Shape: []int{2}, Data: []float32{math.Float32frombits(0x7fc00123), math.Float32frombits(0x80000000)}},
		"zero":   {Shape: []int{0, 4}, Data: []float32{}},
	}}
	dir := t.TempDir()
	p1, p2 := filepath.Join(dir, "1.safetensors"), filepath.Join(dir, "2.safetensors")
	if err := WriteSafetensors(p1, a); err != nil {
		t.Fatal(err)
	}
	f, err := ReadSafetensors(p1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Arrays.Names, a.Names) {
		t.Errorf("names %v, want %v", f.Arrays.Names, a.Names)
	}
	for _, n := range a.Names {
		sameArray(t, n, f.Arrays.ByName[n], a.ByName[n].Shape, a.ByName[n].Data)
		if f.Arrays.ByName[n].DType != "float32" {
			t.Errorf("%s: dtype %s", n, f.Arrays.ByName[n].DType)
		}
	}
	if err := WriteSafetensors(p2, f.Arrays); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(p1)
	b2, _ := os.ReadFile(p2)
	if !bytes.Equal(b1, b2) {
		t.Error("write(read(write(a))) differs from write(a)")
	}
	if n := binary.LittleEndian.Uint64(b1); (8+n)%8 != 0 {
		t.Errorf("data not 8-byte aligned: header %d", n)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("temp files left behind: %v", ents)
	}
	// Invalid input is refused before anything is written.
	bad := Arrays{Names: []string{"x"}, ByName: map[string]*Array{"x": {Shape: []int{2}, Data: []float32{1}}}}
	if err := WriteSafetensors(filepath.Join(dir, "bad.safetensors"), bad); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("bad arrays: %v", err)
	}
}

// st builds a safetensors file from a header and data.
func st(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestSafetensorsHostile(t *testing.T) {
	eight := make([]byte, 8)
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"short", []byte{1, 2}, "shorter than"},
		{"hugeheader", binary.LittleEndian.AppendUint64(nil, 1<<62), "runs past the end"},
		{"notjson", st("[1,2]", nil), "not a JSON object"},
		{"badjson", st(`{"a":`, nil), "malformed"},
		{"dtype", st(`{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}`, eight), `"a": unknown or unsupported dtype "C64"`},
		{"past", st(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, eight), "run past"},
		{"mismatch", st(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, eight), "needs 12"},
		{"overflow", st(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}`, eight), "overflows"},
		{"negative", st(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}`, eight), "bad dimension"},
		{"float dim", st(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}`, eight), "bad dimension"},
		{"offsets", st(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, eight), "bad data_offsets"},
		{"overlap", st(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight), "overlap"},
		{"dup", st(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight), "twice"},
		{"meta", st(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		{"noshape", st(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, eight), "no shape"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeTemp(t, c.name+".safetensors", c.file)
			mustFail(t, ReadSafetensors, p, p+":", c.want)
		})
	}
}
