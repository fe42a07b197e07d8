package zfnet

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// initFromRun is quickRun, smaller: 256 MNIST digits, one epoch.
func initFromRun(out string) RunConfig {
	cfg := quickRun(out)
	cfg.Epochs, cfg.TrainLimit, cfg.EvalLimit, cfg.Snapshots = 1, 256, 128, nil
	return cfg
}

// TestInitFromFreezeResume: a run started from another run's checkpoint
// with conv1-fc7 frozen keeps those layers bit for bit through training and
// through a resume (the freeze is recorded in the checkpoint), while fc8
// learns; the class names agree, so fc8 starts from the file's. A source
// whose class names differ gets a fresh fc8, and then freezing fc8 cannot
// be reconciled.
func TestInitFromFreezeResume(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if _, err := Train(context.Background(), initFromRun(src), false, Hooks{}); err != nil {
		t.Fatal(err)
	}
	srcW := weightsOf(t, filepath.Join(src, WeightsFile))

	var logs []string
	hooks := Hooks{Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }}
	cfg := initFromRun(filepath.Join(dir, "tuned"))
	cfg.InitFrom, cfg.Arch, cfg.Freeze, cfg.LRScale = src, "", "conv1-fc7", "fc8=2"
	if _, err := Train(context.Background(), cfg, false, hooks); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(logs, func(l string) bool {
		return strings.Contains(l, "initialized from") && strings.Contains(l, "frozen: conv1, conv2, conv3, conv4, conv5, fc6, fc7") && !strings.Contains(l, "re-initialized")
	}) {
		t.Errorf("no log line saying what was initialized and frozen: %q", logs)
	}
	ck, err := LoadCheckpoint(filepath.Join(cfg.Out, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if c := ck.State.Config; c.Freeze != "conv1-fc7" || c.LRScale != "fc8=2" || c.InitFrom != src || c.Arch != "zfnet-small" {
		t.Errorf("checkpoint records freeze %q, lr scale %q, init from %q, arch %q", c.Freeze, c.LRScale, c.InitFrom, c.Arch)
	}
	// Resume for a second epoch: the checkpoint's freeze still holds.
	resume := RunConfig{Out: cfg.Out, Epochs: 2}
	if _, err := Train(context.Background(), resume, true, Hooks{}); err != nil {
		t.Fatal(err)
	}
	got := weightsOf(t, filepath.Join(cfg.Out, WeightsFile))
	for name, w := range got {
		frozen := !strings.HasPrefix(name, "fc8.")
		if frozen && !slices.Equal(w, srcW[name]) {
			t.Errorf("%s is frozen but differs from the source run's after training and a resume", name)
		}
		if !frozen && slices.Equal(w, srcW[name]) {
			t.Errorf("%s did not learn", name)
		}
	}

	// Another data set's class names: fc8 is re-initialized.
	ckSrc, err := LoadCheckpoint(filepath.Join(src, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	ckSrc.State.ClassNames = []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	other := filepath.Join(dir, "other.npz")
	if err := ckSrc.Save(other); err != nil {
		t.Fatal(err)
	}
	bad := initFromRun(filepath.Join(dir, "bad"))
	bad.InitFrom, bad.Arch, bad.Freeze = other, "", "conv1,fc8"
	if _, err := Train(context.Background(), bad, false, Hooks{}); err == nil || !strings.Contains(err.Error(), "re-initialized") {
		t.Errorf("freezing a re-initialized fc8: error %v", err)
	}
	if _, err := os.Stat(bad.Out); !os.IsNotExist(err) {
		t.Errorf("a refused run left %s behind", bad.Out)
	}
	wrong := initFromRun(filepath.Join(dir, "wrong"))
	wrong.InitFrom, wrong.Arch = src, "alexnet-small"
	if _, err := Train(context.Background(), wrong, false, Hooks{}); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("weights of zfnet-small into alexnet-small: error %v", err)
	}
	logs = nil
	fresh := initFromRun(filepath.Join(dir, "fresh"))
	fresh.InitFrom, fresh.Arch, fresh.Freeze, fresh.Epochs = other, "", "conv1-fc7", 1
	if _, err := Train(context.Background(), fresh, false, hooks); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(logs, func(l string) bool { return strings.Contains(l, "fc8 re-initialized for the data's 10 classes") }) {
		t.Errorf("no log line saying fc8 was re-initialized: %q", logs)
	}
}

// TestInitFromBadInputs: a layer the model lacks, weights of another input
// geometry, an architecture the weights do not fit, a missing file.
func TestInitFromBadInputs(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		mod  func(*RunConfig)
		want string
	}{
		{"missing layer", func(c *RunConfig) { c.Freeze = "conv1-conv9" }, `no layer "conv9"`},
		{"lr scale of a frozen layer", func(c *RunConfig) { c.Freeze, c.LRScale = "conv1-fc7", "fc7=2" }, "fc7 is frozen"},
		{"everything frozen", func(c *RunConfig) { c.Freeze = "conv1-fc8" }, "nothing would learn"},
		{"geometry", func(c *RunConfig) { c.InitFrom, c.Arch = filepath.Join(ptDir, "tv_alexnet.pth"), "" }, "takes 3x"},
		{"missing file", func(c *RunConfig) { c.InitFrom = filepath.Join(dir, "nope.pth") }, "--init-from"},
	} {
		cfg := initFromRun(filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")))
		tc.mod(&cfg)
		_, err := Train(context.Background(), cfg, false, Hooks{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
		if _, err := os.Stat(cfg.Out); !os.IsNotExist(err) {
			t.Errorf("%s: a refused run left %s behind", tc.name, cfg.Out)
		}
	}
}

// TestInitFromTorchvision: fine-tuning torchvision's AlexNet layout (a
// narrow fixture) on a folder of pictures keeps its own preprocessing
// (per-channel normalization, no mean image), re-sizes fc8 to the folder's
// two classes and leaves the frozen layers as the file has them.
func TestInitFromTorchvision(t *testing.T) {
	dir := t.TempDir()
	for c, name := range []string{"cats", "dogs"} {
		d := filepath.Join(dir, "pics", name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 4; i++ {
			img := image.NewRGBA(image.Rect(0, 0, 40+8*i, 48))
			for p := range img.Pix {
				img.Pix[p] = uint8(37*p + 91*c + 13*i)
			}
			f, err := os.Create(filepath.Join(d, fmt.Sprintf("%d.png", i)))
			if err != nil {
				t.Fatal(err)
			}
			png.Encode(f, img)
			f.Close()
		}
	}
	file := filepath.Join(ptDir, "tv_alexnet.pth")
	src, _, err := Import(file, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := initFromRun(filepath.Join(dir, "run"))
	cfg.Data, cfg.InitFrom, cfg.Arch, cfg.Freeze, cfg.Batch, cfg.ValFraction = "folder:"+filepath.Join(dir, "pics"), file, "", "conv1-fc7", 2, 0.25
	if _, err := Train(context.Background(), cfg, false, Hooks{}); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(filepath.Join(cfg.Out, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Mean != nil || fileExists(filepath.Join(cfg.Out, MeanFile)) {
		t.Error("a torchvision-normalized run has a mean image")
	}
	if p := Preprocessing(ck.Model.Arch, ck.State.Config); p.Normalize == nil {
		t.Error("the run's preprocessing lost torchvision's normalization")
	}
	if ck.Model.Arch.Classes != 2 {
		t.Errorf("%d classes, want 2", ck.Model.Arch.Classes)
	}
	for _, p := range ck.Model.Params() {
		if !strings.HasPrefix(p.Name, "fc8.") && !slices.Equal(p.Data(), src.Param(p.Name).Data()) {
			t.Errorf("%s differs from the file's", p.Name)
		}
	}
}
