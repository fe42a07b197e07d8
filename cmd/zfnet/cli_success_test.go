package main

import (
	"bufio"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/zfnet"
)

var (
	tinyOnce sync.Once
	tinyCk   string
	tinyErr  error
)

// tinyRun makes, once per test binary, a run folder of a trained model
// small enough for every experiment of the gallery to run in seconds:
// zfnet-small's stages at 8 maps per convolution and 64 units per hidden fc
// layer, trained on 1024 MNIST digits for four epochs (batch 32, no
// dropout): right, with confidence, about most digits. The folder is what
// zfnet train writes (checkpoint, mean, weights, snapshots of epochs 0, 2 and 4); the train
// command's own success path is TestSignalWritesCheckpointAndResumes.
func tinyRun(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	tinyOnce.Do(func() { tinyCk, tinyErr = trainTiny(filepath.Join(filepath.Dir(binary), "tiny-run")) })
	if tinyErr != nil {
		t.Fatalf("training the tiny model: %v", tinyErr)
	}
	return tinyCk
}

func trainTiny(dir string) (string, error) {
	a, err := zfnet.LookupArch("zfnet-small")
	if err != nil {
		return "", err
	}
	for i := range a.Convs {
		a.Convs[i].Out = 8
	}
	for i := range a.FCs {
		if a.FCs[i].Out > 0 {
			a.FCs[i].Out = 64
		}
	}
	a = a.WithDropout(0)
	cfg := zfnet.DefaultRunConfig()
	cfg.Out, cfg.Epochs, cfg.Batch, cfg.Dropout, cfg.TrainLimit, cfg.FilterRadius = dir, 4, 32, 0, 1024, 0
	set, err := data.Open("mnist", data.OpenOptions{})
	if err != nil {
		return "", err
	}
	idx := make([]int, cfg.TrainLimit)
	for i := range idx {
		idx[i] = i
	}
	train := data.Subset(set.Train, "mnist/train[:1024]", idx)
	pre := zfnet.Preprocessing(a, cfg)
	mean, err := data.ComputeMean(train, pre, 0, nil)
	if err != nil {
		return "", err
	}
	m, err := zfnet.New(a)
	if err != nil {
		return "", err
	}
	if err := m.Initialize(zfnet.InitHe, 1); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, "snapshots"), 0o755); err != nil {
		return "", err
	}
	snapshot := func(epoch int) error {
		return m.SaveWeights(filepath.Join(dir, "snapshots", zfnet.SnapshotName(epoch)))
	}
	if err := snapshot(0); err != nil {
		return "", err
	}
	tr, err := zfnet.NewTrainer(m, zfnet.TrainConfig{Batch: cfg.Batch, LR: cfg.LR, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay, Seed: 1})
	if err != nil {
		return "", err
	}
	defer tr.Close()
	l, err := data.NewLoader(train, data.LoaderConfig{BatchSize: cfg.Batch, Pre: pre, Mean: mean, Train: true, Shuffle: true, Seed: 1})
	if err != nil {
		return "", err
	}
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		s := l.Start(epoch, 0)
		for {
			b, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				s.Close()
				return "", err
			}
			if _, err := tr.Step(b.X, b.Labels, b.Valid); err != nil {
				s.Close()
				return "", err
			}
		}
		s.Close()
		if (epoch+1)%2 == 0 {
			if err := snapshot(epoch + 1); err != nil {
				return "", err
			}
		}
	}
	ck := &zfnet.Checkpoint{Model: m, SGD: tr.SGD, Mean: mean,
		State: zfnet.TrainState{Config: cfg, Arch: a, Epoch: cfg.Epochs, Step: int64(cfg.Epochs * l.BatchesPerEpoch()), LR: cfg.LR, DropoutSteps: map[string]uint64{}}}
	path := filepath.Join(dir, zfnet.CheckpointFile)
	if err := ck.Save(path); err != nil {
		return "", err
	}
	if err := mean.SaveNpy(filepath.Join(dir, zfnet.MeanFile)); err != nil {
		return "", err
	}
	return path, m.SaveWeights(filepath.Join(dir, zfnet.WeightsFile))
}

// digit is an MNIST test digit the tiny model classifies right with
// probability above 0.8, with its preprocessed input and the library's
// logits for it.
type digit struct {
	index, label int
	x            []float32
	logits       []float32
}

