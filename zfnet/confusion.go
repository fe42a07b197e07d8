package zfnet

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// ConfusionImage draws a confusion matrix (rows: true class, columns:
// predicted), each cell shaded by its share of the row and labelled with
// its count, with class names along both axes.
func ConfusionImage(conf [][]int, classes []string) image.Image {
	k := len(conf)
	const cell = 36
	label := 0
	for _, c := range classes {
		label = max(label, len(c))
	}
	left, top := 7*label+12, 24
	const note = "rows: true class; columns: predicted class (index); red: errors"
	img := image.NewRGBA(image.Rect(0, 0, max(left+k*cell+10, left+7*len(note)+10), top+k*cell+24))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	text := func(x, y int, s string, c color.Color) {
		d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
		d.DrawString(s)
	}
	for i, row := range conf {
		sum := 0
		for _, v := range row {
			sum += v
		}
		for j, v := range row {
			share := 0.0
			if sum > 0 {
				share = float64(v) / float64(sum)
			}
			shade := uint8(255 - math.Round(200*math.Sqrt(share)))
			bg := color.RGBA{shade, shade, 255, 255}
			if i != j && v > 0 {
				bg = color.RGBA{255, shade, shade, 255}
			}
			r := image.Rect(left+j*cell, top+i*cell, left+(j+1)*cell-1, top+(i+1)*cell-1)
			draw.Draw(img, r, image.NewUniform(bg), image.Point{}, draw.Src)
			s := fmt.Sprint(v)
			text(r.Min.X+(cell-7*len(s))/2, r.Min.Y+cell/2+4, s, color.Black)
		}
	}
	for i := 0; i < k; i++ {
		name := fmt.Sprint(i)
		if i < len(classes) {
			name = classes[i]
		}
		text(left-7*len(name)-6, top+i*cell+cell/2+4, name, color.Black)
		// Column labels, written vertically one letter per line would be
		// unreadable; the index with the legend below keeps it compact.
		text(left+i*cell+cell/2-3*len(fmt.Sprint(i)), top-6, fmt.Sprint(i), color.Black)
	}
	text(left, top+k*cell+16, note, color.Gray{90})
	return img
}
