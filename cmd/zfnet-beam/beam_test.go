package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/zfnet/zfnet/data/testenv"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/index"
	"github.com/zfnet/zfnet/zfnet"
)

func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init()
	os.Exit(m.Run())
}

// TestPrismMatchesSingleProcess runs the pipeline on Prism over 300 MNIST
// digits and compares its index, byte for byte, with the single-process
// build's (index.Build, what zfnet index build runs).
func TestPrismMatchesSingleProcess(t *testing.T) {
	tmp := t.TempDir()
	m, err := zfnet.NewInitialized("zfnet-small", zfnet.InitHe, 1)
	if err != nil {
		t.Fatal(err)
	}
	w := filepath.Join(tmp, "w.npz")
	if err := m.SaveWeights(w); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"image", "position"} {
		spec := Spec{Weights: w, Arch: "zfnet-small", Data: "mnist", Split: "train", Limit: 300, Batch: 32,
			Layers: []string{"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"}, K: 9, Mode: mode}
		o, err := spec.open()
		if err != nil {
			testenv.SkipLoudly(t, "MNIST is not installed (a module dependency: run go mod download): %v", err)
		}
		d, err := deconvnet.New(o.model, spec.Batch)
		if err != nil {
			t.Fatal(err)
		}
		ix, err := index.Build(context.Background(), d, o.src, o.cfg, o.opt)
		d.Close()
		if err != nil {
			t.Fatal(err)
		}
		single := filepath.Join(tmp, mode, "single")
		if err := index.Write(single, ix); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(tmp, mode, "beam")
		p, err := pipeline(spec, out)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := prism.Execute(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		ents, err := os.ReadDir(single)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			x, _ := os.ReadFile(filepath.Join(single, e.Name()))
			y, err := os.ReadFile(filepath.Join(out, e.Name()))
			if err != nil || !bytes.Equal(x, y) {
				t.Fatalf("%s: %s differs between the single-process and the Beam index (%v)", mode, e.Name(), err)
			}
		}
		if b, _ := os.ReadDir(out); len(b) != len(ents) {
			t.Fatalf("%s: Beam wrote %d files, the single process %d", mode, len(b), len(ents))
		}
	}
}

// TestBadSpec: flags that cannot work fail before the pipeline starts.
func TestBadSpec(t *testing.T) {
	for _, s := range []Spec{
		{Batch: 8, K: 9, Split: "test", Mode: "image"},
		{Weights: "/nonexistent.npz", Batch: 8, K: 9, Split: "test", Mode: "image"},
		{Weights: "x", Batch: 8, K: 500, Split: "test", Mode: "image"},
	} {
		if _, err := pipeline(s, filepath.Join(t.TempDir(), "o")); err == nil {
			t.Errorf("%+v: no error", s)
		}
	}
}
