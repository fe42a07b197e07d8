package data

import (
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// BenchmarkImageNetPipeline measures the paper's training input pipeline on
// 64 generated 500x375 JPEGs (the typical ImageNet size): decode, resize the
// shorter side to 256, centre square, mean subtraction, random 224x224 crop
// and flip, in batches of 32 with GOMAXPROCS workers. It reports images/s,
// which must stay well above the training step's rate.
func BenchmarkImageNetPipeline(b *testing.B) {
	for _, f := range []struct {
		name   string
		filter ResizeFilter
	}{{"CatmullRom", CatmullRom}, {"ApproxBiLinear", ApproxBiLinear}} {
		b.Run(f.name, func(b *testing.B) { benchPipeline(b, f.filter) })
	}
}

func benchPipeline(b *testing.B, filter ResizeFilter) {
	root := b.TempDir()
	for i := 0; i < 64; i++ {
		writeFile(b, filepath.Join(root, fmt.Sprintf("c%d", i%4), fmt.Sprintf("%02d.jpg", i)), encodeJPEG(b, testPicture(500, 375, i)))
	}
	src, _, err := OpenFolder(root, "bench", nil, FailOnBad)
	if err != nil {
		b.Fatal(err)
	}
	pre := ImageNetPreprocess(Geometry{3, 224, 224})
	pre.Filter = filter
	bg := pre.BaseGeometry()
	mean := &Mean{C: bg.C, H: bg.H, W: bg.W, Pix: make([]float32, bg.Size())}
	for i := range mean.Pix {
		mean.Pix[i] = 0.45
	}
	l, err := NewLoader(src, LoaderConfig{BatchSize: 32, Pre: pre, Mean: mean, Train: true, Shuffle: true, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	images := 0
	for e := 0; e < b.N; e++ {
		s := l.Start(e, 0)
		for {
			batch, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			images += batch.Valid
			s.Recycle(batch)
		}
		s.Close()
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(images)/el, "images/s")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
}
