package main

import (
	bin "encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/data/testenv"
	"github.com/zfnet/zfnet/zfnet"
)

// transferCheckpoint writes a checkpoint of an untrained zfnet-small "run on
// MNIST" (He weights, zero mean) without training: what the transfer
// commands read, in no time. classes renames its classes when given.
func transferCheckpoint(t *testing.T, dir string, classes []string) string {
	t.Helper()
	a, err := zfnet.LookupArch("zfnet-small")
	if err != nil {
		t.Fatal(err)
	}
	m, err := zfnet.New(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Initialize(zfnet.InitHe, 5); err != nil {
		t.Fatal(err)
	}
	cfg := zfnet.DefaultRunConfig()
	cfg.Pipeline = zfnet.PipelineSmall
	if classes == nil {
		classes = data.MNISTClasses
	}
	ck := &zfnet.Checkpoint{Model: m, Mean: &data.Mean{C: 1, H: 28, W: 28, Pix: make([]float32, 784)},
		SGD:   &zfnet.SGD{LR: cfg.LR, Velocity: map[string][]float32{}},
		State: zfnet.TrainState{Config: cfg, Arch: a, ClassNames: classes, LR: cfg.LR, DropoutSteps: map[string]uint64{}}}
	path := filepath.Join(dir, "ck", zfnet.CheckpointFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ck.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// npyShape reads a .npy header's dtype and shape.
func npyShape(t *testing.T, path string) (string, string, int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		t.Fatalf("%s is not a .npy file", path)
	}
	n := int(bin.LittleEndian.Uint16(b[8:10]))
	h := string(b[10 : 10+n])
	descr := h[strings.Index(h, "'descr': '")+10:]
	descr = descr[:strings.Index(descr, "'")]
	shape := h[strings.Index(h, "'shape': (")+10:]
	shape = shape[:strings.Index(shape, ")")]
	return descr, shape, int64(len(b) - 10 - n)
}

// TestFeaturesCLI: fc6 features of 100 MNIST digits as .npy with int64
// labels (the shapes NumPy reads), as .npz, and the errors for a layer the
// model lacks and a bad output name.
func TestFeaturesCLI(t *testing.T) {
	dir := t.TempDir()
	ck := transferCheckpoint(t, dir, nil)
	out := filepath.Join(dir, "f", "fc6.npy")
	code, text := run(t, "features", "--checkpoint", ck, "--layer", "fc6", "--data", "mnist", "--limit", "100", "--batch", "32", "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("features: exit %d\n%s", code, text)
	}
	descr, shape, size := npyShape(t, out)
	if descr != "<f4" || shape != "100, 256" || size != 100*256*4 {
		t.Errorf("%s: dtype %s shape (%s), %d data bytes; want <f4 (100, 256)", out, descr, shape, size)
	}
	lp := filepath.Join(dir, "f", "fc6.labels.npy")
	descr, shape, size = npyShape(t, lp)
	if descr != "<i8" || shape != "100," || size != 800 {
		t.Errorf("%s: dtype %s shape (%s), %d data bytes; want <i8 (100,)", lp, descr, shape, size)
	}
	b, _ := os.ReadFile(lp)
	first := int64(bin.LittleEndian.Uint64(b[len(b)-800:]))
	if first != 7 { // MNIST's first test digit
		t.Errorf("first label %d, want 7", first)
	}
	if _, err := os.Stat(out + ".partial"); !os.IsNotExist(err) {
		t.Errorf("a finished run left %s.partial", out)
	}
	npz := filepath.Join(dir, "f", "pool1.npz")
	if code, text := run(t, "features", "--checkpoint", ck, "--layer", "pool1", "--data", "mnist", "--limit", "10", "--out", npz, "--quiet"); code != 0 {
		t.Fatalf("features .npz: exit %d\n%s", code, text)
	}
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--layer", "fc9", "--data", "mnist", "--out", filepath.Join(dir, "x.npy")}, `no layer "fc9"`},
		{[]string{"--layer", "fc6", "--data", "mnist", "--out", filepath.Join(dir, "x.csv")}, "expected a .npy or .npz"},
		{[]string{"--layer", "fc6", "--out", filepath.Join(dir, "x.npy")}, "--data or --images"},
		{[]string{"--layer", "fc6", "--data", "mnist", "--split", "bogus", "--out", filepath.Join(dir, "x.npy")}, "expected test, train or val"},
	} {
		code, text := run(t, append([]string{"features", "--checkpoint", ck}, c.args...)...)
		if code != 1 || !strings.Contains(text, c.says) {
			t.Errorf("features %v: exit %d, output:\n%s\nwant exit 1 and %q", c.args, code, text, c.says)
		}
	}
}

// TestFreezeCLIErrors: train refuses a frozen layer the model lacks, a bad
// --lr-scale, a frozen re-initialized last layer and an input geometry the
// weights were not trained at, before creating the run folder.
func TestFreezeCLIErrors(t *testing.T) {
	dir := t.TempDir()
	other := transferCheckpoint(t, dir, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"})
	out := filepath.Join(dir, "run")
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--freeze", "conv1-conv9"}, `no layer "conv9"`},
		{[]string{"--lr-scale", "fc8"}, "expected LAYER=FACTOR"},
		{[]string{"--lr-scale", "fc8=0"}, "positive"},
		{[]string{"--init-from", other, "--freeze", "conv1,fc8"}, "fc8 is re-initialized"},
		{[]string{"--init-from", other, "--input-size", "32"}, "takes 1x28x28 inputs"},
		{[]string{"--init-from", filepath.Join(dir, "none.pth")}, "--init-from"},
	} {
		args := append([]string{"train", "--out", out, "--limit", "64"}, c.args...)
		code, text := run(t, args...)
		if code != 1 || !strings.Contains(text, c.says) {
			t.Errorf("zfnet %s: exit %d, output:\n%s\nwant exit 1 and %q", strings.Join(args, " "), code, text, c.says)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("zfnet %s left %s behind", strings.Join(args, " "), out)
		}
	}
}

// TestTransferCLI: the table and the curve, tiny, from MNIST features to
// Fashion-MNIST (Debian's dataset-fashion-mnist; skipped loudly without it):
// Markdown, JSON and a plot each, accuracies between 0 and 1.
func TestTransferCLI(t *testing.T) {
	if _, _, err := data.OpenFashionMNIST(); err != nil {
		testenv.SkipLoudly(t, "Fashion-MNIST is missing (%v); install with: apt-get install dataset-fashion-mnist", err)
	}
	dir := t.TempDir()
	ck := transferCheckpoint(t, dir, nil)
	out := filepath.Join(dir, "tr")
	code, text := run(t, "transfer", "table", "--checkpoint", ck, "--data", "fashion-mnist", "--train-per-class", "5", "--test", "50",
		"--layers", "conv5-fc7", "--linear-epochs", "2", "--out", out)
	if code != 0 || !strings.Contains(text, "| fc7 | relu7 | 256 |") || !strings.Contains(text, "| conv5 | pool5 | 576 |") {
		t.Fatalf("transfer table: exit %d\n%s", code, text)
	}
	code, text = run(t, "transfer", "curve", "--checkpoint", ck, "--data", "fashion-mnist", "--per-class", "1,2", "--draws", "2", "--test", "50",
		"--scratch-steps", "3", "--linear-epochs", "2", "--out", out)
	if code != 0 || !strings.Contains(text, "| 2 |") {
		t.Fatalf("transfer curve: exit %d\n%s", code, text)
	}
	for _, f := range []string{"table.md", "table.json", "table.png", "curve.md", "curve.json", "curve.png"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if code, text := run(t, "transfer", "table", "--checkpoint", ck, "--data", "fashion-mnist", "--layers", "conv1-fc9", "--out", out); code != 1 || !strings.Contains(text, `no layer "fc9"`) {
		t.Errorf("transfer table --layers conv1-fc9: exit %d\n%s", code, text)
	}
	if code, text := run(t, "transfer", "curve", "--checkpoint", ck, "--data", "fashion-mnist", "--layer", "fc9", "--out", out); code != 1 || !strings.Contains(text, `no layer "fc9"`) {
		t.Errorf("transfer curve --layer fc9: exit %d\n%s", code, text)
	}
}
