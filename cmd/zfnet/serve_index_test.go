package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/experiments"
	"github.com/zfnet/zfnet/deconvnet/index"
)

// TestServeIndex serves top-9 from an activation index (zfnet index
// build's format) over the first 300 test digits: its nine images are the
// on-demand search's over the same digits, and an index of another model
// or set is refused at start.
func TestServeIndex(t *testing.T) {
	l := serveModel(t)
	idx := make([]int, 300)
	for i := range idx {
		idx[i] = i
	}
	src := data.Subset(l.Set.Test, fmt.Sprintf("%s[:300]", l.Set.Test.Name()), idx)
	d, err := deconvnet.New(l.Model, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cfg := data.LoaderConfig{Pre: l.Pre, Mean: l.Mean, Workers: 1}
	ix, err := index.Build(context.Background(), d, src, cfg, index.Options{Layers: []string{"conv5"}, K: 9, Mode: index.PerImage,
		Fingerprint: index.Fingerprint(l.Model, l.Pre, l.Mean)})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ix")
	if err := index.Write(dir, ix); err != nil {
		t.Fatal(err)
	}

	opt := defaultServeOptions()
	opt.IndexImages = 300
	s, ts := newServeTest(t, opt)
	if err := s.useIndex(dir); err != nil {
		t.Fatal(err)
	}
	top9 := func(layer string, unit int) map[string]any {
		a := get(t, ts, fmt.Sprintf("/api/top9?layer=%s&unit=%d&rule=guided", layer, unit))
		mustOK(t, a, "top9")
		ls := a.lines(t)
		res, ok := ls[len(ls)-1]["result"].(map[string]any)
		if !ok {
			t.Fatalf("top9 %s %d: last line %v", layer, unit, ls[len(ls)-1])
		}
		decodeDataURL(t, res["figure"])
		return res
	}
	ids := func(res map[string]any) string {
		var out []string
		for _, h := range res["hits"].([]any) {
			out = append(out, h.(map[string]any)["id"].(string))
		}
		return strings.Join(out, ",")
	}
	for unit := 0; unit < 3; unit++ {
		fromIndex := top9("conv5", unit)
		if fromIndex["index"] == nil {
			t.Fatalf("conv5 top-9 did not come from the index: %v", fromIndex)
		}
		// The same search on demand (conv5 through norm: another layer key
		// would share the index, so compare with experiments.Top9 directly).
		tk, err := experiments.Top9(d, src, cfg, "conv5", []int{unit}, 9, deconvnet.Options{Rule: deconvnet.Guided}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, h := range tk.Hits[0] {
			want = append(want, fmt.Sprintf("d%d", h.Index))
		}
		if got := ids(fromIndex); got != strings.Join(want, ",") {
			t.Errorf("conv5 map %d: the index's top-9 %s, the search's %s", unit, got, strings.Join(want, ","))
		}
	}
	// A layer the index lacks falls back to the on-demand search.
	if res := top9("conv3", 0); res["index"] != nil {
		t.Errorf("conv3 is not in the index: %v", res["index"])
	}

	// Refused: an index of other weights.
	other := untrainedLoaded(t, "zfnet-small")
	other.Set = l.Set
	s2, err := newServer(other, defaultServeOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.useIndex(dir); err == nil || !strings.Contains(err.Error(), "built for") && !strings.Contains(err.Error(), "other weights") {
		t.Errorf("an index of another model: %v", err)
	}
	if err := s.useIndex(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not an activation index") {
		t.Errorf("a folder without an index: %v", err)
	}
	if n := s.stats.failures.Load(); n != 0 {
		t.Errorf("%d requests failed with 5xx", n)
	}
}
