package index

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/data/testenv"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/experiments"
)

// TestTopKFromIndex: rendering from the index gives the hits the scan of
// experiments.TopKLayers finds (same examples, positions and values, the same
// projections up to rounding), reloading only the winners; a stored value
// that the model no longer gives is warned about; an index of another
// model is refused.
func TestTopKFromIndex(t *testing.T) {
	d, src, cfg, fp := fixture(t, 96, 1)
	o := opts(fp, PerImage, 4)
	o.Layers = []string{"conv2", "fc6"}
	ix, err := Build(context.Background(), d, src, cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	maps := []int{0, 3, 5}
	for _, layer := range o.Layers {
		want, err := experiments.TopKLayers(d, src, cfg, []string{layer}, [][]int{maps}, 4, deconvnet.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var warned []string
		got, err := ix.TopK(d, src, cfg, layer, maps, deconvnet.Options{}, func(s string) { warned = append(warned, s) })
		if err != nil {
			t.Fatal(err)
		}
		if len(warned) > 0 {
			t.Fatalf("%s: warnings on an unchanged model: %v", layer, warned)
		}
		if got.Window != want[0].Window || got.C != want[0].C || got.K != 4 {
			t.Fatalf("%s: window %d C %d; want %d %d", layer, got.Window, got.C, want[0].Window, want[0].C)
		}
		for mi := range maps {
			g, w := got.Hits[mi], want[0].Hits[mi]
			if len(g) != len(w) {
				t.Fatalf("%s map %d: %d hits; want %d", layer, maps[mi], len(g), len(w))
			}
			for j := range g {
				if g[j].Index != w[j].Index || g[j].Y != w[j].Y || g[j].X != w[j].X || g[j].Value != w[j].Value || g[j].Label != w[j].Label || g[j].Field != w[j].Field {
					t.Fatalf("%s map %d hit %d: %+v; want %+v", layer, maps[mi], j, g[j], w[j])
				}
				for p := range g[j].Projection {
					if math.Abs(float64(g[j].Projection[p]-w[j].Projection[p])) > 1e-4*(1+math.Abs(float64(w[j].Projection[p]))) {
						t.Fatalf("%s map %d hit %d: projection differs at %d", layer, maps[mi], j, p)
					}
				}
				if g[j].Patch.Bounds() != w[j].Patch.Bounds() {
					t.Fatalf("%s: patch %v; want %v", layer, g[j].Patch.Bounds(), w[j].Patch.Bounds())
				}
			}
		}
	}
	// A stored value the model does not give: a warning, still drawn.
	ix.Entries[0][3][0].Value *= 1.5
	var warned []string
	if _, err := ix.TopK(d, src, cfg, "conv2", []int{3}, deconvnet.Options{}, func(s string) { warned = append(warned, s) }); err != nil {
		t.Fatal(err)
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "conv2 unit 3") {
		t.Fatalf("warnings: %q", warned)
	}
	d2, _, _, _ := fixture(t, 96, 2)
	if _, err := ix.TopK(d2, src, cfg, "conv2", nil, deconvnet.Options{}, nil); err == nil || !strings.Contains(err.Error(), "does not belong to this model") {
		t.Fatalf("other model: %v", err)
	}
	if _, err := ix.TopK(d, src, cfg, "conv4", nil, deconvnet.Options{}, nil); err == nil || !strings.Contains(err.Error(), "no layer conv4") {
		t.Fatalf("other layer: %v", err)
	}
}

func TestSourceIn(t *testing.T) {
	set, err := data.Open("mnist", data.OpenOptions{ValFraction: 1.0 / 12, Seed: 1})
	if err != nil {
		testenv.SkipLoudly(t, "MNIST is not installed (a module dependency: run go mod download): %v", err)
	}
	for _, c := range []struct {
		name string
		n    int
		ok   bool
	}{
		{"mnist/test", 10000, true},
		{"mnist/test[:50]", 50, true},
		{"mnist/train", 60000, true}, // the whole split, though the run carved a validation share
		{"mnist/train[:300]", 300, true},
		{"mnist/train", 59999, false},
		{"fashion-mnist/test", 10000, false},
	} {
		ix := &Index{Header: Header{Source: c.name, Examples: c.n}}
		src, err := ix.SourceIn(set)
		if c.ok != (err == nil) || (err == nil && (src.Name() != c.name || src.Len() != c.n)) {
			t.Errorf("%s (%d): %v %v", c.name, c.n, src, err)
		}
	}
}