func confidentDigits(t *testing.T, ck string, n int) ([]digit, []string) {
	t.Helper()
	c, err := zfnet.LoadCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	set, err := data.Open("mnist", data.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pre := zfnet.Preprocessing(c.Model.Arch, c.State.Config)
	p, err := zfnet.NewPredictor(c.Model, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var out []digit
	seen := map[int]bool{}
	for i := 0; i < 200 && len(out) < n; i++ {
		im, err := set.Test.Load(i)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, 28*28)
		pre.ApplyCrop(im.Pix, c.Mean, pre.CenterCrop(), x)
		z, err := p.Logits(x)
		if err != nil {
			t.Fatal(err)
		}
		pr := zfnet.Softmax(z)
		if seen[im.Label] || pr[im.Label] < 0.8 {
			continue
		}
		best := 0
		for k := range pr {
			if pr[k] > pr[best] {
				best = k
			}
		}
		if best == im.Label {
			seen[im.Label] = true
			out = append(out, digit{index: i, label: im.Label, x: x, logits: z})
		}
	}
	if len(out) < n {
		t.Fatalf("the tiny model is confidently right about only %d of the first 200 test digits", len(out))
	}
	return out, set.Classes
}

// savePNG writes MNIST test digit i as an 8-bit gray PNG (lossless: MNIST
// pixels are bytes).
func saveDigitPNG(t *testing.T, path string, i int) {
	t.Helper()
	set, err := data.Open("mnist", data.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	im, err := set.Test.Load(i)
	if err != nil {
		t.Fatal(err)
	}
	g := image.NewGray(image.Rect(0, 0, 28, 28))
	for j, v := range im.Pix {
		g.Pix[j] = uint8(math.Round(float64(v) * 255))
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, g); err != nil {
		t.Fatal(err)
	}
}

// TestPredictSuccess: predict on saved digits, as PNG files and as one
// preprocessed .npy batch, gives each its label, with the library's logits
// (--json) and the class name first in the plain output.
func TestPredictSuccess(t *testing.T) {
	ck := tinyRun(t)
	ds, names := confidentDigits(t, ck, 3)
	dir := t.TempDir()
	var pngs []string
	npy := make([]float32, 0, len(ds)*28*28)
	for _, d := range ds {
		p := filepath.Join(dir, "digit-"+names[d.label]+".png")
		saveDigitPNG(t, p, d.index)
		pngs = append(pngs, p)
		npy = append(npy, d.x...)
	}
	npyPath := filepath.Join(dir, "batch.npy")
	f, err := os.Create(npyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := data.WriteNpyArray(f, []int{len(ds), 1, 28, 28}, npy); err != nil {
		t.Fatal(err)
	}
	f.Close()

	code, out := run(t, append([]string{"predict", "--checkpoint", ck, "--json"}, append(pngs, npyPath)...)...)
	if code != 0 {
		t.Fatalf("predict --json: exit %d\n%s", code, out)
	}
	var preds []struct {
		Input string `json:"input"`
		Top   []struct {
			Class       int     `json:"class"`
			Probability float64 `json:"probability"`
		} `json:"top"`
		Logits []float32 `json:"logits"`
	}
	start := strings.Index(out, "[")
	if start < 0 {
		t.Fatalf("predict --json printed no JSON array:\n%s", out)
	}
	if err := json.Unmarshal([]byte(out[start:]), &preds); err != nil {
		t.Fatalf("predict --json output is not JSON: %v\n%s", err, out)
	}
	if len(preds) != 2*len(ds) {
		t.Fatalf("%d predictions for %d inputs:\n%s", len(preds), 2*len(ds), out)
	}
	for i, pr := range preds {
		d := ds[i%len(ds)]
		if len(pr.Top) == 0 || pr.Top[0].Class != d.label || pr.Top[0].Probability < 0.8 {
			t.Errorf("%s: top %+v, want class %d first with probability >= 0.8", pr.Input, pr.Top, d.label)
		}
		if len(pr.Logits) != len(d.logits) {
			t.Fatalf("%s: %d logits, want %d", pr.Input, len(pr.Logits), len(d.logits))
		}
		for k := range d.logits {
			if math.Abs(float64(pr.Logits[k]-d.logits[k])) > 1e-4 {
				t.Errorf("%s: logit %d is %v, the library's on the same digit %v", pr.Input, k, pr.Logits[k], d.logits[k])
				break
			}
		}
	}

	code, out = run(t, append([]string{"predict", "--checkpoint", ck, "--top", "2"}, pngs...)...)
	if code != 0 {
		t.Fatalf("predict: exit %d\n%s", code, out)
	}
	for i, d := range ds {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(pngs[i]) + `: ` + regexp.QuoteMeta(names[d.label]) + ` \d+\.\d\d%, `)
		if !re.MatchString(out) {
			t.Errorf("predict %s: want a line starting %q\n%s", pngs[i], pngs[i]+": "+names[d.label]+" NN.NN%, ", out)
		}
	}
}

// galleryItems reads gallery.tsv: the file of each item, in order.
func galleryItems(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "gallery.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var files []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		files = append(files, strings.Split(sc.Text(), "\t")[0])
	}
	return files
}

// checkGallery: index.html exists and shows every item of gallery.tsv once,
// each a PNG that decodes to a non-empty picture.
func checkGallery(t *testing.T, dir string) []string {
	t.Helper()
	html, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	items := galleryItems(t, dir)
	if len(items) == 0 {
		t.Fatalf("%s: an empty gallery", dir)
	}
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it] {
			t.Errorf("%s: %s is listed twice", dir, it)
		}
		seen[it] = true
		if !strings.Contains(string(html), `src="`+it+`"`) {
			t.Errorf("%s: index.html does not show %s", dir, it)
		}
		f, err := os.Open(filepath.Join(dir, it))
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() < 8 || img.Bounds().Dy() < 8 {
			t.Errorf("%s: %s is not a picture (%v)", dir, it, err)
		}
	}
	return items
}

