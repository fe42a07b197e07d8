package zfnet

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/zfnet/weights"
)

// tinyArch is ZFNet's stage structure on a 1x20x20 input (pool5 6x2x2,
// so the flatten order before fc6 matters); the PyTorch module of
// testdata/gen_state_dict.py has the same layers and names.
func tinyArch() Arch {
	return Arch{Name: "tiny", Input: [3]int{1, 20, 20}, Classes: 3,
		Convs: []ConvStage{
			{Out: 4, Kernel: 3, Stride: 1, Pad: 1, LRN: true, Pool: pool3s2p1},
			{Out: 6, Kernel: 3, Stride: 1, Pad: 1, LRN: true, Pool: pool3s2p1},
			{Out: 8, Kernel: 3, Stride: 1, Pad: 1},
			{Out: 8, Kernel: 3, Stride: 1, Pad: 1},
			{Out: 6, Kernel: 3, Stride: 1, Pad: 1, Pool: pool3s2},
		},
		FCs: []FC{{10, 0.5}, {10, 0.5}, {0, 0}},
	}
}

func readNpyFile(t *testing.T, path string) *data.NpyArray {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := data.ReadNpyArray(f, path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestPyTorchStateDictLoads loads weights that PyTorch wrote with
// numpy.savez(state_dict) and checks our forward pass against PyTorch's
// logits on the same input. Tolerance: 1e-4 absolute + 1e-4 relative, float32
// through eight layers.
func TestPyTorchStateDictLoads(t *testing.T) {
	m, err := New(tinyArch())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadWeights("testdata/tiny_state_dict.npz"); err != nil {
		t.Fatal(err)
	}
	x := readNpyFile(t, "testdata/tiny_input.npy")
	want := readNpyFile(t, "testdata/tiny_logits.npy")
	p, err := NewPredictor(m, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got, err := p.Logits(x.Data)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want.Data {
		if d := math.Abs(float64(got[i] - w)); d > 1e-4+1e-4*math.Abs(float64(w)) {
			t.Errorf("logit %d: got %v, PyTorch %v", i, got[i], w)
		}
	}
	// The fixture can tell flatten orders apart: pool5 is larger than 1x1,
	// and fc6's columns permuted from C,H,W to H,W,C order give logits
	// PyTorch does not.
	_, i := m.Layer("pool5")
	if s := m.shapes[i]; s[1]*s[2] < 4 {
		t.Fatalf("pool5 output %v: a 1x1 plane cannot tell flatten orders apart", s)
	}
	s := m.shapes[i]
	w6 := m.Param("fc6.weight").Data()
	in := s[0] * s[1] * s[2]
	perm := append([]float32(nil), w6...)
	for o := 0; o < len(w6)/in; o++ {
		for c := 0; c < s[0]; c++ {
			for yx := 0; yx < s[1]*s[2]; yx++ {
				perm[o*in+yx*s[0]+c] = w6[o*in+c*s[1]*s[2]+yx]
			}
		}
	}
	copy(w6, perm)
	hwc, err := p.Logits(x.Data)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, w := range want.Data {
		worst = math.Max(worst, math.Abs(float64(hwc[i]-w)))
	}
	if worst < 1e-2 {
		t.Errorf("fc6 read in H,W,C order still matches PyTorch (largest difference %g): the fixture does not test the flatten order", worst)
	}
}

func TestWeightsRoundTripAndMismatches(t *testing.T) {
	dir := t.TempDir()
	m, _ := New(tinyArch())
	if err := m.Initialize(InitHe, 3); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "w.npz")
	if err := m.SaveWeights(path); err != nil {
		t.Fatal(err)
	}
	m2, _ := New(tinyArch())
	if err := m2.LoadWeights(path); err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Params() {
		q := m2.Params()[i]
		for j := range p.Data() {
			if p.Data()[j] != q.Data()[j] {
				t.Fatalf("%s[%d] changed in the round trip", p.Name, j)
			}
		}
	}
	// Another architecture: every difference is named, and nothing loads.
	other := tinyArch()
	other.Convs[0].Out = 5
	m3, _ := New(other)
	before := append([]float32(nil), m3.Param("fc8.weight").Data()...)
	err := m3.LoadWeights(path)
	if err == nil {
		t.Fatal("loading into a different architecture succeeded")
	}
	for _, s := range []string{"conv1.weight: shape [4 1 3 3], expected [5 1 3 3]", "conv2.weight: shape [6 4 3 3], expected [6 5 3 3]", path} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	for i, v := range m3.Param("fc8.weight").Data() {
		if v != before[i] {
			t.Fatal("a failed load changed the weights")
		}
	}
	if err := m.LoadWeights(filepath.Join(dir, "missing.npz")); err == nil || !strings.Contains(err.Error(), "missing.npz") {
		t.Errorf("missing file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.npz"), []byte("not a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.LoadWeights(filepath.Join(dir, "junk.npz")); err == nil || !strings.Contains(err.Error(), "expected a NumPy .npz") {
		t.Errorf("junk file: %v", err)
	}
}

// TestWeightsDtypeMismatch: a float64 array where float32 is expected is
// named with both dtypes.
func TestWeightsDtypeMismatch(t *testing.T) {
	m, _ := New(tinyArch())
	f, err := weights.ReadArchive("testdata/tiny_state_dict.npz")
	if err != nil {
		t.Fatal(err)
	}
	f.Arrays.ByName["fc8.bias"].DType = "float64"
	err = m.loadArrays(f, false)
	if err == nil || !strings.Contains(err.Error(), "fc8.bias: dtype float64, expected float32") {
		t.Fatalf("got %v", err)
	}
	delete(f.Arrays.ByName, "conv1.weight")
	f.Arrays.ByName["extra.weight"] = f.Arrays.ByName["fc8.weight"]
	f.Arrays.Names = append(f.Arrays.Names, "extra.weight")
	err = m.loadArrays(f, false)
	for _, s := range []string{"conv1.weight: missing", "extra.weight: not a parameter of tiny"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("error %v does not say %q", err, s)
		}
	}
}
