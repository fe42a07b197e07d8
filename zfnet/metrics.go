package zfnet

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"strconv"

	"github.com/pkg/errors"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/zfnet/zfnet/data/atomicfile"
)

// WriteMetricsCSV writes one row per epoch (atomically).
func WriteMetricsCSV(path string, rows []EpochMetrics) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"epoch", "train_loss", "train_acc", "val_loss", "val_top1", "val_top5", "lr", "images_per_s", "seconds"})
		f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
		for _, r := range rows {
			cw.Write([]string{strconv.Itoa(r.Epoch), f(r.TrainLoss), f(r.TrainAcc), f(r.ValLoss), f(r.ValTop1), f(r.ValTop5), f(r.LR), f(r.ImagesPerSec), f(r.Seconds)})
		}
		cw.Flush()
		return errors.Wrapf(cw.Error(), "writing %s", path)
	})
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return errors.Wrapf(err, "encoding %s", path)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return errors.Wrapf(err, "writing %s", path)
	})
}

// PlotTrainingCurve draws loss (left) and error rate (right) per epoch for
// training and validation as a PNG.
func PlotTrainingCurve(path, title string, rows []EpochMetrics) error {
	if len(rows) == 0 {
		return nil
	}
	loss, errRate := plot.New(), plot.New()
	loss.Title.Text, errRate.Title.Text = title+": loss", title+": top-1 error (%)"
	loss.X.Label.Text, errRate.X.Label.Text = "epoch", "epoch"
	loss.X.Tick.Marker, errRate.X.Tick.Marker = epochTicks{}, epochTicks{}
	series := func(get func(EpochMetrics) float64) plotter.XYs {
		xy := make(plotter.XYs, len(rows))
		for i, r := range rows {
			xy[i].X, xy[i].Y = float64(r.Epoch), get(r)
		}
		return xy
	}
	if err := plotutil.AddLinePoints(loss,
		"train", series(func(r EpochMetrics) float64 { return r.TrainLoss }),
		"validation", series(func(r EpochMetrics) float64 { return r.ValLoss })); err != nil {
		return errors.Wrap(err, "training curve")
	}
	if err := plotutil.AddLinePoints(errRate,
		"train", series(func(r EpochMetrics) float64 { return 100 * (1 - r.TrainAcc) }),
		"validation", series(func(r EpochMetrics) float64 { return 100 * (1 - r.ValTop1) })); err != nil {
		return errors.Wrap(err, "training curve")
	}
	return SavePlots(path, 5*vg.Inch, 4*vg.Inch, loss, errRate)
}

// epochTicks marks whole epochs (about eight of them), where plot's
// default ticker would label 2.5 and 12.5.
type epochTicks struct{}

func (epochTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := math.Ceil(lo), math.Floor(hi)
	step := math.Max(1, math.Ceil((last-first)/8))
	var ts []plot.Tick
	for v := first; v <= last; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: strconv.Itoa(int(v))})
	}
	return ts
}

// SavePlots writes plots side by side into one PNG (atomically).
func SavePlots(path string, w, h vg.Length, plots ...*plot.Plot) error {
	img := vgimg.New(w*vg.Length(len(plots)), h)
	pad := vg.Millimeter * 3
	tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: pad, PadY: pad, PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: pad}
	canvases := plot.Align([][]*plot.Plot{plots}, tiles, draw.New(img))
	for j, p := range plots {
		p.Draw(canvases[0][j])
	}
	return atomicfile.Write(path, func(wr io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(wr)
		return errors.Wrapf(err, "writing %s", path)
	})
}
