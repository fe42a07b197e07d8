package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVisualizeMethods: `visualize methods` and `visualize actmax` on the
// tiny run write galleries of real pictures whose captions state the
// options given; bad options are refused before any work.
func TestVisualizeMethods(t *testing.T) {
	ck := tinyRun(t)
	out := filepath.Join(t.TempDir(), "methods")
	code, text := run(t, "visualize", "methods", "--checkpoint", ck, "--out", out, "--images", "0,1",
		"--samples", "4", "--noise", "0.2", "--seed", "5", "--rule", "guided", "--steps", "8", "--baseline", "blur", "--ig-probability",
		"--occ-size", "9", "--occ-stride", "7", "--fill", "gray", "--layer", "conv4")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, text)
	}
	items := checkGallery(t, out)
	for _, want := range []string{"methods.png", "gradcam.png", "smoothgrad.png", "integrated-gradients.png", "occlusion-variants.png"} {
		if !strings.Contains(strings.Join(items, " "), want) {
			t.Errorf("gallery lacks %s: %v", want, items)
		}
	}
	tsv, err := os.ReadFile(filepath.Join(out, "gallery.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Grad-CAM at conv4", "guided rule, 4 samples", "20% of the input range, seed 5", "8 steps from the blur baseline, class probability", "attributions of the class probability",
		"9x9 window at stride 7 filled with gray", "completeness error"} {
		if !strings.Contains(string(tsv), want) {
			t.Errorf("captions lack %q", want)
		}
	}

	am := filepath.Join(t.TempDir(), "actmax")
	code, text = run(t, "visualize", "actmax", "--checkpoint", ck, "--out", am, "--layer", "conv5", "--units", "0,3",
		"--steps", "5", "--seed", "2", "--jitter", "2")
	if code != 0 {
		t.Fatalf("actmax: exit %d\n%s", code, text)
	}
	if items := checkGallery(t, am); len(items) != 1 || items[0] != "actmax-conv5.png" {
		t.Errorf("actmax gallery: %v", items)
	}
	tsv, err = os.ReadFile(filepath.Join(am, "gallery.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(tsv), "units 0,3") || !strings.Contains(string(tsv), "jitter up to 2 pixels") || !strings.Contains(string(tsv), "seed 2") {
		t.Errorf("actmax caption lacks its options: %s", tsv)
	}

	for _, bad := range [][]string{
		{"methods", "--rule", "sideways"},
		{"methods", "--samples", "0"},
		{"methods", "--baseline", "purple"},
		{"methods", "--layer", "conv9"},
		{"actmax", "--layer", "conv9"},
		{"actmax", "--units", "99", "--layer", "conv5"},
	} {
		args := append([]string{"visualize", bad[0], "--checkpoint", ck, "--out", filepath.Join(t.TempDir(), "bad")}, bad[1:]...)
		if code, text := run(t, args...); code == 0 {
			t.Errorf("zfnet %s: exit 0\n%s", strings.Join(args, " "), text)
		}
	}
}
