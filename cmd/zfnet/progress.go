package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/zfnet/zfnet/zfnet"
)

// bar draws a one-line progress bar on a terminal, redrawn at most every
// 200 ms; quiet turns it off (logs still get a line per epoch).
type bar struct {
	w     io.Writer
	quiet bool
	last  time.Time
}

// newBar draws on stderr; when stderr is not a terminal (a log file, CI)
// the bar is off and only the per-epoch lines are written.
func newBar(quiet bool) *bar {
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice == 0 {
		quiet = true
	}
	return &bar{w: os.Stderr, quiet: quiet}
}

func (b *bar) step(p zfnet.Progress) {
	if b.quiet || (time.Since(b.last) < 200*time.Millisecond && p.Batch < p.Batches) {
		return
	}
	b.last = time.Now()
	const width = 30
	done := width * p.Batch / p.Batches
	fmt.Fprintf(b.w, "\repoch %d/%d [%s%s] %d/%d loss %.4f acc %.2f%% %.0f img/s ETA %s  ",
		p.Epoch, p.Epochs, strings.Repeat("=", done), strings.Repeat(" ", width-done), p.Batch, p.Batches,
		p.Loss, 100*p.Acc, p.ImagesPerSec, p.ETA.Round(time.Second))
}

func (b *bar) epoch(m zfnet.EpochMetrics) {
	if !b.quiet {
		fmt.Fprintln(b.w)
	}
	fmt.Fprintf(b.w, "epoch %d: train loss %.4f acc %.2f%% | val loss %.4f top-1 %.2f%% top-5 %.2f%% | lr %g | %.0f img/s, %.0fs\n",
		m.Epoch, m.TrainLoss, 100*m.TrainAcc, m.ValLoss, 100*m.ValTop1, 100*m.ValTop5, m.LR, m.ImagesPerSec, m.Seconds)
}

func (b *bar) logf(format string, args ...any) {
	fmt.Fprintf(b.w, format+"\n", args...)
}
