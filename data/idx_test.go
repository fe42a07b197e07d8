package data

import (
	"bytes"
	"compress/gzip"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadIDX(t *testing.T) {
	raw := encodeIDX([]int{2, 2, 3}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	for name, b := range map[string][]byte{"raw": raw, "gzip": gz.Bytes()} {
		m, err := ReadIDX(bytes.NewReader(b), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(m.Dims) != 3 || m.Dims[0] != 2 || m.Dims[2] != 3 || len(m.Data) != 12 || m.Data[11] != 12 {
			t.Fatalf("%s: got %v %v", name, m.Dims, m.Data)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	good := encodeIDX([]int{2, 2}, []byte{1, 2, 3, 4})
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "magic number"},
		{"magic", append([]byte{1, 2}, good[2:]...), "expected 00 00 08"},
		{"type", append([]byte{0, 0, 0x0D}, good[3:]...), "expected 0x08"},
		{"ndims", append([]byte{0, 0, 8, 9}, good[4:]...), "expected 1 to 4"},
		{"short header", good[:6], "dimension 1"},
		{"truncated", good[:len(good)-1], "truncated"},
		{"trailing", append(append([]byte{}, good...), 0), "longer than shape"},
		{"huge", encodeIDX([]int{1 << 20, 1 << 20}, nil), "more than"},
		{"bad gzip", []byte{0x1f, 0x8b, 0, 0}, "gzip"},
	}
	for _, c := range cases {
		_, err := ReadIDX(bytes.NewReader(c.b), "f.idx")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "f.idx") {
			t.Errorf("%s: error %v; want one naming f.idx and containing %q", c.name, err, c.want)
		}
	}
}

func TestIDXSourceChecks(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "img")
	lab := filepath.Join(dir, "lab")
	writeFile(t, img, encodeIDX([]int{2, 1, 2}, []byte{0, 255, 128, 64}))
	writeFile(t, lab, encodeIDX([]int{2}, []byte{1, 0}))
	s, err := OpenIDX("t", img, lab, []string{"x", "y"})
	if err != nil {
		t.Fatal(err)
	}
	im, err := s.Load(0)
	if err != nil || im.Label != 1 || im.Pix[1] != 1 || im.C != 1 || im.H != 1 || im.W != 2 {
		t.Fatalf("load: %+v %v", im, err)
	}
	if _, err := s.Load(2); err == nil {
		t.Error("out-of-range load did not fail")
	}
	// A label beyond the classes.
	writeFile(t, lab, encodeIDX([]int{2}, []byte{1, 7}))
	if _, err := OpenIDX("t", img, lab, []string{"x", "y"}); err == nil || !strings.Contains(err.Error(), "label 7") || !strings.Contains(err.Error(), lab) {
		t.Errorf("label out of range: %v", err)
	}
	// Counts that disagree.
	writeFile(t, lab, encodeIDX([]int{3}, []byte{1, 0, 0}))
	if _, err := OpenIDX("t", img, lab, []string{"x", "y"}); err == nil || !strings.Contains(err.Error(), "3 labels for 2 images") {
		t.Errorf("count mismatch: %v", err)
	}
	// Labels swapped with images.
	if _, err := OpenIDX("t", lab, img, []string{"x", "y"}); err == nil || !strings.Contains(err.Error(), "expected 3 dimensions") {
		t.Errorf("swapped files: %v", err)
	}
	if _, err := OpenIDX("t", filepath.Join(dir, "missing"), lab, nil); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzIDX checks that no input makes the IDX parser or the source panic.
func FuzzIDX(f *testing.F) {
	f.Add(encodeIDX([]int{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add(encodeIDX([]int{3}, []byte{0, 1, 9}))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Add([]byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadIDX(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		n := 1
		for _, d := range m.Dims {
			n *= d
		}
		if n != len(m.Data) {
			t.Fatalf("shape %v but %d bytes", m.Dims, len(m.Data))
		}
		labels := &IDX{Dims: []int{0}}
		if len(m.Dims) > 0 {
			labels = &IDX{Dims: []int{m.Dims[0]}, Data: make([]byte, m.Dims[0])}
		}
		s, err := NewIDXSource("fuzz", m, "img", labels, "lab", MNISTClasses)
		if err != nil {
			return
		}
		for i := 0; i < s.Len() && i < 4; i++ {
			if _, err := s.Load(i); err != nil {
				t.Fatal(err)
			}
		}
	})
}
