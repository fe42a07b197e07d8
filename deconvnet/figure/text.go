package figure

import (
	"image"
	"image/color"
	"image/draw"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Text in figures uses the 7x13 bitmap face of x/image: crisp at any size
// the gallery shows, no font files, the same pixels everywhere.
var face = basicfont.Face7x13

// The figures' colours: text, background, secondary text.
var (
	Ink   = color.RGBA{30, 30, 30, 255}
	Paper = color.RGBA{255, 255, 255, 255}
	Muted = color.RGBA{110, 110, 110, 255}
)

const (
	// TextHeight is the height of the face's glyphs in pixels.
	TextHeight = 13
	// LineHeight is the height of one text line with spacing.
	LineHeight = 15
)

// TextWidth is the width of s in pixels.
func TextWidth(s string) int { return font.MeasureString(face, s).Ceil() }

// Text draws s with its top-left corner at (x, y).
func Text(dst draw.Image, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, y+face.Ascent)}
	d.DrawString(s)
}

// WrapText breaks s into lines of at most n characters at spaces.
func WrapText(s string, n int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > n {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// ClassName is class k's name in classes, or its number when classes does
// not name it.
func ClassName(classes []string, k int) string {
	if k >= 0 && k < len(classes) {
		return classes[k]
	}
	return strconv.Itoa(k)
}
