package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/zfnet"

	"github.com/zfnet/zfnet/data/testenv"
)

// skimageData is Debian's python3-skimage folder of photographs.
const skimageData = "/usr/lib/python3/dist-packages/skimage/data"

// photos copies n of skimage's photographs into a fresh folder, skipping
// loudly (failing under ZFNET_REQUIRE_ALL=1) without python3-skimage.
func photos(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(skimageData, n))
		if err != nil {
			testenv.SkipLoudly(t, "photographs from Debian's python3-skimage are missing (%v); install with: apt-get install python3-skimage", err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The promise: a PyTorch file alone is enough for predict (.npy
// and photographs) and for the whole gallery on a folder of photographs.
func TestCLIPretrainedWeightsAlone(t *testing.T) {
	w, err := filepath.Abs("../../zfnet/testdata/pretrained/tv_alexnet.pth")
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := zfnet.Import(w, zfnet.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := m.Arch.Input
	x := make([]float32, 2*in[0]*in[1]*in[2])
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	npy := filepath.Join(t.TempDir(), "x.npy")
	f, err := os.Create(npy)
	if err != nil {
		t.Fatal(err)
	}
	if err := data.WriteNpyArray(f, []int{2, in[0], in[1], in[2]}, x); err != nil {
		t.Fatal(err)
	}
	f.Close()

	code, out := run(t, "predict", "--weights", w, "--json", npy)
	if code != 0 {
		t.Fatalf("predict --json: exit %d\n%s", code, out)
	}
	var preds []prediction
	if err := json.Unmarshal([]byte(out), &preds); err != nil {
		t.Fatalf("predict --json printed no JSON: %v\n%s", err, out)
	}
	p, err := zfnet.NewPredictor(m, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	size := len(x) / 2
	for i, pr := range preds {
		want, err := p.Logits(x[i*size : (i+1)*size])
		if err != nil {
			t.Fatal(err)
		}
		if len(pr.Logits) != len(want) {
			t.Fatalf("input %d: %d logits, want %d", i, len(pr.Logits), len(want))
		}
		for c := range want {
			if pr.Logits[c] != want[c] {
				t.Fatalf("input %d class %d: CLI logit %g, library %g", i, c, pr.Logits[c], want[c])
			}
		}
		top, _ := zfnet.TopK(want, 1)
		if pr.Top[0].Class != top[0] {
			t.Errorf("input %d: CLI ranks class %d first, the logits say %d", i, pr.Top[0].Class, top[0])
		}
	}

	dir := photos(t, "chelsea.png", "coffee.png", "astronaut.png")
	code, out = run(t, "predict", "--weights", w, filepath.Join(dir, "chelsea.png"), dir)
	if code != 0 || strings.Count(out, "chelsea.png:") != 2 || !strings.Contains(out, "torchvision") {
		t.Fatalf("predict on a photo and a folder: exit %d\n%s", code, out)
	}

	gal := filepath.Join(t.TempDir(), "gallery")
	code, out = run(t, "visualize", "gallery", "--weights", w, "--images", dir, "--out", gal)
	if code != 0 {
		t.Fatalf("visualize gallery --weights --images: exit %d\n%s", code, out)
	}
	for _, f := range []string{"index.html", "top9-conv5.png", "occlusion.png", "invariance.png", "correspondence.png", "filters-alexnet-torchvision.png"} {
		if st, err := os.Stat(filepath.Join(gal, f)); err != nil || st.Size() == 0 {
			t.Errorf("the gallery has no %s (%v)\n%s", f, err, out)
		}
	}
}

// convert rewrites a PyTorch and an ONNX file under zfnet's names; the
// .safetensors result records the architecture, so it loads alone and
// gives the same logits, bit for bit.
func TestCLIConvertRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, in := range []string{"tv_alexnet.pth", "caffe_alexnet.onnx"} {
		src, err := filepath.Abs(filepath.Join("../../zfnet/testdata/pretrained", in))
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, in+".safetensors")
		if code, msg := run(t, "convert", src, out); code != 0 {
			t.Fatalf("convert %s: exit %d\n%s", in, code, msg)
		}
		a, _, err := zfnet.Import(src, zfnet.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, info, err := zfnet.Import(out, zfnet.ImportOptions{})
		if err != nil {
			t.Fatalf("%s: the converted file does not load alone: %v", in, err)
		}
		if info.Format != "safetensors" || b.Arch.Name != a.Arch.Name || b.Arch.Preprocess != a.Arch.Preprocess {
			t.Errorf("%s: converted file reads as %s (%s, preprocess %q), want %s (preprocess %q)", in, b.Arch.Name, info.Format, b.Arch.Preprocess, a.Arch.Name, a.Arch.Preprocess)
		}
		for i, p := range a.Params() {
			q := b.Params()[i]
			if p.Name != q.Name {
				t.Fatalf("%s: parameter %d is %s, converted %s", in, i, p.Name, q.Name)
			}
			for j, v := range p.Data() {
				if q.Data()[j] != v {
					t.Fatalf("%s: %s[%d] = %g after conversion, was %g", in, p.Name, j, q.Data()[j], v)
				}
			}
		}
	}
	if code, msg := run(t, "convert", "../../zfnet/testdata/pretrained/tv_alexnet.pth", filepath.Join(dir, "x.bin")); code == 0 || !strings.Contains(msg, ".npz or .safetensors") {
		t.Errorf("convert to an unknown extension: exit %d\n%s", code, msg)
	}
}
