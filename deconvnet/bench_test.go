package deconvnet_test

import (
	"fmt"
	"testing"

	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/zfnet"
)

// BenchmarkProjectZFNet times what `zfnet bench --mode deconv` and the
// PyTorch peer's deconv mode time: a recording forward pass of the batch,
// the choice of each image's strongest activation at pool5 (the strongest
// map, then its strongest unit) and its projection down to pixels, one
// ProjectTargets call for the whole batch. batch=1 is the peer's setting.
//
//	go test ./deconvnet -run '^$' -bench ProjectZFNet -count 6
func BenchmarkProjectZFNet(b *testing.B) {
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchProject(b, "zfnet", "pool5", batch) })
	}
}

func benchProject(b *testing.B, arch, layer string, batch int) {
	m, err := zfnet.BenchModel(arch, zfnet.InitPaper, 1)
	if err != nil {
		b.Fatal(err)
	}
	d, err := deconvnet.NewUpTo(m, batch, layer)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	x, _ := zfnet.RandomBatch(m, batch, 1)
	targets := make([]deconvnet.Target, batch)
	step := func() {
		if _, err := d.Forward(x); err != nil {
			b.Fatal(err)
		}
		act, err := d.Activation(layer)
		if err != nil {
			b.Fatal(err)
		}
		s := act.Shape()
		for i, k := range zfnet.StrongestMaps(act.Data().([]float32), s[0], s[1]) {
			targets[i] = deconvnet.Target{Map: k, Strongest: true}
		}
		out, _, err := d.ProjectTargets(layer, targets, deconvnet.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(out) != batch {
			b.Fatalf("%d projections for a batch of %d", len(out), batch)
		}
	}
	step() // warm-up: builds the projection graph
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.StopTimer()
	if s := b.Elapsed().Seconds(); s > 0 {
		_, top := m.Layer(layer)
		n := float64(b.N * batch)
		b.ReportMetric(n/s, "projections/s")
		b.ReportMetric(n*m.FLOPsPerItem(zfnet.BenchDeconv, top)/s/1e9, "GFLOP/s")
	}
}
