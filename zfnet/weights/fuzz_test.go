package weights

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fuzz targets write the bytes to a temporary file and read it. A reader
// may fail, never panic (guard turns a panic into an error saying
// "panicked", which the targets report), and never return more elements than
// the file's bytes justify.

var fuzzSeeds = map[string][]string{
	"FuzzReadTorch":       {"state_dict.pth", "checkpoint.pth", "legacy.pth", "evil.pth", "evil_eval.pth", "module_state.pth"},
	"FuzzReadSafetensors": {"model.safetensors"},
	"FuzzReadONNX":        {"tiny.onnx", "tiny_float_data.onnx", "exported.onnx"},
	"FuzzReadNpz":         {"arrays.npz", "arrays_compressed.npz"},
}

func addSeeds(f *testing.F) {
	for _, name := range fuzzSeeds[f.Name()] {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// fuzzDir makes one folder per fuzz worker (t.TempDir per input is slow
// under coverage instrumentation).
func fuzzDir(f *testing.F) string {
	dir, err := os.MkdirTemp("", "weights-fuzz")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func fuzzRead(t *testing.T, dir string, read func(string) (*File, error), ext string, b []byte, ratio int) {
	p := filepath.Join(dir, "f"+ext)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := read(p)
	if err != nil {
		if strings.Contains(err.Error(), "panicked") {
			t.Fatal(err)
		}
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error does not name the file: %v", err)
		}
		return
	}
	total := 0
	for _, n := range f.Arrays.Names {
		a := f.Arrays.ByName[n]
		if want, err := numel(a.Shape); err != nil || want != len(a.Data) {
			t.Fatalf("%s: shape %v, %d values", n, a.Shape, len(a.Data))
		}
		total += len(a.Data)
	}
	for _, n := range f.Ints.Names {
		total += len(f.Ints.ByName[n].Data)
	}
	if total > ratio*len(b)+1<<16 {
		t.Fatalf("%d elements from %d bytes", total, len(b))
	}
}

func FuzzReadTorch(f *testing.F) {
	addSeeds(f)
	dir := fuzzDir(f)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, dir, ReadTorch, ".pth", b, 2) })
}

func FuzzReadSafetensors(f *testing.F) {
	addSeeds(f)
	dir := fuzzDir(f)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, dir, ReadSafetensors, ".safetensors", b, 1) })
}

func FuzzReadONNX(f *testing.F) {
	addSeeds(f)
	dir := fuzzDir(f)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, dir, ReadONNX, ".onnx", b, 1) })
}

func FuzzReadNpz(f *testing.F) {
	addSeeds(f)
	dir := fuzzDir(f)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, dir, ReadNpz, ".npz", b, maxDeflateRatio) })
}

// TestWriteFuzzCorpus (WEIGHTS_WRITE_CORPUS=1) writes the fixtures as the
// committed seed corpora under testdata/fuzz.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("WEIGHTS_WRITE_CORPUS") == "" {
		t.Skip("set WEIGHTS_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	for target, names := range fuzzSeeds {
		dir := filepath.Join("testdata", "fuzz", target)
		os.MkdirAll(dir, 0o755)
		for _, name := range names {
			b, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%x", sum[:8])), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
