package data

import (
	"bufio"
	"encoding/csv"
	"image"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/pkg/errors"
)

// listSource is a file list: one "path<TAB>label" or CSV "path,label" line
// per example. Relative paths are relative to the list's folder. Labels are
// either all integers (class i is named "i") or class names (sorted to give
// indices). Files are not touched until Load, so a list of a million paths
// opens in the time it takes to read it.
type listSource struct {
	name    string
	path    string
	classes []string
	files   []string
	labels  []int32
}

// OpenList reads a file list. Blank lines and lines starting with '#' are
// ignored, as is a header line whose label column says "label".
func OpenList(path, name string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Wrapf(err, "%s: opening file list", path)
	}
	defer f.Close()
	base := filepath.Dir(path)
	var files, labels []string
	var lines []int
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var p, l string
		if i := strings.LastIndexByte(line, '\t'); i >= 0 {
			p, l = line[:i], line[i+1:]
		} else {
			rec, err := csv.NewReader(strings.NewReader(line)).Read()
			if err != nil || len(rec) != 2 {
				return nil, errors.Errorf("%s:%d: %q; expected path<TAB>label or CSV path,label", path, ln, line)
			}
			p, l = rec[0], rec[1]
		}
		p, l = strings.TrimSpace(p), strings.TrimSpace(l)
		if len(files) == 0 && strings.EqualFold(l, "label") {
			continue // header
		}
		if p == "" || l == "" {
			return nil, errors.Errorf("%s:%d: empty path or label; expected path<TAB>label or CSV path,label", path, ln)
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		files = append(files, p)
		labels = append(labels, l)
		lines = append(lines, ln)
	}
	if err := sc.Err(); err != nil {
		return nil, errors.Wrapf(err, "%s: reading file list", path)
	}
	if len(files) == 0 {
		return nil, errors.Errorf("%s: empty file list; expected path<TAB>label or CSV path,label lines", path)
	}
	s := &listSource{name: name, path: path, files: files, labels: make([]int32, len(files))}
	numeric := true
	for _, l := range labels {
		if _, err := strconv.Atoi(l); err != nil {
			numeric = false
			break
		}
	}
	if numeric {
		max := 0
		for i, l := range labels {
			v, _ := strconv.Atoi(l)
			if v < 0 || v > 1<<20 {
				return nil, errors.Errorf("%s:%d: label %d out of range; expected 0 to %d", path, lines[i], v, 1<<20)
			}
			s.labels[i] = int32(v)
			if v > max {
				max = v
			}
		}
		for i := 0; i <= max; i++ {
			s.classes = append(s.classes, strconv.Itoa(i))
		}
		return s, nil
	}
	set := map[string]int{}
	for _, l := range labels {
		set[l] = 0
	}
	for k := range set {
		s.classes = append(s.classes, k)
	}
	sort.Strings(s.classes)
	for i, c := range s.classes {
		set[c] = i
	}
	for i, l := range labels {
		s.labels[i] = int32(set[l])
	}
	return s, nil
}

func (s *listSource) Name() string      { return s.name }
func (s *listSource) Len() int          { return len(s.files) }
func (s *listSource) Classes() []string { return s.classes }
func (s *listSource) label(i int) int   { return int(s.labels[i]) }

func (s *listSource) picture(i int) (image.Image, int, string, error) {
	if i < 0 || i >= len(s.files) {
		return nil, 0, "", errors.Errorf("%s: example %d out of range; expected 0 to %d", s.path, i, len(s.files)-1)
	}
	img, err := decodeFile(s.files[i])
	return img, int(s.labels[i]), s.files[i], err
}

func (s *listSource) Load(i int) (*Image, error) { return loadPicture(s, i) }
