package data

import (
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pkg/errors"
)

// folderSource is an image folder in the ImageNet layout, root/<class>/*.jpg.
// It holds only the path list; pictures are decoded on Load.
type folderSource struct {
	name    string
	root    string
	classes []string
	files   []string
	labels  []int32
}

// FolderClasses lists the class folders of root, sorted by name, which is
// what fixes the class indices. Hidden folders are ignored.
func FolderClasses(root string) ([]string, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, errors.Wrapf(err, "%s: reading image folder (expected root/<class>/<image files>)", root)
	}
	var classes []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if isDir(root, e) {
			classes = append(classes, e.Name())
		}
	}
	sort.Strings(classes)
	if len(classes) == 0 {
		return nil, errors.Errorf("%s: no class folders; expected root/<class>/<image files>", root)
	}
	return classes, nil
}

// isDir follows symbolic links, which data set folders often use.
func isDir(root string, e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink != 0 {
		st, err := os.Stat(filepath.Join(root, e.Name()))
		return err == nil && st.IsDir()
	}
	return false
}

// OpenFolder lists an image folder. When classes is nil the class folders
// of root define them; otherwise (a validation folder that must agree with
// training) every class folder of root must be one of classes. Files that
// are not images by their extension, and empty class folders, are errors
// with FailOnBad and reported as skipped with SkipBad. Hidden files are
// ignored. Class folders may nest sub-folders.
func OpenFolder(root, name string, classes []string, policy BadFilePolicy) (Source, []SkippedFile, error) {
	found, err := FolderClasses(root)
	if err != nil {
		return nil, nil, err
	}
	index := map[string]int{}
	if classes == nil {
		classes = found
	}
	for i, c := range classes {
		index[c] = i
	}
	s := &folderSource{name: name, root: root, classes: classes}
	var skipped []SkippedFile
	bad := func(path, reason string) error {
		if policy == SkipBad {
			skipped = append(skipped, SkippedFile{Index: -1, Path: path, Reason: reason})
			return nil
		}
		return errors.Errorf("%s: %s", path, reason)
	}
	for _, c := range found {
		label, ok := index[c]
		dir := filepath.Join(root, c)
		if !ok {
			return nil, nil, errors.Errorf("%s: class folder %q is not among the %d training classes", dir, c, len(classes))
		}
		before := len(s.files)
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if perr := bad(path, "unreadable: "+err.Error()); perr != nil {
					return perr
				}
				if d != nil && d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasPrefix(d.Name(), ".") && path != dir {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			if !isImageExt(d.Name()) {
				return bad(path, "unsupported file type; expected "+extList())
			}
			s.files = append(s.files, path)
			s.labels = append(s.labels, int32(label))
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		if len(s.files) == before {
			if err := bad(dir, "empty class folder; expected at least one "+extList()+" file"); err != nil {
				return nil, nil, err
			}
		}
	}
	if len(s.files) == 0 {
		return nil, skipped, errors.Errorf("%s: no image files in any class folder; expected root/<class>/*.jpg", root)
	}
	return s, skipped, nil
}

func extList() string {
	var e []string
	for k := range imageExts {
		e = append(e, k)
	}
	sort.Strings(e)
	return strings.Join(e, "/")
}

func (s *folderSource) Name() string      { return s.name }
func (s *folderSource) Len() int          { return len(s.files) }
func (s *folderSource) Classes() []string { return s.classes }
func (s *folderSource) label(i int) int   { return int(s.labels[i]) }

func (s *folderSource) picture(i int) (image.Image, int, string, error) {
	if i < 0 || i >= len(s.files) {
		return nil, 0, "", errors.Errorf("%s: example %d out of range; expected 0 to %d", s.root, i, len(s.files)-1)
	}
	img, err := decodeFile(s.files[i])
	return img, int(s.labels[i]), s.files[i], err
}

func (s *folderSource) Load(i int) (*Image, error) {
	return loadPicture(s, i)
}

// loadPicture decodes a picture into an Image at its own size and channels.
func loadPicture(s pictureSource, i int) (*Image, error) {
	img, label, path, err := s.picture(i)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	c := nativeChannels(img)
	return &Image{Pix: toFloat(img, c, nil), C: c, H: b.Dy(), W: b.Dx(), Label: label, Path: path}, nil
}
