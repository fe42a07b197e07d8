package data

import (
	"bytes"
	"image/jpeg"
	"path/filepath"
	"strings"
	"testing"
)

// ScanSizes reads every picture's header, with the EXIF turn applied: a
// portrait photo stored sideways counts as portrait.
func TestScanSizes(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, quadrants(storedLayout[6], 8, 16), &jpeg.Options{Quality: 90}); err != nil { // stored 16x32
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "a", "sideways.jpg"), withExif(t, buf.Bytes(), 6, true))
	writeFile(t, filepath.Join(dir, "a", "upright.png"), encodePNG(t, quadrants(storedLayout[1], 16, 8)))
	writeFile(t, filepath.Join(dir, "b", "photo.png"), encodePNG(t, testPicture(40, 30, 1)))
	src, _, err := OpenFolder(dir, "f", nil, FailOnBad)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ScanSizes(src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Examined != 3 || s.Uniform || s.MinW != 32 || s.MinH != 16 || s.MaxW != 40 || s.MaxH != 30 || !s.Colour {
		t.Errorf("sizes %+v; want 3 examined, 32x16 (the sideways JPEG displayed) to 40x30, colour", s)
	}
	// Two of the three are 32x16 when displayed.
	a, _, err := OpenFolder(filepath.Join(dir), "f", nil, FailOnBad)
	if err != nil {
		t.Fatal(err)
	}
	sub := Subset(a, "a", []int{0, 1})
	if s, err := ScanSizes(sub, 0); err != nil || !s.Uniform || s.MaxW != 32 || s.MaxH != 16 || s.Colour || !strings.Contains(s.String(), "32x16, gray (all 2 pictures)") {
		t.Errorf("class a: %+v %q, %v; want uniform 32x16 gray", s, s.String(), err)
	}
}
