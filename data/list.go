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
	files, labels, lines, err := readList(path)
	if err != nil {
		return nil, err
	}
	s := &listSource{name: name, path: path, files: files, labels: make([]int32, len(files))}
	if allIntegers(labels) {
		if err := s.numberedClasses(labels, lines); err != nil {
			return nil, err
		}
		return s, nil
	}
	s.namedClasses(labels)
	return s, nil
}

// readList reads a list's examples: paths (relative ones made relative to
// the list's folder), their labels as written, and the line each came from.
func readList(path string) (files, labels []string, lines []int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, errors.Wrapf(err, "%s: opening file list", path)
	}
	defer f.Close()
	base := filepath.Dir(path)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p, l, err := splitListLine(path, ln, line)
		if err != nil {
			return nil, nil, nil, err
		}
		if len(files) == 0 && strings.EqualFold(l, "label") {
			continue // header
		}
		if p == "" || l == "" {
			return nil, nil, nil, errors.Errorf("%s:%d: empty path or label; expected path<TAB>label or CSV path,label", path, ln)
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		files = append(files, p)
		labels = append(labels, l)
		lines = append(lines, ln)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, nil, errors.Wrapf(err, "%s: reading file list", path)
	}
	if len(files) == 0 {
		return nil, nil, nil, errors.Errorf("%s: empty file list; expected path<TAB>label or CSV path,label lines", path)
	}
	return files, labels, lines, nil
}

// splitListLine splits line ln of the list at path into its path and label,
// trimmed: at the last tab, or else as a two-field CSV record.
func splitListLine(path string, ln int, line string) (p, l string, err error) {
	if i := strings.LastIndexByte(line, '\t'); i >= 0 {
		p, l = line[:i], line[i+1:]
	} else {
		rec, err := csv.NewReader(strings.NewReader(line)).Read()
		if err != nil || len(rec) != 2 {
			return "", "", errors.Errorf("%s:%d: %q; expected path<TAB>label or CSV path,label", path, ln, line)
		}
		p, l = rec[0], rec[1]
	}
	return strings.TrimSpace(p), strings.TrimSpace(l), nil
}

// allIntegers says whether every label is an integer.
func allIntegers(labels []string) bool {
	for _, l := range labels {
		if _, err := strconv.Atoi(l); err != nil {
			return false
		}
	}
	return true
}

// numberedClasses takes integer labels as class indices; the classes are
// "0" to the largest label.
func (s *listSource) numberedClasses(labels []string, lines []int) error {
	max := 0
	for i, l := range labels {
		v, _ := strconv.Atoi(l)
		if v < 0 || v > 1<<20 {
			return errors.Errorf("%s:%d: label %d out of range; expected 0 to %d", s.path, lines[i], v, 1<<20)
		}
		s.labels[i] = int32(v)
		if v > max {
			max = v
		}
	}
	for i := 0; i <= max; i++ {
		s.classes = append(s.classes, strconv.Itoa(i))
	}
	return nil
}

// namedClasses takes labels as class names: the classes are the distinct
// names sorted, and a label's index is its name's place among them.
func (s *listSource) namedClasses(labels []string) {
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
