package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/data/atomicfile"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/experiments"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/deconvnet/index"
)

func init() {
	registerExperiment("top9", "the 9 strongest activations of every feature map over the test set, projected, beside their image patches (Fig. 2)", runTop9)
}

// top9Flags are the flags of `visualize top9`.
type top9Flags struct {
	deconvFlags
	k, limit, perPage, cols int
	indexDir                string
}

func parseTop9Flags(args []string) (*top9Flags, error) {
	f := &top9Flags{}
	fs := newFlags("visualize top9", "", "Streams the test set once and keeps, for every feature map of the chosen layers, its k strongest\n"+
		"activations (one per image); projects each to pixel space and shows the projections beside the input\n"+
		"patches that caused them, both cropped to the receptive field: the paper's Fig. 2.")
	f.register(fs, "all", true, true)
	fs.IntVar(&f.k, "k", 9, "activations kept per feature map")
	fs.IntVar(&f.limit, "limit", 0, "stream only the first N test images (default: all)")
	fs.IntVar(&f.perPage, "per-page", 16, "feature maps per PNG")
	fs.IntVar(&f.cols, "cols", 4, "feature maps per row")
	fs.StringVar(&f.indexDir, "index", "", "read the top-k from this activation index (zfnet index build) instead of scanning the data: "+
		"only the indexed examples are run again; --data/--images must be what it was built over")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if f.k < 1 || f.perPage < 1 || f.cols < 1 || f.limit < 0 || f.batch < 1 {
		return nil, fmt.Errorf("--k, --per-page, --cols and --batch must be positive, --limit >= 0")
	}
	return f, nil
}

func runTop9(args []string) error {
	f, err := parseTop9Flags(args)
	if err != nil {
		return err
	}
	l, opt, layers, maps, err := f.loadLayers()
	if err != nil {
		return err
	}
	var ix *index.Index
	if f.indexDir != "" {
		if ix, err = f.readIndex(); err != nil {
			return err
		}
	}
	src, err := f.source(l, ix)
	if err != nil {
		return err
	}
	d, err := deconvnet.New(l.Model, f.batch)
	if err != nil {
		return err
	}
	defer d.Close()
	var ts []*experiments.TopK
	if ix != nil {
		ts, err = f.fromIndex(ix, d, src, l, layers, maps, opt)
	} else {
		ts, err = f.scan(d, src, l, layers, maps, opt)
	}
	if err != nil {
		return err
	}
	return f.write(l, ts, src, opt)
}

// readIndex reads --index and checks that it can give --k per unit, one
// per image.
func (f *top9Flags) readIndex() (*index.Index, error) {
	ix, err := index.Read(f.indexDir)
	if err != nil {
		return nil, err
	}
	if f.k > ix.K {
		return nil, fmt.Errorf("--k %d: the index keeps %d per unit", f.k, ix.K)
	}
	if ix.Mode != index.PerImage {
		return nil, fmt.Errorf("--index %s keeps every position (--mode position); top9 shows one activation per image: build it with --mode image", f.indexDir)
	}
	return ix, nil
}

// source is what the index was built over, or the test split (--limit).
func (f *top9Flags) source(l *loaded, ix *index.Index) (data.Source, error) {
	if ix != nil {
		return ix.SourceIn(l.Set)
	}
	return f.testSource(l, f.limit)
}

