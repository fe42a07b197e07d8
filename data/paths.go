package data

import (
	"os"
	"path/filepath"
	"sort"

	"github.com/pkg/errors"
)

// ImagePaths lists the pictures directly inside dir (by extension, sorted
// by name), for commands that take a folder of photographs without labels
// (predict, visualize --images). Sub-folders are not entered: a folder of
// class folders is a data set (folder:DIR).
func ImagePaths(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, errors.Wrapf(err, "reading the picture folder %s", dir)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && isImageExt(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}
