package figure

import (
	"image/color"
	"io"

	"github.com/pkg/errors"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/zfnet/zfnet/data/atomicfile"
)

// SavePlots writes a table of gonum plots into one PNG at path
// (atomically), each cell w x h; rows may differ in length and nil plots
// leave their cell empty. Axes are aligned across the table.
func SavePlots(path string, w, h vg.Length, rows [][]*plot.Plot) error {
	cols := 0
	for _, r := range rows {
		cols = max(cols, len(r))
	}
	img := vgimg.New(w*vg.Length(cols), h*vg.Length(len(rows)))
	dc := vgdraw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	pad := vg.Millimeter * 3
	tiles := vgdraw.Tiles{Rows: len(rows), Cols: cols, PadX: pad * 2, PadY: pad * 2, PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: pad}
	canvases := plot.Align(rows, tiles, dc)
	for i, r := range rows {
		for j, p := range r {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	return atomicfile.Write(path, func(wr io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(wr)
		return errors.Wrapf(err, "writing %s", path)
	})
}