// TestVisualizeSuccess runs each experiment on the tiny model, each into
// its own folder, and checks that each writes a gallery of real pictures.
func TestVisualizeSuccess(t *testing.T) {
	ck := tinyRun(t)
	root := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
	}{
		{"project", []string{"--layer", "conv2", "--image", "3"}},
		{"top9", []string{"--limit", "64", "--layer", "conv5"}},
		{"filters", nil},
		{"evolution", []string{"--sample", "64", "--layer", "conv2"}},
		{"invariance", []string{"--rotate", "0:90:45", "--scale", "none", "--translate", "-2:2:2"}},
		{"occlusion", []string{"--stride", "4"}},
		{"correspondence", []string{"--count", "2", "--trials", "2"}},
	} {
		out := filepath.Join(root, c.name)
		args := append([]string{"visualize", c.name, "--checkpoint", ck, "--out", out}, c.args...)
		code, text := run(t, args...)
		if code != 0 {
			t.Errorf("zfnet %s: exit %d\n%s", strings.Join(args, " "), code, text)
			continue
		}
		checkGallery(t, out)
	}
}

// TestVisualizeGallery is the README's second command on the tiny run,
// twice: the second run replaces its items instead of listing them again,
// and keeps items another experiment added to the same folder in between.
func TestVisualizeGallery(t *testing.T) {
	ck := tinyRun(t)
	dir := filepath.Join(t.TempDir(), "gallery")
	code, out := run(t, "visualize", "gallery", "--checkpoint", ck, "--out", dir, "--limit", "32")
	if code != 0 || !strings.Contains(out, filepath.Join(dir, "index.html")) {
		t.Fatalf("gallery: exit %d\n%s", code, out)
	}
	first := checkGallery(t, dir)
	html, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	sections := strings.Count(string(html), "<h2>")
	if sections < 5 {
		t.Errorf("the gallery has %d sections, want one per experiment (at least 5)", sections)
	}
	// Another experiment into the same folder, with an item of its own.
	code, out = run(t, "visualize", "project", "--checkpoint", ck, "--out", dir, "--layer", "conv1", "--image", "7")
	if code != 0 {
		t.Fatalf("project into the gallery: exit %d\n%s", code, out)
	}
	between := checkGallery(t, dir)
	if len(between) <= len(first) {
		t.Fatalf("project added nothing to the gallery: %d items before, %d after", len(first), len(between))
	}
	code, out = run(t, "visualize", "gallery", "--checkpoint", ck, "--out", dir, "--limit", "32")
	if code != 0 {
		t.Fatalf("second gallery: exit %d\n%s", code, out)
	}
	second := checkGallery(t, dir)
	if len(second) != len(between) {
		t.Errorf("after the second gallery run %d items, want the %d there were (replaced, not added again)", len(second), len(between))
	}
	have := map[string]bool{}
	for _, it := range second {
		have[it] = true
	}
	for _, it := range between {
		if !have[it] {
			t.Errorf("%s was dropped by the second gallery run", it)
		}
	}
}
