package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// visualize top9 --index draws, byte for byte, the grids of scanning the
// same images (the index re-runs only the examples it names).
func TestTop9FromIndex(t *testing.T) {
	ck := tinyRun(t)
	tmp := t.TempDir()
	ix := filepath.Join(tmp, "ix")
	if code, out := run(t, "index", "build", "--checkpoint", ck, "--limit", "200", "--layers", "conv2,conv5", "--quiet", "--out", ix); code != 0 {
		t.Fatalf("index build: exit %d\n%s", code, out)
	}
	scan, fromIx := filepath.Join(tmp, "scan"), filepath.Join(tmp, "fromix")
	if code, out := run(t, "visualize", "top9", "--checkpoint", ck, "--layer", "conv2,conv5", "--limit", "200", "--out", scan); code != 0 {
		t.Fatalf("top9 scan: exit %d\n%s", code, out)
	}
	if code, out := run(t, "visualize", "top9", "--checkpoint", ck, "--layer", "conv2,conv5", "--index", ix, "--out", fromIx); code != 0 {
		t.Fatalf("top9 --index: exit %d\n%s", code, out)
	}
	for _, f := range []string{"top9-conv2.png", "top9-conv5.png"} {
		a, err := os.ReadFile(filepath.Join(scan, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(fromIx, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s from the index differs from the scan's", f)
		}
	}
	if code, out := run(t, "visualize", "top9", "--checkpoint", ck, "--layer", "conv5", "--index", ix, "--k", "20", "--out", fromIx); code == 0 {
		t.Errorf("--k beyond the index's K was accepted\n%s", out)
	}
}