// fromIndex draws each layer's top-k from the index, cut to --k.
func (f *top9Flags) fromIndex(ix *index.Index, d *deconvnet.Net, src data.Source, l *loaded, layers []string, maps []int, opt deconvnet.Options) ([]*experiments.TopK, error) {
	var ts []*experiments.TopK
	for _, layer := range layers {
		t, err := ix.TopK(d, src, f.loaderConfig(l), layer, maps, opt, func(s string) { fmt.Fprintln(os.Stderr, "warning: "+s) })
		if err != nil {
			return nil, err
		}
		t.K = f.k
		for i := range t.Hits {
			t.Hits[i] = t.Hits[i][:min(len(t.Hits[i]), f.k)]
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// scan streams src for the top-k of every layer, printing progress.
func (f *top9Flags) scan(d *deconvnet.Net, src data.Source, l *loaded, layers []string, maps []int, opt deconvnet.Options) ([]*experiments.TopK, error) {
	perLayer := make([][]int, len(layers))
	for i := range perLayer {
		perLayer[i] = maps
	}
	start, last := time.Now(), time.Time{}
	progress := func(done, total int) {
		if time.Since(last) < 500*time.Millisecond && done < total {
			return
		}
		last = time.Now()
		fmt.Fprintf(os.Stderr, "\rtop%d: %d/%d (%d images streamed, then the winners projected) %s ", f.k, done, total, src.Len(), time.Since(start).Round(time.Second))
	}
	ts, err := experiments.TopKLayers(d, src, f.loaderConfig(l), layers, perLayer, f.k, opt, progress)
	fmt.Fprintln(os.Stderr)
	return ts, err
}

// write saves every layer's sheets, --per-page maps each, (and with --raw
// the projections) and adds them to the gallery.
func (f *top9Flags) write(l *loaded, ts []*experiments.TopK, src data.Source, opt deconvnet.Options) error {
	out := f.outDir()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var items []figure.GalleryItem
	for _, t := range ts {
		fired := 0
		for _, h := range t.Hits {
			if len(h) > 0 {
				fired++
			}
		}
		pages := (len(t.Maps) + f.perPage - 1) / f.perPage
		for p := 0; p < pages; p++ {
			part := t.Maps[p*(f.perPage) : min((p+1)*(f.perPage), len(t.Maps))]
			name := fmt.Sprintf("top%d-%s.png", f.k, t.Layer)
			if pages > 1 {
				name = fmt.Sprintf("top%d-%s-%d.png", f.k, t.Layer, p+1)
			}
			if err := figure.SavePNG(filepath.Join(out, name), t.SheetOf(part, f.cols)); err != nil {
				return err
			}
			side := int(math.Ceil(math.Sqrt(float64(f.k))))
			grid := fmt.Sprintf("%dx%d", side, side)
			items = append(items, figure.GalleryItem{
				File: name, Section: fmt.Sprintf("Top-%d activations per feature map (Fig. 2)", f.k),
				Title: fmt.Sprintf("%s, maps %d to %d", t.Layer, part[0], part[len(part)-1]),
				Caption: fmt.Sprintf("For each feature map of %s: its %d strongest activations over the %d images of %s (at most one per image), "+
					"each projected on its own down to pixel space with the %s (left %s grid, strongest first in reading order), "+
					"beside the input patches that produced them (right). Both are cropped to the %dx%d-pixel receptive field; "+
					"the slate-blue part of a patch lies outside the image (zero padding). Projections are scaled one by one: "+
					"gray is zero, bright positive, dark negative. %d of %d maps fired on some image.",
					t.Layer, f.k, t.Images, src.Name(), opt.Rule, grid, t.Window, t.Window, fired, len(t.Maps)),
			})
		}
		if f.raw {
			if err := f.saveTopK(out, t); err != nil {
				return err
			}
		}
		fmt.Printf("%s: %d maps, %d fired\n", t.Layer, len(t.Maps), fired)
	}
	if err := figure.WriteGallery(out, galleryTitle(l), items); err != nil {
		return err
	}
	fmt.Printf("wrote %d pictures and %s\n", len(items), filepath.Join(out, "index.html"))
	return nil
}

// saveTopK writes top<k>-<layer>.npy, the cropped projections as
// (maps, k, C, window, window) with zeros for missing hits, and a CSV of
// which activation each one is.
func (f *deconvFlags) saveTopK(out string, t *experiments.TopK) error {
	cell := t.C * t.Window * t.Window
	all := make([]float32, len(t.Maps)*t.K*cell)
	var csv strings.Builder
	csv.WriteString("map,rank,value,image,label,y,x,x0,y0,x1,y1\n")
	for i, hs := range t.Hits {
		for j, h := range hs {
			copy(all[(i*t.K+j)*cell:], h.Projection)
			b := h.Field.Window
			fmt.Fprintf(&csv, "%d,%d,%g,%d,%d,%d,%d,%d,%d,%d,%d\n", t.Maps[i], j, h.Value, h.Index, h.Label, h.Y, h.X, b.Min.X, b.Min.Y, b.Max.X, b.Max.Y)
		}
	}
	base := fmt.Sprintf("top%d-%s", t.K, t.Layer)
	if err := f.saveNpy(out, base+".npy", []int{len(t.Maps), t.K, t.C, t.Window, t.Window}, all); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(out, base+".csv"), func(w io.Writer) error {
		_, err := io.WriteString(w, csv.String())
		return err
	})
}
