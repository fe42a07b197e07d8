package zfnet

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zfnet/zfnet/data"
)

// pictureFolder writes DIR/<class>/<i>.png: per class, n colour pictures of
// size(i) (class-dependent colours, so the classes are learnable).
func pictureFolder(t *testing.T, dir string, classes, n int, size func(i int) (w, h int)) {
	t.Helper()
	for c := 0; c < classes; c++ {
		for i := 0; i < n; i++ {
			w, h := size(i)
			img := image.NewRGBA(image.Rect(0, 0, w, h))
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					img.SetRGBA(x, y, color.RGBA{uint8(80 * c), uint8((x + 3*i) * 255 / w), uint8(y * 255 / h), 255})
				}
			}
			p := filepath.Join(dir, fmt.Sprintf("class%d", c), fmt.Sprintf("%02d.png", i))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, img); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
}

func sameSize(w, h int) func(int) (int, int) { return func(int) (int, int) { return w, h } }

// oneStep is the default command's recipe on a folder, cut to one epoch of
// one step.
func oneStep(dataDir, out string) RunConfig {
	cfg := DefaultRunConfig()
	cfg.Data, cfg.Out, cfg.Epochs, cfg.Batch, cfg.Workers = "folder:"+dataDir, out, 1, 12, 1
	cfg.Snapshots = nil
	return cfg
}

// A folder of 80x80 or 300x200 pictures trains with the default command:
// one input decision, printed, used by the mean pass, the loaders and the
// evaluation (the run used to fail after the mean pass with "mean image is
// 1x256x256 ... expected 1x28x28").
func TestTrainPictureFolderGeometry(t *testing.T) {
	for _, sz := range [][2]int{{80, 80}, {300, 200}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			dir := t.TempDir()
			pictureFolder(t, filepath.Join(dir, "pics"), 2, 6, sameSize(sz[0], sz[1]))
			cfg := oneStep(filepath.Join(dir, "pics"), filepath.Join(dir, "run"))
			var log []string
			ev, err := Train(context.Background(), cfg, false, Hooks{Logf: func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) }})
			if err != nil {
				t.Fatalf("training on %dx%d pictures: %v\n%s", sz[0], sz[1], err, strings.Join(log, "\n"))
			}
			joined := strings.Join(log, "\n")
			if !strings.Contains(joined, "input: 3x28x28, small pipeline") || !strings.Contains(joined, fmt.Sprintf("%dx%d, colour (all 10 pictures)", sz[0], sz[1])) {
				t.Errorf("the run does not print its input decision:\n%s", joined)
			}
			ck, err := LoadCheckpoint(filepath.Join(cfg.Out, CheckpointFile))
			if err != nil {
				t.Fatal(err)
			}
			if got := Preprocessing(ck.Model.Arch, ck.State.Config).BaseGeometry(); got != ck.Mean.Geometry() {
				t.Errorf("evaluation's pipeline has base %v, the mean %v", got, ck.Mean.Geometry())
			}
			if ev.Examples != 2 {
				t.Errorf("test examples %d, want 2", ev.Examples)
			}
		})
	}
}

