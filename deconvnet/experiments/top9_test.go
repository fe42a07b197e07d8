package experiments

import (
	"math"
	"math/rand"
	"sort"
	"testing"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/figure"
)

// vizBruteTopK runs every image on its own batch layout and sorts, per map,
// the images' strongest positions: the definition Top9 streams.
func vizBruteTopK(t *testing.T, d *deconvnet.Net, src data.Source, cfg data.LoaderConfig, layer string, k int) [][]entry {
	t.Helper()
	size := cfg.Pre.Geometry.Size()
	var all []float32
	var labels []int
	for i := 0; i < src.Len(); i++ {
		base, err := cfg.Pre.Base(src, i)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, size)
		cfg.Pre.ApplyCrop(base.Pix, cfg.Mean, cfg.Pre.CenterCrop(), x)
		all = append(all, x...)
		labels = append(labels, base.Label)
	}
	var per [][]entry
	for start := 0; start < src.Len(); start += d.Batch {
		x := make([]float32, d.Batch*size)
		valid := min(d.Batch, src.Len()-start)
		copy(x, all[start*size:(start+valid)*size])
		if _, err := d.Forward(x); err != nil {
			t.Fatal(err)
		}
		act, err := d.Activation(layer)
		if err != nil {
			t.Fatal(err)
		}
		a, s := act.Data().([]float32), act.Shape()
		c, hw := s[1], s[2]*s[3]
		if per == nil {
			per = make([][]entry, c)
		}
		for r := 0; r < valid; r++ {
			for m := 0; m < c; m++ {
				plane := a[(r*c+m)*hw : (r*c+m+1)*hw]
				bi := 0
				for i, v := range plane {
					if v > plane[bi] {
						bi = i
					}
				}
				if plane[bi] > 0 {
					per[m] = append(per[m], entry{value: plane[bi], index: start + r, label: labels[start+r], fmap: m, y: bi / s[3], x: bi % s[3]})
				}
			}
		}
	}
	for m := range per {
		sort.Slice(per[m], func(a, b int) bool { return better(per[m][a], per[m][b]) })
		per[m] = per[m][:min(k, len(per[m]))]
	}
	return per
}

func TestTop9MatchesBruteForce(t *testing.T) {
	src, cfg := vizMNIST(t, 150)
	d := vizSmallNet(t, 16, 3) // 150 = 9 batches of 16 and a padded one
	layers := []string{"conv2", "conv5"}
	var calls, last int
	ts, err := TopKLayers(d, src, cfg, layers, nil, 9, deconvnet.Options{}, func(done, total int) { calls++; last = done })
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || last < 150 {
		t.Errorf("progress: %d calls, last done %d", calls, last)
	}
	ref := vizSmallNet(t, 40, 3)
	for li, layer := range layers {
		tk := ts[li]
		want := vizBruteTopK(t, ref, src, cfg, layer, 9)
		if len(tk.Maps) != len(want) || tk.Images != 150 || tk.K != 9 {
			t.Fatalf("%s: %d maps, %d images, k %d; want %d maps, 150, 9", layer, len(tk.Maps), tk.Images, tk.K, len(want))
		}
		win, _ := deconvnet.FieldSize(d.Model, layer)
		for i, m := range tk.Maps {
			got := tk.Hits[i]
			if len(got) != len(want[m]) {
				t.Fatalf("%s map %d: %d hits, want %d", layer, m, len(got), len(want[m]))
			}
			for j, h := range got {
				w := want[m][j]
				if h.Index != w.index || h.Y != w.y || h.X != w.x || h.Label != w.label ||
					math.Abs(float64(h.Value-w.value)) > 1e-4*math.Abs(float64(w.value))+1e-6 {
					t.Fatalf("%s map %d rank %d: got image %d (%d, %d) label %d value %g; want image %d (%d, %d) label %d value %g",
						layer, m, j, h.Index, h.Y, h.X, h.Label, h.Value, w.index, w.y, w.x, w.label, w.value)
				}
				f, _ := deconvnet.ReceptiveField(d.Model, layer, h.Y, h.X)
				if h.Field != f || f.Window.Dx() != win || len(h.Projection) != win*win || h.Patch.Bounds().Dx() != win {
					t.Fatalf("%s map %d rank %d: field %v (want %v), projection %d values, patch %v", layer, m, j, h.Field, f, len(h.Projection), h.Patch.Bounds())
				}
			}
		}
	}

	// A hit's projection is the projection of that activation alone,
	// cropped to its receptive field.
	tk := ts[0]
	h := tk.Hits[0][0]
	base, err := cfg.Pre.Base(src, h.Index)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, d.Batch*784)
	cfg.Pre.ApplyCrop(base.Pix, cfg.Mean, cfg.Pre.CenterCrop(), x[:784])
	if _, err := d.Forward(x); err != nil {
		t.Fatal(err)
	}
	ps, _, err := d.ProjectTargets("conv2", []deconvnet.Target{{Map: tk.Maps[0], Y: h.Y, X: h.X}}, deconvnet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	crop := h.Field.Crop(ps[0], 1, 28, 28)
	var nonzero int
	for i := range crop {
		if math.Abs(float64(crop[i]-h.Projection[i])) > 1e-4 {
			t.Fatalf("projection value %d: %g, direct %g", i, h.Projection[i], crop[i])
		}
		if crop[i] != 0 {
			nonzero++
		}
	}
	if nonzero == 0 {
		t.Fatal("the projection is all zero")
	}
	// Nothing of the projection lies outside the receptive field.
	var inside, total float64
	for i, v := range ps[0] {
		total += math.Abs(float64(v))
		if y, xx := i/28, i%28; y >= h.Field.Box.Min.Y && y < h.Field.Box.Max.Y && xx >= h.Field.Box.Min.X && xx < h.Field.Box.Max.X {
			inside += math.Abs(float64(v))
		}
	}
	if inside != total {
		t.Fatalf("%g of the projection's %g mass lies outside the receptive field %v", total-inside, total, h.Field.Box)
	}
}

