package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvolutionFromSnapshotIndexes: index build --snapshots writes one
// index per snapshot of a run (keeping those already built), and
// visualize evolution --indexes draws Fig. 4 from them; a missing index
// is an error naming the command that builds it.
func TestEvolutionFromSnapshotIndexes(t *testing.T) {
	ck := tinyRun(t)
	runDir := filepath.Dir(ck)
	snaps, _ := filepath.Glob(filepath.Join(runDir, "snapshots", "epoch-*.npz"))
	if len(snaps) < 2 {
		t.Fatalf("the tiny run has %d snapshots; want at least 2", len(snaps))
	}
	ixs := filepath.Join(t.TempDir(), "indexes")
	build := []string{"index", "build", "--checkpoint", ck, "--split", "train", "--limit", "200", "--batch", "32",
		"--layers", "conv2,fc6", "--top", "3", "--save-every", "64", "--quiet", "--snapshots", runDir, "--out", ixs}
	code, out := run(t, build...)
	if code != 0 || strings.Count(out, "indexed mnist") != len(snaps) {
		t.Fatalf("index build --snapshots: exit %d\n%s", code, out)
	}
	if code, out := run(t, build...); code != 0 || strings.Count(out, "exists, kept") != len(snaps) {
		t.Fatalf("second build: exit %d\n%s", code, out)
	}
	outDir := filepath.Join(t.TempDir(), "fig")
	code, out = run(t, "visualize", "evolution", "--checkpoint", ck, "--layer", "conv2", "--indexes", ixs, "--out", outDir)
	if code != 0 || strings.Contains(out, "warning") {
		t.Fatalf("visualize evolution --indexes: exit %d\n%s", code, out)
	}
	f, err := os.Open(filepath.Join(outDir, "evolution-conv2.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 100*len(snaps)/2 || b.Dy() < 100 {
		t.Fatalf("figure %v for %d snapshots", b, len(snaps))
	}
	if err := os.RemoveAll(filepath.Join(ixs, filepath.Base(strings.TrimSuffix(snaps[1], ".npz")))); err != nil {
		t.Fatal(err)
	}
	code, out = run(t, "visualize", "evolution", "--checkpoint", ck, "--layer", "conv2", "--indexes", ixs, "--out", outDir)
	if code == 0 || !strings.Contains(out, "have no index") || !strings.Contains(out, "--snapshots") {
		t.Fatalf("missing index: exit %d\n%s", code, out)
	}
}