// The decision comes from the data set as a whole, not its first picture,
// and agrees with what Preprocessing infers for runs that did not record it.
func TestDecideInput(t *testing.T) {
	cases := []struct {
		name, arch string
		size       func(int) (int, int)
		geometry   string
		kind       data.PreprocessKind
	}{
		{"28x28", "zfnet-small", sameSize(28, 28), "3x28x28", data.Small},
		{"32x32", "zfnet-small", sameSize(32, 32), "3x32x32", data.Small},
		{"80x80", "zfnet-small", sameSize(80, 80), "3x28x28", data.Small},
		// The first picture (sorted by name) is large, the rest small: the
		// old probe of picture 0 chose the 256-resize pipeline.
		{"mixed", "zfnet-small", func(i int) (int, int) {
			if i == 0 {
				return 300, 200
			}
			return 20, 20
		}, "3x28x28", data.Small},
		{"photos-224", "zfnet", sameSize(300, 200), "3x224x224", data.ImageNet},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			pictureFolder(t, dir, 2, 4, c.size)
			set, err := data.Open("folder:"+dir, data.OpenOptions{ValFraction: 0.25})
			if err != nil {
				t.Fatal(err)
			}
			d, err := DecideInput(c.arch, set, DefaultRunConfig())
			if err != nil {
				t.Fatal(err)
			}
			g := data.Geometry{C: d.Arch.Input[0], H: d.Arch.Input[1], W: d.Arch.Input[2]}
			if g.String() != c.geometry || d.Pre.Kind != c.kind {
				t.Errorf("decided %v %v (%s); want %s %v", g, d.Pre.Kind, d.Why, c.geometry, c.kind)
			}
			legacy := Preprocessing(d.Arch, RunConfig{}) // a run without the recorded pipeline, or --weights
			if legacy.Kind != d.Pre.Kind || legacy.BaseGeometry() != d.Pre.BaseGeometry() {
				t.Errorf("recorded %v base %v, inferred %v base %v", d.Pre.Kind, d.Pre.BaseGeometry(), legacy.Kind, legacy.BaseGeometry())
			}
		})
	}
	// Flags decide instead of the data.
	dir := t.TempDir()
	pictureFolder(t, dir, 2, 4, sameSize(80, 80))
	set, err := data.Open("folder:"+dir, data.OpenOptions{ValFraction: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultRunConfig()
	cfg.Pipeline, cfg.InputSize = PipelineImageNet, 64
	d, err := DecideInput("zfnet-small", set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d.Pre.Kind != data.ImageNet || d.Pre.Geometry.H != 64 || d.Pre.Resize != 73 || d.Config.Pipeline != PipelineImageNet {
		t.Errorf("--pipeline imagenet --input-size 64: %+v", d.Pre)
	}
	if p := Preprocessing(d.Arch, d.Config); p.Kind != data.ImageNet || p.Resize != 73 {
		t.Errorf("the recorded pipeline is not what Preprocessing rebuilds: %+v", p)
	}
}

// Degenerate folders are refused before any work, with what to change, and
// a failed call leaves no run folder behind.
func TestTrainRefusesDegenerateData(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "one")
	pictureFolder(t, one, 1, 6, sameSize(28, 28))
	three := filepath.Join(dir, "three")
	pictureFolder(t, three, 3, 3, sameSize(28, 28))
	bad := filepath.Join(dir, "bad")
	pictureFolder(t, bad, 2, 6, sameSize(28, 28))
	if err := os.WriteFile(filepath.Join(bad, "class1", "07.png"), []byte("not a picture"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		cfg  func(RunConfig) RunConfig
		want []string
	}{
		{"one class", func(c RunConfig) RunConfig { c.Data = "folder:" + one; return c }, []string{"1 class", "at least 2"}},
		{"val share rounds to zero", func(c RunConfig) RunConfig { c.Data = "folder:" + three; return c },
			[]string{`class "class0"`, "3 examples", "--val-fraction", "0.083", "--val-fraction 0.17"}},
		{"cifar10 without a path", func(c RunConfig) RunConfig { c.Data = "cifar10"; return c }, []string{"cifar10:PATH"}},
		{"unknown data set", func(c RunConfig) RunConfig { c.Data = "imagenette"; return c }, []string{"unknown data set"}},
		{"unknown arch", func(c RunConfig) RunConfig { c.Arch = "resnet"; return c }, []string{"unknown architecture"}},
		{"unknown init", func(c RunConfig) RunConfig { c.Init = "xavier"; return c }, []string{"unknown initialization"}},
		{"bad pipeline", func(c RunConfig) RunConfig { c.Pipeline = "torch"; return c }, []string{"unknown pipeline"}},
		{"corrupt picture (fails in the mean pass)", func(c RunConfig) RunConfig { c.Data = "folder:" + bad; return c }, []string{"07.png"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg(oneStep(three, filepath.Join(dir, "runs", "r")))
			var log []string
			_, err := Train(context.Background(), cfg, false, Hooks{Logf: func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) }})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if _, serr := os.Stat(cfg.Out); !os.IsNotExist(serr) {
				t.Errorf("the failed call left %s behind", cfg.Out)
			}
			if c.name != "corrupt picture (fails in the mean pass)" {
				for _, l := range log {
					if strings.HasPrefix(l, "training ") {
						t.Errorf("said %q before the arguments were checked", l)
					}
				}
			}
		})
	}
}
