package data

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// withExif inserts an APP1 Exif segment holding only the orientation tag
// right after a JPEG's SOI marker, in big- or little-endian TIFF order.
func withExif(t *testing.T, jpg []byte, orientation int, little bool) []byte {
	t.Helper()
	var bo binary.AppendByteOrder = binary.BigEndian
	tiff := []byte("MM\x00\x2a")
	if little {
		bo, tiff = binary.LittleEndian, []byte("II\x2a\x00")
	}
	tiff = bo.AppendUint32(tiff, 8)      // IFD0 right after the header
	tiff = bo.AppendUint16(tiff, 2)      // two entries: one before ours
	tiff = bo.AppendUint16(tiff, 0x010F) // Make, ASCII, 4 bytes inline
	tiff = bo.AppendUint16(tiff, 2)
	tiff = bo.AppendUint32(tiff, 4)
	tiff = append(tiff, 'G', 'o', 0, 0)
	tiff = bo.AppendUint16(tiff, 0x0112) // Orientation, SHORT, 1 value
	tiff = bo.AppendUint16(tiff, 3)
	tiff = bo.AppendUint32(tiff, 1)
	tiff = bo.AppendUint16(tiff, uint16(orientation))
	tiff = append(tiff, 0, 0)
	tiff = bo.AppendUint32(tiff, 0) // no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1}
	app1 = binary.BigEndian.AppendUint16(app1, uint16(len(seg)+2))
	app1 = append(app1, seg...)
	if jpg[0] != 0xFF || jpg[1] != 0xD8 {
		t.Fatal("not a JPEG")
	}
	out := append([]byte{0xFF, 0xD8}, app1...)
	return append(out, jpg[2:]...)
}

// Quadrant levels of the upright (displayed) picture: A top-left, B
// top-right, C bottom-left, D bottom-right.
var quadLevel = map[byte]uint8{'A': 20, 'B': 90, 'C': 160, 'D': 235}

// storedLayout is, for each orientation, the 2x2 layout of quadrants as
// the camera stored them, written out by hand from the EXIF definitions
// (where the stored first row and column belong on the display).
var storedLayout = map[int][2]string{
	1: {"AB", "CD"}, // as displayed
	2: {"BA", "DC"}, // mirrored left-right
	3: {"DC", "BA"}, // turned 180 degrees
	4: {"CD", "AB"}, // mirrored top-bottom
	5: {"AC", "BD"}, // transposed
	6: {"BD", "AC"}, // stored turned anticlockwise: display turns it clockwise
	7: {"DB", "CA"}, // transverse
	8: {"CA", "DB"}, // stored turned clockwise: display turns it anticlockwise
}

// quadrants draws a 2x2 layout with quadrants of qw x qh pixels.
func quadrants(layout [2]string, qw, qh int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, 2*qw, 2*qh))
	for y := 0; y < 2*qh; y++ {
		for x := 0; x < 2*qw; x++ {
			g.Pix[y*g.Stride+x] = quadLevel[layout[y/qh][x/qw]]
		}
	}
	return g
}

// Every orientation decodes to the upright picture: 32 wide, 16 high, A
// top-left. Without the EXIF step, orientation 6 puts A bottom-left.
func TestEXIFOrientation(t *testing.T) {
	const qw, qh = 16, 8 // displayed quadrants (16x8 blocks keep JPEG exact enough)
	for o := 1; o <= 8; o++ {
		for _, little := range []bool{false, true} {
			sw, sh := qw, qh
			if o >= 5 {
				sw, sh = qh, qw // stored sideways
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, quadrants(storedLayout[o], sw, sh), &jpeg.Options{Quality: 100}); err != nil {
				t.Fatal(err)
			}
			b := withExif(t, buf.Bytes(), o, little)
			img, err := decodeBytes(b, "test.jpg")
			if err != nil {
				t.Fatalf("orientation %d: %v", o, err)
			}
			if r := img.Bounds(); r.Dx() != 2*qw || r.Dy() != 2*qh {
				t.Errorf("orientation %d: decoded %dx%d, want %dx%d", o, r.Dx(), r.Dy(), 2*qw, 2*qh)
				continue
			}
			want := quadrants(storedLayout[1], qw, qh)
			for _, q := range []image.Point{{qw / 2, qh / 2}, {qw + qw/2, qh / 2}, {qw / 2, qh + qh/2}, {qw + qw/2, qh + qh/2}} {
				r, _, _, _ := img.At(q.X, q.Y).RGBA()
				got, exp := int(r>>8), int(want.GrayAt(q.X, q.Y).Y)
				if got < exp-6 || got > exp+6 {
					t.Errorf("orientation %d (little-endian %v): pixel %v is %d, want %d", o, little, q, got, exp)
				}
			}
		}
	}
}

