package weights

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// expected reads testdata/expect/PREFIX__NAME.npy, the float32 values
// gen_fixtures.py says a reader must produce.
func expected(t *testing.T, prefix, name string) ([]int, []float32) {
	t.Helper()
	p := filepath.Join("testdata", "expect", prefix+"__"+name+".npy")
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := readNpyHeader(f)
	if err != nil || h.dtype != "float32" {
		t.Fatalf("%s: %v %v", p, err, h)
	}
	n, _ := numel(h.shape)
	raw := make([]byte, 4*n)
	if _, err := f.Read(raw); err != nil && n > 0 {
		t.Fatal(err)
	}
	v := make([]float32, n)
	decodeFloats(v, raw, "float32", false)
	if h.shape == nil {
		h.shape = []int{}
	}
	return h.shape, v
}

// sameArray compares an array with its expectation bit for bit.
func sameArray(t *testing.T, what string, a *Array, shape []int, want []float32) {
	t.Helper()
	if a == nil {
		t.Errorf("%s: missing", what)
		return
	}
	got := a.Shape
	if got == nil {
		got = []int{}
	}
	if !reflect.DeepEqual(got, shape) {
		t.Errorf("%s: shape %v, want %v", what, a.Shape, shape)
		return
	}
	for i := range want {
		if math.Float32bits(a.Data[i]) != math.Float32bits(want[i]) {
			t.Errorf("%s[%d] = %v, want %v", what, i, a.Data[i], want[i])
			return
		}
	}
}

// checkAgainstExpect compares every expectation file of prefix with f.
func checkAgainstExpect(t *testing.T, f *File, prefix string, stripPrefix string) int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "expect", prefix+"__*.npy"))
	if len(files) == 0 {
		t.Fatalf("no expectations for %s", prefix)
	}
	for _, p := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), prefix+"__"), ".npy")
		shape, want := expected(t, prefix, name)
		sameArray(t, prefix+" "+name, f.Arrays.ByName[stripPrefix+name], shape, want)
	}
	return len(files)
}

// mustFail reads path with read and wants an error containing every want.
func mustFail(t *testing.T, read func(string) (*File, error), path string, want ...string) {
	t.Helper()
	f, err := read(path)
	if err == nil {
		t.Fatalf("%s: read %d arrays, want an error", path, len(f.Arrays.Names))
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not say %q", path, err, w)
		}
	}
}

// writeTemp writes b to a file named name in a test folder.
func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mathFloat32bits(f float32) uint32 { return math.Float32bits(f) }
func mathFloat64bits(f float64) uint64 { return math.Float64bits(f) }