func TestTop9HeapIsBounded(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	h := &minHeap{k: 9}
	var all []entry
	for i := 0; i < 100000; i++ {
		e := entry{value: float32(r.Intn(5000)), index: i}
		all = append(all, e)
		h.offer(e)
		if len(h.e) > 9 {
			t.Fatalf("heap holds %d entries", len(h.e))
		}
	}
	sort.Slice(all, func(a, b int) bool { return better(all[a], all[b]) })
	got := append([]entry(nil), h.e...)
	sort.Slice(got, func(a, b int) bool { return better(got[a], got[b]) })
	for i := range got {
		if got[i] != all[i] {
			t.Fatalf("rank %d: %+v, want %+v", i, got[i], all[i])
		}
	}
}

func TestTop9Images(t *testing.T) {
	src, cfg := vizMNIST(t, 40)
	d := vizSmallNet(t, 8, 5)
	tk, err := Top9(d, src, cfg, "conv2", []int{3, 7, 11}, 9, deconvnet.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	win, _ := deconvnet.FieldSize(d.Model, "conv2")
	side := win * max(1, (topCell+win-1)/win)
	grid := 3*side + 4*2
	img := tk.MapImage(7)
	if img == nil {
		t.Fatal("MapImage(7) is nil")
	}
	if b := img.Bounds(); b.Dx() != 2*grid+6 || b.Dy() != grid+figure.LineHeight+2 {
		t.Fatalf("map image %v; want %dx%d", b, 2*grid+6, grid+figure.LineHeight+2)
	}
	if vizUniform(img) {
		t.Fatal("the map image is uniform")
	}
	if tk.MapImage(4) != nil {
		t.Error("MapImage of a map that was not searched is not nil")
	}
	sheet := tk.Sheet(2)
	if b := sheet.Bounds(); b.Dx() < 2*(2*grid+6) || b.Dy() < 2*grid {
		t.Fatalf("sheet %v is too small for 2x2 map images", b)
	}
}

func TestTop9Errors(t *testing.T) {
	src, cfg := vizMNIST(t, 10)
	d := vizSmallNet(t, 4, 1)
	for name, f := range map[string]func() error{
		"k=0":     func() error { _, err := Top9(d, src, cfg, "conv1", nil, 0, deconvnet.Options{}, nil); return err },
		"bad map": func() error { _, err := Top9(d, src, cfg, "conv1", []int{32}, 9, deconvnet.Options{}, nil); return err },
		"twice": func() error {
			_, err := Top9(d, src, cfg, "conv1", []int{1, 1}, 9, deconvnet.Options{}, nil)
			return err
		},
		"bad layer":  func() error { _, err := Top9(d, src, cfg, "conv7", nil, 9, deconvnet.Options{}, nil); return err },
		"nil source": func() error { _, err := Top9(d, nil, cfg, "conv1", nil, 9, deconvnet.Options{}, nil); return err },
		"geometry": func() error {
			c := cfg
			c.Pre = data.SmallPreprocess(data.Geometry{C: 1, H: 32, W: 32})
			c.Mean = nil
			_, err := Top9(d, src, c, "conv1", nil, 9, deconvnet.Options{}, nil)
			return err
		},
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