// The orientation reaches the model input through a folder source, and
// the geometry scan sees the displayed size.
func TestEXIFOrientationInPipeline(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, quadrants(storedLayout[6], 8, 16), &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "a", "p.jpg"), withExif(t, buf.Bytes(), 6, false))
	src, _, err := OpenFolder(dir, "f", nil, FailOnBad)
	if err != nil {
		t.Fatal(err)
	}
	im, err := SmallPreprocess(Geometry{C: 1, H: 32, W: 64}).Base(src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v := im.Pix[4*64+4]; v > 40.0/255 { // top-left is A (level 20)
		t.Errorf("top-left of the model input is %.0f/255, want about 20 (quadrant A)", 255*v)
	}
}

// WebP carries EXIF in a RIFF chunk of the extended format: a lossless
// picture from x/image's test data, wrapped with VP8X and an EXIF chunk
// holding orientation 6, decodes turned upright.
func TestEXIFOrientationWebP(t *testing.T) {
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/image").Output()
	if err != nil {
		t.Fatalf("locating golang.org/x/image: %v", err)
	}
	plain, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "testdata", "blue-purple-pink.lossless.webp"))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := decodeBytes(plain, "plain.webp")
	if err != nil {
		t.Fatal(err)
	}
	w, h := stored.Bounds().Dx(), stored.Bounds().Dy()
	if string(plain[12:16]) != "VP8L" {
		t.Fatalf("test picture is not a simple lossless WebP (%q)", plain[12:16])
	}
	vp8l := plain[12:] // the VP8L chunk, header included
	var tiff []byte
	tiff = append(tiff, "II\x2a\x00"...)
	tiff = binary.LittleEndian.AppendUint32(tiff, 8)
	tiff = binary.LittleEndian.AppendUint16(tiff, 1)
	tiff = binary.LittleEndian.AppendUint16(tiff, 0x0112)
	tiff = binary.LittleEndian.AppendUint16(tiff, 3)
	tiff = binary.LittleEndian.AppendUint32(tiff, 1)
	tiff = binary.LittleEndian.AppendUint32(tiff, 6)
	tiff = binary.LittleEndian.AppendUint32(tiff, 0)
	chunk := func(fourcc string, body []byte) []byte {
		c := binary.LittleEndian.AppendUint32([]byte(fourcc), uint32(len(body)))
		c = append(c, body...)
		if len(body)%2 == 1 {
			c = append(c, 0)
		}
		return c
	}
	vp8x := []byte{1 << 3, 0, 0, 0}
	vp8x = append(vp8x, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	body := append([]byte("WEBP"), chunk("VP8X", vp8x)...)
	body = append(body, vp8l...)
	body = append(body, chunk("EXIF", tiff)...)
	file := binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(len(body)))
	file = append(file, body...)
	img, err := decodeBytes(file, "turned.webp")
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != h || r.Dy() != w {
		t.Fatalf("orientation 6: decoded %dx%d, want %dx%d (turned)", r.Dx(), r.Dy(), h, w)
	}
	// Orientation 6: the stored bottom-left corner is the displayed top-left,
	// the stored top-left the displayed top-right.
	same := func(a, b color.Color) bool {
		r1, g1, b1, _ := a.RGBA()
		r2, g2, b2, _ := b.RGBA()
		return r1 == r2 && g1 == g2 && b1 == b2
	}
	sb := stored.Bounds()
	if !same(img.At(0, 0), stored.At(sb.Min.X, sb.Max.Y-1)) || !same(img.At(h-1, 0), stored.At(sb.Min.X, sb.Min.Y)) {
		t.Errorf("orientation 6 in a WebP was not applied")
	}
}
