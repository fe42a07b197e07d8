package data

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"
)

// Set is a data set as a user names it: a training source, a held-out test
// source and the class names.
type Set struct {
	Name    string
	Train   Source
	Test    Source // the official test/validation split, or the ValFraction carve-out when there is none
	Val     Source // with ValFraction > 0 on a set that has its own Test: a carve-out of training; otherwise nil
	Classes []string
	Skipped []SkippedFile // files left out while opening (Policy SkipBad)

	// heldOut is the part carved out of training by a validation share
	// (Test or Val), fraction that share; nil when nothing was carved.
	heldOut  Source
	fraction float64
}

// split carves a held-out share of each class out of src and remembers it
// for CheckTrainable.
func (s *Set) split(src Source, fraction float64, seed int64, trainName, valName string) (train, val Source) {
	train, val = Split(src, fraction, seed, trainName, valName)
	s.heldOut, s.fraction = val, fraction
	return train, val
}

// OpenOptions tunes Open.
type OpenOptions struct {
	// ValFraction is the held-out share of each class. For sets without a
	// test split (a folder without val/, a list) it makes Set.Test and
	// defaults to 0.1; for sets with one it makes Set.Val out of training
	// and defaults to none.
	ValFraction float64
	Seed        int64 // chooses the held-out examples
	Policy      BadFilePolicy
}

// Specs lists the forms Open accepts, for help texts.
const Specs = `mnist, fashion-mnist, cifar10:DIR, cifar100:DIR, folder:DIR, list:FILE`

// defaultValFraction is used when a set has no test split of its own.
const defaultValFraction = 0.1

// Open parses a data set name as a user types it:
//
//	mnist            MNIST from the Go module cache (ZFNET_MNIST_DIR overrides)
//	fashion-mnist    Fashion-MNIST from /usr/share/datasets/fashion-mnist
//	mnist:DIR        the four MNIST-style IDX files (gzipped or raw) in DIR;
//	                 also fashion-mnist:DIR
//	cifar10:DIR      CIFAR-10 binary batches in DIR (or DIR/cifar-10-batches-bin)
//	cifar100:DIR     CIFAR-100 binary in DIR (or DIR/cifar-100-binary), fine labels
//	folder:DIR       DIR/train and DIR/val in the ImageNet layout when present,
//	                 otherwise DIR/<class>/* split by ValFraction
//	list:FILE        path<TAB>label or CSV path,label lines, split by ValFraction
func Open(spec string, opt OpenOptions) (*Set, error) {
	if opt.ValFraction < 0 || opt.ValFraction >= 1 {
		return nil, errors.Errorf("validation fraction %g; expected 0 <= f < 1", opt.ValFraction)
	}
	kind, arg, _ := strings.Cut(spec, ":")
	kind = strings.ToLower(strings.TrimSpace(kind))
	needArg := func() error {
		if arg == "" {
			return errors.Errorf("data set %q: expected %s:PATH", spec, kind)
		}
		return nil
	}
	set := &Set{Name: spec}
	var err error
	switch kind {
	case "mnist":
		if arg != "" {
			set.Train, set.Test, err = OpenMNISTDir(arg, "mnist", MNISTClasses)
		} else {
			set.Train, set.Test, err = OpenMNIST()
		}
		set.Classes = MNISTClasses
	case "fashion-mnist", "fashion_mnist", "fashionmnist":
		if arg != "" {
			set.Train, set.Test, err = OpenMNISTDir(arg, "fashion-mnist", FashionMNISTClasses)
		} else {
			set.Train, set.Test, err = OpenFashionMNIST()
		}
		set.Classes = FashionMNISTClasses
	case "cifar10", "cifar-10":
		if err = needArg(); err == nil {
			set.Train, set.Test, set.Classes, err = openCIFAR10(arg)
		}
	case "cifar100", "cifar-100":
		if err = needArg(); err == nil {
			set.Train, set.Test, set.Classes, err = openCIFAR100(arg)
		}
	case "folder":
		if err = needArg(); err == nil {
			err = openFolderSet(set, arg, opt)
		}
		return set, err
	case "list":
		if err = needArg(); err == nil {
			var all Source
			if all, err = OpenList(arg, "list"); err == nil {
				set.Classes = all.Classes()
				set.Train, set.Test = set.split(all, valFraction(opt.ValFraction), opt.Seed, "list/train", "list/val")
			}
		}
		return set, err
	default:
		return nil, errors.Errorf("unknown data set %q; expected one of %s", spec, Specs)
	}
	if err != nil {
		return nil, err
	}
	if opt.ValFraction > 0 {
		set.Train, set.Val = set.split(set.Train, opt.ValFraction, opt.Seed, set.Train.Name(), strings.TrimSuffix(set.Train.Name(), "/train")+"/val")
	}
	return set, nil
}

func valFraction(f float64) float64 {
	if f == 0 {
		return defaultValFraction
	}
	return f
}

func openFolderSet(set *Set, dir string, opt OpenOptions) error {
	if st, err := os.Stat(dir); err != nil {
		return errors.Wrapf(err, "%s: image folder", dir)
	} else if !st.IsDir() {
		return errors.Errorf("%s: not a folder; expected root/<class>/<images> or root/train and root/val", dir)
	}
	trainDir := filepath.Join(dir, "train")
	valDir := filepath.Join(dir, "val")
	if st, err := os.Stat(trainDir); err == nil && st.IsDir() {
		train, sk, err := OpenFolder(trainDir, "folder/train", nil, opt.Policy)
		set.Skipped = append(set.Skipped, sk...)
		if err != nil {
			return err
		}
		set.Train, set.Classes = train, train.Classes()
		if st, err := os.Stat(valDir); err == nil && st.IsDir() {
			val, sk, err := OpenFolder(valDir, "folder/val", set.Classes, opt.Policy)
			set.Skipped = append(set.Skipped, sk...)
			if err != nil {
				return err
			}
			set.Test = val
			if opt.ValFraction > 0 {
				set.Train, set.Val = set.split(train, opt.ValFraction, opt.Seed, "folder/train", "folder/heldout")
			}
			return nil
		}
		set.Train, set.Test = set.split(train, valFraction(opt.ValFraction), opt.Seed, "folder/train", "folder/val")
		return nil
	}
	all, sk, err := OpenFolder(dir, "folder", nil, opt.Policy)
	set.Skipped = append(set.Skipped, sk...)
	if err != nil {
		return err
	}
	set.Classes = all.Classes()
	set.Train, set.Test = set.split(all, valFraction(opt.ValFraction), opt.Seed, "folder/train", "folder/val")
	return nil
}
