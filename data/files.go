package data

import (
	"image"

	"github.com/pkg/errors"
)

// Unlabeled is the label of an example whose class is not known.
const Unlabeled = -1

// filesSource is a plain list of picture files without labels (Label -1):
// what `zfnet predict` and the visualizations read from the command line.
type filesSource struct {
	paths   []string
	classes []string
}

// ImageFiles makes a source of picture files; classes names the model's
// outputs (it is what Classes reports), labels are unknown (-1).
func ImageFiles(paths []string, classes []string) (Source, error) {
	if len(paths) == 0 {
		return nil, errors.New("no image files given")
	}
	for _, p := range paths {
		if !isImageExt(p) {
			return nil, errors.Errorf("%s: unsupported image type; expected one of %s", p, extList())
		}
	}
	return &filesSource{paths: append([]string(nil), paths...), classes: classes}, nil
}

func (s *filesSource) Name() string      { return "files" }
func (s *filesSource) Len() int          { return len(s.paths) }
func (s *filesSource) Classes() []string { return s.classes }
func (s *filesSource) Load(i int) (*Image, error) {
	return loadPicture(s, i)
}

func (s *filesSource) picture(i int) (image.Image, int, string, error) {
	if i < 0 || i >= len(s.paths) {
		return nil, 0, "", errors.Errorf("image %d out of range; expected 0 to %d", i, len(s.paths)-1)
	}
	img, err := decodeFile(s.paths[i])
	return img, Unlabeled, s.paths[i], err
}
